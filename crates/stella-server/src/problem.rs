//! The one place where errors become HTTP, with one renderer per API surface, chosen here by
//! the surface the gateway found the request on ([`Surface`]):
//!
//! - everywhere but `/rest/`: RFC 9457 `application/problem+json` with `type`, `title`,
//!   `status`, `detail`, `traceId` (and `errors` for validation). The members `error`,
//!   `message` and `code` repeat title, detail and status for clients written against the XDR
//!   contract's `Error` schema;
//! - `/rest/`: Django REST framework's shapes: `{"field": ["message", …]}` for invalid input
//!   (`non_field_errors` for the body as a whole), `{"detail": "…"}` for everything else.
//!
//! Both carry the same status codes and headers (`Retry-After`, `WWW-Authenticate`), and the
//! trace id is in every response's `X-Trace-Id` header.

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use stella_core::FieldError;
use stella_service::ServiceError;

tokio::task_local! {
    /// The W3C trace id of the request being served, set by the gateway middleware.
    pub static TRACE_ID: String;
    /// The surface of the request being served, set by the gateway middleware.
    pub static SURFACE: Surface;
}

pub fn current_trace_id() -> String {
    TRACE_ID.try_with(Clone::clone).unwrap_or_default()
}

/// An API surface: how errors (and lists) are shaped for its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The XDR API, identity, scanning and operations: problem+json.
    Problem,
    /// Probe management at `/rest/`, in Django REST framework's dialect.
    Drf,
}

impl Surface {
    pub fn of_path(path: &str) -> Surface {
        if path == "/rest" || path.starts_with("/rest/") {
            Surface::Drf
        } else {
            Surface::Problem
        }
    }

    pub fn current() -> Surface {
        SURFACE.try_with(|s| *s).unwrap_or(Surface::Problem)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("no route for this path")]
    RouteNotFound,
    #[error("this path does not accept the method")]
    MethodNotAllowed(Method),
    #[error("the request body did not arrive within {ms} ms")]
    BodyTimeout { ms: u64 },
}

impl ApiError {
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        ApiError::Service(ServiceError::Invalid(errors))
    }

    pub fn unauthorized(msg: impl Into<String>) -> Self {
        ApiError::Service(ServiceError::Unauthorized(msg.into()))
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use ServiceError as S;
        match self {
            ApiError::Service(S::Unauthorized(_)) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            ),
            ApiError::Service(S::Forbidden(_)) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::Service(S::NotFound(_)) | ApiError::RouteNotFound => {
                (StatusCode::NOT_FOUND, "not-found", "Not found")
            }
            ApiError::Service(S::Invalid(_)) => {
                (StatusCode::BAD_REQUEST, "validation", "Invalid request")
            }
            ApiError::Service(S::BadInput { .. }) => {
                (StatusCode::BAD_REQUEST, "bad-input", "Unreadable input")
            }
            ApiError::BadRequest(_) => {
                (StatusCode::BAD_REQUEST, "bad-request", "Malformed request")
            }
            ApiError::Service(S::Conflict(_)) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::Service(S::TooManyRequests { .. }) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
            ),
            ApiError::Service(S::Unavailable(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            ApiError::Service(S::DiskFull(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "disk-full",
                "Not enough free disk space",
            ),
            ApiError::Service(S::Internal(_)) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
            ApiError::PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
            ),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            ApiError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            ApiError::BodyTimeout { .. } => (
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "Request timeout",
            ),
        }
    }
}

pub const PROBLEM_BASE: &str = "https://stella-ops.dev/probs/";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let surface = Surface::current();
        let (status, body, content_type) = match surface {
            Surface::Problem => (self.parts().0, self.problem(), "application/problem+json"),
            Surface::Drf => (self.parts().0, self.drf(), "application/json"),
        };
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        match &self {
            ApiError::Service(ServiceError::TooManyRequests {
                retry_after_secs, ..
            }) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::Service(ServiceError::Unavailable(_)) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            }
            ApiError::Service(ServiceError::DiskFull(_)) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(stella_service::disk::RETRY_AFTER_SECS),
                );
            }
            ApiError::Service(ServiceError::Unauthorized(_)) => {
                // DRF's TokenAuthentication names its own scheme; a JWT is accepted as well.
                let challenge = match surface {
                    Surface::Problem => "Bearer realm=\"stella\"",
                    Surface::Drf => "Token",
                };
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
            _ => {}
        }
        response
    }
}

impl ApiError {
    /// The cause of an internal error goes to the log (with the trace id), never to the client.
    fn log_internal(&self, trace_id: &str) {
        if let ApiError::Service(ServiceError::Internal(inner)) = self {
            tracing::error!(trace_id = %trace_id, error = %inner, "internal error");
        }
    }

