//! The middleware every request passes. Kept in one place so the order of these steps is
//! visible and the same for every route:
//!
//! 1. trace id;
//! 2. **authentication from the headers alone** (JWT, legacy Basic or `Token`, or the session
//!    cookie), before any of the body is read: a request to an authenticated route without a
//!    valid credential is answered 401 at once, and its body is never buffered;
//! 3. the **rate limit**, keyed on the authenticated credential (an API key however many JWTs
//!    it minted, an OAuth client, an offline token, a session, a legacy token), and on the
//!    client address for unauthenticated and failed requests;
//! 4. for a session cookie, a same-origin check on state-changing methods (CSRF);
//! 5. the **body**, read within the route's own bound and within a server-wide budget of bytes
//!    being read at once (so concurrent large uploads cannot take the memory);
//! 6. the handler; then token and quota headers, metrics and the activity log.
//!
//! Every route needs a credential unless it is listed in `PUBLIC` (monitoring, documentation,
//! the public keys) or authenticates inside its handler (`SELF_AUTHENTICATING`), so a new route
//! is authenticated by default.

use crate::activity::PendingActivity;
use crate::client_addr::ClientAddr;
use crate::extract::AuthState;
use crate::problem::{ApiError, Surface, SURFACE, TRACE_ID};
use crate::routes::session::SESSION_COOKIE;
use crate::state::AppState;
use axum::body::Body;
use axum::body::HttpBody;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
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
    /// A user a handler authenticated itself (sign-in, API key exchange).
    pub fn of_user(u: &stella_store::UserRecord) -> Self {
        Self {
            user_id: u.id.clone(),
            email: Some(u.email.clone()),
            tenant_id: (u.scope == Scope::Tenant)
                .then(|| u.tenant_ids.first().cloned())
                .flatten(),
        }
    }

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

/// Routes that authenticate inside their handler (their credential is in the request).
const SELF_AUTHENTICATING: &[&str] = &[
    "/connect/api/v1/access_token",
    "/connect/token",
    "/connect/api/v1/sign_in",
];
/// Routes anyone may call: monitoring, documentation, the public signing keys.
const PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/version",
    "/openapi/v1.yaml",
    "/docs",
    "/docs/{file}",
    "/.well-known/jwks.json",
];
/// Writes that still go ahead below the free-space floor (`min_free_bytes`): signing in, reads
/// sent as POST, identity and credential administration (revoking a key must work on a full
/// disk; these rows are few and small) and cluster administration. Every other POST, PUT or
/// PATCH is a data write and waits for space (503); DELETE frees space and always goes ahead.
const WRITABLE_WHEN_DISK_LOW: &[&str] = &[
    "/connect/api/v1/access_token",
    "/connect/token",
    "/connect/api/v1/sign_in",
    "/connect/api/v1/sign_out",
    "/token/offline",
    "/connect/api/v1/legacy_token",
    "/connect/api/v1/api_keys",
    "/connect/api/v1/oauth_clients",
    "/connect/api/v1/privilege_profiles",
    "/connect/api/v1/privilege_profiles/{id}",
    "/connect/api/v1/users",
    "/connect/api/v1/users/{userId}",
    "/connect/api/v1/reset_user",
    "/connect/api/v1/data/{index}/_search",
    "/connect/api/v1/data/{index}/_refresh",
    "/connect/api/v1/queries/{id}/run",
    "/cluster/nodes/{id}/drain",
    "/cluster/nodes/{id}/undrain",
    "/cluster/signing_keys/rotate",
    // Retention frees space.
    "/connect/api/v1/retention/{tenant_id}",
    "/cluster/retention/run",
];

/// Whether this request writes data, and so waits while the disk is below its floor.
fn writes_data(method: &Method, route: Option<&str>) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
        && route.is_some_and(|r| !WRITABLE_WHEN_DISK_LOW.contains(&r))
}
/// Monitoring endpoints are not API calls and are left out of the activity log.
const NOT_LOGGED: &[&str] = &["/healthz", "/readyz", "/metrics"];
/// Bulk event ingest carries up to `max_bulk` documents, so it has its own body bound.
const INGEST_PATH: &str = "/connect/api/v1/events";
/// Body bound of the public and self-authenticating routes (a form or a small JSON object).
const SMALL_BODY: usize = 64 * 1024;
/// The body budget is counted in KiB.
const BUDGET_UNIT: usize = 1024;

