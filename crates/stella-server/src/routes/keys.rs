use crate::extract::{Auth, JsonBody, Params};
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use stella_service::{ApiKeyView, CreatedApiKey, NewApiKey, OfflineTokenView};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub data: Vec<ApiKeyView>,
    pub total: usize,
}

/// List your API keys (or, with `user_id`, those of a user you outrank). Secrets are never listed.
#[utoipa::path(get, path = "/connect/api/v1/api_keys", tag = "Authentication", params(("user_id" = Option<String>, Query)),
    responses((status = 200, body = KeyList), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn list_keys(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
) -> ApiResult<Json<KeyList>> {
    params.paging(i64::MAX, &["user_id"])?;
    let data = app.stella.list_api_keys(&p, params.get("user_id")).await?;
    Ok(Json(KeyList {
        total: data.len(),
        data,
    }))
}

/// Create an API key for yourself. The secret is in this response only.
#[utoipa::path(post, path = "/connect/api/v1/api_keys", tag = "Authentication", request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 400, body = super::Problem), (status = 403, body = super::Problem)))]
pub async fn create_key(
    State(app): State<AppState>,
    Auth(p): Auth,
    JsonBody(body): JsonBody<NewApiKey>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    Ok((
        StatusCode::CREATED,
        Json(app.stella.create_api_key(&p, body).await?),
    ))
}

/// Revoke a key: yours, or one of a user with lower privileges in your scope. Tokens it minted
/// stop working on their next request.
#[utoipa::path(delete, path = "/connect/api/v1/api_keys/{keyId}", tag = "Authentication", params(("keyId" = String, Path)),
    responses((status = 200, body = ApiKeyView), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn revoke_key(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiKeyView>> {
    Ok(Json(app.stella.revoke_api_key(&p, &id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfflineTokenList {
    pub data: Vec<OfflineTokenView>,
    pub total: usize,
}

/// List your offline tokens (or, with `user_id`, those of a user you outrank, given
/// `api_keys:revoke`). A token's id is its JWT's `cid` claim; the JWT itself is never listed.
#[utoipa::path(get, path = "/connect/api/v1/offline_tokens", tag = "Authentication", params(("user_id" = Option<String>, Query)),
    responses((status = 200, body = OfflineTokenList), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn list_offline_tokens(
    State(app): State<AppState>,
    Auth(p): Auth,
    params: Params,
) -> ApiResult<Json<OfflineTokenList>> {
    params.paging(i64::MAX, &["user_id"])?;
    let data = app
        .stella
        .list_offline_tokens(&p, params.get("user_id"))
        .await?;
    Ok(Json(OfflineTokenList {
        total: data.len(),
        data,
    }))
}

/// Revoke an offline token: yours, or one of a user with lower privileges in your scope. It
/// stops working on its next request.
#[utoipa::path(delete, path = "/connect/api/v1/offline_tokens/{tokenId}", tag = "Authentication", params(("tokenId" = String, Path)),
    responses((status = 200, body = OfflineTokenView), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn revoke_offline_token(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<OfflineTokenView>> {
    Ok(Json(app.stella.revoke_offline_token(&p, &id).await?))
}
