#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests over real HTTP: a server on 127.0.0.1:0, SQLite by default, PostgreSQL
//! when STELLA_TEST_POSTGRES_URL is set. One binary, one module per concern.

mod activity;
mod cluster;
mod host_id;
mod host_id_suricata;
mod lifecycle;
mod limits;
mod oauth;
mod offline;
mod ops;
mod rest_api;
mod rest_browsable;
mod rest_catalog;
mod rest_history;
mod rest_probes;
mod rest_rules;
mod retention;
mod scanning;
mod scanning_debian;
mod scanning_image;
mod scanning_policy;
mod scanning_registry;
mod scanning_shared;
mod scanning_vex;
mod security_authz;
mod security_dos;
mod security_secrets;
mod security_signin;
mod tenancy;
mod tokens;
mod users;
mod xdr_flows;
mod xdr_matrix;

use base64::Engine;
use serde_json::{json, Value};
use stella_testkit::TestServer;

/// The claims of a JWT, read without verifying (tests verify separately where it matters).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// Asserts the RFC 9457 shape and returns the body.
pub fn assert_problem(status: u16, body: &Value, expected: u16) {
    assert_eq!(status, expected, "unexpected status; body: {body}");
    for field in ["type", "title", "detail", "traceId"] {
        assert!(
            body[field].is_string(),
            "problem member '{field}' missing in {body}"
        );
    }
    assert_eq!(body["status"], json!(expected), "{body}");
    assert!(
        body["traceId"]
            .as_str()
            .is_some_and(|t| t.starts_with("00-")),
        "{body}"
    );
}

/// A tenant and a tenant-scope user in it with the given profile: (tenant id, user id, JWT).
pub async fn tenant_user(
    s: &TestServer,
    root_jwt: &str,
    tenant: &str,
    email: &str,
    profile: &str,
) -> (String, String, String) {
    let t = s.create_tenant(root_jwt, tenant).await;
    let (uid, key) = s
        .user_with_key(
            root_jwt,
            json!({"email": email, "privilege_profile": profile, "tenant_id": t}),
        )
        .await;
    let jwt = s.jwt(&key).await;
    (t, uid, jwt)
}

/// A server with tenant `acme` and a security admin in it: (server, root JWT, (tenant, JWT)).
pub async fn one_tenant() -> (TestServer, String, (String, String)) {
    one_tenant_with(|_| {}).await
}

/// [`one_tenant`] on a server whose configuration `adjust` changes.
pub async fn one_tenant_with(
    adjust: impl FnOnce(&mut stella_server::Config),
) -> (TestServer, String, (String, String)) {
    let s = TestServer::start_with(adjust).await;
    let root = s.root_jwt().await;
    let (t, _, jwt) = tenant_user(&s, &root, "acme", "admin@acme.test", "security_admin").await;
    (s, root, (t, jwt))
}

/// A server with tenants `acme` and `globex`, each with a security admin.
/// A `/rest/` request with `Authorization: <auth>` (`Token …` or `Bearer …`): the status and
/// the JSON answer (`Null` when there is none).
pub async fn rest_send(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    auth: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s
        .client
        .request(method, s.url(path))
        .header("authorization", auth);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn two_tenants() -> (TestServer, String, [(String, String); 2]) {
    let (s, root, a) = one_tenant().await;
    let (b, _, b_jwt) =
        tenant_user(&s, &root, "globex", "admin@globex.test", "security_admin").await;
    (s, root, [a, (b, b_jwt)])
}

#[derive(Clone, Default)]
pub struct Receiver(pub std::sync::Arc<std::sync::Mutex<Vec<Value>>>);

/// A local webhook receiver: `POST /hook` records the JSON it gets, `POST /broken` answers 500.
/// Answers its base URL.
pub async fn receiver() -> (String, Receiver) {
    let got = Receiver::default();
    let keep = got.clone();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
                let keep = keep.clone();
                async move {
                    keep.0.lock().unwrap().push(v);
                    "ok"
                }
            }),
        )
        .route(
            "/broken",
            axum::routing::post(|| async {
                (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down")
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), got)
}
