//! Request extractors: the authenticated caller, JSON bodies with path-precise errors, and
//! list parameters.

use crate::problem::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use stella_core::{FieldError, Principal};

/// What the gateway learned from the `Authorization` header.
#[derive(Debug, Clone)]
pub enum AuthState {
    Missing,
    Failed(String),
    Authenticated(Arc<Principal>),
}

/// The authenticated caller. Rejects with 401 and the reason when there is none.
#[derive(Debug, Clone)]
pub struct Auth(pub Arc<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<AuthState>() {
            Some(AuthState::Authenticated(p)) => Ok(Auth(p.clone())),
            Some(AuthState::Failed(msg)) => Err(ApiError::unauthorized(msg.clone())),
            _ => Err(ApiError::unauthorized(
                "authentication required: send 'Authorization: Bearer <JWT>' (get one from POST /connect/api/v1/access_token with your API key)",
            )),
        }
    }
}

/// A JSON body, parsed with the JSON path of the first error so the message says what to fix.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn is_json(ct: &str) -> bool {
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Plain parsing first: tracking the path costs an allocation per object key, which on a
    // bulk of events was a large part of the parse. Only a refused body is parsed again, with
    // the path, to say where it went wrong.
    if let Ok(v) = serde_json::from_slice(bytes) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::BadRequest(format!("the body is not valid JSON: {inner}"))
        } else {
            let path = if path == "." || path.is_empty() {
                "$".to_owned()
            } else {
                format!("$.{path}")
            };
            ApiError::invalid(vec![FieldError::new(
                path,
                strip_position(&inner.to_string()),
            )])
        }
    })
}

/// serde's messages end with "at line 1 column 17", which says nothing useful to an API client.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// The body (already bounded and buffered by the gateway) and its declared content type.
async fn body_of<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<(Option<String>, Bytes), ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|e| ApiError::BadRequest(format!("could not read the body: {e}")))?;
    Ok((ct, bytes))
}

fn check_json_type(ct: Option<&str>) -> Result<(), ApiError> {
    match ct {
        Some(ct) if is_json(ct) => Ok(()),
        Some(ct) => Err(ApiError::UnsupportedMediaType(format!(
            "send the body as application/json, not {ct}"
        ))),
        None => Err(ApiError::UnsupportedMediaType(
            "send the body with Content-Type: application/json".into(),
        )),
    }
}

fn parse_json_body<T: DeserializeOwned>(ct: Option<&str>, bytes: &[u8]) -> Result<T, ApiError> {
    check_json_type(ct)?;
    parse_json(bytes)
}

/// A non-empty body declared as JSON, left unparsed for a handler that parses it its own way
/// (bulk event ingest keeps each event's text as received).
#[derive(Debug)]
pub struct RawJsonBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawJsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (ct, bytes) = body_of(req, state).await?;
        if bytes.is_empty() {
            return Err(ApiError::BadRequest("a JSON body is required".into()));
        }
        check_json_type(ct.as_deref())?;
        Ok(RawJsonBody(bytes))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (ct, bytes) = body_of(req, state).await?;
        if bytes.is_empty() {
            return Err(ApiError::BadRequest("a JSON body is required".into()));
        }
        parse_json_body(ct.as_deref(), &bytes).map(JsonBody)
    }
}

/// A JSON body that may be absent (empty), e.g. `POST /token/offline` with all defaults.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (ct, bytes) = body_of(req, state).await?;
        if bytes.is_empty() {
            return Ok(OptionalJsonBody(None));
        }
        parse_json_body(ct.as_deref(), &bytes).map(|v| OptionalJsonBody(Some(v)))
    }
}

/// Query parameters as ordered pairs, bounded in number.
#[derive(Debug, Default)]
pub struct Params(pub Vec<(String, String)>);

const MAX_PARAMS: usize = 64;

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q)
            .map_err(|e| ApiError::BadRequest(format!("the query string is malformed: {e}")))?;
        if pairs.len() > MAX_PARAMS {
            return Err(ApiError::BadRequest(format!(
                "at most {MAX_PARAMS} query parameters"
            )));
        }
        Ok(Params(pairs))
    }
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `limit` and `offset`, bounded; other parameters must be in `allowed`.
    pub fn paging(&self, max: i64, allowed: &[&str]) -> Result<(i64, i64), ApiError> {
        let mut errors = Vec::new();
        let mut limit = stella_core::resource::DEFAULT_PAGE.min(max);
        let mut offset = 0;
        for (k, v) in &self.0 {
            match k.as_str() {
                "limit" => match v.parse::<i64>() {
                    Ok(n) if (1..=max).contains(&n) => limit = n,
                    _ => errors.push(FieldError::new(
                        "limit",
                        format!("must be an integer from 1 to {max}"),
                    )),
                },
                "offset" => match v.parse::<i64>() {
                    Ok(n) if (0..=stella_core::resource::MAX_OFFSET).contains(&n) => offset = n,
                    _ => errors.push(FieldError::new("offset", "must be a non-negative integer")),
                },
                other if allowed.contains(&other) => {}
                other => errors.push(FieldError::new(
                    other,
                    format!(
                        "is not a parameter here; use limit, offset{}",
                        allowed.iter().map(|a| format!(", {a}")).collect::<String>()
                    ),
                )),
            }
        }
        if errors.is_empty() {
            Ok((limit, offset))
        } else {
            Err(ApiError::invalid(errors))
        }
    }
}
