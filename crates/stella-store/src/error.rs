#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (e.g. an email already in use).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A row still references the one being removed.
    #[error("still in use: {0}")]
    InUse(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The database was written by a newer release (its schema has migrations this build
    /// does not know): refused before anything is changed.
    #[error("{0}")]
    Newer(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot open the data directory: {0}")]
    Io(#[from] std::io::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let Some(db) = e.as_database_error() {
            if db.is_unique_violation() {
                return StoreError::Conflict(db.message().to_owned());
            }
            if db.is_foreign_key_violation() {
                return StoreError::InUse(db.message().to_owned());
            }
        }
        StoreError::Database(e)
    }
}
