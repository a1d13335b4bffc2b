//! Security events: bulk ingest, Elasticsearch-style search, refresh, saved-query runs and
//! tags/status/comments on one event.

use crate::extract::{Auth, JsonBody, OptionalJsonBody, Params, RawJsonBody};
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;
use stella_service::IngestReport;

/// Add events to the tenant's security event index: `{"events": [...]}` (up to
/// `max_bulk_events`), an array, or one event. Answered once every accepted document is
/// durable. `tenant_id` (query) names the tenant for partner and root callers.
#[utoipa::path(post, path = "/connect/api/v1/events", tag = "Events", operation_id = "ingestEvents",
    params(("tenant_id" = Option<String>, Query)), request_body = Value,
    responses((status = 200, body = IngestReport), (status = 400, body = super::Problem)))]
pub async fn ingest_events(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
    RawJsonBody(body): RawJsonBody,
) -> ApiResult<Json<IngestReport>> {
    params.paging(1, &["tenant_id", "tenantid"])?;
    let tenant = params
        .get("tenant_id")
        .or_else(|| params.get("tenantid"))
        .map(str::to_owned);
    Ok(Json(
        app.stella
            .ingest_events(p.grant()?, tenant, body.into())
            .await?,
    ))
}

/// Update an event's `tags` and `status`, or append a `comment`.
#[utoipa::path(put, path = "/connect/api/v1/events/{id}", tag = "Events", params(("id" = String, Path, description = "Event id")),
    request_body = Value,
    responses((status = 200, body = Value), (status = 400, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn update_event(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    Ok(Json(app.stella.update_event(p.grant()?, &id, &body).await?))
}

/// Elasticsearch query DSL over the events your tenancy reaches (`tenantid` narrows it).
#[utoipa::path(post, path = "/connect/api/v1/data/{index}/_search", tag = "Events",
    params(("index" = String, Path), ("tenantid" = Option<String>, Query)), request_body = Value,
    responses((status = 200, body = Value), (status = 400, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn search(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(index): Path<String>,
    params: Params,
    OptionalJsonBody(body): OptionalJsonBody<Value>,
) -> ApiResult<Json<Value>> {
    params.paging(1, &["tenantid", "tenant_id"])?;
    let tenant = params.get("tenantid").or_else(|| params.get("tenant_id"));
    let body = body.unwrap_or_else(|| serde_json::json!({}));
    Ok(Json(
        app.stella
            .search_events(p.grant()?, &index, tenant, body)
            .await?,
    ))
}

/// Make every acknowledged event searchable now.
#[utoipa::path(post, path = "/connect/api/v1/data/{index}/_refresh", tag = "Events", params(("index" = String, Path)),
    responses((status = 200, body = Value)))]
pub async fn refresh(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(_index): Path<String>,
) -> ApiResult<Json<Value>> {
    app.stella.refresh_events(p.grant()?).await?;
    Ok(Json(serde_json::json!({"_shards": {"failed": 0}})))
}

/// Run a saved query against the event index (`size`, `from` optional).
#[utoipa::path(post, path = "/connect/api/v1/queries/{id}/run", tag = "Queries", params(("id" = String, Path, description = "Query id")),
    responses((status = 200, body = Value), (status = 404, body = super::Problem)))]
pub async fn run_query(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        app.stella.run_query(p.grant()?, &id, &params.0).await?,
    ))
}
