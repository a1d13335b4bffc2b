//! Registry scans: `POST /scan {"image": "127.0.0.1:5000/app:1.0"}`. The answer is 202 with
//! `Location: /scans/{id}`; the pull and the scan run as a claimed background job (any server
//! of the deployment may take it), which fills in the stored scan.
//!
//! Only registries the operator lists in `scan_registry_allow` are contacted (a scan request
//! must not make the server call arbitrary hosts); `scan_registry_insecure` lists those
//! spoken to over plain http. The pull is bounded in time, bytes and layers
//! (`stella-registry`), and the pulled image is read like an uploaded one.

use super::{QuotaTicket, ScanMeta};
use crate::{Result, ServiceError, Stella};
use serde::{Deserialize, Serialize};
use stella_core::perm::ScansWrite;
use stella_core::Grant;
use stella_proto::scan::Threshold;
use stella_store::ScanRecord;

pub(crate) const REGISTRY_SCAN: &str = "registry_scan";

/// What the job needs to run the scan as its requester would have.
#[derive(Serialize, Deserialize)]
struct Job {
    scan: String,
    reference: String,
    tenant: String,
    user: String,
    threshold: Threshold,
    environment: Option<String>,
    /// The quota unit taken, given back if the scan fails.
    quota: Option<QuotaTicket>,
}

/// A scan to store as queued, and the job kind that will fill it in.
pub(crate) struct Queue {
    /// The scan's kind (`registry`, `image`).
    pub kind: &'static str,
    pub job: &'static str,
    /// Run by this server at once rather than by whichever server claims it.
    pub here: bool,
    pub tenant: String,
    pub user: String,
    pub subject: Option<String>,
    pub size: i64,
    pub threshold: Threshold,
    pub environment: Option<String>,
}

/// `202` for a queued scan: where to poll.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueuedScan {
    pub id: String,
    /// `queued`.
    pub state: String,
    pub location: String,
}

fn registry_error(e: stella_registry::RegistryError) -> ServiceError {
    ServiceError::BadInput {
        code: e.code().to_owned(),
        detail: e.to_string(),
    }
}

