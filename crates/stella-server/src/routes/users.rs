use super::Page;
use crate::extract::{Auth, JsonBody, Params};
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use stella_service::{NewUserRequest, ResetUser, UpdateUserRequest, UserView};
use utoipa::ToSchema;

/// List the users visible to you.
#[utoipa::path(get, path = "/connect/api/v1/users", tag = "Users",
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = Page<UserView>), (status = 403, body = super::Problem)))]
pub async fn list_users(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
) -> ApiResult<Json<Page<UserView>>> {
    let (limit, offset) = params.paging(app.config.max_page_size, &[])?;
    let (data, total) = app.stella.list_users(p.grant()?, limit, offset).await?;
    Ok(Json(Page {
        data,
        total,
        limit,
        offset,
    }))
}

/// Create a user with lower privileges than yours: fewer permissions (counting the credential
/// you call with), or the same over a narrower scope. `privilege_profile` is a profile id.
#[utoipa::path(post, path = "/connect/api/v1/users", tag = "Users", request_body = NewUserRequest,
    responses((status = 201, body = UserView), (status = 400, body = super::Problem), (status = 403, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn create_user(
    State(app): State<AppState>,
    Auth(p): Auth,
    JsonBody(body): JsonBody<NewUserRequest>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    Ok((
        StatusCode::CREATED,
        Json(app.stella.create_user(p.grant()?, body).await?),
    ))
}

#[utoipa::path(get, path = "/connect/api/v1/users/{userId}", tag = "Users", params(("userId" = String, Path)),
    responses((status = 200, body = UserView), (status = 404, body = super::Problem)))]
pub async fn get_user(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(app.stella.get_user(&p, &id).await?))
}

#[utoipa::path(put, path = "/connect/api/v1/users/{userId}", tag = "Users", params(("userId" = String, Path)), request_body = UpdateUserRequest,
    responses((status = 200, body = UserView), (status = 400, body = super::Problem), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn update_user(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateUserRequest>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(app.stella.update_user(&p, &id, body).await?))
}

#[utoipa::path(delete, path = "/connect/api/v1/users/{userId}", tag = "Users", params(("userId" = String, Path)),
    responses((status = 204), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn delete_user(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.stella.delete_user(p.grant()?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResetResult {
    pub user_id: String,
    /// Present when the server generated the password; shown only here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// Reset a user's password. Restricted to super admins with root scope.
#[utoipa::path(post, path = "/connect/api/v1/reset_user", tag = "Users", request_body = ResetUser,
    responses((status = 200, body = ResetResult), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn reset_user(
    State(app): State<AppState>,
    Auth(p): Auth,
    JsonBody(body): JsonBody<ResetUser>,
) -> ApiResult<Json<ResetResult>> {
    let (user_id, password) = app.stella.reset_user(p.restricted()?, body).await?;
    Ok(Json(ResetResult { user_id, password }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user_id: String,
    pub email: String,
    #[schema(value_type = String)]
    pub scope: stella_core::Scope,
    pub tenant_ids: Vec<String>,
    pub privilege_profile: String,
    /// Effective permissions: the profile's, narrowed by the credential in use.
    pub permissions: Vec<String>,
    #[schema(value_type = String)]
    pub credential: stella_core::CredentialKind,
    pub token_expires: Option<String>,
}

/// Who you are to the server: identity, scope, tenants and the permissions this credential
/// carries. Answered from the authenticated caller, without a database read.
#[utoipa::path(get, path = "/connect/api/v1/me", tag = "Users",
    responses((status = 200, body = Me), (status = 401, body = super::Problem)))]
pub async fn me(Auth(p): Auth) -> Json<Me> {
    Json(Me {
        user_id: p.user_id.clone(),
        email: p.email.clone(),
        scope: p.scope,
        tenant_ids: p.tenant_ids.clone(),
        privilege_profile: p.profile.clone(),
        permissions: p.permissions.iter().map(str::to_owned).collect(),
        credential: p.credential,
        token_expires: p.token_expires_ms.map(stella_core::clock::rfc3339_ms),
    })
}
