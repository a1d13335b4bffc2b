//! Supply-chain scanning (API reference §2.1–2.3): `POST /scan`, stored scans, the layer
//! cache check, and the vulnerability feed (`stella-service`'s `scan/`).

use crate::extract::{Auth, JsonBody, Params};
use crate::problem::{ApiError, ApiResult};
use crate::routes::Page;
use crate::state::AppState;
use crate::upload::{self, Upload};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use stella_service::scan::{
    FeedImportView, FeedStatusView, ImageScan, PolicyVersion, SbomScan, ScanComparison, ScanView,
    VexView,
};
use stella_service::ServiceError;
use utoipa::ToSchema;

/// The query parameters `POST /scan` takes.
const SCAN_PARAMS: &[&str] = &["threshold", "sbom-only", "environment", "tenant_id"];

fn check_params(params: &Params, allowed: &[&str]) -> ApiResult<()> {
    let unknown: Vec<_> = params
        .0
        .iter()
        .filter(|(k, _)| !allowed.contains(&k.as_str()))
        .map(|(k, _)| {
            stella_core::FieldError::new(
                k,
                format!("is not a parameter here; use {}", allowed.join(", ")),
            )
        })
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(unknown))
    }
}

/// What a JSON body to `/scan` is.
enum JsonKind {
    Sbom,
    /// `{"layers": [...], "layerSboms": [...]}`: a delta scan.
    Delta,
    /// `{"image": "registry/repo:tag"}`.
    Registry,
}

fn probe(bytes: &[u8]) -> JsonKind {
    use serde::de::IgnoredAny;
    #[derive(Deserialize)]
    struct Probe {
        image: Option<IgnoredAny>,
        layers: Option<IgnoredAny>,
        #[serde(rename = "layerSboms")]
        layer_sboms: Option<IgnoredAny>,
        #[serde(rename = "bomFormat")]
        bom_format: Option<IgnoredAny>,
    }
    match serde_json::from_slice::<Probe>(bytes) {
        Ok(p) if p.bom_format.is_none() && (p.layer_sboms.is_some() || p.layers.is_some()) => {
            JsonKind::Delta
        }
        Ok(p) if p.bom_format.is_none() && p.image.is_some() && p.layers.is_none() => {
            JsonKind::Registry
        }
        _ => JsonKind::Sbom,
    }
}

/// Whether the body starts like a JSON document (after whitespace and a UTF-8 BOM).
fn looks_like_json(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || *b == b'[')
}

/// `Prefer: respond-async` (RFC 7240): the client would rather poll than wait.
fn prefers_async(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
}

/// 202 for a queued scan, with where to poll.
fn accepted(queued: stella_service::scan::registry::QueuedScan) -> Response {
    let location = queued.location.clone();
    (
        StatusCode::ACCEPTED,
        [(axum::http::header::LOCATION, location)],
        Json(queued),
    )
        .into_response()
}

/// Scan an SBOM (CycloneDX JSON 1.4–1.6, SPDX JSON 2.2/2.3, Trivy JSON v2; detected, or named
/// by `X-Stella-Sbom-Type`) against the vulnerability feed. The answer is the reference's
/// (`digest`, `summary`, `policyStatus`, `quota`) with the stored scan's `id`, its
/// `findings` and the components that could not be assessed (`unassessed`). `threshold`
/// (`low`, `medium`, `high`, `critical`; default `critical`) decides `policyStatus`.
/// Offline tokens spend one scan of their daily quota (429 with `Retry-After` once spent;
/// nothing is counted for a scan that fails).
#[utoipa::path(post, path = "/scan", tag = "Scanning",
    params(("threshold" = Option<String>, Query), ("sbom-only" = Option<bool>, Query),
        ("environment" = Option<String>, Query), ("tenant_id" = Option<String>, Query),
        ("X-Stella-Sbom-Type" = Option<String>, Header)),
    request_body(content = Object, description = "An SBOM document"),
    responses((status = 200, body = Object), (status = 202, body = Object),
        (status = 400, body = super::Problem), (status = 413, body = super::Problem),
        (status = 429, body = super::Problem), (status = 503, body = super::Problem)))]
pub async fn scan(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut spooled: Option<Upload> = None;
    let result = scan_inner(&app, &p, &params, &headers, body, &mut spooled).await;
    upload::logged(result.into_response(), spooled.as_ref())
}

