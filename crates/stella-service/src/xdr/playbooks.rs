//! Playbooks: a trigger that matches new alerts and actions run for each match.
//!
//! A trigger is `alert.created`, optionally followed by `key=value` conditions on the new
//! alert (`alert.created severity=critical alert_type=watchlist_match`), or the name of an
//! alert type (`watchlist_match`). Actions are `webhook` (`url`, optional `headers`),
//! `add_tags` (`tags`) and `set_status` (`status`). The contract accepts any trigger text and
//! any action objects, so definitions are stored as given; an action that cannot run fails in
//! the run history with the reason, never silently.
//!
//! Bounds: a tenant starts at most `playbook_runs_per_minute` runs a minute (a run past it is
//! recorded as `throttled`, not run); a run stops at `RUN_DEADLINE`; webhooks go through the
//! guarded outbound client (`crate::outbound`: no internal destinations, no redirects, calls in
//! flight bounded, failures without network detail).

use crate::{Result, Stella};
use serde_json::{json, Value};
use stella_core::catalog::{ALERTS, PLAYBOOKS, PLAYBOOK_RUNS};
use stella_core::ids::new_id;
use stella_core::resource::FieldValue;
use stella_core::TenantFilter;

/// The conditions a new alert must all meet for a trigger to fire.
#[derive(Debug, PartialEq)]
pub struct Trigger(Vec<(String, String)>);

impl Trigger {
    pub fn parse(text: &str) -> Trigger {
        let mut words = text.split_whitespace();
        match words.next() {
            Some("alert.created") => Trigger(
                words
                    .map(|w| match w.split_once('=') {
                        Some((k, v)) => (k.to_owned(), v.to_owned()),
                        // A bare word never matches: the trigger is malformed, not "any".
                        None => (w.to_owned(), "\0".to_owned()),
                    })
                    .collect(),
            ),
            Some(alert_type) if words.next().is_none() => {
                Trigger(vec![("alert_type".into(), alert_type.to_owned())])
            }
            _ => Trigger(vec![("\0".into(), "\0".into())]),
        }
    }

    pub fn matches(&self, alert: &Value) -> bool {
        self.0
            .iter()
            .all(|(k, v)| alert.get(k).and_then(Value::as_str) == Some(v.as_str()))
    }
}

/// Longest one run may take, all of its actions together.
const RUN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

fn tenant_key(tenant: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    ("playbook-runs", tenant).hash(&mut h);
    h.finish()
}

impl Stella {
    /// Starts a run of every enabled playbook of the tenant whose trigger matches `alert`.
    pub(crate) async fn run_playbooks(&self, tenant_id: &str, alert: &Value) -> Result<()> {
        let enabled = [("enabled", FieldValue::Bool(true))];
        for playbook in self
            .db
            .resource_all(&PLAYBOOKS, tenant_id, &enabled, None, 1000, &[])
            .await?
        {
            let trigger = playbook
                .get("trigger")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !Trigger::parse(trigger).matches(alert) {
                continue;
            }
            let run_id = new_id();
            let playbook_id = playbook["id"].as_str().unwrap_or_default().to_owned();
            let alert_id = alert["id"].as_str().unwrap_or_default().to_owned();
            let throttled = self.playbook_run_throttled(tenant_id).await;
            let mut columns = vec![
                ("playbook_id", FieldValue::Text(playbook_id)),
                ("alert_id", FieldValue::Text(alert_id)),
                (
                    "status",
                    FieldValue::Text(if throttled { "throttled" } else { "running" }.into()),
                ),
            ];
            if throttled {
                columns.push((
                    "error",
                    FieldValue::Text(format!(
                        "not run: the tenant started more than {} playbook runs in a minute",
                        self.settings.playbook_runs_per_minute
                    )),
                ));
            }
            self.db
                .resource_insert(
                    &PLAYBOOK_RUNS,
                    &run_id,
                    Some(tenant_id),
                    &columns,
                    self.now_ms(),
                )
                .await?;
            if throttled {
                continue;
            }
            // Run by whichever server claims it (`crate::jobs`), with the playbook and the
            // alert as they were when the alert was raised.
            let payload = json!({"run_id": run_id, "playbook": playbook, "alert": alert});
            self.enqueue_job(crate::jobs::PLAYBOOK_RUN, Some(tenant_id), &payload)
                .await?;
        }
        Ok(())
    }

    /// Whether the tenant has used its playbook runs for the minute: counted in Redis for the
    /// whole deployment when it is configured (and answering), else by this server.
    async fn playbook_run_throttled(&self, tenant_id: &str) -> bool {
        let key = tenant_key(tenant_id);
        let now = self.now_ms();
        let per_minute = i64::from(self.settings.playbook_runs_per_minute);
        if let Some(shared) = self.shared_limits() {
            if let Some(decision) = shared.budget("pb", key, per_minute, 60_000, now).await {
                return decision.is_err();
            }
        }
        self.playbook_runs.check(key, now).is_err()
    }

    /// The playbook-run job: runs the actions and records the outcome on the run.
    /// `Ok(Some(reason))`: an action failed (the run records which).
    pub(crate) async fn playbook_job(
        &self,
        job: &stella_store::ClaimedJob,
        payload: &Value,
    ) -> Result<Option<String>> {
        let run_id = payload["run_id"].as_str().unwrap_or_default();
        self.execute_run(job, run_id, &payload["playbook"], &payload["alert"])
            .await
    }

