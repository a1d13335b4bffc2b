//! Retention: how long each kind of data is kept, and the background run that removes what is
//! older. The platform's periods come from the configuration; a tenant's administrators may
//! choose their own within `retention_tenant_max_days` (root may set any period); root may
//! place a legal hold on a tenant (or on the platform's own records, `*`), which suspends
//! every purge of it.
//!
//! A run is a claimed background job (`crate::jobs`), queued once per deployment per
//! `retention_interval_ms` (a fixed job id per interval, so every server may ask) or on
//! demand (`POST /cluster/retention/run`). It removes at most `retention_batch` items of each
//! kind, then queues a follow-up, so it never holds the database or the index for long:
//! - activity records: archived first (zstd-compressed NDJSON, its SHA-256, and a statement
//!   signed by the deployment's current signing key, verifiable against
//!   `/.well-known/jwks.json`), then deleted; a failed delete leaves an archive that the next
//!   run repeats, never a record gone without its archive;
//! - reports (with their generated files) and playbook runs: deleted once finished and older
//!   than the period;
//! - events: whole daily partitions of the tenant's index past the period are dropped (every
//!   server drops its own copies; see `stella-search`).
//!
//! Each run is recorded (`GET /cluster/retention`): when, where, what it removed, the
//! archives it wrote, whether it left work for a follow-up.

use crate::jobs::RETENTION;
use crate::{Result, ServiceError, Stella};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use stella_core::authz::{Grant, Restricted};
use stella_core::clock::rfc3339_ms;
use stella_core::ids::new_id;
use stella_core::permission::perm::{TenantsRead, TenantsWrite};
use stella_core::TenantFilter;
use stella_store::{ActivityRecord, ClaimedJob, RetentionOverride, PLATFORM};

pub const DAY_MS: i64 = 86_400_000;
/// Longest period anyone may set (a hundred years).
const MAX_DAYS: i64 = 36_500;
/// Activity records read per step of a run.
const ACTIVITY_CHUNK: i64 = 5_000;
/// Runs are remembered this long.
const KEEP_RUNS_MS: i64 = 90 * DAY_MS;
/// A run's hold on the deployment's retention lease; a run ends long before (it is bounded).
const LEASE_MS: i64 = 15 * 60_000;
/// How long a run waits for another to finish before it leaves its work to the next.
const LEASE_WAIT_SECS: u64 = 120;

/// Retention periods, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Periods {
    pub events_days: i64,
    pub activity_days: i64,
    pub reports_days: i64,
    pub playbook_runs_days: i64,
}

impl Default for Periods {
    fn default() -> Self {
        Self {
            events_days: 90,
            activity_days: 365,
            reports_days: 90,
            playbook_runs_days: 90,
        }
    }
}

impl Periods {
    /// These periods with a tenant's overrides applied.
    fn with(self, o: Option<&RetentionOverride>) -> Periods {
        let Some(o) = o else { return self };
        Periods {
            events_days: o.events_days.unwrap_or(self.events_days),
            activity_days: o.activity_days.unwrap_or(self.activity_days),
            reports_days: o.reports_days.unwrap_or(self.reports_days),
            playbook_runs_days: o.playbook_runs_days.unwrap_or(self.playbook_runs_days),
        }
    }
}

/// One tenant's retention, as `GET /connect/api/v1/retention` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantRetention {
    /// A tenant id, or `*` for the platform's own records (root and partner users').
    pub tenant_id: String,
    /// What applies: the tenant's own periods where set, the platform's otherwise.
    pub effective: Periods,
    /// The tenant's own periods (`null`: the platform's).
    pub events_days: Option<i64>,
    pub activity_days: Option<i64>,
    pub reports_days: Option<i64>,
    pub playbook_runs_days: Option<i64>,
    /// While set, nothing of this tenant's is purged.
    pub legal_hold: bool,
    pub legal_hold_reason: Option<String>,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RetentionView {
    /// The platform's periods (configuration), for tenants that set none.
    pub platform: Periods,
    /// Longest period a tenant's administrators may choose.
    pub tenant_max_days: i64,
    pub data: Vec<TenantRetention>,
}

/// One retention run.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunInfo {
    pub id: String,
    /// The background job it ran as: `POST /cluster/retention/run` answers it; a follow-up's
    /// is `retention-more-<previous run's id>`.
    pub job: String,
    /// The server that ran it.
    pub node: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// What it removed, per kind: `activity_records`, `reports`, `playbook_runs`,
    /// `event_partitions`, `events`.
    #[schema(value_type = Object)]
    pub removed: Value,
    /// Archive files written (in `archive_dir`).
    pub archives: Vec<String>,
    /// It stopped at its bound with more to remove; a follow-up run was queued.
    pub more: bool,
    pub error: Option<String>,
}

