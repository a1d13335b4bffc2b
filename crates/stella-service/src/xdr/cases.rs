use crate::resources::{Hooks, Target};
use crate::{Result, ServiceError, Stella};
use serde_json::Value;
use stella_core::catalog::CASES;
use stella_core::perm::AlertsWrite;
use stella_core::Grant;

/// The contract's `DELETE /cases/{id}` closes a case rather than removing it; with
/// `update_alerts=true` its alerts close in the same transaction.
pub(crate) struct CaseHooks;

#[async_trait::async_trait]
impl Hooks for CaseHooks {
    async fn delete(
        &self,
        s: &Stella,
        target: &Target<'_>,
        params: &[(String, String)],
    ) -> Result<bool> {
        let mut update_alerts = false;
        for (k, v) in params {
            match (k.as_str(), v.as_str()) {
                ("update_alerts", "true") => update_alerts = true,
                ("update_alerts", "false") => update_alerts = false,
                ("update_alerts", _) => {
                    return Err(ServiceError::invalid(
                        "update_alerts",
                        "must be true or false",
                    ))
                }
                (other, _) => {
                    return Err(ServiceError::invalid(
                        other,
                        "is not a parameter of closing a case; use update_alerts",
                    ))
                }
            }
        }
        Ok(s.db
            .close_case(&target.filter, target.id, update_alerts, s.now_ms())
            .await?)
    }
}

impl Stella {
    /// Links alerts to a case (`{"alert_ids": [...]}`) and answers the case with its new
    /// `alert_count`. Alerts outside the case's tenant are refused, naming them.
    pub async fn link_case_alerts(
        &self,
        g: Grant<'_, AlertsWrite>,
        case_id: &str,
        body: &Value,
    ) -> Result<Value> {
        let caller = g.caller();
        let case = self.resource_get(caller, &CASES, None, case_id).await?;
        let ids = body
            .get("alert_ids")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty() && a.len() <= 1000)
            .ok_or_else(|| {
                ServiceError::invalid("alert_ids", "must be an array of 1 to 1000 alert ids")
            })?;
        let ids = ids
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ServiceError::invalid(&format!("alert_ids[{i}]"), "must be a string")
                })
            })
            .collect::<Result<std::collections::BTreeSet<_>>>()?;
        let ids: Vec<String> = ids.into_iter().collect();
        let tenant = case
            .get("tenant_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !self
            .db
            .link_alerts(tenant, case_id, &ids, self.now_ms())
            .await?
        {
            return Err(ServiceError::invalid(
                "alert_ids",
                "names alerts that do not exist in the case's tenant",
            ));
        }
        self.resource_get(caller, &CASES, None, case_id).await
    }
}