async fn scan_inner(
    app: &AppState,
    p: &stella_core::Principal,
    params: &Params,
    headers: &HeaderMap,
    body: Body,
    spooled: &mut Option<Upload>,
) -> ApiResult<Response> {
    let g = p.grant()?;
    check_params(params, SCAN_PARAMS)?;
    if let Some(v) = params.get("sbom-only") {
        if !matches!(v, "true" | "false" | "1" | "0") {
            return Err(ApiError::invalid(vec![stella_core::FieldError::new(
                "sbom-only",
                "must be true or false",
            )]));
        }
    }
    let sbom_type = match headers.get("x-stella-sbom-type") {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| {
            ApiError::invalid(vec![stella_core::FieldError::new(
                "X-Stella-Sbom-Type",
                "must be trivy-json-v2, spdx-json or cyclonedx-json",
            )])
        })?),
    };
    let up = spooled.insert(upload::spool(app, body).await?);
    if up.size == 0 {
        return Err(ApiError::BadRequest(
            "the body is empty: send an SBOM (JSON) or an image tarball".into(),
        ));
    }
    let sbom_only = matches!(params.get("sbom-only"), Some("true" | "1"));
    let threshold = params.get("threshold");
    let environment = params.get("environment");
    let tenant = params.get("tenant_id");
    if !looks_like_json(&up.head) {
        if sbom_only {
            return Err(ApiError::Service(ServiceError::BadInput {
                code: "scan-not-an-sbom".into(),
                detail: "sbom-only=true, but the body is not a JSON SBOM (an image tarball?)"
                    .into(),
            }));
        }
        if up.size > app.config.scan_async_bytes || prefers_async(headers) {
            // The queued scan's job owns a link to the upload; the spool file itself goes
            // when this request ends, as always.
            let held = app
                .config
                .spool_dir()
                .join(format!("image-{}.tar", stella_core::ids::new_id()));
            std::fs::hard_link(up.file.path(), &held)
                .or_else(|_| std::fs::copy(up.file.path(), &held).map(|_| ()))
                .map_err(|e| ServiceError::Internal(format!("spool file: {e}")))?;
            let queued = app
                .stella
                .scan_image_queued(
                    g,
                    ImageScan {
                        path: &held,
                        size: up.size,
                        threshold,
                        environment,
                        tenant,
                    },
                )
                .await?;
            return Ok(accepted(queued));
        }
        let answer = app
            .stella
            .scan_image(
                g,
                ImageScan {
                    path: up.file.path(),
                    size: up.size,
                    threshold,
                    environment,
                    tenant,
                },
            )
            .await?;
        return Ok(Json(answer).into_response());
    }
    let bytes = up.read_all(app.config.max_sbom_bytes)?;
    let answer = match probe(&bytes) {
        JsonKind::Delta if !sbom_only => {
            app.stella
                .scan_delta(g, &bytes, &up.digest, threshold, environment, tenant)
                .await?
        }
        JsonKind::Registry if !sbom_only => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct RegistryBody {
                image: String,
            }
            let b: RegistryBody = crate::extract::parse_json(&bytes)?;
            let queued = app
                .stella
                .scan_registry(g, &b.image, threshold, environment, tenant)
                .await?;
            return Ok(accepted(queued));
        }
        _ => {
            app.stella
                .scan_sbom(
                    g,
                    SbomScan {
                        body: &bytes,
                        digest: up.digest.clone(),
                        sbom_type,
                        threshold,
                        environment,
                        tenant,
                    },
                )
                .await?
        }
    };
    Ok(Json(answer).into_response())
}

/// Stored scans you can see, newest first (without their findings).
#[utoipa::path(get, path = "/scans", tag = "Scanning",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = Page<ScanView>), (status = 403, body = super::Problem)))]
pub async fn list_scans(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
) -> ApiResult<Json<Page<ScanView>>> {
    let (limit, offset) = params.paging(app.config.max_page_size, &[])?;
    let (data, total) = app.stella.list_scans(p.grant()?, limit, offset).await?;
    Ok(Json(Page {
        data,
        total,
        limit,
        offset,
    }))
}

/// A stored scan with its findings and unassessed components.
#[utoipa::path(get, path = "/scans/{id}", tag = "Scanning",
    responses((status = 200, body = ScanView), (status = 404, body = super::Problem)))]
pub async fn get_scan(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ScanView>> {
    Ok(Json(app.stella.get_scan(p.grant()?, &id).await?))
}

/// Delete a stored scan.
#[utoipa::path(delete, path = "/scans/{id}", tag = "Scanning",
    responses((status = 204), (status = 404, body = super::Problem)))]
