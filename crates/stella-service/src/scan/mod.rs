//! Supply-chain scanning (issue 13): the vulnerability feed, `POST /scan` of SBOMs, stored
//! scans per tenant, offline-token quotas.
//!
//! A scan parses its SBOM (`stella-sbom`), looks every component up in the feed this server
//! has loaded (`stella-osv`, see `feed.rs`), decides pass / fail against the threshold, and
//! stores the answer under the caller's tenant. A scan made with an offline token takes one
//! unit of the token's daily quota before it starts and gives it back if it fails, so
//! nothing is counted for a failed scan and two servers cannot both take the last unit.

mod assess;
pub mod feed;
pub mod image;
pub mod policy;
pub mod registry;
pub mod vex;

use crate::{Result, ServiceError, Stella};
use serde::Serialize;
use stella_core::clock::rfc3339_ms;
use stella_core::perm::{ScansRead, ScansWrite};
use stella_core::{Grant, Principal, Scope};
use stella_proto::scan::{Finding, Quota, ScanResponse, ScanSummary, Threshold, Unassessed};
use stella_store::{ScanReader, ScanRecord, PLATFORM};

pub use feed::{FeedImportView, FeedStatusView, LoadedFeed};
pub use image::{DeltaScan, ImageScan};
pub use policy::{ActivePolicy, PolicyVersion};
pub use registry::QueuedScan;
pub use stella_policy::Summary as PolicySummary;
pub use vex::VexView;

/// The SBOM bounds for a body of at most `max_bytes`.
pub fn sbom_limits(max_bytes: usize) -> stella_sbom::Limits {
    stella_sbom::Limits {
        max_bytes,
        ..stella_sbom::Limits::default()
    }
}

/// The image bounds for layers of at most `layer_bytes` and images of `total_bytes`.
pub fn image_limits(layer_bytes: u64, total_bytes: u64) -> stella_image::Limits {
    stella_image::Limits {
        max_layer_bytes: layer_bytes,
        max_total_bytes: total_bytes,
        ..stella_image::Limits::default()
    }
}

#[derive(Debug)]
pub(crate) struct ScanState {
    pub(crate) feed: feed::FeedState,
    /// Images catalogued at once (each takes a thread and its layers' largest files).
    pub(crate) image_slots: tokio::sync::Semaphore,
    pub(crate) policies: policy::PolicyCache,
}

impl Default for ScanState {
    fn default() -> Self {
        ScanState {
            feed: Default::default(),
            image_slots: tokio::sync::Semaphore::new(2),
            policies: Default::default(),
        }
    }
}

/// `POST /scan` with an SBOM body, as the HTTP layer hands it over.
#[derive(Debug, Clone)]
pub struct SbomScan<'a> {
    pub body: &'a [u8],
    /// `sha256:<hex>` of the body.
    pub digest: String,
    /// `X-Stella-Sbom-Type`.
    pub sbom_type: Option<&'a str>,
    /// `?threshold=`.
    pub threshold: Option<&'a str>,
    /// `?environment=`: which policy rules apply.
    pub environment: Option<&'a str>,
    /// `?tenant_id=`: where a caller above tenants stores the scan.
    pub tenant: Option<&'a str>,
}

/// A stored scan (`GET /scans/{id}`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanView {
    pub id: String,
    pub tenant_id: String,
    pub created_at: String,
    pub created_by: Option<String>,
    /// `done`, `queued`, `running` or `failed`.
    pub state: String,
    /// `sbom`, `image` or `registry`.
    pub kind: String,
    pub subject: Option<String>,
    pub digest: String,
    pub size: i64,
    pub sbom_type: Option<String>,
    pub threshold: String,
    pub environment: Option<String>,
    pub policy_status: Option<String>,
    #[schema(value_type = Object)]
    pub summary: Option<ScanSummary>,
    pub feed_version: Option<String>,
    #[schema(value_type = Vec<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<Vec<Finding>>,
    #[schema(value_type = Vec<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unassessed: Option<Vec<Unassessed>>,
    /// Every component scanned (name, version, purl, ecosystem, layer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<ScannedComponent>>,
    /// Things read but not understood (SBOM quirks, files a cataloguer could not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    pub error: Option<String>,
}

/// The stored part of an answer.
#[derive(Debug, Serialize, serde::Deserialize)]
struct Stored {
    #[serde(default)]
    findings: Vec<Finding>,
    #[serde(default)]
    unassessed: Vec<Unassessed>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    components: Vec<ScannedComponent>,
}

