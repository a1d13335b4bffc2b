//! Operations: liveness, readiness, metrics, version, the OpenAPI document and its Swagger page
//! (assets compiled into the binary; nothing is fetched at run time).

use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use stella_service::ServiceError;
use utoipa::ToSchema;

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "Operations", security(()), responses((status = 200, body = String, example = "ok")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the store answers. The body says how limits are kept (`limits: shared (redis)`,
/// `limits: per server (redis not answering)` or `limits: per server`) and whether signing
/// keys are the deployment's.
#[utoipa::path(get, path = "/readyz", tag = "Operations", security(()), responses((status = 200, body = String), (status = 503, body = super::Problem)))]
pub async fn readyz(State(app): State<AppState>) -> Response {
    match app.stella.db().ping().await {
        Ok(()) => {
            let limits = match app.stella.shared_limits() {
                Some(s) if s.up.load(std::sync::atomic::Ordering::Relaxed) => "shared (redis)",
                Some(_) => "per server (redis not answering)",
                None => "per server",
            };
            let keys = if app.stella.shared_keys() {
                "shared (database)"
            } else {
                "this server's"
            };
            let events = match &app.config.nats_url {
                Some(_) => format!("events: nats stream {}", app.config.nats_stream),
                None => "events: this server's log".to_owned(),
            };
            let disk = app.stella.disk().measure();
            let body = format!(
                "{}\nlimits: {limits}\nsigning keys: {keys}\n{events}\ndisk: {} MiB free, floor {} MiB{}\n",
                if disk.low { "not ready: disk below its free-space floor" } else { "ready" },
                disk.free >> 20,
                disk.floor >> 20,
                if disk.low { " (writes refused)" } else { "" },
            );
            let mut r = body.into_response();
            if disk.low {
                // Not ready for writes: a load balancer sends them to a server with room.
                *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                r.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(stella_service::disk::RETRY_AFTER_SECS),
                );
            }
            r
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            let mut r = ApiError::Service(ServiceError::Internal(format!(
                "storage is not answering: {e}"
            )))
            .into_response();
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            r
        }
    }
}

/// Prometheus exposition.
#[utoipa::path(get, path = "/metrics", tag = "Operations", security(()), responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(app): State<AppState>) -> Response {
    let mut text = app.metrics.render();
    text.push_str(&deployment_metrics(&app));
    text.push_str(&tenant_event_metrics(&app).await);
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

/// The deployment's own figures, read from where they are counted (the limits and the change
/// bus keep plain atomics; registering them would tie those crates to Prometheus).
fn deployment_metrics(app: &AppState) -> String {
    use std::fmt::Write;
    use std::sync::atomic::Ordering;
    let (shared, up, fallbacks) = match app.stella.shared_limits() {
        Some(s) => (
            1u8,
            u8::from(s.up.load(Ordering::Relaxed)),
            s.fallbacks.load(Ordering::Relaxed),
        ),
        None => (0, 0, 0),
    };
    let (heard, reconnects) = app.stella.db().bus_counts();
    let mut out = String::new();
    for (name, kind, help, value) in [
        (
            "stella_limits_shared",
            "gauge",
            "1 when rate limits and brute-force counters are kept in Redis",
            u64::from(shared),
        ),
        (
            "stella_limits_redis_up",
            "gauge",
            "1 when the last limit decision reached Redis",
            u64::from(up),
        ),
        (
            "stella_limits_fallback_total",
            "counter",
            "Limit decisions taken by this server alone because Redis did not answer",
            fallbacks,
        ),
        (
            "stella_cluster_changes_heard_total",
            "counter",
            "Change announcements heard from other servers of the deployment",
            heard,
        ),
        (
            "stella_cluster_listener_reconnects_total",
            "counter",
            "Times the change listener lost its connection (every cache then forgotten)",
            reconnects,
        ),
        (
            "stella_disk_free_bytes",
            "gauge",
            "Free bytes on the data directory's filesystem, as last measured",
            app.stella.disk().state().free,
        ),
        (
            "stella_disk_floor_bytes",
            "gauge",
            "Free-space floor below which writes are refused (0: none)",
            app.stella.disk().state().floor,
        ),
        (
            "stella_disk_writes_refused_total",
            "counter",
            "Writes refused because free space was below the floor",
            app.stella.disk().refused.load(Ordering::Relaxed),
        ),
        (
            "stella_events_index_lag",
            "gauge",
            "Event log records acknowledged but not yet committed to this server's index",
            app.stella.events().lag(),
        ),
    ] {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        );
    }
    out
}

