//! Privilege profiles, legacy tokens, password resets and the activity log.

use crate::crypto::{hash_password, random_legacy_token, random_secret, sha256_hex};
use crate::{Result, ServiceError, Stella};
use serde::Deserialize;
use stella_core::ids::new_id;
use stella_core::principal::CredentialKind;
use stella_core::validate::check_password;
use stella_core::{profile, Principal, PrivilegeProfile};
use stella_store::{ActivityFilter, ActivityRecord, UserPatch};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProfile {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetUser {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// The new password; one is generated (and returned once) when left out.
    #[serde(default)]
    pub password: Option<String>,
}

impl Stella {
    pub async fn list_profiles(&self, caller: &Principal) -> Result<Vec<PrivilegeProfile>> {
        caller.require("privilege_profiles:read")?;
        let mut all = profile::builtins();
        all.extend(self.db.list_profiles().await?);
        Ok(all)
    }

    pub async fn create_profile(
        &self,
        caller: &Principal,
        req: NewProfile,
    ) -> Result<PrivilegeProfile> {
        caller.require("privilege_profiles:write")?;
        let name = req.name.trim().to_owned();
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_name {
            return Err(ServiceError::invalid(
                "name",
                "must be 1 to 64 letters, digits, '_' or '-'",
            ));
        }
        if profile::builtin(&name).is_some() {
            return Err(ServiceError::Conflict(format!(
                "'{name}' is a built-in profile"
            )));
        }
        let permissions = Self::grantable_permissions(caller, req.permissions, "a profile")?;
        let description = req.description.unwrap_or_default();
        if description.chars().count() > 1000 {
            return Err(ServiceError::invalid(
                "description",
                "must be at most 1000 characters",
            ));
        }
        let p = PrivilegeProfile {
            id: new_id(),
            name,
            description,
            builtin: false,
            permissions,
        };
        self.db.insert_profile(&p, self.now_ms()).await?;
        self.profiles.invalidate(&p.name);
        self.identity_changed();
        Ok(p)
    }

    pub async fn delete_profile(&self, caller: &Principal, name: &str) -> Result<()> {
        caller.require("privilege_profiles:write")?;
        if profile::builtin(name).is_some() {
            return Err(ServiceError::Forbidden(format!(
                "'{name}' is a built-in profile and cannot be deleted"
            )));
        }
        if self.db.profile_in_use(name).await? {
            return Err(ServiceError::Conflict(format!(
                "the profile '{name}' is still assigned; reassign those users first"
            )));
        }
        if !self.db.delete_profile(name).await? {
            return Err(ServiceError::NotFound(format!(
                "no custom profile is called '{name}'"
            )));
        }
        self.profiles.invalidate(name);
        self.identity_changed();
        Ok(())
    }

    /// Generates (or replaces) the caller's legacy 40-hex token. Root super admins only.
    pub async fn generate_legacy_token(&self, caller: &Principal) -> Result<String> {
        caller.require_root_super_admin()?;
        if caller.credential == CredentialKind::OAuthClient {
            return Err(ServiceError::Forbidden(
                "legacy tokens belong to user accounts".into(),
            ));
        }
        let token = random_legacy_token();
        self.db
            .set_legacy_token_hash(
                &caller.user_id,
                Some(&sha256_hex(token.as_bytes())),
                self.now_ms(),
            )
            .await?;
        self.users.invalidate(&caller.user_id);
        self.identity_changed();
        Ok(token)
    }

    /// Restricted: sets a user's password, generating one when none is given. Returns the
    /// generated password, if any.
    pub async fn reset_user(
        &self,
        caller: &Principal,
        req: ResetUser,
    ) -> Result<(String, Option<String>)> {
        caller.require_root_super_admin()?;
        let user = match (&req.user_id, &req.email) {
            (Some(id), None) => self.db.get_user(id).await?,
            (None, Some(email)) => self.db.get_user_by_email(email).await?,
            _ => {
                return Err(ServiceError::invalid(
                    "user_id",
                    "give exactly one of user_id or email",
                ))
            }
        }
        .ok_or_else(|| ServiceError::NotFound("no such user".into()))?;
        if user.sso {
            return Err(ServiceError::invalid(
                "user_id",
                "single sign-on accounts have no local password",
            ));
        }
        let (password, generated) = match req.password {
            Some(p) => {
                if let Some(e) = check_password("password", &p) {
                    return Err(ServiceError::Invalid(vec![e]));
                }
                (p, None)
            }
            None => {
                let p = random_secret();
                (p.clone(), Some(p))
            }
        };
        let patch = UserPatch {
            password_hash: Some(hash_password(password).await?),
            ..UserPatch::default()
        };
        self.db.update_user(&user.id, &patch, self.now_ms()).await?;
        self.users.invalidate(&user.id);
        self.identity_changed();
        Ok((user.id, generated))
    }

    pub async fn list_activity(
        &self,
        caller: &Principal,
        filter: &ActivityFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ActivityRecord>, i64)> {
        caller.require("activity_log:read")?;
        Ok(self
            .db
            .list_activity(
                &caller.tenant_filter(),
                &caller.user_id,
                filter,
                limit,
                offset,
            )
            .await?)
    }
}