/// A component a scan looked at (`GET /scans/{id}`): for an image, what was catalogued.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ScannedComponent {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

/// `GET /scans/{id}/compare/{other}`: how `other` (the newer, usually) differs from `id`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanComparison {
    pub base: String,
    pub head: String,
    /// In `head`, not in `base`.
    #[schema(value_type = Vec<Object>)]
    pub new: Vec<Finding>,
    /// In `base`, not in `head`.
    #[schema(value_type = Vec<Object>)]
    pub fixed: Vec<Finding>,
    /// In both (as `head` has them).
    #[schema(value_type = Vec<Object>)]
    pub unchanged: Vec<Finding>,
}

/// What is known of a scan before its components are assessed.
pub(crate) struct ScanMeta {
    pub user_id: String,
    pub tenant: String,
    /// `sbom`, `image`, `delta` or `registry`.
    pub kind: &'static str,
    pub subject: Option<String>,
    pub digest: String,
    pub size: i64,
    pub sbom_type: Option<String>,
    pub threshold: Threshold,
    pub environment: Option<String>,
}

/// One unit of an offline token's quota, taken for a scan under way. A queued scan's job
/// carries it (serialised) to give it back should the scan fail.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct QuotaTicket {
    token_id: String,
    day: String,
    max: i64,
    used: i64,
}

fn view(r: ScanRecord, with_result: bool) -> ScanView {
    let stored: Option<Stored> = if with_result {
        r.result
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
    } else {
        None
    };
    let (findings, unassessed, components, warnings) = match stored {
        Some(s) => (
            Some(s.findings),
            Some(s.unassessed),
            Some(s.components),
            Some(s.warnings),
        ),
        None => (None, None, None, None),
    };
    ScanView {
        id: r.id,
        tenant_id: r.tenant_id,
        created_at: rfc3339_ms(r.created_at),
        created_by: r.created_by,
        state: r.state,
        kind: r.kind,
        subject: r.subject,
        digest: r.digest,
        size: r.size,
        sbom_type: r.sbom_type,
        threshold: r.threshold,
        environment: r.environment,
        policy_status: r.policy_status,
        summary: r
            .summary
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok()),
        feed_version: r.feed_version,
        findings,
        unassessed,
        components,
        warnings,
        error: r.error,
    }
}

/// The identity of a finding across scans: the vulnerability and the package.
fn finding_key(f: &Finding) -> (String, String) {
    (f.id.clone(), f.package.clone())
}

fn sbom_error(e: stella_sbom::SbomError) -> ServiceError {
    ServiceError::BadInput {
        code: e.code().to_owned(),
        detail: e.to_string(),
    }
}

impl Stella {
    /// Where a caller's scan is stored: its tenant; above tenants, the one named (within its
    /// reach) or the platform's.
    fn scan_tenant(&self, caller: &Principal, named: Option<&str>) -> Result<String> {
        match (caller.scope, named) {
            (Scope::Tenant, None) => caller
                .tenant_ids
                .first()
                .cloned()
                .ok_or_else(|| ServiceError::Forbidden("the caller has no tenant".into())),
            (_, Some(t)) => {
                if caller.tenant_filter().allows(t) {
                    Ok(t.to_owned())
                } else {
                    Err(ServiceError::NotFound(format!("no tenant '{t}'")))
                }
            }
            (_, None) => Ok(PLATFORM.to_owned()),
        }
    }

    /// `?environment=`: a short printable name.
    pub(crate) fn scan_environment(e: Option<&str>) -> Result<Option<String>> {
        match e.map(str::trim) {
            Some(e) if e.is_empty() || e.len() > 64 || e.chars().any(char::is_control) => Err(
                ServiceError::invalid("environment", "a name of 1 to 64 printable characters"),
            ),
            e => Ok(e.map(str::to_owned)),
        }
    }

    /// The feed to scan with, or 503 saying how to get one.
    pub(crate) fn loaded_feed(&self) -> Result<std::sync::Arc<feed::LoadedFeed>> {
        self.feed().ok_or_else(|| {
            ServiceError::Unavailable(
                "no vulnerability feed is loaded yet: an administrator imports one with \
                 `stellopsctl feed refresh --from PATH` (or it is still loading)"
                    .into(),
            )
        })
    }

