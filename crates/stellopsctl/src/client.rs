//! HTTP to the server: the API key → JWT exchange, JSON requests, and the mapping of answers
//! to [`CliError`] and so to exit codes.

use reqwest::header::{ACCEPT, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// Every path this tool calls is under this prefix.
const API: [&str; 3] = ["connect", "api", "v1"];

#[derive(Debug)]
pub enum CliError {
    /// The server understood the request and said no (HTTP 400, 401, 403, 404, 409, 429).
    Refused(String),
    /// No usable answer: bad local input, network failure, 5xx, unreadable body.
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Refused(_) => 1,
            CliError::Failed(_) => 2,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Refused(m) | CliError::Failed(m) => f.write_str(m),
        }
    }
}

impl From<reqwest::Error> for CliError {
    fn from(e: reqwest::Error) -> Self {
        // reqwest's own message ("error sending request for url ...") hides the cause, such
        // as "Connection refused", in its source chain.
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        CliError::Failed(msg)
    }
}

pub struct Client {
    http: reqwest::Client,
    base: Url,
    bearer: String,
}

impl Client {
    /// Checks the arguments and, when `token` is an API key, trades it for a JWT: the server
    /// accepts API keys on the exchange endpoint only.
    pub async fn connect(server: &str, token: Option<&str>) -> Result<Self, CliError> {
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                CliError::Failed(
                    "no token: pass --token or set STELLA_TOKEN to your API key".into(),
                )
            })?;
        let base = Url::parse(server)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base())
            .ok_or_else(|| {
                CliError::Failed(format!("--server {server:?} is not an http(s) URL"))
            })?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("stellopsctl/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let mut client = Client {
            http,
            base,
            bearer: token.to_owned(),
        };
        if token.starts_with("stk_") {
            let answer = client.post(&["access_token"], None).await?;
            let jwt = answer
                .get("access_token")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    CliError::Failed("the server's access_token answer has no access_token".into())
                })?;
            client.bearer = jwt.to_owned();
        }
        Ok(client)
    }

    /// The server URL as given, for messages.
    pub fn server(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    pub async fn get(&self, path: &[&str], query: &[(&str, String)]) -> Result<Value, CliError> {
        self.send(Method::GET, &API, path, query, None).await
    }

    pub async fn post(&self, path: &[&str], body: Option<&Value>) -> Result<Value, CliError> {
        self.send(Method::POST, &API, path, &[], body).await
    }

    pub async fn delete(&self, path: &[&str]) -> Result<Value, CliError> {
        self.send(Method::DELETE, &API, path, &[], None).await
    }

    /// The deployment's own endpoints, outside the Open XDR prefix (`/cluster/…`).
    pub async fn get_cluster(&self, path: &[&str]) -> Result<Value, CliError> {
        self.send(Method::GET, &["cluster"], path, &[], None).await
    }

    pub async fn post_cluster(&self, path: &[&str]) -> Result<Value, CliError> {
        self.send(Method::POST, &["cluster"], path, &[], None).await
    }

    async fn send(
        &self,
        method: Method,
        prefix: &[&str],
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, CliError> {
        let mut url = self.base.clone();
        // Segments, not string concatenation: ids are percent-encoded and a base path such as
        // https://host/stella/ is kept.
        url.path_segments_mut()
            .map_err(|()| CliError::Failed("the server URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(prefix.iter().chain(path));
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(&self.bearer)
            .header(ACCEPT, "application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.text().await?;
        if !status.is_success() {
            return Err(problem(status, &text, retry_after.as_deref()));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| {
            CliError::Failed(format!(
                "the server answered {status} with a body that is not JSON: {e}"
            ))
        })
    }
}

/// Turns an error answer (RFC 9457 problem details, or anything else) into a message.
fn problem(status: StatusCode, text: &str, retry_after: Option<&str>) -> CliError {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let s = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let errors: Vec<String> = body
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            let field = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("?");
            format!("{}: {}", field("path"), field("msg"))
        })
        .collect();
    let reason = status.canonical_reason().or(s("title")).unwrap_or("");
    let mut msg = format!("{} {reason}", status.as_u16());
    match s("detail") {
        // The server's validation detail is its field errors joined; they follow one a line.
        Some(detail) if !errors.is_empty() && detail == errors.join("; ") => {}
        Some(detail) => msg = format!("{msg}: {detail}"),
        // Not a problem document (a proxy's error page, say): show the start of it.
        None if !text.trim().is_empty() && body.is_null() => {
            let snippet: String = text.trim().chars().take(200).collect();
            msg = format!("{msg}: {snippet}");
        }
        None => {}
    }
    for e in &errors {
        msg.push_str(&format!("\n  {e}"));
    }
    if let Some(secs) = retry_after {
        msg.push_str(&format!("\n  retry after {secs} s"));
    }
    if status.is_server_error() {
        if let Some(trace) = s("traceId") {
            msg.push_str(&format!(
                "\n  traceId: {trace} (quote it when reporting the error)"
            ));
        }
    }
    match status.as_u16() {
        400 | 401 | 403 | 404 | 409 | 429 => CliError::Refused(msg),
        _ => CliError::Failed(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refusals_exit_1_and_show_every_field_error() {
        let body = json!({"type": "x", "title": "Invalid request", "status": 400,
            "detail": "email: bad; password: short", "traceId": "t1",
            "errors": [{"path": "email", "msg": "bad"}, {"path": "password", "msg": "short"}]});
        let e = problem(StatusCode::BAD_REQUEST, &body.to_string(), None);
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            e.to_string(),
            "400 Bad Request\n  email: bad\n  password: short"
        );
        let body = json!({"status": 429, "detail": "slow down", "traceId": "t1"});
        let e = problem(StatusCode::TOO_MANY_REQUESTS, &body.to_string(), Some("3"));
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            e.to_string(),
            "429 Too Many Requests: slow down\n  retry after 3 s"
        );
    }

    #[test]
    fn server_errors_and_odd_statuses_exit_2() {
        let body = json!({"status": 500, "detail": "an internal error occurred", "traceId": "t2"});
        let e = problem(StatusCode::INTERNAL_SERVER_ERROR, &body.to_string(), None);
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("traceId: t2"));
        let e = problem(StatusCode::METHOD_NOT_ALLOWED, "", None);
        assert_eq!(e.exit_code(), 2);
        let e = problem(StatusCode::BAD_GATEWAY, "<html>gateway</html>", None);
        assert_eq!(e.to_string(), "502 Bad Gateway: <html>gateway</html>");
    }
}
