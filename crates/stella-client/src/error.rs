//! [`ClientError`]: every way a call can end other than with an answer, and how a CLI shows it
//! and exits.

use reqwest::StatusCode;
use std::fmt;
use std::time::Duration;
use stella_proto::Problem;

/// The statuses by which the server refuses a request it understood: the caller's input,
/// credential or rate is at fault, and retrying the same request will not help (except 429,
/// after `Retry-After`). Every other status, 405, 413 and 5xx included, is [`ClientError::Failed`]:
/// a client that does not match the server, or a server that could not answer.
pub const REFUSED_STATUSES: [u16; 6] = [400, 401, 403, 404, 409, 429];

/// How much of an answer that is not a problem document (a proxy's error page, say) a message
/// shows.
const SNIPPET_CHARS: usize = 200;

#[derive(Debug)]
pub enum ClientError {
    /// The server understood the request and said no: one of [`REFUSED_STATUSES`].
    Refused {
        status: u16,
        /// The answer's problem document, when it was one (an OAuth 2.0 error from
        /// `/connect/token` is converted into one). Boxed: it is large, and a `Result`'s error
        /// should not make every `Ok` that large.
        problem: Option<Box<Problem>>,
        /// `Retry-After` in seconds (429, and 503 which is `Failed`).
        retry_after: Option<Duration>,
        /// The start of an answer that is not a problem document.
        body: Option<String>,
    },
    /// No usable answer: bad local input, network failure, timeout, 5xx, an answer too large or
    /// unreadable. The message says which, with the cause's whole chain.
    Failed(String),
}

impl ClientError {
    /// What a CLI exits with: 1 when the server refused, 2 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Refused { .. } => 1,
            ClientError::Failed(_) => 2,
        }
    }

    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Refused { status, .. } => Some(*status),
            ClientError::Failed(_) => None,
        }
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Refused { problem, .. } => problem.as_deref(),
            ClientError::Failed(_) => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::Refused { retry_after, .. } => *retry_after,
            ClientError::Failed(_) => None,
        }
    }

    /// The error for an answer that is not a success. `text` is its body as received.
    pub(crate) fn from_answer(
        status: StatusCode,
        text: &str,
        retry_after: Option<Duration>,
        oauth: bool,
    ) -> Self {
        let problem = parse_problem(text, oauth);
        let body = match &problem {
            Some(_) => None,
            None => Some(text.trim().chars().take(SNIPPET_CHARS).collect::<String>())
                .filter(|s| !s.is_empty()),
        };
        if REFUSED_STATUSES.contains(&status.as_u16()) {
            ClientError::Refused {
                status: status.as_u16(),
                problem: problem.map(Box::new),
                retry_after,
                body,
            }
        } else {
            ClientError::Failed(describe(
                status.as_u16(),
                problem.as_ref(),
                body.as_deref(),
                retry_after,
            ))
        }
    }

    /// A failure of the HTTP layer, with reqwest's source chain: its own message ("error
    /// sending request for url ...") hides the cause, such as "Connection refused".
    pub(crate) fn network(e: reqwest::Error) -> Self {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        ClientError::Failed(msg)
    }
}

/// A problem document, or (from `/connect/token`) an RFC 6749 error, or `None` when the body
/// is neither (empty, HTML, a JSON value that is not an object).
fn parse_problem(text: &str, oauth: bool) -> Option<Problem> {
    if oauth {
        if let Ok(e) = serde_json::from_str::<stella_proto::OAuthError>(text) {
            return Some(e.into());
        }
    }
    serde_json::from_str::<Problem>(text).ok()
}

/// `400 Bad Request: detail`, then one line per field error, the wait, and for a server error
/// the trace id to quote.
fn describe(
    status: u16,
    problem: Option<&Problem>,
    body: Option<&str>,
    retry_after: Option<Duration>,
) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .or(problem.and_then(Problem::title))
        .unwrap_or("");
    let mut msg = format!("{status} {reason}");
    let errors: Vec<String> = problem
        .map(|p| {
            p.errors
                .iter()
                .map(|e| format!("{}: {}", e.path, e.msg))
                .collect()
        })
        .unwrap_or_default();
    match (problem.and_then(Problem::detail), body) {
        // The server's validation detail is its field errors joined; they follow one a line.
        (Some(detail), _) if !errors.is_empty() && detail == errors.join("; ") => {}
        (Some(detail), _) => msg = format!("{msg}: {detail}"),
        // Not a problem document: show the start of it.
        (None, Some(snippet)) => msg = format!("{msg}: {snippet}"),
        (None, None) => {}
    }
    for e in &errors {
        msg.push_str(&format!("\n  {e}"));
    }
    if let Some(wait) = retry_after {
        msg.push_str(&format!("\n  retry after {} s", wait.as_secs()));
    }
    if status >= 500 {
        if let Some(trace) = problem.and_then(Problem::trace_id) {
            msg.push_str(&format!(
                "\n  traceId: {trace} (quote it when reporting the error)"
            ));
        }
    }
    msg
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Refused {
                status,
                problem,
                retry_after,
                body,
            } => f.write_str(&describe(
                *status,
                problem.as_deref(),
                body.as_deref(),
                *retry_after,
            )),
            ClientError::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ClientError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: &str, retry_after: Option<u64>) -> ClientError {
        ClientError::from_answer(
            StatusCode::from_u16(status).unwrap(),
            body,
            retry_after.map(Duration::from_secs),
            false,
        )
    }

    #[test]
    fn refusals_exit_1_and_show_every_field_error() {
        let body = json!({"type": "x", "title": "Invalid request", "status": 400,
            "detail": "email: bad; password: short", "traceId": "t1",
            "errors": [{"path": "email", "msg": "bad"}, {"path": "password", "msg": "short"}]});
        let e = answer(400, &body.to_string(), None);
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.problem().map(|p| p.errors.len()), Some(2));
        assert_eq!(
            e.to_string(),
            "400 Bad Request\n  email: bad\n  password: short"
        );
        let body = json!({"status": 429, "detail": "slow down", "traceId": "t1"});
        let e = answer(429, &body.to_string(), Some(3));
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(
            e.to_string(),
            "429 Too Many Requests: slow down\n  retry after 3 s"
        );
    }

    #[test]
    fn server_errors_and_odd_statuses_exit_2() {
        let body = json!({"status": 500, "detail": "an internal error occurred", "traceId": "t2"});
        let e = answer(500, &body.to_string(), None);
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("traceId: t2"));
        let e = answer(405, "", None);
        assert_eq!(e.exit_code(), 2);
        assert_eq!(e.to_string(), "405 Method Not Allowed");
        let e = answer(502, "<html>gateway</html>", None);
        assert_eq!(e.to_string(), "502 Bad Gateway: <html>gateway</html>");
    }

    #[test]
    fn a_refusal_that_is_no_problem_document_shows_its_start() {
        let e = answer(403, &"x".repeat(500), None);
        assert_eq!(e.exit_code(), 1);
        assert!(e.problem().is_none());
        assert_eq!(e.to_string(), format!("403 Forbidden: {}", "x".repeat(200)));
    }

    #[test]
    fn oauth_errors_read_as_problems() {
        let body = json!({"error": "invalid_client", "error_description": "unknown client"});
        let e = ClientError::from_answer(StatusCode::UNAUTHORIZED, &body.to_string(), None, true);
        assert_eq!(e.to_string(), "401 Unauthorized: unknown client");
        assert_eq!(
            e.problem().and_then(|p| p.error.as_deref()),
            Some("invalid_client")
        );
    }
}
