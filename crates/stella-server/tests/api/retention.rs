//! Retention over HTTP, on the suite's backend: expired daily event partitions dropped whole
//! (and searches before and after), the activity log archived (signed, checksummed, every
//! purged record in it) before it is purged, legal holds, reports, bounded runs with
//! follow-ups, and who may set what. The clock is the test's: nothing here waits for a day.

use crate::assert_problem;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use stella_core::Clock;
use stella_testkit::TestServer;

const API: &str = "/connect/api/v1";
const DAY_MS: i64 = 86_400_000;

/// 2026-03-15T12:00:00Z, the day these tests call today.
fn today_noon() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 15, 12, 0, 0).unwrap()
}

/// Three events per day at 01:00, 12:00 and 23:00 UTC, for `days` days ending today.
fn daily_events(now_ms: i64, days: i64) -> Value {
    let midnight = now_ms - now_ms.rem_euclid(DAY_MS);
    let docs: Vec<Value> = (0..days)
        .flat_map(|d| {
            [1, 12, 23].map(move |h| {
                json!({
                    "timestamp": midnight - d * DAY_MS + h * 3_600_000,
                    "event_type": "dns",
                    "days_ago": d,
                })
            })
        })
        .collect();
    json!({ "events": docs })
}

async fn ingest(s: &TestServer, jwt: &str, tenant: &str, body: Value) {
    let (st, r) = s
        .call(
            "POST",
            &format!("{API}/events?tenant_id={tenant}"),
            Some(jwt),
            Some(body),
        )
        .await;
    assert_eq!((st, &r["failed"]), (200, &json!(0)), "{r}");
}

