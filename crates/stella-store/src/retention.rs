//! Retention: per-tenant overrides and legal holds, the record of each run, and the bounded
//! deletes a run makes (activity records, reports, playbook runs). What to delete is decided
//! in `stella-service` (`retention.rs`); every delete here takes a bound.

use crate::activity::ActivityRecord;
use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result, StoreError};

/// The platform's own row (records of root and partner users belong to no tenant).
pub const PLATFORM: &str = "*";

/// A tenant's (or the platform's) overrides; `None` takes the platform's period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionOverride {
    pub tenant_id: String,
    pub events_days: Option<i64>,
    pub activity_days: Option<i64>,
    pub reports_days: Option<i64>,
    pub playbook_runs_days: Option<i64>,
    pub legal_hold: bool,
    pub legal_hold_reason: Option<String>,
    pub updated_at: i64,
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRun {
    pub id: String,
    pub job: String,
    pub node: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// JSON object: what was removed, per kind.
    pub removed: Option<String>,
    /// JSON array: the archive files written.
    pub archives: Option<String>,
    pub more: bool,
    pub error: Option<String>,
}

fn override_of(r: &Row) -> Result<RetentionOverride> {
    Ok(RetentionOverride {
        tenant_id: r.text("tenant_id")?,
        events_days: r.opt_int("events_days")?,
        activity_days: r.opt_int("activity_days")?,
        reports_days: r.opt_int("reports_days")?,
        playbook_runs_days: r.opt_int("playbook_runs_days")?,
        legal_hold: r.int("legal_hold")? != 0,
        legal_hold_reason: r.opt_text("legal_hold_reason")?,
        updated_at: r.int("updated_at")?,
        updated_by: r.opt_text("updated_by")?,
    })
}

fn run_of(r: &Row) -> Result<RetentionRun> {
    Ok(RetentionRun {
        id: r.text("id")?,
        job: r.text("job")?,
        node: r.text("node")?,
        started_at: r.int("started_at")?,
        finished_at: r.opt_int("finished_at")?,
        removed: r.opt_text("removed")?,
        archives: r.opt_text("archives")?,
        more: r.int("more")? != 0,
        error: r.opt_text("error")?,
    })
}

const ACTIVITY_COLUMNS: &str = "id, ts, user_id, email, tenant_id, method, path, query, status, client_ip, body, duration_us, trace_id";

impl Database {
    /// Every override row (a few per tenant at most).
    pub async fn retention_overrides(&self) -> Result<Vec<RetentionOverride>> {
        let q = Sql::new(
            "SELECT tenant_id, events_days, activity_days, reports_days, playbook_runs_days, \
             legal_hold, legal_hold_reason, updated_at, updated_by FROM retention_policies \
             ORDER BY tenant_id",
        );
        self.fetch_all(&q).await?.iter().map(override_of).collect()
    }

