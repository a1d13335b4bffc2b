use super::column;
use crate::resources::Hooks;
use crate::{Result, ServiceError, Stella};
use stella_core::catalog::WATCHLISTS;
use stella_core::resource::{Columns, FieldValue};
use stella_core::Principal;

/// Watchlists a tenant may hold, and entries over all of them: every ingest matches its events
/// against all of them, so both are bounded.
pub const MAX_WATCHLISTS_PER_TENANT: usize = 1000;
pub const MAX_ENTRIES_PER_TENANT: usize = 100_000;

pub(crate) struct WatchlistHooks;

#[async_trait::async_trait]
impl Hooks for WatchlistHooks {
    async fn validate(
        &self,
        s: &Stella,
        _caller: &Principal,
        tenant: Option<&str>,
        values: &Columns,
    ) -> Result<()> {
        let (Some(tenant), Some(FieldValue::Json(entries))) = (tenant, column(values, "entries"))
        else {
            return Ok(());
        };
        let adding = serde_json::from_str::<Vec<String>>(entries)
            .map(|e| e.len())
            .unwrap_or(0);
        let existing =
            s.db.resource_all(
                &WATCHLISTS,
                tenant,
                &[],
                None,
                MAX_WATCHLISTS_PER_TENANT as i64 + 1,
                &[],
            )
            .await?;
        // Watchlists are created and deleted, never updated (as in the spec), so every call
        // here adds one. Two creates at once may both pass: the bound is approximate by that.
        if existing.len() >= MAX_WATCHLISTS_PER_TENANT {
            return Err(ServiceError::Conflict(format!(
                "a tenant may hold at most {MAX_WATCHLISTS_PER_TENANT} watchlists; delete one first"
            )));
        }
        let held: usize = existing
            .iter()
            .map(|w| w["entries"].as_array().map_or(0, Vec::len))
            .sum();
        if held + adding > MAX_ENTRIES_PER_TENANT {
            return Err(ServiceError::Conflict(format!(
                "a tenant's watchlists may hold at most {MAX_ENTRIES_PER_TENANT} entries together \
                 ({held} now); delete some first"
            )));
        }
        Ok(())
    }
}
