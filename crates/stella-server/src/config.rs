//! Server configuration. Precedence (the binary applies it): flags over `STELLA_*` environment
//! variables over the TOML file over these defaults.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: String,
    pub data_dir: PathBuf,
    /// Empty: SQLite in the data directory. Otherwise `postgres://…` (or `sqlite://…`).
    pub database_url: Option<String>,
    /// Email of the root administrator created on first start by `stella serve`.
    pub admin_email: String,
    pub access_token_ttl_secs: i64,
    pub oauth_token_ttl_secs: i64,
    pub max_scans_per_day: i64,
    pub rate_limit_per_second: u32,
    pub max_body_bytes: usize,
    /// Body bound of `POST /connect/api/v1/events` (bulk ingest).
    pub max_ingest_body_bytes: usize,
    /// Documents one ingest request may carry.
    pub max_bulk_events: usize,
    pub max_page_size: i64,
    pub max_auth_failures: u32,
    pub auth_failure_window_secs: i64,
    pub auth_block_secs: i64,
    /// How much of a request body the activity log keeps.
    pub activity_body_max_bytes: usize,
    /// Calls waiting to be written to the activity log before requests wait for the writer.
    pub activity_queue: usize,
    /// Record every call in the user activity log. Turning it off loses the audit trail; it
    /// exists to measure the log's cost (BENCHMARKS.md) and the server warns at start.
    pub activity_log: bool,
    pub log: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./stella-data"),
            database_url: None,
            admin_email: "admin@stella.local".into(),
            access_token_ttl_secs: 600,
            oauth_token_ttl_secs: 3600,
            max_scans_per_day: 333,
            rate_limit_per_second: 40,
            max_body_bytes: 10 * 1024 * 1024,
            max_ingest_body_bytes: 64 * 1024 * 1024,
            max_bulk_events: 10_000,
            max_page_size: 1000,
            max_auth_failures: 10,
            auth_failure_window_secs: 300,
            auth_block_secs: 900,
            activity_body_max_bytes: 64 * 1024,
            activity_queue: 65_536,
            activity_log: true,
            log: "info".into(),
        }
    }
}

impl Config {
    pub fn settings(&self) -> stella_service::Settings {
        stella_service::Settings {
            access_token_ttl_secs: self.access_token_ttl_secs,
            oauth_token_ttl_secs: self.oauth_token_ttl_secs,
            max_scans_per_day: self.max_scans_per_day,
            max_auth_failures: self.max_auth_failures,
            auth_failure_window_secs: self.auth_failure_window_secs,
            auth_block_secs: self.auth_block_secs,
            max_page: self.max_page_size,
            max_bulk_events: self.max_bulk_events,
            ..stella_service::Settings::default()
        }
    }

    /// Checks values that would make the server misbehave rather than fail loudly.
    pub fn validate(&self) -> Result<(), String> {
        let mut bad = Vec::new();
        if self.access_token_ttl_secs < 1 {
            bad.push("access_token_ttl_secs must be at least 1");
        }
        if self.oauth_token_ttl_secs < 1 {
            bad.push("oauth_token_ttl_secs must be at least 1");
        }
        if self.rate_limit_per_second < 1 {
            bad.push("rate_limit_per_second must be at least 1");
        }
        if self.max_body_bytes < 1024 {
            bad.push("max_body_bytes must be at least 1024");
        }
        if self.max_ingest_body_bytes < 1024 {
            bad.push("max_ingest_body_bytes must be at least 1024");
        }
        if !(1..=100_000).contains(&self.max_bulk_events) {
            bad.push("max_bulk_events must be from 1 to 100000");
        }
        if !(1..=100_000).contains(&self.max_page_size) {
            bad.push("max_page_size must be from 1 to 100000");
        }
        if self.activity_queue < 16 {
            bad.push("activity_queue must be at least 16");
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("; "))
        }
    }
}

/// The commented file printed by `stella default-config`.
pub const DEFAULT_CONFIG_TOML: &str = r#"# Stella Ops server configuration.
# Precedence: command-line flags > STELLA_* environment variables > this file > built-in defaults.
# Every key is optional; the values below are the defaults.

# Address and port to listen on (STELLA_LISTEN, --listen).
listen = "127.0.0.1:8080"

# Where the embedded database (SQLite, WAL), signing keys and first-run credentials live
# (STELLA_DATA_DIR, --data-dir).
data_dir = "./stella-data"

# Shared deployments: a PostgreSQL URL (STELLA_DATABASE_URL, --database-url). Leave unset for
# the embedded SQLite database in data_dir.
# database_url = "postgres://stella@127.0.0.1:5432/stella"

# Root administrator created on the first start of `stella serve` (STELLA_ADMIN_EMAIL).
admin_email = "admin@stella.local"

# Lifetime of the JWT returned by /connect/api/v1/access_token, in seconds.
access_token_ttl_secs = 600

# Lifetime of OAuth 2.0 client-credentials tokens from /connect/token, in seconds.
oauth_token_ttl_secs = 3600

# Daily scan allowance carried by offline tokens (maxScansPerDay).
max_scans_per_day = 333

# Requests per second per token (per client address when unauthenticated)
# (STELLA_RATE_LIMIT_PER_SECOND, --rate-limit-per-second).
rate_limit_per_second = 40

# Largest request body accepted, in bytes (larger ones get 413).
max_body_bytes = 10485760

# Bulk event ingest (POST /connect/api/v1/events): the body bound, and how many documents one
# request may carry.
max_ingest_body_bytes = 67108864
max_bulk_events = 10000

# Largest page a list endpoint returns (the `limit` parameter).
max_page_size = 1000

# Brute-force protection: this many failed authentications from one address or against one
# account within the window blocks it for auth_block_secs (answers 429).
max_auth_failures = 10
auth_failure_window_secs = 300
auth_block_secs = 900

# How many bytes of each (redacted) request body the user activity log keeps.
activity_body_max_bytes = 65536

# Calls buffered for the activity-log writer before requests wait for it (nothing is dropped).
activity_queue = 65536

# Record every API call in the user activity log. Keep this on: turning it off loses the audit
# trail and exists only to measure the log's cost.
activity_log = true

# Log filter, tracing-subscriber syntax (STELLA_LOG, RUST_LOG).
log = "info"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_parses_to_the_defaults() {
        let parsed: Config = toml::from_str(DEFAULT_CONFIG_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed, Config::default());
        assert_eq!(Config::default().validate(), Ok(()));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
    }
}
