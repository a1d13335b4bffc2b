//! Background work (report generation, playbook runs), run exactly once across the servers of
//! a deployment: a request queues a job in the database and every server's runner claims due
//! jobs when it is free (`stella_store` has the claim: a lease, `SKIP LOCKED` on PostgreSQL).
//! The claiming server renews its leases with its heartbeat; a job whose server died is
//! claimed by another once the lease runs out (the injected clock decides), at most
//! `MAX_ATTEMPTS` times. A server that is draining claims nothing new.
//!
//! What "exactly once" means here: one server at a time holds a job, and only the holder of
//! the latest claim records its outcome. An action already in flight when its server died
//! (a webhook sent, no answer recorded) runs again on the next claim: that much is
//! at-least-once, as with any queue whose worker can die mid-call.
//!
//! The runner also keeps this server's row in the node table (`GET /cluster/nodes`).

use crate::state::Inner;
use crate::{Result, Stella};
use serde::Serialize;
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use stella_core::authz::Restricted;
use stella_core::clock::rfc3339_ms;
use stella_core::ids::new_id;
use stella_core::permission::perm::{TenantsRead, TenantsWrite};
use stella_store::{ClaimedJob, NodeRecord, Topic};
use tokio::sync::broadcast::error::RecvError;

pub(crate) const REPORT: &str = "report";
pub(crate) const PLAYBOOK_RUN: &str = "playbook_run";
pub(crate) const RETENTION: &str = "retention";
/// Claims of one job before it is given up: each earlier claim ended with its server gone.
const MAX_ATTEMPTS: i64 = 3;
/// Longest `settle` waits for the deployment's queue to empty (a test helper's bound).
const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// What `GET /cluster/nodes` shows of a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NodeInfo {
    pub id: String,
    pub version: String,
    /// The address it listens on, as configured.
    pub address: String,
    pub started_at: String,
    pub last_heartbeat: String,
    /// `up`, `draining` (serves requests, takes no new background work), `unresponsive` (no
    /// heartbeat for three intervals: down or cut off) or `stopped` (shut down cleanly).
    pub health: String,
    pub draining: bool,
    /// Log records (each up to ~1 MiB of one ingest's events) acknowledged but not yet
    /// committed to this server's event index.
    pub event_index_lag: i64,
    pub jobs_running: i64,
    /// Jobs it finished (done or failed) in the last day.
    pub jobs_finished: i64,
    /// Whether this is the server that answered.
    pub this: bool,
}

impl Stella {
    /// Queues background work for whichever server is free; this one looks at once.
    pub(crate) async fn enqueue_job(
        &self,
        kind: &str,
        tenant: Option<&str>,
        payload: &Value,
    ) -> Result<()> {
        self.db
            .enqueue_job(&new_id(), kind, tenant, &payload.to_string(), self.now_ms())
            .await?;
        self.job_wake.notify_one();
        Ok(())
    }

    /// Runs a job on this server at once, claimed by it from the start: for work whose input
    /// only this server holds (an image upload in its spool). It takes no job slot, so the
    /// runner's count stays its own; the work bounds itself (image scans wait for an image
    /// slot). If this server stops before it ends, another claims it when the lease runs out.
    pub(crate) async fn start_job_here(
        &self,
        kind: &str,
        tenant: Option<&str>,
        payload: &Value,
    ) -> Result<()> {
        let job = self
            .db
            .insert_claimed_job(
                &new_id(),
                kind,
                tenant,
                &payload.to_string(),
                self.now_ms(),
                self.settings.job_lease_ms,
            )
            .await?;
        let s = self.clone();
        self.jobs.spawn(async move { s.run_job(job).await });
        Ok(())
    }

