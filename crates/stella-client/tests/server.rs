//! The client against a real server (`stella-testkit`, SQLite, `127.0.0.1:0`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use std::time::Duration;
use stella_client::proto::{headers, AccessToken, OfflineToken, OfflineTokenRequest, Problem};
use stella_client::{Client, ClientError, XDR_API};
use stella_testkit::{TestServer, ROOT_EMAIL};

fn api<'a>(path: &[&'a str]) -> Vec<&'a str> {
    [&XDR_API[..], path].concat()
}

/// The problem of a refusal with `status`; panics on anything else.
fn refused(result: Result<impl std::fmt::Debug, ClientError>, status: u16) -> Problem {
    match result {
        Err(ClientError::Refused {
            status: s,
            problem: Some(p),
            ..
        }) if s == status => *p,
        other => panic!("expected a {status} refusal with a problem, got {other:?}"),
    }
}

#[tokio::test]
async fn an_api_key_is_exchanged_and_the_jwt_is_used() {
    let server = TestServer::start().await;
    let client = Client::connect(&server.base, &server.root.api_key)
        .await
        .unwrap();
    assert_ne!(client.access_token(), server.root.api_key);
    assert_eq!(client.access_token().split('.').count(), 3, "a JWT");
    let me: Value = client.get_json(&api(&["me"]), &[]).await.unwrap();
    assert_eq!(me["email"], ROOT_EMAIL);

    // A JWT is sent as it is.
    let again = Client::connect(&server.base, client.access_token())
        .await
        .unwrap();
    assert_eq!(again.access_token(), client.access_token());
    let page: Value = again
        .get_json(&api(&["users"]), &[("limit", "1")])
        .await
        .unwrap();
    assert_eq!(page["limit"], 1);

    // Typed bodies both ways: a tenant made with post_json, changed with put_json.
    let tenant: Value = client
        .post_json(&api(&["tenants"]), &json!({"name": "acme"}))
        .await
        .unwrap();
    let id = tenant["id"].as_str().unwrap();
    let changed: Value = client
        .put_json(
            &api(&["tenants", id]),
            &json!({"name": "acme", "description": "renamed"}),
        )
        .await
        .unwrap();
    assert_eq!(changed["description"], "renamed");
    server.stop().await;
}

#[tokio::test]
async fn a_bad_api_key_is_refused_with_the_servers_problem() {
    let server = TestServer::start().await;
    let err = Client::connect(
        &server.base,
        "stk_0123456789abcdef0123456789abcdef_not-the-secret",
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().starts_with("401 Unauthorized"), "{err}");
    let problem = refused(Err::<(), _>(err), 401);
    assert_eq!(problem.kind(), Some("unauthorized"));
    assert_eq!(problem.status, Some(401));
    assert!(problem.trace_id().is_some(), "{problem:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_missing_resource_is_a_404_problem_with_every_member_named() {
    let server = TestServer::start().await;
    let client = Client::connect(&server.base, &server.root.api_key)
        .await
        .unwrap();
    let result = client
        .get_json::<Value>(&api(&["tenants", "no such tenant/.."]), &[])
        .await;
    let problem = refused(result, 404);
    assert_eq!(problem.kind(), Some("not-found"));
    assert_eq!(problem.code, Some(404));
    assert_eq!(problem.error.as_deref(), problem.title());
    assert_eq!(problem.message.as_deref(), problem.detail());
    // problem.rs emits nothing this type does not name.
    assert!(problem.extra.is_empty(), "{:?}", problem.extra);

    // A validation failure: field errors, shown one a line.
    let err = client
        .post_json::<_, Value>(
            &api(&["users"]),
            &json!({"email": "bob@acme.test", "privilege_profile": "overlord", "password": "correct horse battery"}),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("privilege_profile: "), "{err}");
    let problem = refused(Err::<(), _>(err), 400);
    assert_eq!(problem.kind(), Some("validation"));
    assert!(problem
        .errors
        .iter()
        .any(|e| e.path.ends_with("privilege_profile")));
    assert!(problem.extra.is_empty(), "{:?}", problem.extra);
    server.stop().await;
}

#[tokio::test]
async fn too_many_requests_is_a_refusal_with_retry_after() {
    let server = TestServer::start_with(|c| c.rate_limit_per_second = 2).await;
    let client = Client::connect(&server.base, &server.root.api_key)
        .await
        .unwrap();
    // The test clock does not move: every call falls in the same second.
    let mut outcome = None;
    for _ in 0..5 {
        if let Err(e) = client.get_json::<Value>(&api(&["me"]), &[]).await {
            outcome = Some(e);
            break;
        }
    }
    let err = outcome.expect("no 429 within 5 calls at 2 a second");
    assert_eq!(err.exit_code(), 1);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)), "{err:?}");
    assert!(err.to_string().ends_with("\n  retry after 1 s"), "{err}");
    let problem = refused(Err::<(), _>(err), 429);
    assert_eq!(problem.kind(), Some("rate-limited"));
    server.stop().await;
}