impl Stella {
    /// Whether `host` (`host` or `host:port`) is in a list of registry hosts.
    fn listed(list: &[String], host: &str) -> bool {
        list.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// `POST /scan` with `{"image": reference}`: queues the scan.
    pub async fn scan_registry(
        &self,
        g: Grant<'_, ScansWrite>,
        reference: &str,
        threshold: Option<&str>,
        environment: Option<&str>,
        tenant: Option<&str>,
    ) -> Result<QueuedScan> {
        let caller = g.caller();
        let threshold = Self::scan_threshold(threshold)?;
        let environment = Self::scan_environment(environment)?;
        let tenant = self.scan_tenant(caller, tenant)?;
        let parsed = stella_registry::Reference::parse(reference).map_err(registry_error)?;
        if !Self::listed(&self.settings.scan_registry_allow, &parsed.registry) {
            return Err(ServiceError::Forbidden(format!(
                "this server does not pull from {}: an operator lists the registries it may \
                 contact in scan_registry_allow",
                parsed.registry
            )));
        }
        self.loaded_feed()?;
        let ticket = self.take_scan_quota(caller).await?;
        let id = stella_core::ids::new_id();
        let queue = Queue {
            kind: "registry",
            job: REGISTRY_SCAN,
            here: false,
            tenant: tenant.clone(),
            user: caller.user_id.clone(),
            subject: Some(parsed.to_string()),
            size: 0,
            threshold,
            environment: environment.clone(),
        };
        let job = Job {
            scan: id.clone(),
            reference: parsed.to_string(),
            tenant,
            user: caller.user_id.clone(),
            threshold,
            environment,
            quota: ticket.clone(),
        };
        self.queue_scan(queue, id, &job, ticket).await
    }

    /// Stores a queued scan and starts or queues the job that fills it in (`here`: claimed by
    /// this server from the start, for work whose input only it holds). If either fails, the
    /// quota unit taken for it (which the payload carries for the job) is given back.
    pub(crate) async fn queue_scan<P: Serialize>(
        &self,
        q: Queue,
        id: String,
        payload: &P,
        ticket: Option<QuotaTicket>,
    ) -> Result<QueuedScan> {
        let record = ScanRecord {
            id: id.clone(),
            tenant_id: q.tenant,
            created_at: self.now_ms(),
            created_by: Some(q.user),
            state: "queued".into(),
            kind: q.kind.into(),
            subject: q.subject,
            digest: String::new(),
            size: q.size,
            sbom_type: None,
            threshold: q.threshold.as_str().into(),
            environment: q.environment,
            policy_status: None,
            summary: None,
            feed_version: None,
            policy_hash: None,
            result: None,
            error: None,
        };
        let started = async {
            self.db.insert_scan(&record).await?;
            let payload =
                serde_json::to_value(payload).map_err(|e| ServiceError::Internal(e.to_string()))?;
            let tenant = Some(record.tenant_id.as_str());
            if q.here {
                self.start_job_here(q.job, tenant, &payload).await
            } else {
                self.enqueue_job(q.job, tenant, &payload).await
            }
        }
        .await;
        if let Err(e) = started {
            self.return_scan_quota(ticket).await;
            return Err(e);
        }
        Ok(QueuedScan {
            location: format!("/scans/{id}"),
            id,
            state: "queued".into(),
        })
    }

    /// The job: pull, catalogue, conclude into the queued scan.
    pub(crate) async fn registry_scan_job(
        &self,
        payload: &serde_json::Value,
    ) -> Result<Option<String>> {
        let mut job: Job = match serde_json::from_value(payload.clone()) {
            Ok(j) => j,
            Err(e) => return Ok(Some(format!("a registry scan job that does not read: {e}"))),
        };
        let ticket = job.quota.take();
        match self.run_registry_scan(&job, &ticket).await {
            Ok(()) => Ok(None),
            Err(e) => {
                let why = e.to_string();
                self.fail_scan(&job.scan, &why).await?;
                self.return_scan_quota(ticket).await;
                Ok(Some(why))
            }
        }
    }

    pub(crate) async fn registry_scan_given_up(
        &self,
        payload: &serde_json::Value,
        why: &str,
    ) -> Result<()> {
        if let Some(id) = payload["scan"].as_str() {
            self.fail_scan(id, why).await?;
        }
        Ok(())
    }

    pub(crate) async fn fail_scan(&self, id: &str, why: &str) -> Result<()> {
        Ok(self.db.fail_scan(id, why).await?)
    }

    async fn run_registry_scan(&self, job: &Job, ticket: &Option<QuotaTicket>) -> Result<()> {
        let feed = self.loaded_feed()?;
        let reference =
            stella_registry::Reference::parse(&job.reference).map_err(registry_error)?;
        let spool = self.settings.spool_dir.clone();
        std::fs::create_dir_all(&spool)
            .map_err(|e| ServiceError::Internal(format!("spool directory: {e}")))?;
        let dir = tempfile::tempdir_in(&spool)
            .map_err(|e| ServiceError::Internal(format!("spool directory: {e}")))?;
        let options = stella_registry::Options {
            insecure_http: self.settings.scan_registry_insecure.clone(),
            ..stella_registry::Options::default()
        };
        let pulled =
            stella_registry::pull(&self.registry_client(), &reference, dir.path(), &options)
                .await
                .map_err(registry_error)?;
        let _slot = self.image_slot().await?;
        let path = dir.path().to_owned();
        let limits = self.settings.image_limits.clone();
        let docs = tokio::task::spawn_blocking(move || {
            let mut archive = stella_image::open_layout_dir(&path, limits)?;
            let n = archive.image().layers.len();
            (0..n)
                .map(|i| {
                    stella_layers::catalogue_layer(
                        &mut archive,
                        i,
                        &stella_catalog::Limits::default(),
                    )
                })
                .collect::<std::result::Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("cataloguing stopped: {e}")))?
        .map_err(|e: stella_layers::LayerError| ServiceError::BadInput {
            code: e.code().to_owned(),
            detail: e.to_string(),
        })?;
        let squashed = stella_layers::squash(&docs);
        let meta = ScanMeta {
            user_id: job.user.clone(),
            tenant: job.tenant.clone(),
            kind: "registry",
            subject: Some(job.reference.clone()),
            digest: pulled.manifest_digest.clone(),
            size: pulled.bytes as i64,
            sbom_type: None,
            threshold: job.threshold,
            environment: job.environment.clone(),
        };
        self.conclude_into(
            Some(&job.scan),
            meta,
            &feed,
            &squashed.components(),
            squashed.warnings,
            Vec::new(),
            ticket,
        )
        .await?;
        // Kept only from a scan that succeeded: nothing is stored from a failed one.
        self.store_layers(&job.tenant, &docs).await?;
        Ok(())
    }

    /// The client registry pulls use: no redirects of its own (the puller follows them within
    /// its bound), no proxy.
    fn registry_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default()
    }
}