/// The signed statement beside an activity archive (`<file>.sig`, a compact JWS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveStatement {
    pub typ: String,
    pub file: String,
    pub sha256: String,
    pub records: u64,
    pub first_id: i64,
    pub last_id: i64,
    pub from_ts: i64,
    pub to_ts: i64,
    /// The tenant whose records these are (`*`: the platform's).
    pub tenant_id: String,
    pub run: String,
    pub iat: i64,
}

/// `PUT /connect/api/v1/retention/{tenant_id}` body, checked field by field.
#[derive(Debug)]
struct Change {
    days: [Option<i64>; 4],
    legal_hold: Option<(bool, Option<String>)>,
}

const DAY_FIELDS: [&str; 4] = [
    "events_days",
    "activity_days",
    "reports_days",
    "playbook_runs_days",
];

fn parse_change(body: &Value) -> Result<Change> {
    let Value::Object(map) = body else {
        return Err(ServiceError::invalid("$", "must be a JSON object"));
    };
    let mut errors = Vec::new();
    let mut days = [None; 4];
    let mut hold = None;
    let mut reason = None;
    for (k, v) in map {
        if let Some(i) = DAY_FIELDS.iter().position(|f| f == k) {
            match v {
                Value::Null => {}
                Value::Number(n) if n.as_i64().is_some_and(|d| (1..=MAX_DAYS).contains(&d)) => {
                    days[i] = n.as_i64();
                }
                _ => errors.push(stella_core::FieldError::new(
                    format!("$.{k}"),
                    format!("must be a whole number of days from 1 to {MAX_DAYS}, or null for the platform's period"),
                )),
            }
        } else if k == "legal_hold" {
            match v {
                Value::Bool(b) => hold = Some(*b),
                _ => errors.push(stella_core::FieldError::new(
                    "$.legal_hold",
                    "must be true or false",
                )),
            }
        } else if k == "legal_hold_reason" {
            match v {
                Value::Null => {}
                Value::String(s) if s.len() <= 500 => reason = Some(s.clone()),
                _ => errors.push(stella_core::FieldError::new(
                    "$.legal_hold_reason",
                    "must be a string of at most 500 bytes, or null",
                )),
            }
        } else {
            errors.push(stella_core::FieldError::new(
                format!("$.{k}"),
                format!(
                    "unknown field; known: {}, legal_hold, legal_hold_reason",
                    DAY_FIELDS.join(", ")
                ),
            ));
        }
    }
    if reason.is_some() && hold.is_none() {
        errors.push(stella_core::FieldError::new(
            "$.legal_hold_reason",
            "give it with legal_hold",
        ));
    }
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    Ok(Change {
        days,
        legal_hold: hold.map(|h| (h, reason)),
    })
}

impl Stella {
    fn tenant_retention(&self, id: &str, o: Option<&RetentionOverride>) -> TenantRetention {
        TenantRetention {
            tenant_id: id.to_owned(),
            effective: self.settings.retention.with(o),
            events_days: o.and_then(|o| o.events_days),
            activity_days: o.and_then(|o| o.activity_days),
            reports_days: o.and_then(|o| o.reports_days),
            playbook_runs_days: o.and_then(|o| o.playbook_runs_days),
            legal_hold: o.is_some_and(|o| o.legal_hold),
            legal_hold_reason: o.and_then(|o| o.legal_hold_reason.clone()),
            updated_at: o.map(|o| rfc3339_ms(o.updated_at)),
            updated_by: o.and_then(|o| o.updated_by.clone()),
        }
    }

    /// Every tenant's own periods and hold (and the platform's, under `*`), by tenant id.
    async fn overrides_by_tenant(&self) -> Result<HashMap<String, RetentionOverride>> {
        Ok(self
            .db
            .retention_overrides()
            .await?
            .into_iter()
            .map(|o| (o.tenant_id.clone(), o))
            .collect())
    }

