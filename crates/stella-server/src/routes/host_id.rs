//! Host ID at `/rest/appliances/host_id/<ip>` (the probe-management REST API, Django REST
//! framework habits): what the ingested events say about one address, within the caller's
//! tenancy. The answer and what belongs to a host are described in `stella_service::host_id`.
//!
//! Its refusals are errors like every route's, rendered by `/rest/`'s one renderer in Django
//! REST framework's shape (`{"detail": …}`): 400 for an address that is not IPv4 or IPv6,
//! 404 `Not found.` for one no event names.

use crate::extract::{Auth, Params};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use stella_service::host_id::HostAddress;
use stella_service::ServiceError;

/// Everything the platform's events say about an IPv4 or IPv6 address: first and last seen,
/// services (port, transport, application protocols) where it was the server, host names,
/// user names, HTTP user agents, TLS names and fingerprints, alerts by severity. `tenant`
/// narrows the lookup to one of your tenants. Accepts `Authorization: Token <legacy token>`
/// as well as a JWT.
#[utoipa::path(get, path = "/rest/appliances/host_id/{ip}", tag = "Probe management",
    operation_id = "hostId", security(("legacy_token" = []), ("jwt" = [])),
    params(("ip" = String, Path, description = "IPv4 or IPv6 address"),
           ("tenant" = Option<String>, Query, description = "One of your tenants")),
    responses((status = 200, body = serde_json::Value, description = "`{ip, hits, host_id}`"),
              (status = 400, body = serde_json::Value, description = "`{\"detail\": …}`: not an IP address"),
              (status = 401, body = super::Problem),
              (status = 404, body = serde_json::Value, description = "`{\"detail\": \"Not found.\"}`: no event names the address")))]
pub async fn host_id(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(ip): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let Some(addr) = HostAddress::parse(&ip) else {
        let shown: String = ip.chars().take(64).collect();
        return Err(ApiError::BadRequest(format!(
            "'{shown}' is not a valid IPv4 or IPv6 address."
        )));
    };
    let found = app
        .stella
        .host_id(p.grant()?, &addr, params.get("tenant"))
        .await?;
    match found {
        Some(answer) => Ok(Json(answer).into_response()),
        None => Err(ServiceError::NotFound("Not found.".into()).into()),
    }
}

/// The same, with Django's trailing slash.
#[utoipa::path(get, path = "/rest/appliances/host_id/{ip}/", tag = "Probe management",
    operation_id = "hostIdSlash", security(("legacy_token" = []), ("jwt" = [])),
    params(("ip" = String, Path, description = "IPv4 or IPv6 address"),
           ("tenant" = Option<String>, Query, description = "One of your tenants")),
    responses((status = 200, body = serde_json::Value), (status = 400, body = serde_json::Value), (status = 404, body = serde_json::Value)))]
pub async fn host_id_slash(
    state: State<AppState>,
    auth: Auth,
    ip: Path<String>,
    params: Params,
) -> ApiResult<Response> {
    host_id(state, auth, ip, params).await
}
