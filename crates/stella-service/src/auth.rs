//! Authentication: API key → JWT exchange, JWT verification (access, OAuth and offline
//! tokens), and the legacy token over HTTP Basic or `Authorization: Token`.

use crate::crypto::{constant_time_eq, sha256_hex};
use crate::tokens::{Claims, TokenKind};
use crate::{Result, ServiceError, Stella};
use serde::Serialize;
use std::sync::Arc;
use stella_core::ids::new_id;
use stella_core::principal::{CredentialKind, Quota};
use stella_core::{PermissionSet, Principal, Scope};
use stella_store::UserRecord;

const PRINCIPAL_CACHE_CAPACITY: usize = 100_000;

pub const API_KEY_PREFIX: &str = "stk_";

/// Where an authentication attempt comes from, for brute-force accounting.
#[derive(Debug, Clone, Copy)]
pub struct AuthAttempt<'a> {
    pub client_ip: &'a str,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

/// Splits `stk_<id>_<secret>` into id and secret.
pub(crate) fn parse_api_key(raw: &str) -> Option<(&str, &str)> {
    let rest = raw.strip_prefix(API_KEY_PREFIX)?;
    if rest.len() < 34 || !rest.is_char_boundary(32) {
        return None;
    }
    let (id, secret) = rest.split_at(32);
    let secret = secret.strip_prefix('_')?;
    Some((id, secret))
}