    /// Seconds from now to the next UTC midnight, when daily quotas reset.
    fn secs_to_reset(&self) -> u64 {
        let now = self.clock.now();
        let next = (now.date_naive() + chrono::Days::new(1))
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp())
            .unwrap_or(now.timestamp());
        (next - now.timestamp()).max(1) as u64
    }

    /// Takes one unit of the caller's daily scan quota, if it carries one (offline tokens).
    async fn take_scan_quota(&self, caller: &Principal) -> Result<Option<QuotaTicket>> {
        let (Some(quota), Some(token_id)) = (caller.quota, caller.credential_id.as_deref()) else {
            return Ok(None);
        };
        let day = self.clock.now().format("%Y-%m-%d").to_string();
        match self
            .db
            .take_quota(token_id, &day, quota.max_per_day)
            .await?
        {
            Some(used) => Ok(Some(QuotaTicket {
                token_id: token_id.to_owned(),
                day,
                max: quota.max_per_day,
                used,
            })),
            None => Err(ServiceError::TooManyRequests {
                retry_after_secs: self.secs_to_reset(),
                detail: format!(
                    "this token's {} scans for today (UTC) are used; the quota resets at \
                     midnight UTC",
                    quota.max_per_day
                ),
            }),
        }
    }

    async fn return_scan_quota(&self, ticket: Option<QuotaTicket>) {
        if let Some(t) = ticket {
            if let Err(e) = self.db.return_quota(&t.token_id, &t.day).await {
                tracing::warn!(error = %e, "a failed scan's quota unit was not given back");
            }
        }
    }

    fn quota_of(&self, ticket: &Option<QuotaTicket>) -> Option<Quota> {
        ticket.as_ref().map(|t| {
            let now = self.clock.now();
            let reset = (now.date_naive() + chrono::Days::new(1))
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc().timestamp_millis())
                .unwrap_or(0);
            Quota {
                remaining: (t.max - t.used).max(0) as u64,
                reset: rfc3339_ms(reset),
            }
        })
    }

    /// `POST /scan` with an SBOM.
    pub async fn scan_sbom(
        &self,
        g: Grant<'_, ScansWrite>,
        req: SbomScan<'_>,
    ) -> Result<ScanResponse> {
        let caller = g.caller();
        let threshold: Threshold = match req.threshold {
            None => Threshold::default(),
            Some(t) => t.parse().map_err(|e: stella_proto::scan::ThresholdError| {
                ServiceError::invalid("threshold", e.to_string())
            })?,
        };
        let environment = Self::scan_environment(req.environment)?;
        let kind = req
            .sbom_type
            .map(stella_sbom::SbomType::from_header)
            .transpose()
            .map_err(sbom_error)?;
        let tenant = self.scan_tenant(caller, req.tenant)?;
        let ticket = self.take_scan_quota(caller).await?;
        let outcome = self
            .run_sbom_scan(caller, &req, kind, threshold, environment, tenant, &ticket)
            .await;
        match outcome {
            Ok(answer) => Ok(answer),
            Err(e) => {
                self.return_scan_quota(ticket).await;
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_sbom_scan(
        &self,
        caller: &Principal,
        req: &SbomScan<'_>,
        kind: Option<stella_sbom::SbomType>,
        threshold: Threshold,
        environment: Option<String>,
        tenant: String,
        ticket: &Option<QuotaTicket>,
    ) -> Result<ScanResponse> {
        let feed = self.loaded_feed()?;
        let limits = self.settings.sbom_limits.clone();
        let sbom = match kind {
            Some(k) => stella_sbom::parse_as(req.body, k, &limits),
            None => stella_sbom::parse(req.body, &limits),
        }
        .map_err(sbom_error)?;
        let meta = ScanMeta {
            user_id: caller.user_id.clone(),
            tenant,
            kind: "sbom",
            subject: sbom.subject.as_ref().map(|s| match &s.version {
                Some(v) => format!("{}@{v}", s.name),
                None => s.name.clone(),
            }),
            digest: req.digest.clone(),
            size: req.body.len() as i64,
            sbom_type: Some(sbom.kind.name().to_owned()),
            threshold,
            environment,
        };
        // A CycloneDX SBOM may carry its own VEX analysis (`vulnerabilities`).
        let mut warnings = sbom.warnings;
        let embedded = if sbom.kind == stella_sbom::SbomType::CycloneDxJson
            && req.body.windows(17).any(|w| w == b"\"vulnerabilities\"")
        {
            match stella_vex::parse(req.body, &stella_vex::Limits::default()) {
                Ok(d) => vec![d],
                Err(e) => {
                    warnings.push(format!(
                        "the SBOM's vulnerabilities were not read as VEX: {e}"
                    ));
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        self.conclude(meta, &feed, &sbom.components, warnings, embedded, ticket)
            .await
    }

    /// Assesses `components` against `feed`, decides the verdict, stores the scan and makes
    /// the answer: the part every kind of scan shares.
    pub(crate) async fn conclude(
        &self,
        meta: ScanMeta,
        feed: &feed::LoadedFeed,
        components: &[stella_sbom::Component],
        warnings: Vec<String>,
        vex_docs: Vec<stella_vex::VexDocument>,
        ticket: &Option<QuotaTicket>,
    ) -> Result<ScanResponse> {
        self.conclude_into(None, meta, feed, components, warnings, vex_docs, ticket)
            .await
    }

    /// [`Stella::conclude`] into a scan already recorded as queued (`existing`), or a new one.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn conclude_into(
        &self,
        existing: Option<&str>,
        meta: ScanMeta,
        feed: &feed::LoadedFeed,
        components: &[stella_sbom::Component],
        warnings: Vec<String>,
        vex_docs: Vec<stella_vex::VexDocument>,
        ticket: &Option<QuotaTicket>,
    ) -> Result<ScanResponse> {
        let mut assessed = assess::assess(&feed.db, components);
        if let Some(set) = self.vex_for(&meta.tenant, vex_docs).await? {
            vex::apply(&set, &mut assessed.findings);
        }
        let threshold = meta.threshold;
        let (policy, policy_hash) = self.policy_for(&meta.tenant).await?;
        let decision = {
            let findings = std::mem::take(&mut assessed.findings);
            let environment = meta.environment.clone();
            let now = self.clock.now();
            let policy = policy.clone();
            // A Rego module may run up to its time limit: not on the async threads.
            let (decision, findings) = tokio::task::spawn_blocking(move || {
                let input = stella_policy::Input {
                    findings: &findings,
                    environment: environment.as_deref(),
                    now,
                    threshold,
                };
                let d = policy.evaluate(&input);
                (d, findings)
            })
            .await
            .map_err(|e| ServiceError::Internal(format!("policy evaluation stopped: {e}")))?;
            assessed.findings = findings;
            decision.map_err(|e| ServiceError::BadInput {
                code: "policy-evaluation-failed".into(),
                detail: format!(
                    "the scan policy could not decide: {e}; fix it with POST /policy/import"
                ),
            })?
        };
        decision.annotate(&mut assessed.findings);
        let mut summary = ScanSummary::default();
        for f in assessed.findings.iter().filter(|f| !f.suppressed) {
            summary.add(f.severity);
        }
        let policy_status = decision.status;
        let id = existing.map_or_else(stella_core::ids::new_id, str::to_owned);
        let stored = Stored {
            findings: assessed.findings,
            unassessed: assessed.unassessed,
            warnings,
            components: components
                .iter()
                .map(|c| ScannedComponent {
                    name: c.name.clone(),
                    version: c.version.clone(),
                    purl: c.purl.as_ref().map(ToString::to_string),
                    ecosystem: c.ecosystem.clone(),
                    layer: c.layer.clone(),
                })
                .collect(),
        };
        let record = ScanRecord {
            id: id.clone(),
            tenant_id: meta.tenant,
            created_at: self.now_ms(),
            created_by: Some(meta.user_id),
            state: "done".into(),
            kind: meta.kind.into(),
            subject: meta.subject,
            digest: meta.digest.clone(),
            size: meta.size,
            sbom_type: meta.sbom_type,
            threshold: threshold.as_str().to_owned(),
            environment: meta.environment,
            policy_status: Some(policy_status.as_str().to_owned()),
            summary: Some(
                serde_json::to_string(&summary)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?,
            ),
            feed_version: Some(feed.version.id.clone()),
            policy_hash,
            result: Some(
                serde_json::to_string(&stored)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?,
            ),
            error: None,
        };
        match existing {
            Some(_) => self.db.finish_scan(&record).await?,
            None => self.db.insert_scan(&record).await?,
        }
        Ok(ScanResponse {
            digest: meta.digest,
            summary,
            policy_status,
            quota: self.quota_of(ticket),
            id: Some(id),
            findings: stored.findings,
            unassessed: stored.unassessed,
        })
    }

    fn scan_reader<'a>(
        caller: &'a Principal,
        filter: &'a stella_core::TenantFilter,
    ) -> ScanReader<'a> {
        ScanReader {
            filter,
            user_id: &caller.user_id,
        }
    }

    /// `GET /scans/{id}`.
    pub async fn get_scan(&self, g: Grant<'_, ScansRead>, id: &str) -> Result<ScanView> {
        let filter = g.caller().tenant_filter();
        self.db
            .get_scan(&Self::scan_reader(g.caller(), &filter), id)
            .await?
            .map(|r| view(r, true))
            .ok_or_else(|| ServiceError::NotFound(format!("no scan '{id}'")))
    }

    /// `GET /scans`: newest first, without findings; and the total.
    pub async fn list_scans(
        &self,
        g: Grant<'_, ScansRead>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ScanView>, i64)> {
        let filter = g.caller().tenant_filter();
        let (rows, total) = self
            .db
            .list_scans(&Self::scan_reader(g.caller(), &filter), limit, offset)
            .await?;
        Ok((rows.into_iter().map(|r| view(r, false)).collect(), total))
    }

    /// `DELETE /scans/{id}`.
    pub async fn delete_scan(&self, g: Grant<'_, ScansWrite>, id: &str) -> Result<()> {
        let filter = g.caller().tenant_filter();
        if self
            .db
            .delete_scan(&Self::scan_reader(g.caller(), &filter), id)
            .await?
        {
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!("no scan '{id}'")))
        }
    }

    /// `GET /scans/{id}/compare/{other}`.
    pub async fn compare_scans(
        &self,
        g: Grant<'_, ScansRead>,
        base: &str,
        head: &str,
    ) -> Result<ScanComparison> {
        let a = self.get_scan(g, base).await?;
        let b = self.get_scan(g, head).await?;
        let before = a.findings.unwrap_or_default();
        let after = b.findings.unwrap_or_default();
        let before_keys: std::collections::HashSet<_> = before.iter().map(finding_key).collect();
        let after_keys: std::collections::HashSet<_> = after.iter().map(finding_key).collect();
        let (unchanged, new): (Vec<_>, Vec<_>) = after
            .into_iter()
            .partition(|f| before_keys.contains(&finding_key(f)));
        let fixed = before
            .into_iter()
            .filter(|f| !after_keys.contains(&finding_key(f)))
            .collect();
        Ok(ScanComparison {
            base: a.id,
            head: b.id,
            new,
            fixed,
            unchanged,
        })
    }
}

