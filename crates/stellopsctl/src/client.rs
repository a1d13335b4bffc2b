//! The server as this tool sees it, through `stella-client`: paths under `/connect/api/v1` and
//! `/cluster`, JSON values in and out, and this tool's own messages for a missing token or a
//! bad `--server`. Sign-in, requests, limits and the mapping of answers to [`ClientError`]
//! (and so to exit codes) are the shared client's.

use serde_json::Value;
use stella_client::{ClientError, XDR_API};

pub struct Client {
    inner: stella_client::Client,
}

/// `prefix` then `path`, as one list of segments.
fn join<'a>(prefix: &[&'a str], path: &[&'a str]) -> Vec<&'a str> {
    [prefix, path].concat()
}

impl Client {
    /// Checks the arguments and signs in: an API key is traded for a JWT (the server accepts
    /// API keys on the exchange endpoint only); a JWT is used as is.
    pub async fn connect(server: &str, token: Option<&str>) -> Result<Self, ClientError> {
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ClientError::Failed(
                    "no token: pass --token or set STELLA_TOKEN to your API key".into(),
                )
            })?;
        if stella_client::parse_server_url(server).is_none() {
            return Err(ClientError::Failed(format!(
                "--server {server:?} is not an http(s) URL"
            )));
        }
        let inner = stella_client::Client::builder(server)
            .user_agent(concat!("stellopsctl/", env!("CARGO_PKG_VERSION")))
            .connect(token)
            .await?;
        Ok(Client { inner })
    }

    /// The server URL as given, for messages.
    pub fn server(&self) -> &str {
        self.inner.server()
    }

    pub async fn get(&self, path: &[&str], query: &[(&str, String)]) -> Result<Value, ClientError> {
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.inner.get_json(&join(&XDR_API, path), &query).await
    }

    pub async fn post(&self, path: &[&str], body: Option<&Value>) -> Result<Value, ClientError> {
        let path = join(&XDR_API, path);
        match body {
            Some(b) => self.inner.post_json(&path, b).await,
            None => self.inner.post(&path).await,
        }
    }

    pub async fn delete(&self, path: &[&str]) -> Result<Value, ClientError> {
        self.inner.delete(&join(&XDR_API, path)).await
    }

    /// The deployment's own endpoints, outside the Open XDR prefix (`/cluster/…`).
    pub async fn get_cluster(&self, path: &[&str]) -> Result<Value, ClientError> {
        self.inner.get_json(&join(&["cluster"], path), &[]).await
    }

    /// Endpoints at the server's root (`/feed/…`, `/policy/…`, `/scans`).
    pub async fn get_root(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Value, ClientError> {
        self.inner.get_json(path, query).await
    }

    /// A text answer at the server's root (`/policy/export`), with its headers.
    pub async fn get_root_text(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
    ) -> Result<(String, stella_client::HeaderMap), ClientError> {
        self.inner.get_text(path, query).await
    }

    /// `POST` of raw bytes (a policy) at the server's root.
    pub async fn post_bytes(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Value, ClientError> {
        self.post_body(path, query, content_type, bytes.into())
            .await
    }

    /// `POST` of a file at the server's root, streamed.
    pub async fn post_file(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
        content_type: &str,
        file: &std::path::Path,
    ) -> Result<Value, ClientError> {
        let f = tokio::fs::File::open(file)
            .await
            .map_err(|e| ClientError::Failed(format!("cannot read {}: {e}", file.display())))?;
        self.post_body(path, query, content_type, f.into()).await
    }

    async fn post_body(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
        content_type: &str,
        body: stella_client::reqwest::Body,
    ) -> Result<Value, ClientError> {
        let answer = self
            .inner
            .send_body(
                stella_client::Method::POST,
                path,
                query,
                &[],
                content_type,
                body,
            )
            .await?;
        Ok(answer.body)
    }

    pub async fn post_cluster(&self, path: &[&str]) -> Result<Value, ClientError> {
        self.inner.post(&join(&["cluster"], path)).await
    }
}
