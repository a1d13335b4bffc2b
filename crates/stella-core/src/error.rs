use crate::validate::FieldError;

/// Errors of the domain rules. The HTTP layer maps each kind to one status code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoreError {
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Forbidden(String),
}

impl CoreError {
    pub fn invalid(path: impl Into<String>, msg: impl Into<String>) -> Self {
        CoreError::Invalid(vec![FieldError::new(path, msg)])
    }
}
