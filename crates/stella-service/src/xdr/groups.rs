use super::column;
use crate::resources::Hooks;
use crate::{Result, ServiceError, Stella};
use stella_core::resource::{Columns, FieldValue};
use stella_core::Principal;

/// Tenant groups name tenants; each must exist.
pub(crate) struct TenantGroupHooks;

#[async_trait::async_trait]
impl Hooks for TenantGroupHooks {
    async fn validate(
        &self,
        s: &Stella,
        _caller: &Principal,
        _tenant: Option<&str>,
        values: &Columns,
    ) -> Result<()> {
        let Some(FieldValue::Json(list)) = column(values, "tenants") else {
            return Ok(());
        };
        let ids: Vec<String> = serde_json::from_str(list).unwrap_or_default();
        for (i, id) in ids.iter().enumerate() {
            if !s.db().tenant_exists(id).await? {
                return Err(ServiceError::invalid(
                    &format!("tenants[{i}]"),
                    format!("no tenant has the id '{id}'"),
                ));
            }
        }
        Ok(())
    }
}
