/// Service-level settings (the server's configuration file maps onto these).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Lifetime of a JWT minted from an API key.
    pub access_token_ttl_secs: i64,
    /// Lifetime of an OAuth client-credentials token.
    pub oauth_token_ttl_secs: i64,
    pub offline_default_days: i64,
    pub offline_max_days: i64,
    pub max_scans_per_day: i64,
    /// Failed authentications allowed per window before a block.
    pub max_auth_failures: u32,
    pub auth_failure_window_secs: i64,
    pub auth_block_secs: i64,
    /// How long a cached user or key may be served without re-reading it. Changes made through
    /// this server invalidate at once; this bounds staleness from other servers sharing the DB.
    pub cache_ttl_ms: i64,
    pub max_page: i64,
    /// Documents one event-ingest request may carry.
    pub max_bulk_events: usize,
    pub issuer: String,
    /// Lifetime of a password sign-in session.
    pub session_ttl_secs: i64,
    /// Longest a search may run (the event index stops it there), and wait for a slot.
    pub search_budget_ms: u64,
    /// Searches that run at once; more wait (within their budget).
    pub max_concurrent_searches: usize,
    /// Playbook runs a tenant may start per minute; alerts past it record a skipped run.
    pub playbook_runs_per_minute: u32,
    /// Outbound webhook calls in flight at once, over all tenants.
    pub max_outbound_calls: usize,
    /// Webhook destinations allowed even though they are loopback, private, link-local or
    /// cloud metadata addresses: `host`, `host:port`, an IP or a CIDR block.
    pub webhook_allow: Vec<String>,
    /// A rotated shared signing key signs only this long after it is stored, so every server
    /// publishes it first (they hear of it at once, or at their next periodic reload).
    pub key_activation_delay_ms: i64,
    /// How often a server re-reads the shared signing keys even when told nothing.
    pub key_reload_interval_ms: u64,
    /// Redis, for limits shared by every server of a deployment; `None`: each server's own.
    pub redis_url: Option<String>,
    /// How long a claimed background job stays this server's without a heartbeat; a job
    /// whose server died is claimed by another this long after its last renewal.
    pub job_lease_ms: i64,
    /// How often a server looks for due jobs when nobody told it of any.
    pub job_poll_ms: u64,
    /// How often a server writes its heartbeat (and renews its job leases).
    pub node_heartbeat_ms: u64,
    /// Background jobs one server runs at once.
    pub max_concurrent_jobs: usize,
    /// Free bytes below which the data directory's disk refuses writes (0: no floor).
    pub min_free_bytes: u64,
    /// The platform's retention periods (days) and what a tenant may choose (see
    /// `retention.rs`).
    pub retention: crate::retention::Periods,
    /// Longest period a tenant or partner administrator may set (root may set any).
    pub retention_tenant_max_days: i64,
    /// How often retention runs (once per deployment per interval); 0: only on demand.
    pub retention_interval_ms: i64,
    /// Records, rows or partitions one run removes at most per kind; past it, a follow-up run
    /// is queued, so one run never holds the database or the index for long.
    pub retention_batch: i64,
    /// Where activity-log archives are written before records are purged (shared storage
    /// when several servers run retention).
    pub archive_dir: std::path::PathBuf,
    /// Where uploads (feed archives, image tarballs) are spooled while they are read.
    pub spool_dir: std::path::PathBuf,
    /// Bounds on a feed import's archive (entries, bytes, expansion ratio).
    pub feed_limits: stella_osv::Limits,
    /// Bounds on a scanned SBOM (bytes, components, nesting).
    pub sbom_limits: stella_sbom::Limits,
    /// Bounds on a scanned image (layers, entries, bytes, paths).
    pub image_limits: stella_image::Limits,
    /// Registries (`host` or `host:port`) `POST /scan {"image": …}` may pull from.
    pub scan_registry_allow: Vec<String>,
    /// Of those, the ones spoken to over plain http.
    pub scan_registry_insecure: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 600,
            oauth_token_ttl_secs: 3600,
            offline_default_days: 30,
            offline_max_days: 90,
            max_scans_per_day: 333,
            max_auth_failures: 10,
            auth_failure_window_secs: 300,
            auth_block_secs: 900,
            cache_ttl_ms: 1000,
            max_page: 1000,
            max_bulk_events: 10_000,
            issuer: "stella-ops".into(),
            session_ttl_secs: 3600,
            search_budget_ms: 10_000,
            max_concurrent_searches: 2 * std::thread::available_parallelism()
                .map_or(2, |n| n.get()),
            playbook_runs_per_minute: 60,
            max_outbound_calls: 8,
            webhook_allow: Vec::new(),
            key_activation_delay_ms: 30_000,
            key_reload_interval_ms: 10_000,
            redis_url: None,
            job_lease_ms: 30_000,
            job_poll_ms: 1_000,
            node_heartbeat_ms: 5_000,
            max_concurrent_jobs: 4,
            min_free_bytes: 256 << 20,
            retention: crate::retention::Periods::default(),
            retention_tenant_max_days: 3650,
            retention_interval_ms: 3_600_000,
            retention_batch: 50_000,
            archive_dir: std::path::PathBuf::from("./stella-data/archive"),
            spool_dir: std::env::temp_dir(),
            feed_limits: stella_osv::Limits::default(),
            sbom_limits: stella_sbom::Limits::default(),
            image_limits: stella_image::Limits::default(),
            scan_registry_allow: Vec::new(),
            scan_registry_insecure: Vec::new(),
        }
    }
}
