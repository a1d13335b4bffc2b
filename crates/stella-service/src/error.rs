use stella_core::{CoreError, FieldError};
use stella_store::StoreError;

/// Every failure a service call can report. The HTTP layer maps each variant to one status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    /// A body that cannot be read as what it claims to be (an SBOM, a feed archive, an
    /// image): 400, with a stable machine-readable `code` (`sbom-too-large`, `feed-not-zip`,
    /// …) as the problem's type.
    #[error("{detail}")]
    BadInput { code: String, detail: String },
    #[error("{detail}")]
    TooManyRequests {
        retry_after_secs: u64,
        detail: String,
    },
    /// The server cannot take this now (shutting down, every slot busy); retry shortly.
    #[error("{0}")]
    Unavailable(String),
    /// Free space on the data directory's disk is below the floor: writes wait until it is
    /// freed (503 with `Retry-After`).
    #[error("{0}")]
    DiskFull(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(path: &str, msg: impl Into<String>) -> Self {
        ServiceError::Invalid(vec![FieldError::new(path, msg)])
    }
}

impl From<CoreError> for ServiceError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Invalid(errors) => ServiceError::Invalid(errors),
            CoreError::Forbidden(m) => ServiceError::Forbidden(m),
            CoreError::NotFound(m) => ServiceError::NotFound(m),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ServiceError::Conflict(conflict_message(&m)),
            StoreError::InUse(_) => ServiceError::Conflict(
                "the object is still referenced by others; remove those first".into(),
            ),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

fn conflict_message(db_message: &str) -> String {
    if db_message.contains("email") {
        "a user with this email already exists".into()
    } else if db_message.contains("name") {
        "an object with this name already exists".into()
    } else {
        "an object with the same key already exists".into()
    }
}
