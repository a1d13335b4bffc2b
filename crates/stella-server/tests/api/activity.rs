use serde_json::{json, Value};
use stella_testkit::TestServer;

fn find<'a>(log: &'a Value, method: &str, path: &str) -> Vec<&'a Value> {
    log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["method"] == method && e["path"] == path)
        .collect()
}

#[tokio::test]
async fn every_call_is_logged_with_secrets_redacted() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let password = "correct horse battery staple 42";
    let t = s.create_tenant(&root, "acme").await;
    let (st, _) = s.call("POST", "/connect/api/v1/users", Some(&root), Some(json!({"email": "a@acme.test", "password": password, "privilege_profile": "analyst", "tenant_id": t}))).await;
    assert_eq!(st, 201);
    let (id, secret) = {
        let (_, c) = s
            .call(
                "POST",
                "/connect/api/v1/oauth_clients",
                Some(&root),
                Some(json!({"name": "bot"})),
            )
            .await;
        (
            c["client_id"].as_str().unwrap().to_owned(),
            c["client_secret"].as_str().unwrap().to_owned(),
        )
    };
    s.client
        .post(s.url("/connect/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={id}&client_secret={secret}"
        ))
        .send()
        .await
        .unwrap();
    s.call("GET", "/connect/api/v1/users?limit=5", None, None)
        .await;
    s.call(
        "POST",
        "/connect/api/v1/tenants",
        Some(&root),
        Some(json!({"name": 1, "api_key": "leaky"})),
    )
    .await;
    s.flush_activity().await;

    let log = log_page(&s, &root, "").await;
    let text = log.to_string();
    for secret_value in [
        password,
        secret.as_str(),
        s.root.api_key.as_str(),
        root.as_str(),
        "leaky",
    ] {
        assert!(
            !text.contains(secret_value),
            "a secret reached the activity log"
        );
    }
    let created = find(&log, "POST", "/connect/api/v1/users");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["status"], 201);
    assert_eq!(created[0]["email"], stella_testkit::ROOT_EMAIL);
    let body: Value = serde_json::from_str(created[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["password"], "[REDACTED]");
    assert_eq!(body["email"], "a@acme.test");

    let oauth = find(&log, "POST", "/connect/token");
    assert_eq!(oauth.len(), 1);
    assert!(oauth[0]["body"]
        .as_str()
        .unwrap()
        .contains("client_secret=[REDACTED]"));
    assert_eq!(oauth[0]["user_id"], json!(format!("client:{id}")));

    let anonymous = find(&log, "GET", "/connect/api/v1/users");
    assert!(anonymous
        .iter()
        .any(|e| e["status"] == 401 && e["user_id"].is_null() && e["query"] == "limit=5"));
    let tokens = find(&log, "POST", "/connect/api/v1/access_token");
    assert!(
        tokens.iter().all(|e| e["user_id"].is_string()),
        "the key exchange is attributed to its user"
    );
    let bad = find(&log, "POST", "/connect/api/v1/tenants");
    assert!(bad.iter().any(|e| e["status"] == 400));
    assert!(log["data"][0]["traceId"]
        .as_str()
        .unwrap()
        .starts_with("00-"));

    // Filters.
    let (_, only_401) = s
        .call(
            "GET",
            "/connect/api/v1/user_activity_log?status=401",
            Some(&root),
            None,
        )
        .await;
    assert!(only_401["total"].as_i64().unwrap() >= 1);
    assert!(only_401["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["status"] == 401));
    let (_, by_path) = s
        .call(
            "GET",
            "/connect/api/v1/user_activity_log?path=/connect/token",
            Some(&root),
            None,
        )
        .await;
    assert_eq!(by_path["total"], 1);
    let (_, none) = s
        .call(
            "GET",
            "/connect/api/v1/user_activity_log?from=2030-01-01T00:00:00Z",
            Some(&root),
            None,
        )
        .await;
    assert_eq!(none["total"], 0);
    let (st, _) = s
        .call(
            "GET",
            "/connect/api/v1/user_activity_log?from=yesterday",
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 400);
    s.stop().await;
}

#[tokio::test]
async fn export_is_ndjson_and_tenancy_limits_what_is_seen() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (_, _, acme_admin) =
        crate::tenant_user(&s, &root, "acme", "adm@acme.test", "security_admin").await;
    let (_, _, globex_admin) =
        crate::tenant_user(&s, &root, "globex", "adm@globex.test", "security_admin").await;
    s.call("GET", "/connect/api/v1/tenants", Some(&globex_admin), None)
        .await;
    s.call("GET", "/connect/api/v1/users", Some(&acme_admin), None)
        .await;
    s.flush_activity().await;

    let r = s
        .client
        .get(s.url("/connect/api/v1/user_activity_log/export"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let text = r.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 8, "{}", lines.len());
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64()),
        "newest first, no repeats"
    );

    let (_, seen) = s
        .call(
            "GET",
            "/connect/api/v1/user_activity_log?limit=1000",
            Some(&acme_admin),
            None,
        )
        .await;
    let emails: std::collections::BTreeSet<_> = seen["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["email"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        emails.into_iter().collect::<Vec<_>>(),
        vec!["adm@acme.test".to_owned()]
    );
    let (_, _, analyst) =
        crate::tenant_user(&s, &root, "initech", "ana@initech.test", "analyst").await;
    assert_eq!(
        s.status("GET", "/connect/api/v1/user_activity_log", Some(&analyst))
            .await,
        403
    );
    s.stop().await;
}