    /// `GET /connect/api/v1/retention`: the retention of every tenant the caller reaches (and,
    /// for root, of the platform's own records).
    pub async fn retention(&self, g: Grant<'_, TenantsRead>) -> Result<RetentionView> {
        let caller = g.caller();
        let overrides = self.overrides_by_tenant().await?;
        let mut ids = self.db.all_tenant_ids().await?;
        match caller.tenant_filter() {
            TenantFilter::All => ids.insert(0, PLATFORM.to_owned()),
            TenantFilter::Only(reach) => ids.retain(|t| reach.contains(t)),
        }
        Ok(RetentionView {
            platform: self.settings.retention,
            tenant_max_days: self.settings.retention_tenant_max_days,
            data: ids
                .iter()
                .map(|id| self.tenant_retention(id, overrides.get(id)))
                .collect(),
        })
    }

    /// `PUT /connect/api/v1/retention/{tenant_id}`: a tenant's own periods (each within
    /// `retention_tenant_max_days` unless the caller is root), and, for root super admins
    /// only, its legal hold.
    pub async fn set_retention(
        &self,
        g: Grant<'_, TenantsWrite>,
        tenant_id: &str,
        body: &Value,
    ) -> Result<TenantRetention> {
        let caller = g.caller();
        let root = caller.restricted::<TenantsWrite>().is_ok();
        let known = tenant_id == PLATFORM && root
            || (self
                .db
                .all_tenant_ids()
                .await?
                .iter()
                .any(|t| t == tenant_id)
                && match caller.tenant_filter() {
                    TenantFilter::All => true,
                    TenantFilter::Only(reach) => reach.iter().any(|t| t == tenant_id),
                });
        if !known {
            return Err(ServiceError::NotFound(format!("no tenant '{tenant_id}'")));
        }
        let change = parse_change(body)?;
        let max = self.settings.retention_tenant_max_days;
        if !root {
            let over: Vec<stella_core::FieldError> = DAY_FIELDS
                .iter()
                .zip(change.days)
                .filter(|(_, d)| d.is_some_and(|d| d > max))
                .map(|(f, _)| {
                    stella_core::FieldError::new(
                        format!("$.{f}"),
                        format!("at most {max} days (the platform's limit for tenants)"),
                    )
                })
                .collect();
            if !over.is_empty() {
                return Err(ServiceError::Invalid(over));
            }
        }
        let old = self
            .db
            .retention_overrides()
            .await?
            .into_iter()
            .find(|o| o.tenant_id == tenant_id);
        let (legal_hold, legal_hold_reason) = match change.legal_hold {
            Some(h) => {
                caller.restricted::<TenantsWrite>().map_err(|_| {
                    ServiceError::Forbidden(
                        "a legal hold is placed or lifted by root super admins only".into(),
                    )
                })?;
                h
            }
            None => old.as_ref().map_or((false, None), |o| {
                (o.legal_hold, o.legal_hold_reason.clone())
            }),
        };
        let row = RetentionOverride {
            tenant_id: tenant_id.to_owned(),
            events_days: change.days[0],
            activity_days: change.days[1],
            reports_days: change.days[2],
            playbook_runs_days: change.days[3],
            legal_hold,
            legal_hold_reason,
            updated_at: self.now_ms(),
            updated_by: Some(caller.email.clone()),
        };
        self.db.put_retention_override(&row).await?;
        tracing::info!(tenant = %tenant_id, hold = legal_hold, by = %caller.email, "retention changed");
        Ok(self.tenant_retention(tenant_id, Some(&row)))
    }

    /// `GET /cluster/retention`: the latest runs, newest first.
    pub async fn retention_runs(&self, _r: Restricted<'_, TenantsRead>) -> Result<Vec<RunInfo>> {
        let runs = self
            .db
            .retention_runs(50, self.now_ms() - KEEP_RUNS_MS)
            .await?;
        Ok(runs
            .into_iter()
            .map(|r| RunInfo {
                id: r.id,
                job: r.job,
                node: r.node,
                started_at: rfc3339_ms(r.started_at),
                finished_at: r.finished_at.map(rfc3339_ms),
                removed: r
                    .removed
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_else(|| json!({})),
                archives: r
                    .archives
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default(),
                more: r.more,
                error: r.error,
            })
            .collect())
    }

    /// `POST /cluster/retention/run`: queues a run now (whichever server is free runs it).
    pub async fn run_retention_now(&self, _r: Restricted<'_, TenantsWrite>) -> Result<String> {
        let id = format!("retention-now-{}", new_id());
        let now = self.now_ms();
        self.db
            .enqueue_job_once(&id, RETENTION, "{}", now, now)
            .await?;
        self.job_wake.notify_one();
        Ok(id)
    }

