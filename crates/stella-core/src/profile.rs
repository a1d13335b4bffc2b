//! Privilege profiles (RBAC roles). Five are built in; administrators add custom ones made of
//! named permissions.

use crate::permission::{PermissionSet, ALL};
use crate::tenancy::Scope;
use serde::Serialize;

pub const SUPER_ADMIN: &str = "super_admin";
pub const PLATFORM_ADMIN: &str = "platform_admin";
pub const SECURITY_ADMIN: &str = "security_admin";
pub const ANALYST: &str = "analyst";
pub const READ_ONLY: &str = "read_only";

pub const BUILTIN_NAMES: &[&str] = &[
    SUPER_ADMIN,
    PLATFORM_ADMIN,
    SECURITY_ADMIN,
    ANALYST,
    READ_ONLY,
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PrivilegeProfile {
    pub id: String,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    #[schema(value_type = Vec<String>)]
    pub permissions: PermissionSet,
    /// Whose profile this is: the platform's (root scope: built-ins and root's own), a
    /// partner's (its tenants) or one tenant's. Only the owner's administrators change it, and
    /// it is given only to users its owner covers.
    pub owner: ProfileOwner,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProfileOwner {
    pub scope: Scope,
    /// The owning tenant (tenant scope) or tenants (partner scope); empty for the platform.
    pub tenant_ids: Vec<String>,
}

impl ProfileOwner {
    pub fn platform() -> ProfileOwner {
        ProfileOwner {
            scope: Scope::Root,
            tenant_ids: Vec::new(),
        }
    }

    /// The owner as one comparable string (names are unique per owner): `root`,
    /// `tenant:<id>` or `partner:<id>,<id>…` with the ids sorted.
    pub fn key(&self) -> String {
        match self.scope {
            Scope::Root => "root".to_owned(),
            Scope::Tenant | Scope::Partner => {
                let mut ids = self.tenant_ids.clone();
                ids.sort();
                ids.dedup();
                format!("{}:{}", self.scope.as_str(), ids.join(","))
            }
        }
    }

    pub fn from_key(key: &str) -> Option<ProfileOwner> {
        if key == "root" {
            return Some(ProfileOwner::platform());
        }
        let (scope, ids) = key.split_once(':')?;
        let scope = Scope::parse(scope).filter(|s| *s != Scope::Root)?;
        let tenant_ids: Vec<String> = ids
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        (!tenant_ids.is_empty()).then_some(ProfileOwner { scope, tenant_ids })
    }

    /// May a user (or client) placed at `scope` over `tenants` hold a profile of this owner?
    /// The platform's profiles fit anyone; a partner's, accounts within its tenants; a
    /// tenant's, accounts of that tenant.
    pub fn fits(&self, scope: Scope, tenants: &[String]) -> bool {
        crate::principal::covers(self.scope, &self.tenant_ids, scope, tenants)
    }

    /// Is this owner's profile shown to a caller reaching `filter`? The platform's are shown
    /// to everyone; others to callers who reach one of the owner's tenants (those are the
    /// callers who may give it to someone).
    pub fn visible_to(&self, filter: &crate::TenantFilter) -> bool {
        self.scope == Scope::Root || self.tenant_ids.iter().any(|t| filter.allows(t))
    }
}

fn reads() -> impl Iterator<Item = &'static str> {
    ALL.iter().copied().filter(|p| p.ends_with(":read"))
}

fn builtin_permissions(name: &str) -> Option<PermissionSet> {
    let security_writes = [
        "cases:write",
        "alerts:write",
        "events:write",
        "connectors:write",
        "queries:write",
        "watchlists:write",
        "sensors:write",
        "reports:write",
        "playbooks:write",
        "lookup_tables:write",
        "scans:write",
        "policy:write",
        "probes:write",
    ];
    let analyst_writes = [
        "cases:write",
        "alerts:write",
        "events:write",
        "queries:write",
        "watchlists:write",
        "scans:write",
    ];
    Some(match name {
        SUPER_ADMIN => PermissionSet::all(),
        PLATFORM_ADMIN => PermissionSet::from_names(
            ALL.iter()
                .copied()
                .filter(|p| *p != "privilege_profiles:write"),
        ),
        SECURITY_ADMIN => {
            PermissionSet::from_names(reads().chain(security_writes).chain(["api_keys:revoke"]))
        }
        ANALYST => PermissionSet::from_names(
            reads()
                .filter(|p| *p != "activity_log:read" && *p != "oauth_clients:read")
                .chain(analyst_writes),
        ),
        READ_ONLY => PermissionSet::from_names(
            reads().filter(|p| *p != "activity_log:read" && *p != "oauth_clients:read"),
        ),
        _ => return None,
    })
}

fn builtin_description(name: &str) -> &'static str {
    match name {
        SUPER_ADMIN => {
            "Every permission, including restricted endpoints when the user has root scope"
        }
        PLATFORM_ADMIN => "Administers tenants, users, connectors and platform settings",
        SECURITY_ADMIN => "Runs security operations: cases, alerts, events, playbooks, connectors",
        ANALYST => "Investigates: reads everything in scope, works cases, alerts and queries",
        _ => "Reads everything in scope, changes nothing",
    }
}

