//! Offline tokens (`POST /token/offline`): long-lived JWTs for air-gapped scanners, carrying a
//! daily scan allowance (`maxScansPerDay`) enforced by the scanning service.
//!
//! Each token is tied to its user and to the credential it was issued through (an API key, the
//! legacy token or a sign-in session): revoking that credential, regenerating the legacy token,
//! or deleting or disabling the user ends the token on its next use. It never outlives the API
//! key it came from, never carries a permission that credential lacks, and its owner and the
//! administrators above the owner can list and revoke it (its id is the JWT's `cid` claim).

use crate::crypto::sha256_hex;
use crate::tokens::{Claims, TokenKind};
use crate::{Result, ServiceError, Stella};
use serde::Serialize;
use stella_core::clock::rfc3339_ms;
use stella_core::ids::new_id;
use stella_core::perm::{ApiKeysRevoke, OfflineTokensWrite};
use stella_core::principal::CredentialKind;
use stella_core::{Grant, PermissionSet, Principal};
use stella_store::OfflineTokenRecord;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct OfflineToken {
    pub jwt: String,
    pub expires: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct OfflineTokenView {
    pub id: String,
    pub user_id: String,
    pub permissions: Vec<String>,
    #[serde(rename = "maxScansPerDay")]
    pub max_scans_per_day: i64,
    /// `api_key`, `legacy_token` or `session`: the credential it was issued through.
    pub issued_by_kind: Option<String>,
    pub issued_by: Option<String>,
    pub status: &'static str,
    pub expires: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// What an offline token may do unless the request narrows it differently.
pub const DEFAULT_OFFLINE_PERMISSIONS: &[&str] = &["scans:read", "scans:write", "policy:read"];

const MAX_LISTED: i64 = 1000;

/// The legacy token's fingerprint: it changes when the token is regenerated, which ends the
/// offline tokens issued through the old one.
pub(crate) fn legacy_fingerprint(stored_hash: &str) -> String {
    sha256_hex(stored_hash.as_bytes())[..32].to_owned()
}

fn view(t: &OfflineTokenRecord, now_ms: i64) -> OfflineTokenView {
    let status = if t.revoked_at.is_some() {
        "revoked"
    } else if t.expires_at <= now_ms {
        "expired"
    } else {
        "active"
    };
    OfflineTokenView {
        id: t.id.clone(),
        user_id: t.user_id.clone(),
        permissions: t.permissions.iter().map(str::to_owned).collect(),
        max_scans_per_day: t.max_scans_per_day,
        issued_by_kind: t.issued_by_kind.clone(),
        issued_by: t.issued_by.clone(),
        status,
        expires: rfc3339_ms(t.expires_at),
        created_at: rfc3339_ms(t.created_at),
        revoked_at: t.revoked_at.map(rfc3339_ms),
    }
}

impl Stella {
    pub async fn issue_offline_token(
        &self,
        g: Grant<'_, OfflineTokensWrite>,
        expires_days: Option<i64>,
        permissions: Option<Vec<String>>,
    ) -> Result<OfflineToken> {
        let caller = g.caller();
        let (issued_by_kind, issued_by) = match (caller.credential, &caller.credential_id) {
            (CredentialKind::AccessToken, Some(id)) => ("api_key", id.clone()),
            (CredentialKind::LegacyToken, Some(id)) => ("legacy_token", id.clone()),
            (CredentialKind::Session, Some(id)) => ("session", id.clone()),
            _ => return Err(ServiceError::Forbidden(
                "offline tokens are issued to users, with their own key, legacy token or session"
                    .into(),
            )),
        };
        let max = self.settings.offline_max_days;
        let days = expires_days.unwrap_or(self.settings.offline_default_days);
        if !(1..=max).contains(&days) {
            return Err(ServiceError::invalid(
                "expiresDays",
                format!("must be from 1 to {max}"),
            ));
        }
        let wanted = match permissions {
            Some(p) => Self::permission_names(p, "permissions")?,
            None => PermissionSet::from_names(DEFAULT_OFFLINE_PERMISSIONS.iter().copied())
                .intersect(&caller.permissions),
        };
        let mint = caller.mint(&wanted, "the token")?;
        let now = self.now_ms();
        let mut expires_ms = now + days * 86_400_000;
        if issued_by_kind == "api_key" {
            // Never longer-lived than the key it came from.
            if let Some(key_exp) = self
                .cached_key(&issued_by)
                .await?
                .and_then(|k| k.expires_at)
            {
                expires_ms = expires_ms.min(key_exp);
            }
        }
        let record = OfflineTokenRecord {
            id: new_id(),
            user_id: caller.user_id.clone(),
            permissions: mint.permissions().clone(),
            max_scans_per_day: self.settings.max_scans_per_day,
            expires_at: expires_ms,
            created_at: now,
            revoked_at: None,
            issued_by_kind: Some(issued_by_kind.to_owned()),
            issued_by: Some(issued_by),
        };
        self.db.insert_offline_token(&record).await?;
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            sub: caller.user_id.clone(),
            typ: TokenKind::Offline,
            cid: record.id.clone(),
            iat: now / 1000,
            exp: expires_ms / 1000,
            jti: new_id(),
            scope: None,
            max_scans_per_day: Some(record.max_scans_per_day),
        };
        Ok(OfflineToken {
            jwt: self.tokens.sign(&claims)?,
            expires: rfc3339_ms(expires_ms),
        })
    }

    /// Whether the credential a token was issued through is still good (not revoked, the
    /// legacy token not replaced). Tokens from before issuers were recorded have none.
    pub(crate) async fn offline_issuer_valid(&self, t: &OfflineTokenRecord) -> Result<bool> {
        let (Some(kind), Some(id)) = (t.issued_by_kind.as_deref(), t.issued_by.as_deref()) else {
            return Ok(true);
        };
        Ok(match kind {
            "api_key" => match self.cached_key(id).await? {
                Some(k) if k.user_id == t.user_id => self.api_key_live(&k).await?,
                _ => false,
            },
            "session" => self
                .cached_session(id)
                .await?
                .is_some_and(|s| s.revoked_at.is_none() && s.user_id == t.user_id),
            "legacy_token" => self
                .db
                .legacy_token_hash(&t.user_id)
                .await?
                .is_some_and(|h| legacy_fingerprint(&h) == id),
            _ => false,
        })
    }

    /// Offline tokens of the caller, or of a user the caller outranks (with `api_keys:revoke`).
    pub async fn list_offline_tokens(
        &self,
        caller: &Principal,
        user_id: Option<&str>,
    ) -> Result<Vec<OfflineTokenView>> {
        let owner = self.credential_owner(caller, user_id).await?;
        let now = self.now_ms();
        Ok(self
            .db
            .list_offline_tokens(&owner, MAX_LISTED)
            .await?
            .iter()
            .map(|t| view(t, now))
            .collect())
    }

    pub async fn revoke_offline_token(
        &self,
        caller: &Principal,
        id: &str,
    ) -> Result<OfflineTokenView> {
        let not_found = || ServiceError::NotFound(format!("no offline token with id '{id}'"));
        let t = self.db.get_offline_token(id).await?.ok_or_else(not_found)?;
        if t.user_id == caller.user_id {
            self.may_revoke_own(caller, &t.id, &t.permissions)?;
        } else {
            self.credential_owner(caller, Some(&t.user_id))
                .await
                .map_err(|e| match e {
                    ServiceError::NotFound(_) => not_found(),
                    other => other,
                })?;
        }
        let now = self.now_ms();
        self.db
            .revoke_offline_token(id, &caller.user_id, now)
            .await?;
        self.offline.invalidate(id);
        self.identity_changed();
        let t = self.db.get_offline_token(id).await?.ok_or_else(not_found)?;
        Ok(view(&t, now))
    }

    /// A user revoking one of their own credentials: the credential itself, or one no broader
    /// than the credential calling (a leaked narrowed key must not be able to revoke its
    /// owner's full keys).
    pub(crate) fn may_revoke_own(
        &self,
        caller: &Principal,
        credential_id: &str,
        carries: &PermissionSet,
    ) -> Result<()> {
        if caller.credential_id.as_deref() == Some(credential_id) {
            return Ok(());
        }
        if !carries.is_subset(&caller.permissions) {
            return Err(ServiceError::Forbidden(
                "a credential revokes only itself, or credentials no broader than itself; call \
                 with one that carries everything this one does"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Whose credentials a caller may see and revoke: its own, or those of a user it outranks
    /// (and may revoke keys of). Out of tenancy looks like missing.
    pub(crate) async fn credential_owner(
        &self,
        caller: &Principal,
        user_id: Option<&str>,
    ) -> Result<String> {
        match user_id {
            None => Ok(caller.user_id.clone()),
            Some(u) if u == caller.user_id => Ok(u.to_owned()),
            Some(u) => {
                let target = self.visible_user(caller, u).await?;
                caller.grant::<ApiKeysRevoke>()?;
                if !self.outranks_user(caller, &target).await? {
                    return Err(ServiceError::Forbidden(
                        "you can only see and revoke credentials of users with lower privileges"
                            .into(),
                    ));
                }
                Ok(target.id)
            }
        }
    }

    /// Remaining allowance and the next reset (UTC midnight) for a quota-bearing caller.
    pub async fn quota_status(&self, caller: &Principal) -> Result<Option<(i64, String)>> {
        let (Some(quota), Some(token_id)) = (caller.quota, caller.credential_id.as_deref()) else {
            return Ok(None);
        };
        let now = self.clock.now();
        let day = now.format("%Y-%m-%d").to_string();
        let used = self.db.quota_used(token_id, &day).await?;
        let reset = (now.date_naive() + chrono::Days::new(1))
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or(0);
        Ok(Some(((quota.max_per_day - used).max(0), rfc3339_ms(reset))))
    }
}