    /// On each heartbeat: queues this interval's run unless some server already did.
    pub(crate) async fn schedule_retention(&self) {
        if self.settings.retention_interval_ms <= 0 {
            return; // on demand only
        }
        let every = self.settings.retention_interval_ms.max(60_000);
        let slot = self.now_ms() / every;
        if self.retention_slot.swap(slot, Ordering::AcqRel) == slot {
            return;
        }
        let id = format!("retention-{slot}");
        if let Err(e) = self
            .db
            .enqueue_job_once(&id, RETENTION, "{}", slot * every, self.now_ms())
            .await
        {
            tracing::warn!(error = %e, "could not queue the retention run");
            self.retention_slot.store(slot - 1, Ordering::Release);
        }
    }

    /// The run itself (a claimed job).
    pub(crate) async fn retention_job(&self, job: &ClaimedJob) -> Result<Option<String>> {
        let run = new_id();
        // One run at a time in the deployment (two would archive the same records twice):
        // wait for the lease while another run, bounded as every run is, finishes.
        let waited = std::time::Instant::now();
        while !self
            .db
            .take_retention_lease(&run, self.now_ms(), self.now_ms() + LEASE_MS)
            .await?
        {
            if waited.elapsed() > std::time::Duration::from_secs(LEASE_WAIT_SECS) {
                return Ok(Some(format!(
                    "another retention run held the lease for {LEASE_WAIT_SECS} s; \
                     the next scheduled run will do this one's work"
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let outcome = self.retention_run(job, &run).await;
        if let Err(e) = self.db.release_retention_lease(&run).await {
            tracing::warn!(error = %e, "retention lease not released; it lapses by itself");
        }
        outcome
    }

    async fn retention_run(&self, job: &ClaimedJob, run: &str) -> Result<Option<String>> {
        let run = run.to_owned();
        let started = self.now_ms();
        self.db
            .start_retention_run(&run, &job.id, self.db.node_id(), started)
            .await?;
        let mut removed: BTreeMap<&str, u64> = BTreeMap::new();
        let mut archives = Vec::new();
        let outcome = self
            .retain(&run, started, &mut removed, &mut archives)
            .await;
        let (more, error) = match outcome {
            Ok(more) => (more, None),
            Err(e) => (false, Some(e.to_string())),
        };
        let record = stella_store::RetentionRun {
            id: run.clone(),
            job: job.id.clone(),
            node: self.db.node_id().to_owned(),
            started_at: started,
            finished_at: Some(self.now_ms()),
            removed: Some(serde_json::to_string(&removed).unwrap_or_default()),
            archives: Some(serde_json::to_string(&archives).unwrap_or_default()),
            more,
            error: error.clone(),
        };
        self.db.finish_retention_run(&record).await?;
        tracing::info!(run = %run, job = %job.id, ?removed, more, "retention run finished");
        if more {
            let now = self.now_ms();
            self.db
                .enqueue_job_once(&format!("retention-more-{run}"), RETENTION, "{}", now, now)
                .await?;
            self.job_wake.notify_one();
        }
        Ok(error)
    }

    /// Removes what is past its period, within the run's bound; `true` if work is left.
    async fn retain(
        &self,
        run: &str,
        now: i64,
        removed: &mut BTreeMap<&'static str, u64>,
        archives: &mut Vec<String>,
    ) -> Result<bool> {
        let overrides = self.overrides_by_tenant().await?;
        let budget = self.settings.retention_batch.max(1);
        let periods = |t: &str| self.settings.retention.with(overrides.get(t));
        let held = |t: &str| overrides.get(t).is_some_and(|o| o.legal_hold);
        let mut more = false;

        // Activity records: archived, then deleted.
        let cutoff = |t: &str| (!held(t)).then(|| now - periods(t).activity_days * DAY_MS);
        let mut latest_cutoff = cutoff(PLATFORM).unwrap_or(i64::MIN);
        let tenants = self.db.all_tenant_ids().await?;
        for t in &tenants {
            latest_cutoff = latest_cutoff.max(cutoff(t).unwrap_or(i64::MIN));
        }
        let mut after = 0;
        let mut purged = 0u64;
        loop {
            let chunk = self.db.oldest_activity(after, ACTIVITY_CHUNK).await?;
            let Some(first) = chunk.first() else { break };
            // Ids follow time: past the latest cutoff, nothing older is left to find.
            if first.ts >= latest_cutoff {
                break;
            }
            let mut groups: BTreeMap<String, Vec<ActivityRecord>> = BTreeMap::new();
            for r in chunk {
                after = r.id;
                let t = r.tenant_id.clone().unwrap_or_else(|| PLATFORM.to_owned());
                if cutoff(&t).is_some_and(|c| r.ts < c) {
                    groups.entry(t).or_default().push(r);
                }
            }
            for (t, records) in groups {
                let file = self.write_archive(run, &t, &records, now)?;
                archives.push(file);
                let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
                purged += self.db.delete_activity(&ids).await?;
            }
            if purged >= budget as u64 {
                more = true;
                break;
            }
        }
        removed.insert("activity_records", purged);

        // Reports and playbook runs: finished ones past their period.
        let (mut reports, mut runs) = (0, 0);
        for t in tenants.iter().filter(|t| !held(t)) {
            let p = periods(t);
            let left = budget - reports as i64;
            if left > 0 {
                reports += self
                    .db
                    .purge_reports(t, now - p.reports_days * DAY_MS, left)
                    .await?;
            }
            let left = budget - runs as i64;
            if left > 0 {
                runs += self
                    .db
                    .purge_playbook_runs(t, now - p.playbook_runs_days * DAY_MS, left)
                    .await?;
            }
        }
        more |= reports >= budget as u64 || runs >= budget as u64;
        removed.insert("reports", reports);
        removed.insert("playbook_runs", runs);

        // Events: whole daily partitions of this server's index (the others follow this run:
        // `follow_retention`).
        let (partitions, events, left_over) = self
            .drop_expired_partitions(now, &overrides, &tenants)
            .await?;
        more |= left_over;
        removed.insert("event_partitions", partitions);
        removed.insert("events", events);
        Ok(more)
    }

    /// Drops this server's daily event partitions past each (unheld) tenant's period, at most
    /// `retention_batch` of them: (partitions, events, whether some were left).
    async fn drop_expired_partitions(
        &self,
        now: i64,
        overrides: &HashMap<String, RetentionOverride>,
        tenants: &[String],
    ) -> Result<(u64, u64, bool)> {
        let budget = self.settings.retention_batch.max(1) as u64;
        let (mut partitions, mut events) = (0u64, 0u64);
        for t in tenants {
            let o = overrides.get(t);
            if o.is_some_and(|o| o.legal_hold) {
                continue;
            }
            let left = budget.saturating_sub(partitions);
            if left == 0 {
                return Ok((partitions, events, true));
            }
            let index = self.events().clone();
            let before = now - self.settings.retention.with(o).events_days * DAY_MS;
            let t = t.clone();
            let dropped = tokio::task::spawn_blocking(move || {
                index.drop_partitions_before(&t, before, left as usize)
            })
            .await
            .map_err(|e| ServiceError::Internal(format!("retention task: {e}")))??;
            partitions += dropped.partitions as u64;
            events += dropped.events;
        }
        Ok((partitions, events, false))
    }

    /// On each heartbeat: once a run finishes anywhere in the deployment, this server drops
    /// its own copies of the expired event partitions too (each server indexes every event;
    /// the run's server has already dropped its own). The same cutoffs: the periods are in
    /// the shared database and the days are whole.
    pub(crate) async fn follow_retention(&self) {
        // A server still catching up on the stream (a new one rebuilding its index) would
        // drop before the old days arrive: it follows once it has everything.
        if self.events().lag() > 0 {
            return;
        }
        let latest = match self.db.latest_retention_run().await {
            Ok(Some(id)) => id,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the latest retention run");
                return;
            }
        };
        if self
            .retention_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_deref()
            == Some(latest.as_str())
        {
            return;
        }
        let outcome = async {
            let overrides = self.overrides_by_tenant().await?;
            let tenants = self.db.all_tenant_ids().await?;
            self.drop_expired_partitions(self.now_ms(), &overrides, &tenants)
                .await
        }
        .await;
        match outcome {
            Ok((partitions, events, _)) => {
                if partitions > 0 {
                    tracing::info!(run = %latest, partitions, events, "expired event partitions dropped");
                }
                *self
                    .retention_seen
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(latest);
            }
            Err(e) => tracing::warn!(error = %e, "expired event partitions not dropped"),
        }
    }

    /// Writes one archive of `records` (of tenant `t`) with its checksum and signed statement;
    /// returns the archive's file name.
    fn write_archive(
        &self,
        run: &str,
        t: &str,
        records: &[ActivityRecord],
        now: i64,
    ) -> Result<String> {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Err(ServiceError::Internal("an empty archive".into()));
        };
        let label = if t == PLATFORM { "platform" } else { t };
        let name = format!("activity-{label}-{}-{}.ndjson.zst", first.id, last.id);
        let dir = &self.settings.archive_dir;
        let io = |what: &str, e: std::io::Error| {
            ServiceError::Internal(format!("activity archive {what} in {}: {e}", dir.display()))
        };
        std::fs::create_dir_all(dir).map_err(|e| io("directory", e))?;
        let mut ndjson = Vec::new();
        for r in records {
            serde_json::to_writer(&mut ndjson, r)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            ndjson.push(b'\n');
        }
        let packed = zstd::stream::encode_all(&ndjson[..], 3).map_err(|e| io("compression", e))?;
        let sha256 = crate::crypto::sha256_hex(&packed);
        let statement = ArchiveStatement {
            typ: "stella-activity-archive".into(),
            file: name.clone(),
            sha256: sha256.clone(),
            records: records.len() as u64,
            first_id: first.id,
            last_id: last.id,
            from_ts: records.iter().map(|r| r.ts).min().unwrap_or(first.ts),
            to_ts: records.iter().map(|r| r.ts).max().unwrap_or(last.ts),
            tenant_id: t.to_owned(),
            run: run.to_owned(),
            iat: now / 1000,
        };
        let signed = self.tokens.keys().current().sign(&statement, now)?;
        write_durably(&dir.join(&name), &packed).map_err(|e| io("file", e))?;
        write_durably(
            &dir.join(format!("{name}.sha256")),
            format!("{sha256}  {name}\n").as_bytes(),
        )
        .map_err(|e| io("checksum", e))?;
        write_durably(&dir.join(format!("{name}.sig")), signed.as_bytes())
            .map_err(|e| io("signature", e))?;
        Ok(name)
    }

    /// Checks an archive against its checksum and signed statement (with this deployment's
    /// keys) and returns its records.
    pub fn verify_archive(&self, file: &Path) -> Result<(ArchiveStatement, Vec<Value>)> {
        let bad = |m: String| ServiceError::Invalid(vec![stella_core::FieldError::new("$", m)]);
        let packed = std::fs::read(file).map_err(|e| bad(format!("{}: {e}", file.display())))?;
        let sig_path = PathBuf::from(format!("{}.sig", file.display()));
        let sig = std::fs::read_to_string(&sig_path)
            .map_err(|e| bad(format!("{}: {e}", sig_path.display())))?;
        let statement: ArchiveStatement = self
            .tokens
            .keys()
            .current()
            .verify(sig.trim())
            .ok_or_else(|| {
                bad("the signature does not verify with this deployment's keys".into())
            })?;
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if statement.file != name || statement.sha256 != crate::crypto::sha256_hex(&packed) {
            return Err(bad(format!("{name} does not match its signed statement")));
        }
        let ndjson = zstd::stream::decode_all(&packed[..]).map_err(|e| bad(e.to_string()))?;
        let records: Vec<Value> = ndjson
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(serde_json::from_slice)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if records.len() as u64 != statement.records {
            return Err(bad("the record count differs from the statement".into()));
        }
        Ok((statement, records))
    }
}

/// Written whole, then renamed into place and synced: an archive is complete or absent.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("partial");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_checked_field_by_field() {
        let ok = parse_change(&json!({"events_days": 30, "activity_days": null})).unwrap();
        assert_eq!(ok.days, [Some(30), None, None, None]);
        assert!(ok.legal_hold.is_none());
        let e = parse_change(&json!({"events_days": 0, "reports_days": "x", "colour": 1}));
        let Err(ServiceError::Invalid(errors)) = e else {
            panic!("{e:?}")
        };
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["$.colour", "$.events_days", "$.reports_days"]);
        assert!(parse_change(&json!({"legal_hold_reason": "x"})).is_err());
        let hold =
            parse_change(&json!({"legal_hold": true, "legal_hold_reason": "case 7"})).unwrap();
        assert_eq!(hold.legal_hold, Some((true, Some("case 7".into()))));
    }

    #[test]
    fn overrides_replace_only_what_they_set() {
        let o = RetentionOverride {
            events_days: Some(7),
            ..RetentionOverride::default()
        };
        let p = Periods::default().with(Some(&o));
        assert_eq!(p.events_days, 7);
        assert_eq!(p.activity_days, Periods::default().activity_days);
    }
}
