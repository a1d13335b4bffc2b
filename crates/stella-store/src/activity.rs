use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result};
use serde::Serialize;
use stella_core::TenantFilter;

/// One API call as the user activity log keeps it. The body is already redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityRecord {
    pub id: i64,
    pub ts: i64,
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub tenant_id: Option<String>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: i64,
    pub client_ip: Option<String>,
    pub body: Option<String>,
    pub duration_us: i64,
    pub trace_id: String,
}

#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub user_id: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Matches paths starting with this prefix.
    pub path_prefix: Option<String>,
    pub status: Option<i64>,
    /// Only records with an id below this (keyset paging for exports).
    pub before_id: Option<i64>,
}

const COLUMNS: &str = "id, ts, user_id, email, tenant_id, method, path, query, status, client_ip, body, duration_us, trace_id";
/// Rows per multi-row INSERT; 13 binds each stays under SQLite's and PostgreSQL's limits.
const INSERT_CHUNK: usize = 200;

fn from_row(r: &Row) -> Result<ActivityRecord> {
    Ok(ActivityRecord {
        id: r.int("id")?,
        ts: r.int("ts")?,
        user_id: r.opt_text("user_id")?,
        email: r.opt_text("email")?,
        tenant_id: r.opt_text("tenant_id")?,
        method: r.text("method")?,
        path: r.text("path")?,
        query: r.opt_text("query")?,
        status: r.int("status")?,
        client_ip: r.opt_text("client_ip")?,
        body: r.opt_text("body")?,
        duration_us: r.int("duration_us")?,
        trace_id: r.text("trace_id")?,
    })
}

impl Database {
    /// Writes a batch in one transaction (multi-row INSERTs), so the log's cost is per batch,
    /// not per request.
    pub async fn insert_activity(&self, records: &[ActivityRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for chunk in records.chunks(INSERT_CHUNK) {
            let mut q = Sql::new(
                "INSERT INTO activity_log (ts, user_id, email, tenant_id, method, path, query, status, client_ip, body, duration_us, trace_id) VALUES ",
            );
            for (i, r) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .bind(r.ts)
                    .push(", ")
                    .bind(r.user_id.clone())
                    .push(", ")
                    .bind(r.email.clone())
                    .push(", ")
                    .bind(r.tenant_id.clone())
                    .push(", ")
                    .bind(r.method.as_str())
                    .push(", ")
                    .bind(r.path.as_str())
                    .push(", ")
                    .bind(r.query.clone())
                    .push(", ")
                    .bind(r.status)
                    .push(", ")
                    .bind(r.client_ip.clone())
                    .push(", ")
                    .bind(r.body.clone())
                    .push(", ")
                    .bind(r.duration_us)
                    .push(", ")
                    .bind(r.trace_id.as_str())
                    .push(")");
            }
            q.query().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    fn activity_where(filter: &TenantFilter, caller_id: &str, f: &ActivityFilter) -> Sql {
        let mut w = Sql::new(" WHERE 1 = 1");
        if let TenantFilter::Only(_) = filter {
            // Below root scope: calls made within one's tenants, and one's own calls.
            w.push(" AND (user_id = ")
                .bind(caller_id)
                .push(" OR (1 = 1");
            w.tenant_filter("tenant_id", filter);
            w.push("))");
        }
        if let Some(u) = &f.user_id {
            w.push(" AND user_id = ").bind(u.as_str());
        }
        if let Some(t) = f.from_ms {
            w.push(" AND ts >= ").bind(t);
        }
        if let Some(t) = f.to_ms {
            w.push(" AND ts < ").bind(t);
        }
        if let Some(p) = &f.path_prefix {
            // substr instead of LIKE: no wildcard escaping, same semantics on both backends.
            // The CAST: PostgreSQL has substr(text, int, int) but no bigint overload.
            w.push(" AND substr(path, 1, CAST(")
                .bind(p.chars().count() as i64)
                .push(" AS INTEGER)) = ")
                .bind(p.as_str());
        }
        if let Some(s) = f.status {
            w.push(" AND status = ").bind(s);
        }
        if let Some(b) = f.before_id {
            w.push(" AND id < ").bind(b);
        }
        w
    }

    /// Newest first.
    pub async fn list_activity(
        &self,
        filter: &TenantFilter,
        caller_id: &str,
        f: &ActivityFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ActivityRecord>, i64)> {
        let w = Self::activity_where(filter, caller_id, f);
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM activity_log");
        count.push(&w.text);
        count.binds = w.binds.clone();
        let total = self.fetch_one(&count).await?.int("n")?;
        let mut page = Sql::new(&format!("SELECT {COLUMNS} FROM activity_log"));
        page.push(&w.text);
        page.binds = w.binds;
        page.push(" ORDER BY id DESC LIMIT ")
            .bind(limit)
            .push(" OFFSET ")
            .bind(offset);
        let rows = self.fetch_all(&page).await?;
        Ok((
            rows.iter().map(from_row).collect::<Result<Vec<_>>>()?,
            total,
        ))
    }
}
