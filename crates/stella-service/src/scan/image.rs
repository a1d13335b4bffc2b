//! Image scans: a `docker save` or OCI layout tarball (uploaded), or a delta scan (the layer
//! documents of the layers the server had not seen, plus the image's ordered layer list).
//!
//! Each layer's catalogue is stored for the caller's tenant (`scan_layers`), which is what
//! `POST /layers/missing` answers from and what a delta scan is completed with. Cataloguing is
//! blocking work on its own thread, a bounded number at once (`image_slots`).

use super::{QuotaTicket, ScanMeta};
use crate::{Result, ServiceError, Stella};
use std::path::Path;
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

    /// `POST /scan` with an image tarball.
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
        let outcome = async {
            let _slot = self.image_slot().await?;
            let path = req.path.to_owned();
            let limits = self.settings.image_limits.clone();
            let catalog = stella_catalog::Limits::default();
            let c = tokio::task::spawn_blocking(move || catalogue_tarball(&path, limits, &catalog))
                .await
                .map_err(|e| ServiceError::Internal(format!("cataloguing stopped: {e}")))?
                .map_err(image_error)?;
            self.store_layers(&tenant, &c.docs).await?;
            let squashed = stella_layers::squash(&c.docs);
            let vex_docs = Vec::new();
            let meta = ScanMeta {
                user_id: caller.user_id.clone(),
                tenant: tenant.clone(),
                kind: "image",
                subject: c.subject,
                digest: c.digest,
                size: req.size as i64,
                sbom_type: None,
                threshold,
                environment,
            };
            self.conclude(
                meta,
                &feed,
                &squashed.components(),
                squashed.warnings,
                vex_docs.clone(),
                &ticket,
            )
            .await
        }
        .await;
        self.settle_quota(outcome, ticket).await
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
            self.store_layers(&tenant, &fresh).await?;
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
            self.conclude(
                meta,
                &feed,
                &squashed.components(),
                squashed.warnings,
                vex_docs.clone(),
                &ticket,
            )
            .await
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
