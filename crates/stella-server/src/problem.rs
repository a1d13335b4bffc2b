//! The one place where errors become HTTP: RFC 9457 `application/problem+json` with `type`,
//! `title`, `status`, `detail`, `traceId` (and `errors` for validation). The members `error`,
//! `message` and `code` repeat title, detail and status for clients written against the XDR
//! contract's `Error` schema.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use stella_core::FieldError;
use stella_service::ServiceError;

tokio::task_local! {
    /// The W3C trace id of the request being served, set by the gateway middleware.
    pub static TRACE_ID: String;
}

pub fn current_trace_id() -> String {
    TRACE_ID.try_with(Clone::clone).unwrap_or_default()
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
    MethodNotAllowed,
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
            ApiError::MethodNotAllowed => (
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
        let (status, slug, title) = self.parts();
        let trace_id = current_trace_id();
        let detail = match &self {
            ApiError::Service(ServiceError::Internal(inner)) => {
                // The cause goes to the log (with the trace id), never to the client.
                tracing::error!(trace_id = %trace_id, error = %inner, "internal error");
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
        let slug = match &self {
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
        if let ApiError::Service(ServiceError::Invalid(errors)) = &self {
            body["errors"] = json!(errors);
        }
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
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
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"stella\""),
                );
            }
            _ => {}
        }
        response
    }
}

impl From<stella_core::CoreError> for ApiError {
    fn from(e: stella_core::CoreError) -> Self {
        ApiError::Service(ServiceError::from(e))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
