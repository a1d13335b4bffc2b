use crate::activity_zones::{covering_ranges, zones_of, TENANT, USER};
use crate::read::{Reader, Row};
use crate::sql::Sql;
use crate::StoreError;
use crate::{Database, Result};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
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

const INSERT_COLUMNS: &str = "ts, user_id, email, tenant_id, method, path, query, status, client_ip, body, duration_us, trace_id";

const SQLITE_SCHEMA: &str = include_str!("activity_sqlite.sql");

/// On SQLite the activity log has its own file beside the main one, so its constant appends,
/// commits and checkpoints neither hold the main database's single write lock nor churn the
/// WAL that API reads go through.
pub(crate) fn sqlite_activity_path(main: &Path) -> PathBuf {
    let stem = main
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("stella");
    main.with_file_name(format!("{stem}-activity.db"))
}

/// Creates the activity file and its schema if missing (idempotent).
pub(crate) fn create_sqlite_activity_file(path: &Path) -> Result<()> {
    let err = |e: rusqlite::Error| {
        StoreError::Database(sqlx::Error::Protocol(format!(
            "activity log file {}: {e}",
            path.display()
        )))
    };
    let conn = rusqlite::Connection::open(path).map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    conn.execute_batch(SQLITE_SCHEMA).map_err(err)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(err)?;
    if version < ZONES_VERSION {
        // A file from before zones: its two indexes go, and one zone per key spans its rows.
        conn.execute_batch(&format!(
            "BEGIN;
             DROP INDEX IF EXISTS activity_log_user;
             DROP INDEX IF EXISTS activity_log_tenant;
             DELETE FROM activity_zones;
             INSERT INTO activity_zones (kind, key, first_id, last_id)
               SELECT {USER}, user_id, MIN(id), MAX(id) FROM activity_log WHERE user_id IS NOT NULL GROUP BY user_id;
             INSERT INTO activity_zones (kind, key, first_id, last_id)
               SELECT {TENANT}, tenant_id, MIN(id), MAX(id) FROM activity_log WHERE tenant_id IS NOT NULL GROUP BY tenant_id;
             PRAGMA user_version = {ZONES_VERSION};
             COMMIT;"
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// `user_version` of an activity file whose listings use zones.
const ZONES_VERSION: i64 = 2;

thread_local! {
    /// The blocking threads' write connections, one per database file.
    static SQLITE_WRITERS: RefCell<HashMap<PathBuf, rusqlite::Connection>> = RefCell::new(HashMap::new());
}

const SQLITE_ROWS_PER_INSERT: usize = 50;

/// Values bound per row on SQLite: the id (given, so the batch's zones are known) and the rest.
const SQLITE_BINDS: usize = 13;

/// `INSERT … VALUES ($1, …, $13), ($14, …), …` for `rows` rows.
fn sqlite_insert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let cols: Vec<String> = (1..=SQLITE_BINDS)
                .map(|c| format!("${}", r * SQLITE_BINDS + c))
                .collect();
            format!("({})", cols.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO activity_log (id, {INSERT_COLUMNS}) VALUES {}",
        values.join(", ")
    )
}

/// Built once: formatting six hundred placeholders per batch showed in profiles (callgrind:
/// about a tenth of the server's instructions when batches are small).
static INSERT_MANY: LazyLock<String> = LazyLock::new(|| sqlite_insert_sql(SQLITE_ROWS_PER_INSERT));
static INSERT_ONE: LazyLock<String> = LazyLock::new(|| sqlite_insert_sql(1));

/// Binds one record's values, with id `id`, starting after parameter `offset` (1-based).
fn bind_row(
    stmt: &mut rusqlite::CachedStatement<'_>,
    offset: usize,
    id: i64,
    r: &ActivityRecord,
) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(offset, id)?;
    stmt.raw_bind_parameter(offset + 1, r.ts)?;
    stmt.raw_bind_parameter(offset + 2, &r.user_id)?;
    stmt.raw_bind_parameter(offset + 3, &r.email)?;
    stmt.raw_bind_parameter(offset + 4, &r.tenant_id)?;
    stmt.raw_bind_parameter(offset + 5, &r.method)?;
    stmt.raw_bind_parameter(offset + 6, &r.path)?;
    stmt.raw_bind_parameter(offset + 7, &r.query)?;
    stmt.raw_bind_parameter(offset + 8, r.status)?;
    stmt.raw_bind_parameter(offset + 9, &r.client_ip)?;
    stmt.raw_bind_parameter(offset + 10, &r.body)?;
    stmt.raw_bind_parameter(offset + 11, r.duration_us)?;
    stmt.raw_bind_parameter(offset + 12, &r.trace_id)
}

fn sqlite_insert(path: &Path, records: &[ActivityRecord]) -> Result<()> {
    let err = |e: rusqlite::Error| {
        StoreError::Database(sqlx::Error::Protocol(format!("activity insert: {e}")))
    };
    SQLITE_WRITERS.with(|cell| {
        let mut writers = cell.borrow_mut();
        if !writers.contains_key(path) {
            let conn = rusqlite::Connection::open(path).map_err(err)?;
            conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(err)?;
            // No fsync per commit: requests never wait on the log's durability (records are
            // queued asynchronously, so a power cut loses the queue whatever this says), and
            // WAL with synchronous=NORMAL stays consistent after a crash. A larger checkpoint
            // threshold copies the hot right-edge pages back to the file less often.
            conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 10000; PRAGMA cache_size = -16384;")
                .map_err(err)?;
            writers.insert(path.to_owned(), conn);
        }
        let conn = writers.get_mut(path).ok_or_else(|| StoreError::Database(sqlx::Error::PoolClosed))?;
        let tx = conn.transaction().map_err(err)?;
        // The only writer of this file, inside its transaction: ids follow on from the last.
        let first_id: i64 = tx
            .prepare_cached("SELECT COALESCE(MAX(id), 0) + 1 FROM activity_log")
            .and_then(|mut q| q.query_row([], |r| r.get(0)))
            .map_err(err)?;
        {
            // Whole chunks through one statement of ROWS rows (one VDBE program run per chunk
            // instead of per row); the remainder row by row.
            let mut ids = first_id..;
            let mut chunks = records.chunks_exact(SQLITE_ROWS_PER_INSERT);
            let mut multi = tx.prepare_cached(&INSERT_MANY).map_err(err)?;
            for chunk in chunks.by_ref() {
                for ((i, r), id) in chunk.iter().enumerate().zip(ids.by_ref()) {
                    bind_row(&mut multi, i * SQLITE_BINDS + 1, id, r).map_err(err)?;
                }
                multi.raw_execute().map_err(err)?;
            }
            let mut single = tx.prepare_cached(&INSERT_ONE).map_err(err)?;
            for (r, id) in chunks.remainder().iter().zip(ids.by_ref()) {
                bind_row(&mut single, 1, id, r).map_err(err)?;
                single.raw_execute().map_err(err)?;
            }
            let mut zone = tx
                .prepare_cached("INSERT INTO activity_zones (kind, key, first_id, last_id) VALUES (?1, ?2, ?3, ?4)")
                .map_err(err)?;
            for (kind, key, first, last) in zones_of(records, first_id) {
                zone.execute(rusqlite::params![kind, key, first, last]).map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    })
}

pub(crate) fn record_of(r: &Row) -> Result<ActivityRecord> {
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
    /// Writes a batch in one transaction, so the log's cost is per batch, not per request.
    /// On SQLite a prepared rusqlite statement runs on a blocking thread (no per-value
    /// conversions through the Any driver); on PostgreSQL, multi-row INSERTs through sqlx.
    pub async fn insert_activity(&self, records: Arc<Vec<ActivityRecord>>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        if let Reader::Sqlite(path) = &self.activity_reader {
            let path = path.clone();
            return tokio::task::spawn_blocking(move || sqlite_insert(&path, &records))
                .await
                .map_err(|e| {
                    StoreError::Database(sqlx::Error::Protocol(format!("activity writer: {e}")))
                })?;
        }
        let mut tx = self.pool.begin().await?;
        for chunk in records.chunks(INSERT_CHUNK) {
            let mut q = Sql::new(&format!(
                "INSERT INTO activity_log ({INSERT_COLUMNS}) VALUES "
            ));
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

    /// On SQLite, the id ranges that can hold the rows a listing may see (`None`: no key
    /// narrows it, every row may match).
    async fn activity_ranges(
        &self,
        filter: &TenantFilter,
        caller_id: &str,
        f: &ActivityFilter,
    ) -> Result<Option<Vec<(i64, i64)>>> {
        if !matches!(self.activity_reader, Reader::Sqlite(_)) {
            return Ok(None);
        }
        let mut q = Sql::new("SELECT first_id, last_id FROM activity_zones WHERE ");
        match (&f.user_id, filter) {
            // A user filter alone narrows enough: the exact predicate does the rest.
            (Some(user), _) => {
                q.push("kind = ")
                    .bind(USER)
                    .push(" AND key = ")
                    .bind(user.as_str());
            }
            (None, TenantFilter::Only(_)) => {
                q.push("(kind = ")
                    .bind(USER)
                    .push(" AND key = ")
                    .bind(caller_id)
                    .push(") OR (kind = ")
                    .bind(TENANT);
                q.tenant_filter("key", filter);
                q.push(")");
            }
            (None, TenantFilter::All) => return Ok(None),
        }
        let rows = self.fetch_in(&self.activity_reader, &q, None).await?;
        let zones = rows
            .iter()
            .map(|r| Ok((r.int("first_id")?, r.int("last_id")?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(covering_ranges(zones)))
    }

    fn activity_where(
        filter: &TenantFilter,
        caller_id: &str,
        f: &ActivityFilter,
        ranges: Option<&[(i64, i64)]>,
    ) -> Sql {
        let mut w = Sql::new(" WHERE 1 = 1");
        match ranges {
            None => {}
            Some([]) => {
                w.push(" AND 1 = 0");
            }
            Some(ranges) => {
                for (i, (first, last)) in ranges.iter().enumerate() {
                    w.push(if i == 0 { " AND (" } else { " OR " });
                    w.push("id BETWEEN ").bind(*first).push(" AND ").bind(*last);
                }
                w.push(")");
            }
        }
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
        let ranges = self.activity_ranges(filter, caller_id, f).await?;
        let w = Self::activity_where(filter, caller_id, f, ranges.as_deref());
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM activity_log");
        count.push(&w.text);
        count.binds = w.binds.clone();
        let total = self
            .fetch_in(&self.activity_reader, &count, Some(1))
            .await?
            .first()
            .map(|r| r.int("n"))
            .transpose()?
            .unwrap_or(0);
        let mut page = Sql::new(&format!("SELECT {COLUMNS} FROM activity_log"));
        page.push(&w.text);
        page.binds = w.binds;
        page.push(" ORDER BY id DESC LIMIT ")
            .bind(limit)
            .push(" OFFSET ")
            .bind(offset);
        let rows = self.fetch_in(&self.activity_reader, &page, None).await?;
        Ok((
            rows.iter().map(record_of).collect::<Result<Vec<_>>>()?,
            total,
        ))
    }
}
