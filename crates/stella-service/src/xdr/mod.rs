//! Behaviour of the Open XDR resources beyond the generic engine: each module holds one
//! resource's [`Hooks`] and the operations the contract adds around it. [`HOOKS`] registers
//! each with its resource's spec.

mod alerts;
mod cases;
mod connectors;
mod groups;
pub mod playbooks;
mod reports;
mod tenants;
pub(crate) mod watchlists;

use crate::resources::Hooks;
use stella_core::catalog;
use stella_core::resource::ResourceSpec;

/// The XDR resources' hooks, each under the spec it belongs to (the same `static`, compared by
/// address: renaming a resource cannot detach its hooks).
pub(crate) static HOOKS: &[(&ResourceSpec, &dyn Hooks)] = &[
    (&catalog::TENANTS, &tenants::TenantHooks),
    (&catalog::TENANT_GROUPS, &groups::TenantGroupHooks),
    (&catalog::CASES, &cases::CaseHooks),
    (&catalog::ALERTS, &alerts::AlertHooks),
    (&catalog::CONNECTORS, &connectors::ConnectorHooks),
    (&catalog::REPORTS, &reports::ReportHooks),
    (&catalog::WATCHLISTS, &watchlists::WatchlistHooks),
];

/// A text column's value in a validated column list.
fn column<'a>(
    values: &'a stella_core::resource::Columns,
    name: &str,
) -> Option<&'a stella_core::resource::FieldValue> {
    values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}