/// The built-in profile called `name`, if there is one.
pub fn builtin(name: &str) -> Option<PrivilegeProfile> {
    builtin_permissions(name).map(|permissions| PrivilegeProfile {
        id: name.to_owned(),
        name: name.to_owned(),
        description: builtin_description(name).to_owned(),
        builtin: true,
        permissions,
        owner: ProfileOwner::platform(),
    })
}

pub fn is_builtin(id: &str) -> bool {
    BUILTIN_NAMES.contains(&id)
}

pub fn builtins() -> Vec<PrivilegeProfile> {
    BUILTIN_NAMES.iter().filter_map(|n| builtin(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_strictly_ordered() {
        let p: Vec<_> = builtins().into_iter().map(|p| p.permissions).collect();
        for pair in p.windows(2) {
            assert!(
                pair[1].is_strict_subset(&pair[0]),
                "{:?} should be below {:?}",
                pair[1],
                pair[0]
            );
        }
    }

    #[test]
    fn owners_fit_their_own_accounts_only() {
        let t = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let platform = ProfileOwner::platform();
        let partner = ProfileOwner {
            scope: Scope::Partner,
            tenant_ids: t(&["b", "a"]),
        };
        let tenant = ProfileOwner {
            scope: Scope::Tenant,
            tenant_ids: t(&["a"]),
        };
        assert!(platform.fits(Scope::Root, &[]));
        assert!(!partner.fits(Scope::Root, &[]));
        assert!(partner.fits(Scope::Tenant, &t(&["a"])));
        assert!(partner.fits(Scope::Partner, &t(&["a", "b"])));
        assert!(!partner.fits(Scope::Tenant, &t(&["c"])));
        assert!(tenant.fits(Scope::Tenant, &t(&["a"])));
        assert!(!tenant.fits(Scope::Partner, &t(&["a"])));
        assert!(!tenant.fits(Scope::Tenant, &t(&["b"])));
        assert_eq!(partner.key(), "partner:a,b");
        assert_eq!(
            ProfileOwner::from_key(&partner.key()).map(|o| o.key()),
            Some(partner.key())
        );
        assert_eq!(ProfileOwner::from_key("root"), Some(platform.clone()));
        assert_eq!(ProfileOwner::from_key("root:x"), None);
        let only_b = crate::TenantFilter::Only(t(&["b"]));
        assert!(platform.visible_to(&only_b));
        assert!(partner.visible_to(&only_b));
        assert!(!tenant.visible_to(&only_b));
    }

    #[test]
    fn read_only_cannot_write() {
        let ro = builtin(READ_ONLY)
            .map(|p| p.permissions)
            .unwrap_or_default();
        assert!(ro.contains("cases:read"));
        assert!(ro.iter().all(|p| p.ends_with(":read")));
    }
}
