//! The job queue and the node table: background work claimed through the database, so that
//! on several servers each job runs on one of them at a time, and a job whose server died is
//! claimed again by another once its lease has run out.
//!
//! On PostgreSQL a claim is one `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`:
//! servers claiming at the same moment skip each other's rows instead of waiting on them or
//! taking them twice. SQLite serialises writers, so the same statement without the locking
//! clause is already exclusive there.

use crate::read::Row;
use crate::sql::Sql;
use crate::{Backend, Database, Result};

/// A job as claimed: run it, then report with the same `attempt` (the fencing token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: String,
    pub kind: String,
    pub tenant_id: Option<String>,
    pub payload: String,
    /// 1 for the first claim; more means earlier claimants stopped before finishing.
    pub attempt: i64,
}

/// One server of the deployment, as its own heartbeats left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    pub id: String,
    pub version: String,
    pub address: String,
    pub started_at: i64,
    pub heartbeat_at: i64,
    pub draining_since: Option<i64>,
    pub stopped_at: Option<i64>,
    /// Events acknowledged but not yet searchable on this server, at its last heartbeat.
    pub index_lag: i64,
    /// Jobs this server holds now, and has finished (done or failed) in the table's memory.
    pub jobs_running: i64,
    pub jobs_finished: i64,
}

/// Finished jobs are kept this long (for `GET /cluster/nodes` counts), then deleted.
const KEEP_FINISHED_MS: i64 = 86_400_000;
/// Rows of servers that stopped (or went silent) this long ago are deleted.
const KEEP_NODES_MS: i64 = 7 * 86_400_000;

