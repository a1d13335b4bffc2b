//! Password sign-in: a user's email and password become a short-lived session — a JWT for
//! scripts (and, set by the HTTP layer, an HTTP-only cookie for a browser). The session carries
//! all of the user's permissions, like the password does, and is recorded so it can be signed
//! out before it expires. Failed attempts are throttled per (account, address) with growing
//! waits, like every other credential.
//!
//! The first thing a new user does with it: sign in, then create an API key for their scripts
//! (`POST /api_keys` accepts a session).

use crate::crypto::verify_password;
use crate::tokens::{Claims, TokenKind};
use crate::{AuthAttempt, Result, ServiceError, Stella};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use stella_core::ids::new_id;
use stella_core::principal::CredentialKind;
use stella_core::Principal;
use stella_store::{SessionRecord, UserRecord};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SessionToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub session_id: String,
}

const MAX_PASSWORD: usize = 1024;

impl Stella {
    /// Checks email and password; answers a session token and the user (for the activity log).
    pub async fn sign_in(
        &self,
        req: SignIn,
        at: AuthAttempt<'_>,
        client_ip: Option<String>,
    ) -> Result<(SessionToken, UserRecord)> {
        let email = req.email.trim().to_lowercase();
        if email.len() > 320 {
            return Err(ServiceError::invalid(
                "email",
                "must be at most 320 characters",
            ));
        }
        self.check_blocked(at, Some(&email)).await?;
        if req.password.len() > MAX_PASSWORD {
            return Err(self
                .auth_failed(at, Some(&email), "the email or password is not valid")
                .await);
        }
        let user = self.db.get_user_by_email(&email).await?;
        // With no such account (or no password), a hash of a random password is checked
        // instead, so an unknown email answers no faster than a wrong password.
        let hash = match user.as_ref().and_then(|u| u.password_hash.clone()) {
            Some(h) => h,
            None => self
                .dummy_hash
                .get_or_try_init(|| crate::crypto::hash_password(crate::crypto::random_secret()))
                .await?
                .clone(),
        };
        // Argon2 is deliberately expensive: bound how many run at once, so a flood of sign-ins
        // queues here instead of taking every core.
        let ok = {
            let _slot = self
                .password_slots
                .acquire()
                .await
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            verify_password(req.password, hash).await
        };
        let user = match user {
            Some(u) if ok && u.password_hash.is_some() => u,
            _ => {
                return Err(self
                    .auth_failed(at, Some(&email), "the email or password is not valid")
                    .await)
            }
        };
        Self::usable(&user).map_err(|m| ServiceError::Unauthorized(m.into()))?;
        self.auth_succeeded(at, &email).await;
        let now = self.now_ms();
        let ttl = self.settings.session_ttl_secs;
        let session = SessionRecord {
            id: new_id(),
            user_id: user.id.clone(),
            created_at: now,
            expires_at: now + ttl * 1000,
            revoked_at: None,
            client_ip,
        };
        self.db.insert_session(&session).await?;
        // Sessions that ended a day ago or more can no longer be used for anything: drop them.
        self.db.purge_sessions(now - 86_400_000).await?;
        let iat = now / 1000;
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            sub: user.id.clone(),
            typ: TokenKind::Session,
            cid: session.id.clone(),
            iat,
            exp: iat + ttl,
            jti: new_id(),
            scope: None,
            max_scans_per_day: None,
        };
        Ok((
            SessionToken {
                access_token: self.tokens.sign(&claims)?,
                token_type: "bearer",
                expires_in: ttl,
                session_id: session.id,
            },
            user,
        ))
    }

    /// Ends the caller's session (a session token or cookie is required).
    pub async fn sign_out(&self, caller: &Principal) -> Result<()> {
        let (CredentialKind::Session, Some(id)) = (caller.credential, &caller.credential_id) else {
            return Err(ServiceError::invalid(
                "Authorization",
                "sign out ends a session; this call was made with another kind of credential",
            ));
        };
        self.db.revoke_session(id, self.now_ms()).await?;
        self.sessions.invalidate(id);
        self.identity_changed();
        Ok(())
    }

    /// Signs a user out everywhere (their password changed): every session ends now.
    pub(crate) async fn end_sessions(&self, user_id: &str) -> Result<()> {
        self.db.revoke_user_sessions(user_id, self.now_ms()).await?;
        self.sessions.clear();
        self.identity_changed();
        Ok(())
    }

    pub(crate) async fn cached_session(&self, id: &str) -> Result<Option<Arc<SessionRecord>>> {
        let now = self.now_ms();
        if let Some(s) = self.sessions.get(id, now) {
            return Ok(Some(s));
        }
        match self.db.get_session(id).await? {
            Some(s) => {
                let s = Arc::new(s);
                self.sessions.put(id, s.clone(), now);
                Ok(Some(s))
            }
            None => Ok(None),
        }
    }
}
