//! Retention: how long events, activity records, reports and playbook runs are kept per
//! tenant, legal holds, and the runs that remove what is older (see `stella-service`'s
//! `retention.rs` and docs/operations.md).

use crate::extract::{Auth, JsonBody};
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use stella_service::retention::{RetentionView, RunInfo, TenantRetention};
use utoipa::ToSchema;

/// The retention of every tenant the caller reaches: the platform's periods, each tenant's
/// own where set, what applies, and legal holds. Root also sees `*`, the platform's own
/// records (those of root and partner users).
#[utoipa::path(get, path = "/connect/api/v1/retention", tag = "Tenants",
    responses((status = 200, body = RetentionView), (status = 403, body = super::Problem)))]
pub async fn get_retention(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<RetentionView>> {
    Ok(Json(app.stella.retention(p.grant()?).await?))
}

/// Set a tenant's own retention periods (`events_days`, `activity_days`, `reports_days`,
/// `playbook_runs_days`; `null` or absent: the platform's), each at most the platform's
/// `tenant_max_days` unless the caller is a root super admin. `legal_hold` (with an optional
/// `legal_hold_reason`) suspends every purge of the tenant; root super admins only.
#[utoipa::path(put, path = "/connect/api/v1/retention/{tenant_id}", tag = "Tenants",
    params(("tenant_id" = String, Path, description = "A tenant id, or `*` (root) for the platform's own records")),
    request_body = Value,
    responses((status = 200, body = TenantRetention), (status = 400, body = super::Problem),
        (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn set_retention(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(tenant_id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<TenantRetention>> {
    Ok(Json(
        app.stella
            .set_retention(p.grant()?, &tenant_id, &body)
            .await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunList {
    /// Newest first (the last 50 within 90 days).
    pub data: Vec<RunInfo>,
}

/// Retention runs: when, on which server, what each removed, the archives it wrote.
#[utoipa::path(get, path = "/cluster/retention", tag = "Operations",
    responses((status = 200, body = RunList), (status = 403, body = super::Problem)))]
pub async fn list_runs(State(app): State<AppState>, Auth(p): Auth) -> ApiResult<Json<RunList>> {
    Ok(Json(RunList {
        data: app.stella.retention_runs(p.restricted()?).await?,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    /// The background job's id; the run appears in `GET /cluster/retention` once it starts.
    pub job: String,
}

/// Queue a retention run now (whichever server is free runs it).
#[utoipa::path(post, path = "/cluster/retention/run", tag = "Operations",
    responses((status = 202, body = Queued), (status = 403, body = super::Problem)))]
pub async fn run_now(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    let job = app.stella.run_retention_now(p.restricted()?).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { job })))
}
