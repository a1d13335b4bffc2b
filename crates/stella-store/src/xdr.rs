//! Storage for the XDR operations that are more than one row's CRUD: closing a case with its
//! alerts, linking alerts, raising de-duplicated alerts, report content, ingestion counters.

use crate::sql::Sql;
use crate::{Database, Result};
use stella_core::TenantFilter;

/// A new alert; `dedup_key` names its cause so the same cause never raises two.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub severity: String,
    pub source: String,
    pub alert_type: String,
    pub event: String,
    pub dedup_key: String,
}

/// How a report's generation ended: its download URL and content per format, or the reason it
/// failed.
pub type ReportOutcome = std::result::Result<(String, Vec<(&'static str, String)>), String>;

impl Database {
    /// Closes a case (and, with `update_alerts`, every alert linked to it) in one transaction.
    /// `false`: no such case within `filter`.
    pub async fn close_case(
        &self,
        filter: &TenantFilter,
        id: &str,
        update_alerts: bool,
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.unit().await?;
        let mut q = Sql::new("UPDATE cases SET status = 'closed', updated_at = ");
        q.bind(now_ms).push(" WHERE id = ").bind(id);
        q.tenant_filter("tenant_id", filter);
        if q.query().execute(tx.conn()?).await?.rows_affected() == 0 {
            return Ok(false);
        }
        if update_alerts {
            Sql::with(
                "UPDATE alerts SET status = 'closed', updated_at = $1 WHERE case_id = $2",
                [now_ms.into(), id.into()],
            )
            .query()
            .execute(tx.conn()?)
            .await?;
        }
        tx.commit().await?;
        self.rows_changed();
        Ok(true)
    }

    /// Links alerts of the case's tenant to the case and recounts its alerts, all or nothing:
    /// `false` (and no change) when any id is not an alert of that tenant. Ids must be distinct.
    pub async fn link_alerts(
        &self,
        tenant_id: &str,
        case_id: &str,
        alert_ids: &[String],
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let mut q = Sql::new("UPDATE alerts SET case_id = ");
        q.bind(case_id).push(", updated_at = ").bind(now_ms);
        q.push(" WHERE tenant_id = ").bind(tenant_id);
        q.push(" AND id IN (");
        for (i, id) in alert_ids.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind(id.as_str());
        }
        q.push(")");
        let linked = q.query().execute(&mut *tx).await?.rows_affected();
        if linked != alert_ids.len() as u64 {
            return Ok(false);
        }
        Sql::with(
            "UPDATE cases SET alert_count = (SELECT COUNT(*) FROM alerts WHERE case_id = $1), updated_at = $2 WHERE id = $1",
            [case_id.into(), now_ms.into()],
        )
        .query()
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.rows_changed();
        Ok(true)
    }

    /// Raises an alert for `events` events of one cause: inserts it, or, when the cause
    /// (its `dedup_key`) already raised one, adds them to that alert's count. `true`: inserted.
    pub async fn raise_alert(&self, a: &NewAlert, events: i64, now_ms: i64) -> Result<bool> {
        let q = Sql::with(
            "INSERT INTO alerts (id, tenant_id, name, severity, status, tags, source, alert_type, event, comments, dedup_key, event_count, last_event_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'new', '[]', $5, $6, $7, '[]', $8, $9, $10, $10, $10) \
             ON CONFLICT (tenant_id, dedup_key) DO NOTHING",
            [
                a.id.as_str().into(),
                a.tenant_id.as_str().into(),
                a.name.as_str().into(),
                a.severity.as_str().into(),
                a.source.as_str().into(),
                a.alert_type.as_str().into(),
                a.event.as_str().into(),
                a.dedup_key.as_str().into(),
                events.into(),
                now_ms.into(),
            ],
        );
        let inserted = q.query().execute(&self.pool).await?.rows_affected() > 0;
        if !inserted {
            self.add_alert_events(&a.tenant_id, &a.dedup_key, events, now_ms)
                .await?;
        }
        self.rows_changed();
        Ok(inserted)
    }

    /// Counts `events` more events into the alert `dedup_key` raised; `false` if there is none.
    pub async fn add_alert_events(
        &self,
        tenant_id: &str,
        dedup_key: &str,
        events: i64,
        now_ms: i64,
    ) -> Result<bool> {
        let done = Sql::with(
            "UPDATE alerts SET event_count = event_count + $1, last_event_at = $2, updated_at = $2 \
             WHERE tenant_id = $3 AND dedup_key = $4",
            [
                events.into(),
                now_ms.into(),
                tenant_id.into(),
                dedup_key.into(),
            ],
        )
        .query()
        .execute(&self.pool)
        .await?;
        self.rows_changed();
        Ok(done.rows_affected() > 0)
    }

    /// Records a finished report: its content per format and its status, together.
    pub async fn finish_report(&self, id: &str, outcome: ReportOutcome, now_ms: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        match outcome {
            Ok((url, contents)) => {
                for (format, body) in contents {
                    Sql::with(
                        "INSERT INTO report_content (report_id, format, body) VALUES ($1, $2, $3)",
                        [id.into(), format.into(), body.into()],
                    )
                    .query()
                    .execute(&mut *tx)
                    .await?;
                }
                Sql::with(
                    "UPDATE reports SET status = 'completed', url = $1, updated_at = $2 WHERE id = $3",
                    [url.into(), now_ms.into(), id.into()],
                )
                .query()
                .execute(&mut *tx)
                .await?;
            }
            Err(error) => {
                Sql::with(
                    "UPDATE reports SET status = 'failed', error = $1, updated_at = $2 WHERE id = $3",
                    [error.into(), now_ms.into(), id.into()],
                )
                .query()
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.rows_changed();
        Ok(())
    }

    /// A completed report's content in one format, within `filter`.
    pub async fn report_content(
        &self,
        filter: &TenantFilter,
        id: &str,
        format: &str,
    ) -> Result<Option<String>> {
        let mut q = Sql::new(
            "SELECT c.body AS body FROM report_content c JOIN reports r ON r.id = c.report_id WHERE c.report_id = ",
        );
        q.bind(id).push(" AND c.format = ").bind(format);
        q.tenant_filter("r.tenant_id", filter);
        self.fetch_optional(&q)
            .await?
            .map(|r| r.text("body"))
            .transpose()
    }

    /// Adds one ingest's counts to the tenant's day.
    pub async fn count_ingest(&self, tenant_id: &str, day: &str, counts: [i64; 3]) -> Result<()> {
        let [ingested, failed, dropped] = counts;
        Sql::with(
            "INSERT INTO ingestion_stats (tenant_id, day, ingested, failed, dropped) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, day) DO UPDATE SET ingested = ingestion_stats.ingested + excluded.ingested, \
             failed = ingestion_stats.failed + excluded.failed, dropped = ingestion_stats.dropped + excluded.dropped",
            [
                tenant_id.into(),
                day.into(),
                ingested.into(),
                failed.into(),
                dropped.into(),
            ],
        )
        .query()
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ingestion counters per tenant and day within `filter`, newest day first.
    pub async fn ingestion_stats(
        &self,
        filter: &TenantFilter,
        limit: i64,
    ) -> Result<Vec<serde_json::Value>> {
        let mut q = Sql::new(
            "SELECT tenant_id, day, ingested, failed, dropped FROM ingestion_stats WHERE 1 = 1",
        );
        q.tenant_filter("tenant_id", filter);
        q.push(" ORDER BY day DESC, tenant_id LIMIT ").bind(limit);
        self.fetch_all(&q)
            .await?
            .iter()
            .map(|r| {
                Ok(serde_json::json!({
                    "tenant_id": r.text("tenant_id")?,
                    "day": r.text("day")?,
                    "ingested": r.int("ingested")?,
                    "failed": r.int("failed")?,
                    "dropped": r.int("dropped")?,
                }))
            })
            .collect()
    }

    /// Adds to a security event filter's hit counter.
    pub async fn count_filter_hits(&self, id: &str, hits: i64) -> Result<()> {
        Sql::with(
            "UPDATE event_filters SET hits = hits + $1 WHERE id = $2",
            [hits.into(), id.into()],
        )
        .query()
        .execute(&self.pool)
        .await?;
        self.rows_changed();
        Ok(())
    }
}
