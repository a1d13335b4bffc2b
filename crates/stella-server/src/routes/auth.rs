//! Token endpoints: API key → JWT, OAuth 2.0 client credentials, offline tokens, JWKS and the
//! legacy token.

use crate::client_addr::ClientAddr;
use crate::extract::{Auth, OptionalJsonBody};
use crate::gateway::{decode_basic, ActivityUser};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use stella_service::{AccessToken, AuthAttempt, OAuthGrant, OAuthTokenResponse, OfflineToken};
use utoipa::ToSchema;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, cred) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| cred.trim())
}

/// Exchange an API key for a JWT that expires ten minutes after issue.
#[utoipa::path(post, path = "/connect/api/v1/access_token", tag = "Authentication",
    security(("api_key" = [])),
    responses((status = 200, body = AccessToken), (status = 401, body = super::Problem), (status = 429, body = super::Problem)))]
pub async fn access_token(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Some(key) = bearer(&headers) else {
        return Err(ApiError::unauthorized(
            "send your API key as 'Authorization: Bearer <API key>'",
        ));
    };
    let ip = stella_service::address_key(addr);
    let (token, user) = app
        .stella
        .exchange_api_key(key, AuthAttempt { client_ip: &ip })
        .await?;
    let mut response = Json(&token).into_response();
    // Record who asked, for the activity log (the gateway does not authenticate this path).
    response
        .extensions_mut()
        .insert(ActivityUser::of_user(&user));
    Ok(response)
}

/// Form fields of a client-credentials token request (RFC 6749 §4.4.2). Documentation only:
/// the handler parses the form by hand to catch repeated parameters.
#[allow(dead_code)]
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
}

fn oauth_error(
    status: u16,
    error: &str,
    description: &str,
    basic: bool,
    retry_after: Option<u64>,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if status == StatusCode::UNAUTHORIZED {
        let challenge = if basic {
            "Basic realm=\"stella\", error=\"invalid_client\""
        } else {
            "Basic realm=\"stella\""
        };
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    if let Some(s) = retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    r
}

/// Parses the form by hand: RFC 6749 §3.2 says a repeated parameter is an invalid request,
/// which a map-based extractor would hide.
pub(crate) fn grant_from(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<OAuthGrant, (&'static str, String)> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err((
            "invalid_request",
            "send the request as application/x-www-form-urlencoded".into(),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| {
        (
            "invalid_request",
            format!("the form body is malformed: {e}"),
        )
    })?;
    let mut grant = OAuthGrant::default();
    for (k, v) in pairs {
        let slot = match k.as_str() {
            "grant_type" => &mut grant.grant_type,
            "client_id" => &mut grant.client_id,
            "client_secret" => &mut grant.client_secret,
            "scope" => &mut grant.scope,
            _ => continue,
        };
        if slot.is_some() {
            grant.ambiguous = true;
        }
        *slot = Some(v);
    }
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(("basic" | "Basic" | "BASIC", cred)) = v.split_once(' ') {
            let Some((id, secret)) = decode_basic(cred.trim()) else {
                return Err((
                    "invalid_client",
                    "the Basic credentials are not base64 of 'client_id:client_secret'".into(),
                ));
            };
            if grant.client_id.is_some() && grant.client_secret.is_some() {
                grant.ambiguous = true;
            }
            // RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64.
            let decode = |s: String| {
                serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
                    .ok()
                    .and_then(|mut v| v.pop())
                    .map(|p| p.1)
                    .unwrap_or(s)
            };
            grant.client_id = Some(decode(id));
            grant.client_secret = Some(decode(secret));
            grant.used_basic = true;
        }
    }
    Ok(grant)
}

/// OAuth 2.0 token endpoint, client-credentials grant (RFC 6749 §4.4).
#[utoipa::path(post, path = "/connect/token", tag = "Authentication", security(()),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = OAuthTokenResponse), (status = 400, description = "RFC 6749 §5.2 error"), (status = 401, description = "invalid_client")))]
pub async fn oauth_token(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let grant = match grant_from(&headers, &body) {
        Ok(g) => g,
        Err((code, msg)) => {
            let status = if code == "invalid_client" { 401 } else { 400 };
            return oauth_error(status, code, &msg, true, None);
        }
    };
    let basic = grant.used_basic;
    let client_id = grant.client_id.clone();
    let ip = stella_service::address_key(addr);
    match app
        .stella
        .oauth_token(grant, AuthAttempt { client_ip: &ip })
        .await
    {
        Ok(token) => {
            let mut r = Json(&token).into_response();
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            if let Some(id) = client_id {
                r.extensions_mut().insert(ActivityUser {
                    user_id: format!("client:{id}"),
                    email: None,
                    tenant_id: None,
                });
            }
            r
        }
        Err(e) => oauth_error(e.status, e.error, &e.description, basic, e.retry_after_secs),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineRequest {
    /// Days until expiry: default 30, at most 90.
    #[serde(rename = "expiresDays")]
    pub expires_days: Option<i64>,
    /// Narrows the token (default: scanning permissions).
    pub permissions: Option<Vec<String>>,
}

/// Obtain an offline token (signed JWT carrying `maxScansPerDay`).
#[utoipa::path(post, path = "/token/offline", tag = "Authentication", request_body(content = Option<OfflineRequest>),
    responses((status = 200, body = OfflineToken), (status = 400, body = super::Problem), (status = 403, body = super::Problem)))]
pub async fn offline_token(
    State(app): State<AppState>,
    Auth(p): Auth,
    OptionalJsonBody(body): OptionalJsonBody<OfflineRequest>,
) -> ApiResult<Json<OfflineToken>> {
    let (days, perms) = body
        .map(|b| (b.expires_days, b.permissions))
        .unwrap_or((None, None));
    Ok(Json(
        app.stella
            .issue_offline_token(p.grant()?, days, perms)
            .await?,
    ))
}

/// Public keys that verify every token this server issues (RFC 7517).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "Authentication", security(()), responses((status = 200, description = "JWK set")))]
pub async fn jwks(State(app): State<AppState>) -> Response {
    let mut r = Json(app.stella.jwks()).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct LegacyToken {
    /// 40 hex characters: `Authorization: Token <token>` under /rest/; for root super admins
    /// also the HTTP Basic password with your email under /connect/api/v1.
    pub token: String,
}

/// Generate (or replace) your own legacy API token; the old one stops working at once. Any
/// user, with a credential carrying all of the user's permissions.
#[utoipa::path(post, path = "/connect/api/v1/legacy_token", tag = "Authentication",
    responses((status = 201, body = LegacyToken), (status = 403, body = super::Problem)))]
pub async fn legacy_token(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<(
    StatusCode,
    [(header::HeaderName, &'static str); 1],
    Json<LegacyToken>,
)> {
    let token = app.stella.generate_legacy_token(&p).await?;
    // A credential, like access_token's answer: no cache may keep it.
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(LegacyToken { token }),
    ))
}
