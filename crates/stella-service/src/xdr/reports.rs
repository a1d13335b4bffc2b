//! Reports are generated in the background: created `pending`, then `completed` with a `url`
//! to download the tenant's alerts and cases over the requested window (JSON or CSV), or
//! `failed` with the reason. The contract accepts any `parameters` object, so a window that
//! cannot be read fails the report (naming the parameter) rather than the request.

use crate::resources::Hooks;
use crate::{Result, ServiceError, Stella};
use serde_json::{json, Value};
use stella_core::catalog::{ALERTS, CASES, REPORTS};
use stella_core::clock::rfc3339_ms;
use stella_core::{Principal, TenantFilter};

const DAY_MS: i64 = 86_400_000;
const MAX_WINDOW_MS: i64 = 366 * DAY_MS;
/// Rows per kind a report holds; a larger window is cut to the newest (and says so).
const MAX_ROWS: i64 = 10_000;
/// Longest a report's generation may take; past it the report fails, naming the limit.
const GENERATION_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);
/// Members of an alert a report leaves out: the raising event and the comment history, which
/// are unbounded in aggregate (the alert itself still has them).
const OMITTED_ALERT_MEMBERS: &[&str] = &["event", "comments"];

/// The window a report covers: `parameters.from`/`to` (RFC 3339), by default the last day.
fn window(
    parameters: Option<&Value>,
    now_ms: i64,
) -> std::result::Result<(i64, i64), ServiceError> {
    let time = |name: &str| -> std::result::Result<Option<i64>, ServiceError> {
        match parameters.and_then(|p| p.get(name)) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| Some(t.timestamp_millis()))
                .ok_or_else(|| {
                    ServiceError::invalid(
                        &format!("parameters.{name}"),
                        "must be an RFC 3339 date-time",
                    )
                }),
        }
    };
    let to = time("to")?.unwrap_or(now_ms);
    let from = time("from")?.unwrap_or(to - DAY_MS);
    if from >= to || to - from > MAX_WINDOW_MS {
        return Err(ServiceError::invalid(
            "parameters.from",
            "must be before parameters.to, at most 366 days earlier",
        ));
    }
    Ok((from, to))
}

pub(crate) struct ReportHooks;

#[async_trait::async_trait]
impl Hooks for ReportHooks {
    /// Queued, not generated here: whichever server is free claims it (`crate::jobs`). The
    /// window's default end is fixed now, not when a server gets to it.
    async fn after_create(&self, s: &Stella, created: &Value) -> Result<()> {
        let tenant = created["tenant_id"].as_str();
        let payload = json!({"report": created, "requested_at": s.now_ms()});
        s.enqueue_job(crate::jobs::REPORT, tenant, &payload).await
    }
}

impl Stella {
    /// The report job: generates the report and records its outcome. `Ok(Some(reason))`: the
    /// report failed (recorded on the report; the job itself ends as failed too).
    pub(crate) async fn report_job(
        &self,
        job: &stella_store::ClaimedJob,
        payload: &Value,
    ) -> Result<Option<String>> {
        let report = &payload["report"];
        let id = report["id"].as_str().unwrap_or_default().to_owned();
        let requested_at = payload["requested_at"]
            .as_i64()
            .unwrap_or_else(|| self.now_ms());
        let generated = tokio::time::timeout(
            GENERATION_BUDGET,
            self.generate_report(report, requested_at),
        )
        .await;
        let outcome = match generated {
            Ok(outcome) => outcome,
            Err(_) => Err(ServiceError::invalid(
                "parameters",
                format!(
                    "the report took longer than its {} s budget; narrow its window",
                    GENERATION_BUDGET.as_secs()
                ),
            )),
        };
        if let Err(e) = &outcome {
            tracing::warn!(report = %id, error = %e, "report generation failed");
        }
        let outcome = outcome
            .map(|contents| (format!("/connect/api/v1/reports/{id}/download"), contents))
            .map_err(|e| match e {
                ServiceError::Invalid(fields) => fields
                    .iter()
                    .map(|f| format!("{}: {}", f.path, f.msg))
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.to_string(),
            });
        if !self.holds(job).await? {
            return Ok(None);
        }
        let failed = outcome.as_ref().err().cloned();
        self.db.finish_report(&id, outcome, self.now_ms()).await?;
        Ok(failed)
    }

    /// A report whose job was given up: failed, with the reason.
    pub(crate) async fn report_failed(&self, payload: &Value, why: &str) -> Result<()> {
        let id = payload["report"]["id"].as_str().unwrap_or_default();
        Ok(self
            .db
            .finish_report(id, Err(why.to_owned()), self.now_ms())
            .await?)
    }
}

const CSV_COLUMNS: &[&str] = &["kind", "id", "name", "status", "severity", "created_at"];

fn csv_field(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

impl Stella {
    async fn generate_report(
        &self,
        report: &Value,
        requested_at: i64,
    ) -> Result<Vec<(&'static str, String)>> {
        let tenant = report["tenant_id"].as_str().unwrap_or_default();
        let (from, to) = window(report.get("parameters"), requested_at)?;
        let range = Some((from, to));
        let alerts = self
            .db
            .resource_all(&ALERTS, tenant, &[], range, MAX_ROWS, OMITTED_ALERT_MEMBERS)
            .await?;
        let cases = self
            .db
            .resource_all(&CASES, tenant, &[], range, MAX_ROWS, &[])
            .await?;
        let mut csv = CSV_COLUMNS.join(",");
        csv.push('\n');
        let rows = alerts
            .iter()
            .map(|a| ("alert", a, &a["severity"]))
            .chain(cases.iter().map(|c| ("case", c, &c["priority"])));
        for (kind, row, severity) in rows {
            let fields = [
                Value::from(kind),
                row["id"].clone(),
                row["name"].clone(),
                row["status"].clone(),
                severity.clone(),
                row["created_at"].clone(),
            ];
            csv.push_str(&fields.iter().map(csv_field).collect::<Vec<_>>().join(","));
            csv.push('\n');
        }
        let body = json!({
            "report": {
                "id": report["id"], "name": report["name"], "type": report["type"],
                "tenant_id": tenant, "from": rfc3339_ms(from), "to": rfc3339_ms(to),
                "generated_at": rfc3339_ms(self.now_ms()),
                "truncated": alerts.len() as i64 >= MAX_ROWS || cases.len() as i64 >= MAX_ROWS,
                "max_rows_per_kind": MAX_ROWS,
            },
            "alerts": alerts,
            "cases": cases,
        });
        Ok(vec![("json", body.to_string()), ("csv", csv)])
    }

    /// A completed report's content: `(content type, body)`.
    pub async fn report_download(
        &self,
        caller: &Principal,
        id: &str,
        format: Option<&str>,
    ) -> Result<(&'static str, String)> {
        let report = self.resource_get(caller, &REPORTS, None, id).await?;
        let format = format.unwrap_or("json");
        let content_type = match format {
            "json" => "application/json",
            "csv" => "text/csv; charset=utf-8",
            _ => return Err(ServiceError::invalid("format", "must be json or csv")),
        };
        if report["status"] != "completed" {
            return Err(ServiceError::Conflict(format!(
                "the report is {}; its content is ready once it is completed",
                report["status"].as_str().unwrap_or("pending")
            )));
        }
        let filter: TenantFilter = caller.tenant_filter();
        let body = self
            .db
            .report_content(&filter, id, format)
            .await?
            .ok_or_else(|| ServiceError::NotFound("the report has no content".into()))?;
        Ok((content_type, body))
    }
}
