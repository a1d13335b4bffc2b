//! The Stella Ops HTTP client, shared by `stellopsctl`, `santech` and tests: sign-in (an API
//! key exchanged for a JWT, a JWT or offline token used as is, or OAuth 2.0 client
//! credentials), JSON requests with bounded time and answer size, and one error type,
//! [`ClientError`], that turns the server's problem details into a message and an exit code.
//! The request and answer documents are [`stella_proto`]'s.
//!
//! ```no_run
//! # async fn demo() -> Result<(), stella_client::ClientError> {
//! use stella_client::{Client, XDR_API};
//! let client = Client::connect("http://localhost:8080", "stk_…").await?;
//! let me: serde_json::Value = client.get_json(&[&XDR_API[..], &["me"]].concat(), &[]).await?;
//! # Ok(()) }
//! ```

mod error;

pub use error::{ClientError, REFUSED_STATUSES};
pub use reqwest;
pub use reqwest::header::HeaderMap;
pub use reqwest::{Method, StatusCode, Url};
pub use stella_proto as proto;

use reqwest::header::{ACCEPT, RETRY_AFTER};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::time::Duration;
use stella_proto::{AccessToken, ClientCredentials};

/// The Open XDR API's path prefix, `/connect/api/v1`.
pub const XDR_API: [&str; 3] = ["connect", "api", "v1"];
/// How long a connection may take to open.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request may take, answer included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer read: a bigger one is a [`ClientError::Failed`], not memory spent.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;
/// What an API key starts with; any other token is sent as it is (a JWT, an offline token).
pub const API_KEY_PREFIX: &str = "stk_";

/// `server` as a base URL, if it is an absolute http(s) URL that can take a path.
pub fn parse_server_url(server: &str) -> Option<Url> {
    Url::parse(server)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base())
}

/// A signed-in connection to one server. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    bearer: String,
    max_answer_bytes: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token.
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("max_answer_bytes", &self.max_answer_bytes)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Client`], then one of the ways to sign in.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    server: String,
    user_agent: String,
    connect_timeout: Duration,
    timeout: Duration,
    max_answer_bytes: usize,
}

impl ClientBuilder {
    /// The `User-Agent` (default `stella-client/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The bound on each whole request, answer included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn max_answer_bytes(mut self, bytes: usize) -> Self {
        self.max_answer_bytes = bytes;
        self
    }

    /// A client that sends `token` as it is (a JWT or an offline token); nothing is sent yet.
    pub fn bearer(self, token: &str) -> Result<Client, ClientError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(ClientError::Failed("no token given".into()));
        }
        self.build(token.to_owned())
    }

    fn build(self, bearer: String) -> Result<Client, ClientError> {
        let base = parse_server_url(&self.server).ok_or_else(|| {
            ClientError::Failed(format!(
                "the server URL {:?} is not an http(s) URL",
                self.server
            ))
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(self.user_agent)
            .build()
            .map_err(ClientError::network)?;
        Ok(Client {
            http,
            base,
            bearer,
            max_answer_bytes: self.max_answer_bytes,
        })
    }

    /// Signs in with `token`: an API key (`stk_…`) is exchanged for a JWT at
    /// `POST /connect/api/v1/access_token`, since the server accepts API keys nowhere else;
    /// any other token is used as it is.
    pub async fn connect(self, token: &str) -> Result<Client, ClientError> {
        let mut client = self.bearer(token)?;
        if client.bearer.starts_with(API_KEY_PREFIX) {
            let path = [&XDR_API[..], &["access_token"]].concat();
            let token: AccessToken = client.post(&path).await?;
            client.bearer = token.access_token;
        }
        Ok(client)
    }

    /// Signs in with OAuth 2.0 client credentials at `POST /connect/token` (form-encoded,
    /// RFC 6749 §4.4); `scope` is space-separated (`stella.api`), `None` for the client's own.
    pub async fn oauth(
        self,
        client_id: &str,
        client_secret: &str,
        scope: Option<&str>,
    ) -> Result<Client, ClientError> {
        // No bearer until the token arrives: the form carries the credentials.
        let mut client = self.build(String::new())?;
        let url = client.url(&["connect", "token"])?;
        let form = ClientCredentials::new(client_id, client_secret, scope);
        let req = client
            .http
            .post(url)
            .header(ACCEPT, "application/json")
            .form(&form);
        let token: AccessToken = client.answer(req, true).await?.body;
        client.bearer = token.access_token;
        Ok(client)
    }
}

/// A successful answer: its status (200, 201, 202, 204 …), headers (`Location`, the
/// `X-Stella-*` quota headers of [`proto::headers`]) and body.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: T,
}

