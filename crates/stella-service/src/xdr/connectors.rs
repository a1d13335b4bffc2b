use super::column;
use crate::resources::Hooks;
use crate::{Result, ServiceError, Stella};
use serde_json::Value;
use stella_core::catalog::CONNECTORS;
use stella_core::resource::{Columns, FieldValue};
use stella_core::Principal;

/// A connector's checkpoint is the time it pulls data from; it cannot lie in the future.
pub(crate) struct ConnectorHooks;

#[async_trait::async_trait]
impl Hooks for ConnectorHooks {
    async fn validate(
        &self,
        s: &Stella,
        _caller: &Principal,
        _tenant: Option<&str>,
        values: &Columns,
    ) -> Result<()> {
        if let Some(FieldValue::Int(ms)) = column(values, "checkpoint") {
            if *ms > s.now_ms() {
                return Err(ServiceError::invalid(
                    "checkpoint",
                    "must not be in the future",
                ));
            }
        }
        Ok(())
    }
}

impl Stella {
    /// Rolls a connector's checkpoint back so it pulls again from an earlier time (after data
    /// loss). Moving it forward is refused: that would skip data silently.
    pub async fn rollback_connector(
        &self,
        caller: &Principal,
        id: &str,
        body: &Value,
    ) -> Result<Value> {
        let current = self.resource_get(caller, &CONNECTORS, None, id).await?;
        let Some(to) = body
            .get("checkpoint")
            .and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        else {
            return Err(ServiceError::invalid(
                "checkpoint",
                "is required: the RFC 3339 date-time to pull data from again",
            ));
        };
        let current_ms = current
            .get("checkpoint")
            .and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.timestamp_millis())
            .unwrap_or_else(|| self.now_ms());
        if to.timestamp_millis() > current_ms {
            return Err(ServiceError::invalid(
                "checkpoint",
                "must be earlier than the connector's current checkpoint; a rollback only goes back",
            ));
        }
        self.resource_update(
            caller,
            &CONNECTORS,
            None,
            id,
            &serde_json::json!({ "checkpoint": to.to_rfc3339() }),
        )
        .await
    }
}
