//! Scoped API keys: created by a user for itself only, never beyond its own permissions,
//! shown once, stored hashed, revocable by the owner or by someone who outranks the owner.

use crate::auth::API_KEY_PREFIX;
use crate::crypto::{random_secret, sha256_hex};
use crate::{Result, ServiceError, Stella};
use serde::{Deserialize, Serialize};
use stella_core::clock::rfc3339_ms;
use stella_core::ids::new_id;
use stella_core::perm::ApiKeysRevoke;
use stella_core::principal::CredentialKind;
use stella_core::Principal;
use stella_store::ApiKeyRecord;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    #[serde(default)]
    pub name: Option<String>,
    /// Narrows the key to these permissions (a subset of the caller's).
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
    /// RFC 3339 expiry; `expires_in_days` is the alternative.
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub expires_in_days: Option<i64>,
    /// Accepted only to refuse it clearly: keys are created by their own user.
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CreatedApiKey {
    pub id: String,
    pub name: String,
    /// The secret, shown only in this response.
    pub api_key: String,
    pub permissions: Option<Vec<String>>,
    pub expires_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub permissions: Option<Vec<String>>,
    pub status: &'static str,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub created_at: String,
}

const MAX_KEYS_PER_USER: usize = 100;
const MAX_KEY_DAYS: i64 = 3650;
/// Links in a chain of keys made through keys; each request walks the chain, so it is short.
const MAX_KEY_CHAIN: usize = 8;

fn view(k: &ApiKeyRecord, now_ms: i64) -> ApiKeyView {
    let status = if k.revoked_at.is_some() {
        "revoked"
    } else if k.expires_at.is_some_and(|e| e <= now_ms) {
        "expired"
    } else {
        "active"
    };
    ApiKeyView {
        id: k.id.clone(),
        user_id: k.user_id.clone(),
        name: k.name.clone(),
        permissions: k
            .permissions
            .as_ref()
            .map(|p| p.iter().map(str::to_owned).collect()),
        status,
        expires_at: k.expires_at.map(rfc3339_ms),
        revoked_at: k.revoked_at.map(rfc3339_ms),
        created_at: rfc3339_ms(k.created_at),
    }
}

impl Stella {
    /// Whether a key may be used now: neither it nor any key in the chain it was made through
    /// is revoked or expired. Chains are at most `MAX_KEY_CHAIN` long (checked at creation), and
    /// each link is a cache hit after the first request.
    pub(crate) async fn api_key_live(&self, key: &ApiKeyRecord) -> Result<bool> {
        let now = self.now_ms();
        let live =
            |k: &ApiKeyRecord| k.revoked_at.is_none() && k.expires_at.is_none_or(|e| e > now);
        if !live(key) {
            return Ok(false);
        }
        let mut parent = key.issued_by.clone();
        for _ in 0..MAX_KEY_CHAIN {
            let Some(id) = parent else { return Ok(true) };
            match self.cached_key(&id).await? {
                Some(k) if live(&k) => parent = k.issued_by.clone(),
                _ => return Ok(false),
            }
        }
        // Longer than any chain creation allows: not a key this server made.
        Ok(parent.is_none())
    }

    /// How many keys stand above `key` in the chain it was made through.
    async fn chain_depth(&self, key: &ApiKeyRecord) -> Result<usize> {
        let mut depth = 0;
        let mut parent = key.issued_by.clone();
        while let Some(id) = parent {
            depth += 1;
            if depth > MAX_KEY_CHAIN {
                break;
            }
            parent = self
                .cached_key(&id)
                .await?
                .and_then(|k| k.issued_by.clone());
        }
        Ok(depth)
    }

