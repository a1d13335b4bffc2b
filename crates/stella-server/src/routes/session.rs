//! Password sign-in and sign-out.

use crate::client_addr::ClientAddr;
use crate::extract::{Auth, JsonBody};
use crate::gateway::ActivityUser;
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use stella_service::{AuthAttempt, SessionToken, SignIn};

/// The cookie a browser keeps its session in.
pub const SESSION_COOKIE: &str = "stella_session";

/// Sign in with email and password. Answers a session JWT (send it as `Authorization: Bearer`)
/// and sets it as an HTTP-only, SameSite=Strict cookie for a browser. The session has all of
/// your permissions and ends after `session_ttl_secs` or at sign-out. Failed attempts from one
/// address are slowed down with growing waits.
#[utoipa::path(post, path = "/connect/api/v1/sign_in", tag = "Authentication", security(()), request_body = SignIn,
    responses((status = 200, body = SessionToken), (status = 401, body = super::Problem), (status = 429, body = super::Problem)))]
pub async fn sign_in(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    JsonBody(body): JsonBody<SignIn>,
) -> ApiResult<Response> {
    let ip = stella_service::address_key(addr);
    let (token, user) = app
        .stella
        .sign_in(body, AuthAttempt { client_ip: &ip }, Some(addr.to_string()))
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        token.access_token,
        token.expires_in,
        if app.config.tls_enabled() {
            "; Secure"
        } else {
            ""
        }
    );
    let mut response = Json(&token).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        h.insert(header::SET_COOKIE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .extensions_mut()
        .insert(ActivityUser::of_user(&user));
    Ok(response)
}

/// End the session you call with (its token and cookie stop working everywhere).
#[utoipa::path(post, path = "/connect/api/v1/sign_out", tag = "Authentication",
    responses((status = 204), (status = 400, body = super::Problem), (status = 401, body = super::Problem)))]
pub async fn sign_out(State(app): State<AppState>, Auth(p): Auth) -> ApiResult<Response> {
    app.stella.sign_out(&p).await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("stella_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(r)
}