/// The `days_ago` values of the events `index` holds for `tenant`, as a set.
async fn days_held(s: &TestServer, jwt: &str, index: &str, tenant: &str) -> BTreeSet<i64> {
    let (st, r) = s
        .call(
            "POST",
            &format!("{API}/data/{index}/_search?tenantid={tenant}"),
            Some(jwt),
            Some(json!({"size": 1000, "query": {"match_all": {}}})),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    r["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["_source"]["days_ago"].as_i64())
        .collect()
}

/// Queues a run and waits for it and its follow-ups (runs the schedule queues meanwhile are
/// left out); the chain's runs, first first.
pub async fn run_retention(s: &TestServer, root: &str) -> Vec<Value> {
    let (st, queued) = s
        .call("POST", "/cluster/retention/run", Some(root), None)
        .await;
    assert_eq!(st, 202, "{queued}");
    let mut job = queued["job"].as_str().unwrap().to_owned();
    let mut chain = Vec::new();
    for _ in 0..500 {
        s.settle().await;
        let (st, runs) = s.call("GET", "/cluster/retention", Some(root), None).await;
        assert_eq!(st, 200, "{runs}");
        let found = runs["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["job"] == job.as_str() && r["finished_at"].is_string())
            .cloned();
        match found {
            Some(run) if run["more"] == json!(true) => {
                job = format!("retention-more-{}", run["id"].as_str().unwrap());
                chain.push(run);
            }
            Some(run) => {
                chain.push(run);
                return chain;
            }
            None => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    panic!("retention did not finish: {chain:?}");
}

fn usage_of<'a>(usage: &'a Value, tenant: &str) -> &'a Value {
    usage["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["tenant_id"] == tenant)
        .unwrap_or_else(|| panic!("{tenant} not in {usage}"))
}

#[tokio::test]
async fn expired_daily_partitions_are_dropped_whole_and_searches_see_exactly_the_rest() {
    let s = TestServer::start().await;
    s.clock.set(today_noon());
    let root = s.root_jwt().await;
    let a = s.create_tenant(&root, "acme").await;
    let b = s.create_tenant(&root, "globex").await;
    let now = s.clock.now_ms();
    ingest(&s, &root, &a, daily_events(now, 12)).await;
    ingest(&s, &root, &b, daily_events(now, 12)).await;
    s.refresh_events(&root).await;
    let all: BTreeSet<i64> = (0..12).collect();
    assert_eq!(days_held(&s, &root, "aella-ser", &a).await, all);
    // Dated names and patterns select partitions, as Elasticsearch index names do.
    assert_eq!(
        days_held(&s, &root, "aella-ser-2026.03.09", &a).await,
        BTreeSet::from([6])
    );
    assert_eq!(
        days_held(&s, &root, "aella-ser-2026.03.1*", &a).await,
        (0..6).collect()
    );
    assert_eq!(
        days_held(&s, &root, "aella-ser-2026.03.04,aella-ser-2026.03.05", &a).await,
        BTreeSet::from([10, 11])
    );
    let (_, usage) = s
        .call("GET", &format!("{API}/storage_usage"), Some(&root), None)
        .await;
    let ua = usage_of(&usage, &a);
    assert_eq!(
        (ua["partitions"].as_i64(), ua["documents"].as_i64()),
        (Some(12), Some(36)),
        "{usage}"
    );
    assert_eq!(ua["oldest_event"], "2026-03-04T01:00:00Z", "{usage}");

    // acme keeps 5 days: the cutoff is 2026-03-10T12:00, so 03-10 (partly inside) stays whole
    // and every day before it goes; globex keeps the platform's 90.
    let (st, r) = s
        .call(
            "PUT",
            &format!("{API}/retention/{a}"),
            Some(&root),
            Some(json!({"events_days": 5})),
        )
        .await;
    assert_eq!(
        (st, &r["effective"]["events_days"]),
        (200, &json!(5)),
        "{r}"
    );
    let runs = run_retention(&s, &root).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["removed"]["event_partitions"], 6, "{runs:?}");
    assert_eq!(runs[0]["removed"]["events"], 18, "{runs:?}");
    assert_eq!(
        days_held(&s, &root, "aella-ser", &a).await,
        (0..=5).collect()
    );
    assert_eq!(days_held(&s, &root, "aella-ser-*", &b).await, all);
    assert!(days_held(&s, &root, "aella-ser-2026.03.09", &a)
        .await
        .is_empty());
    let (_, usage) = s
        .call("GET", &format!("{API}/storage_usage"), Some(&root), None)
        .await;
    let ua = usage_of(&usage, &a);
    assert_eq!(
        (ua["partitions"].as_i64(), ua["documents"].as_i64()),
        (Some(6), Some(18)),
        "{usage}"
    );
    assert_eq!(ua["oldest_event"], "2026-03-10T01:00:00Z", "{usage}");
    let metrics = reqwest::get(s.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "stella_events_tenant_partitions{{tenant=\"{a}\"}} 6"
        )),
        "{metrics}"
    );

    // An event for a dropped day, ingested again, is kept (it is new) and found; a day past
    // the period is dropped again by the next run, and nothing else changes.
    ingest(
        &s,
        &root,
        &a,
        json!({"events": [{"timestamp": now - 8 * DAY_MS, "days_ago": 8}]}),
    )
    .await;
    s.refresh_events(&root).await;
    assert!(days_held(&s, &root, "aella-ser", &a).await.contains(&8));
    let runs = run_retention(&s, &root).await;
    assert_eq!(runs[0]["removed"]["event_partitions"], 1, "{runs:?}");
    assert_eq!(
        days_held(&s, &root, "aella-ser", &a).await,
        (0..=5).collect()
    );
    assert_eq!(days_held(&s, &root, "aella-ser", &b).await, all);
    s.stop().await;
}

#[tokio::test]
async fn activity_is_archived_signed_and_complete_before_it_is_purged_and_a_hold_keeps_it() {
    // A small bound: the run stops after a few records and queues follow-ups.
    let s = TestServer::start_with(|c| c.retention_batch = 3).await;
    let root = s.root_jwt().await;
    let a = s.create_tenant(&root, "acme").await;
    let b = s.create_tenant(&root, "globex").await;
    let (_, a_key) = s
        .user_with_key(&root, json!({"email": "ana@acme.test", "privilege_profile": "security_admin", "tenant_id": a}))
        .await;
    let (_, b_key) = s
        .user_with_key(&root, json!({"email": "bo@globex.test", "privilege_profile": "security_admin", "tenant_id": b}))
        .await;
    for key in [&a_key, &b_key] {
        let jwt = s.jwt(key).await;
        for _ in 0..4 {
            assert_eq!(
                s.status("GET", &format!("{API}/cases"), Some(&jwt)).await,
                200
            );
        }
    }
    // A report, finished, to expire with them.
    let a_jwt = s.jwt(&a_key).await;
    let (st, report) = s
        .call(
            "POST",
            &format!("{API}/reports"),
            Some(&a_jwt),
            Some(json!({"name": "Daily", "type": "summary"})),
        )
        .await;
    assert_eq!(st, 201, "{report}");
    s.settle().await;
    let (_, done) = s
        .call(
            "GET",
            &format!("{API}/reports?id={}", report["id"].as_str().unwrap()),
            Some(&a_jwt),
            None,
        )
        .await;
    let file = done["data"][0]["url"].as_str().unwrap().to_owned();
    // And a playbook run, triggered by a watchlist alert.
    let (st, playbook) = s
        .call(
            "POST",
            &format!("{API}/playbooks"),
            Some(&a_jwt),
            Some(json!({"name": "tag", "trigger": "alert.created",
                "actions": [{"type": "add_tags", "tags": ["seen"]}]})),
        )
        .await;
    assert_eq!(st, 201, "{playbook}");
    let runs_of = format!("{API}/playbooks/{}/runs", playbook["id"].as_str().unwrap());
    s.call(
        "POST",
        &format!("{API}/watchlists"),
        Some(&a_jwt),
        Some(json!({"name": "C2", "entries": ["203.0.113.9"], "severity": "high"})),
    )
    .await;
    ingest(
        &s,
        &a_jwt,
        &a,
        json!({"events": [{"dstip": "203.0.113.9"}]}),
    )
    .await;
    s.settle().await;
    let (_, runs) = s.call("GET", &runs_of, Some(&a_jwt), None).await;
    assert_eq!(runs["total"], 1, "{runs}");

    // Root holds globex (a tenant's administrator may not).
    let b_jwt = s.jwt(&b_key).await;
    let (st, r) = s
        .call(
            "PUT",
            &format!("{API}/retention/{b}"),
            Some(&b_jwt),
            Some(json!({"legal_hold": true})),
        )
        .await;
    assert!(st == 403 || st == 404, "{st} {r}");
    let (st, r) = s
        .call(
            "PUT",
            &format!("{API}/retention/{b}"),
            Some(&root),
            Some(json!({"legal_hold": true, "legal_hold_reason": "litigation 7"})),
        )
        .await;
    assert_eq!((st, &r["legal_hold"]), (200, &json!(true)), "{r}");

    // 400 days on: past the platform's 365 for activity and 90 for reports.
    s.clock.advance(chrono::Duration::days(400));
    let root = s.root_jwt().await;
    // Everything logged so far is from before the advance.
    s.flush_activity().await;
    let db = s.reopen_store().await.unwrap();
    let before = db
        .list_activity(
            &stella_core::TenantFilter::All,
            "",
            &Default::default(),
            10_000,
            0,
        )
        .await
        .unwrap()
        .0;
    let tenant_of = |r: &stella_store::ActivityRecord| r.tenant_id.clone().unwrap_or("*".into());
    let old: BTreeSet<i64> = before
        .iter()
        .filter(|r| r.ts < s.clock.now_ms() - 365 * DAY_MS)
        .map(|r| r.id)
        .collect();
    assert!(before.iter().any(|r| tenant_of(r) == a) && before.iter().any(|r| tenant_of(r) == b));
    let runs = run_retention(&s, &root).await;
    assert!(runs.len() > 1, "a bound of 3 takes several runs: {runs:?}");
    let archives: Vec<String> = runs
        .iter()
        .flat_map(|r| r["archives"].as_array().unwrap().clone())
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        runs.iter()
            .map(|r| r["removed"]["reports"].as_i64().unwrap())
            .sum::<i64>(),
        1
    );
    assert_eq!(
        runs.iter()
            .map(|r| r["removed"]["playbook_runs"].as_i64().unwrap())
            .sum::<i64>(),
        1
    );

    // Every purged record is in exactly one archive, byte for byte as it was logged.
    let after = db
        .list_activity(
            &stella_core::TenantFilter::All,
            "",
            &Default::default(),
            10_000,
            0,
        )
        .await
        .unwrap()
        .0;
    let left: BTreeSet<i64> = after.iter().map(|r| r.id).collect();
    let purged: Vec<&stella_store::ActivityRecord> =
        before.iter().filter(|r| !left.contains(&r.id)).collect();
    assert!(
        purged.iter().all(|r| old.contains(&r.id)),
        "only records past the period go"
    );
    assert!(
        purged.iter().any(|r| tenant_of(r) == a),
        "acme's old records are purged"
    );
    assert!(
        purged.iter().any(|r| tenant_of(r) == "*"),
        "the platform's too"
    );
    assert!(
        purged.iter().all(|r| tenant_of(r) != b),
        "held records stay"
    );
    let mut archived = Vec::new();
    for f in &archives {
        let path = s.data_dir().join("archive").join(f);
        let (statement, records) = s.stella().verify_archive(&path).unwrap();
        assert_eq!(statement.file, *f);
        assert!(std::path::Path::new(&format!("{}.sha256", path.display())).exists());
        archived.extend(records);
    }
    let archived_ids: Vec<i64> = archived.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    let mut want: Vec<i64> = purged.iter().map(|r| r.id).collect();
    let mut got = archived_ids.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want, "the archives hold every purged record, once");
    for r in &purged {
        let a = archived.iter().find(|x| x["id"] == r.id).unwrap();
        assert_eq!(a["path"], r.path);
        assert_eq!(a["ts"], r.ts);
        assert_eq!(a["trace_id"], r.trace_id);
    }
    assert!(
        old.iter().any(|id| left.contains(id)),
        "globex's held records remain"
    );

    // A changed byte fails verification.
    let first = s.data_dir().join("archive").join(&archives[0]);
    let mut bytes = std::fs::read(&first).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&first, bytes).unwrap();
    assert!(s.stella().verify_archive(&first).is_err());

    // The report and its file are gone, and the playbook's run history.
    let a_jwt = s.jwt(&a_key).await;
    assert_eq!(s.status("GET", &file, Some(&a_jwt)).await, 404);
    let (_, runs) = s.call("GET", &runs_of, Some(&a_jwt), None).await;
    assert_eq!(runs["total"], 0, "{runs}");

    // Lifting the hold lets the next run purge globex's old records.
    s.call(
        "PUT",
        &format!("{API}/retention/{b}"),
        Some(&root),
        Some(json!({"legal_hold": false})),
    )
    .await;
    run_retention(&s, &root).await;
    let after = db
        .list_activity(
            &stella_core::TenantFilter::All,
            "",
            &Default::default(),
            10_000,
            0,
        )
        .await
        .unwrap()
        .0;
    assert!(
        after.iter().all(|r| !old.contains(&r.id)),
        "every record of before the advance is purged once no hold keeps it"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_tenants_own_periods_stay_within_what_root_allows() {
    let s = TestServer::start_with(|c| c.retention_tenant_max_days = 30).await;
    let root = s.root_jwt().await;
    let a = s.create_tenant(&root, "acme").await;
    let b = s.create_tenant(&root, "globex").await;
    let (_, key) = s
        .user_with_key(
            &root,
            json!({"email": "ana@acme.test", "privilege_profile": "super_admin", "tenant_id": a}),
        )
        .await;
    let admin = s.jwt(&key).await;
    let (st, r) = s
        .call(
            "PUT",
            &format!("{API}/retention/{a}"),
            Some(&admin),
            Some(json!({"events_days": 31})),
        )
        .await;
    assert_problem(st, &r, 400);
    assert!(r.to_string().contains("events_days"), "{r}");
    let (st, r) = s
        .call(
            "PUT",
            &format!("{API}/retention/{a}"),
            Some(&admin),
            Some(json!({"events_days": 30, "activity_days": 7})),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["effective"]["reports_days"], 90, "{r}");
    // Another tenant is not there for it; nor is the platform's row.
    let (st, r) = s
        .call(
            "PUT",
            &format!("{API}/retention/{b}"),
            Some(&admin),
            Some(json!({"events_days": 3})),
        )
        .await;
    assert_problem(st, &r, 404);
    let (st, r) = s
        .call(
            "PUT",
            &format!("{API}/retention/*"),
            Some(&admin),
            Some(json!({"events_days": 3})),
        )
        .await;
    assert_problem(st, &r, 404);
    let (st, view) = s
        .call("GET", &format!("{API}/retention"), Some(&admin), None)
        .await;
    assert_eq!(st, 200, "{view}");
    let ids: Vec<&str> = view["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.as_str()]);
    // Root may go past the tenants' limit; bad bodies say what to fix.
    let (st, _) = s
        .call(
            "PUT",
            &format!("{API}/retention/{a}"),
            Some(&root),
            Some(json!({"events_days": 400})),
        )
        .await;
    assert_eq!(st, 200);
    let (st, r) = s
        .call(
            "PUT",
            &format!("{API}/retention/{a}"),
            Some(&root),
            Some(json!({"events_days": "ninety", "colour": 1})),
        )
        .await;
    assert_problem(st, &r, 400);
    assert!(
        r.to_string().contains("$.colour") && r.to_string().contains("$.events_days"),
        "{r}"
    );
    // Runs are an operator's business.
    assert_eq!(
        s.status("POST", "/cluster/retention/run", Some(&admin))
            .await,
        403
    );
    assert_eq!(
        s.status("GET", "/cluster/retention", Some(&admin)).await,
        403
    );
    // A credential narrower than its user reads, and changes nothing: not the tenant's
    // periods, not a legal hold, not a run, even for root.
    let reader = crate::security_authz::narrowed_jwt(&s, &root, &["tenants:read"]).await;
    assert_eq!(
        s.status("GET", &format!("{API}/retention"), Some(&reader))
            .await,
        200
    );
    assert_eq!(
        s.status("GET", "/cluster/retention", Some(&reader)).await,
        200
    );
    let (st, r) = s
        .call(
            "PUT",
            &format!("{API}/retention/{a}"),
            Some(&reader),
            Some(json!({"legal_hold": true})),
        )
        .await;
    assert_problem(st, &r, 403);
    assert_eq!(
        s.status("POST", "/cluster/retention/run", Some(&reader))
            .await,
        403
    );
    s.stop().await;
}
