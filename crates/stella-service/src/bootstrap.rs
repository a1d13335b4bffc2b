//! First run: the root super admin, with an API key and a legacy token.

use crate::auth::API_KEY_PREFIX;
use crate::crypto::{random_legacy_token, random_secret, sha256_hex};
use crate::{Result, ServiceError, Stella};
use serde::Serialize;
use stella_core::ids::new_id;
use stella_core::validate::is_plausible_email;
use stella_core::{profile, Scope};
use stella_store::{ApiKeyRecord, NewUser};

/// Printed once by `stella init` (and written to a 0600 file by `stella serve` on first start).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct InitCredentials {
    pub email: String,
    pub api_key: String,
    pub legacy_token: String,
}

/// Printed by `stella add-root-admin`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RootAdminCredentials {
    pub email: String,
    pub api_key: String,
}

impl Stella {
    pub async fn is_initialised(&self) -> Result<bool> {
        Ok(self.db.count_users().await? > 0)
    }

    pub async fn init_root(&self, email: &str) -> Result<InitCredentials> {
        let email = email.trim().to_lowercase();
        if !is_plausible_email(&email) {
            return Err(ServiceError::invalid(
                "email",
                format!("'{email}' is not an email address"),
            ));
        }
        if self.is_initialised().await? {
            return Err(ServiceError::Conflict(
                "this data store is already initialised (it has users); nothing was changed. Use the existing root credentials, or a new data directory".into(),
            ));
        }
        let now = self.now_ms();
        let (user_id, api_key) = self.insert_root_admin(&email, now).await?;
        let legacy = random_legacy_token();
        self.db
            .set_legacy_token_hash(&user_id, Some(&sha256_hex(legacy.as_bytes())), None, now)
            .await?;
        Ok(InitCredentials {
            email,
            api_key,
            legacy_token: legacy,
        })
    }

    /// Another root super admin, made on the server machine: through the API a caller only
    /// makes users it outranks, and nobody outranks a root super admin.
    pub async fn add_root_admin(&self, email: &str) -> Result<RootAdminCredentials> {
        let email = email.trim().to_lowercase();
        if !is_plausible_email(&email) {
            return Err(ServiceError::invalid(
                "email",
                format!("'{email}' is not an email address"),
            ));
        }
        if !self.is_initialised().await? {
            return Err(ServiceError::Conflict(
                "this data store has no users yet; run `stella init` (or `stella serve`) first"
                    .into(),
            ));
        }
        let (_, api_key) = self.insert_root_admin(&email, self.now_ms()).await?;
        Ok(RootAdminCredentials { email, api_key })
    }

    /// A root super admin with one API key: (user id, the key).
    async fn insert_root_admin(&self, email: &str, now: i64) -> Result<(String, String)> {
        let user = NewUser {
            id: new_id(),
            email: email.to_owned(),
            name: "Root administrator".into(),
            password_hash: None,
            sso: false,
            scope: Scope::Root,
            tenant_ids: Vec::new(),
            profile: profile::SUPER_ADMIN.into(),
        };
        self.db.insert_user(&user, now).await?;
        let key_id = new_id();
        let secret = random_secret();
        self.db
            .insert_api_key(&ApiKeyRecord {
                id: key_id.clone(),
                user_id: user.id.clone(),
                name: "initial".into(),
                secret_hash: sha256_hex(secret.as_bytes()),
                permissions: None,
                expires_at: None,
                revoked_at: None,
                created_at: now,
                issued_by: None,
            })
            .await?;
        Ok((user.id, format!("{API_KEY_PREFIX}{key_id}_{secret}")))
    }
}