impl Client {
    /// Settings before signing in to `server` (an http(s) base URL; a path such as
    /// `https://host/stella/` is kept).
    pub fn builder(server: &str) -> ClientBuilder {
        ClientBuilder {
            server: server.to_owned(),
            user_agent: concat!("stella-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        }
    }

    /// [`ClientBuilder::connect`] with the default settings.
    pub async fn connect(server: &str, token: &str) -> Result<Self, ClientError> {
        Self::builder(server).connect(token).await
    }

    /// [`ClientBuilder::oauth`] with the default settings.
    pub async fn oauth(
        server: &str,
        client_id: &str,
        client_secret: &str,
        scope: Option<&str>,
    ) -> Result<Self, ClientError> {
        Self::builder(server)
            .oauth(client_id, client_secret, scope)
            .await
    }

    /// The server's base URL, without a trailing `/`, for messages.
    pub fn server(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// The bearer token every request sends (the JWT an API key was exchanged for).
    pub fn access_token(&self) -> &str {
        &self.bearer
    }

    /// `GET`; `path` is segments (each percent-encoded: ids need no escaping by the caller).
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        Ok(self.call(Method::GET, path, query, None::<&()>).await?.body)
    }

    /// `GET` of a text answer (an exported policy): the body as text and the answer's headers.
    pub async fn get_text(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
    ) -> Result<(String, HeaderMap), ClientError> {
        let mut req = self
            .http
            .get(self.url(path)?)
            .bearer_auth(&self.bearer)
            .header(
                ACCEPT,
                "application/yaml, text/plain, application/problem+json",
            );
        if !query.is_empty() {
            req = req.query(query);
        }
        let mut resp = req.send().await.map_err(ClientError::network)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = read_bounded(&mut resp, self.max_answer_bytes).await?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ClientError::Failed("the server's answer is not UTF-8 text".into()))?;
        if !status.is_success() {
            return Err(ClientError::from_answer(status, &text, retry_after, false));
        }
        Ok((text, headers))
    }

    /// `POST` with a JSON body.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &[&str],
        body: &B,
    ) -> Result<T, ClientError> {
        Ok(self.call(Method::POST, path, &[], Some(body)).await?.body)
    }

    /// `POST` without a body (actions such as `…/drain`).
    pub async fn post<T: DeserializeOwned>(&self, path: &[&str]) -> Result<T, ClientError> {
        Ok(self.call(Method::POST, path, &[], None::<&()>).await?.body)
    }

    /// `PUT` with a JSON body.
    pub async fn put_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &[&str],
        body: &B,
    ) -> Result<T, ClientError> {
        Ok(self.call(Method::PUT, path, &[], Some(body)).await?.body)
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &[&str]) -> Result<T, ClientError> {
        Ok(self
            .call(Method::DELETE, path, &[], None::<&()>)
            .await?
            .body)
    }

    /// Any request, answering with the status and headers too. An empty answer body reads as
    /// JSON `null` (so `serde_json::Value::Null`, `()` or `None`).
    pub async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<&B>,
    ) -> Result<Answer<T>, ClientError> {
        let mut req = self
            .http
            .request(method, self.url(path)?)
            .bearer_auth(&self.bearer)
            .header(ACCEPT, "application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.answer(req, false).await
    }

    /// A request whose body is raw bytes (an SBOM, an image tarball, a feed archive) of
    /// `content_type`, with extra headers; a file is sent as a stream (`reqwest::Body` from a
    /// `tokio::fs::File`) and never read into memory here.
    pub async fn send_body<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        content_type: &str,
        body: reqwest::Body,
    ) -> Result<Answer<T>, ClientError> {
        let mut req = self
            .http
            .request(method, self.url(path)?)
            .bearer_auth(&self.bearer)
            .header(ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        if !query.is_empty() {
            req = req.query(query);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.answer(req, false).await
    }

    /// The base URL with `path` appended segment by segment: ids are percent-encoded and a
    /// base path is kept.
    fn url(&self, path: &[&str]) -> Result<Url, ClientError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| ClientError::Failed("the server URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(path);
        Ok(url)
    }

    /// Sends `req` and reads the answer within the size bound.
    async fn answer<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        oauth: bool,
    ) -> Result<Answer<T>, ClientError> {
        let mut resp = req.send().await.map_err(ClientError::network)?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = read_bounded(&mut resp, self.max_answer_bytes).await?;
        let text = String::from_utf8_lossy(&bytes);
        if !status.is_success() {
            return Err(ClientError::from_answer(status, &text, retry_after, oauth));
        }
        let text = if text.trim().is_empty() {
            "null"
        } else {
            &text
        };
        let body = serde_json::from_str(text).map_err(|e| {
            let what = if serde_json::from_str::<serde_json::Value>(text).is_ok() {
                "an answer this client does not understand"
            } else {
                "a body that is not JSON"
            };
            ClientError::Failed(format!("the server answered {status} with {what}: {e}"))
        })?;
        Ok(Answer {
            status,
            headers: resp.headers().clone(),
            body,
        })
    }
}

/// The answer's body, refusing one larger than `max` bytes (by its `Content-Length`, or while
/// reading one without).
async fn read_bounded(resp: &mut reqwest::Response, max: usize) -> Result<Vec<u8>, ClientError> {
    let too_large = || {
        ClientError::Failed(format!(
            "the server's answer is larger than {max} bytes, the most this client reads"
        ))
    };
    if resp.content_length().is_some_and(|len| len > max as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(ClientError::network)? {
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
