//! Image scans: a `docker save` or OCI layout tarball (uploaded), or a delta scan (the layer
//! documents of the layers the server had not seen, plus the image's ordered layer list).
//!
//! Each layer's catalogue is stored for the caller's tenant (`scan_layers`), which is what
//! `POST /layers/missing` answers from and what a delta scan is completed with. Cataloguing is
//! blocking work on its own thread, a bounded number at once (`image_slots`).

use super::registry::{Queue, QueuedScan};
use super::{QuotaTicket, ScanMeta};
use crate::{Result, ServiceError, Stella};
use std::path::{Path, PathBuf};
use stella_core::perm::ScansWrite;
use stella_core::Grant;
use stella_layers::LayerDoc;
use stella_proto::scan::{ScanResponse, Threshold};

/// `POST /scan` with an image tarball, as the HTTP layer hands it over.
#[derive(Debug, Clone)]
pub struct ImageScan<'a> {
    /// The spooled upload.
    pub path: &'a Path,
    pub size: u64,
    pub threshold: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub tenant: Option<&'a str>,
}

pub(crate) const IMAGE_SCAN: &str = "image_scan";

/// An image scan's work: the spooled tarball and whom it is for. The payload of a queued
/// scan's job.
#[derive(serde::Serialize, serde::Deserialize)]
struct ImageWork {
    /// The queued scan to fill in; `None` when answered at once.
    scan: Option<String>,
    file: PathBuf,
    size: u64,
    tenant: String,
    user: String,
    threshold: Threshold,
    environment: Option<String>,
    /// The quota unit taken, given back if the scan fails.
    quota: Option<QuotaTicket>,
}

/// `POST /scan` of a delta: `layers` in image order (bottom first), `layerSboms` the layer
/// documents of those the server reported missing.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeltaScan {
    /// The image's name, for the record.
    #[serde(default)]
    pub image: Option<String>,
    /// The image's digest (its config or manifest digest), for the answer.
    #[serde(default)]
    pub digest: Option<String>,
    pub layers: Vec<String>,
    #[serde(default)]
    pub layer_sboms: Vec<serde_json::Value>,
    /// VEX documents (OpenVEX or CycloneDX VEX) that apply to this scan only.
    #[serde(default)]
    pub vex: Vec<serde_json::Value>,
}

fn image_error(e: stella_layers::LayerError) -> ServiceError {
    match e.code() {
        "image-io" => ServiceError::Internal(e.to_string()),
        code => ServiceError::BadInput {
            code: code.to_owned(),
            detail: e.to_string(),
        },
    }
}

/// What cataloguing an image gave.
struct Catalogued {
    docs: Vec<LayerDoc>,
    digest: String,
    subject: Option<String>,
}

fn catalogue_tarball(
    path: &Path,
    limits: stella_image::Limits,
    catalog: &stella_catalog::Limits,
) -> std::result::Result<Catalogued, stella_layers::LayerError> {
    let file = std::fs::File::open(path)
        .map_err(|e| stella_layers::LayerError::Image(stella_image::ImageError::Io(e)))?;
    let mut archive = stella_image::open_archive(std::io::BufReader::new(file), limits)?;
    let image = archive.image().clone();
    let mut docs = Vec::with_capacity(image.layers.len());
    for i in 0..image.layers.len() {
        docs.push(stella_layers::catalogue_layer(&mut archive, i, catalog)?);
    }
    Ok(Catalogued {
        docs,
        digest: image
            .manifest_digest
            .clone()
            .unwrap_or_else(|| image.config_digest.clone()),
        subject: image.repo_tags.first().cloned(),
    })
}

impl Stella {
    pub(crate) fn scan_threshold(t: Option<&str>) -> Result<Threshold> {
        match t {
            None => Ok(Threshold::default()),
            Some(t) => t.parse().map_err(|e: stella_proto::scan::ThresholdError| {
                ServiceError::invalid("threshold", e.to_string())
            }),
        }
    }

    /// `POST /scan` with an image tarball, answered when scanned.
    pub async fn scan_image(
        &self,
        g: Grant<'_, ScansWrite>,
        req: ImageScan<'_>,
    ) -> Result<ScanResponse> {
        let caller = g.caller();
        let threshold = Self::scan_threshold(req.threshold)?;
        let environment = Self::scan_environment(req.environment)?;
        let tenant = self.scan_tenant(caller, req.tenant)?;
        let feed = self.loaded_feed()?;
        let ticket = self.take_scan_quota(caller).await?;
        let work = ImageWork {
            scan: None,
            file: req.path.to_owned(),
            size: req.size,
            tenant,
            user: caller.user_id.clone(),
            threshold,
            environment,
            quota: None,
        };
        let outcome = self.image_work(&work, &feed, &ticket).await;
        self.settle_quota(outcome, ticket).await
    }

