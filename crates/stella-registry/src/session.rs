//! Talking to one repository of one registry: URLs, the token flow, redirects, status codes,
//! and bounded reads. Uses the caller's `reqwest::Client` for every request.

use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, LOCATION, USER_AGENT, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode, Url};

use crate::error::{excerpt, RegistryError};
use crate::{Options, Reference};

/// Most bytes read of a token response.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

pub(crate) struct Session<'a> {
    client: &'a reqwest::Client,
    pub(crate) opts: &'a Options,
    pub(crate) registry: String,
    pub(crate) repository: String,
    base: Url,
    auth: Option<HeaderValue>,
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        client: &'a reqwest::Client,
        reference: &Reference,
        opts: &'a Options,
    ) -> Result<Session<'a>, RegistryError> {
        let host = reference.api_host();
        let scheme = if opts.is_insecure(&reference.registry) || opts.is_insecure(host) {
            "http"
        } else {
            "https"
        };
        let base = Url::parse(&format!("{scheme}://{host}/v2/")).map_err(|e| {
            RegistryError::BadReference {
                reference: excerpt(&reference.to_string()),
                reason: format!("the registry is not a valid host: {e}"),
            }
        })?;
        Ok(Session {
            client,
            opts,
            registry: reference.registry.clone(),
            repository: reference.repository.clone(),
            base,
            auth: None,
        })
    }

    pub(crate) fn url(&self, kind: &str, reference: &str) -> Result<Url, RegistryError> {
        self.base
            .join(&format!("{}/{kind}/{reference}", self.repository))
            .map_err(|e| self.bad_manifest(format!("cannot build the URL: {e}")))
    }

    // ---- errors naming this registry and repository

    pub(crate) fn unreachable(&self, detail: impl Into<String>) -> RegistryError {
        RegistryError::Unreachable {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            detail: detail.into(),
        }
    }

    pub(crate) fn not_found(&self, what: impl Into<String>) -> RegistryError {
        RegistryError::NotFound {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            what: what.into(),
        }
    }

    pub(crate) fn unauthorized(&self, detail: impl Into<String>) -> RegistryError {
        RegistryError::Unauthorized {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            detail: detail.into(),
        }
    }

    pub(crate) fn bad_manifest(&self, reason: impl Into<String>) -> RegistryError {
        RegistryError::BadManifest {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            reason: reason.into(),
        }
    }

    pub(crate) fn too_large(
        &self,
        what: impl Into<String>,
        limit: &'static str,
        max: u64,
    ) -> RegistryError {
        RegistryError::TooLarge {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            what: what.into(),
            limit,
            max,
        }
    }

    pub(crate) fn mismatch(
        &self,
        what: &str,
        expected: &str,
        detail: impl Into<String>,
    ) -> RegistryError {
        RegistryError::DigestMismatch {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            what: what.to_owned(),
            expected: expected.to_owned(),
            detail: detail.into(),
        }
    }

    pub(crate) fn io(&self, detail: impl Into<String>) -> RegistryError {
        RegistryError::Io {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            detail: detail.into(),
        }
    }

    fn http_error(&self, e: &reqwest::Error) -> RegistryError {
        let detail = if e.is_timeout() {
            "the request timed out".to_owned()
        } else if e.is_connect() {
            format!("cannot connect: {}", source_chain(e))
        } else if e.is_redirect() {
            "too many redirects (the HTTP client's own redirect policy)".to_owned()
        } else {
            source_chain(e)
        };
        self.unreachable(detail)
    }

    // ---- requests

    /// GET with this session's credentials; a 401 runs the auth flow once and retries.
    /// Redirects the client returns (3xx) are followed here, at most `max_redirects`, without
    /// the `Authorization` header once they leave the registry's origin.
    pub(crate) async fn get(
        &mut self,
        url: &Url,
        accept: Option<&str>,
        what: &str,
    ) -> Result<Response, RegistryError> {
        let resp = self.get_following(url, accept).await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return self.check(resp, what);
        }
        let challenge = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.authenticate(challenge.as_deref()).await?;
        let resp = self.get_following(url, accept).await?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            return Err(self.unauthorized(if self.opts.credentials.is_some() {
                "the credentials were not accepted"
            } else {
                "it requires credentials"
            }));
        }
        self.check(resp, what)
    }

    fn check(&self, resp: Response, what: &str) -> Result<Response, RegistryError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        Err(match status {
            StatusCode::NOT_FOUND => self.not_found(what),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                self.unauthorized(format!("HTTP {} for {what}", status.as_u16()))
            }
            _ if status.is_redirection() => {
                self.unreachable(format!("a redirect without a usable Location for {what}"))
            }
            _ => self.unreachable(format!("HTTP {} for {what}", status.as_u16())),
        })
    }

    async fn get_following(
        &self,
        url: &Url,
        accept: Option<&str>,
    ) -> Result<Response, RegistryError> {
        let mut url = url.clone();
        let mut with_auth = true;
        let mut hops = 0usize;
        loop {
            let mut req = self
                .client
                .get(url.clone())
                .header(USER_AGENT, self.opts.user_agent.as_str());
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            if let (true, Some(auth)) = (with_auth, &self.auth) {
                req = req.header(AUTHORIZATION, auth.clone());
            }
            let resp = self.timed(req.send()).await?;
            if !resp.status().is_redirection() {
                return Ok(resp);
            }
            let Some(location) = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
                return Ok(resp);
            };
            hops += 1;
            if hops > self.opts.max_redirects {
                return Err(
                    self.unreachable(format!("more than {} redirects", self.opts.max_redirects))
                );
            }
            let next = url
                .join(location)
                .map_err(|_| self.unreachable("a redirect to an invalid URL"))?;
            self.check_scheme(&next, "a redirect")?;
            if next.origin() != url.origin() {
                with_auth = false;
            }
            url = next;
        }
    }

    /// Only https, or http to a host listed in `insecure_http`.
    fn check_scheme(&self, url: &Url, what: &str) -> Result<(), RegistryError> {
        match url.scheme() {
            "https" => Ok(()),
            "http"
                if url.host_str().is_some_and(|h| {
                    let with_port = url.port().map(|p| format!("{h}:{p}"));
                    self.opts.is_insecure(h)
                        || with_port.is_some_and(|hp| self.opts.is_insecure(&hp))
                }) =>
            {
                Ok(())
            }
            s => Err(self.unreachable(format!(
                "{what} goes to a {s} URL on a host not listed for plain http"
            ))),
        }
    }

    async fn timed<F>(&self, send: F) -> Result<Response, RegistryError>
    where
        F: std::future::Future<Output = Result<Response, reqwest::Error>>,
    {
        match tokio::time::timeout(self.opts.timeout, send).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(self.http_error(&e)),
            Err(_) => Err(self.unreachable(format!("no response within {:?}", self.opts.timeout))),
        }
    }

    /// The next body chunk, within the idle timeout.
    pub(crate) async fn chunk(
        &self,
        resp: &mut Response,
    ) -> Result<Option<bytes::Bytes>, RegistryError> {
        match tokio::time::timeout(self.opts.timeout, resp.chunk()).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(self.http_error(&e)),
            Err(_) => {
                Err(self.unreachable(format!("the body stalled for {:?}", self.opts.timeout)))
            }
        }
    }

    /// A whole body, at most `max` bytes (declared and actual).
    pub(crate) async fn read_bounded(
        &self,
        mut resp: Response,
        max: u64,
        what: &str,
        limit: &'static str,
    ) -> Result<Vec<u8>, RegistryError> {
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(self.too_large(what, limit, max));
        }
        let mut body = Vec::new();
        while let Some(c) = self.chunk(&mut resp).await? {
            if (body.len() + c.len()) as u64 > max {
                return Err(self.too_large(what, limit, max));
            }
            body.extend_from_slice(&c);
        }
        Ok(body)
    }

    /// Answers a 401: a Bearer challenge fetches a token from the realm (with the
    /// credentials as Basic auth when there are some); a Basic challenge uses the
    /// credentials directly.
    async fn authenticate(&mut self, challenge: Option<&str>) -> Result<(), RegistryError> {
        let Some(challenge) = challenge else {
            return Err(self.unauthorized("401 without a WWW-Authenticate challenge"));
        };
        let (scheme, params) = parse_challenge(challenge);
        let basic = self.opts.credentials.as_ref().map(|c| {
            let raw = format!("{}:{}", c.username, c.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        });
        if scheme.eq_ignore_ascii_case("basic") {
            let Some(basic) = basic else {
                return Err(self.unauthorized("it requires credentials (Basic auth)"));
            };
            self.auth = Some(self.sensitive(&basic)?);
            return Ok(());
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(
                self.unauthorized(format!("unsupported auth scheme {:?}", excerpt(&scheme)))
            );
        }
        let param = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str())
        };
        let Some(realm) = param("realm") else {
            return Err(self.unauthorized("a Bearer challenge without a realm"));
        };
        let mut url =
            Url::parse(realm).map_err(|_| self.unauthorized("the token realm is not a URL"))?;
        self.check_scheme(&url, "the token realm")?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(service) = param("service") {
                q.append_pair("service", service);
            }
            let default_scope = format!("repository:{}:pull", self.repository);
            q.append_pair("scope", param("scope").unwrap_or(&default_scope));
        }
        let mut req = self
            .client
            .get(url)
            .header(USER_AGENT, self.opts.user_agent.as_str());
        if let Some(basic) = &basic {
            req = req.header(AUTHORIZATION, self.sensitive(basic)?);
        }
        let resp = self.timed(req.send()).await?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(self.unauthorized(if basic.is_some() {
                "the token service did not accept the credentials"
            } else {
                "the token service requires credentials"
            }));
        }
        if !status.is_success() {
            return Err(self.unauthorized(format!(
                "the token service answered HTTP {}",
                status.as_u16()
            )));
        }
        let body = self
            .read_bounded(resp, MAX_TOKEN_BYTES, "the token response", "token size")
            .await?;
        let parsed: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| self.unauthorized("the token service did not answer JSON"))?;
        let token = parsed
            .get("token")
            .or_else(|| parsed.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.unauthorized("the token service answered without a token"))?;
        self.auth = Some(self.sensitive(&format!("Bearer {token}"))?);
        Ok(())
    }

    fn sensitive(&self, value: &str) -> Result<HeaderValue, RegistryError> {
        let mut v = HeaderValue::from_str(value).map_err(|_| {
            self.unauthorized("the credentials or token are not a valid header value")
        })?;
        v.set_sensitive(true);
        Ok(v)
    }
}