pub async fn delete_scan(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.stella.delete_scan(p.grant()?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How scan `other` differs from scan `id`: findings `new` in `other`, `fixed` (in `id`
/// only) and `unchanged`. A finding is the same across scans when its vulnerability id and
/// package name are.
#[utoipa::path(get, path = "/scans/{id}/compare/{other}", tag = "Scanning",
    responses((status = 200, body = ScanComparison), (status = 404, body = super::Problem)))]
pub async fn compare_scans(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path((id, other)): Path<(String, String)>,
) -> ApiResult<Json<ScanComparison>> {
    Ok(Json(
        app.stella.compare_scans(p.grant()?, &id, &other).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LayersRequest {
    /// The image's layer digests (`sha256:…` of each layer's uncompressed tar, the config's
    /// `rootfs.diff_ids`).
    pub layers: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LayersMissing {
    /// The layers this tenant has no catalogue of, in the order asked.
    pub missing: Vec<String>,
}

/// Which of an image's layers the server has not catalogued (reference §2.2): the client
/// makes SBOMs of those only and posts them with the image's layer list.
#[utoipa::path(post, path = "/layers/missing", tag = "Scanning",
    params(("tenant_id" = Option<String>, Query)),
    request_body = LayersRequest,
    responses((status = 200, body = LayersMissing), (status = 400, body = super::Problem)))]
pub async fn layers_missing(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
    JsonBody(body): JsonBody<LayersRequest>,
) -> ApiResult<Json<LayersMissing>> {
    check_params(&params, &["tenant_id"])?;
    let missing = app
        .stella
        .layers_missing(p.grant()?, params.get("tenant_id"), &body.layers)
        .await?;
    Ok(Json(LayersMissing { missing }))
}

/// Import OSV advisories (root super admins): the body is a zip, either an OSV export
/// (`{ecosystem}/all.zip`) or a zip of OSV JSON records, or several exports as `.zip` entries
/// of one archive. The import runs in the background (`Location` is its status); the new
/// feed replaces the old atomically once complete. `mode=merge` (default) keeps the current
/// feed's ecosystems that the upload does not bring; `mode=replace` does not. Malformed
/// records are skipped and listed, not fatal.
#[utoipa::path(post, path = "/feed/imports", tag = "Scanning",
    params(("source" = Option<String>, Query, description = "A name for what is imported"),
        ("mode" = Option<String>, Query, description = "merge (default) or replace")),
    request_body(content = Vec<u8>, content_type = "application/zip"),
    responses((status = 202, body = FeedImportView), (status = 400, body = super::Problem),
        (status = 403, body = super::Problem), (status = 413, body = super::Problem)))]
pub async fn import_feed(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
    body: Body,
) -> Response {
    let mut spooled: Option<Upload> = None;
    let result = async {
        let r = p.restricted()?;
        check_params(&params, &["source", "mode"])?;
        let up = spooled.insert(upload::spool(&app, body).await?);
        let view = app
            .stella
            .upload_feed(
                r,
                params.get("source").unwrap_or("upload"),
                params.get("mode"),
                up.file.path(),
                &up.digest,
                up.size,
            )
            .await?;
        let location = format!("/feed/imports/{}", view.id);
        Ok::<_, ApiError>((
            StatusCode::ACCEPTED,
            [(axum::http::header::LOCATION, location)],
            Json(view),
        ))
    }
    .await;
    upload::logged(result.into_response(), spooled.as_ref())
}

/// One feed import: its state, what it read and skipped.
#[utoipa::path(get, path = "/feed/imports/{id}", tag = "Scanning",
    responses((status = 200, body = FeedImportView), (status = 404, body = super::Problem)))]
pub async fn get_feed_import(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<FeedImportView>> {
    Ok(Json(app.stella.feed_import(p.grant()?, &id).await?))
}

/// The vulnerability feed (reference §3.3 `feed status`): records per ecosystem, where they
/// came from, when imported, the version this server scans with, the latest imports.
#[utoipa::path(get, path = "/feed/status", tag = "Scanning",
    responses((status = 200, body = FeedStatusView), (status = 403, body = super::Problem)))]
pub async fn feed_status(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<FeedStatusView>> {
    Ok(Json(app.stella.feed_status(p.grant()?).await?))
}

/// The scan policy in force (reference §2.3): the tenant's own, else the platform default,
/// else the built-in empty policy. YAML as `application/yaml`, Rego as `text/plain`; its hash
/// in `X-Stella-Policy-Hash`.
#[utoipa::path(get, path = "/policy/export", tag = "Scanning",
    params(("tenant_id" = Option<String>, Query, description = "A tenant, or `*` for the platform default")),
    responses((status = 200, content_type = "application/yaml", body = String),
        (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn policy_export(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
) -> ApiResult<Response> {
    check_params(&params, &["tenant_id"])?;
    let active = app
        .stella
        .policy_export(p.grant()?, params.get("tenant_id"))
        .await?;
    let content_type = if active.kind == "rego" {
        "text/plain; charset=utf-8"
    } else {
        "application/yaml; charset=utf-8"
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_owned()),
            (
                axum::http::HeaderName::from_static("x-stella-policy-hash"),
                active.hash,
            ),
        ],
        active.text,
    )
        .into_response())
}

