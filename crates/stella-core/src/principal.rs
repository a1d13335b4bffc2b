//! The authenticated caller and the authorisation rules that compare callers with each other.

use crate::permission::PermissionSet;
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
    /// A session JWT (or its cookie) from password sign-in.
    Session,
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
    /// The id of the user's privilege profile (a built-in profile's id is its name).
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

    /// May this caller place an account (or object) at `scope` over `tenants`?
    pub fn covers(&self, scope: Scope, tenants: &[String]) -> bool {
        covers(self.scope, &self.tenant_ids, scope, tenants)
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

/// Does an account at `outer` over `outer_tenants` reach everything an account at `scope` over
/// `tenants` reaches? Root reaches all; a partner, accounts within its tenants (not root); a
/// tenant, accounts of its own tenant only.
pub fn covers(outer: Scope, outer_tenants: &[String], scope: Scope, tenants: &[String]) -> bool {
    match outer {
        Scope::Root => true,
        Scope::Partner => {
            scope != Scope::Root
                && !tenants.is_empty()
                && tenants.iter().all(|t| outer_tenants.contains(t))
        }
        Scope::Tenant => scope == Scope::Tenant && tenants.len() == 1 && outer_tenants == tenants,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{builtin, ANALYST, READ_ONLY, SUPER_ADMIN};

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
}
