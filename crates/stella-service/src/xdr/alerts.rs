use crate::resources::Hooks;
use crate::{Result, ServiceError, Stella};
use serde_json::{json, Map, Value};
use stella_core::catalog::ALERTS;
use stella_core::clock::rfc3339_ms;
use stella_core::resource::{Columns, FieldValue};
use stella_core::{Principal, TenantFilter};
use stella_store::NewAlert;

const MAX_COMMENT: usize = 10_000;

/// `PUT /alerts/{id}` takes a `comment`, which appends to the alert's comment history.
pub(crate) struct AlertHooks;

impl Hooks for AlertHooks {
    fn update_extras(
        &self,
        s: &Stella,
        caller: &Principal,
        body: &mut Map<String, Value>,
        current: &Value,
    ) -> Result<Columns> {
        let Some(comment) = body.remove("comment") else {
            return Ok(Vec::new());
        };
        let text = match comment.as_str() {
            Some(t) if !t.trim().is_empty() && t.chars().count() <= MAX_COMMENT => t,
            _ => {
                return Err(ServiceError::invalid(
                    "comment",
                    format!("must be a non-empty string of at most {MAX_COMMENT} characters"),
                ))
            }
        };
        let mut comments = current
            .get("comments")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if comments.len() >= 1000 {
            return Err(ServiceError::Conflict(
                "the alert already has 1000 comments".into(),
            ));
        }
        comments.push(json!({
            "comment": text,
            "user": caller.email,
            "created_at": rfc3339_ms(s.now_ms()),
        }));
        Ok(vec![(
            "comments",
            FieldValue::Json(Value::Array(comments).to_string()),
        )])
    }
}

impl Stella {
    /// Raises an alert for `events` events of one cause, or counts them into the alert the
    /// cause already raised; a new alert runs the tenant's playbooks. Answers the alert when it
    /// is new.
    pub(crate) async fn raise_alert(&self, alert: NewAlert, events: i64) -> Result<Option<Value>> {
        if !self.db.raise_alert(&alert, events, self.now_ms()).await? {
            return Ok(None);
        }
        let created = self
            .db
            .resource_get(&ALERTS, &TenantFilter::All, &[], &alert.id)
            .await?;
        if let Some(a) = &created {
            self.run_playbooks(&alert.tenant_id, a).await?;
        }
        Ok(created)
    }
}
