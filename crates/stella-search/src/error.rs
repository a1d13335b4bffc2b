//! The crate's one error type. The HTTP layer maps `Invalid`/`Unsupported` to 400, `NotFound`
//! to 404, `Closed` and `Unavailable` to 503 and the rest to 500.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The request or document is malformed or out of bounds. The message names the part.
    #[error("{0}")]
    Invalid(String),
    /// The request is well-formed Elasticsearch DSL that this index does not implement.
    #[error("{0}")]
    Unsupported(String),
    /// The event to replace does not exist (within the tenant).
    #[error("event not found")]
    NotFound,
    /// `close()` was called (or a write-ahead-log fsync failed and writes were stopped).
    #[error("the event index is closed: {0}")]
    Closed(String),
    /// The shared event log (NATS JetStream) did not answer, or this server's index is still
    /// catching up with it: try again shortly.
    #[error("{0}")]
    Unavailable(String),
    /// Another process (or another `EventIndex` in this one) holds the directory.
    #[error("the event index directory {0} is in use")]
    Locked(String),
    /// The index on disk was written in a format this build does not read.
    #[error("{0}")]
    Incompatible(String),
    /// The write-ahead log is damaged somewhere other than its torn tail.
    #[error("write-ahead log is corrupt: {0}")]
    Corrupt(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("index error: {0}")]
    Index(#[from] tantivy::TantivyError),
}

impl SearchError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        SearchError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        SearchError::Invalid(msg.into())
    }

    pub(crate) fn unsupported(msg: impl Into<String>) -> Self {
        SearchError::Unsupported(msg.into())
    }
}

impl From<tantivy::directory::error::OpenDirectoryError> for SearchError {
    fn from(e: tantivy::directory::error::OpenDirectoryError) -> Self {
        SearchError::Index(e.into())
    }
}