    /// Claims what this server has room for and starts it.
    async fn claim_and_start(&self) {
        if self.stopping.load(Ordering::Acquire) {
            return;
        }
        let free = self.job_slots.available_permits();
        if free == 0 {
            return;
        }
        let claimed = match self
            .db
            .claim_jobs(
                self.db.node_id(),
                self.now_ms(),
                self.settings.job_lease_ms,
                free as i64,
            )
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim background jobs");
                return;
            }
        };
        for job in claimed {
            // Only this task takes slots, and it asked for no more than were free.
            let Ok(slot) = Arc::clone(&self.job_slots).try_acquire_owned() else {
                break;
            };
            let s = self.clone();
            self.jobs.spawn(async move {
                s.run_job(job).await;
                drop(slot);
                s.job_wake.notify_one();
            });
        }
    }

    async fn run_job(&self, job: ClaimedJob) {
        let payload: Value = serde_json::from_str(&job.payload).unwrap_or(Value::Null);
        let outcome = if job.attempt > MAX_ATTEMPTS {
            let why = format!(
                "given up: the servers running it stopped {} times before it finished",
                job.attempt - 1
            );
            self.job_given_up(&job, &payload, &why)
                .await
                .map(|()| Some(why))
        } else {
            match job.kind.as_str() {
                REPORT => self.report_job(&job, &payload).await,
                PLAYBOOK_RUN => self.playbook_job(&job, &payload).await,
                RETENTION => self.retention_job(&job).await,
                crate::scan::feed::FEED_IMPORT => self.feed_import_job(&job, &payload).await,
                crate::scan::registry::REGISTRY_SCAN => self.registry_scan_job(&payload).await,
                crate::scan::image::IMAGE_SCAN => self.image_scan_job(&payload).await,
                other => Ok(Some(format!("no server knows job kind '{other}'"))),
            }
        };
        let error = match outcome {
            Ok(e) => e,
            Err(e) => Some(e.to_string()),
        };
        match self
            .db
            .finish_job(&job, self.db.node_id(), error.as_deref(), self.now_ms())
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = %job.id, "a job's claim passed to another server before it finished")
            }
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "a job's end could not be recorded")
            }
        }
    }

    /// Whether this server still holds `job`: its outcome is written only then.
    pub(crate) async fn holds(&self, job: &ClaimedJob) -> Result<bool> {
        Ok(self.db.job_still_held(job, self.db.node_id()).await?)
    }

    async fn job_given_up(&self, job: &ClaimedJob, payload: &Value, why: &str) -> Result<()> {
        match job.kind.as_str() {
            REPORT => self.report_failed(payload, why).await,
            PLAYBOOK_RUN => self.playbook_run_failed(payload, why).await,
            crate::scan::feed::FEED_IMPORT => self.feed_import_given_up(payload, why).await,
            crate::scan::registry::REGISTRY_SCAN => self.registry_scan_given_up(payload, why).await,
            crate::scan::image::IMAGE_SCAN => self.image_scan_given_up(payload, why).await,
            _ => Ok(()),
        }
    }

    /// Claims what is due for this server now and waits for it to finish (tests: "would this
    /// server take the job now?" without waiting on time).
    pub async fn run_due_jobs(&self) {
        self.claim_and_start().await;
        self.jobs.close();
        self.jobs.wait().await;
        self.jobs.reopen();
    }

    /// Waits until every job queued so far, on any server, has finished (tests), at most a
    /// minute. Runs due jobs here too, so it works without the runner task.
    pub async fn settle(&self) {
        let give_up = tokio::time::Instant::now() + SETTLE_LIMIT;
        loop {
            self.run_due_jobs().await;
            match self.db.unfinished_jobs().await {
                Ok(0) | Err(_) => return,
                Ok(_) if tokio::time::Instant::now() >= give_up => {
                    tracing::warn!("settle: jobs still unfinished after a minute");
                    return;
                }
                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
    }

    /// The server bound its listener (its port may have been chosen then): it joins the node
    /// table with this address, before it serves anything, and starts taking background jobs.
    /// Commands that only open the service (`stella init`) never call this, so they leave no
    /// server behind in the table.
    pub async fn listening_on(&self, address: &str) {
        let first = !self.runner_started.swap(true, Ordering::AcqRel);
        let recorded = if first {
            self.db
                .register_node(env!("CARGO_PKG_VERSION"), address, self.now_ms())
                .await
        } else {
            self.db.set_node_address(address).await
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "could not record this server in the node table");
        }
        if first {
            spawn_runner(self);
            let s = self.clone();
            tokio::spawn(async move { s.follow_feed().await });
        }
    }

    /// Shutdown: claims nothing more, lets running jobs finish, and leaves the node table.
    pub async fn stop_jobs(&self) {
        self.stopping.store(true, Ordering::Release);
        self.jobs.close();
        self.jobs.wait().await;
        if let Err(e) = self.db.node_stopped(self.now_ms()).await {
            tracing::warn!(error = %e, "could not record this server's stop");
        }
    }

    /// `GET /cluster/nodes`: the deployment's servers, newest start first.
    pub async fn cluster_nodes(&self, _r: Restricted<'_, TenantsRead>) -> Result<Vec<NodeInfo>> {
        let now = self.now_ms();
        Ok(self
            .db
            .list_nodes()
            .await?
            .into_iter()
            .map(|n| self.node_info(n, now))
            .collect())
    }

    /// `POST /cluster/nodes/{id}/drain` (`drain`) and `…/undrain`.
    pub async fn drain_node(
        &self,
        _r: Restricted<'_, TenantsWrite>,
        id: &str,
        drain: bool,
    ) -> Result<NodeInfo> {
        let now = self.now_ms();
        if !self.db.set_node_draining(id, drain.then_some(now)).await? {
            return Err(crate::ServiceError::NotFound(format!(
                "no server '{id}' in this deployment"
            )));
        }
        tracing::info!(node = %id, drain, "server draining changed");
        let node = self.db.list_nodes().await?.into_iter().find(|n| n.id == id);
        node.map(|n| self.node_info(n, now))
            .ok_or_else(|| crate::ServiceError::NotFound(format!("no server '{id}'")))
    }

    fn node_info(&self, n: NodeRecord, now: i64) -> NodeInfo {
        let this = n.id == self.db.node_id();
        let silent = now - n.heartbeat_at > 3 * self.settings.node_heartbeat_ms as i64;
        let health = if n.stopped_at.is_some() {
            "stopped"
        } else if silent && !this {
            "unresponsive"
        } else if n.draining_since.is_some() {
            "draining"
        } else {
            "up"
        };
        let lag = if this {
            self.events().lag() as i64
        } else {
            n.index_lag
        };
        NodeInfo {
            this,
            version: n.version,
            address: n.address,
            started_at: rfc3339_ms(n.started_at),
            last_heartbeat: rfc3339_ms(n.heartbeat_at),
            health: health.into(),
            draining: n.draining_since.is_some(),
            event_index_lag: lag,
            jobs_running: n.jobs_running,
            jobs_finished: n.jobs_finished,
            id: n.id,
        }
    }
}

