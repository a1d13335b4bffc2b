#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests over real HTTP: a server on 127.0.0.1:0, SQLite by default, PostgreSQL
//! when STELLA_TEST_POSTGRES_URL is set. One binary, one module per concern.

mod activity;
mod limits;
mod oauth;
mod offline;
mod ops;
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