/// The client address as the abuse limits count it: an IPv4 address, or an IPv6 address's /64
/// (one host commonly holds a whole /64, so counting single IPv6 addresses would give it
/// billions of fresh buckets).
pub fn address_key(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// An address may fail this many times more often than one (account, address) pair before it
/// has to wait: enough for a few people behind one NAT, not for a spray over many accounts.
const ADDRESS_FREE_FACTOR: u32 = 5;

impl Stella {
    pub fn is_api_key(raw: &str) -> bool {
        raw.starts_with(API_KEY_PREFIX)
    }

    /// 429 if the address, or this account from this address, has to wait. With Redis the
    /// counters are the deployment's (failures on any server count); if Redis does not answer,
    /// this server's own.
    pub(crate) async fn check_blocked(
        &self,
        at: AuthAttempt<'_>,
        account: Option<&str>,
    ) -> Result<()> {
        let Some(shared) = self.shared_limits.as_deref() else {
            return self.check_blocked_here(at, account);
        };
        let now = self.now_ms();
        let mut keys = vec![self.guard.key(("address", at.client_ip))];
        if let Some(a) = account {
            keys.push(self.guard.key(("pair", a, at.client_ip)));
        }
        for key in keys {
            let blocked = match shared.blocked_for(key, now).await {
                Some(b) => b,
                None => self.guard.blocked_for(key, now),
            };
            if let Some(secs) = blocked {
                return Err(blocked_error(secs));
            }
        }
        Ok(())
    }

    /// The same, from this server's counters only: the JWT path, on every request, where a
    /// guess is hopeless (a signature) and a Redis round trip would be paid by every call.
    pub(crate) fn check_blocked_here(
        &self,
        at: AuthAttempt<'_>,
        account: Option<&str>,
    ) -> Result<()> {
        let now = self.now_ms();
        let blocked = self
            .guard
            .blocked_for(self.guard.key(("address", at.client_ip)), now)
            .or_else(|| {
                account.and_then(|a| {
                    self.guard
                        .blocked_for(self.guard.key(("pair", a, at.client_ip)), now)
                })
            });
        match blocked {
            Some(secs) => Err(blocked_error(secs)),
            None => Ok(()),
        }
    }

    /// Counts a failed authentication (here, and in Redis when configured) and returns the 401
    /// to answer with.
    pub(crate) async fn auth_failed(
        &self,
        at: AuthAttempt<'_>,
        account: Option<&str>,
        msg: &str,
    ) -> ServiceError {
        let now = self.now_ms();
        let free = self.guard.free_failures();
        let mut counts = vec![(
            self.guard.key(("address", at.client_ip)),
            free.saturating_mul(ADDRESS_FREE_FACTOR),
        )];
        if let Some(a) = account {
            counts.push((self.guard.key(("pair", a, at.client_ip)), free));
        }
        let (window, max_delay, first) = self.guard.rule();
        for (key, free) in counts {
            // This server's own count always (it decides when Redis does not answer).
            self.guard.record_failure(key, free, now);
            if let Some(shared) = self.shared_limits.as_deref() {
                shared
                    .record_failure(key, free, window, max_delay, first, now)
                    .await;
            }
        }
        ServiceError::Unauthorized(msg.to_owned())
    }

    pub(crate) async fn auth_succeeded(&self, at: AuthAttempt<'_>, account: &str) {
        let key = self.guard.key(("pair", account, at.client_ip));
        self.guard.record_success(key);
        if let Some(shared) = self.shared_limits.as_deref() {
            shared.record_success(key).await;
        }
    }

    pub(crate) fn usable(user: &UserRecord) -> std::result::Result<(), &'static str> {
        if user.disabled {
            Err("the account is disabled")
        } else if user.sso {
            Err("single sign-on accounts cannot use the API; use a local account")
        } else {
            Ok(())
        }
    }

    /// `POST /access_token`: checks the API key and mints a JWT that expires after the
    /// configured lifetime (never after the key itself).
    /// Returns the token and the user it was minted for (for the activity log).
    pub async fn exchange_api_key(
        &self,
        raw: &str,
        at: AuthAttempt<'_>,
    ) -> Result<(AccessToken, UserRecord)> {
        let Some((key_id, secret)) = parse_api_key(raw) else {
            self.check_blocked(at, None).await?;
            return Err(self
                .auth_failed(at, None, "the bearer credential is not an API key")
                .await);
        };
        self.check_blocked(at, Some(key_id)).await?;
        let now = self.now_ms();
        let key = match self.db.get_api_key(key_id).await? {
            Some(k) if constant_time_eq(&k.secret_hash, &sha256_hex(secret.as_bytes())) => k,
            _ => {
                return Err(self
                    .auth_failed(at, Some(key_id), "the API key is not valid")
                    .await)
            }
        };
        if key.revoked_at.is_some() {
            return Err(ServiceError::Unauthorized(
                "the API key has been revoked".into(),
            ));
        }
        if key.expires_at.is_some_and(|e| e <= now) {
            return Err(ServiceError::Unauthorized("the API key has expired".into()));
        }
        if !self.api_key_live(&key).await? {
            return Err(ServiceError::Unauthorized(
                "the API key this key was made through has been revoked".into(),
            ));
        }
        let user = self.db.get_user(&key.user_id).await?.ok_or_else(|| {
            ServiceError::Unauthorized("the API key's user no longer exists".into())
        })?;
        Self::usable(&user).map_err(|m| ServiceError::Unauthorized(m.into()))?;
        self.auth_succeeded(at, key_id).await;

        let iat = now / 1000;
        let mut exp = iat + self.settings.access_token_ttl_secs;
        if let Some(key_exp) = key.expires_at {
            exp = exp.min(key_exp / 1000);
        }
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            sub: user.id.clone(),
            typ: TokenKind::Access,
            cid: key.id.clone(),
            iat,
            exp,
            jti: new_id(),
            scope: None,
            max_scans_per_day: None,
        };
        let token = AccessToken {
            access_token: self.tokens.sign(&claims)?,
            token_type: "bearer",
            expires_in: exp - iat,
        };
        Ok((token, user))
    }

    /// Verifies a JWT and resolves the caller, checking that the credential behind it is still
    /// valid now (so revocation applies to tokens already minted).
    pub async fn authenticate_jwt(
        &self,
        token: &str,
        at: AuthAttempt<'_>,
    ) -> Result<Arc<Principal>> {
        self.check_blocked_here(at, None)?;
        let Some((digest, claims)) = self.tokens.verify(token) else {
            return Err(self.auth_failed(at, None, "the token is not valid").await);
        };
        let now = self.now_ms();
        if claims.exp * 1000 <= now {
            return Err(ServiceError::Unauthorized(
                "the token has expired; get a new one from /connect/api/v1/access_token".into(),
            ));
        }
        if claims.iss != self.settings.issuer {
            return Err(self
                .auth_failed(at, None, "the token was not issued by this server")
                .await);
        }
        // The same token within the cache TTL and with no identity change since: reuse the
        // resolved caller instead of re-reading its credential, user and profile.
        let generation = self.generation();
        if let Some(hit) = self.principals.get(&digest) {
            let (g, at_ms, p) = hit.value();
            if *g == generation && now >= *at_ms && now - at_ms < self.settings.cache_ttl_ms {
                return Ok(p.clone());
            }
        }
        let principal = Arc::new(self.resolve_claims(&claims, now).await?);
        if self.principals.len() >= PRINCIPAL_CACHE_CAPACITY {
            self.principals.clear();
        }
        self.principals
            .insert(digest, (generation, now, principal.clone()));
        Ok(principal)
    }

    /// Who a verified token speaks for, checking that its credential is still valid now.
    async fn resolve_claims(&self, claims: &Claims, now: i64) -> Result<Principal> {
        let expires = Some(claims.exp * 1000);
        match claims.typ {
            TokenKind::Access => {
                let key = match self.cached_key(&claims.cid).await? {
                    Some(k) if k.user_id == claims.sub && self.api_key_live(&k).await? => k,
                    Some(k) if k.user_id == claims.sub => {
                        return Err(ServiceError::Unauthorized(
                            "the API key behind this token has been revoked (or the key it was made through has)".into(),
                        ))
                    }
                    _ => {
                        return Err(ServiceError::Unauthorized(
                            "the API key behind this token no longer exists".into(),
                        ))
                    }
                };
                let user = self.active_user(&claims.sub).await?;
                self.principal_for_user(
                    &user,
                    CredentialKind::AccessToken,
                    Some(key.id.clone()),
                    key.permissions.as_ref(),
                    expires,
                    None,
                )
                .await
            }
            TokenKind::Offline => {
                let record = match self.offline.get(&claims.cid, now) {
                    Some(r) => Some(r),
                    None => {
                        let r = self.db.get_offline_token(&claims.cid).await?.map(Arc::new);
                        if let Some(r) = &r {
                            self.offline.put(&claims.cid, r.clone(), now);
                        }
                        r
                    }
                };
                let record = match record {
                    Some(r) if r.revoked_at.is_none() && r.user_id == claims.sub => r,
                    _ => {
                        return Err(ServiceError::Unauthorized(
                            "the offline token has been revoked".into(),
                        ))
                    }
                };
                if !self.offline_issuer_valid(&record).await? {
                    return Err(ServiceError::Unauthorized(
                        "the credential this offline token was issued through has been revoked"
                            .into(),
                    ));
                }
                let user = self.active_user(&claims.sub).await?;
                let quota = Some(Quota {
                    max_per_day: record.max_scans_per_day,
                });
                self.principal_for_user(
                    &user,
                    CredentialKind::OfflineToken,
                    Some(record.id.clone()),
                    Some(&record.permissions),
                    expires,
                    quota,
                )
                .await
            }
            TokenKind::Client => self.client_principal(claims, expires).await,
            TokenKind::Session => {
                match self.cached_session(&claims.cid).await? {
                    Some(s) if s.revoked_at.is_none() && s.user_id == claims.sub => {}
                    _ => {
                        return Err(ServiceError::Unauthorized(
                            "the session has ended; sign in again".into(),
                        ))
                    }
                }
                let user = self.active_user(&claims.sub).await?;
                self.principal_for_user(
                    &user,
                    CredentialKind::Session,
                    Some(claims.cid.clone()),
                    None,
                    expires,
                    None,
                )
                .await
            }
        }
    }

    async fn active_user(&self, id: &str) -> Result<Arc<UserRecord>> {
        let user = self.cached_user(id).await?.ok_or_else(|| {
            ServiceError::Unauthorized("the token's user no longer exists".into())
        })?;
        Self::usable(&user).map_err(|m| ServiceError::Unauthorized(m.into()))?;
        Ok(user)
    }

    /// The legacy token over HTTP Basic: the account's email and its 40-hex token.
    pub async fn authenticate_basic(
        &self,
        email: &str,
        token: &str,
        at: AuthAttempt<'_>,
    ) -> Result<Principal> {
        let email = email.to_lowercase();
        self.check_blocked(at, Some(&email)).await?;
        let user = self.db.get_user_by_email(&email).await?;
        let stored = match &user {
            Some(u) => self.db.legacy_token_hash(&u.id).await?,
            None => None,
        };
        let given = sha256_hex(token.as_bytes());
        // Compare against a dummy when there is no user so both paths do the same work.
        let ok = constant_time_eq(stored.as_deref().unwrap_or("-"), &given) && stored.is_some();
        let (user, stored) = match (user, stored) {
            (Some(u), Some(h)) if ok => (u, h),
            _ => {
                return Err(self
                    .auth_failed(at, Some(&email), "the email or legacy token is not valid")
                    .await)
            }
        };
        self.auth_succeeded(at, &email).await;
        self.legacy_principal(&user, &stored, LegacyUse::Basic)
            .await
    }

    /// The legacy token as `Authorization: Token <token>` (the `/rest/` API).
    pub async fn authenticate_legacy_token(
        &self,
        token: &str,
        at: AuthAttempt<'_>,
    ) -> Result<Principal> {
        self.check_blocked(at, None).await?;
        let hash = sha256_hex(token.as_bytes());
        match self.db.get_user_by_legacy_token_hash(&hash).await? {
            Some(u) => self.legacy_principal(&u, &hash, LegacyUse::Token).await,
            None => Err(self.auth_failed(at, None, "the token is not valid").await),
        }
    }

    async fn legacy_principal(
        &self,
        user: &UserRecord,
        stored_hash: &str,
        used: LegacyUse,
    ) -> Result<Principal> {
        Self::usable(user).map_err(|m| ServiceError::Unauthorized(m.into()))?;
        // Every user may hold a token for `/rest/` (`Authorization: Token`), where it acts with
        // the user's profile; the XDR API's HTTP Basic form is, as its reference says, for root
        // super admins only, and a demoted account loses it at once.
        if used == LegacyUse::Basic
            && (user.scope != Scope::Root || user.profile != stella_core::profile::SUPER_ADMIN)
        {
            return Err(ServiceError::Unauthorized(
                "legacy tokens are only valid for super admins with root scope".into(),
            ));
        }
        // A token made through an API key ends with the key.
        if let Some((kind, id)) = &user.legacy_token_issuer {
            let live = match kind.as_str() {
                "api_key" => match self.cached_key(id).await? {
                    Some(k) if k.user_id == user.id => self.api_key_live(&k).await?,
                    _ => false,
                },
                _ => false,
            };
            if !live {
                return Err(ServiceError::Unauthorized(
                    "the legacy token ended with the API key it was made through; make a new one"
                        .into(),
                ));
            }
        }
        self.principal_for_user(
            user,
            CredentialKind::LegacyToken,
            Some(crate::offline::legacy_fingerprint(stored_hash)),
            None::<&PermissionSet>,
            None,
            None,
        )
        .await
    }
}

/// How a legacy token was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LegacyUse {
    /// HTTP Basic (email and token) under `/connect/api/v1`.
    Basic,
    /// `Authorization: Token <token>` under `/rest/`.
    Token,
}

fn blocked_error(secs: u64) -> ServiceError {
    ServiceError::TooManyRequests {
        retry_after_secs: secs,
        detail: "too many failed authentications from this address; try again later".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_api_key;
    use proptest::prelude::*;

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let key =
            |s: &str| super::address_key(s.parse().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])));
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }

    #[test]
    fn api_key_shape() {
        let id = "0123456789abcdef0123456789abcdef";
        let raw = format!("stk_{id}_secret_with_underscores");
        assert_eq!(parse_api_key(&raw), Some((id, "secret_with_underscores")));
        assert_eq!(parse_api_key("stk_short"), None);
        assert_eq!(parse_api_key("eyJhbGciOi.x.y"), None);
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = parse_api_key(&s);
            let _ = parse_api_key(&format!("stk_{s}"));
        }
    }
}
