//! The middleware every request passes: trace id, rate limit, bounded body, authentication,
//! token and quota headers, metrics and the activity log. Kept in one place so the order of
//! these steps is visible and the same for every route.

use crate::activity::PendingActivity;
use crate::extract::AuthState;
use crate::problem::{ApiError, TRACE_ID};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use stella_core::clock::rfc3339_ms;
use stella_core::{Principal, Scope};
use stella_service::{AuthAttempt, ServiceError, Stella};

/// Who a handler authenticated itself (e.g. `/access_token`), for the activity log.
#[derive(Debug, Clone)]
pub struct ActivityUser {
    pub user_id: String,
    pub email: Option<String>,
    pub tenant_id: Option<String>,
}

impl ActivityUser {
    pub fn of(p: &Principal) -> Self {
        Self {
            user_id: p.user_id.clone(),
            email: Some(p.email.clone()),
            tenant_id: if p.scope == Scope::Tenant {
                p.tenant_ids.first().cloned()
            } else {
                None
            },
        }
    }
}

/// Paths that authenticate inside their handler.
const SELF_AUTHENTICATING: &[&str] = &["/connect/api/v1/access_token", "/connect/token"];
/// Monitoring endpoints are not API calls and are left out of the activity log.
const NOT_LOGGED: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// A W3C trace-context id (`00-<trace>-<span>-01`) from the thread-local fast RNG behind
/// `uuid`'s v4, formatted once.
fn new_trace_id() -> String {
    let trace = uuid::Uuid::new_v4().as_u128();
    let span = uuid::Uuid::new_v4().as_u128() as u64;
    format!("00-{trace:032x}-{span:016x}-01")
}

fn rate_key(auth: Option<&str>, ip: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match auth {
        Some(a) => ("tok", a).hash(&mut h),
        None => ("ip", ip).hash(&mut h),
    }
    h.finish()
}

pub async fn gateway(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let trace_id = new_trace_id();
    TRACE_ID
        .scope(trace_id.clone(), handle(app, req, next, trace_id))
        .await
}

async fn handle(app: AppState, req: Request, next: Next, trace_id: String) -> Response {
    let started = Instant::now();
    let now_ms = app.stella.now_ms();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let wants_plain_json = accepts_only_plain_json(req.headers());
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let mut body = Bytes::new();
    let mut principal: Option<Arc<Principal>> = None;
    let mut response = match app
        .limiter
        .check(rate_key(authorization.as_deref(), &ip), now_ms)
    {
        Err(wait) => {
            app.metrics.rate_limited.inc();
            ApiError::from(ServiceError::TooManyRequests {
                retry_after_secs: wait,
                detail: format!(
                    "more than {} requests per second; slow down",
                    app.limiter.rate()
                ),
            })
            .into_response()
        }
        Ok(()) => {
            let (parts, raw) = req.into_parts();
            let limit = if path == INGEST_PATH {
                app.config.max_ingest_body_bytes
            } else {
                app.config.max_body_bytes
            };
            match read_body(&parts.headers, raw, limit).await {
                Err(e) => e.into_response(),
                Ok(bytes) => {
                    body = bytes.clone();
                    match authenticate(&app, &path, authorization.as_deref(), &ip).await {
                        Err(e) => e.into_response(),
                        Ok(state) => {
                            if let AuthState::Authenticated(p) = &state {
                                principal = Some(p.clone());
                            }
                            let mut req = Request::from_parts(parts, Body::from(bytes));
                            req.extensions_mut().insert(state);
                            next.run(req).await
                        }
                    }
                }
            }
        }
    };

    if let Some(p) = &principal {
        add_token_headers(&app.stella, p, response.headers_mut()).await;
    }
    if let Ok(v) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert("x-trace-id", v);
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == "application/problem+json");
    if wants_plain_json && is_problem {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let status_code = response.status();
    let status = status_code.as_u16();
    let route_label = route.as_deref().unwrap_or("unmatched");
    app.metrics
        .requests
        .with_label_values(&[method.as_str(), route_label, status_code.as_str()])
        .inc();
    app.metrics
        .latency
        .with_label_values(&[route_label])
        .observe(started.elapsed().as_secs_f64());
    if status == 401 {
        app.metrics
            .auth_failures
            .with_label_values(&[auth_kind(authorization.as_deref())])
            .inc();
    }

    if app.config.activity_log && !NOT_LOGGED.contains(&path.as_str()) && !path.starts_with("/docs")
    {
        let who = principal
            .as_deref()
            .map(ActivityUser::of)
            .or_else(|| response.extensions().get::<ActivityUser>().cloned());
        app.activity
            .record(PendingActivity {
                ts: now_ms,
                user_id: who.as_ref().map(|w| w.user_id.clone()),
                email: who.as_ref().and_then(|w| w.email.clone()),
                tenant_id: who.and_then(|w| w.tenant_id),
                method,
                path,
                query,
                status,
                client_ip: ip,
                content_type,
                body,
                duration_us: started.elapsed().as_micros() as i64,
                trace_id,
            })
            .await;
    }
    response
}

