//! The deployment as a whole (several servers on one database): its servers and its signing
//! keys. Root super admins only.

use crate::extract::Auth;
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use stella_service::jobs::NodeInfo;
use stella_service::keys::KeyInfo;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKeyList {
    /// Whether the keys are shared through the database (a deployment secret is configured).
    pub shared: bool,
    /// Newest activation first; every key verifies, the one marked `signing` signs.
    pub data: Vec<KeyInfo>,
}

/// The signing keys published at `/.well-known/jwks.json` and which one signs now.
#[utoipa::path(get, path = "/cluster/signing_keys", tag = "Operations",
    responses((status = 200, body = SigningKeyList), (status = 403, body = super::Problem)))]
pub async fn list_signing_keys(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<SigningKeyList>> {
    let data = app.stella.signing_keys(p.restricted()?);
    Ok(Json(SigningKeyList {
        shared: app.stella.shared_keys(),
        data,
    }))
}

/// Rotate: a new signing key. Shared keys: every server verifies with it at once and it signs
/// from `activates_at` (`key_activation_delay_secs` later), so every server publishes it
/// before any token carries it. Tokens signed by earlier keys stay valid until they expire.
#[utoipa::path(post, path = "/cluster/signing_keys/rotate", tag = "Operations",
    responses((status = 201, body = KeyInfo), (status = 403, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn rotate_signing_key(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<(StatusCode, Json<KeyInfo>)> {
    let info = app.stella.rotate_signing_key(p.restricted()?).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NodeList {
    /// Newest start first; servers stopped or silent for a week are dropped from the list.
    pub data: Vec<NodeInfo>,
}

/// The servers of the deployment: version, start, heartbeat, health, event-index lag and the
/// background jobs each runs.
#[utoipa::path(get, path = "/cluster/nodes", tag = "Operations",
    responses((status = 200, body = NodeList), (status = 403, body = super::Problem)))]
pub async fn list_nodes(State(app): State<AppState>, Auth(p): Auth) -> ApiResult<Json<NodeList>> {
    let data = app.stella.cluster_nodes(p.restricted()?).await?;
    Ok(Json(NodeList { data }))
}

/// Drain a server before removing it: it keeps serving requests but takes no new background
/// work (what it runs now finishes). Takes effect at once, through the database.
#[utoipa::path(post, path = "/cluster/nodes/{id}/drain", tag = "Operations",
    params(("id" = String, Path, description = "A node id from GET /cluster/nodes")),
    responses((status = 200, body = NodeInfo), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn drain_node(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<NodeInfo>> {
    Ok(Json(
        app.stella.drain_node(p.restricted()?, &id, true).await?,
    ))
}

/// Undo a drain: the server takes background work again.
#[utoipa::path(post, path = "/cluster/nodes/{id}/undrain", tag = "Operations",
    params(("id" = String, Path, description = "A node id from GET /cluster/nodes")),
    responses((status = 200, body = NodeInfo), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn undrain_node(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<NodeInfo>> {
    Ok(Json(
        app.stella.drain_node(p.restricted()?, &id, false).await?,
    ))
}
