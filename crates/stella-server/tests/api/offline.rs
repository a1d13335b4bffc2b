use crate::{assert_problem, claims};
use serde_json::json;
use stella_testkit::TestServer;

#[tokio::test]
async fn offline_tokens_carry_quota_and_expiry_headers() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let r = s
        .client
        .post(s.url("/token/offline"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["expires"], "2026-01-31T00:00:00Z",
        "30 days by default"
    );
    let c = claims(body["jwt"].as_str().unwrap());
    assert_eq!(c["maxScansPerDay"], 333);

    let (st, p) = s
        .call(
            "POST",
            "/token/offline",
            Some(&root),
            Some(json!({"expiresDays": 91})),
        )
        .await;
    assert_problem(st, &p, 400);
    assert_eq!(p["errors"][0]["path"], "$.expiresDays");
    let (st, body) = s
        .call(
            "POST",
            "/token/offline",
            Some(&root),
            Some(json!({"expiresDays": 90, "permissions": ["tenants:read"]})),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["expires"], "2026-04-01T00:00:00Z");

    let offline = body["jwt"].as_str().unwrap();
    let r = s
        .client
        .get(s.url("/connect/api/v1/tenants"))
        .bearer_auth(offline)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-stella-quota-remaining"], "333");
    assert_eq!(r.headers()["x-stella-reset"], "2026-01-02T00:00:00Z");
    assert_eq!(
        r.headers()["x-stella-token-expires"],
        "2026-04-01T00:00:00Z"
    );
    // Narrowed: nothing beyond tenants:read.
    assert_eq!(
        s.status("GET", "/connect/api/v1/users", Some(offline))
            .await,
        403
    );

    // Ordinary JWTs carry the expiry header but no quota.
    let r = s
        .client
        .get(s.url("/connect/api/v1/tenants"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("x-stella-token-expires"));
    assert!(!r.headers().contains_key("x-stella-quota-remaining"));
    s.stop().await;
}

#[tokio::test]
async fn only_administrators_issue_offline_tokens() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (_, _, analyst) = crate::tenant_user(&s, &root, "acme", "ana@acme.test", "analyst").await;
    let (st, p) = s.call("POST", "/token/offline", Some(&analyst), None).await;
    assert_problem(st, &p, 403);
    let (st, p) = s.call("POST", "/token/offline", None, None).await;
    assert_problem(st, &p, 401);
    let (st, p) = s
        .call(
            "POST",
            "/token/offline",
            Some(&root),
            Some(json!({"expiresDays": "thirty"})),
        )
        .await;
    assert_problem(st, &p, 400);
    s.stop().await;
}
