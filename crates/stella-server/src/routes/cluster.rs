//! The deployment as a whole (several servers on one database): its signing keys. Root super
//! admins only.

use crate::extract::Auth;
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
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
