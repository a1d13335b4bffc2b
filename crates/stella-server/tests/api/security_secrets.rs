//! Security suite, part 3: secrets in the activity log, outbound requests, internal errors.

use crate::{assert_problem, one_tenant_with, tenant_user};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use stella_testkit::TestServer;

const API: &str = "/connect/api/v1";

/// Every activity-log record's body and query as one text, for "never appears" checks.
async fn logged(s: &TestServer, jwt: &str) -> String {
    s.flush_activity().await;
    let (st, log) = s
        .call(
            "GET",
            &format!("{API}/user_activity_log?limit=1000"),
            Some(jwt),
            None,
        )
        .await;
    assert_eq!(st, 200, "{log}");
    log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {} {}", r["path"], r["query"], r["body"]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Connector `config` is write-only (passwords, tokens, URLs with credentials) but was stored
/// verbatim in the activity log, readable there by a tenant security admin.
#[tokio::test]
async fn write_only_members_never_reach_the_activity_log() {
    let (s, _, (_, admin)) = one_tenant_with(|_| {}).await;
    let config = json!({"url": "https://svc:Hunter2Hunter2@siem.example/api", "region": "eu-west-7", "tok": "zz-opaque-zz"});
    let (st, c) = s
        .call(
            "POST",
            &format!("{API}/connectors"),
            Some(&admin),
            Some(json!({"name": "siem", "type": "syslog", "config": config})),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let id = c["id"].as_str().unwrap();
    // Changed, refused (bad member) and unauthenticated attempts carry it too.
    s.call(
        "PUT",
        &format!("{API}/connectors/{id}"),
        Some(&admin),
        Some(json!({"config": config})),
    )
    .await;
    s.call(
        "POST",
        &format!("{API}/connectors"),
        Some(&admin),
        Some(json!({"name": 5, "config": config})),
    )
    .await;
    s.call(
        "POST",
        &format!("{API}/connectors"),
        None,
        Some(json!({"name": "x", "config": config})),
    )
    .await;
    let text = logged(&s, &admin).await;
    assert!(text.contains("/connectors"), "{text}");
    for secret in ["Hunter2Hunter2", "eu-west-7", "zz-opaque-zz"] {
        assert!(!text.contains(secret), "{secret} in the log:\n{text}");
    }
    s.stop().await;
}

/// Redaction compared undecoded names: `client_secre%74=…` in a form and `pass%77ord=` in a
/// query string were logged in clear.
#[tokio::test]
async fn secret_names_are_judged_after_decoding() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let r = s
        .client
        .post(s.url("/connect/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=nobody&client_secre%74=Form-Secret-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.status(
        "GET",
        &format!("{API}/users?pass%77ord=Query-Secret-456&api%5Fkey=Query-Key-789"),
        Some(&root),
    )
    .await;
    let r = s
        .client
        .post(s.url(&format!("{API}/tenants")))
        .bearer_auth(&root)
        .header("content-type", "application/json")
        .body(r#"{"name": "t", "pass\u0077ord": "Json-Secret-000"}"#)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().is_client_error());
    let text = logged(&s, &root).await;
    assert!(text.contains("/connect/token"), "{text}");
    for secret in [
        "Form-Secret-123",
        "Query-Secret-456",
        "Query-Key-789",
        "Json-Secret-000",
    ] {
        assert!(!text.contains(secret), "{secret} in the log:\n{text}");
    }
    s.stop().await;
}

#[derive(Clone, Default)]
struct Hits(Arc<Mutex<u32>>);

/// A local HTTP server counting requests, answering `status` (and `Location` when given).
async fn local_server(status: u16, location: Option<String>) -> (u16, Hits) {
    let hits = Hits::default();
    let keep = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let keep = keep.clone();
        let location = location.clone();
        async move {
            *keep.0.lock().unwrap() += 1;
            let mut r = axum::response::Response::new(axum::body::Body::empty());
            *r.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
            if let Some(l) = location {
                r.headers_mut()
                    .insert("location", axum::http::HeaderValue::from_str(&l).unwrap());
            }
            r
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, hits)
}

/// Runs one webhook playbook on a fresh alert; answers the run's error text ("" if it
/// succeeded). The playbook is disabled afterwards, so each call runs only its own.
async fn run_webhook(s: &TestServer, admin: &str, url: &str, n: usize) -> String {
    let (st, pb) = s
        .call(
            "POST",
            &format!("{API}/playbooks"),
            Some(admin),
            Some(json!({"name": format!("p{n}"), "trigger": "alert.created", "actions": [{"type": "webhook", "url": url}]})),
        )
        .await;
    assert_eq!(st, 201, "{pb}");
    let pb_id = pb["id"].as_str().unwrap();
    s.call(
        "POST",
        &format!("{API}/watchlists"),
        Some(admin),
        Some(json!({"name": format!("w{n}"), "entries": [format!("ioc{n}")]})),
    )
    .await;
    s.call(
        "POST",
        &format!("{API}/events"),
        Some(admin),
        Some(json!({"events": [{"v": format!("ioc{n}")}]})),
    )
    .await;
    s.settle().await;
    let (_, runs) = s
        .call(
            "GET",
            &format!("{API}/playbooks/{pb_id}/runs"),
            Some(admin),
            None,
        )
        .await;
    let run = runs["data"][0].clone();
    let (st, _) = s
        .call(
            "PUT",
            &format!("{API}/playbooks/{pb_id}"),
            Some(admin),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(st, 200);
    match run["status"].as_str() {
        Some("succeeded") => String::new(),
        _ => run["error"].as_str().unwrap_or("no run").to_owned(),
    }
}

/// Playbook webhooks accepted any URL (loopback, private, metadata), followed redirects, and
/// reported errors that told an open port from a closed one.
#[tokio::test]
async fn webhooks_cannot_reach_internal_addresses() {
    let (s, _, (_, admin)) = one_tenant_with(|_| {}).await;
    let (port, hits) = local_server(200, None).await;
    let mut n = 0;
    for url in [
        format!("http://127.0.0.1:{port}/x"),
        format!("http://localhost:{port}/x"),
        format!("http://[::1]:{port}/x"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        format!("http://0.0.0.0:{port}/"),
    ] {
        n += 1;
        let error = run_webhook(&s, &admin, &url, n).await;
        assert!(
            error.contains("may not call"),
            "{url}: the run should be refused, got {error:?}"
        );
    }
    assert_eq!(
        *hits.0.lock().unwrap(),
        0,
        "nothing reached the local server"
    );
    s.stop().await;
}

#[tokio::test]
async fn allowed_webhooks_follow_no_redirects_and_hide_network_detail() {
    let (s, _, (_, admin)) = one_tenant_with(|c| c.webhook_allow = vec!["127.0.0.1".into()]).await;
    let (inner_port, inner) = local_server(200, None).await;
    let (outer_port, outer) =
        local_server(302, Some(format!("http://127.0.0.1:{inner_port}/secret"))).await;
    let error = run_webhook(&s, &admin, &format!("http://127.0.0.1:{outer_port}/"), 1).await;
    assert!(error.contains("answered 302"), "{error}");
    assert_eq!(*outer.0.lock().unwrap(), 1);
    assert_eq!(*inner.0.lock().unwrap(), 0, "the redirect was not followed");
    // A closed port and a port where something answers without HTTP fail alike.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let raw = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let raw_port = raw.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((sock, _)) = raw.accept().await {
            drop(sock);
        }
    });
    let a = run_webhook(&s, &admin, &format!("http://127.0.0.1:{closed}/"), 2).await;
    let b = run_webhook(&s, &admin, &format!("http://127.0.0.1:{raw_port}/"), 3).await;
    assert_eq!(
        a,
        "actions[0] (webhook): the webhook could not be delivered"
    );
    assert_eq!(a, b);
    s.stop().await;
}

/// The OAuth token endpoint could put database error text into `error_description`.
#[tokio::test]
async fn internal_errors_say_nothing_internal() {
    let s = TestServer::start().await;
    // Break the tables the two token endpoints read.
    s.execute_sql("DROP TABLE oauth_clients").await;
    s.execute_sql("DROP TABLE api_keys").await;
    let r = s
        .client
        .post(s.url("/connect/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=c&client_secret=s")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "server_error");
    let d = body["error_description"].as_str().unwrap();
    for leak in [
        "oauth_clients",
        "table",
        "sql",
        "database",
        "relation",
        "postgres",
    ] {
        assert!(!d.to_lowercase().contains(leak), "{d}");
    }
    // The same for the problem documents of the rest of the API.
    let (st, p) = s
        .call(
            "POST",
            &format!("{API}/access_token"),
            Some(&s.root.api_key),
            None,
        )
        .await;
    assert_problem(st, &p, 500);
    let d = p["detail"].as_str().unwrap().to_lowercase();
    assert!(!d.contains("api_keys") && !d.contains("table"), "{p}");
    s.stop().await;
}

/// Decided: emails identify accounts across the platform (they sign in and are the Basic user
/// name), so one email is one account and creating a second answers 409. The answer names no
/// tenant, user or id; only callers with `users:write` can ask, rate-limited and logged.
#[tokio::test]
async fn an_existing_email_elsewhere_reveals_nothing_else() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (other_tenant, other_id, _) =
        tenant_user(&s, &root, "globex", "cfo@globex.test", "analyst").await;
    let (t, _, admin) = tenant_user(&s, &root, "acme", "boss@acme.test", "platform_admin").await;
    let (st, p) = s
        .call(
            "POST",
            &format!("{API}/users"),
            Some(&admin),
            Some(json!({"email": "cfo@globex.test", "password": stella_testkit::DEFAULT_PASSWORD, "privilege_profile": "analyst", "tenant_id": t})),
        )
        .await;
    assert_problem(st, &p, 409);
    assert_eq!(p["detail"], "a user with this email already exists");
    let text = p.to_string().replace("cfo@globex.test", "");
    for secret in [other_tenant.as_str(), other_id.as_str(), "globex"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    s.stop().await;
}