impl Database {
    /// Queues a job and tells the other servers there is work.
    pub async fn enqueue_job(
        &self,
        id: &str,
        kind: &str,
        tenant_id: Option<&str>,
        payload: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO jobs (id, kind, tenant_id, payload, state, attempts, run_after, created_at) \
             VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6)",
        )
        .bind(id)
        .bind(kind)
        .bind(tenant_id)
        .bind(payload)
        .bind(now)
        .bind(now)
        .execute(self.conn().await?.conn()?)
        .await?;
        self.announce(crate::Topic::Jobs);
        Ok(())
    }

    /// Queues a job already claimed by this server, which runs it at once: work whose input
    /// only this server holds (an uploaded image in its spool). Should this server stop first,
    /// the lease runs out and another server claims it like any other job.
    pub async fn insert_claimed_job(
        &self,
        id: &str,
        kind: &str,
        tenant_id: Option<&str>,
        payload: &str,
        now: i64,
        lease_ms: i64,
    ) -> Result<ClaimedJob> {
        sqlx::query(
            "INSERT INTO jobs (id, kind, tenant_id, payload, state, attempts, run_after, \
             created_at, claimed_by, lease_until) \
             VALUES ($1, $2, $3, $4, 'running', 1, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(kind)
        .bind(tenant_id)
        .bind(payload)
        .bind(now)
        .bind(now)
        .bind(self.node_id())
        .bind(now + lease_ms)
        .execute(&self.pool)
        .await?;
        Ok(ClaimedJob {
            id: id.to_owned(),
            kind: kind.to_owned(),
            tenant_id: tenant_id.map(str::to_owned),
            payload: payload.to_owned(),
            attempt: 1,
        })
    }

    /// Claims up to `limit` due jobs for `node`: queued ones, and running ones whose lease ran
    /// out. Nothing while `node` is draining.
    pub async fn claim_jobs(
        &self,
        node: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', claimed_by = $1, lease_until = $2, \
             attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM jobs \
                 WHERE ((state = 'queued' AND run_after <= $3) \
                     OR (state = 'running' AND lease_until < $4)) \
                 AND NOT EXISTS (SELECT 1 FROM nodes \
                     WHERE nodes.id = $5 AND nodes.draining_since IS NOT NULL) \
                 ORDER BY run_after, id LIMIT $6{lock}) \
             RETURNING id, kind, tenant_id, payload, attempts"
        );
        let rows: Vec<(String, String, Option<String>, String, i64)> = sqlx::query_as(&sql)
            .bind(node)
            .bind(now + lease_ms)
            .bind(now)
            .bind(now)
            .bind(node)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, tenant_id, payload, attempt)| ClaimedJob {
                id,
                kind,
                tenant_id,
                payload,
                attempt,
            })
            .collect())
    }

    /// Records a job's end: done, or failed with `error`. `false`: the claim was no longer
    /// `node`'s (its lease ran out and another server took the job), so nothing changed.
    pub async fn finish_job(
        &self,
        job: &ClaimedJob,
        node: &str,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let state = if error.is_some() { "failed" } else { "done" };
        let done = sqlx::query(
            "UPDATE jobs SET state = $1, error = $2, finished_at = $3, lease_until = NULL \
             WHERE id = $4 AND claimed_by = $5 AND attempts = $6 AND state = 'running'",
        )
        .bind(state)
        .bind(error)
        .bind(now)
        .bind(&job.id)
        .bind(node)
        .bind(job.attempt)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether `node` still holds `job` (its latest claim): checked before an outcome is
    /// written, so a server that lost its claim does not overwrite the new claimant's work.
    pub async fn job_still_held(&self, job: &ClaimedJob, node: &str) -> Result<bool> {
        let mut q = Sql::new("SELECT COUNT(*) AS n FROM jobs WHERE id = ");
        q.bind(job.id.as_str())
            .push(" AND claimed_by = ")
            .bind(node)
            .push(" AND attempts = ")
            .bind(job.attempt)
            .push(" AND state = 'running'");
        Ok(self.fetch_one(&q).await?.int("n")? == 1)
    }

    /// Jobs queued or running anywhere in the deployment.
    pub async fn unfinished_jobs(&self) -> Result<i64> {
        let q = Sql::new("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'running')");
        self.fetch_one(&q).await?.int("n")
    }

    /// Adds this server to the node table (a new row per start) and forgets long-gone ones.
    pub async fn register_node(&self, version: &str, address: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO nodes (id, version, address, started_at, heartbeat_at, index_lag) \
             VALUES ($1, $2, $3, $4, $5, 0) \
             ON CONFLICT (id) DO UPDATE SET address = excluded.address",
        )
        .bind(self.node_id())
        .bind(version)
        .bind(address)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM nodes WHERE heartbeat_at < $1")
            .bind(now - KEEP_NODES_MS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The address this server listens on, once it is bound.
    pub async fn set_node_address(&self, address: &str) -> Result<()> {
        sqlx::query("UPDATE nodes SET address = $1 WHERE id = $2")
            .bind(address)
            .bind(self.node_id())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// This server is alive: its heartbeat, its index lag, and the leases of the jobs it holds
    /// renewed to `now + lease_ms`. Also deletes jobs finished long ago.
    pub async fn heartbeat_node(&self, now: i64, lease_ms: i64, index_lag: i64) -> Result<()> {
        sqlx::query("UPDATE nodes SET heartbeat_at = $1, index_lag = $2 WHERE id = $3")
            .bind(now)
            .bind(index_lag)
            .bind(self.node_id())
            .execute(&self.pool)
            .await?;
        sqlx::query("UPDATE jobs SET lease_until = $1 WHERE claimed_by = $2 AND state = 'running'")
            .bind(now + lease_ms)
            .bind(self.node_id())
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM jobs WHERE state IN ('done', 'failed') AND finished_at < $1")
            .bind(now - KEEP_FINISHED_MS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// This server stopped cleanly: listed as stopped, and what it still held is released to
    /// the others at once rather than when the lease runs out.
    pub async fn node_stopped(&self, now: i64) -> Result<()> {
        sqlx::query("UPDATE nodes SET stopped_at = $1 WHERE id = $2")
            .bind(now)
            .bind(self.node_id())
            .execute(&self.pool)
            .await?;
        sqlx::query("UPDATE jobs SET lease_until = $1 WHERE claimed_by = $2 AND state = 'running'")
            .bind(now - 1)
            .bind(self.node_id())
            .execute(&self.pool)
            .await?;
        self.announce(crate::Topic::Jobs);
        Ok(())
    }

    /// Every server of the deployment, newest start first, with its job counts.
    pub async fn list_nodes(&self) -> Result<Vec<NodeRecord>> {
        let q = Sql::new(
            "SELECT n.id, n.version, n.address, n.started_at, n.heartbeat_at, n.draining_since, \
             n.stopped_at, n.index_lag, \
             (SELECT COUNT(*) FROM jobs j WHERE j.claimed_by = n.id AND j.state = 'running') \
                 AS jobs_running, \
             (SELECT COUNT(*) FROM jobs j WHERE j.claimed_by = n.id \
                 AND j.state IN ('done', 'failed')) AS jobs_finished \
             FROM nodes n ORDER BY n.started_at DESC, n.id",
        );
        self.fetch_all(&q)
            .await?
            .iter()
            .map(node_from_row)
            .collect()
    }

    /// Starts (`Some(now)`) or ends (`None`) a server's draining. `false`: no such server.
    pub async fn set_node_draining(&self, id: &str, since: Option<i64>) -> Result<bool> {
        let done = sqlx::query("UPDATE nodes SET draining_since = $1 WHERE id = $2")
            .bind(since)
            .bind(id)
            .execute(&self.pool)
            .await?;
        // Undraining: the server may take the work that queued up meanwhile.
        self.announce(crate::Topic::Jobs);
        Ok(done.rows_affected() == 1)
    }
}

fn node_from_row(r: &Row) -> Result<NodeRecord> {
    Ok(NodeRecord {
        id: r.text("id")?,
        version: r.text("version")?,
        address: r.text("address")?,
        started_at: r.int("started_at")?,
        heartbeat_at: r.int("heartbeat_at")?,
        draining_since: r.opt_int("draining_since")?,
        stopped_at: r.opt_int("stopped_at")?,
        index_lag: r.int("index_lag")?,
        jobs_running: r.int("jobs_running")?,
        jobs_finished: r.int("jobs_finished")?,
    })
}

#[cfg(test)]
mod tests {
    use crate::Database;

    /// Two handles on one SQLite file: two claimants with their own node ids.
    async fn two() -> (tempfile::TempDir, Database, Database) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let a = Database::open_data_dir(dir.path()).await;
        let b = Database::open_data_dir(dir.path()).await;
        match (a, b) {
            (Ok(a), Ok(b)) => (dir, a, b),
            (a, b) => panic!("{:?} {:?}", a.err(), b.err()),
        }
    }

    #[tokio::test]
    async fn a_claim_is_exclusive_until_its_lease_runs_out_and_only_the_last_claim_finishes() {
        let (_dir, a, b) = two().await;
        for db in [&a, &b] {
            db.register_node("test", "here", 0)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        a.enqueue_job("j1", "report", None, "{}", 1_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let claim = |db: &Database, now: i64| {
            let db = db.clone();
            async move {
                db.claim_jobs(db.node_id(), now, 30_000, 10)
                    .await
                    .unwrap_or_default()
            }
        };
        assert!(claim(&a, 999).await.is_empty(), "not due yet");
        let first = claim(&a, 1_000).await;
        assert_eq!((first.len(), first[0].attempt), (1, 1));
        assert!(claim(&b, 2_000).await.is_empty(), "held by a");
        // a's heartbeat renews the lease: still a's after the first lease would have ended.
        a.heartbeat_node(20_000, 30_000, 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(claim(&b, 40_000).await.is_empty(), "renewed");
        // a goes silent: b takes the job once the renewed lease has run out.
        let second = claim(&b, 50_001).await;
        assert_eq!((second.len(), second[0].attempt), (1, 2));
        assert!(!a
            .job_still_held(&first[0], a.node_id())
            .await
            .unwrap_or(true));
        assert!(
            !a.finish_job(&first[0], a.node_id(), None, 50_002)
                .await
                .unwrap_or(true),
            "a's claim is no longer the latest"
        );
        assert!(b
            .finish_job(&second[0], b.node_id(), None, 50_003)
            .await
            .unwrap_or(false));
        assert_eq!(a.unfinished_jobs().await.unwrap_or(-1), 0);
        assert!(
            claim(&a, 200_000).await.is_empty(),
            "done jobs are never claimed"
        );
    }

    #[tokio::test]
    async fn a_draining_node_claims_nothing_until_undrained() {
        let (_dir, a, _b) = two().await;
        a.register_node("test", "here", 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        a.enqueue_job("j1", "report", None, "{}", 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(a
            .set_node_draining(a.node_id(), Some(1))
            .await
            .unwrap_or(false));
        assert!(a
            .claim_jobs(a.node_id(), 10, 30_000, 10)
            .await
            .unwrap_or_default()
            .is_empty());
        assert!(a
            .set_node_draining(a.node_id(), None)
            .await
            .unwrap_or(false));
        assert_eq!(
            a.claim_jobs(a.node_id(), 10, 30_000, 10)
                .await
                .unwrap_or_default()
                .len(),
            1
        );
        assert!(!a.set_node_draining("nobody", Some(1)).await.unwrap_or(true));
        let nodes = a.list_nodes().await.unwrap_or_default();
        assert_eq!((nodes.len(), nodes[0].jobs_running), (1, 1), "{nodes:?}");
    }
}