/// Errors are `application/problem+json`; a client whose `Accept` names `application/json` but
/// not problem+json (as clients written to the XDR contract do) gets the same document labelled
/// `application/json` (RFC 9457 §3 allows either).
fn accepts_only_plain_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("application/problem+json"))
}

fn auth_kind(authorization: Option<&str>) -> &'static str {
    match authorization
        .and_then(|a| a.split_once(' '))
        .map(|(s, _)| s.to_ascii_lowercase())
    {
        None => "missing",
        Some(s) if s == "bearer" => "bearer",
        Some(s) if s == "basic" => "basic",
        Some(s) if s == "token" => "token",
        Some(_) => "other",
    }
}

/// Bulk event ingest carries up to `max_bulk` documents, so it has its own body bound.
const INGEST_PATH: &str = "/connect/api/v1/events";

async fn read_body(headers: &HeaderMap, raw: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    match Limited::new(raw, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ApiError::PayloadTooLarge { limit })
        }
        Err(e) => Err(ApiError::BadRequest(format!(
            "could not read the request body: {e}"
        ))),
    }
}

async fn authenticate(
    app: &AppState,
    path: &str,
    authorization: Option<&str>,
    ip: &str,
) -> Result<AuthState, ApiError> {
    let Some(value) = authorization else {
        return Ok(AuthState::Missing);
    };
    if SELF_AUTHENTICATING.contains(&path) {
        return Ok(AuthState::Missing);
    }
    let at = AuthAttempt { client_ip: ip };
    let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
    let credential = credential.trim();
    let outcome = match scheme.to_ascii_lowercase().as_str() {
        "bearer" if Stella::is_api_key(credential) => {
            return Ok(AuthState::Failed(
                "API keys are accepted only by POST /connect/api/v1/access_token; exchange the key there for a JWT and send that".into(),
            ))
        }
        "bearer" => app.stella.authenticate_jwt(credential, at).await,
        "basic" if path.starts_with("/connect/api/v1") => match decode_basic(credential) {
            Some((email, token)) => app.stella.authenticate_basic(&email, &token, at).await.map(Arc::new),
            None => return Ok(AuthState::Failed("the Basic credentials are not base64 of 'email:token'".into())),
        },
        "basic" => return Ok(AuthState::Failed("HTTP Basic (email and legacy token) is accepted under /connect/api/v1 only".into())),
        "token" if path.starts_with("/rest/") => app.stella.authenticate_legacy_token(credential, at).await.map(Arc::new),
        "token" => return Ok(AuthState::Failed("'Authorization: Token' is accepted under /rest/ only; send a Bearer JWT here".into())),
        _ => return Ok(AuthState::Failed("unsupported Authorization scheme; send 'Bearer <JWT>'".into())),
    };
    match outcome {
        Ok(p) => Ok(AuthState::Authenticated(p)),
        Err(ServiceError::Unauthorized(m)) => Ok(AuthState::Failed(m)),
        Err(e) => Err(e.into()),
    }
}

pub fn decode_basic(credential: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(credential)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

async fn add_token_headers(stella: &Stella, p: &Principal, headers: &mut HeaderMap) {
    if let Some(exp) = p.token_expires_ms {
        if let Ok(v) = HeaderValue::from_str(&rfc3339_ms(exp)) {
            headers.insert("x-stella-token-expires", v);
        }
    }
    if p.quota.is_some() {
        if let Ok(Some((remaining, reset))) = stella.quota_status(p).await {
            headers.insert("x-stella-quota-remaining", HeaderValue::from(remaining));
            if let Ok(v) = HeaderValue::from_str(&reset) {
                headers.insert("x-stella-reset", v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{decode_basic, new_trace_id};

    #[test]
    fn trace_ids_follow_w3c_trace_context() {
        let t = new_trace_id();
        let parts: Vec<&str> = t.split('-').collect();
        assert_eq!(parts.len(), 4, "{t}");
        assert_eq!(
            (parts[0], parts[1].len(), parts[2].len(), parts[3]),
            ("00", 32, 16, "01")
        );
        assert!(parts[1]
            .bytes()
            .chain(parts[2].bytes())
            .all(|b| b.is_ascii_hexdigit()));
        assert_ne!(t, new_trace_id());
    }

    #[test]
    fn basic_credentials_split_at_the_first_colon() {
        // base64("a@b.co:tok:en")
        assert_eq!(
            decode_basic("YUBiLmNvOnRvazplbg=="),
            Some(("a@b.co".into(), "tok:en".into()))
        );
        assert_eq!(decode_basic("not base64!"), None);
        assert_eq!(decode_basic("bm9jb2xvbg=="), None);
    }
}
