//! The authenticated caller and the authorisation rules that compare callers with each other.

use crate::error::CoreError;
use crate::permission::PermissionSet;
use crate::profile::SUPER_ADMIN;
use crate::tenancy::{Scope, TenantFilter};
use serde::Serialize;

/// How the caller proved who it is. Decides which endpoints accept it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A JWT minted from an API key by `/access_token`.
    AccessToken,
    /// A JWT from `/connect/token` (OAuth 2.0 client credentials).
    OAuthClient,
    /// A long-lived offline JWT from `/token/offline`.
    OfflineToken,
    /// The legacy 40-hex token (HTTP Basic or `Authorization: Token`).
    LegacyToken,
}

/// A per-day usage allowance carried by a token (offline tokens carry `maxScansPerDay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quota {
    pub max_per_day: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The user the call acts as; for OAuth clients, `client:<client_id>`.
    pub user_id: String,
    pub email: String,
    pub scope: Scope,
    /// Tenant scope: its one tenant. Partner scope: its associated tenants. Root: empty.
    pub tenant_ids: Vec<String>,
    /// The user's privilege profile name (decides "root super admin").
    pub profile: String,
    /// Effective permissions: the profile's, narrowed by the credential.
    pub permissions: PermissionSet,
    pub credential: CredentialKind,
    /// The credential that authenticated the call (API key id, client id, offline token id).
    pub credential_id: Option<String>,
    /// Expiry of the presented token, milliseconds since the epoch.
    pub token_expires_ms: Option<i64>,
    pub quota: Option<Quota>,
}

impl Principal {
    pub fn tenant_filter(&self) -> TenantFilter {
        match self.scope {
            Scope::Root => TenantFilter::All,
            _ => TenantFilter::Only(self.tenant_ids.clone()),
        }
    }

    pub fn has(&self, permission: &str) -> bool {
        self.permissions.contains(permission)
    }

    pub fn require(&self, permission: &str) -> Result<(), CoreError> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(CoreError::Forbidden(format!(
                "this call needs the '{permission}' permission"
            )))
        }
    }

    /// Restricted endpoints are for super admins with root scope only.
    pub fn is_root_super_admin(&self) -> bool {
        self.scope == Scope::Root && self.profile == SUPER_ADMIN
    }

    pub fn require_root_super_admin(&self) -> Result<(), CoreError> {
        if self.is_root_super_admin() {
            Ok(())
        } else {
            Err(CoreError::Forbidden(
                "this endpoint is restricted to super admins with root scope".to_owned(),
            ))
        }
    }

    /// May this caller place an account (or object) at `scope` over `tenants`?
    pub fn covers(&self, scope: Scope, tenants: &[String]) -> bool {
        match self.scope {
            Scope::Root => true,
            Scope::Partner => {
                scope != Scope::Root
                    && !tenants.is_empty()
                    && tenants.iter().all(|t| self.tenant_ids.contains(t))
            }
            Scope::Tenant => {
                scope == Scope::Tenant && tenants.len() == 1 && self.tenant_ids == tenants
            }
        }
    }

    /// "Lower privileges": the caller covers the target's tenancy and holds strictly more
    /// permissions, or the same permissions over a strictly wider scope.
    pub fn outranks(&self, scope: Scope, tenants: &[String], permissions: &PermissionSet) -> bool {
        if !self.covers(scope, tenants) {
            return false;
        }
        permissions.is_strict_subset(&self.permissions)
            || (permissions == &self.permissions && scope < self.scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{builtin, ANALYST, READ_ONLY};

    fn principal(scope: Scope, tenants: &[&str], profile: &str) -> Principal {
        Principal {
            user_id: "u".into(),
            email: "u@example.com".into(),
            scope,
            tenant_ids: tenants.iter().map(|t| (*t).to_owned()).collect(),
            profile: profile.into(),
            permissions: builtin(profile).map(|p| p.permissions).unwrap_or_default(),
            credential: CredentialKind::AccessToken,
            credential_id: None,
            token_expires_ms: None,
            quota: None,
        }
    }

    fn perms(profile: &str) -> PermissionSet {
        builtin(profile).map(|p| p.permissions).unwrap_or_default()
    }

    #[test]
    fn tenant_cannot_cover_other_tenant_or_wider_scope() {
        let p = principal(Scope::Tenant, &["a"], SUPER_ADMIN);
        assert!(p.covers(Scope::Tenant, &["a".into()]));
        assert!(!p.covers(Scope::Tenant, &["b".into()]));
        assert!(!p.covers(Scope::Partner, &["a".into()]));
        assert!(!p.covers(Scope::Root, &[]));
    }

    #[test]
    fn partner_covers_only_its_tenants() {
        let p = principal(Scope::Partner, &["a", "b"], SUPER_ADMIN);
        assert!(p.covers(Scope::Tenant, &["b".into()]));
        assert!(p.covers(Scope::Partner, &["a".into(), "b".into()]));
        assert!(!p.covers(Scope::Partner, &["a".into(), "c".into()]));
        assert!(!p.covers(Scope::Root, &[]));
        assert_eq!(
            p.tenant_filter(),
            TenantFilter::Only(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn outranks_needs_strictly_more() {
        let admin = principal(Scope::Tenant, &["a"], SUPER_ADMIN);
        assert!(admin.outranks(Scope::Tenant, &["a".into()], &perms(ANALYST)));
        assert!(!admin.outranks(Scope::Tenant, &["a".into()], &perms(SUPER_ADMIN)));
        assert!(!admin.outranks(Scope::Tenant, &["b".into()], &perms(READ_ONLY)));
        let root = principal(Scope::Root, &[], SUPER_ADMIN);
        assert!(root.outranks(Scope::Tenant, &["a".into()], &perms(SUPER_ADMIN)));
        assert!(!root.outranks(Scope::Root, &[], &perms(SUPER_ADMIN)));
    }

    #[test]
    fn restricted_needs_root_and_super_admin() {
        assert!(principal(Scope::Root, &[], SUPER_ADMIN).is_root_super_admin());
        assert!(!principal(Scope::Partner, &["a"], SUPER_ADMIN).is_root_super_admin());
        assert!(!principal(Scope::Root, &[], ANALYST).is_root_super_admin());
    }
}