    /// `POST /scan` with an image tarball too large to answer at once (or asked for with
    /// `Prefer: respond-async`): the scan is stored as queued and runs on this server, which
    /// holds the upload; `req.path` becomes the job's and is deleted when it ends. The answer
    /// says where to poll.
    pub async fn scan_image_queued(
        &self,
        g: Grant<'_, ScansWrite>,
        req: ImageScan<'_>,
    ) -> Result<QueuedScan> {
        let queued = self.queue_image_scan(g, &req).await;
        if queued.is_err() {
            let _ = std::fs::remove_file(req.path);
        }
        queued
    }

    async fn queue_image_scan(
        &self,
        g: Grant<'_, ScansWrite>,
        req: &ImageScan<'_>,
    ) -> Result<QueuedScan> {
        let caller = g.caller();
        let threshold = Self::scan_threshold(req.threshold)?;
        let environment = Self::scan_environment(req.environment)?;
        let tenant = self.scan_tenant(caller, req.tenant)?;
        self.loaded_feed()?;
        let ticket = self.take_scan_quota(caller).await?;
        let id = stella_core::ids::new_id();
        let queue = Queue {
            kind: "image",
            job: IMAGE_SCAN,
            here: true,
            tenant: tenant.clone(),
            user: caller.user_id.clone(),
            subject: None,
            size: req.size as i64,
            threshold,
            environment: environment.clone(),
        };
        let work = ImageWork {
            scan: Some(id.clone()),
            file: req.path.to_owned(),
            size: req.size,
            tenant,
            user: caller.user_id.clone(),
            threshold,
            environment,
            quota: ticket.clone(),
        };
        self.queue_scan(queue, id, &work, ticket).await
    }

    /// The job of a queued image scan: catalogue the held upload, conclude into the scan.
    pub(crate) async fn image_scan_job(
        &self,
        payload: &serde_json::Value,
    ) -> Result<Option<String>> {
        let mut work: ImageWork = match serde_json::from_value(payload.clone()) {
            Ok(w) => w,
            Err(e) => return Ok(Some(format!("an image scan job that does not read: {e}"))),
        };
        let ticket = work.quota.take();
        let outcome = if work.file.is_file() {
            match self.loaded_feed() {
                Ok(feed) => self.image_work(&work, &feed, &ticket).await.map(|_| ()),
                Err(e) => Err(e),
            }
        } else {
            // Claimed after the server that received the upload stopped: the bytes were there.
            Err(ServiceError::Unavailable(
                "the server that received this image stopped before scanning it; post the \
                 image again"
                    .into(),
            ))
        };
        let _ = std::fs::remove_file(&work.file);
        match outcome {
            Ok(()) => Ok(None),
            Err(e) => {
                let why = e.to_string();
                if let Some(id) = &work.scan {
                    self.fail_scan(id, &why).await?;
                }
                self.return_scan_quota(ticket).await;
                Ok(Some(why))
            }
        }
    }

    pub(crate) async fn image_scan_given_up(
        &self,
        payload: &serde_json::Value,
        why: &str,
    ) -> Result<()> {
        if let Some(file) = payload["file"].as_str() {
            let _ = std::fs::remove_file(file);
        }
        if let Some(id) = payload["scan"].as_str() {
            self.fail_scan(id, why).await?;
        }
        Ok(())
    }

    /// Catalogues the tarball, stores its layers and concludes the scan (into the queued one
    /// when `work.scan` names it).
    async fn image_work(
        &self,
        work: &ImageWork,
        feed: &super::feed::LoadedFeed,
        ticket: &Option<QuotaTicket>,
    ) -> Result<ScanResponse> {
        let _slot = self.image_slot().await?;
        let path = work.file.clone();
        let limits = self.settings.image_limits.clone();
        let catalog = stella_catalog::Limits::default();
        let c = tokio::task::spawn_blocking(move || catalogue_tarball(&path, limits, &catalog))
            .await
            .map_err(|e| ServiceError::Internal(format!("cataloguing stopped: {e}")))?
            .map_err(image_error)?;
        let squashed = stella_layers::squash(&c.docs);
        let meta = ScanMeta {
            user_id: work.user.clone(),
            tenant: work.tenant.clone(),
            kind: "image",
            subject: c.subject,
            digest: c.digest,
            size: work.size as i64,
            sbom_type: None,
            threshold: work.threshold,
            environment: work.environment.clone(),
        };
        let answer = self
            .conclude_into(
                work.scan.as_deref(),
                meta,
                feed,
                &squashed.components(),
                squashed.warnings,
                Vec::new(),
                ticket,
            )
            .await?;
        // Kept only from a scan that succeeded: nothing is stored from a failed one.
        self.store_layers(&work.tenant, &c.docs).await?;
        Ok(answer)
    }