    pub async fn create_api_key(
        &self,
        caller: &Principal,
        req: NewApiKey,
    ) -> Result<CreatedApiKey> {
        if req.user_id.as_deref().is_some_and(|u| u != caller.user_id) {
            return Err(ServiceError::Forbidden(
                "API keys can only be created by their own user, never for another".into(),
            ));
        }
        if !matches!(
            caller.credential,
            CredentialKind::AccessToken | CredentialKind::LegacyToken | CredentialKind::Session
        ) {
            return Err(ServiceError::Forbidden(
                "API keys are created with a user's own access token or session".into(),
            ));
        }
        let name = req.name.unwrap_or_default();
        if name.chars().count() > 200 {
            return Err(ServiceError::invalid(
                "name",
                "must be at most 200 characters",
            ));
        }
        // A key never carries more than the credential that makes it: what it asks for, or by
        // default everything this credential has.
        let full = self.profile_permissions(&caller.profile).await?;
        let explicit = req.permissions.is_some();
        let wanted = match req.permissions {
            Some(p) => Self::permission_names(p, "permissions")?,
            None => caller.permissions.clone(),
        };
        let mint = caller.mint(&wanted, "the key")?;
        // A key made without a list from a credential with all of its user's permissions
        // follows the profile (stored as no narrowing); any other is narrowed to exactly what
        // was checked.
        let permissions =
            (explicit || mint.permissions() != &full).then(|| mint.permissions().clone());
        let now = self.now_ms();
        let expires_at = match (req.expires_at, req.expires_in_days) {
            (Some(_), Some(_)) => {
                return Err(ServiceError::invalid(
                    "expires_at",
                    "give expires_at or expires_in_days, not both",
                ))
            }
            (Some(t), None) => {
                let t = chrono::DateTime::parse_from_rfc3339(&t)
                    .map_err(|_| {
                        ServiceError::invalid("expires_at", "must be an RFC 3339 date-time")
                    })?
                    .timestamp_millis();
                if t <= now {
                    return Err(ServiceError::invalid("expires_at", "must be in the future"));
                }
                Some(t)
            }
            (None, Some(d)) if (1..=MAX_KEY_DAYS).contains(&d) => Some(now + d * 86_400_000),
            (None, Some(_)) => {
                return Err(ServiceError::invalid(
                    "expires_in_days",
                    format!("must be from 1 to {MAX_KEY_DAYS}"),
                ))
            }
            (None, None) => None,
        };
        // Made through another key's JWT: the new key ends when that key (or the root of its
        // own chain) ends, and never later. Made with the legacy token or a session (sign-in
        // exists to make keys), it stands alone.
        let (issued_by, expires_at) = match (caller.credential, &caller.credential_id) {
            (CredentialKind::AccessToken, Some(issuer_id)) => {
                let issuer = self.cached_key(issuer_id).await?.ok_or_else(|| {
                    ServiceError::Unauthorized(
                        "the API key behind this token no longer exists".into(),
                    )
                })?;
                if self.chain_depth(&issuer).await? + 1 >= MAX_KEY_CHAIN {
                    return Err(ServiceError::Conflict(format!(
                        "keys made through keys nest at most {MAX_KEY_CHAIN} deep; make this key with a session"
                    )));
                }
                let cap = match (expires_at, issuer.expires_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                (Some(issuer.id.clone()), cap)
            }
            _ => (None, expires_at),
        };
        if self
            .db
            .list_api_keys(&caller.user_id)
            .await?
            .iter()
            .filter(|k| k.revoked_at.is_none())
            .count()
            >= MAX_KEYS_PER_USER
        {
            return Err(ServiceError::Conflict(format!(
                "a user may hold at most {MAX_KEYS_PER_USER} active keys; revoke one first"
            )));
        }
        let id = new_id();
        let secret = random_secret();
        let record = ApiKeyRecord {
            id: id.clone(),
            user_id: caller.user_id.clone(),
            name,
            secret_hash: sha256_hex(secret.as_bytes()),
            permissions,
            expires_at,
            revoked_at: None,
            created_at: now,
            issued_by,
        };
        self.db.insert_api_key(&record).await?;
        let v = view(&record, now);
        Ok(CreatedApiKey {
            api_key: format!("{API_KEY_PREFIX}{id}_{secret}"),
            id,
            name: v.name,
            permissions: v.permissions,
            expires_at: v.expires_at,
            created_at: v.created_at,
        })
    }

    /// Keys of the caller, or of another user the caller outranks (to find keys to revoke).
    pub async fn list_api_keys(
        &self,
        caller: &Principal,
        user_id: Option<&str>,
    ) -> Result<Vec<ApiKeyView>> {
        let owner = match user_id {
            None => caller.user_id.clone(),
            Some(u) if u == caller.user_id => u.to_owned(),
            Some(u) => {
                caller.grant::<ApiKeysRevoke>()?;
                let target = self.visible_user(caller, u).await?;
                if !self.outranks_user(caller, &target).await? {
                    return Err(ServiceError::Forbidden(
                        "you can only see keys of users with lower privileges".into(),
                    ));
                }
                target.id
            }
        };
        let now = self.now_ms();
        Ok(self
            .db
            .list_api_keys(&owner)
            .await?
            .iter()
            .map(|k| view(k, now))
            .collect())
    }

    /// Revokes a key. Takes effect on the next request, including for JWTs it already minted.
    pub async fn revoke_api_key(&self, caller: &Principal, key_id: &str) -> Result<ApiKeyView> {
        let not_found = || ServiceError::NotFound(format!("no API key with id '{key_id}'"));
        let key = self.db.get_api_key(key_id).await?.ok_or_else(not_found)?;
        if key.user_id == caller.user_id {
            let carries = stella_core::authz::effective(
                &self.profile_permissions(&caller.profile).await?,
                key.permissions.as_ref(),
            );
            self.may_revoke_own(caller, &key.id, &carries)?;
        } else {
            let owner = self
                .visible_user(caller, &key.user_id)
                .await
                .map_err(|_| not_found())?;
            caller.grant::<ApiKeysRevoke>()?;
            if !self.outranks_user(caller, &owner).await? {
                return Err(ServiceError::Forbidden(
                    "you can only revoke keys of users with lower privileges than yours".into(),
                ));
            }
        }
        let now = self.now_ms();
        self.db.revoke_api_key(key_id, &caller.user_id, now).await?;
        self.keys.invalidate(key_id);
        self.identity_changed();
        let key = self.db.get_api_key(key_id).await?.ok_or_else(not_found)?;
        Ok(view(&key, now))
    }
}
