use crate::cache::TtlCache;
use crate::guard::BruteForceGuard;
use crate::keys::SigningKeys;
use crate::settings::Settings;
use crate::tokens::TokenVerifier;
use crate::Result;
use dashmap::DashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use stella_core::principal::{CredentialKind, Quota};
use stella_core::{profile, PermissionSet, Principal, SharedClock};
use stella_store::{ApiKeyRecord, Database, OAuthClientRecord, OfflineTokenRecord, UserRecord};

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
    pub(crate) users: TtlCache<UserRecord>,
    pub(crate) keys: TtlCache<ApiKeyRecord>,
    pub(crate) profiles: TtlCache<PermissionSet>,
    pub(crate) clients: TtlCache<OAuthClientRecord>,
    pub(crate) offline: TtlCache<OfflineTokenRecord>,
    /// Resolved callers by token digest: (identity generation, resolved at ms, principal).
    pub(crate) principals: DashMap<[u8; 32], (u64, i64, Arc<Principal>)>,
    /// Bumped by every identity write; a cached principal from an older generation is stale.
    pub(crate) generation: AtomicU64,
    /// Background work (report generation, playbook runs), awaited on shutdown.
    pub(crate) jobs: tokio_util::task::TaskTracker,
    /// Outbound HTTP for playbook webhooks.
    pub(crate) http: reqwest::Client,
    /// The embedded, per-tenant security event index.
    pub(crate) events: EventsHandle,
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
        keys: SigningKeys,
        settings: Settings,
        events: stella_search::EventIndex,
    ) -> Self {
        let ttl = settings.cache_ttl_ms;
        Self(Arc::new(Inner {
            guard: BruteForceGuard::new(
                settings.max_auth_failures,
                settings.auth_failure_window_secs,
                settings.auth_block_secs,
            ),
            db,
            clock,
            settings,
            tokens: TokenVerifier::new(keys),
            users: TtlCache::new(ttl),
            keys: TtlCache::new(ttl),
            profiles: TtlCache::new(ttl),
            clients: TtlCache::new(ttl),
            offline: TtlCache::new(ttl),
            principals: DashMap::new(),
            generation: AtomicU64::new(0),
            jobs: tokio_util::task::TaskTracker::new(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            events: EventsHandle(events),
        }))
    }

    /// Waits until every background job started so far has finished (shutdown, tests).
    pub async fn settle(&self) {
        self.0.jobs.close();
        self.0.jobs.wait().await;
        self.0.jobs.reopen();
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
    pub(crate) fn identity_changed(&self) {
        self.0.generation.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::Acquire)
    }

    pub fn jwks(&self) -> serde_json::Value {
        self.0.tokens.keys().jwks()
    }

    /// Permissions of a profile by name: built-in or custom; an unknown name grants nothing.
    pub(crate) async fn profile_permissions(&self, name: &str) -> Result<PermissionSet> {
        if let Some(p) = profile::builtin(name) {
            return Ok(p.permissions);
        }
        let now = self.now_ms();
        if let Some(p) = self.profiles.get(name, now) {
            return Ok((*p).clone());
        }
        let perms = self
            .db
            .get_profile_by_name(name)
            .await?
            .map(|p| p.permissions)
            .unwrap_or_default();
        self.profiles.put(name, Arc::new(perms.clone()), now);
        Ok(perms)
    }

    /// Validates permission names a caller wants to hand out (to a key, token or profile):
    /// all must exist and none may exceed what the caller holds.
    pub(crate) fn grantable_permissions(
        caller: &Principal,
        names: Vec<String>,
        what: &str,
    ) -> Result<PermissionSet> {
        let set = PermissionSet::from_names(names);
        let unknown = set.unknown();
        if !unknown.is_empty() {
            return Err(crate::ServiceError::invalid(
                "permissions",
                format!("unknown permissions: {}", unknown.join(", ")),
            ));
        }
        if !set.is_subset(&caller.permissions) {
            return Err(crate::ServiceError::Forbidden(format!(
                "{what} cannot hold permissions you do not have"
            )));
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
        let mut permissions = self.profile_permissions(&user.profile).await?;
        if let Some(n) = narrowing {
            permissions = permissions.intersect(n);
        }
        Ok(Principal {
            user_id: user.id.clone(),
            email: user.email.clone(),
            scope: user.scope,
            tenant_ids: user.tenant_ids.clone(),
            profile: user.profile.clone(),
            permissions,
            credential,
            credential_id,
            token_expires_ms,
            quota,
        })
    }
}