/// Runs this server's job runner and heartbeat for as long as the service lives.
fn spawn_runner(stella: &Stella) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    let weak = Arc::downgrade(&stella.0);
    let heard = stella.db.subscribe();
    tokio::spawn(run(weak, heard));
}

async fn run(weak: Weak<Inner>, mut heard: tokio::sync::broadcast::Receiver<Topic>) {
    let (wake, poll, beat_every) = {
        let Some(inner) = weak.upgrade() else { return };
        let s = Stella(inner);
        (
            Arc::clone(&s.job_wake),
            s.settings.job_poll_ms.max(10),
            s.settings.node_heartbeat_ms.max(10),
        )
    };
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(poll));
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut beat = tokio::time::interval(std::time::Duration::from_millis(beat_every));
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let heartbeat = tokio::select! {
            _ = wake.notified() => false,
            t = heard.recv() => match t {
                Ok(t) if Topic::Feed.heard_in(t) => {
                    // Loading a feed takes a while: not in the way of jobs or heartbeats.
                    if let Some(inner) = weak.upgrade() {
                        let s = Stella(inner);
                        tokio::spawn(async move { s.follow_feed().await });
                    }
                    if !Topic::Jobs.heard_in(t) {
                        continue;
                    }
                    false
                }
                Ok(t) if !Topic::Jobs.heard_in(t) => continue,
                Err(RecvError::Closed) => return,
                _ => false,
            },
            _ = poll.tick() => false,
            _ = beat.tick() => true,
        };
        let Some(inner) = weak.upgrade() else { return };
        let s = Stella(inner);
        if s.stopping.load(Ordering::Acquire) {
            return;
        }
        if heartbeat {
            let lag = s.events().lag() as i64;
            if let Err(e) =
                s.db.heartbeat_node(s.now_ms(), s.settings.job_lease_ms, lag)
                    .await
            {
                tracing::warn!(error = %e, "heartbeat not recorded");
            }
            s.schedule_retention().await;
            s.follow_retention().await;
            // The bound when an announcement of a new feed version was missed.
            let f = s.clone();
            tokio::spawn(async move { f.follow_feed().await });
        }
        s.claim_and_start().await;
    }
}
