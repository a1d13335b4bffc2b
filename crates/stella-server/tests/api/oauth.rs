use serde_json::{json, Value};
use stella_testkit::TestServer;

async fn register(s: &TestServer, jwt: &str, body: Value) -> (String, String) {
    let (st, c) = s
        .call(
            "POST",
            "/connect/api/v1/oauth_clients",
            Some(jwt),
            Some(body),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    assert!(c["client_secret"].is_string());
    (
        c["client_id"].as_str().unwrap().to_owned(),
        c["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn token(
    s: &TestServer,
    form: &str,
    basic: Option<(&str, &str)>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = s
        .client
        .post(s.url("/connect/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned());
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let r = req.send().await.unwrap();
    let st = r.status().as_u16();
    let h = r.headers().clone();
    (st, h, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn client_credentials_success_by_basic_and_by_form() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (id, secret) = register(
        &s,
        &root,
        json!({"name": "ci-bot", "scopes": ["stella.api", "tenants:read"]}),
    )
    .await;
    let (st, h, body) = token(
        &s,
        "grant_type=client_credentials&scope=stella.api",
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let jwt = body["access_token"].as_str().unwrap();
    assert_eq!(
        s.status("GET", "/connect/api/v1/tenants", Some(jwt)).await,
        200
    );

    let (st, _, body) = token(&s, &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=tenants:read"), None).await;
    assert_eq!(st, 200, "{body}");
    let narrow = body["access_token"].as_str().unwrap();
    assert_eq!(
        s.status("GET", "/connect/api/v1/tenants", Some(narrow))
            .await,
        200
    );
    assert_eq!(
        s.status("GET", "/connect/api/v1/users", Some(narrow)).await,
        403,
        "scope narrows the token"
    );

    // Revoking the client stops its tokens.
    assert_eq!(
        s.status(
            "DELETE",
            &format!("/connect/api/v1/oauth_clients/{id}"),
            Some(&root)
        )
        .await,
        204
    );
    assert_eq!(
        s.status("GET", "/connect/api/v1/tenants", Some(jwt)).await,
        401
    );
    s.stop().await;
}

#[tokio::test]
async fn each_rfc6749_error_case() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (id, secret) = register(&s, &root, json!({"name": "ci-bot"})).await;

    let (st, h, body) = token(&s, "grant_type=client_credentials", Some((&id, "wrong"))).await;
    assert_eq!((st, body["error"].as_str()), (401, Some("invalid_client")));
    assert!(h["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    assert_eq!(h["cache-control"], "no-store");
    let (st, h, body) = token(
        &s,
        "grant_type=client_credentials&client_id=nobody&client_secret=x",
        None,
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (401, Some("invalid_client")));
    assert!(h.contains_key("www-authenticate"));
    let (st, _, body) = token(&s, "grant_type=client_credentials", None).await;
    assert_eq!((st, body["error"].as_str()), (401, Some("invalid_client")));

    let (st, _, body) = token(
        &s,
        "grant_type=password&username=a&password=b",
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (st, _, body) = token(
        &s,
        "grant_type=client_credentials&scope=users:write",
        Some((&id, &secret)),
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_scope")));
    let (st, _, body) = token(&s, "scope=stella.api", Some((&id, &secret))).await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_request")));
    let (st, _, body) = token(
        &s,
        "grant_type=client_credentials&grant_type=client_credentials",
        Some((&id, &secret)),
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_request")));
    let (st, _, body) = token(
        &s,
        &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_request")),
        "credentials both ways"
    );
    let r = s
        .client
        .post(s.url("/connect/token"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(body["error_description"].is_string());
    s.stop().await;
}

#[tokio::test]
async fn clients_cannot_exceed_their_creator() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (t, _, admin) =
        crate::tenant_user(&s, &root, "acme", "adm@acme.test", "platform_admin").await;
    let other = s.create_tenant(&root, "globex").await;
    let (st, _) = s
        .call(
            "POST",
            "/connect/api/v1/oauth_clients",
            Some(&admin),
            Some(json!({"name": "x", "privilege_profile": "super_admin"})),
        )
        .await;
    assert_eq!(st, 403);
    let (st, _) = s
        .call(
            "POST",
            "/connect/api/v1/oauth_clients",
            Some(&admin),
            Some(json!({"name": "x", "tenant_ids": [other]})),
        )
        .await;
    assert_eq!(st, 403);
    let (id, secret) = register(
        &s,
        &admin,
        json!({"name": "acme-bot", "privilege_profile": "read_only"}),
    )
    .await;
    let (_, _, body) = token(&s, "grant_type=client_credentials", Some((&id, &secret))).await;
    let jwt = body["access_token"].as_str().unwrap();
    let (_, list) = s
        .call("GET", "/connect/api/v1/tenants", Some(jwt), None)
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["data"][0]["id"], json!(t));
    assert_eq!(
        s.call(
            "POST",
            "/connect/api/v1/tenants",
            Some(jwt),
            Some(json!({"name": "n"}))
        )
        .await
        .0,
        403
    );
    s.stop().await;
}
