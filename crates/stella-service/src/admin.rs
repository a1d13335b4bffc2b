//! Privilege profiles, legacy tokens, password resets and the activity log.
//!
//! A custom profile has an owner: the platform (made at root scope), a partner's tenants or one
//! tenant. Only administrators whose scope covers the owner change or delete it, it never holds
//! a permission its author's credential lacks, it is given only to accounts its owner covers,
//! and a caller sees only the profiles it could give to someone. The built-ins cannot be
//! changed. Profiles are referred to by id (a built-in's id is its name), so a profile deleted
//! and re-created under the same name is a different profile.

use crate::crypto::{hash_password, random_legacy_token, random_secret, sha256_hex};
use crate::{Result, ServiceError, Stella};
use serde::Deserialize;
use stella_core::ids::new_id;
use stella_core::perm::{
    ActivityLogRead, PrivilegeProfilesRead, PrivilegeProfilesWrite, UsersWrite,
};
use stella_core::principal::CredentialKind;
use stella_core::validate::check_password;
use stella_core::{
    profile, Grant, Principal, PrivilegeProfile, ProfileOwner, Restricted, Scope, TenantFilter,
};
use stella_store::{ActivityFilter, ActivityRecord, ProfilePatch, UserPatch};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProfile {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub permissions: Vec<String>,
    /// Owner: one tenant (by default the caller's own tenancy).
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Owner: a partner's tenants.
    #[serde(default)]
    pub tenant_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
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

const MAX_DESCRIPTION: usize = 1000;

fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        return Err(ServiceError::invalid(
            "name",
            "must be 1 to 64 letters, digits, '_' or '-'",
        ));
    }
    if profile::is_builtin(name) {
        return Err(ServiceError::Conflict(format!(
            "'{name}' is the name of a built-in profile"
        )));
    }
    Ok(())
}