#[tokio::test]
async fn graceful_stop_writes_every_queued_record() {
    let s = TestServer::start_with(|c| c.activity_queue = 10_000).await;
    let root = s.root_jwt().await;
    let calls = 300;
    let mut tasks = Vec::new();
    for _ in 0..calls {
        let (c, url, jwt) = (
            s.client.clone(),
            s.url("/connect/api/v1/privilege_profiles"),
            root.clone(),
        );
        tasks.push(tokio::spawn(async move {
            c.get(url)
                .bearer_auth(jwt)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 200);
    }
    let logged = s
        .stop_then(|db| async move {
            let filter = stella_store::ActivityFilter {
                path_prefix: Some("/connect/api/v1/privilege_profiles".into()),
                ..Default::default()
            };
            db.list_activity(&stella_core::TenantFilter::All, "", &filter, 1, 0)
                .await
                .unwrap()
                .1
        })
        .await;
    assert_eq!(
        logged, calls,
        "every call acknowledged before the stop is in the log after it"
    );
}

/// A page of up to 1,000 log entries as `jwt` sees them, `query` appended (`&name=value`).
async fn log_page(s: &TestServer, jwt: &str, query: &str) -> Value {
    let (st, page) = s
        .call(
            "GET",
            &format!("/connect/api/v1/user_activity_log?limit=1000{query}"),
            Some(jwt),
            None,
        )
        .await;
    assert_eq!(st, 200, "{page}");
    page
}

/// The ids of a log listing up to `max_id` (later calls, the listings themselves, are left out).
async fn logged_ids(s: &TestServer, jwt: &str, query: &str, max_id: i64) -> Vec<i64> {
    log_page(s, jwt, query).await["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["id"].as_i64())
        .filter(|id| *id <= max_id)
        .collect()
}

#[tokio::test]
async fn filtered_listings_find_every_call_across_batches() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (acme, acme_admin_id, acme_admin) =
        crate::tenant_user(&s, &root, "acme", "adm@acme.test", "security_admin").await;
    let (_, analyst_id, analyst) =
        crate::tenant_user(&s, &root, "acme2", "ana@acme.test", "analyst").await;
    let (_, globex_admin_id, globex_admin) =
        crate::tenant_user(&s, &root, "globex", "adm@globex.test", "security_admin").await;
    // Calls of several users interleaved within batches, over several batches.
    for round in 0..4 {
        for jwt in [&acme_admin, &globex_admin, &analyst, &root] {
            for _ in 0..=round % 2 {
                s.call("GET", "/connect/api/v1/tenants", Some(jwt), None)
                    .await;
            }
        }
        s.flush_activity().await;
    }
    let all = log_page(&s, &root, "").await["data"]
        .as_array()
        .unwrap()
        .clone();
    let max_id = all[0]["id"].as_i64().unwrap();
    let expect = |keep: &dyn Fn(&Value) -> bool| -> Vec<i64> {
        all.iter()
            .filter(|e| keep(e))
            .map(|e| e["id"].as_i64().unwrap())
            .collect()
    };
    for user in [&acme_admin_id, &analyst_id, &globex_admin_id] {
        let want = expect(&|e| e["user_id"] == json!(user));
        assert!(want.len() >= 6, "{}", want.len());
        let got = logged_ids(&s, &root, &format!("&user_id={user}"), max_id).await;
        assert_eq!(got, want, "user {user}");
    }
    // A tenant administrator sees its own calls and those made within its tenant.
    let want = expect(&|e| e["user_id"] == json!(acme_admin_id) || e["tenant_id"] == json!(acme));
    assert_eq!(logged_ids(&s, &acme_admin, "", max_id).await, want);
    s.stop().await;
}
