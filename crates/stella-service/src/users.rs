//! User administration under the authorisation rules: one cannot create, change or remove an
//! account one does not outrank, nor hand out a scope, tenancy or profile beyond one's own.
//!
//! "Outrank" (`Principal::outranks`): the caller's tenancy covers the account's, and the
//! caller's permissions (through the credential it called with) are a strict superset of the
//! account's, or the same over a strictly wider scope. So a tenant's super admin cannot make
//! another super admin of the tenant (a peer it could then neither change nor remove); the
//! partner or root above it can. Additional root super admins are made on the server itself
//! (`stella admin add`).

use crate::crypto::hash_password;
use crate::{Result, ServiceError, Stella};
use serde::{Deserialize, Serialize};
use stella_core::clock::rfc3339_ms;
use stella_core::ids::new_id;
use stella_core::perm::{UsersRead, UsersWrite};
use stella_core::validate::{check_password, is_plausible_email};
use stella_core::{FieldError, Grant, Principal, Scope};
use stella_store::{NewUser, UserPatch, UserRecord};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub sso: Option<bool>,
    #[serde(default)]
    pub scope: Option<Scope>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub tenant_ids: Option<Vec<String>>,
    pub privilege_profile: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub privilege_profile: Option<String>,
    #[serde(default)]
    pub scope: Option<Scope>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub tenant_ids: Option<Vec<String>>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub scope: Scope,
    pub tenant_id: Option<String>,
    pub tenant_ids: Vec<String>,
    /// The profile's id (a built-in's id is its name).
    pub privilege_profile: String,
    pub sso: bool,
    pub disabled: bool,
    pub has_legacy_token: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            scope: u.scope,
            tenant_id: (u.scope == Scope::Tenant)
                .then(|| u.tenant_ids.first().cloned())
                .flatten(),
            tenant_ids: u.tenant_ids.clone(),
            privilege_profile: u.profile.clone(),
            sso: u.sso,
            disabled: u.disabled,
            has_legacy_token: u.has_legacy_token,
            created_at: rfc3339_ms(u.created_at),
            updated_at: rfc3339_ms(u.updated_at),
        }
    }
}

const MAX_NAME: usize = 200;
const MAX_PARTNER_TENANTS: usize = 1000;

impl Stella {
    /// Resolves the scope and tenants a request asks for, defaulting to the caller's own.
    fn requested_tenancy(
        caller: &Principal,
        scope: Option<Scope>,
        tenant_id: Option<String>,
        tenant_ids: Option<Vec<String>>,
    ) -> Result<(Scope, Vec<String>)> {
        let scope = match (scope, &tenant_id, &tenant_ids) {
            (Some(s), _, _) => s,
            (None, Some(_), _) => Scope::Tenant,
            (None, None, Some(_)) => Scope::Partner,
            (None, None, None) => caller.scope,
        };
        let tenants = match scope {
            Scope::Root => {
                if tenant_id.is_some() || tenant_ids.as_ref().is_some_and(|t| !t.is_empty()) {
                    return Err(ServiceError::invalid(
                        "tenant_id",
                        "root-scope accounts belong to no tenant",
                    ));
                }
                Vec::new()
            }
            Scope::Tenant => match tenant_id.or_else(|| {
                caller
                    .tenant_ids
                    .first()
                    .cloned()
                    .filter(|_| caller.scope == Scope::Tenant)
            }) {
                Some(t) => vec![t],
                None => {
                    return Err(ServiceError::invalid(
                        "tenant_id",
                        "is required for tenant-scope accounts",
                    ))
                }
            },
            Scope::Partner => {
                let t = tenant_ids.unwrap_or_else(|| {
                    if caller.scope == Scope::Partner {
                        caller.tenant_ids.clone()
                    } else {
                        Vec::new()
                    }
                });
                if t.is_empty() {
                    return Err(ServiceError::invalid(
                        "tenant_ids",
                        "a partner account needs at least one tenant",
                    ));
                }
                if t.len() > MAX_PARTNER_TENANTS {
                    return Err(ServiceError::invalid(
                        "tenant_ids",
                        format!("at most {MAX_PARTNER_TENANTS} tenants"),
                    ));
                }
                let mut t = t;
                t.sort();
                t.dedup();
                t
            }
        };
        Ok((scope, tenants))
    }