fn check_description(d: &str) -> Result<()> {
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(ServiceError::invalid(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(())
}

/// A profile as a caller sees it: of a partner's tenants, only those the caller reaches are
/// named (a tenant sees its partner's profile without learning the partner's other tenants).
fn shown_to(mut p: PrivilegeProfile, filter: &TenantFilter) -> PrivilegeProfile {
    p.owner.tenant_ids.retain(|t| filter.allows(t));
    p
}

impl Stella {
    /// The built-ins and the custom profiles the caller could give to someone.
    pub async fn list_profiles(
        &self,
        g: Grant<'_, PrivilegeProfilesRead>,
    ) -> Result<Vec<PrivilegeProfile>> {
        let filter = g.tenant_filter();
        let mut all = profile::builtins();
        all.extend(
            self.db
                .list_profiles(&filter)
                .await?
                .into_iter()
                .map(|p| shown_to(p, &filter)),
        );
        Ok(all)
    }

    pub async fn get_profile(
        &self,
        g: Grant<'_, PrivilegeProfilesRead>,
        id: &str,
    ) -> Result<PrivilegeProfile> {
        let p = self.visible_profile(g.caller(), id).await?;
        Ok(shown_to(p, &g.tenant_filter()))
    }

    /// A profile the caller may see (built-in or custom); missing and invisible look the same.
    pub(crate) async fn visible_profile(
        &self,
        caller: &Principal,
        id: &str,
    ) -> Result<PrivilegeProfile> {
        if let Some(p) = profile::builtin(id) {
            return Ok(p);
        }
        self.db
            .get_profile_visible(&caller.tenant_filter(), id)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!("no privilege profile has the id '{id}'"))
            })
    }

    /// The owner a new profile asks for, defaulting to the caller's own tenancy.
    async fn requested_owner(&self, caller: &Principal, req: &NewProfile) -> Result<ProfileOwner> {
        let owner = match (&req.tenant_id, &req.tenant_ids) {
            (Some(_), Some(_)) => {
                return Err(ServiceError::invalid(
                    "tenant_id",
                    "give tenant_id (one tenant) or tenant_ids (a partner's), not both",
                ))
            }
            (Some(t), None) => ProfileOwner {
                scope: Scope::Tenant,
                tenant_ids: vec![t.clone()],
            },
            (None, Some(ts)) if !ts.is_empty() && ts.len() <= 1000 => {
                let mut ts = ts.clone();
                ts.sort();
                ts.dedup();
                ProfileOwner {
                    scope: Scope::Partner,
                    tenant_ids: ts,
                }
            }
            (None, Some(_)) => {
                return Err(ServiceError::invalid(
                    "tenant_ids",
                    "must name 1 to 1000 tenants",
                ))
            }
            (None, None) => match caller.scope {
                Scope::Root => ProfileOwner::platform(),
                scope => ProfileOwner {
                    scope,
                    tenant_ids: caller.tenant_ids.clone(),
                },
            },
        };
        if !caller.covers(owner.scope, &owner.tenant_ids) {
            return Err(ServiceError::Forbidden(
                "a profile can only be owned within your own scope and tenancy".into(),
            ));
        }
        for t in &owner.tenant_ids {
            if !self.db.tenant_exists(t).await? {
                return Err(ServiceError::invalid(
                    "tenant_id",
                    format!("no tenant has the id '{t}'"),
                ));
            }
        }
        Ok(owner)
    }

    pub async fn create_profile(
        &self,
        g: Grant<'_, PrivilegeProfilesWrite>,
        req: NewProfile,
    ) -> Result<PrivilegeProfile> {
        let name = req.name.trim().to_owned();
        check_name(&name)?;
        let description = req.description.clone().unwrap_or_default();
        check_description(&description)?;
        let owner = self.requested_owner(g.caller(), &req).await?;
        let wanted = Self::permission_names(req.permissions, "permissions")?;
        // A profile is a credential template: it never holds what its author's credential lacks.
        let mint = g.mint(&wanted, "the profile")?;
        let p = PrivilegeProfile {
            id: new_id(),
            name,
            description,
            builtin: false,
            permissions: mint.permissions().clone(),
            owner,
        };
        self.db
            .insert_profile(&p, &g.user_id, self.now_ms())
            .await
            .map_err(|e| match ServiceError::from(e) {
                ServiceError::Conflict(_) => ServiceError::Conflict(format!(
                    "this owner already has a profile called '{}'",
                    p.name
                )),
                other => other,
            })?;
        Ok(p)
    }

    /// A custom profile the caller may change: visible to it, owned within its scope.
    async fn changeable_profile(&self, caller: &Principal, id: &str) -> Result<PrivilegeProfile> {
        if profile::is_builtin(id) {
            return Err(ServiceError::Forbidden(format!(
                "'{id}' is a built-in profile and cannot be changed or deleted"
            )));
        }
        let p = self.visible_profile(caller, id).await?;
        if !caller.covers(p.owner.scope, &p.owner.tenant_ids) {
            return Err(ServiceError::Forbidden(
                "only administrators of the profile's owner may change it".into(),
            ));
        }
        // Changing a profile changes everyone who holds it, and they sit within its owner: the
        // caller must outrank the profile there, as it would to change one of them.
        if !caller.outranks(p.owner.scope, &p.owner.tenant_ids, &p.permissions) {
            return Err(ServiceError::Forbidden(
                "you can only change profiles with fewer permissions than yours (or owned more \
                 narrowly than your scope)"
                    .into(),
            ));
        }
        Ok(p)
    }

    pub async fn update_profile(
        &self,
        g: Grant<'_, PrivilegeProfilesWrite>,
        id: &str,
        req: UpdateProfile,
    ) -> Result<PrivilegeProfile> {
        let current = self.changeable_profile(g.caller(), id).await?;
        let mut patch = ProfilePatch::default();
        if let Some(name) = req.name {
            let name = name.trim().to_owned();
            check_name(&name)?;
            patch.name = Some(name);
        }
        if let Some(d) = req.description {
            check_description(&d)?;
            patch.description = Some(d);
        }
        if let Some(names) = req.permissions {
            let wanted = Self::permission_names(names, "permissions")?;
            patch.permissions = Some(g.mint(&wanted, "the profile")?.permissions().clone());
        }
        self.db
            .update_profile(id, &patch, self.now_ms())
            .await
            .map_err(|e| match ServiceError::from(e) {
                ServiceError::Conflict(_) => {
                    ServiceError::Conflict("this owner already has a profile with that name".into())
                }
                other => other,
            })?;
        self.profiles.invalidate(id);
        self.identity_changed();
        Ok(PrivilegeProfile {
            name: patch.name.unwrap_or(current.name),
            description: patch.description.unwrap_or(current.description),
            permissions: patch.permissions.unwrap_or(current.permissions),
            ..current
        })
    }

    pub async fn delete_profile(
        &self,
        g: Grant<'_, PrivilegeProfilesWrite>,
        id: &str,
    ) -> Result<()> {
        self.changeable_profile(g.caller(), id).await?;
        if self.db.profile_in_use(id).await? {
            return Err(ServiceError::Conflict(
                "the profile is still assigned to users or OAuth clients; reassign them first"
                    .into(),
            ));
        }
        if !self.db.delete_profile(id).await? {
            return Err(ServiceError::NotFound(format!(
                "no privilege profile has the id '{id}'"
            )));
        }
        self.profiles.invalidate(id);
        self.identity_changed();
        Ok(())
    }

    /// A profile `caller` may give to an account at `scope` over `tenants`: one it can see,
    /// whose owner covers that account, holding nothing beyond the caller's own permissions.
    pub(crate) async fn assignable_profile(
        &self,
        caller: &Principal,
        id: &str,
        scope: Scope,
        tenants: &[String],
        field: &str,
    ) -> Result<PrivilegeProfile> {
        let p = match self.visible_profile(caller, id).await {
            Ok(p) => p,
            Err(ServiceError::NotFound(_)) => {
                return Err(ServiceError::invalid(
                    field,
                    format!(
                        "no privilege profile has the id '{id}' (built-in ids are their names: {})",
                        profile::BUILTIN_NAMES.join(", ")
                    ),
                ))
            }
            Err(e) => return Err(e),
        };
        if !p.owner.fits(scope, tenants) {
            return Err(ServiceError::invalid(
                field,
                format!(
                    "the profile '{}' belongs to {}; it can only be given to accounts it covers",
                    p.name,
                    match p.owner.scope {
                        Scope::Root => "the platform",
                        Scope::Partner => "a partner's tenants",
                        Scope::Tenant => "one tenant",
                    }
                ),
            ));
        }
        caller.mint(&p.permissions, &format!("the profile '{}'", p.name))?;
        Ok(p)
    }

    /// Generates (or replaces, revoking the old one at once) the caller's own legacy 40-hex
    /// token. Any user may: the token acts with the user's profile, as `Authorization: Token`
    /// under `/rest/` (and, for root super admins, as HTTP Basic under `/connect/api/v1`). It
    /// is made only through the user's own credential, and only one that itself carries every
    /// permission the token will (a narrowed API key's JWT mints nothing broader).
    pub async fn generate_legacy_token(&self, caller: &Principal) -> Result<String> {
        if !matches!(
            caller.credential,
            CredentialKind::AccessToken | CredentialKind::LegacyToken | CredentialKind::Session
        ) {
            return Err(ServiceError::Forbidden(
                "legacy tokens belong to user accounts and are made with the user's own credential"
                    .into(),
            ));
        }
        let full = self.profile_permissions(&caller.profile).await?;
        caller.mint(&full, "a legacy token")?;
        // The token ends with the API key it was made through (revoked, expired), as offline
        // tokens do; one made with the legacy token keeps that one's key; one made at sign-in
        // ends with the password (every password change clears it).
        let issuer = match caller.credential {
            CredentialKind::AccessToken => caller
                .credential_id
                .clone()
                .map(|key| ("api_key".to_owned(), key)),
            CredentialKind::LegacyToken => self
                .db
                .get_user(&caller.user_id)
                .await?
                .and_then(|u| u.legacy_token_issuer),
            _ => None,
        };
        let token = random_legacy_token();
        self.db
            .set_legacy_token_hash(
                &caller.user_id,
                Some(&sha256_hex(token.as_bytes())),
                issuer.as_ref().map(|(k, id)| (k.as_str(), id.as_str())),
                self.now_ms(),
            )
            .await?;
        self.users.invalidate(&caller.user_id);
        self.identity_changed();
        Ok(token)
    }

    /// Restricted: sets a user's password, generating one when none is given. Returns the
    /// generated password, if any. A password is a credential with all of its user's
    /// permissions, so the caller's credential must carry all of them too.
    pub async fn reset_user(
        &self,
        r: Restricted<'_, UsersWrite>,
        req: ResetUser,
    ) -> Result<(String, Option<String>)> {
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
        let target = self.profile_permissions(&user.profile).await?;
        r.caller().mint(
            &target,
            "a password for this user (it signs in with all of them)",
        )?;
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
        self.end_sessions(&user.id).await?;
        self.users.invalidate(&user.id);
        self.identity_changed();
        Ok((user.id, generated))
    }

    pub async fn list_activity(
        &self,
        g: Grant<'_, ActivityLogRead>,
        filter: &ActivityFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ActivityRecord>, i64)> {
        let tenants: TenantFilter = g.tenant_filter();
        Ok(self
            .db
            .list_activity(&tenants, &g.user_id, filter, limit, offset)
            .await?)
    }
}
