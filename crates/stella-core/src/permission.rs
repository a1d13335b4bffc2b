//! Named permissions (`resource:action`). Privilege profiles, API keys and OAuth clients are all
//! sets of these; narrowing is always set intersection, and "lower privileges" is a strict subset.

use std::collections::BTreeSet;

pub type Permission = &'static str;

/// Every permission the platform knows. Custom profiles may only name these.
pub const ALL: &[Permission] = &[
    "tenants:read",
    "tenants:write",
    "users:read",
    "users:write",
    "api_keys:revoke",
    "privilege_profiles:read",
    "privilege_profiles:write",
    "oauth_clients:read",
    "oauth_clients:write",
    "offline_tokens:write",
    "activity_log:read",
    "cases:read",
    "cases:write",
    "alerts:read",
    "alerts:write",
    "events:read",
    "events:write",
    "connectors:read",
    "connectors:write",
    "queries:read",
    "queries:write",
    "watchlists:read",
    "watchlists:write",
    "sensors:read",
    "sensors:write",
    "reports:read",
    "reports:write",
    "playbooks:read",
    "playbooks:write",
    "lookup_tables:read",
    "lookup_tables:write",
    "scans:read",
    "scans:write",
    "policy:read",
    "policy:write",
    "probes:read",
    "probes:write",
];

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