/// Replace the active policy with the YAML or Rego in the body (a Rego module starts with its
/// `package`). 400 with `errors` (`path`, `msg`) when it does not validate; nothing changes
/// then. Root users set the platform default with `tenant_id=*`.
#[utoipa::path(post, path = "/policy/import", tag = "Scanning",
    params(("tenant_id" = Option<String>, Query), ("comment" = Option<String>, Query)),
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 201, body = PolicyVersion), (status = 400, body = super::Problem),
        (status = 403, body = super::Problem)))]
pub async fn policy_import(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<PolicyVersion>)> {
    check_params(&params, &["tenant_id", "comment"])?;
    let v = app
        .stella
        .policy_import(
            p.grant()?,
            params.get("tenant_id"),
            &body,
            params.get("comment"),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// Lint a YAML or Rego policy without importing it: 200 with its summary, or 400 with
/// `errors` (`[{"path": "$.rules[0].severity", "msg": "Invalid level 'None'"}]`).
#[utoipa::path(post, path = "/policy/validate", tag = "Scanning",
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 200, body = Object), (status = 400, body = super::Problem)))]
pub async fn policy_validate(
    State(app): State<AppState>,
    Auth(p): Auth,
    body: axum::body::Bytes,
) -> ApiResult<Json<stella_service::scan::PolicySummary>> {
    Ok(Json(app.stella.policy_validate(p.grant()?, &body)?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyHistory {
    pub data: Vec<PolicyVersion>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// The policy's change log, newest first: who imported which version when, and the hash of
/// the version it replaced.
#[utoipa::path(get, path = "/policy/history", tag = "Scanning",
    params(("tenant_id" = Option<String>, Query), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = PolicyHistory), (status = 403, body = super::Problem)))]
pub async fn policy_history(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
) -> ApiResult<Json<PolicyHistory>> {
    let (limit, offset) = params.paging(app.config.max_page_size, &["tenant_id"])?;
    let (data, total) = app
        .stella
        .policy_history(p.grant()?, params.get("tenant_id"), limit, offset)
        .await?;
    Ok(Json(PolicyHistory {
        data,
        total,
        limit,
        offset,
    }))
}

/// One version of the policy, with its text (`source`).
#[utoipa::path(get, path = "/policy/history/{id}", tag = "Scanning",
    responses((status = 200, body = PolicyVersion), (status = 404, body = super::Problem)))]
pub async fn policy_version(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<PolicyVersion>> {
    Ok(Json(app.stella.policy_version(p.grant()?, &id).await?))
}

/// Import a VEX document (OpenVEX, or CycloneDX with `vulnerabilities[].analysis`) for your
/// tenant: findings its `not_affected` / `false_positive` statements cover are shown as
/// `suppressed`, with the statement's justification, and no longer count.
#[utoipa::path(post, path = "/vex", tag = "Scanning",
    params(("tenant_id" = Option<String>, Query)),
    request_body(content = Object, description = "An OpenVEX or CycloneDX VEX document"),
    responses((status = 201, body = VexView), (status = 400, body = super::Problem),
        (status = 403, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn vex_import(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<VexView>)> {
    check_params(&params, &["tenant_id"])?;
    let v = app
        .stella
        .vex_import(p.grant()?, params.get("tenant_id"), &body)
        .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VexList {
    pub data: Vec<VexView>,
}

/// Your tenant's VEX documents, oldest first.
#[utoipa::path(get, path = "/vex", tag = "Scanning",
    params(("tenant_id" = Option<String>, Query)),
    responses((status = 200, body = VexList), (status = 403, body = super::Problem)))]
pub async fn vex_list(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
) -> ApiResult<Json<VexList>> {
    check_params(&params, &["tenant_id"])?;
    Ok(Json(VexList {
        data: app
            .stella
            .vex_list(p.grant()?, params.get("tenant_id"))
            .await?,
    }))
}

/// Delete one of your tenant's VEX documents: its statements stop applying to new scans.
#[utoipa::path(delete, path = "/vex/{id}", tag = "Scanning",
    params(("tenant_id" = Option<String>, Query)),
    responses((status = 204), (status = 404, body = super::Problem)))]
pub async fn vex_delete(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    check_params(&params, &["tenant_id"])?;
    app.stella
        .vex_delete(p.grant()?, params.get("tenant_id"), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
