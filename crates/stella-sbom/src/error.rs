//! The crate's one error type. Every variant has a stable [`SbomError::code`] for API clients
//! and a message that says what to change in the document; the HTTP layer can map
//! `sbom-too-large` to 413 and everything else to 400/422.

use crate::SbomType;

/// Which of the [`crate::Limits`] a document went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `max_bytes`: the size of the body.
    Bytes,
    /// `max_components`: component entries read, before duplicates are merged.
    Components,
    /// `max_depth`: nesting of JSON arrays and objects.
    Depth,
    /// `max_component_depth`: nesting of CycloneDX `components[].components`.
    ComponentDepth,
}

impl Limit {
    /// The name of the [`crate::Limits`] field, as the error message shows it.
    pub fn field(self) -> &'static str {
        match self {
            Limit::Bytes => "max_bytes",
            Limit::Components => "max_components",
            Limit::Depth => "max_depth",
            Limit::ComponentDepth => "max_component_depth",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Limit::Bytes => "bytes",
            Limit::Components => "components",
            Limit::Depth => "levels of JSON nesting",
            Limit::ComponentDepth => "levels of nested components",
        }
    }
}

/// Everything that can go wrong reading an SBOM or a purl.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SbomError {
    #[error("the SBOM is empty: send a CycloneDX JSON, SPDX JSON or Trivy JSON document")]
    Empty,
    #[error("the SBOM is not UTF-8 text ({detail}): save it as UTF-8 JSON")]
    NotUtf8 { detail: String },
    #[error("the SBOM is not valid JSON: {reason} at line {line}, column {column}")]
    MalformedJson {
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{reason}")]
    UnknownFormat { reason: String },
    #[error("unknown SBOM type {given:?}: use one of trivy-json-v2, spdx-json, cyclonedx-json")]
    UnknownType { given: String },
    #[error("the SBOM was declared as {declared} but is {found}: declare {found} or leave the type out to detect it")]
    FormatMismatch { declared: SbomType, found: SbomType },
    #[error("{format} version {found} is not supported: convert it to one of {}", .supported.join(", "))]
    UnsupportedVersion {
        format: SbomType,
        found: String,
        supported: &'static [&'static str],
    },
    #[error("the SBOM has more than {max} {} (limit {}): split it or raise the limit", .limit.what(), .limit.field())]
    TooLarge { limit: Limit, max: usize },
    #[error("the SBOM has more than {max} {} (limit {}): flatten it", .limit.what(), .limit.field())]
    TooDeep { limit: Limit, max: usize },
    #[error("{path}: {problem}")]
    InvalidField { path: String, problem: String },
    #[error("invalid purl {purl:?}: {reason}")]
    InvalidPurl { purl: String, reason: String },
}

impl SbomError {
    /// A stable, machine-readable code for API responses and client logic.
    pub fn code(&self) -> &'static str {
        match self {
            SbomError::Empty => "sbom-empty",
            SbomError::NotUtf8 { .. } => "sbom-not-utf8",
            SbomError::MalformedJson { .. } => "sbom-malformed-json",
            SbomError::UnknownFormat { .. } => "sbom-unknown-format",
            SbomError::UnknownType { .. } => "sbom-unknown-type",
            SbomError::FormatMismatch { .. } => "sbom-format-mismatch",
            SbomError::UnsupportedVersion { .. } => "sbom-unsupported-version",
            SbomError::TooLarge { .. } => "sbom-too-large",
            SbomError::TooDeep { .. } => "sbom-too-deep",
            SbomError::InvalidField { .. } => "sbom-invalid-field",
            SbomError::InvalidPurl { .. } => "purl-invalid",
        }
    }

    pub(crate) fn unknown_format(reason: impl Into<String>) -> Self {
        SbomError::UnknownFormat {
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_purl(purl: &str, reason: impl Into<String>) -> Self {
        SbomError::InvalidPurl {
            purl: excerpt(purl),
            reason: reason.into(),
        }
    }
}

/// Values from the document that are echoed in messages are cut short: an error for a hostile
/// 60 MiB string must not be 60 MiB itself.
pub(crate) fn excerpt(s: &str) -> String {
    const MAX_CHARS: usize = 120;
    match s.char_indices().nth(MAX_CHARS) {
        None => s.to_owned(),
        Some((cut, _)) => format!("{}…", &s[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_long_values_on_a_char_boundary() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(500);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), 121);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn messages_name_the_limit() {
        let e = SbomError::TooLarge {
            limit: Limit::Components,
            max: 10,
        };
        assert_eq!(e.code(), "sbom-too-large");
        assert!(e.to_string().contains("max_components"), "{e}");
    }
}