    /// Writes one tenant's overrides (all of them: `None` clears a period).
    pub async fn put_retention_override(&self, o: &RetentionOverride) -> Result<()> {
        sqlx::query(
            "INSERT INTO retention_policies (tenant_id, events_days, activity_days, reports_days, \
             playbook_runs_days, legal_hold, legal_hold_reason, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (tenant_id) DO UPDATE SET events_days = excluded.events_days, \
             activity_days = excluded.activity_days, reports_days = excluded.reports_days, \
             playbook_runs_days = excluded.playbook_runs_days, legal_hold = excluded.legal_hold, \
             legal_hold_reason = excluded.legal_hold_reason, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
        )
        .bind(&o.tenant_id)
        .bind(o.events_days)
        .bind(o.activity_days)
        .bind(o.reports_days)
        .bind(o.playbook_runs_days)
        .bind(i64::from(o.legal_hold))
        .bind(&o.legal_hold_reason)
        .bind(o.updated_at)
        .bind(&o.updated_by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ids of every tenant (retention decides per tenant).
    pub async fn all_tenant_ids(&self) -> Result<Vec<String>> {
        let q = Sql::new("SELECT id FROM tenants ORDER BY id");
        self.fetch_all(&q)
            .await?
            .iter()
            .map(|r| r.text("id"))
            .collect()
    }

    pub async fn start_retention_run(
        &self,
        id: &str,
        job: &str,
        node: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO retention_runs (id, job, node, started_at, more) \
             VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(id)
        .bind(job)
        .bind(node)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn finish_retention_run(&self, run: &RetentionRun) -> Result<()> {
        sqlx::query(
            "UPDATE retention_runs SET finished_at = $1, removed = $2, archives = $3, more = $4, \
             error = $5 WHERE id = $6",
        )
        .bind(run.finished_at)
        .bind(&run.removed)
        .bind(&run.archives)
        .bind(i64::from(run.more))
        .bind(&run.error)
        .bind(&run.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest runs, newest first; runs older than `keep_since` are deleted first.
    pub async fn retention_runs(&self, limit: i64, keep_since: i64) -> Result<Vec<RetentionRun>> {
        sqlx::query("DELETE FROM retention_runs WHERE started_at < $1")
            .bind(keep_since)
            .execute(&self.pool)
            .await?;
        let mut q = Sql::new(
            "SELECT id, job, node, started_at, finished_at, removed, archives, more, error \
             FROM retention_runs ORDER BY started_at DESC, id DESC LIMIT ",
        );
        q.bind(limit);
        self.fetch_all(&q).await?.iter().map(run_of).collect()
    }

    /// Takes (or renews) the deployment's one retention lease for `holder` until `until`;
    /// `false` while another holder's lease is current.
    pub async fn take_retention_lease(&self, holder: &str, now: i64, until: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE retention_lease SET holder = $1, until = $2 \
             WHERE id = 1 AND (holder IS NULL OR holder = $1 OR until < $3)",
        )
        .bind(holder)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn release_retention_lease(&self, holder: &str) -> Result<()> {
        sqlx::query(
            "UPDATE retention_lease SET holder = NULL, until = 0 WHERE id = 1 AND holder = $1",
        )
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The id of the run that finished last, if any (servers follow it: see `stella-service`).
    pub async fn latest_retention_run(&self) -> Result<Option<String>> {
        let q = Sql::new(
            "SELECT id FROM retention_runs WHERE finished_at IS NOT NULL \
             ORDER BY finished_at DESC, id DESC LIMIT 1",
        );
        self.fetch_all(&q)
            .await?
            .first()
            .map(|r| r.text("id"))
            .transpose()
    }

    /// Queues a job under a fixed id unless one with that id exists: however many servers
    /// ask for the same period's run, it is queued once.
    pub async fn enqueue_job_once(
        &self,
        id: &str,
        kind: &str,
        payload: &str,
        run_after: i64,
        now: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO jobs (id, kind, tenant_id, payload, state, attempts, run_after, created_at) \
             VALUES ($1, $2, NULL, $3, 'queued', 0, $4, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(kind)
        .bind(payload)
        .bind(run_after)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            self.announce(crate::Topic::Jobs);
        }
        Ok(done.rows_affected() == 1)
    }

    /// Up to `limit` activity records after id `after`, oldest first, never the newest one
    /// (SQLite hands out ids after the highest, so it stays, and ids only grow).
    pub async fn oldest_activity(&self, after: i64, limit: i64) -> Result<Vec<ActivityRecord>> {
        let mut q = Sql::new(&format!(
            "SELECT {ACTIVITY_COLUMNS} FROM activity_log WHERE id > "
        ));
        q.bind(after)
            .push(" AND id < (SELECT MAX(id) FROM activity_log) ORDER BY id LIMIT ")
            .bind(limit);
        let rows = self.fetch_in(&self.activity_reader, &q, None).await?;
        rows.iter().map(crate::activity::record_of).collect()
    }

    /// Deletes these activity records (already archived by the caller).
    pub async fn delete_activity(&self, ids: &[i64]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        if let crate::read::Reader::Sqlite(path) = &self.activity_reader {
            let path = path.clone();
            let ids = ids.to_vec();
            return tokio::task::spawn_blocking(move || sqlite_delete_activity(&path, &ids))
                .await
                .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
        }
        let mut n = 0;
        for chunk in ids.chunks(500) {
            let mut q = Sql::new("DELETE FROM activity_log WHERE id IN (");
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.bind(*id);
            }
            q.push(")");
            n += q.query().execute(&self.pool).await?.rows_affected();
        }
        Ok(n)
    }

    /// Deletes up to `limit` finished reports of `tenant` created before `before` (their
    /// generated files go with them). Returns how many.
    pub async fn purge_reports(&self, tenant: &str, before: i64, limit: i64) -> Result<u64> {
        self.purge_finished("reports", "'pending', 'running'", tenant, before, limit)
            .await
    }

    /// Deletes up to `limit` finished playbook runs of `tenant` started before `before`.
    pub async fn purge_playbook_runs(&self, tenant: &str, before: i64, limit: i64) -> Result<u64> {
        self.purge_finished(
            "playbook_runs",
            "'queued', 'running'",
            tenant,
            before,
            limit,
        )
        .await
    }

    /// The oldest `limit` rows of `table` of `tenant` created before `before` whose status is
    /// none of `unfinished` (work still under way is never purged). `table` and `unfinished`
    /// are this file's constants, never input.
    async fn purge_finished(
        &self,
        table: &'static str,
        unfinished: &'static str,
        tenant: &str,
        before: i64,
        limit: i64,
    ) -> Result<u64> {
        let sql = format!(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE tenant_id = $1 \
             AND created_at < $2 AND status NOT IN ({unfinished}) ORDER BY created_at LIMIT $3)"
        );
        let done = sqlx::query(&sql)
            .bind(tenant)
            .bind(before)
            .bind(limit)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() > 0 {
            self.rows_changed();
        }
        Ok(done.rows_affected())
    }
}

fn sqlite_delete_activity(path: &std::path::Path, ids: &[i64]) -> Result<u64> {
    let err =
        |e: rusqlite::Error| StoreError::Io(std::io::Error::other(format!("activity purge: {e}")));
    let mut conn = rusqlite::Connection::open(path).map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(err)?;
    let tx = conn.transaction().map_err(err)?;
    let mut n = 0u64;
    {
        let mut del = tx
            .prepare_cached("DELETE FROM activity_log WHERE id = ?1")
            .map_err(err)?;
        for id in ids {
            n += del.execute([id]).map_err(err)? as u64;
        }
        // Zones wholly below the oldest record left point at nothing now.
        tx.execute(
            "DELETE FROM activity_zones WHERE last_id < (SELECT MIN(id) FROM activity_log)",
            [],
        )
        .map_err(err)?;
    }
    tx.commit().map_err(err)?;
    Ok(n)
}
