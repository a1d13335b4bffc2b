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
    /// Request bodies being read at once, in bytes over all requests; past it, a request waits
    /// (then answers 503), so concurrent large uploads cannot take the memory.
    pub max_inflight_body_bytes: usize,
    /// How long a request waits for room in that budget before answering 503.
    pub body_budget_wait_ms: u64,
    /// Longest a request body may take to arrive once reading starts (then 408), so a slow
    /// sender cannot hold its share of the budget.
    pub body_read_timeout_ms: u64,
    /// Lifetime of a password sign-in session.
    pub session_ttl_secs: i64,
    /// Longest a search (or saved-query run) may run before it answers 400 naming the limit.
    pub search_budget_ms: u64,
    /// Searches that run at once (0: twice the cores); more wait within their budget.
    pub max_concurrent_searches: usize,
    /// Playbook runs a tenant may start per minute; past it, runs are recorded as throttled.
    pub playbook_runs_per_minute: u32,
    /// Outbound webhook calls in flight at once.
    pub max_outbound_calls: usize,
    /// Internal webhook destinations allowed anyway: `host`, `host:port`, an IP or a CIDR.
    pub webhook_allow: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (addresses or CIDR blocks).
    pub trusted_proxies: Vec<String>,
    /// TLS: a PEM certificate chain and its private key. Both set: `serve` speaks HTTPS only,
    /// reloading the pair when the files change. Neither: plain HTTP.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Several servers, one deployment: the secret that seals the signing keys kept in the
    /// shared database (at least 32 bytes). Unset: the keys stay in the data directory.
    pub deployment_secret: Option<Secret>,
    /// The same, read from a file (`STELLA_DEPLOYMENT_SECRET_FILE`: a mounted secret).
    pub deployment_secret_file: Option<PathBuf>,
    /// A rotated shared key signs only this long after it is stored (every server publishes it
    /// first).
    pub key_activation_delay_secs: i64,
    /// Several servers, one deployment: Redis for the per-token rate limit and the brute-force
    /// counters, so they hold across servers. Unset: each server counts on its own.
    pub redis_url: Option<String>,
    /// Several servers, one deployment: NATS with JetStream for security events. Ingest is
    /// acknowledged once the stream has stored the batch, and every server indexes the whole
    /// stream. Unset: the embedded write-ahead log (one server's).
    pub nats_url: Option<String>,
    /// The JetStream stream the events go to (created if missing).
    pub nats_stream: String,
    /// Replicas of that stream when this server creates it (a NATS cluster keeps this many).
    pub nats_replicas: usize,
    /// Background jobs (reports, playbook runs) this server runs at once.
    pub max_concurrent_jobs: usize,
    /// A claimed job whose server stops renewing it (died) is claimed by another server this
    /// long after the last renewal; servers renew every few seconds while they work.
    pub job_lease_secs: i64,
    /// Free bytes on the data directory's disk below which event ingest and data writes are
    /// refused (503, `Retry-After`) until space is freed; 0 turns the floor off.
    pub min_free_bytes: u64,
    /// A day's event partition closes its writer after this long without new events; it is
    /// then merged down to one segment in the background (a search pays per segment).
    pub events_idle_writer_secs: u64,
    /// Days of more events than this are left unmerged (too much to rewrite at once); 0 never
    /// merges them.
    pub events_final_merge_max_docs: u64,
    /// The platform's retention periods, in days: events (whole daily partitions), the
    /// activity log (archived first), reports and playbook runs.
    pub retention_events_days: i64,
    pub retention_activity_days: i64,
    pub retention_reports_days: i64,
    pub retention_playbook_runs_days: i64,
    /// Longest period a tenant's administrators may choose for their tenant.
    pub retention_tenant_max_days: i64,
    /// How often retention runs (once per deployment); 0: only on demand
    /// (`POST /cluster/retention/run`, for example from a scheduler of the operator's own).
    pub retention_interval_secs: i64,
    /// Most items of each kind one run removes; a follow-up run takes the rest.
    pub retention_batch: i64,
    /// Where activity-log archives go before records are purged (default: `archive` in the
    /// data directory; shared storage for several servers).
    pub archive_dir: Option<PathBuf>,
    /// Largest upload to `POST /scan` (an image tarball or an SBOM) and `POST /feed/imports`
    /// (an OSV archive); uploads are streamed to `spool` in the data directory, never held in
    /// memory.
    pub max_upload_bytes: u64,
    /// Longest an upload may take to arrive.
    pub upload_read_timeout_secs: u64,
    /// Largest SBOM (JSON) a scan reads; it is parsed in memory.
    pub max_sbom_bytes: usize,
    /// Largest uncompressed layer, and whole image, an image scan reads (a decompression bomb
    /// stops at the bound).
    pub max_image_layer_bytes: u64,
    pub max_image_bytes: u64,
    /// Image tarballs larger than this are not answered at once: `POST /scan` says 202 with
    /// `Location` and the scan runs in the background (as it does for any size with
    /// `Prefer: respond-async`), so a client is not held past its own timeouts.
    pub scan_async_bytes: u64,
    /// Registries (`host` or `host:port`, as image references name them) that
    /// `POST /scan {"image": …}` may pull from; none by default, so a scan request cannot
    /// make the server call arbitrary hosts.
    pub scan_registry_allow: Vec<String>,
    /// Of those, the ones spoken to over plain http (a registry on loopback, in a lab).
    pub scan_registry_insecure: Vec<String>,
}

