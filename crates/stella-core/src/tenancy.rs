//! User scope and the tenant filter every tenant-owned query must carry.

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Sees its own tenant only.
    Tenant,
    /// Sees the tenants associated with it.
    Partner,
    /// Sees the whole platform.
    Root,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Root => "root",
            Scope::Partner => "partner",
            Scope::Tenant => "tenant",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "root" => Some(Scope::Root),
            "partner" => Some(Scope::Partner),
            "tenant" => Some(Scope::Tenant),
            _ => None,
        }
    }
}

/// Which tenants a query may touch. Storage functions for tenant-owned data take one of these
/// as a required argument and turn it into a `WHERE` clause, so forgetting it does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantFilter {
    /// Root scope: no restriction.
    All,
    /// Partner or tenant scope: only these tenant ids (possibly none).
    Only(Vec<String>),
}

impl TenantFilter {
    pub fn allows(&self, tenant_id: &str) -> bool {
        match self {
            TenantFilter::All => true,
            TenantFilter::Only(ids) => ids.iter().any(|t| t == tenant_id),
        }
    }

    /// Narrows to one tenant (the `tenantid` query parameter). Outside the filter yields an
    /// empty filter rather than an error, so the answer is "nothing" instead of a leak.
    pub fn narrow_to(&self, tenant_id: &str) -> TenantFilter {
        if self.allows(tenant_id) {
            TenantFilter::Only(vec![tenant_id.to_owned()])
        } else {
            TenantFilter::Only(Vec::new())
        }
    }
}
