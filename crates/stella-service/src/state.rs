use crate::cache::TtlCache;
use crate::guard::BruteForceGuard;
use crate::keyring::KeyRing;
use crate::settings::Settings;
use crate::tokens::TokenVerifier;
use crate::Result;
use dashmap::DashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use stella_core::principal::{CredentialKind, Quota};
use stella_core::{profile, PermissionSet, Principal, SharedClock};
use stella_store::{
    ApiKeyRecord, Database, OAuthClientRecord, OfflineTokenRecord, SessionRecord, UserRecord,
};

/// The service layer's shared state. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Stella(pub(crate) Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub(crate) db: Database,
    pub(crate) clock: SharedClock,
    pub(crate) settings: Settings,
    pub(crate) tokens: TokenVerifier,
    pub(crate) guard: BruteForceGuard,
    /// The request rate and brute-force counters of the deployment, in Redis (`redis_url`).
    pub(crate) shared_limits: Option<Arc<crate::shared_limits::SharedLimits>>,
    pub(crate) users: TtlCache<UserRecord>,
    pub(crate) keys: TtlCache<ApiKeyRecord>,
    pub(crate) profiles: TtlCache<PermissionSet>,
    pub(crate) clients: TtlCache<OAuthClientRecord>,
    pub(crate) offline: TtlCache<OfflineTokenRecord>,
    pub(crate) sessions: TtlCache<SessionRecord>,
    /// Password hashes verified at once (sign-in); more wait their turn.
    pub(crate) password_slots: tokio::sync::Semaphore,
    /// A hash of a random password, verified when a sign-in names no account.
    pub(crate) dummy_hash: tokio::sync::OnceCell<String>,
    /// Searches running at once.
    pub(crate) search_slots: tokio::sync::Semaphore,
    /// Resolved callers by token digest: (identity generation, resolved at ms, principal).
    pub(crate) principals: DashMap<[u8; 32], (u64, i64, Arc<Principal>)>,
    /// Bumped by every identity write; a cached principal from an older generation is stale.
    pub(crate) generation: AtomicU64,
    /// Background jobs running on this server (see `crate::jobs`), awaited on shutdown.
    pub(crate) jobs: tokio_util::task::TaskTracker,
    /// Jobs this server runs at once.
    pub(crate) job_slots: Arc<tokio::sync::Semaphore>,
    /// Wakes the job runner: a job was queued here, or one finished and left a slot.
    pub(crate) job_wake: Arc<tokio::sync::Notify>,
    /// The job runner was started (once, by a serving server).
    pub(crate) runner_started: std::sync::atomic::AtomicBool,
    /// Shutting down: claim no more jobs.
    pub(crate) stopping: std::sync::atomic::AtomicBool,
    /// Outbound HTTP for playbook webhooks, guarded against internal destinations.
    pub(crate) outbound: crate::outbound::Outbound,
    /// Playbook runs started per tenant (a minute's burst, refilled per minute).
    pub(crate) playbook_runs: crate::ratelimit::RateLimiter,
    /// The embedded, per-tenant security event index.
    pub(crate) events: EventsHandle,
    /// The free-space floor of the data directory's disk.
    pub(crate) disk: crate::disk::DiskGuard,
    /// The retention interval this server last queued a run for (`retention.rs`).
    pub(crate) retention_slot: std::sync::atomic::AtomicI64,
    /// The latest finished retention run whose event cutoffs this server has applied.
    pub(crate) retention_seen: std::sync::Mutex<Option<String>>,
    /// Scanning: the vulnerability feed this server has loaded.
    pub(crate) scanning: crate::scan::ScanState,
}

/// The event index, shown by its directory in debug output.
pub(crate) struct EventsHandle(pub(crate) stella_search::EventIndex);

impl std::fmt::Debug for EventsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("EventIndex").field(&self.0.dir()).finish()
    }
}

impl std::ops::Deref for Stella {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Stella {
    pub fn new(
        db: Database,
        clock: SharedClock,
        keys: KeyRing,
        settings: Settings,
        events: stella_search::EventIndex,
    ) -> Self {
        let ttl = settings.cache_ttl_ms;
        let settings_floor = settings.min_free_bytes;
        let max_jobs = settings.max_concurrent_jobs.max(1);
        // The allow-list was checked when the configuration was validated; a bad entry here
        // allows nothing rather than everything.
        let outbound = crate::outbound::Outbound::new(
            crate::outbound::AllowList::parse(&settings.webhook_allow).unwrap_or_default(),
            settings.max_outbound_calls,
            std::time::Duration::from_secs(10),
        );
        let search_slots = settings.max_concurrent_searches.max(1);
        let playbook_runs =
            crate::ratelimit::RateLimiter::per_minute(settings.playbook_runs_per_minute);
        let shared_limits = settings.redis_url.as_deref().and_then(|url| {
            crate::shared_limits::SharedLimits::new(url)
                .map_err(|e| tracing::error!(error = %e, "limits stay per server"))
                .ok()
                .map(Arc::new)
        });
        let guard = BruteForceGuard::new(
            settings.max_auth_failures,
            settings.auth_failure_window_secs,
            settings.auth_block_secs,
        );
        let guard = if shared_limits.is_some() {
            guard.deployment_wide()
        } else {
            guard
        };
        let stella = Self(Arc::new(Inner {
            guard,
            shared_limits,
            db,
            clock,
            settings,
            tokens: TokenVerifier::new(keys),
            users: TtlCache::new(ttl),
            keys: TtlCache::new(ttl),
            profiles: TtlCache::new(ttl),
            clients: TtlCache::new(ttl),
            offline: TtlCache::new(ttl),
            sessions: TtlCache::new(ttl),
            password_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            dummy_hash: tokio::sync::OnceCell::new(),
            search_slots: tokio::sync::Semaphore::new(search_slots),
            principals: DashMap::new(),
            generation: AtomicU64::new(0),
            jobs: tokio_util::task::TaskTracker::new(),
            job_slots: Arc::new(tokio::sync::Semaphore::new(max_jobs)),
            job_wake: Arc::new(tokio::sync::Notify::new()),
            stopping: std::sync::atomic::AtomicBool::new(false),
            runner_started: std::sync::atomic::AtomicBool::new(false),
            outbound,
            playbook_runs,
            disk: crate::disk::DiskGuard::new(events.dir().to_owned(), settings_floor),
            events: EventsHandle(events),
            retention_slot: std::sync::atomic::AtomicI64::new(i64::MIN),
            retention_seen: std::sync::Mutex::new(None),
            scanning: Default::default(),
        }));
        crate::cluster::spawn_listener(&stella);
        stella
    }