/// A configuration value that never appears in logs or debug output.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
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
            max_inflight_body_bytes: 256 * 1024 * 1024,
            body_budget_wait_ms: 10_000,
            body_read_timeout_ms: 30_000,
            max_upload_bytes: 2 << 30,
            upload_read_timeout_secs: 600,
            max_sbom_bytes: 64 << 20,
            max_image_layer_bytes: 8 << 30,
            max_image_bytes: 32 << 30,
            scan_async_bytes: 1 << 30,
            scan_registry_allow: Vec::new(),
            scan_registry_insecure: Vec::new(),
            session_ttl_secs: 3600,
            search_budget_ms: 10_000,
            max_concurrent_searches: 0,
            playbook_runs_per_minute: 60,
            max_outbound_calls: 8,
            webhook_allow: Vec::new(),
            trusted_proxies: Vec::new(),
            tls_cert: None,
            tls_key: None,
            deployment_secret: None,
            deployment_secret_file: None,
            key_activation_delay_secs: 30,
            redis_url: None,
            nats_url: None,
            nats_stream: "STELLA_EVENTS".into(),
            nats_replicas: 1,
            max_concurrent_jobs: 4,
            job_lease_secs: 30,
            min_free_bytes: 256 << 20,
            events_idle_writer_secs: 600,
            events_final_merge_max_docs: 10_000_000,
            retention_events_days: 90,
            retention_activity_days: 365,
            retention_reports_days: 90,
            retention_playbook_runs_days: 90,
            retention_tenant_max_days: 3650,
            retention_interval_secs: 3600,
            retention_batch: 50_000,
            archive_dir: None,
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
            session_ttl_secs: self.session_ttl_secs,
            search_budget_ms: self.search_budget_ms,
            max_concurrent_searches: match self.max_concurrent_searches {
                0 => stella_service::Settings::default().max_concurrent_searches,
                n => n,
            },
            playbook_runs_per_minute: self.playbook_runs_per_minute,
            max_outbound_calls: self.max_outbound_calls,
            webhook_allow: self.webhook_allow.clone(),
            key_activation_delay_ms: self.key_activation_delay_secs.saturating_mul(1000),
            redis_url: self.redis_url.clone(),
            max_concurrent_jobs: self.max_concurrent_jobs,
            job_lease_ms: self.job_lease_secs.saturating_mul(1000),
            min_free_bytes: self.min_free_bytes,
            retention: stella_service::retention::Periods {
                events_days: self.retention_events_days,
                activity_days: self.retention_activity_days,
                reports_days: self.retention_reports_days,
                playbook_runs_days: self.retention_playbook_runs_days,
            },
            retention_tenant_max_days: self.retention_tenant_max_days,
            retention_interval_ms: self.retention_interval_secs.saturating_mul(1000),
            retention_batch: self.retention_batch,
            archive_dir: self
                .archive_dir
                .clone()
                .unwrap_or_else(|| self.data_dir.join("archive")),
            spool_dir: self.spool_dir(),
            sbom_limits: stella_service::scan::sbom_limits(self.max_sbom_bytes),
            image_limits: stella_service::scan::image_limits(
                self.max_image_layer_bytes,
                self.max_image_bytes,
            ),
            scan_registry_allow: self.scan_registry_allow.clone(),
            scan_registry_insecure: self.scan_registry_insecure.clone(),
            ..stella_service::Settings::default()
        }
    }

    /// The deployment secret, from the setting or its file; `None` when neither is set.
    pub fn deployment_secret(&self) -> Result<Option<String>, String> {
        match (&self.deployment_secret, &self.deployment_secret_file) {
            (Some(_), Some(_)) => {
                Err("deployment_secret and deployment_secret_file: set one, not both".into())
            }
            (Some(s), None) => Ok(Some(s.0.trim().to_owned())),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(|s| Some(s.trim().to_owned()))
                .map_err(|e| format!("deployment_secret_file {}: {e}", path.display())),
            (None, None) => Ok(None),
        }
    }

    /// Where uploads are spooled while they are read.
    pub fn spool_dir(&self) -> PathBuf {
        self.data_dir.join("spool")
    }

    pub fn tls_enabled(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
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
        if self.max_inflight_body_bytes < self.max_body_bytes.max(self.max_ingest_body_bytes) {
            bad.push(
                "max_inflight_body_bytes must be at least max_body_bytes and max_ingest_body_bytes",
            );
        }
        if self.max_upload_bytes < 1024 {
            bad.push("max_upload_bytes must be at least 1024");
        }
        if self.upload_read_timeout_secs < 1 {
            bad.push("upload_read_timeout_secs must be at least 1");
        }
        if self.max_sbom_bytes < 1024 || self.max_sbom_bytes as u64 > self.max_upload_bytes {
            bad.push("max_sbom_bytes must be at least 1024 and at most max_upload_bytes");
        }
        if self.max_image_layer_bytes < 1024 || self.max_image_bytes < self.max_image_layer_bytes {
            bad.push(
                "max_image_layer_bytes must be at least 1024 and max_image_bytes at least that",
            );
        }
        if self.body_read_timeout_ms < 100 {
            bad.push("body_read_timeout_ms must be at least 100");
        }
        if self.session_ttl_secs < 60 {
            bad.push("session_ttl_secs must be at least 60");
        }
        if self.events_idle_writer_secs < 1 {
            bad.push("events_idle_writer_secs must be at least 1");
        }
        if self.search_budget_ms < 100 {
            bad.push("search_budget_ms must be at least 100");
        }
        if self.playbook_runs_per_minute < 1 {
            bad.push("playbook_runs_per_minute must be at least 1");
        }
        if self.max_outbound_calls < 1 {
            bad.push("max_outbound_calls must be at least 1");
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            bad.push("tls_cert and tls_key go together: set both, or neither");
        }
        if let Some(url) = &self.nats_url {
            if !(url.starts_with("nats://") || url.starts_with("tls://")) {
                bad.push("nats_url must be nats://host:port (or tls://host:port)");
            }
        }
        let stream_name_ok = !self.nats_stream.is_empty()
            && self
                .nats_stream
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !stream_name_ok {
            bad.push("nats_stream must be letters, digits, _ or -");
        }
        if !(1..=5).contains(&self.nats_replicas) {
            bad.push("nats_replicas must be 1 to 5");
        }
        if self.max_concurrent_jobs < 1 {
            bad.push("max_concurrent_jobs must be at least 1");
        }
        if self.job_lease_secs < 15 {
            // Heartbeats renew leases every 5 s; a shorter lease would pass jobs around.
            bad.push("job_lease_secs must be at least 15");
        }
        if self.key_activation_delay_secs < 0 {
            bad.push("key_activation_delay_secs must not be negative");
        }
        let mut bad: Vec<String> = bad.into_iter().map(str::to_owned).collect();
        for (name, days) in [
            ("retention_events_days", self.retention_events_days),
            ("retention_activity_days", self.retention_activity_days),
            ("retention_reports_days", self.retention_reports_days),
            (
                "retention_playbook_runs_days",
                self.retention_playbook_runs_days,
            ),
            ("retention_tenant_max_days", self.retention_tenant_max_days),
        ] {
            if !(1..=36_500).contains(&days) {
                bad.push(format!("{name} must be 1 to 36500 (days)"));
            }
        }
        if self.retention_interval_secs != 0 && self.retention_interval_secs < 60 {
            bad.push("retention_interval_secs must be 0 (on demand only) or at least 60".into());
        }
        if self.retention_batch < 1 {
            bad.push("retention_batch must be at least 1".into());
        }
        if let Some(url) = &self.redis_url {
            if let Err(e) = stella_service::shared_limits::SharedLimits::new(url) {
                bad.push(e);
            }
        }
        match self.deployment_secret() {
            Err(e) => bad.push(e),
            Ok(Some(s)) if s.len() < stella_service::seal::MIN_SECRET_BYTES => bad.push(format!(
                "the deployment secret must be at least {} bytes (try `openssl rand -hex 32`)",
                stella_service::seal::MIN_SECRET_BYTES
            )),
            Ok(_) => {}
        }
        if let Err(e) = stella_service::outbound::AllowList::parse(&self.webhook_allow) {
            bad.push(e);
        }
        if let Err(e) = crate::client_addr::TrustedProxies::parse(&self.trusted_proxies) {
            bad.push(e);
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

# Request bodies read at once over all requests, in bytes: past it a request waits, then
# answers 503, so concurrent large uploads cannot take the memory.
max_inflight_body_bytes = 268435456
body_budget_wait_ms = 10000
# Longest a request body may take to arrive once reading starts (then 408).
body_read_timeout_ms = 30000

# Uploads (POST /scan with an image tarball or SBOM, POST /feed/imports with an OSV archive)
# are streamed to spool/ in data_dir, not held in memory: the largest accepted, in bytes, and
# the longest one may take to arrive. An SBOM is parsed in memory, so it has its own bound.
max_upload_bytes = 2147483648
upload_read_timeout_secs = 600
max_sbom_bytes = 67108864
# Largest uncompressed layer and whole image an image scan reads.
max_image_layer_bytes = 8589934592
max_image_bytes = 34359738368
# Image tarballs larger than this are scanned in the background: 202 with Location to poll
# (any size, with the request header Prefer: respond-async).
scan_async_bytes = 1073741824
# Registries POST /scan {"image": "host:port/repo:tag"} may pull from (none by default), and
# those of them spoken to over plain http.
scan_registry_allow = []
scan_registry_insecure = []

# Lifetime of a password sign-in session (POST /connect/api/v1/sign_in), in seconds.
session_ttl_secs = 3600

# Longest a search or saved-query run may take, in milliseconds (then 400 naming the limit);
# searches running at once (0: twice the cores).
search_budget_ms = 10000
max_concurrent_searches = 0

# Playbook runs a tenant may start per minute (more are recorded as throttled, not run), and
# webhook calls in flight at once.
playbook_runs_per_minute = 60
max_outbound_calls = 8

# Webhooks may not call loopback, private, link-local (cloud metadata) or other internal
# addresses. Allow some anyway: "host", "host:port", an IP or a CIDR block
# (STELLA_WEBHOOK_ALLOW, comma-separated).
webhook_allow = []

# Behind a reverse proxy or load balancer: the proxies (IP addresses or CIDR blocks) whose
# X-Forwarded-For header names the client, for the activity log, the abuse limits and the
# action history (STELLA_TRUSTED_PROXIES, comma-separated). The header is read from the right,
# past every trusted hop; from any other peer it is ignored. Empty: the client is the TCP peer.
trusted_proxies = []

# HTTPS: a PEM certificate chain and its private key (STELLA_TLS_CERT, STELLA_TLS_KEY). With
# both set the server speaks TLS only, and reloads them when the files change.
# tls_cert = "/etc/stella/tls/cert.pem"
# tls_key = "/etc/stella/tls/key.pem"

# Several servers, one deployment (database_url set to a shared PostgreSQL): every server needs
# the same deployment secret, at least 32 bytes (`openssl rand -hex 32`). It seals the signing
# keys kept in the database, so a token from any server works on all. Prefer the file form or
# the environment (STELLA_DEPLOYMENT_SECRET, STELLA_DEPLOYMENT_SECRET_FILE) to this file.
# deployment_secret_file = "/run/secrets/stella-deployment-secret"

# Several servers, one deployment: Redis keeps the per-token rate limit and the brute-force
# counters for all of them (STELLA_REDIS_URL). Unset, each server counts on its own, so N
# servers allow N times the limit. If Redis stops answering, each server counts on its own
# until it is back (logged, and counted in /metrics as stella_limits_fallback_total).
# redis_url = "redis://127.0.0.1:6379"

# After `stellopsctl keys rotate`, the new key signs only this many seconds later: every server
# publishes it on /.well-known/jwks.json first.
key_activation_delay_secs = 30

# Background jobs (report generation, playbook runs) are queued in the database and claimed by
# whichever server is free, so each runs once however many servers there are. A job whose
# server died is claimed by another this many seconds after its last renewal.
max_concurrent_jobs = 4
job_lease_secs = 30

# A full disk: below this many free bytes on the data directory's filesystem, event ingest and
# data writes answer 503 with Retry-After (signing in, reads, revoking credentials and deletes
# still work) and /readyz answers 503, so nothing acknowledged ever meets a failed write. Keep
# it above the largest ingest body times the concurrent ingests. 0 turns it off.
min_free_bytes = 268435456

# Events are kept in one partition per tenant and day. A day's writer closes after
# events_idle_writer_secs without new events, and the day is then merged down to one segment in
# the background, one day at a time (as Elasticsearch's force-merge of an index no longer
# written): a search over thirty days then reads thirty segments, not hundreds. Days of more
# than events_final_merge_max_docs events stay as they are; 0 turns the merge off.
events_idle_writer_secs = 600
events_final_merge_max_docs = 10000000

# Retention (docs/operations.md): how long the platform keeps each kind of data, in days.
# Tenants' administrators may set their own periods up to retention_tenant_max_days; root may
# set any, and place a legal hold that suspends every purge of a tenant. Events go by whole
# daily partitions; activity records are archived first (zstd NDJSON, SHA-256, a signature
# by the deployment's key) to archive_dir (default: archive/ in data_dir; use shared storage
# with several servers). A run happens once per deployment every retention_interval_secs and
# removes at most retention_batch items of each kind, queueing a follow-up for the rest.
# retention_interval_secs = 0: runs only on demand (POST /cluster/retention/run).
retention_events_days = 90
retention_activity_days = 365
retention_reports_days = 90
retention_playbook_runs_days = 90
retention_tenant_max_days = 3650
retention_interval_secs = 3600
retention_batch = 50000
# archive_dir = "/var/lib/stella/archive"

# Several servers, one deployment: security events go to a NATS JetStream stream
# (STELLA_NATS_URL). An ingest is acknowledged once the stream has stored it, and every server
# indexes the whole stream into its own index, so a search on any server finds every event. A
# server that was down catches up on start; a new one builds its index from the stream. Events
# are then at most half a NATS message (511 KiB with the default 1 MiB limit).
# nats_url = "nats://127.0.0.1:4222"
nats_stream = "STELLA_EVENTS"
nats_replicas = 1
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