fn source_chain(e: &(dyn std::error::Error + 'static)) -> String {
    // reqwest's Display includes the URL; the URLs here carry no credentials, but keep only
    // the causes, which say what went wrong.
    let mut parts = Vec::new();
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    if parts.is_empty() {
        "request failed".to_owned()
    } else {
        excerpt(&parts.join(": "))
    }
}

/// `Bearer realm="…",service="…",scope="repository:a:pull,push"` → scheme and parameters;
/// quoted values may contain commas and escaped quotes.
pub(crate) fn parse_challenge(header: &str) -> (String, Vec<(String, String)>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                value.push(n);
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        params.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    (scheme.to_owned(), params)
}

/// Default per-request and idle timeout.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_with_commas_in_quotes() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(s, "Bearer");
        assert_eq!(p[0], ("realm".into(), "https://auth.example/token".into()));
        assert_eq!(p[1], ("service".into(), "registry.example".into()));
        assert_eq!(p[2], ("scope".into(), "repository:a/b:pull,push".into()));
        let (s, p) = parse_challenge(r#"Basic realm="x\"y""#);
        assert_eq!((s.as_str(), p[0].1.as_str()), ("Basic", "x\"y"));
        assert!(parse_challenge("Bearer").1.is_empty());
        assert!(parse_challenge("").1.is_empty());
    }
}
