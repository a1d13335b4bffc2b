//! Privilege profiles (RBAC roles). Five are built in; administrators add custom ones made of
//! named permissions.

use crate::permission::{PermissionSet, ALL};
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
    })
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
    fn read_only_cannot_write() {
        let ro = builtin(READ_ONLY)
            .map(|p| p.permissions)
            .unwrap_or_default();
        assert!(ro.contains("cases:read"));
        assert!(ro.iter().all(|p| p.ends_with(":read")));
    }
}