    /// `POST /scan` of a delta (layer documents for the missing layers, the rest stored).
    pub async fn scan_delta(
        &self,
        g: Grant<'_, ScansWrite>,
        body: &[u8],
        digest: &str,
        threshold: Option<&str>,
        environment: Option<&str>,
        tenant: Option<&str>,
    ) -> Result<ScanResponse> {
        let caller = g.caller();
        let threshold = Self::scan_threshold(threshold)?;
        let environment = Self::scan_environment(environment)?;
        let tenant = self.scan_tenant(caller, tenant)?;
        let req: DeltaScan = serde_json::from_slice(body)
            .map_err(|e| ServiceError::invalid("$", format!("not a delta scan: {e}")))?;
        if req.layers.is_empty() || req.layers.len() > super::MAX_LAYERS {
            return Err(ServiceError::invalid(
                "$.layers",
                format!("1 to {} layer digests, bottom first", super::MAX_LAYERS),
            ));
        }
        if let Some((i, d)) = req
            .layers
            .iter()
            .enumerate()
            .find(|(_, d)| !super::is_layer_digest(d))
        {
            return Err(ServiceError::invalid(
                &format!("$.layers[{i}]"),
                format!(
                    "Layer digest malformed: '{}'",
                    d.chars().take(80).collect::<String>()
                ),
            ));
        }
        let mut uploaded = std::collections::HashMap::new();
        for (i, doc) in req.layer_sboms.iter().enumerate() {
            let d = LayerDoc::from_cyclonedx(doc)
                .map_err(|e| ServiceError::invalid(&format!("$.layerSboms[{i}]"), e.to_string()))?;
            if !req.layers.contains(&d.diff_id) {
                return Err(ServiceError::invalid(
                    &format!("$.layerSboms[{i}]"),
                    format!("layer {} is not in $.layers", d.diff_id),
                ));
            }
            uploaded.insert(d.diff_id.clone(), d);
        }
        let mut vex_docs = Vec::with_capacity(req.vex.len());
        for (i, v) in req.vex.iter().enumerate() {
            vex_docs.push(
                stella_vex::parse_value(v, &stella_vex::Limits::default())
                    .map_err(|e| ServiceError::invalid(&format!("$.vex[{i}]"), e.to_string()))?,
            );
        }
        let feed = self.loaded_feed()?;
        let ticket = self.take_scan_quota(caller).await?;
        let outcome = async {
            let mut docs = Vec::with_capacity(req.layers.len());
            for (i, d) in req.layers.iter().enumerate() {
                match uploaded.get(d) {
                    Some(doc) => docs.push(doc.clone()),
                    None => match self.db.layer_catalogue(&tenant, d).await? {
                        Some(text) => docs.push(serde_json::from_str(&text).map_err(|e| {
                            ServiceError::Internal(format!("a stored layer catalogue: {e}"))
                        })?),
                        None => {
                            return Err(ServiceError::invalid(
                                &format!("$.layers[{i}]"),
                                format!(
                                    "layer {d} is neither in $.layerSboms nor catalogued by this \
                                     server: ask POST /layers/missing and send its SBOM"
                                ),
                            ))
                        }
                    },
                }
            }
            let fresh: Vec<LayerDoc> = uploaded.into_values().collect();
            let squashed = stella_layers::squash(&docs);
            let meta = ScanMeta {
                user_id: caller.user_id.clone(),
                tenant: tenant.clone(),
                kind: "delta",
                subject: req.image.clone(),
                digest: req
                    .digest
                    .clone()
                    .filter(|d| super::is_layer_digest(d))
                    .unwrap_or_else(|| digest.to_owned()),
                size: body.len() as i64,
                sbom_type: None,
                threshold,
                environment,
            };
            let answer = self
                .conclude(
                    meta,
                    &feed,
                    &squashed.components(),
                    squashed.warnings,
                    vex_docs.clone(),
                    &ticket,
                )
                .await?;
            // Kept only from a scan that succeeded: nothing is stored from a failed one.
            self.store_layers(&tenant, &fresh).await?;
            Ok(answer)
        }
        .await;
        self.settle_quota(outcome, ticket).await
    }

    /// Gives the quota unit back when the scan failed.
    pub(crate) async fn settle_quota(
        &self,
        outcome: Result<ScanResponse>,
        ticket: Option<QuotaTicket>,
    ) -> Result<ScanResponse> {
        if outcome.is_err() {
            self.return_scan_quota(ticket).await;
        }
        outcome
    }

    pub(crate) async fn store_layers(&self, tenant: &str, docs: &[LayerDoc]) -> Result<()> {
        let now = self.now_ms();
        for d in docs {
            let text =
                serde_json::to_string(d).map_err(|e| ServiceError::Internal(e.to_string()))?;
            self.db
                .put_layer_catalogue(tenant, &d.diff_id, &text, now)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn image_slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            self.scanning.image_slots.acquire(),
        )
        .await
        .map_err(|_| {
            ServiceError::Unavailable("every image scan slot is busy; retry shortly".into())
        })?
        .map_err(|_| ServiceError::Unavailable("the server is stopping".into()))
    }
}