/// Layers one `/layers/missing` request may ask about (an image has at most a few hundred).
pub const MAX_LAYERS: usize = 1000;

/// Whether `d` is a layer digest: `sha256:` and 64 lowercase hex digits.
pub fn is_layer_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl Stella {
    /// `POST /layers/missing`: which of `layers` the caller's tenant has no catalogue of, in
    /// the order asked.
    pub async fn layers_missing(
        &self,
        g: Grant<'_, ScansRead>,
        tenant: Option<&str>,
        layers: &[String],
    ) -> Result<Vec<String>> {
        if layers.len() > MAX_LAYERS {
            return Err(ServiceError::invalid(
                "layers",
                format!("at most {MAX_LAYERS} layer digests"),
            ));
        }
        let bad: Vec<_> = layers
            .iter()
            .enumerate()
            .filter(|(_, d)| !is_layer_digest(d))
            .map(|(i, d)| {
                stella_core::FieldError::new(
                    format!("$.layers[{i}]"),
                    format!(
                        "Layer digest malformed: '{}' is not sha256: and 64 lowercase hex digits",
                        d.chars().take(80).collect::<String>()
                    ),
                )
            })
            .collect();
        if !bad.is_empty() {
            return Err(ServiceError::Invalid(bad));
        }
        let tenant = self.scan_tenant(g.caller(), tenant)?;
        let mut seen = std::collections::HashSet::with_capacity(layers.len());
        let unique: Vec<String> = layers
            .iter()
            .filter(|d| seen.insert(d.as_str()))
            .cloned()
            .collect();
        let known: std::collections::HashSet<String> = self
            .db
            .known_layers(&tenant, &unique)
            .await?
            .into_iter()
            .collect();
        Ok(unique.into_iter().filter(|d| !known.contains(d)).collect())
    }
}
