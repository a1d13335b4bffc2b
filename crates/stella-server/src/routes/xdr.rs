//! Open XDR operations beyond the generic engine's five: linking alerts to a case, connector
//! checkpoint rollback, report download, alert types, and the restricted storage and
//! ingestion endpoints.

use crate::extract::{Auth, JsonBody, Params};
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// Link alerts to a case (`{"alert_ids": [...]}`); answers the case with its `alert_count`.
#[utoipa::path(post, path = "/connect/api/v1/cases/{id}/alerts", tag = "Cases", params(("id" = String, Path, description = "Case id")),
    request_body = Value,
    responses((status = 200, body = Value), (status = 400, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn link_case_alerts(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        app.stella.link_case_alerts(p.grant()?, &id, &body).await?,
    ))
}

/// Roll a connector's checkpoint back (`{"checkpoint": "<RFC 3339>"}`) so it pulls data again
/// from that time. Only backwards; consider off-peak hours for many connectors.
#[utoipa::path(post, path = "/connect/api/v1/connectors/{id}/rollback", tag = "Connectors", params(("id" = String, Path, description = "Connector id")),
    request_body = Value,
    responses((status = 200, body = Value), (status = 400, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn rollback_connector(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    Ok(Json(app.stella.rollback_connector(&p, &id, &body).await?))
}

/// Download a completed report: `format=json` (default) or `csv`.
#[utoipa::path(get, path = "/connect/api/v1/reports/{id}/download", tag = "Reports",
    params(("id" = String, Path, description = "Report id"), ("format" = Option<String>, Query)),
    responses((status = 200, description = "The report's content"), (status = 404, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn download_report(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    params.paging(1, &["format"])?;
    let (content_type, body) = app
        .stella
        .report_download(&p, &id, params.get("format"))
        .await?;
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// Alert types the platform raises, with the key fields that identify one alert of a type.
#[utoipa::path(get, path = "/connect/api/v1/alert_types", tag = "Alerts",
    responses((status = 200, body = Value)))]
pub async fn alert_types(Auth(p): Auth) -> ApiResult<Json<Value>> {
    p.grant::<stella_core::perm::AlertsRead>()?;
    let data: Vec<Value> = stella_core::catalog::ALERT_TYPES
        .iter()
        .map(|(name, description, keys)| json!({"name": name, "description": description, "key_fields": keys}))
        .collect();
    Ok(Json(json!({"total": data.len(), "data": data})))
}

/// Storage used by each tenant's events. Restricted to root super admins.
#[utoipa::path(get, path = "/connect/api/v1/storage_usage", tag = "Events",
    responses((status = 200, body = Value), (status = 403, body = super::Problem)))]
pub async fn storage_usage(State(app): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Value>> {
    Ok(Json(app.stella.storage_usage(p.restricted()?).await?))
}

/// Events ingested, failed and dropped per tenant and day. Restricted to root super admins.
#[utoipa::path(get, path = "/connect/api/v1/ingestion_stats", tag = "Events", params(("limit" = Option<i64>, Query)),
    responses((status = 200, body = Value), (status = 403, body = super::Problem)))]
pub async fn ingestion_stats(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
) -> ApiResult<Json<Value>> {
    let (limit, _) = params.paging(app.config.max_page_size, &[])?;
    Ok(Json(
        app.stella.ingestion_stats(p.restricted()?, limit).await?,
    ))
}

/// Register a sensor (`name`, `type`, `ip_address`, `version`, `status`; partner and root
/// callers name `tenant_id`). The contract itself only reads and deletes sensors.
#[utoipa::path(post, path = "/connect/api/v1/sensors/register", tag = "Sensors", request_body = Value,
    responses((status = 201, body = Value), (status = 400, body = super::Problem), (status = 403, body = super::Problem)))]
pub async fn register_sensor(
    State(app): State<AppState>,
    Auth(p): Auth,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let sensor = app
        .stella
        .resource_create(&p, &stella_core::catalog::SENSORS, None, &body)
        .await?;
    Ok((StatusCode::CREATED, Json(sensor)))
}