/// A W3C trace-context id (`00-<trace>-<span>-01`) from the thread-local fast RNG behind
/// `uuid`'s v4, formatted once.
fn new_trace_id() -> String {
    let trace = uuid::Uuid::new_v4().as_u128();
    let span = uuid::Uuid::new_v4().as_u128() as u64;
    format!("00-{trace:032x}-{span:016x}-01")
}

/// The rate-limit bucket of a request: its credential when authenticated, else its address.
fn rate_key(principal: Option<&Principal>, ip: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match principal {
        Some(p) => (
            "credential",
            p.credential as u8,
            p.credential_id.as_deref().unwrap_or(&p.user_id),
        )
            .hash(&mut h),
        None => ("address", ip).hash(&mut h),
    }
    h.finish()
}

/// How a route is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    SelfAuthenticating,
    Authenticated,
    /// No route matched: the fallback answers 404 without a body or a credential.
    Unmatched,
}

fn access_of(route: Option<&str>) -> Access {
    match route {
        None => Access::Unmatched,
        Some(r) if PUBLIC.contains(&r) || crate::routes::rest::is_slash_redirect(r) => {
            Access::Public
        }
        Some(r) if SELF_AUTHENTICATING.contains(&r) => Access::SelfAuthenticating,
        Some(_) => Access::Authenticated,
    }
}

/// The credential a request presents, read from its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    None,
    /// `Authorization: <scheme> <credential>`, the scheme lower-cased and the credential
    /// trimmed (so case and spacing variants are one credential).
    Header {
        scheme: String,
        credential: String,
    },
    /// The session cookie (read only when there is no `Authorization` header).
    Cookie(String),
    /// An `Authorization` header that is not `<scheme> <credential>`.
    Malformed,
}

pub fn presented(headers: &HeaderMap) -> Presented {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let Ok(v) = v.to_str() else {
            return Presented::Malformed;
        };
        let v = v.trim();
        return match v.split_once(|c: char| c.is_ascii_whitespace()) {
            Some((scheme, cred)) if !cred.trim().is_empty() => Presented::Header {
                scheme: scheme.to_ascii_lowercase(),
                credential: cred.trim().to_owned(),
            },
            _ => Presented::Malformed,
        };
    }
    for v in headers.get_all(header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for pair in v.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                if name == SESSION_COOKIE && !value.is_empty() {
                    return Presented::Cookie(value.to_owned());
                }
            }
        }
    }
    Presented::None
}

pub async fn gateway(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let trace_id = new_trace_id();
    let surface = Surface::of_path(req.uri().path());
    TRACE_ID
        .scope(
            trace_id.clone(),
            SURFACE.scope(surface, handle(app, req, next, trace_id)),
        )
        .await
}

/// What the activity log keeps of a request's body.
enum LoggedBody {
    Bytes(Bytes),
    /// Too large to keep: only its size.
    Oversized(usize),
}