    /// A run whose job was given up: failed, with the reason.
    pub(crate) async fn playbook_run_failed(&self, payload: &Value, why: &str) -> Result<()> {
        let run_id = payload["run_id"].as_str().unwrap_or_default();
        let values = [
            ("status", FieldValue::Text("failed".into())),
            ("error", FieldValue::Text(why.to_owned())),
        ];
        self.record_run(run_id, &values).await
    }

    /// Writes a run's outcome (the run row belongs to the playbook's tenant; jobs act for it).
    async fn record_run(&self, run_id: &str, values: &[(&'static str, FieldValue)]) -> Result<()> {
        self.db
            .resource_update(
                &PLAYBOOK_RUNS,
                &TenantFilter::All,
                &[],
                run_id,
                values,
                self.now_ms(),
            )
            .await?;
        Ok(())
    }

    async fn execute_run(
        &self,
        job: &stella_store::ClaimedJob,
        run_id: &str,
        playbook: &Value,
        alert: &Value,
    ) -> Result<Option<String>> {
        let actions = playbook["actions"].as_array().cloned().unwrap_or_default();
        let mut results = Vec::new();
        let mut failures = Vec::new();
        let deadline = tokio::time::Instant::now() + RUN_DEADLINE;
        for (i, action) in actions.iter().enumerate() {
            let outcome = match tokio::time::timeout_at(
                deadline,
                self.execute_action(action, playbook, alert),
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_) => Err(format!(
                    "not run: the run passed its {} s deadline",
                    RUN_DEADLINE.as_secs()
                )),
            };
            let kind = action["type"].as_str().unwrap_or("?");
            match outcome {
                Ok(detail) => results.push(
                    json!({"action": i, "type": kind, "status": "succeeded", "detail": detail}),
                ),
                Err(e) => {
                    failures.push(format!("actions[{i}] ({kind}): {e}"));
                    results
                        .push(json!({"action": i, "type": kind, "status": "failed", "detail": e}));
                }
            }
        }
        let status = if failures.is_empty() {
            "succeeded"
        } else {
            "failed"
        };
        let mut values = vec![
            ("status", FieldValue::Text(status.into())),
            (
                "results",
                FieldValue::Json(Value::Array(results).to_string()),
            ),
        ];
        let failed = (!failures.is_empty()).then(|| failures.join("; "));
        if let Some(f) = &failed {
            tracing::warn!(run = %run_id, failures = %f, "playbook actions failed");
            values.push(("error", FieldValue::Text(f.clone())));
        }
        if !self.holds(job).await? {
            return Ok(None);
        }
        self.record_run(run_id, &values).await?;
        Ok(failed)
    }

    async fn execute_action(
        &self,
        action: &Value,
        playbook: &Value,
        alert: &Value,
    ) -> std::result::Result<String, String> {
        let alert_id = alert["id"].as_str().unwrap_or_default();
        match action["type"].as_str() {
            Some("webhook") => {
                let Some(url) = action["url"].as_str() else {
                    return Err("a webhook needs an http:// or https:// url".into());
                };
                let headers: Vec<(String, String)> = action["headers"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect();
                let body = json!({"playbook": {"id": playbook["id"], "name": playbook["name"]}, "alert": alert});
                match self.outbound.post_json(url, &headers, &body).await {
                    Ok(status) if (200..300).contains(&status) => {
                        Ok(format!("delivered: the destination answered {status}"))
                    }
                    Ok(status) => Err(format!("the destination answered {status}")),
                    Err(e) => Err(e.to_string()),
                }
            }
            Some("add_tags") => {
                let mut tags: Vec<Value> = alert["tags"].as_array().cloned().unwrap_or_default();
                for t in action["tags"].as_array().into_iter().flatten() {
                    if !tags.contains(t) {
                        tags.push(t.clone());
                    }
                }
                self.update_alert_columns(
                    alert_id,
                    vec![("tags", FieldValue::Json(Value::Array(tags).to_string()))],
                )
                .await
            }
            Some("set_status") => {
                let status = action["status"].as_str().unwrap_or_default().to_owned();
                self.update_alert_columns(alert_id, vec![("status", FieldValue::Text(status))])
                    .await
            }
            Some(other) => Err(format!(
                "unknown action type '{other}'; known: webhook, add_tags, set_status"
            )),
            None => Err("the action names no type; known: webhook, add_tags, set_status".into()),
        }
    }

    async fn update_alert_columns(
        &self,
        alert_id: &str,
        values: Vec<(&'static str, FieldValue)>,
    ) -> std::result::Result<String, String> {
        self.db
            .resource_update(
                &ALERTS,
                &TenantFilter::All,
                &[],
                alert_id,
                &values,
                self.now_ms(),
            )
            .await
            .map_err(|e| e.to_string())?
            .map(|_| "alert updated".to_owned())
            .ok_or_else(|| "the alert no longer exists".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_parse_and_match() {
        let t = Trigger::parse("alert.created severity=critical");
        assert!(t.matches(&json!({"severity": "critical"})));
        assert!(!t.matches(&json!({"severity": "low"})));
        assert!(Trigger::parse("alert.created").matches(&json!({})));
        assert!(
            Trigger::parse("watchlist_match").matches(&json!({"alert_type": "watchlist_match"}))
        );
        assert!(!Trigger::parse("watchlist_match").matches(&json!({"alert_type": "other"})));
        for never in ["", "two words", "alert.created severity"] {
            assert!(
                !Trigger::parse(never).matches(&json!({"severity": "x", "alert_type": "two"})),
                "{never}"
            );
        }
    }
}
