use crate::validate::FieldError;

/// Errors of the domain rules. The HTTP layer maps each kind to one status code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoreError {
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Forbidden(String),
    /// Nothing is there (a Django REST framework page past the last).
    #[error("{0}")]
    NotFound(String),
}

impl CoreError {
    pub fn invalid(path: impl Into<String>, msg: impl Into<String>) -> Self {
        CoreError::Invalid(vec![FieldError::new(path, msg)])
    }
}