async fn handle(app: AppState, mut req: Request, next: Next, trace_id: String) -> Response {
    let started = Instant::now();
    let now_ms = app.stella.now_ms();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    // The client, behind trusted proxies if any; kept for the handlers (sign-in, history).
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| app.proxies.client(c.0.ip(), req.headers()));
    if let Some(client) = peer {
        req.extensions_mut().insert(ClientAddr(client));
    }
    let ip = peer.map_or_else(|| "unknown".into(), |ip| ip.to_string());
    // What the abuse limits count (an IPv6 address's /64).
    let client = peer.map_or_else(|| "unknown".into(), stella_service::address_key);
    let wants_plain_json = accepts_only_plain_json(req.headers());
    let credential = presented(req.headers());
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let access = access_of(route.as_deref());
    let origin_ok = same_origin_or_safe(&method, req.uri(), req.headers());

    let mut logged = LoggedBody::Bytes(Bytes::new());
    let mut principal: Option<Arc<Principal>> = None;
    let upload = route
        .as_deref()
        .is_some_and(|r| crate::upload::UPLOAD_ROUTES.contains(&r));
    let mut response =
        match admit(&app, &path, &client, access, &credential, origin_ok, now_ms).await {
            Err(e) if upload => {
                // Refused before the body was read: read it first (see upload::drain).
                crate::upload::drain(req.into_body().into_data_stream()).await;
                e.into_response()
            }
            Err(e) => e.into_response(),
            Ok(state) => {
                if let AuthState::Authenticated(p) = &state {
                    principal = Some(p.clone());
                }
                let (parts, raw) = req.into_parts();
                let disk = if writes_data(&method, route.as_deref()) {
                    app.stella.disk().admit_write()
                } else {
                    Ok(())
                };
                if let Err(e) = disk {
                    if upload {
                        crate::upload::drain(raw.into_data_stream()).await;
                    }
                    ApiError::Service(e).into_response()
                } else if access == Access::Unmatched {
                    next.run(Request::from_parts(parts, Body::empty())).await
                } else if upload {
                    // Streamed to a spool file by the handler (upload.rs), within its own bound.
                    let declared = parts
                        .headers
                        .get(header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    if declared.is_some_and(|n| n > app.config.max_upload_bytes) {
                        ApiError::PayloadTooLarge {
                            limit: app.config.max_upload_bytes as usize,
                        }
                        .into_response()
                    } else {
                        let (body, left) = crate::upload::returnable(raw);
                        let mut req = Request::from_parts(parts, body);
                        req.extensions_mut().insert(state);
                        let response = next.run(req).await;
                        if !response.status().is_success() {
                            // Refused before the handler read it all (see upload::drain).
                            left.drain().await;
                        }
                        if let Some(u) = response.extensions().get::<crate::upload::UploadLog>() {
                            let note = serde_json::json!({
                                "upload": {"digest": u.digest, "size": u.size}
                            });
                            logged = LoggedBody::Bytes(Bytes::from(note.to_string()));
                        }
                        response
                    }
                } else {
                    // The ingest route's larger bound is for callers who may ingest at all.
                    let may_ingest = principal.as_ref().is_some_and(|p| p.has("events:write"));
                    let (limit, budgeted) = match access {
                        // Small and bounded in time: not counted against the shared budget, so
                        // unauthenticated senders cannot take it.
                        Access::Public | Access::SelfAuthenticating => (SMALL_BODY, false),
                        _ if path == INGEST_PATH && may_ingest => {
                            (app.config.max_ingest_body_bytes, true)
                        }
                        // A rule source as plain text (a 30,000-rule source is ~16 MB) takes
                        // the ingest bound, for callers who may change sources.
                        _ if route.as_deref() == Some(crate::routes::rest_rules::UPLOAD_ROUTE)
                            && principal.as_ref().is_some_and(|p| p.has("probes:write")) =>
                        {
                            (app.config.max_ingest_body_bytes, true)
                        }
                        _ => (app.config.max_body_bytes, true),
                    };
                    match read_body(&app, &parts.headers, raw, limit, budgeted).await {
                        Err(e) => e.into_response(),
                        Ok((bytes, budget)) => {
                            logged = if bytes.len() > app.config.activity_body_max_bytes * 4 {
                                LoggedBody::Oversized(bytes.len())
                            } else {
                                LoggedBody::Bytes(bytes.clone())
                            };
                            let mut req = Request::from_parts(parts, Body::from(bytes));
                            req.extensions_mut().insert(state);
                            let response = next.run(req).await;
                            drop(budget);
                            response
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
            .with_label_values(&[auth_kind(&credential)])
            .inc();
    }

    if app.config.activity_log && !NOT_LOGGED.contains(&path.as_str()) && !path.starts_with("/docs")
    {
        let who = principal
            .as_deref()
            .map(ActivityUser::of)
            .or_else(|| response.extensions().get::<ActivityUser>().cloned());
        let (body, oversized) = match logged {
            LoggedBody::Bytes(b) => (b, None),
            LoggedBody::Oversized(n) => (Bytes::new(), Some(n)),
        };
        app.activity
            .record(PendingActivity {
                ts: now_ms,
                user_id: who.as_ref().map(|w| w.user_id.clone()),
                email: who.as_ref().and_then(|w| w.email.clone()),
                tenant_id: who.and_then(|w| w.tenant_id),
                method: method.as_str().to_owned(),
                path,
                route,
                query,
                status,
                client_ip: ip,
                content_type,
                body,
                oversized,
                duration_us: started.elapsed().as_micros() as i64,
                trace_id,
            })
            .await;
    }
    response
}

/// Authentication, rate limit and the cookie's origin check: everything decided from the
/// request's head, before its body.
async fn admit(
    app: &AppState,
    path: &str,
    ip: &str,
    access: Access,
    credential: &Presented,
    origin_ok: bool,
    now_ms: i64,
) -> Result<AuthState, ApiError> {
    let state = match access {
        Access::Authenticated => authenticate(app, path, credential, ip).await?,
        _ => AuthState::Missing,
    };
    let principal = match &state {
        AuthState::Authenticated(p) => Some(p.as_ref()),
        _ => None,
    };
    let key = rate_key(principal, ip);
    // The deployment's limit when Redis is configured (and answers); this server's otherwise.
    let decision = match app.stella.shared_limits() {
        Some(shared) => match shared.rate(key, app.limiter.rate(), now_ms).await {
            Some(d) => d,
            None => app.limiter.check(key, now_ms),
        },
        None => app.limiter.check(key, now_ms),
    };
    if let Err(wait) = decision {
        app.metrics.rate_limited.inc();
        return Err(ApiError::from(ServiceError::TooManyRequests {
            retry_after_secs: wait,
            detail: format!(
                "more than {} requests per second; slow down",
                app.limiter.rate()
            ),
        }));
    }
    match state {
        AuthState::Failed(m) => Err(ApiError::unauthorized(m)),
        AuthState::Missing if access == Access::Authenticated => {
            Err(ApiError::unauthorized(match Surface::of_path(path) {
                // Django REST framework's words, and what this surface accepts.
                Surface::Drf => {
                    "Authentication credentials were not provided: send 'Authorization: Token \
                     <token>' (your legacy token) or 'Authorization: Bearer <JWT>'."
                }
                Surface::Problem => {
                    "authentication required: send 'Authorization: Bearer <JWT>' (get one from \
                     POST /connect/api/v1/access_token with your API key, or sign in at POST \
                     /connect/api/v1/sign_in)"
                }
            }))
        }
        AuthState::Authenticated(p) => {
            if matches!(credential, Presented::Cookie(_)) && !origin_ok {
                return Err(ApiError::Service(ServiceError::Forbidden(
                    "a request authenticated by the session cookie that changes something must \
                     come from this server's own origin (Origin header); scripts send the \
                     session token as 'Authorization: Bearer' instead"
                        .into(),
                )));
            }
            Ok(AuthState::Authenticated(p))
        }
        other => Ok(other),
    }
}

/// A cookie-authenticated request may change state only from this server's own pages: its
/// `Origin` (or, without one, `Referer`) must name the host it was sent to (the `Host` header,
/// or the request's authority over HTTP/2).
fn same_origin_or_safe(method: &Method, uri: &axum::http::Uri, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    let Some(host) = host else {
        return false;
    };
    let origin = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    origin.is_some_and(|o| {
        let rest = o
            .strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"))
            .unwrap_or("");
        rest.split('/').next() == Some(host)
    })
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

fn auth_kind(credential: &Presented) -> &'static str {
    match credential {
        Presented::None => "missing",
        Presented::Cookie(_) => "cookie",
        Presented::Malformed => "other",
        Presented::Header { scheme, .. } => match scheme.as_str() {
            "bearer" => "bearer",
            "basic" => "basic",
            "token" => "token",
            _ => "other",
        },
    }
}

/// Reads the body within `limit` and within the server's budget of bytes being read at once.
/// The returned permit holds the budget until the handler is done with the body.
async fn read_body<'a>(
    app: &'a AppState,
    headers: &HeaderMap,
    raw: Body,
    limit: usize,
    budgeted: bool,
) -> Result<(Bytes, Option<tokio::sync::SemaphorePermit<'a>>), ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    // Most requests (every GET) have no body at all: nothing to reserve or read.
    if raw.is_end_stream() || raw.size_hint().upper() == Some(0) {
        return Ok((Bytes::new(), None));
    }
    // A declared length reserves that much; a chunked body reserves its route's bound.
    let reserve = match declared {
        Some(0) => 0,
        Some(n) => n as usize,
        None => limit,
    };
    let permit =
        if reserve == 0 || !budgeted {
            None
        } else {
            let units = reserve.div_ceil(BUDGET_UNIT).min(u32::MAX as usize) as u32;
            let wait = Duration::from_millis(app.config.body_budget_wait_ms);
            match tokio::time::timeout(wait, app.body_budget.acquire_many(units)).await {
                Ok(Ok(p)) => Some(p),
                _ => return Err(ApiError::Service(ServiceError::Unavailable(
                    "the server is reading too many large request bodies at once; retry shortly"
                        .into(),
                ))),
            }
        };
    let timeout = app.config.body_read_timeout_ms;
    let read = tokio::time::timeout(
        Duration::from_millis(timeout),
        Limited::new(raw, limit).collect(),
    );
    let Ok(collected) = read.await else {
        return Err(ApiError::BodyTimeout { ms: timeout });
    };
    match collected {
        Ok(collected) => Ok((collected.to_bytes(), permit)),
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
    credential: &Presented,
    ip: &str,
) -> Result<AuthState, ApiError> {
    let at = AuthAttempt { client_ip: ip };
    let outcome = match credential {
        Presented::None => return Ok(AuthState::Missing),
        Presented::Malformed => {
            return Ok(AuthState::Failed(
                "the Authorization header is not '<scheme> <credential>'; send 'Bearer <JWT>'"
                    .into(),
            ))
        }
        Presented::Cookie(jwt) => app.stella.authenticate_jwt(jwt, at).await,
        Presented::Header { scheme, credential } => match scheme.as_str() {
            "bearer" if Stella::is_api_key(credential) => {
                return Ok(AuthState::Failed(
                    "API keys are accepted only by POST /connect/api/v1/access_token; exchange the key there for a JWT and send that".into(),
                ))
            }
            "bearer" => app.stella.authenticate_jwt(credential, at).await,
            "basic" if path.starts_with("/connect/api/v1") => match decode_basic(credential) {
                Some((email, token)) => app
                    .stella
                    .authenticate_basic(&email, &token, at)
                    .await
                    .map(Arc::new),
                None => {
                    return Ok(AuthState::Failed(
                        "the Basic credentials are not base64 of 'email:token'".into(),
                    ))
                }
            },
            "basic" => {
                return Ok(AuthState::Failed(
                    "HTTP Basic (email and legacy token) is accepted under /connect/api/v1 only"
                        .into(),
                ))
            }
            "token" if path.starts_with("/rest/") => app
                .stella
                .authenticate_legacy_token(credential, at)
                .await
                .map(Arc::new),
            "token" => {
                return Ok(AuthState::Failed(
                    "'Authorization: Token' is accepted under /rest/ only; send a Bearer JWT here"
                        .into(),
                ))
            }
            _ => {
                return Ok(AuthState::Failed(
                    "unsupported Authorization scheme; send 'Bearer <JWT>'".into(),
                ))
            }
        },
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
    use super::{decode_basic, new_trace_id, presented, same_origin_or_safe, Presented};
    use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};

    #[test]
    fn cookie_changes_need_the_servers_own_origin() {
        let h = |pairs: &[(header::HeaderName, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(
                    k.clone(),
                    HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
                );
            }
            m
        };
        let plain = Uri::from_static("/connect/api/v1/api_keys");
        let host = (header::HOST, "stella.example:8443");
        assert!(same_origin_or_safe(&Method::GET, &plain, &h(&[])));
        assert!(!same_origin_or_safe(
            &Method::POST,
            &plain,
            &h(std::slice::from_ref(&host))
        ));
        assert!(same_origin_or_safe(
            &Method::POST,
            &plain,
            &h(&[
                host.clone(),
                (header::ORIGIN, "https://stella.example:8443")
            ])
        ));
        assert!(!same_origin_or_safe(
            &Method::DELETE,
            &plain,
            &h(&[
                host.clone(),
                (header::ORIGIN, "https://stella.example:8443.evil.test")
            ])
        ));
        assert!(same_origin_or_safe(
            &Method::PUT,
            &plain,
            &h(&[
                host,
                (header::REFERER, "https://stella.example:8443/console/keys")
            ])
        ));
        // HTTP/2: no Host header, the authority is in the request's URI.
        let h2 = Uri::from_static("https://stella.example/connect/api/v1/api_keys");
        assert!(same_origin_or_safe(
            &Method::POST,
            &h2,
            &h(&[(header::ORIGIN, "https://stella.example")])
        ));
    }

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

    #[test]
    fn case_and_spacing_variants_are_one_credential() {
        let read = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("x")),
            );
            presented(&h)
        };
        let want = Presented::Header {
            scheme: "bearer".into(),
            credential: "abc.def.ghi".into(),
        };
        for v in [
            "Bearer abc.def.ghi",
            "bearer abc.def.ghi",
            "BEARER   abc.def.ghi ",
            "Bearer\tabc.def.ghi",
        ] {
            assert_eq!(read(v), want, "{v:?}");
        }
        assert_eq!(read("Bearer"), Presented::Malformed);
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; stella_session=tok; c=d"),
        );
        assert_eq!(presented(&h), Presented::Cookie("tok".into()));
    }
}
