//! The crate's one error type. Every variant has a stable [`VexError::code`]; the HTTP layer
//! can map `vex-too-large` to 413 and the others to 400/422.

use std::fmt;

/// Which of the [`crate::Limits`] a document went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `max_bytes`: size of the document.
    Bytes,
    /// `max_statements`: statements (OpenVEX) or vulnerabilities (CycloneDX) in one document.
    Statements,
    /// `max_products`: products and subcomponents of one statement (CycloneDX `affects`).
    Products,
    /// `max_aliases`: aliases of one vulnerability (CycloneDX `references`).
    Aliases,
    /// `max_components`: CycloneDX components read to resolve `bom-ref`s.
    Components,
    /// `max_string_bytes`: one string value.
    StringBytes,
    /// `max_depth`: nesting of JSON arrays and objects.
    Depth,
}

impl Limit {
    /// The name of the [`crate::Limits`] field.
    pub fn field(self) -> &'static str {
        match self {
            Limit::Bytes => "max_bytes",
            Limit::Statements => "max_statements",
            Limit::Products => "max_products",
            Limit::Aliases => "max_aliases",
            Limit::Components => "max_components",
            Limit::StringBytes => "max_string_bytes",
            Limit::Depth => "max_depth",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Limit::Bytes => "bytes",
            Limit::Statements => "statements",
            Limit::Products => "products in one statement",
            Limit::Aliases => "aliases of one vulnerability",
            Limit::Components => "components",
            Limit::StringBytes => "bytes in one string",
            Limit::Depth => "levels of JSON nesting",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (limit {})", self.what(), self.field())
    }
}

/// Everything that can go wrong reading a VEX document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VexError {
    /// Empty, not UTF-8, or not well-formed JSON.
    #[error("the VEX document is not JSON: {detail}")]
    NotJson { detail: String },
    /// JSON, but neither OpenVEX nor CycloneDX VEX.
    #[error("{reason}")]
    UnknownFormat { reason: String },
    /// Over one of the [`crate::Limits`]; `path` is where, when it is one place.
    #[error("the VEX document has more than {max} {limit}{}: split it or raise the limit",
        .path.as_ref().map(|p| format!(" at {p}")).unwrap_or_default())]
    TooLarge {
        limit: Limit,
        max: usize,
        path: Option<String>,
    },
    /// A field of the wrong type or value; `path` is a JSON path (`$.statements[2].status`).
    #[error("{path}: expected {expected}, found {found}")]
    Invalid {
        path: String,
        expected: String,
        found: String,
    },
}

impl VexError {
    /// A stable, machine-readable code for API responses and client logic.
    pub fn code(&self) -> &'static str {
        match self {
            VexError::NotJson { .. } => "vex-not-json",
            VexError::UnknownFormat { .. } => "vex-unknown-format",
            VexError::TooLarge { .. } => "vex-too-large",
            VexError::Invalid { .. } => "vex-invalid",
        }
    }

    /// The JSON path of an `Invalid` or per-field `TooLarge` error.
    pub fn path(&self) -> Option<&str> {
        match self {
            VexError::Invalid { path, .. } => Some(path),
            VexError::TooLarge { path, .. } => path.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn unknown_format(reason: impl Into<String>) -> Self {
        VexError::UnknownFormat {
            reason: reason.into(),
        }
    }
}

/// A value cut short for a message (at most 80 characters).
pub(crate) fn excerpt(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}
