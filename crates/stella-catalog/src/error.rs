//! Errors: a whole file that could not be catalogued. Each has a stable [`CatalogError::code`].

/// Why a file gave no packages at all. Entries skipped inside a file are warnings instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The file goes over one of the [`Limits`](crate::Limits), named by its field.
    #[error("{path}: over the {limit} limit ({max})")]
    Limit {
        path: String,
        limit: &'static str,
        max: u64,
    },
    /// The file is not what its path says it is, or is damaged.
    #[error("{path}: not a readable {format} file: {reason}")]
    Malformed {
        path: String,
        format: &'static str,
        reason: String,
    },
}

impl CatalogError {
    /// `catalog-limit` or `catalog-malformed`.
    pub fn code(&self) -> &'static str {
        match self {
            CatalogError::Limit { .. } => "catalog-limit",
            CatalogError::Malformed { .. } => "catalog-malformed",
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &str {
        match self {
            CatalogError::Limit { path, .. } | CatalogError::Malformed { path, .. } => path,
        }
    }
}
