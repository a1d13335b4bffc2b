//! Several servers, one deployment: three servers on one PostgreSQL database, as a load
//! balancer sends requests to them. Skipped (with a note) without STELLA_TEST_POSTGRES_URL:
//! SQLite is one server's database. The servers share one manual clock that these tests never
//! move unless they say so, so cache expiry cannot make a change visible: only the
//! announcements between servers can.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use stella_testkit::{Cluster, TestServer};

const API: &str = "/connect/api/v1";

/// Polls `check` on `node` every 10 ms until it holds or `within` passes; the time it took.
async fn within<F, Fut>(within: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < within {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

fn kid(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap_or_default();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    header["kid"].as_str().unwrap_or_default().to_owned()
}

async fn jwks_kids(s: &TestServer) -> Vec<String> {
    let (st, body) = s.call("GET", "/.well-known/jwks.json", None, None).await;
    assert_eq!(st, 200);
    body["keys"]
        .as_array()
        .map(|k| {
            k.iter()
                .filter_map(|k| k["kid"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_token_from_any_server_works_on_all() {
    let Some(c) = Cluster::start(3, |_| {}).await else {
        return;
    };
    let first = jwks_kids(c.node(0)).await;
    for i in 0..3 {
        assert_eq!(
            jwks_kids(c.node(i)).await,
            first,
            "every server publishes the same keys"
        );
        let jwt = c.node(i).root_jwt().await;
        for j in 0..3 {
            let (st, me) = c
                .node(j)
                .call("GET", &format!("{API}/me"), Some(&jwt), None)
                .await;
            assert_eq!(st, 200, "a token from server {i} on server {j}: {me}");
        }
    }
    c.stop().await;
}

#[tokio::test]
async fn revoking_on_one_server_is_refused_on_the_others_within_a_second() {
    let Some(c) = Cluster::start(3, |_| {}).await else {
        return;
    };
    let root = c.node(0).root_jwt().await;
    let (user, key) = c
        .node(0)
        .user_with_key(
            &root,
            json!({"email": "ana@acme.test", "privilege_profile": "platform_admin"}),
        )
        .await;
    let jwt = c.node(1).jwt(&key).await;
    // Every server has the caller cached.
    for i in 0..3 {
        assert_eq!(
            c.node(i)
                .status("GET", &format!("{API}/me"), Some(&jwt))
                .await,
            200
        );
    }
    // Root revokes the key through server 0.
    let (st, keys) = c
        .node(0)
        .call(
            "GET",
            &format!("{API}/api_keys?user_id={user}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 200, "{keys}");
    let key_id = keys["data"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (st, body) = c
        .node(0)
        .call(
            "DELETE",
            &format!("{API}/api_keys/{key_id}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    for i in 1..3 {
        let node = c.node(i);
        let took = within(Duration::from_secs(1), || async {
            node.status("GET", &format!("{API}/me"), Some(&jwt)).await == 401
        })
        .await;
        assert!(
            took.is_some(),
            "server {i} still accepts a revoked key's token after 1 s"
        );
    }
    c.stop().await;
}

#[tokio::test]
async fn a_role_change_and_a_new_row_reach_every_server_within_a_second() {
    let Some(c) = Cluster::start(3, |_| {}).await else {
        return;
    };
    let root = c.node(0).root_jwt().await;
    let (user, key) = c
        .node(0)
        .user_with_key(
            &root,
            json!({"email": "bo@acme.test", "privilege_profile": "platform_admin"}),
        )
        .await;
    let jwt = c.node(0).jwt(&key).await;
    // Server 2 remembers the tenant list's total and the caller's permissions.
    let total = |body: &Value| body["total"].as_i64().unwrap_or(-1);
    let (st, before) = c
        .node(2)
        .call("GET", &format!("{API}/tenants"), Some(&jwt), None)
        .await;
    assert_eq!(st, 200, "{before}");
    // Server 0 adds a tenant and demotes the user to read-only.
    c.node(0).create_tenant(&root, "acme").await;
    let (st, body) = c
        .node(0)
        .call(
            "PUT",
            &format!("{API}/users/{user}"),
            Some(&root),
            Some(json!({"privilege_profile": "read_only"})),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let node = c.node(2);
    let seen = within(Duration::from_secs(1), || async {
        let (_, after) = node
            .call("GET", &format!("{API}/tenants"), Some(&root), None)
            .await;
        total(&after) == total(&before) + 1
    })
    .await;
    assert!(
        seen.is_some(),
        "server 2 still answers the old total after 1 s"
    );
    let demoted = within(Duration::from_secs(1), || async {
        let (_, me) = node
            .call("GET", &format!("{API}/me"), Some(&jwt), None)
            .await;
        me["privilege_profile"] == "read_only"
    })
    .await;
    assert!(
        demoted.is_some(),
        "server 2 still sees the old role after 1 s"
    );
    c.stop().await;
}

#[tokio::test]
async fn a_rotated_key_is_published_everywhere_before_it_signs() {
    let Some(c) = Cluster::start(3, |_| {}).await else {
        return;
    };
    let root = c.node(0).root_jwt().await;
    let old_kid = kid(&root);
    let (st, new) = c
        .node(0)
        .call("POST", "/cluster/signing_keys/rotate", Some(&root), None)
        .await;
    assert_eq!(st, 201, "{new}");
    let new_kid = new["kid"].as_str().unwrap_or_default().to_owned();
    assert_eq!(new["signing"], false, "{new}");
    for i in 0..3 {
        let node = c.node(i);
        let published = within(Duration::from_secs(1), || async {
            jwks_kids(node).await.contains(&new_kid)
        })
        .await;
        assert!(
            published.is_some(),
            "server {i} does not publish the new key after 1 s"
        );
        // Not signing with it yet.
        assert_eq!(kid(&node.root_jwt().await), old_kid);
    }
    // Once active, every server signs with it, and tokens of both keys work everywhere.
    c.clock().advance(chrono::Duration::seconds(31));
    for i in 0..3 {
        let fresh = c.node(i).root_jwt().await;
        assert_eq!(kid(&fresh), new_kid, "server {i}");
        for j in 0..3 {
            assert_eq!(
                c.node(j)
                    .status("GET", &format!("{API}/me"), Some(&fresh))
                    .await,
                200
            );
            assert_eq!(
                c.node(j)
                    .status("GET", &format!("{API}/me"), Some(&root))
                    .await,
                200
            );
        }
    }
    let (st, list) = c
        .node(1)
        .call("GET", "/cluster/signing_keys", Some(&root), None)
        .await;
    assert_eq!(st, 200, "{list}");
    assert_eq!(list["shared"], true);
    assert_eq!(list["data"].as_array().map(Vec::len), Some(2));
    c.stop().await;
}

#[tokio::test]
async fn a_server_started_later_joins_with_the_same_keys() {
    let Some(mut c) = Cluster::start(1, |_| {}).await else {
        return;
    };
    let root = c.node(0).root_jwt().await;
    let late = c.add_node().await;
    assert_eq!(
        late.status("GET", &format!("{API}/me"), Some(&root)).await,
        200
    );
    c.stop().await;
}

/// Sends `n` calls with `jwt`, round-robin over the servers; how many were let through.
async fn burst(c: &Cluster, jwt: &str, n: usize) -> usize {
    let mut passed = 0;
    for i in 0..n {
        if c.node(i)
            .status("GET", &format!("{API}/me"), Some(jwt))
            .await
            == 200
        {
            passed += 1;
        }
    }
    passed
}

/// A plain-text answer (`/metrics`, `/readyz`).
async fn text(s: &TestServer, path: &str) -> String {
    let r = s.client.get(s.url(path)).send().await;
    r.unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default()
}

/// The machine's Redis (CI starts it when it is not running).
fn with_redis(c: &mut stella_server::Config) {
    c.redis_url = Some(
        std::env::var("STELLA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
    );
    c.rate_limit_per_second = 40;
}

#[tokio::test]
async fn one_tokens_burst_over_three_servers_gets_one_limit_with_redis() {
    let Some(c) = Cluster::start(3, with_redis).await else {
        return;
    };
    let root = c.node(0).root_jwt().await;
    let passed = burst(&c, &root, 120).await;
    // The clock does not move: exactly one second's worth passes, wherever it lands.
    assert_eq!(passed, 40, "a burst of 120 over three servers");
    let metrics = text(c.node(1), "/metrics").await;
    assert!(metrics.contains("stella_limits_shared 1"), "{metrics}");
    let ready = text(c.node(2), "/readyz").await;
    assert!(ready.contains("limits: shared (redis)"), "{ready}");
    c.stop().await;
}

#[tokio::test]
async fn with_redis_down_requests_are_served_with_limits_per_server() {
    let Some(c) = Cluster::start(2, |c| {
        // Nothing listens there: every decision falls back to the server's own.
        c.redis_url = Some("redis://127.0.0.1:1".into());
        c.rate_limit_per_second = 40;
    })
    .await
    else {
        return;
    };
    let root = c.node(0).root_jwt().await;
    let passed = burst(&c, &root, 120).await;
    assert_eq!(passed, 80, "each of the two servers allows its own 40");
    let metrics = text(c.node(0), "/metrics").await;
    assert!(
        !metrics.contains("stella_limits_fallback_total 0\n"),
        "{metrics}"
    );
    let ready = text(c.node(0), "/readyz").await;
    assert!(
        ready.contains("limits: per server (redis not answering)"),
        "{ready}"
    );
    c.stop().await;
}

/// The node list as `node` answers it: (id, the whole entry) per server.
async fn nodes(node: &TestServer, root: &str) -> Vec<Value> {
    let (st, body) = node.call("GET", "/cluster/nodes", Some(root), None).await;
    assert_eq!(st, 200, "{body}");
    body["data"].as_array().cloned().unwrap_or_default()
}

/// This server's own id in the deployment.
async fn node_id(node: &TestServer, root: &str) -> String {
    let me = nodes(node, root).await;
    let this = me.iter().find(|n| n["this"] == true).cloned();
    this.and_then(|n| n["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no entry marked this: {me:?}"))
}

async fn drain(c: &Cluster, root: &str, id: &str, action: &str) {
    let (st, body) = c
        .node(1)
        .call(
            "POST",
            &format!("/cluster/nodes/{id}/{action}"),
            Some(root),
            None,
        )
        .await;
    assert_eq!(st, 200, "{action} {id}: {body}");
}

#[tokio::test]
async fn a_report_and_a_playbook_run_happen_once_on_a_server_that_takes_work() {
    let Some(c) = Cluster::start(3, |c| c.webhook_allow = vec!["127.0.0.1".into()]).await else {
        return;
    };
    let root = c.node(0).root_jwt().await;
    let listed = nodes(c.node(2), &root).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(listed.iter().all(|n| n["health"] == "up"), "{listed:?}");
    assert!(
        listed
            .iter()
            .all(|n| n["version"] == env!("CARGO_PKG_VERSION")),
        "{listed:?}"
    );
    // The server that receives every request below takes no background work, so the work
    // can only be done by another server claiming it through the database.
    let receiving = node_id(c.node(0), &root).await;
    drain(&c, &root, &receiving, "drain").await;

    let (_, _, admin) = crate::tenant_user(
        c.node(0),
        &root,
        "acme",
        "admin@acme.test",
        "security_admin",
    )
    .await;
    let (url, got) = crate::receiver().await;
    let s = c.node(0);
    let (st, playbook) = s
        .call(
            "POST",
            &format!("{API}/playbooks"),
            Some(&admin),
            Some(json!({"name": "notify", "trigger": "alert.created",
                "actions": [{"type": "webhook", "url": format!("{url}/hook")}]})),
        )
        .await;
    assert_eq!(st, 201, "{playbook}");
    s.call(
        "POST",
        &format!("{API}/watchlists"),
        Some(&admin),
        Some(json!({"name": "C2", "entries": ["203.0.113.9"], "severity": "critical"})),
    )
    .await;
    let (st, ingest) = s
        .call(
            "POST",
            &format!("{API}/events"),
            Some(&admin),
            Some(json!({"events": [{"dstip": "203.0.113.9"}]})),
        )
        .await;
    assert_eq!((st, &ingest["alerts"]), (200, &json!(1)), "{ingest}");
    let (st, report) = s
        .call(
            "POST",
            &format!("{API}/reports"),
            Some(&admin),
            Some(json!({"name": "Daily", "type": "summary"})),
        )
        .await;
    assert_eq!(st, 201, "{report}");
    s.settle().await;

    assert_eq!(got.0.lock().unwrap().len(), 1, "the webhook is called once");
    let (_, runs) = c
        .node(1)
        .call(
            "GET",
            &format!("{API}/playbooks/{}/runs", playbook["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(runs["total"], 1, "{runs}");
    assert_eq!(runs["data"][0]["status"], "succeeded", "{runs}");
    let (_, reports) = c
        .node(2)
        .call(
            "GET",
            &format!("{API}/reports?id={}", report["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reports["data"][0]["status"], "completed", "{reports}");

    let listed = nodes(c.node(1), &root).await;
    let finished = |id: &str| {
        listed
            .iter()
            .find(|n| n["id"] == id)
            .map_or(-1, |n| n["jobs_finished"].as_i64().unwrap_or(-1))
    };
    assert_eq!(
        finished(&receiving),
        0,
        "the drained server ran nothing: {listed:?}"
    );
    let all: i64 = listed
        .iter()
        .map(|n| n["jobs_finished"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(
        all, 2,
        "one report and one playbook run, each once: {listed:?}"
    );
    let drained = listed.iter().find(|n| n["id"] == receiving.as_str());
    assert_eq!(drained.map(|n| &n["health"]), Some(&json!("draining")));
    c.stop().await;
}

#[tokio::test]
async fn a_job_whose_server_died_is_run_by_another_and_the_dead_claim_records_nothing() {
    let Some(mut c) = Cluster::start(2, |_| {}).await else {
        return;
    };
    let root = c.node(0).root_jwt().await;
    let ids = [
        node_id(c.node(0), &root).await,
        node_id(c.node(1), &root).await,
    ];
    for id in &ids {
        drain(&c, &root, id, "drain").await;
    }
    let (_, _, admin) = crate::tenant_user(
        c.node(0),
        &root,
        "acme",
        "admin@acme.test",
        "security_admin",
    )
    .await;
    let (st, report) = c
        .node(0)
        .call(
            "POST",
            &format!("{API}/reports"),
            Some(&admin),
            Some(json!({"name": "Daily", "type": "summary"})),
        )
        .await;
    assert_eq!(st, 201, "{report}");
    let report_url = format!("{API}/reports?id={}", report["id"].as_str().unwrap());

    // A third server claims the job and dies before it finishes (it never renews its lease).
    let ghost = c.database().await;
    let now = stella_core::Clock::now_ms(&**c.clock());
    let claimed = ghost
        .claim_jobs(ghost.node_id(), now, 30_000, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    for id in &ids {
        drain(&c, &root, id, "undrain").await;
    }
    // The lease has not run out: nobody else may take the job.
    c.node(0).stella().run_due_jobs().await;
    let (_, r) = c.node(1).call("GET", &report_url, Some(&admin), None).await;
    assert_eq!(r["data"][0]["status"], "pending", "{r}");

    // A new server joins (it would pick the job up as well as any).
    c.add_node().await;
    c.clock().advance(chrono::Duration::seconds(31));
    let done = within(Duration::from_secs(10), || async {
        let (_, r) = c.node(1).call("GET", &report_url, Some(&admin), None).await;
        r["data"][0]["status"] == "completed"
    })
    .await;
    assert!(done.is_some(), "another server ran the dead server's job");
    assert!(
        !ghost
            .finish_job(&claimed[0], ghost.node_id(), None, now)
            .await
            .unwrap(),
        "the dead claim's late outcome is refused"
    );
    ghost.close().await;
    c.stop().await;
}

/// `POST /events` of `body` into `tenant` on `node`.
async fn ingest_as(node: &TestServer, jwt: &str, tenant: &str, body: Value) -> (u16, Value) {
    node.call(
        "POST",
        &format!("{API}/events?tenant_id={tenant}"),
        Some(jwt),
        Some(body),
    )
    .await
}

/// Events with `marker`, as the root sees them on `node` after a `_refresh` there.
async fn count_marked(node: &TestServer, root: &str, marker: &str) -> i64 {
    node.refresh_events(root).await;
    let (st, found) = node
        .call(
            "POST",
            &format!("{API}/data/aella-ser/_search"),
            Some(root),
            Some(json!({"size": 0, "track_total_hits": true,
                "query": {"term": {"marker": marker}}})),
        )
        .await;
    assert_eq!(st, 200, "{found}");
    found["hits"]["total"]["value"].as_i64().unwrap_or(-1)
}

#[tokio::test]
async fn an_event_ingested_on_one_server_is_found_on_every_server_after_refresh() {
    let Some(mut c) = Cluster::start_with_events(3, |c| c.search_budget_ms = 1000).await else {
        return;
    };
    let root = c.node(0).root_jwt().await;
    let (tenant, _, _) = crate::tenant_user(
        c.node(0),
        &root,
        "acme",
        "admin@acme.test",
        "security_admin",
    )
    .await;
    for (i, n) in [3, 5, 7].iter().enumerate() {
        let events: Vec<Value> = (0..*n)
            .map(|k| json!({"marker": format!("m{i}"), "k": k}))
            .collect();
        let (st, body) = ingest_as(c.node(i), &root, &tenant, json!({ "events": events })).await;
        assert_eq!((st, &body["ingested"]), (200, &json!(n)), "{body}");
    }
    // `_refresh` on a server waits until it has everything acknowledged anywhere before it.
    for j in 0..3 {
        for (i, n) in [3, 5, 7].iter().enumerate() {
            assert_eq!(
                count_marked(c.node(j), &root, &format!("m{i}")).await,
                *n,
                "events ingested on server {i}, searched on server {j}"
            );
        }
    }
    // An event too large for one stream message is refused on its own, before anything of
    // the batch is sent (a record cut only after it would not fit a message).
    let mut batch: Vec<Value> = (0..500)
        .map(|k| json!({"marker": "small", "pad": "x".repeat(1000), "k": k}))
        .collect();
    batch.push(json!({"marker": "huge", "pad": "y".repeat(1_000_000)}));
    let (st, body) = ingest_as(c.node(0), &root, &tenant, json!({ "events": batch })).await;
    assert_eq!(
        (st, &body["ingested"], &body["failed"]),
        (200, &json!(500), &json!(1)),
        "{body}"
    );
    assert_eq!(count_marked(c.node(1), &root, "small").await, 500);

    // While server 2 receives nothing from the stream, its `_refresh` waits (here the search
    // budget, 1 s) and then says it is behind rather than answer without the new events.
    c.node(2).stella().events().pause_consuming(true);
    let (st, body) = ingest_as(
        c.node(1),
        &root,
        &tenant,
        json!({"events": [{"marker": "late"}]}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = c
        .node(2)
        .call(
            "POST",
            &format!("{API}/data/aella-ser/_refresh"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 503, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("behind"),
        "{body}"
    );
    c.node(2).stella().events().pause_consuming(false);
    assert_eq!(count_marked(c.node(2), &root, "late").await, 1);

    // A server started later builds its index from the stream.
    c.add_node().await;
    let late = c.node(3);
    for (i, n) in [3, 5, 7].iter().enumerate() {
        assert_eq!(count_marked(late, &root, &format!("m{i}")).await, *n);
    }
    let ready = text(late, "/readyz").await;
    assert!(
        ready.contains("events: nats stream STELLA_TEST_"),
        "{ready}"
    );
    let metrics = text(late, "/metrics").await;
    assert!(metrics.contains("stella_events_index_lag 0\n"), "{metrics}");
    let listed = nodes(late, &root).await;
    assert!(
        listed.iter().all(|n| n["event_index_lag"] == 0),
        "every server has committed everything: {listed:?}"
    );
    c.stop().await;
}

#[tokio::test]
async fn a_tenants_playbook_run_budget_holds_over_three_servers_with_redis() {
    let Some(c) = Cluster::start(3, |c| {
        with_redis(c);
        c.playbook_runs_per_minute = 2;
    })
    .await
    else {
        return;
    };
    let root = c.node(0).root_jwt().await;
    let (_, _, admin) = crate::tenant_user(
        c.node(0),
        &root,
        "acme",
        "admin@acme.test",
        "security_admin",
    )
    .await;
    let s = c.node(0);
    let (st, playbook) = s
        .call(
            "POST",
            &format!("{API}/playbooks"),
            Some(&admin),
            Some(json!({"name": "tag", "trigger": "alert.created",
                "actions": [{"type": "add_tags", "tags": ["seen"]}]})),
        )
        .await;
    assert_eq!(st, 201, "{playbook}");
    let entries: Vec<String> = (1..=6).map(|i| format!("198.51.100.{i}")).collect();
    let (st, body) = s
        .call(
            "POST",
            &format!("{API}/watchlists"),
            Some(&admin),
            Some(json!({"name": "ioc", "entries": entries})),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    // Six alerts, two raised through each server: six runs asked for, two a minute allowed.
    for (i, entry) in entries.iter().enumerate() {
        let (st, ingest) = c
            .node(i)
            .call(
                "POST",
                &format!("{API}/events"),
                Some(&admin),
                Some(json!({"events": [{"dstip": entry}]})),
            )
            .await;
        assert_eq!((st, &ingest["alerts"]), (200, &json!(1)), "{ingest}");
    }
    c.node(1).settle().await;
    let (_, runs) = c
        .node(2)
        .call(
            "GET",
            &format!("{API}/playbooks/{}/runs", playbook["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    let statuses: Vec<&str> = runs["data"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| x["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(statuses.len(), 6, "{runs}");
    let ran = statuses.iter().filter(|s| **s == "succeeded").count();
    assert_eq!(
        ran, 2,
        "two runs a minute for the deployment, not per server: {statuses:?}"
    );
    c.stop().await;
}

/// A NATS server of the test's own (so it can be stopped), on `port` with its store in `dir`.
fn private_nats(port: u16, dir: &std::path::Path) -> Option<std::process::Child> {
    let bin = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let child = std::process::Command::new(bin)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(10) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child)
}

#[tokio::test]
async fn with_nats_down_ingest_answers_503_in_bounded_time_and_resumes_when_it_is_back() {
    if std::env::var(stella_testkit::NATS_ENV).is_err() {
        eprintln!("skipped: events on NATS need {}", stella_testkit::NATS_ENV);
        return;
    }
    let store = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let Some(mut nats) = private_nats(port, store.path()) else {
        eprintln!("skipped: no nats-server to start");
        return;
    };
    let url = format!("nats://127.0.0.1:{port}");
    let s = TestServer::start_with(|c| c.nats_url = Some(url.clone())).await;
    let root = s.root_jwt().await;
    let tenant = s.create_tenant(&root, "acme").await;
    let ingest = |marker: &'static str| {
        let (s, root, tenant) = (&s, root.clone(), tenant.clone());
        async move { ingest_as(s, &root, &tenant, json!({"events": [{"marker": marker}]})).await }
    };
    assert_eq!(ingest("before").await.0, 200);

    let _ = nats.kill();
    let _ = nats.wait();
    let t = Instant::now();
    let (st, body) = ingest("down").await;
    assert_eq!(st, 503, "{body}");
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "took {:?}",
        t.elapsed()
    );
    let (st, _) = s
        .call(
            "POST",
            &format!("{API}/data/aella-ser/_search"),
            Some(&root),
            Some(json!({"size": 0})),
        )
        .await;
    assert_eq!(st, 200, "searches answer from what this server indexed");

    let mut nats = private_nats(port, store.path()).unwrap();
    let back = within(Duration::from_secs(30), || async {
        ingest("after").await.0 == 200
    })
    .await;
    assert!(back.is_some(), "ingest resumes once NATS is back");
    assert!(count_marked(&s, &root, "before").await == 1);
    assert!(count_marked(&s, &root, "after").await >= 1);
    s.stop().await;
    let _ = nats.kill();
    let _ = nats.wait();
}

/// The `days_ago` of `tenant`'s events on `node`, after a `_refresh` there.
async fn days_on(node: &TestServer, root: &str, tenant: &str) -> Vec<i64> {
    node.refresh_events(root).await;
    let (st, found) = node
        .call(
            "POST",
            &format!("{API}/data/aella-ser-*/_search?tenantid={tenant}"),
            Some(root),
            Some(json!({"size": 1000, "sort": [{"days_ago": "asc"}]})),
        )
        .await;
    assert_eq!(st, 200, "{found}");
    let mut days: Vec<i64> = found["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["_source"]["days_ago"].as_i64())
        .collect();
    days.dedup();
    days
}

#[tokio::test]
async fn every_server_drops_its_own_copies_of_expired_partitions_once_a_run_finishes() {
    let Some(mut c) = Cluster::start_with_events(2, |_| {}).await else {
        return;
    };
    c.clock()
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 3, 15, 12, 0, 0).unwrap());
    let root = c.node(0).root_jwt().await;
    let tenant = c.node(0).create_tenant(&root, "acme").await;
    let midnight = stella_core::Clock::now_ms(c.clock().as_ref()) / 86_400_000 * 86_400_000;
    let events: Vec<Value> = (0..10)
        .map(|d| json!({"timestamp": midnight - d * 86_400_000 + 3_600_000, "days_ago": d}))
        .collect();
    let (st, body) = ingest_as(c.node(1), &root, &tenant, json!({ "events": events })).await;
    assert_eq!(st, 200, "{body}");
    let all: Vec<i64> = (0..10).collect();
    for i in 0..2 {
        assert_eq!(days_on(c.node(i), &root, &tenant).await, all, "server {i}");
    }
    let (st, body) = c
        .node(1)
        .call(
            "PUT",
            &format!("{API}/retention/{tenant}"),
            Some(&root),
            Some(json!({"events_days": 3})),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let runs = crate::retention::run_retention(c.node(0), &root).await;
    assert_eq!(runs[0]["removed"]["event_partitions"], 6, "{runs:?}");
    // Whichever server ran it, both drop days 4 to 9 (the cutoff's day, 3, stays whole).
    let kept: Vec<i64> = (0..=3).collect();
    for i in 0..2 {
        let node = c.node(i);
        let took = within(Duration::from_secs(20), || async {
            days_on(node, &root, &tenant).await == kept
        })
        .await;
        assert!(
            took.is_some(),
            "server {i} still has {:?}",
            days_on(node, &root, &tenant).await
        );
    }

    // A server that joins later rebuilds every day from the stream, then follows the run.
    c.add_node().await;
    let late = c.node(2);
    let took = within(Duration::from_secs(20), || async {
        days_on(late, &root, &tenant).await == kept
    })
    .await;
    assert!(
        took.is_some(),
        "the new server has {:?}",
        days_on(late, &root, &tenant).await
    );
    c.stop().await;
}

#[tokio::test]
async fn the_schedule_queues_one_retention_run_per_interval_for_the_whole_deployment() {
    let Some(c) = Cluster::start(3, |cfg| cfg.retention_interval_secs = 3600).await else {
        return;
    };
    let root = c.node(0).root_jwt().await;
    let runs = |node: usize, root: String| {
        let c = &c;
        async move {
            c.node(node).settle().await;
            let (st, body) = c
                .node(node)
                .call("GET", "/cluster/retention", Some(&root), None)
                .await;
            assert_eq!(st, 200, "{body}");
            let mut jobs: Vec<String> = body["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["finished_at"].is_string())
                .map(|r| r["job"].as_str().unwrap().to_owned())
                .collect();
            jobs.sort();
            jobs
        }
    };
    // Every server asks on its first heartbeat; the interval's job id makes it one run.
    let first = within(Duration::from_secs(20), || async {
        runs(0, root.clone()).await.len() == 1
    })
    .await;
    assert!(first.is_some(), "runs: {:?}", runs(0, root.clone()).await);
    // The next interval, once every server has had a heartbeat in it: one more, not three.
    c.clock().advance(chrono::Duration::hours(1));
    let root = c.node(0).root_jwt().await; // the first one expired with the hour
    let moved_on = stella_core::Clock::now_ms(c.clock().as_ref());
    let beat_since = |n: &Value| {
        n["last_heartbeat"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t.timestamp_millis() >= moved_on)
    };
    let all_beat = within(Duration::from_secs(30), || async {
        nodes(c.node(0), &root).await.iter().all(beat_since)
    })
    .await;
    assert!(all_beat.is_some(), "{:?}", nodes(c.node(0), &root).await);
    for i in 0..3 {
        let jobs = runs(i, root.clone()).await;
        assert_eq!(jobs.len(), 2, "server {i}: {jobs:?}");
        assert!(jobs.iter().all(|j| j.starts_with("retention-")), "{jobs:?}");
    }
    c.stop().await;
}

/// Scanning on several servers: a feed imported through one is the version every server scans
/// with, and an offline token's daily quota is one count across them, exact under concurrent
/// scans.
#[tokio::test]
async fn servers_share_the_feed_version_and_the_scan_quota() {
    use crate::scanning::{sample_sbom, scan, small_feed};
    let Some(c) = Cluster::start(2, |c| c.max_scans_per_day = 4).await else {
        return;
    };
    let root = c.node(0).root_jwt().await;
    let import = small_feed(c.node(0), &root).await;
    let version = import["version"].as_str().unwrap().to_owned();
    let follows = within(Duration::from_secs(10), || async {
        let (_, s) = c
            .node(1)
            .call("GET", "/feed/status", Some(&root), None)
            .await;
        s["loaded_version"] == version.as_str()
    })
    .await;
    assert!(follows.is_some(), "the second server loads the new version");
    let sbom = serde_json::to_vec(&sample_sbom()).unwrap();
    let (st, _, done) = scan(c.node(1), &root, "", &sbom, &[]).await;
    assert_eq!(st, 200, "{done}");
    let (_, stored) = c
        .node(0)
        .call(
            "GET",
            &format!("/scans/{}", done["id"].as_str().unwrap()),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(stored["feedVersion"], version.as_str());
    assert!(done["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["package"] == "Django"));

    // Eight scans at once, half on each server, with a token allowed four a day.
    let (st, t) = c
        .node(0)
        .call("POST", "/token/offline", Some(&root), Some(json!({})))
        .await;
    assert_eq!(st, 200, "{t}");
    let offline = t["jwt"].as_str().unwrap().to_owned();
    let scans = (0..8).map(|i| scan(c.node(i), &offline, "", &sbom, &[]));
    let mut statuses: Vec<u16> = futures::future::join_all(scans)
        .await
        .into_iter()
        .map(|(st, _, _)| st)
        .collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429, 429, 429]);
}