#[tokio::test]
async fn an_unreachable_or_malformed_server_is_a_failure() {
    let err = Client::connect("http://127.0.0.1:1", "stk_whatever")
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(matches!(err, ClientError::Failed(_)), "{err:?}");
    // The cause from reqwest's source chain, not just "error sending request".
    assert!(
        err.to_string()
            .to_lowercase()
            .contains("connection refused"),
        "{err}"
    );

    for server in ["not a url", "ftp://127.0.0.1/", "mailto:a@b"] {
        let err = Client::connect(server, "stk_whatever").await.unwrap_err();
        assert!(err.to_string().contains("not an http(s) URL"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }
    let err = Client::connect("http://127.0.0.1:1", "  ")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "no token given");
}

#[tokio::test]
async fn answers_beyond_the_size_bound_are_failures() {
    let server = TestServer::start().await;
    let client = Client::connect(&server.base, &server.root.api_key)
        .await
        .unwrap();
    let small = Client::builder(&server.base)
        .max_answer_bytes(2_000)
        .bearer(client.access_token())
        .unwrap();
    // The OpenAPI document is far larger than 2 kB.
    let err = small
        .get_json::<Value>(&["openapi", "v1.yaml"], &[])
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("larger than 2000 bytes"), "{err}");
    // Small answers still arrive.
    let me: Value = small.get_json(&api(&["me"]), &[]).await.unwrap();
    assert_eq!(me["email"], ROOT_EMAIL);
    // And a YAML answer within bounds is not JSON: a failure that says so.
    let err = client
        .get_json::<Value>(&["openapi", "v1.yaml"], &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not JSON"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn oauth_client_credentials_sign_in() {
    let server = TestServer::start().await;
    let jwt = server.root_jwt().await;
    let (status, created) = server
        .call(
            "POST",
            "/connect/api/v1/oauth_clients",
            Some(&jwt),
            Some(json!({"name": "ci-bot", "privilege_profile": "read_only"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["client_id"].as_str().unwrap();
    let secret = created["client_secret"].as_str().unwrap();

    let client = Client::oauth(&server.base, id, secret, None).await.unwrap();
    let page: Value = client.get_json(&api(&["tenants"]), &[]).await.unwrap();
    assert!(page["data"].is_array(), "{page}");

    let err = Client::oauth(&server.base, id, "wrong", None)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    let problem = refused(Err::<(), _>(err), 401);
    assert_eq!(problem.error.as_deref(), Some("invalid_client"));
    assert!(problem.detail().is_some(), "{problem:?}");

    // The typed answer of /connect/token itself.
    let r = server
        .client
        .post(server.url("/connect/token"))
        .form(&stella_client::proto::ClientCredentials::new(
            id, secret, None,
        ))
        .send()
        .await
        .unwrap();
    let token: AccessToken = r.json().await.unwrap();
    assert_eq!(token.token_type, "Bearer");
    assert!(token.scope.is_some());
    server.stop().await;
}

#[tokio::test]
async fn an_offline_token_is_issued_and_used_as_is() {
    let server = TestServer::start().await;
    let client = Client::connect(&server.base, &server.root.api_key)
        .await
        .unwrap();
    let offline: OfflineToken = client
        .post_json(
            &["token", "offline"],
            &OfflineTokenRequest {
                expires_days: Some(30),
                permissions: None,
            },
        )
        .await
        .unwrap();
    assert!(offline.expires.ends_with('Z'), "{offline:?}");
    let scanner = Client::connect(&server.base, &offline.jwt).await.unwrap();
    assert_eq!(scanner.access_token(), offline.jwt);
    // Any authenticated answer carries the quota headers of an offline token.
    let answer = scanner
        .call::<(), Value>(
            stella_client::Method::GET,
            &["connect", "api", "v1", "me"],
            &[],
            None,
        )
        .await;
    let headers = match &answer {
        Ok(a) => &a.headers,
        Err(e) => panic!("{e:?}"),
    };
    assert!(headers.contains_key(headers::TOKEN_EXPIRES), "{headers:?}");
    assert!(
        headers.contains_key(headers::QUOTA_REMAINING),
        "{headers:?}"
    );
    server.stop().await;
}

/// A one-shot HTTP server answering every request on its connection with `response`, for
/// answers the real server does not give on demand (chunked, 5xx).
async fn canned(response: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = conn.write_all(response.as_bytes()).await;
            let _ = conn.shutdown().await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_chunked_answer_beyond_the_bound_is_a_failure() {
    // No Content-Length: the bound must hold while reading.
    let chunk = "x".repeat(1000);
    let mut response =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
            .to_owned();
    for _ in 0..5 {
        response.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    response.push_str("0\r\n\r\n");
    let base = canned(response).await;
    let client = Client::builder(&base)
        .max_answer_bytes(4_000)
        .bearer("eyJ.a.b")
        .unwrap();
    let err = client.get_json::<Value>(&["big"], &[]).await.unwrap_err();
    assert!(err.to_string().contains("larger than 4000 bytes"), "{err}");

    // A Content-Length over the bound is refused before any of the body is read (this one
    // never sends it).
    let base = canned(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n{"
            .into(),
    )
    .await;
    let client = Client::builder(&base)
        .max_answer_bytes(4_000)
        .bearer("eyJ.a.b")
        .unwrap();
    let err = client.get_json::<Value>(&["big"], &[]).await.unwrap_err();
    assert!(err.to_string().contains("larger than 4000 bytes"), "{err}");
}

#[tokio::test]
async fn a_server_error_is_a_failure_quoting_the_trace_id() {
    let body =
        json!({"type": "https://stella-ops.dev/probs/unavailable", "title": "Service unavailable",
        "status": 503, "detail": "the database does not answer", "traceId": "00-abc-01"})
        .to_string();
    let base = canned(format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ))
    .await;
    let client = Client::builder(&base).bearer("eyJ.a.b").unwrap();
    let err = client.get_json::<Value>(&["x"], &[]).await.unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert_eq!(
        err.to_string(),
        "503 Service Unavailable: the database does not answer\n  retry after 1 s\n  traceId: 00-abc-01 (quote it when reporting the error)"
    );
}