    /// RFC 9457 problem details.
    fn problem(&self) -> Value {
        let (status, slug, title) = self.parts();
        let trace_id = current_trace_id();
        self.log_internal(&trace_id);
        let detail = match self {
            ApiError::Service(ServiceError::Internal(_)) => {
                "an internal error occurred; quote the traceId when reporting it".to_owned()
            }
            ApiError::Service(ServiceError::Invalid(errors)) => errors
                .iter()
                .map(|e| format!("{}: {}", e.path, e.msg))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        // Unreadable input names what was wrong with it by its own stable code.
        let slug = match self {
            ApiError::Service(ServiceError::BadInput { code, .. }) => code.as_str(),
            _ => slug,
        };
        let mut body = json!({
            "type": format!("{PROBLEM_BASE}{slug}"),
            "title": title,
            "status": status.as_u16(),
            "detail": detail,
            "traceId": trace_id,
            "error": title,
            "message": detail,
            "code": status.as_u16(),
        });
        if let ApiError::Service(ServiceError::Invalid(errors)) = self {
            body["errors"] = json!(errors);
        }
        body
    }

    /// Django REST framework's error shapes.
    fn drf(&self) -> Value {
        self.log_internal(&current_trace_id());
        let detail = match self {
            ApiError::Service(ServiceError::Invalid(errors)) => return drf_field_errors(errors),
            ApiError::Service(ServiceError::Internal(_)) => {
                "A server error occurred; quote the X-Trace-Id header when reporting it.".to_owned()
            }
            ApiError::RouteNotFound => "Not found.".to_owned(),
            ApiError::MethodNotAllowed(m) => format!("Method \"{m}\" not allowed."),
            ApiError::Service(ServiceError::TooManyRequests {
                retry_after_secs, ..
            }) => format!(
                "Request was throttled. Expected available in {retry_after_secs} second{}.",
                if *retry_after_secs == 1 { "" } else { "s" }
            ),
            other => other.to_string(),
        };
        json!({ "detail": detail })
    }
}

/// Validation errors as Django REST framework answers them: each top-level member with its
/// messages (`{"name": ["This field is required."]}`); errors about the body as a whole under
/// `non_field_errors`; a nested member's path leads its message.
fn drf_field_errors(errors: &[FieldError]) -> Value {
    let mut by_field = Map::new();
    for e in errors {
        let path = e.path.strip_prefix('$').unwrap_or(&e.path);
        let path = path.strip_prefix('.').unwrap_or(path);
        let split = path.find(['.', '[']).unwrap_or(path.len());
        let (field, rest) = path.split_at(split);
        let field = if field.is_empty() {
            "non_field_errors"
        } else {
            field
        };
        let msg = e.msg.trim_end_matches('.');
        let message = if !rest.is_empty() {
            format!("{rest}: {msg}.")
        } else if field != "non_field_errors"
            && ["is ", "must ", "cannot ", "names ", "has "]
                .iter()
                .any(|verb| msg.starts_with(verb))
        {
            format!("This field {msg}.")
        } else {
            let mut chars = msg.chars();
            match chars.next() {
                Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
                None => "Invalid.".to_owned(),
            }
        };
        match by_field
            .entry(field.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(list) => list.push(Value::String(message)),
            other => *other = json!([message]),
        }
    }
    Value::Object(by_field)
}

impl From<stella_core::CoreError> for ApiError {
    fn from(e: stella_core::CoreError) -> Self {
        ApiError::Service(ServiceError::from(e))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_take_drf_shape() {
        let errors = vec![
            FieldError::new("name", "is required"),
            FieldError::new("name", "must be at most 100 characters"),
            FieldError::new("$.tags[1]", "must be a string"),
            FieldError::new("$", "must be a JSON object"),
            FieldError::new("ipaddress", "not an IP address"),
        ];
        assert_eq!(
            drf_field_errors(&errors),
            json!({
                "name": ["This field is required.", "This field must be at most 100 characters."],
                "tags": ["[1]: must be a string."],
                "non_field_errors": ["Must be a JSON object."],
                "ipaddress": ["Not an IP address."],
            })
        );
    }

    #[tokio::test]
    async fn the_surface_chooses_the_renderer() {
        let body = |r: Response| async {
            let bytes = axum::body::to_bytes(r.into_body(), 1 << 16)
                .await
                .unwrap_or_default();
            serde_json::from_slice::<Value>(&bytes).unwrap_or_default()
        };
        let err = || ApiError::Service(ServiceError::NotFound("no such probe".into()));
        let drf = SURFACE
            .scope(Surface::Drf, async { err().into_response() })
            .await;
        assert_eq!(drf.status(), 404);
        assert_eq!(drf.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(body(drf).await, json!({"detail": "no such probe"}));
        let problem = SURFACE
            .scope(Surface::Problem, async { err().into_response() })
            .await;
        assert_eq!(
            problem.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(body(problem).await["status"], 404);
        assert_eq!(Surface::of_path("/rest/appliances/x/"), Surface::Drf);
        assert_eq!(Surface::of_path("/restore"), Surface::Problem);
    }
}