    /// The deployment's shared limits, when Redis is configured.
    pub fn shared_limits(&self) -> Option<&crate::shared_limits::SharedLimits> {
        self.0.shared_limits.as_deref()
    }

    /// The free-space floor (`/readyz`, `/metrics`, and the gateway's check on writes).
    pub fn disk(&self) -> &crate::disk::DiskGuard {
        &self.0.disk
    }

    pub fn db(&self) -> &Database {
        &self.0.db
    }

    pub fn clock(&self) -> &SharedClock {
        &self.0.clock
    }

    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    pub fn now_ms(&self) -> i64 {
        self.0.clock.now_ms()
    }

    /// Marks every cached principal stale: a user, key, profile or client changed here.
    /// Marks every cached principal stale here, and tells the other servers of the
    /// deployment to forget theirs.
    pub(crate) fn identity_changed(&self) {
        self.0.generation.fetch_add(1, Ordering::Release);
        self.0.db.announce(stella_store::Topic::Identity);
    }

    pub(crate) fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::Acquire)
    }

    pub fn jwks(&self) -> serde_json::Value {
        self.0.tokens.keys().current().jwks()
    }

    /// Permissions of a profile by id: built-in or custom; an unknown id grants nothing.
    pub(crate) async fn profile_permissions(&self, id: &str) -> Result<PermissionSet> {
        if let Some(p) = profile::builtin(id) {
            return Ok(p.permissions);
        }
        let now = self.now_ms();
        if let Some(p) = self.profiles.get(id, now) {
            return Ok((*p).clone());
        }
        let perms = self
            .db
            .get_profile(id)
            .await?
            .map(|p| p.permissions)
            .unwrap_or_default();
        self.profiles.put(id, Arc::new(perms.clone()), now);
        Ok(perms)
    }

    /// Permission names from a request: each must exist (400 naming the unknown ones).
    pub(crate) fn permission_names(names: Vec<String>, field: &str) -> Result<PermissionSet> {
        let set = PermissionSet::from_names(names);
        let unknown = set.unknown();
        if !unknown.is_empty() {
            return Err(crate::ServiceError::invalid(
                field,
                format!("unknown permissions: {}", unknown.join(", ")),
            ));
        }
        Ok(set)
    }

    pub(crate) async fn cached_user(&self, id: &str) -> Result<Option<Arc<UserRecord>>> {
        let now = self.now_ms();
        if let Some(u) = self.users.get(id, now) {
            return Ok(Some(u));
        }
        match self.db.get_user(id).await? {
            Some(u) => {
                let u = Arc::new(u);
                self.users.put(id, u.clone(), now);
                Ok(Some(u))
            }
            None => Ok(None),
        }
    }

    pub(crate) async fn cached_key(&self, id: &str) -> Result<Option<Arc<ApiKeyRecord>>> {
        let now = self.now_ms();
        if let Some(k) = self.keys.get(id, now) {
            return Ok(Some(k));
        }
        match self.db.get_api_key(id).await? {
            Some(k) => {
                let k = Arc::new(k);
                self.keys.put(id, k.clone(), now);
                Ok(Some(k))
            }
            None => Ok(None),
        }
    }

    pub(crate) async fn principal_for_user(
        &self,
        user: &UserRecord,
        credential: CredentialKind,
        credential_id: Option<String>,
        narrowing: Option<&PermissionSet>,
        token_expires_ms: Option<i64>,
        quota: Option<Quota>,
    ) -> Result<Principal> {
        let profile = self.profile_permissions(&user.profile).await?;
        Ok(Principal {
            user_id: user.id.clone(),
            email: user.email.clone(),
            scope: user.scope,
            tenant_ids: user.tenant_ids.clone(),
            profile: user.profile.clone(),
            permissions: stella_core::authz::effective(&profile, narrowing),
            credential,
            credential_id,
            token_expires_ms,
            quota,
        })
    }
}
