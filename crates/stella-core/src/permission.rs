//! Named permissions (`resource:action`). Privilege profiles, API keys and OAuth clients are all
//! sets of these; narrowing is always set intersection, and "lower privileges" is a strict subset.

use std::collections::BTreeSet;

pub type Permission = &'static str;

/// A permission as a type, for capabilities ([`crate::authz::Grant`]) whose operation needs
/// that one permission: the compiler then checks that the right one was asked for.
pub trait Perm {
    const NAME: Permission;
}

macro_rules! permissions {
    ($($ty:ident = $name:literal,)*) => {
        /// Every permission the platform knows. Custom profiles may only name these.
        pub const ALL: &[Permission] = &[$($name,)*];

        /// One marker type per permission (`perm::UsersWrite` is `"users:write"`).
        pub mod perm {
            $(
                #[doc = concat!("`", $name, "`")]
                #[derive(Debug, Clone, Copy)]
                pub struct $ty;
                impl super::Perm for $ty {
                    const NAME: super::Permission = $name;
                }
            )*
        }
    };
}

permissions! {
    TenantsRead = "tenants:read",
    TenantsWrite = "tenants:write",
    UsersRead = "users:read",
    UsersWrite = "users:write",
    ApiKeysRevoke = "api_keys:revoke",
    PrivilegeProfilesRead = "privilege_profiles:read",
    PrivilegeProfilesWrite = "privilege_profiles:write",
    OauthClientsRead = "oauth_clients:read",
    OauthClientsWrite = "oauth_clients:write",
    OfflineTokensWrite = "offline_tokens:write",
    ActivityLogRead = "activity_log:read",
    CasesRead = "cases:read",
    CasesWrite = "cases:write",
    AlertsRead = "alerts:read",
    AlertsWrite = "alerts:write",
    EventsRead = "events:read",
    EventsWrite = "events:write",
    ConnectorsRead = "connectors:read",
    ConnectorsWrite = "connectors:write",
    QueriesRead = "queries:read",
    QueriesWrite = "queries:write",
    WatchlistsRead = "watchlists:read",
    WatchlistsWrite = "watchlists:write",
    SensorsRead = "sensors:read",
    SensorsWrite = "sensors:write",
    ReportsRead = "reports:read",
    ReportsWrite = "reports:write",
    PlaybooksRead = "playbooks:read",
    PlaybooksWrite = "playbooks:write",
    LookupTablesRead = "lookup_tables:read",
    LookupTablesWrite = "lookup_tables:write",
    ScansRead = "scans:read",
    ScansWrite = "scans:write",
    PolicyRead = "policy:read",
    PolicyWrite = "policy:write",
    ProbesRead = "probes:read",
    ProbesWrite = "probes:write",
}

pub fn is_known(name: &str) -> bool {
    ALL.contains(&name)
}

/// An ordered set of permission names.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PermissionSet(BTreeSet<String>);

impl PermissionSet {
    pub fn all() -> Self {
        Self(ALL.iter().map(|p| (*p).to_owned()).collect())
    }

    pub fn from_names<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(names.into_iter().map(Into::into).collect())
    }

    pub fn contains(&self, permission: &str) -> bool {
        self.0.contains(permission)
    }

    pub fn is_subset(&self, other: &PermissionSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn is_strict_subset(&self, other: &PermissionSet) -> bool {
        self.0.is_subset(&other.0) && self.0.len() < other.0.len()
    }

    pub fn intersect(&self, other: &PermissionSet) -> PermissionSet {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// Names that are not in the catalogue, for validation messages.
    pub fn unknown(&self) -> Vec<String> {
        self.0.iter().filter(|p| !is_known(p)).cloned().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Stored form: a JSON array.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".to_owned())
    }

    pub fn from_json(s: &str) -> Self {
        serde_json::from_str(s).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn catalogue_has_no_duplicates() {
        assert_eq!(PermissionSet::all().len(), ALL.len());
    }

    #[test]
    fn json_round_trip() {
        let s = PermissionSet::from_names(["cases:read", "users:write"]);
        assert_eq!(PermissionSet::from_json(&s.to_json()), s);
    }

    proptest! {
        #[test]
        fn intersection_is_subset_of_both(a in proptest::sample::subsequence(ALL, 0..ALL.len()),
                                          b in proptest::sample::subsequence(ALL, 0..ALL.len())) {
            let a = PermissionSet::from_names(a);
            let b = PermissionSet::from_names(b);
            let i = a.intersect(&b);
            prop_assert!(i.is_subset(&a));
            prop_assert!(i.is_subset(&b));
            prop_assert!(!i.is_strict_subset(&i));
        }
    }
}
