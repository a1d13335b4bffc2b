//! Security suite, part 2: denial of service by one authenticated reader, and unbounded work.
//! Each test replays an attack from the review (issue 11) and shows it refused or bounded.

use crate::{assert_problem, one_tenant_with, tenant_user};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use stella_testkit::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const API: &str = "/connect/api/v1";

fn search_body(query_string: Value) -> Value {
    json!({"query": {"query_string": query_string}, "size": 1})
}

/// 32 nested parentheses (65 bytes) ran for over five minutes at 100% of a core; 1,000 words ×
/// 1,000 fields took the server to 4.2 GB. Both are answered at once now, directly and
/// through a saved query.
#[tokio::test]
async fn query_string_parses_in_linear_time_within_a_clause_budget() {
    let (s, _, (_, admin)) = one_tenant_with(|_| {}).await;
    s.call(
        "POST",
        &format!("{API}/events"),
        Some(&admin),
        Some(json!({"events": [{"msg": "a b c"}]})),
    )
    .await;
    let started = Instant::now();
    let search = format!("{API}/data/aella-ser/_search");
    let nested = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
    let (st, body) = s
        .call(
            "POST",
            &search,
            Some(&admin),
            Some(search_body(json!({"query": nested(32)}))),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let (st, p) = s
        .call(
            "POST",
            &search,
            Some(&admin),
            Some(search_body(json!({"query": nested(33)}))),
        )
        .await;
    assert_problem(st, &p, 400);
    assert!(
        p["detail"].as_str().unwrap().contains("deeper than 32"),
        "{p}"
    );
    // Unbalanced at depth 32: refused at once (tantivy's parser backtracked for minutes).
    let (st, p) = s
        .call(
            "POST",
            &search,
            Some(&admin),
            Some(search_body(json!({"query": "(".repeat(32) + "a"}))),
        )
        .await;
    assert_problem(st, &p, 400);
    // Saved queries reach the same parser.
    let (st, q) = s
        .call(
            "POST",
            &format!("{API}/queries"),
            Some(&admin),
            Some(json!({"name": "deep", "query": format!("{}a", "(".repeat(32))})),
        )
        .await;
    assert_eq!(st, 201, "{q}");
    let (st, p) = s
        .call(
            "POST",
            &format!("{API}/queries/{}/run", q["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_problem(st, &p, 400);
    // Words × fields: the field list and the expanded clauses are both bounded.
    let words = (0..1000)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let fields = |n: usize| (0..n).map(|i| format!("f{i}")).collect::<Vec<_>>();
    let (st, p) = s
        .call(
            "POST",
            &search,
            Some(&admin),
            Some(search_body(json!({"query": words, "fields": fields(1000)}))),
        )
        .await;
    assert_problem(st, &p, 400);
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("more than 100 fields"),
        "{p}"
    );
    let (st, p) = s
        .call(
            "POST",
            &search,
            Some(&admin),
            Some(search_body(json!({"query": words, "fields": fields(100)}))),
        )
        .await;
    assert_problem(st, &p, 400);
    assert!(
        p["detail"].as_str().unwrap().contains("1024 clauses"),
        "{p}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    s.stop().await;
}

/// A `date_histogram` without bounds answered 500; it is a request over its limits: 400.
#[tokio::test]
async fn aggregations_over_their_limits_answer_400_naming_the_limit() {
    let (s, _, (_, admin)) = one_tenant_with(|_| {}).await;
    let t0 = 1_767_225_600_000i64; // 2026-01-01
    let events: Vec<Value> = (0..3)
        .map(|i| json!({"timestamp": t0 - i * 3_600_000, "n": i}))
        .collect();
    s.call(
        "POST",
        &format!("{API}/events"),
        Some(&admin),
        Some(json!({ "events": events })),
    )
    .await;
    s.refresh_events(&admin).await;
    let (st, p) = s
        .call(
            "POST",
            &format!("{API}/data/aella-ser/_search"),
            Some(&admin),
            Some(json!({"size": 0, "aggs": {"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1ms"}}}})),
        )
        .await;
    assert_problem(st, &p, 400);
    assert!(
        p["detail"].as_str().unwrap().contains("memory limit"),
        "{p}"
    );
    s.stop().await;
}

/// Shutdown stops running searches instead of waiting for them: a search caught by it answers
/// 503 with Retry-After, never holds the server.
#[tokio::test]
async fn searches_stopped_by_shutdown_answer_503() {
    let (s, _, (_, admin)) = one_tenant_with(|_| {}).await;
    s.stella().events().cancel_searches();
    let r = s
        .client
        .post(s.url(&format!("{API}/data/aella-ser/_search")))
        .bearer_auth(&admin)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    s.stop().await;
}

/// Writes a request head (no body) on a raw connection and reads what comes back within 5 s.
async fn head_only(s: &TestServer, head: &str) -> String {
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
        .await
        .expect("the server answered before the body was sent")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// 24 concurrent 58 MiB posts with a junk bearer all got 401 but grew the server to 1.4 GB:
/// bodies were read before authentication. Now the answer comes from the head alone: these
/// requests declare a large body and never send it, and are answered anyway.
#[tokio::test]
async fn credentials_are_checked_before_any_body_is_read() {
    let s = TestServer::start().await;
    let jwt = s.root_jwt().await;
    let junk = head_only(
        &s,
        "POST /connect/api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer junk.junk.junk\r\n\
         Content-Type: application/json\r\nContent-Length: 60817408\r\n\r\n",
    )
    .await;
    assert!(junk.starts_with("HTTP/1.1 401"), "{junk}");
    let none = head_only(
        &s,
        "POST /connect/api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 60817408\r\n\r\n",
    )
    .await;
    assert!(none.starts_with("HTTP/1.1 401"), "{none}");
    // Authenticated, but declaring more than the route takes: 413 before reading.
    let big = head_only(
        &s,
        &format!(
            "POST /connect/api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {jwt}\r\n\
             Content-Type: application/json\r\nContent-Length: 60817408\r\n\r\n"
        ),
    )
    .await;
    assert!(big.starts_with("HTTP/1.1 413"), "{big}");
    s.stop().await;
}

/// Bodies being read at once share a budget: when it is taken, a request waits a bounded time
/// and answers 503, instead of the server buffering every concurrent upload.
#[tokio::test]
async fn bodies_being_read_at_once_are_bounded() {
    let s = TestServer::start_with(|c| {
        c.max_body_bytes = 1024 * 1024;
        c.max_ingest_body_bytes = 1024 * 1024;
        c.max_inflight_body_bytes = 1024 * 1024;
        c.body_budget_wait_ms = 200;
    })
    .await;
    let jwt = s.root_jwt().await;
    // One authenticated upload declares the whole budget and stalls.
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /connect/api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {jwt}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{{",
            1024 * 1024
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // Until the server has taken the stalled request in, others still go through; poll.
    let mut refused = None;
    for i in 0..50 {
        let (st, p) = s
            .call(
                "POST",
                &format!("{API}/tenants"),
                Some(&jwt),
                Some(json!({"name": format!("a{i}")})),
            )
            .await;
        if st == 503 {
            refused = Some(p);
            break;
        }
    }
    let p = refused.expect("a request waited for the body budget and was refused");
    assert_problem(503, &p, 503);
    assert!(p["detail"].as_str().unwrap().contains("retry"), "{p}");
    // Requests without a body need none of the budget.
    assert_eq!(s.status("GET", &format!("{API}/me"), Some(&jwt)).await, 200);
    drop(slow);
    // Once the stalled upload is gone, the budget is back.
    let mut created = 0;
    for _ in 0..50 {
        let (st, _) = s
            .call(
                "POST",
                &format!("{API}/tenants"),
                Some(&jwt),
                Some(json!({"name": "b"})),
            )
            .await;
        if st == 201 {
            created += 1;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(created, 1);
    s.stop().await;
}

/// A sender that declares a body and stalls holds a connection and its share of the body
/// budget; it gets 408 after `body_read_timeout_ms`, and the budget is back.
#[tokio::test]
async fn a_stalled_body_is_dropped_after_the_read_timeout() {
    let s = TestServer::start_with(|c| {
        c.body_read_timeout_ms = 300;
        c.max_inflight_body_bytes = 1024 * 1024;
        c.max_body_bytes = 1024 * 1024;
        c.max_ingest_body_bytes = 1024 * 1024;
    })
    .await;
    let jwt = s.root_jwt().await;
    let answer = head_only(
        &s,
        &format!(
            "POST /connect/api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {jwt}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{{",
            1024 * 1024
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("within 300 ms"), "{answer}");
    // The whole budget was that request's; it is free again.
    let (st, p) = s
        .call(
            "POST",
            &format!("{API}/tenants"),
            Some(&jwt),
            Some(json!({"name": "after"})),
        )
        .await;
    assert_eq!(st, 201, "{p}");
    s.stop().await;
}

/// The ingest route takes larger bodies than the rest, but only from a credential that may
/// ingest: anyone else is held to the ordinary bound before a byte is read.
#[tokio::test]
async fn only_ingesters_get_the_ingest_body_bound() {
    let (s, _, (_, admin)) = one_tenant_with(|c| {
        c.max_body_bytes = 64 * 1024;
        c.max_ingest_body_bytes = 4 * 1024 * 1024;
    })
    .await;
    let reader = crate::security_authz::narrowed_jwt(&s, &admin, &["events:read"]).await;
    let declared = 1024 * 1024;
    let head = |jwt: &str| {
        format!(
            "POST /connect/api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {jwt}\r\n\
             Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
        )
    };
    let refused = head_only(&s, &head(&reader)).await;
    assert!(refused.starts_with("HTTP/1.1 413"), "{refused}");
    // The same megabyte from the ingesting admin is taken.
    let now = stella_core::Clock::now_ms(&*s.clock);
    let events: Vec<Value> = (0..1000)
        .map(|i| json!({"timestamp": now, "n": i, "message": "x".repeat(900)}))
        .collect();
    let (st, p) = s
        .call(
            "POST",
            &format!("{API}/events"),
            Some(&admin),
            Some(json!({"events": events})),
        )
        .await;
    assert!(st < 300, "{st} {p}");
    s.stop().await;
}

/// One analyst's 500-event ingest against a 20-entry watchlist raised 10,000 alerts and set
/// off ~27,500 webhook calls. Now repeats of a cause aggregate into one alert with a count,
/// and playbook runs (so webhook calls) are bounded per tenant.
#[tokio::test]
async fn one_ingest_cannot_amplify_into_thousands_of_alerts_and_calls() {
    let (s, _, (_, admin)) = one_tenant_with(|c| {
        c.webhook_allow = vec!["127.0.0.1".into()];
        c.playbook_runs_per_minute = 5;
    })
    .await;
    let (base, hooks) = crate::receiver().await;
    let url = format!("{base}/hook");
    let entries: Vec<String> = (0..20).map(|i| format!("bad{i}.example")).collect();
    let (st, _) = s
        .call(
            "POST",
            &format!("{API}/watchlists"),
            Some(&admin),
            Some(json!({"name": "iocs", "entries": entries, "severity": "critical"})),
        )
        .await;
    assert_eq!(st, 201);
    let (st, pb) = s
        .call(
            "POST",
            &format!("{API}/playbooks"),
            Some(&admin),
            Some(json!({"name": "page", "trigger": "alert.created", "actions": [{"type": "webhook", "url": url}]})),
        )
        .await;
    assert_eq!(st, 201, "{pb}");
    let events: Vec<Value> = (0..500)
        .map(|i| {
            let mut e = serde_json::Map::new();
            e.insert("n".into(), json!(i));
            for (j, entry) in entries.iter().enumerate() {
                e.insert(format!("f{j}"), json!(entry));
            }
            Value::Object(e)
        })
        .collect();
    let started = Instant::now();
    let (st, report) = s
        .call(
            "POST",
            &format!("{API}/events"),
            Some(&admin),
            Some(json!({ "events": events })),
        )
        .await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["ingested"], 500);
    assert_eq!(report["alerts"], 20, "{report}");
    assert_eq!(report["alert_events_aggregated"], 20 * 499, "{report}");
    s.settle().await;
    let elapsed = started.elapsed();
    let (_, alerts) = s
        .call(
            "GET",
            &format!("{API}/alerts?limit=100"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(alerts["total"], 20, "{alerts}");
    assert!(alerts["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["event_count"] == 500));
    // The same events again within the window add to the same alerts.
    let (_, again) = s
        .call(
            "POST",
            &format!("{API}/events"),
            Some(&admin),
            Some(json!({"events": [{"x": "bad0.example"}]})),
        )
        .await;
    assert_eq!(again["alerts"], 0, "{again}");
    // 20 new alerts, 5 runs a minute: 5 webhooks, 15 runs recorded as throttled.
    s.settle().await;
    assert_eq!(hooks.0.lock().unwrap().len(), 5);
    let (_, runs) = s
        .call(
            "GET",
            &format!(
                "{API}/playbooks/{}/runs?limit=100",
                pb["id"].as_str().unwrap()
            ),
            Some(&admin),
            None,
        )
        .await;
    let throttled = runs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "throttled")
        .count();
    assert_eq!(throttled, 15, "{runs}");
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    s.stop().await;
}

/// Every ingest matches its events against all of a tenant's watchlist entries, so the
/// entries a tenant holds are bounded (100,000 over all its watchlists), and so are the causes
/// one ingest may write to the database for (1,000): the rest are counted as suppressed.
#[tokio::test]
async fn watchlist_matching_is_bounded_per_tenant_and_per_ingest() {
    let (s, _, (_, admin)) = one_tenant_with(|_| {}).await;
    let post = |name: String, entries: Vec<String>| {
        let s = &s;
        let admin = &admin;
        async move {
            s.call(
                "POST",
                &format!("{API}/watchlists"),
                Some(admin),
                Some(json!({"name": name, "entries": entries})),
            )
            .await
        }
    };
    // 1,500 entries matched by one ingest; the last one already has an alert.
    let entries: Vec<String> = (0..1500).map(|i| format!("h{i}.example")).collect();
    let (st, first) = post("many".into(), entries.clone()).await;
    assert_eq!(st, 201, "{first}");
    let ingest = |events: Vec<Value>| {
        let s = &s;
        let admin = &admin;
        async move {
            let (st, r) = s
                .call(
                    "POST",
                    &format!("{API}/events"),
                    Some(admin),
                    Some(json!({"events": events})),
                )
                .await;
            assert_eq!(st, 200, "{r}");
            r
        }
    };
    let r = ingest(vec![json!({"host": "h1499.example"})]).await;
    assert_eq!(r["alerts"], 1, "{r}");
    let r = ingest(entries.iter().map(|e| json!({"host": e})).collect()).await;
    // 100 new alerts; 900 more causes had no alert to add to; 500 were past the 1,000 causes
    // one ingest may write for, the one with an alert among them.
    assert_eq!(r["alerts"], 100, "{r}");
    assert_eq!(r["alert_events_aggregated"], 0, "{r}");
    assert_eq!(r["alert_events_suppressed"], 1400, "{r}");
    // Entries over all of a tenant's watchlists: 1,500 + 9 × 10,000 + 8,500 = 100,000.
    for k in 0..9 {
        let many: Vec<String> = (0..10_000).map(|i| format!("w{k}-{i}.example")).collect();
        assert_eq!(post(format!("w{k}"), many).await.0, 201);
    }
    let rest: Vec<String> = (0..8_500).map(|i| format!("last-{i}.example")).collect();
    let (st, last) = post("last".into(), rest).await;
    assert_eq!(st, 201, "{last}");
    let (st, p) = post("one more".into(), vec!["x.example".into()]).await;
    assert_problem(st, &p, 409);
    assert!(p["detail"].as_str().unwrap().contains("100000"), "{p}");
    // Deleting a watchlist makes room again.
    let (st, _) = s
        .call(
            "DELETE",
            &format!("{API}/watchlists/{}", last["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(st, 204);
    assert_eq!(
        post("one more".into(), vec!["x.example".into()]).await.0,
        201
    );
    s.stop().await;
}

/// Rate limits were keyed on the raw `Authorization` text: case and spacing variants of one
/// JWT, several JWTs of one key, and rotating bogus headers each got a fresh bucket.
#[tokio::test]
async fn rate_limits_follow_the_credential_not_the_header_text() {
    let s = TestServer::start_with(|c| c.rate_limit_per_second = 5).await;
    let root = s.root_jwt().await;
    let send = |auth: String| {
        let r = s
            .client
            .get(s.url(&format!("{API}/me")))
            .header("authorization", auth)
            .send();
        async move { r.await.unwrap().status().as_u16() }
    };
    // (The clock does not move: all of these fall in one second.) Five spellings of one JWT.
    for auth in [
        format!("Bearer {root}"),
        format!("bearer {root}"),
        format!("BEARER {root}"),
        format!("Bearer   {root}"),
        format!("Bearer {root} "),
    ] {
        assert_eq!(send(auth).await, 200);
    }
    assert_eq!(send(format!("bEaReR\t{root}")).await, 429);
    // A second JWT of the same key shares the bucket.
    s.clock.advance(chrono::Duration::seconds(1));
    let second = s.root_jwt().await;
    assert_ne!(second, root);
    for _ in 0..5 {
        assert_eq!(send(format!("Bearer {root}")).await, 200);
    }
    assert_eq!(send(format!("Bearer {second}")).await, 429);
    // Rotating bogus headers share their address's bucket.
    s.clock.advance(chrono::Duration::seconds(1));
    let bogus: Vec<u16> =
        futures::future::join_all((0..8).map(|i| send(format!("Bearer bogus.token.{i}")))).await;
    assert_eq!(
        bogus.iter().filter(|st| **st == 401).count(),
        5,
        "{bogus:?}"
    );
    assert_eq!(
        bogus.iter().filter(|st| **st == 429).count(),
        3,
        "{bogus:?}"
    );
    s.stop().await;
}

/// Ten wrong secrets from other addresses locked the right credentials out for 15 minutes.
/// Now waits apply per (account, address): the attacker's addresses slow down, the owner's
/// does not.
#[tokio::test]
async fn guesses_from_elsewhere_do_not_lock_the_owner_out() {
    let s = TestServer::start_with(|c| {
        c.max_auth_failures = 5;
        c.auth_block_secs = 900;
    })
    .await;
    let root = s.root_jwt().await;
    let (_, _, _) = tenant_user(&s, &root, "acme", "ana@acme.test", "analyst").await;
    let key_id = &s.root.api_key[4..36];
    let guess = format!("stk_{key_id}_guessed-secret");
    for i in 2..12 {
        let attacker = s.client_from(&format!("127.0.0.{i}"));
        let r = attacker
            .post(s.url(&format!("{API}/access_token")))
            .bearer_auth(&guess)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        // Password guesses against a user, too.
        let r = attacker
            .post(s.url(&format!("{API}/sign_in")))
            .json(&json!({"email": "ana@acme.test", "password": "not the password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    // The owners, from their own address: unaffected.
    assert_eq!(
        s.status(
            "POST",
            &format!("{API}/access_token"),
            Some(&s.root.api_key)
        )
        .await,
        200
    );
    assert_eq!(
        s.sign_in("ana@acme.test", stella_testkit::DEFAULT_PASSWORD)
            .await
            .0,
        200
    );
    // One attacking address that keeps guessing is made to wait.
    let attacker = s.client_from("127.0.0.99");
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = attacker
            .post(s.url(&format!("{API}/sign_in")))
            .json(&json!({"email": "ana@acme.test", "password": "still not it"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    s.stop().await;
}

/// Behind a load balancer every request comes from the balancer. With the balancer listed in
/// `trusted_proxies`, the client its `X-Forwarded-For` names is the one limited, logged and
/// written in the action history, so one client's guesses do not lock out everyone behind it;
/// the same header from any other peer is ignored, so a client cannot pick its own address.
#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_the_one_limited_and_logged() {
    let (s, root, (_, admin)) = one_tenant_with(|c| {
        c.max_auth_failures = 5;
        c.trusted_proxies = vec!["127.0.0.10".into()];
    })
    .await;
    let proxy = s.client_from("127.0.0.10");
    let sign_in = |client: &reqwest::Client, forwarded: &str| {
        client
            .post(s.url(&format!("{API}/sign_in")))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"email": "admin@acme.test", "password": "not the password"}))
            .send()
    };
    // One client behind the proxy guesses: it is made to wait…
    let mut statuses = Vec::new();
    for _ in 0..7 {
        // What a client writes itself is left of what the proxy appends.
        let r = sign_in(&proxy, "10.9.9.9, 198.51.100.66").await.unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    // …and another behind the same proxy is not.
    let r = sign_in(&proxy, "198.51.100.77").await.unwrap();
    assert_eq!(r.status(), 401);
    // A peer that is not a listed proxy: its header is ignored, its own address counts.
    let spoofer = s.client_from("127.0.0.11");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = sign_in(&spoofer, "198.51.100.88").await.unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    let r = sign_in(&proxy, "198.51.100.88").await.unwrap();
    assert_eq!(
        r.status(),
        401,
        "the spoofer's guesses were counted against the address it named"
    );

    // The activity log and the /rest/ action history name the forwarded client.
    let r = proxy
        .post(s.url("/rest/rules/source/"))
        .header("authorization", format!("Bearer {admin}"))
        .header("x-forwarded-for", "203.0.113.5")
        .json(&json!({"name": "et"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (_, history) = s
        .call("GET", "/rest/rules/history/", Some(&admin), None)
        .await;
    assert_eq!(
        history["results"][0]["client_ip"], "203.0.113.5",
        "{history}"
    );
    s.flush_activity().await;
    let (_, log) = s
        .call(
            "GET",
            "/connect/api/v1/user_activity_log?path=/rest/rules/source/",
            Some(&root),
            None,
        )
        .await;
    assert_eq!(log["data"][0]["client_ip"], "203.0.113.5", "{log}");
    let (_, log) = s
        .call(
            "GET",
            "/connect/api/v1/user_activity_log?status=429",
            Some(&root),
            None,
        )
        .await;
    let ips: std::collections::BTreeSet<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["client_ip"].as_str())
        .collect();
    assert_eq!(
        ips,
        ["127.0.0.11", "198.51.100.66"].into_iter().collect(),
        "{log}"
    );
    s.stop().await;
}

/// Found by the `event_tape` fuzz target: serde_json reads an object whose first key is
/// `$serde_json::private::RawValue` as the raw JSON in its string. Such an event was accepted
/// (indexed as one thing), then every search that returned it failed reading its `_source` back.
/// Now the event is refused alone, naming the key, and searches go on.
#[tokio::test]
async fn an_event_serde_json_would_read_as_other_json_is_refused() {
    let (s, _, (_, admin)) = one_tenant_with(|_| {}).await;
    let (st, report) = s
        .call(
            "POST",
            &format!("{API}/events"),
            Some(&admin),
            Some(json!({"events": [
                {"n": 1, "user": {"$serde_json::private::RawValue": "{\"name\": \"someone else\"}"}},
                {"n": 2, "user": {"name": "alice"}},
            ]})),
        )
        .await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(
        (report["ingested"].as_u64(), report["failed"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(
        report["errors"][0].as_str().unwrap().contains("reserved"),
        "{report}"
    );
    s.refresh_events(&admin).await;
    let (st, found) = s
        .call(
            "POST",
            &format!("{API}/data/aella-ser/_search"),
            Some(&admin),
            Some(json!({"query": {"match_all": {}}})),
        )
        .await;
    assert_eq!(st, 200, "{found}");
    assert_eq!(found["hits"]["total"]["value"], 1);
    s.stop().await;
}

/// The same key inside a JSON member of any resource (a connector's `config`, a playbook's
/// `actions`): parsed second, it was stored first (maps are sorted) and the row no longer read
/// back, so the tenant's whole list answered 500. It is refused, naming where it is.
#[tokio::test]
async fn stored_json_members_cannot_poison_a_list() {
    let (s, _, (_, admin)) = one_tenant_with(|_| {}).await;
    // Sent as text: a client's own JSON library would sort the key first.
    let r = s
        .client
        .post(s.url(&format!("{API}/connectors")))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(r#"{"name": "c", "type": "syslog", "config": {"a": 1, "$serde_json::private::RawValue": "12"}}"#)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    let p: Value = r.json().await.unwrap();
    assert_problem(st, &p, 400);
    assert_eq!(p["errors"][0]["path"], "$.config", "{p}");
    let (st, list) = s
        .call("GET", &format!("{API}/connectors"), Some(&admin), None)
        .await;
    assert_eq!(st, 200, "{list}");
    s.stop().await;
}
