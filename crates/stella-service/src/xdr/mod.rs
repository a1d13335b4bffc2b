//! Behaviour of the Open XDR resources beyond the generic engine: each module holds one
//! resource's [`Hooks`] and the operations the contract adds around it.

mod alerts;
mod cases;
mod connectors;
mod groups;
pub mod playbooks;
mod reports;
mod tenants;
pub(crate) mod watchlists;

use crate::resources::{Hooks, NoHooks};
use stella_core::resource::ResourceSpec;

pub(crate) fn hooks_for(spec: &ResourceSpec) -> &'static dyn Hooks {
    match spec.name {
        "tenants" => &tenants::TenantHooks,
        "tenant_groups" => &groups::TenantGroupHooks,
        "cases" => &cases::CaseHooks,
        "alerts" => &alerts::AlertHooks,
        "connectors" => &connectors::ConnectorHooks,
        "reports" => &reports::ReportHooks,
        "watchlists" => &watchlists::WatchlistHooks,
        _ => &NoHooks,
    }
}

/// A text column's value in a validated column list.
fn column<'a>(
    values: &'a stella_core::resource::Columns,
    name: &str,
) -> Option<&'a stella_core::resource::FieldValue> {
    values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}
