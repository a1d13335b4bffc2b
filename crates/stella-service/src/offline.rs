//! Offline tokens (`POST /token/offline`): long-lived JWTs for air-gapped scanners, carrying a
//! daily scan allowance (`maxScansPerDay`) enforced by the scanning service.

use crate::tokens::{Claims, TokenKind};
use crate::{Result, ServiceError, Stella};
use serde::Serialize;
use stella_core::clock::rfc3339_ms;
use stella_core::ids::new_id;
use stella_core::principal::CredentialKind;
use stella_core::{PermissionSet, Principal};
use stella_store::OfflineTokenRecord;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct OfflineToken {
    pub jwt: String,
    pub expires: String,
}

/// What an offline token may do unless the request narrows it differently.
pub const DEFAULT_OFFLINE_PERMISSIONS: &[&str] = &["scans:read", "scans:write", "policy:read"];

impl Stella {
    pub async fn issue_offline_token(
        &self,
        caller: &Principal,
        expires_days: Option<i64>,
        permissions: Option<Vec<String>>,
    ) -> Result<OfflineToken> {
        caller.require("offline_tokens:write")?;
        if !matches!(
            caller.credential,
            CredentialKind::AccessToken | CredentialKind::LegacyToken
        ) {
            return Err(ServiceError::Forbidden(
                "offline tokens are issued to users, with their own token".into(),
            ));
        }
        let max = self.settings.offline_max_days;
        let days = expires_days.unwrap_or(self.settings.offline_default_days);
        if !(1..=max).contains(&days) {
            return Err(ServiceError::invalid(
                "expiresDays",
                format!("must be from 1 to {max}"),
            ));
        }
        let perms = match permissions {
            Some(p) => Self::grantable_permissions(caller, p, "a token")?,
            None => PermissionSet::from_names(DEFAULT_OFFLINE_PERMISSIONS.iter().copied())
                .intersect(&caller.permissions),
        };
        let now = self.now_ms();
        let expires_ms = now + days * 86_400_000;
        let record = OfflineTokenRecord {
            id: new_id(),
            user_id: caller.user_id.clone(),
            permissions: perms,
            max_scans_per_day: self.settings.max_scans_per_day,
            expires_at: expires_ms,
            created_at: now,
            revoked_at: None,
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