/// Each tenant's event index on this server: its size and its oldest event (what retention
/// acts on).
async fn tenant_event_metrics(app: &AppState) -> String {
    use std::fmt::Write;
    let events = app.stella.events().clone();
    let usage = tokio::task::spawn_blocking(move || events.usage(&stella_core::TenantFilter::All))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    type Gauge = fn(&stella_search::TenantUsage) -> Option<i64>;
    let gauges: [(&str, &str, Gauge); 3] = [
        (
            "stella_events_tenant_bytes",
            "Bytes of a tenant's event partitions on this server",
            |u| i64::try_from(u.bytes).ok(),
        ),
        (
            "stella_events_tenant_partitions",
            "Daily event partitions of a tenant on this server",
            |u| i64::try_from(u.partitions).ok(),
        ),
        (
            "stella_events_tenant_oldest_event_seconds",
            "Timestamp of a tenant's oldest kept event",
            |u| u.oldest_event_ms.map(|ms| ms / 1000),
        ),
    ];
    let (open, peak) = app.stella.events().open_writers();
    let mut out = format!(
        "# HELP stella_events_open_writers Event partition writers open on this server (in use, or idle and waiting for or running their final merge)\n\
         # TYPE stella_events_open_writers gauge\nstella_events_open_writers {open}\n\
         # HELP stella_events_open_writers_peak Most partition writers open at once since start\n\
         # TYPE stella_events_open_writers_peak gauge\nstella_events_open_writers_peak {peak}\n"
    );
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for u in &usage {
            if let Some(v) = value(u) {
                let _ = writeln!(out, "{name}{{tenant=\"{}\"}} {v}", u.tenant_id);
            }
        }
    }
    out
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Version {
    pub name: &'static str,
    pub version: &'static str,
    pub git_sha: &'static str,
    pub build_date: &'static str,
}

#[utoipa::path(get, path = "/version", tag = "Operations", security(()), responses((status = 200, body = Version)))]
pub async fn version() -> Json<Version> {
    Json(Version {
        name: "stella-ops",
        version: env!("CARGO_PKG_VERSION"),
        git_sha: env!("STELLA_GIT_SHA"),
        build_date: env!("STELLA_BUILD_DATE"),
    })
}

/// This document.
#[utoipa::path(get, path = "/openapi/v1.yaml", tag = "Operations", security(()), responses((status = 200, content_type = "application/yaml", body = String)))]
pub async fn openapi(State(app): State<AppState>) -> Response {
    let yaml = app.openapi_yaml.get().cloned().unwrap_or_default();
    let mut r = yaml.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    r
}

const DOCS_HTML: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stella Ops API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>"#;

const DOCS_INIT: &str = r##"window.ui = SwaggerUIBundle({ url: "/openapi/v1.yaml", dom_id: "#swagger-ui", deepLinking: true, persistAuthorization: true });"##;

/// Interactive API page (Swagger UI).
#[utoipa::path(get, path = "/docs", tag = "Operations", security(()), responses((status = 200, content_type = "text/html", body = String)))]
pub async fn docs() -> Html<&'static str> {
    Html(DOCS_HTML)
}

/// Assets of the API page.
#[utoipa::path(get, path = "/docs/{file}", tag = "Operations", security(()), params(("file" = String, Path)),
    responses((status = 200, description = "asset"), (status = 404, body = super::Problem)))]
pub async fn docs_asset(Path(file): Path<String>) -> ApiResult<Response> {
    let (body, ct): (&'static [u8], &'static str) = match file.as_str() {
        "swagger-ui-bundle.js" => (
            include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js"),
            "text/javascript",
        ),
        "swagger-ui.css" => (
            include_bytes!("../../assets/swagger-ui/swagger-ui.css"),
            "text/css",
        ),
        "init.js" => (DOCS_INIT.as_bytes(), "text/javascript"),
        _ => return Err(ApiError::RouteNotFound),
    };
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    Ok(r)
}

/// Root of the probe-management REST API (Django REST style): each resource it serves, by
/// name, with its absolute URL. Accepts `Authorization: Token <legacy token>` as well as a JWT.
#[utoipa::path(get, path = "/rest/", tag = "Probe management", security(("legacy_token" = []), ("jwt" = [])),
    responses((status = 200, description = "resource name → URL"), (status = 401, body = super::Problem)))]
pub async fn rest_root(
    State(app): State<AppState>,
    _auth: crate::extract::Auth,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> Json<serde_json::Map<String, serde_json::Value>> {
    let root = super::rest::absolute_url(&app, &headers, &uri);
    let root = root.trim_end_matches('/');
    Json(
        super::rest::RESOURCES
            .iter()
            .map(|spec| {
                let url = format!("{root}/{}/", spec.name);
                (spec.name.to_owned(), serde_json::Value::String(url))
            })
            .collect(),
    )
}