    async fn check_tenants_exist(&self, tenants: &[String]) -> Result<()> {
        for t in tenants {
            if !self.db.tenant_exists(t).await? {
                return Err(ServiceError::invalid(
                    "tenant_id",
                    format!("no tenant has the id '{t}'"),
                ));
            }
        }
        Ok(())
    }

    pub async fn create_user(
        &self,
        g: Grant<'_, UsersWrite>,
        req: NewUserRequest,
    ) -> Result<UserView> {
        let caller = g.caller();
        let mut errors = Vec::new();
        let email = req.email.trim().to_lowercase();
        if !is_plausible_email(&email) {
            errors.push(FieldError::new("email", "must be an email address"));
        }
        let name = req.name.unwrap_or_default();
        if name.chars().count() > MAX_NAME {
            errors.push(FieldError::new(
                "name",
                format!("must be at most {MAX_NAME} characters"),
            ));
        }
        let sso = req.sso.unwrap_or(false);
        match (&req.password, sso) {
            (Some(_), true) => errors.push(FieldError::new(
                "password",
                "single sign-on accounts have no local password",
            )),
            (Some(p), false) => errors.extend(check_password("password", p)),
            (None, false) => errors.push(FieldError::new(
                "password",
                "is required for a local account",
            )),
            (None, true) => {}
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let (scope, tenants) =
            Self::requested_tenancy(caller, req.scope, req.tenant_id, req.tenant_ids)?;
        if !caller.covers(scope, &tenants) {
            return Err(ServiceError::Forbidden(
                "you cannot place an account outside your own scope and tenancy".into(),
            ));
        }
        let profile = self
            .assignable_profile(
                caller,
                &req.privilege_profile,
                scope,
                &tenants,
                "privilege_profile",
            )
            .await?;
        if !caller.outranks(scope, &tenants, &profile.permissions) {
            return Err(ServiceError::Forbidden(
                "you can only create users with lower privileges than yours: fewer permissions \
                 (counting the credential you called with), or the same over a narrower scope"
                    .into(),
            ));
        }
        self.check_tenants_exist(&tenants).await?;
        let password_hash = match req.password {
            Some(p) => Some(hash_password(p).await?),
            None => None,
        };
        let new = NewUser {
            id: new_id(),
            email,
            name,
            password_hash,
            sso,
            scope,
            tenant_ids: tenants,
            profile: profile.id,
        };
        self.db.insert_user(&new, self.now_ms()).await?;
        let user = self
            .db
            .get_user(&new.id)
            .await?
            .ok_or_else(|| ServiceError::Internal("user vanished after insert".into()))?;
        Ok(UserView::from(&user))
    }

    /// A user the caller may see; missing and out-of-scope look the same (404).
    pub(crate) async fn visible_user(&self, caller: &Principal, id: &str) -> Result<UserRecord> {
        self.db
            .get_user_visible(&caller.tenant_filter(), &caller.user_id, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no user with id '{id}'")))
    }

    /// One user: yourself with any credential, others with `users:read`.
    pub async fn get_user(&self, caller: &Principal, id: &str) -> Result<UserView> {
        if id != caller.user_id {
            caller.grant::<UsersRead>()?;
        }
        Ok(UserView::from(&self.visible_user(caller, id).await?))
    }

    pub async fn list_users(
        &self,
        g: Grant<'_, UsersRead>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<UserView>, i64)> {
        let (users, total) = self
            .db
            .list_users(&g.tenant_filter(), &g.user_id, limit, offset)
            .await?;
        Ok((users.iter().map(UserView::from).collect(), total))
    }

    pub(crate) async fn outranks_user(
        &self,
        caller: &Principal,
        target: &UserRecord,
    ) -> Result<bool> {
        let perms = self.profile_permissions(&target.profile).await?;
        Ok(caller.outranks(target.scope, &target.tenant_ids, &perms))
    }

    pub async fn update_user(
        &self,
        caller: &Principal,
        id: &str,
        req: UpdateUserRequest,
    ) -> Result<UserView> {
        let target = self.visible_user(caller, id).await?;
        let own = target.id == caller.user_id;
        let privileged_change = req.privilege_profile.is_some()
            || req.scope.is_some()
            || req.tenant_id.is_some()
            || req.tenant_ids.is_some()
            || req.disabled.is_some();
        if own && privileged_change {
            return Err(ServiceError::Forbidden(
                "you cannot change your own privileges, scope, tenancy or status".into(),
            ));
        }
        if !own {
            caller.grant::<UsersWrite>()?;
            if !self.outranks_user(caller, &target).await? {
                return Err(ServiceError::Forbidden(
                    "you can only change users with lower privileges than yours".into(),
                ));
            }
        } else if req.password.is_some() {
            // A password signs in with all of the user's permissions: setting your own takes a
            // credential that carries all of them (not a narrowed key or an offline token).
            let full = self.profile_permissions(&target.profile).await?;
            caller.mint(
                &full,
                "a password (it signs in with all of your permissions)",
            )?;
        }
        let mut patch = UserPatch::default();
        let mut errors = Vec::new();
        if let Some(name) = req.name {
            if name.chars().count() > MAX_NAME {
                errors.push(FieldError::new(
                    "name",
                    format!("must be at most {MAX_NAME} characters"),
                ));
            }
            patch.name = Some(name);
        }
        if let Some(p) = &req.password {
            if target.sso {
                errors.push(FieldError::new(
                    "password",
                    "single sign-on accounts have no local password",
                ));
            }
            errors.extend(check_password("password", p));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let new_scope_or_tenants =
            req.scope.is_some() || req.tenant_id.is_some() || req.tenant_ids.is_some();
        let (scope, tenants) = if new_scope_or_tenants {
            let current = Principal {
                scope: target.scope,
                tenant_ids: target.tenant_ids.clone(),
                ..caller.clone()
            };
            Self::requested_tenancy(&current, req.scope, req.tenant_id, req.tenant_ids)?
        } else {
            (target.scope, target.tenant_ids.clone())
        };
        let profile = req
            .privilege_profile
            .clone()
            .unwrap_or_else(|| target.profile.clone());
        if req.privilege_profile.is_some() || new_scope_or_tenants {
            let perms = self
                .assignable_profile(caller, &profile, scope, &tenants, "privilege_profile")
                .await?
                .permissions;
            if !caller.outranks(scope, &tenants, &perms) {
                return Err(ServiceError::Forbidden(
                    "the change would give the user privileges or tenancy beyond yours".into(),
                ));
            }
            self.check_tenants_exist(&tenants).await?;
        }
        if new_scope_or_tenants {
            patch.tenancy = Some((scope, tenants));
        }
        if req.privilege_profile.is_some() {
            patch.profile = Some(profile);
        }
        patch.disabled = req.disabled;
        if let Some(p) = req.password {
            patch.password_hash = Some(hash_password(p).await?);
        }
        let new_password = patch.password_hash.is_some();
        self.db.update_user(id, &patch, self.now_ms()).await?;
        if new_password {
            // Whoever signed in with the old password is signed out.
            self.end_sessions(id).await?;
        }
        self.users.invalidate(id);
        self.identity_changed();
        let user = self
            .db
            .get_user(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no user with id '{id}'")))?;
        Ok(UserView::from(&user))
    }

    pub async fn delete_user(&self, g: Grant<'_, UsersWrite>, id: &str) -> Result<()> {
        let caller = g.caller();
        let target = self.visible_user(caller, id).await?;
        if target.id == caller.user_id {
            return Err(ServiceError::Forbidden(
                "you cannot delete your own account".into(),
            ));
        }
        if !self.outranks_user(caller, &target).await? {
            return Err(ServiceError::Forbidden(
                "you can only delete users with lower privileges than yours".into(),
            ));
        }
        self.db.delete_user(id).await?;
        self.users.invalidate(id);
        self.identity_changed();
        // The user's keys went with it (ON DELETE CASCADE); drop any cached copies too.
        self.keys.clear();
        Ok(())
    }
}
