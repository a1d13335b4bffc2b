use crate::extract::{Auth, JsonBody};
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use stella_core::PrivilegeProfile;
use stella_service::{NewOAuthClient, NewProfile, OAuthClientView, UpdateProfile};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileList {
    pub data: Vec<PrivilegeProfile>,
    pub total: usize,
}

/// List the privilege profiles you may give to users: the built-ins, the platform's custom
/// ones, and those owned by your tenants. Refer to a profile by its `id`.
#[utoipa::path(get, path = "/connect/api/v1/privilege_profiles", tag = "Users", responses((status = 200, body = ProfileList)))]
pub async fn list_profiles(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<ProfileList>> {
    let data = app.stella.list_profiles(p.grant()?).await?;
    Ok(Json(ProfileList {
        total: data.len(),
        data,
    }))
}

/// Create a custom privilege profile from named permissions (none beyond your own). It is
/// owned by your tenancy, or by `tenant_id` / `tenant_ids` within it.
#[utoipa::path(post, path = "/connect/api/v1/privilege_profiles", tag = "Users", request_body = NewProfile,
    responses((status = 201, body = PrivilegeProfile), (status = 400, body = super::Problem), (status = 403, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn create_profile(
    State(app): State<AppState>,
    Auth(p): Auth,
    JsonBody(body): JsonBody<NewProfile>,
) -> ApiResult<(StatusCode, Json<PrivilegeProfile>)> {
    Ok((
        StatusCode::CREATED,
        Json(app.stella.create_profile(p.grant()?, body).await?),
    ))
}

#[utoipa::path(get, path = "/connect/api/v1/privilege_profiles/{id}", tag = "Users", params(("id" = String, Path)),
    responses((status = 200, body = PrivilegeProfile), (status = 404, body = super::Problem)))]
pub async fn get_profile(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<PrivilegeProfile>> {
    Ok(Json(app.stella.get_profile(p.grant()?, &id).await?))
}

/// Change a custom profile's name, description or permissions. Only administrators of the
/// profile's owner may; the built-ins cannot be changed.
#[utoipa::path(put, path = "/connect/api/v1/privilege_profiles/{id}", tag = "Users", params(("id" = String, Path)), request_body = UpdateProfile,
    responses((status = 200, body = PrivilegeProfile), (status = 400, body = super::Problem), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn update_profile(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateProfile>,
) -> ApiResult<Json<PrivilegeProfile>> {
    Ok(Json(
        app.stella.update_profile(p.grant()?, &id, body).await?,
    ))
}

#[utoipa::path(delete, path = "/connect/api/v1/privilege_profiles/{id}", tag = "Users", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = super::Problem), (status = 404, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn delete_profile(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.stella.delete_profile(p.grant()?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    pub data: Vec<OAuthClientView>,
    pub total: usize,
}

#[utoipa::path(get, path = "/connect/api/v1/oauth_clients", tag = "Authentication", responses((status = 200, body = ClientList)))]
pub async fn list_clients(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<ClientList>> {
    let data = app.stella.list_oauth_clients(p.grant()?).await?;
    Ok(Json(ClientList {
        total: data.len(),
        data,
    }))
}

/// Register an OAuth 2.0 client (client credentials). The secret is in this response only.
#[utoipa::path(post, path = "/connect/api/v1/oauth_clients", tag = "Authentication", request_body = NewOAuthClient,
    responses((status = 201, body = OAuthClientView), (status = 400, body = super::Problem), (status = 403, body = super::Problem)))]
pub async fn create_client(
    State(app): State<AppState>,
    Auth(p): Auth,
    JsonBody(body): JsonBody<NewOAuthClient>,
) -> ApiResult<(StatusCode, Json<OAuthClientView>)> {
    Ok((
        StatusCode::CREATED,
        Json(app.stella.create_oauth_client(p.grant()?, body).await?),
    ))
}

#[utoipa::path(delete, path = "/connect/api/v1/oauth_clients/{clientId}", tag = "Authentication", params(("clientId" = String, Path)),
    responses((status = 204), (status = 404, body = super::Problem)))]
pub async fn revoke_client(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.stella.revoke_oauth_client(p.grant()?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
