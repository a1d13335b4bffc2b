use crate::assert_problem;
use serde_json::json;
use stella_testkit::TestServer;

#[tokio::test]
async fn the_41st_request_in_a_second_gets_429_with_retry_after() {
    let s = TestServer::start_with(|c| c.rate_limit_per_second = 40).await;
    let jwt = s.root_jwt().await;
    // The clock does not move, so all of these fall in the same second.
    for i in 0..40 {
        let (st, _) = s
            .call(
                "GET",
                "/connect/api/v1/privilege_profiles",
                Some(&jwt),
                None,
            )
            .await;
        assert_eq!(st, 200, "request {}", i + 1);
    }
    let r = s
        .client
        .get(s.url("/connect/api/v1/privilege_profiles"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // Another token has its own allowance; a second later the first one does again.
    assert_eq!(s.status("GET", "/healthz", None).await, 200);
    s.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(
        s.status("GET", "/connect/api/v1/privilege_profiles", Some(&jwt))
            .await,
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn repeated_failed_authentication_waits_longer_each_time() {
    let s = TestServer::start_with(|c| {
        c.max_auth_failures = 5;
        c.auth_block_secs = 60;
    })
    .await;
    // Guesses at the root key's secret (same key id, wrong secret), from this address.
    let key_id = &s.root.api_key[4..36];
    let guess = format!("stk_{key_id}_wrong-secret");
    let attempt = |key: String| {
        let r = s
            .client
            .post(s.url("/connect/api/v1/access_token"))
            .bearer_auth(key)
            .send();
        async move {
            let r = r.await.unwrap();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (r.status().as_u16(), retry)
        }
    };
    for _ in 0..4 {
        assert_eq!(attempt(guess.clone()).await, (401, None));
    }
    // The fifth failure starts the waits: the right key from this address waits too.
    assert_eq!(attempt(guess.clone()).await.0, 401);
    assert_eq!(
        attempt(s.root.api_key.clone()).await,
        (429, Some("1".into()))
    );
    s.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(attempt(guess.clone()).await.0, 401);
    assert_eq!(
        attempt(s.root.api_key.clone()).await,
        (429, Some("2".into()))
    );
    s.clock.advance(chrono::Duration::seconds(2));
    assert_eq!(attempt(guess.clone()).await.0, 401);
    assert_eq!(attempt(guess.clone()).await, (429, Some("4".into())));
    s.clock.advance(chrono::Duration::seconds(4));
    // A success clears the count for this account and address.
    assert_eq!(attempt(s.root.api_key.clone()).await.0, 200);
    assert_eq!(attempt(guess.clone()).await, (401, None));
    s.stop().await;
}

#[tokio::test]
async fn bad_input_gets_4xx_never_500_and_writes_nothing() {
    let s = TestServer::start_with(|c| c.max_body_bytes = 4096).await;
    let jwt = s.root_jwt().await;
    let send = |body: &'static str, ct: &'static str| {
        s.client
            .post(s.url("/connect/api/v1/tenants"))
            .bearer_auth(&jwt)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    for (body, ct, expected) in [
        ("{\"name\": ", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ("{\"name\": 7}", "application/json", 400),
        ("{\"name\": null}", "application/json", 400),
        (
            "{\"name\": \"x\", \"id\": \"mine\"}",
            "application/json",
            400,
        ),
        ("name=x", "application/x-www-form-urlencoded", 415),
        ("", "application/json", 400),
        ("null", "application/json", 400),
    ] {
        let r = send(body, ct).await.unwrap();
        let st = r.status().as_u16();
        let problem: serde_json::Value = r.json().await.unwrap();
        assert_problem(st, &problem, expected);
    }
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(5000));
    let r = s
        .client
        .post(s.url("/connect/api/v1/tenants"))
        .bearer_auth(&jwt)
        .json(&serde_json::from_str::<serde_json::Value>(&big).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Field-length limits are validation errors, not truncation.
    let (st, p) = s
        .call(
            "POST",
            "/connect/api/v1/tenants",
            Some(&jwt),
            Some(json!({"name": "y".repeat(201)})),
        )
        .await;
    assert_problem(st, &p, 400);
    assert_eq!(
        s.call("GET", "/connect/api/v1/tenants", Some(&jwt), None)
            .await
            .1["total"],
        0,
        "nothing was written"
    );

    // Paging is bounded (out-of-range numbers are clamped, as the XDR contract sets no
    // bounds) and parameters are checked.
    let (_, page) = s
        .call(
            "GET",
            "/connect/api/v1/tenants?limit=1001&offset=-1",
            Some(&jwt),
            None,
        )
        .await;
    assert_eq!(
        (page["limit"].as_i64(), page["offset"].as_i64()),
        (Some(1000), Some(0))
    );
    for q in [
        "limit=abc",
        "offset=1e3",
        "sort=secret",
        "order=sideways",
        "bogus=1",
    ] {
        let (st, p) = s
            .call(
                "GET",
                &format!("/connect/api/v1/tenants?{q}"),
                Some(&jwt),
                None,
            )
            .await;
        assert_problem(st, &p, 400);
    }
    s.stop().await;
}

#[tokio::test]
async fn unknown_routes_methods_and_missing_auth_are_problems() {
    let s = TestServer::start().await;
    let (st, p) = s.call("GET", "/connect/api/v1/nope", None, None).await;
    assert_problem(st, &p, 404);
    let (st, p) = s.call("PATCH", "/healthz", None, None).await;
    assert_problem(st, &p, 405);
    let r = s
        .client
        .get(s.url("/connect/api/v1/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.headers().contains_key("www-authenticate"));
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["type"], "https://stella-ops.dev/probs/unauthorized");
    let r = s
        .client
        .get(s.url("/connect/api/v1/users"))
        .header("authorization", "Bearer not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .client
        .get(s.url("/connect/api/v1/users"))
        .header("authorization", "Digest abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}
