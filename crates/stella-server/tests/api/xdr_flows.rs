//! The XDR behaviours beyond CRUD: ingest and search, watchlist alerts, playbooks with
//! webhooks, closing cases with their alerts, observables, reports, saved queries, events'
//! tags and comments, and the restricted storage and ingestion endpoints.

use crate::{assert_problem, one_tenant, tenant_user, two_tenants};
use serde_json::{json, Value};
use stella_core::Clock;
use stella_testkit::TestServer;

const API: &str = "/connect/api/v1";

fn events(n: usize, t0_ms: i64) -> Value {
    let docs: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "timestamp": t0_ms + (i as i64) * 60_000,
                "event_type": if i % 2 == 0 { "dns" } else { "http" },
                "srcip": format!("10.0.0.{}", i % 5),
                "message": format!("request number {i} from workstation"),
                "bytes": i * 100,
            })
        })
        .collect();
    json!({ "events": docs })
}

async fn search(s: &TestServer, jwt: &str, body: Value) -> (u16, Value) {
    s.call(
        "POST",
        &format!("{API}/data/aella-ser/_search"),
        Some(jwt),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn ingested_events_are_searchable_per_tenant_in_the_es_shape() {
    let (s, root, [(a, a_admin), (_, b_admin)]) = two_tenants().await;
    let t0 = s.clock.now_ms() - 3_600_000;
    let (st, r) = s
        .call(
            "POST",
            &format!("{API}/events"),
            Some(&a_admin),
            Some(events(10, t0)),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (r["ingested"].as_i64(), r["failed"].as_i64()),
        (Some(10), Some(0)),
        "{r}"
    );
    // One bad document among good ones: reported by position, the others kept.
    let (st, r) = s
        .call(
            "POST",
            &format!("{API}/events"),
            Some(&b_admin),
            Some(
                json!({"events": [{"event_type": "dns"}, "not an object", {"event_type": "ssh"}]}),
            ),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (r["ingested"].as_i64(), r["failed"].as_i64()),
        (Some(2), Some(1)),
        "{r}"
    );
    assert!(r["errors"][0].as_str().unwrap().contains("[1]"), "{r}");
    s.refresh_events(&a_admin).await;

    let (st, res) = search(
        &s,
        &a_admin,
        json!({"query": {"term": {"event_type": "dns"}}, "size": 3,
        "sort": [{"timestamp": "asc"}], "aggs": {"by_type": {"terms": {"field": "event_type"}}}}),
    )
    .await;
    assert_eq!(st, 200, "{res}");
    assert_eq!(res["hits"]["total"]["value"], 5, "{res}");
    assert_eq!(res["hits"]["hits"].as_array().unwrap().len(), 3);
    assert_eq!(
        res["hits"]["hits"][0]["_source"]["message"],
        "request number 0 from workstation"
    );
    assert_eq!(res["aggregations"]["by_type"]["buckets"][0]["key"], "dns");
    // The other tenant sees only its own events; root sees both, or one tenant when narrowed.
    let (_, other) = search(&s, &b_admin, json!({"query": {"match_all": {}}})).await;
    assert_eq!(other["hits"]["total"]["value"], 2, "{other}");
    let (_, all) = search(&s, &root, json!({"query": {"match_all": {}}})).await;
    assert_eq!(all["hits"]["total"]["value"], 12, "{all}");
    let (_, narrowed) = s
        .call(
            "POST",
            &format!("{API}/data/aella-ser/_search?tenantid={a}"),
            Some(&root),
            Some(json!({"query": {"match_all": {}}})),
        )
        .await;
    assert_eq!(narrowed["hits"]["total"]["value"], 10);
    let (_, boolean) = search(
        &s,
        &a_admin,
        json!({"query": {"bool": {
        "must": [{"match": {"message": "workstation"}}],
        "filter": [{"range": {"bytes": {"gte": 200}}}],
        "must_not": [{"term": {"srcip": "10.0.0.3"}}]}}}),
    )
    .await;
    assert_eq!(boolean["hits"]["total"]["value"], 6, "{boolean}");
    let (_, hist) = search(
        &s,
        &a_admin,
        json!({"size": 0, "query": {"range": {"timestamp": {"gte": t0}}},
        "aggs": {"per_hour": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h"}}}}),
    )
    .await;
    let buckets = hist["aggregations"]["per_hour"]["buckets"]
        .as_array()
        .unwrap();
    assert_eq!(
        buckets
            .iter()
            .map(|b| b["doc_count"].as_i64().unwrap())
            .sum::<i64>(),
        10,
        "{hist}"
    );

    // Unsupported parts are named; unknown indexes answer 404.
    let (st, p) = search(
        &s,
        &a_admin,
        json!({"query": {"wildcard": {"srcip": "10.*"}}}),
    )
    .await;
    assert_problem(st, &p, 400);
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("wildcard")
            || p.to_string().contains("wildcard"),
        "{p}"
    );
    let (st, p) = s
        .call(
            "POST",
            &format!("{API}/data/nope/_search"),
            Some(&a_admin),
            Some(json!({})),
        )
        .await;
    assert_problem(st, &p, 404);
    s.stop().await;
}

#[tokio::test]
async fn ingest_is_bounded_and_refuses_bad_bodies_without_writing() {
    let s = TestServer::start_with(|c| c.max_bulk_events = 5).await;
    let root = s.root_jwt().await;
    let (_, _, admin) = tenant_user(&s, &root, "acme", "admin@acme.test", "security_admin").await;
    let (st, p) = s
        .call(
            "POST",
            &format!("{API}/events"),
            Some(&admin),
            Some(events(6, 0)),
        )
        .await;
    assert_problem(st, &p, 400);
    for bad in [json!({"events": "x"}), json!(5)] {
        let (st, p) = s
            .call("POST", &format!("{API}/events"), Some(&admin), Some(bad))
            .await;
        assert_problem(st, &p, 400);
    }
    let (st, p) = s
        .call(
            "POST",
            &format!("{API}/events"),
            Some(&root),
            Some(events(1, 0)),
        )
        .await;
    assert_problem(st, &p, 400);
    assert_eq!(p["errors"][0]["path"], "$.tenant_id");
    let (_, _, reader) = tenant_user(&s, &root, "globex", "ro@globex.test", "read_only").await;
    let (st, p) = s
        .call(
            "POST",
            &format!("{API}/events"),
            Some(&reader),
            Some(events(1, 0)),
        )
        .await;
    assert_problem(st, &p, 403);
    s.refresh_events(&admin).await;
    let (_, res) = search(&s, &root, json!({})).await;
    assert_eq!(res["hits"]["total"]["value"], 0, "{res}");
    s.stop().await;
}

#[tokio::test]
async fn acknowledged_events_survive_a_restart() {
    let (s, _, (_, admin)) = one_tenant().await;
    let (st, _) = s
        .call(
            "POST",
            &format!("{API}/events"),
            Some(&admin),
            Some(events(7, 0)),
        )
        .await;
    assert_eq!(st, 200);
    let dir = s.data_dir.path().join("events");
    let found = s
        .stop_then(|_| async move {
            let index = stella_search::EventIndex::open(&dir, Default::default()).unwrap();
            index.refresh().unwrap();
            let r = index
                .search(&stella_core::TenantFilter::All, &json!({}), 0)
                .unwrap();
            index.close().unwrap();
            r["hits"]["total"]["value"].as_i64()
        })
        .await;
    assert_eq!(found, Some(7));
}

#[tokio::test]
async fn filters_drop_events_and_watchlists_raise_one_alert_per_entry_and_event() {
    let (s, _, (_, admin)) = one_tenant().await;
    let (st, f) = s
        .call(
            "POST",
            &format!("{API}/security_event_filters"),
            Some(&admin),
            Some(json!({"name": "no heartbeats", "conditions": {"event_type": "heartbeat"}})),
        )
        .await;
    assert_eq!(st, 201, "{f}");
    let (st, w) = s.call("POST", &format!("{API}/watchlists"), Some(&admin),
        Some(json!({"name": "C2", "entries": ["203.0.113.9", "EVIL.example"], "severity": "critical"}))).await;
    assert_eq!(st, 201, "{w}");
    let body = json!({"events": [
        {"event_type": "heartbeat", "dstip": "203.0.113.9"},
        {"event_type": "dns", "query": "evil.example", "dstip": "203.0.113.9"},
        {"event_type": "http", "host": "fine.example"},
    ]});
    let (st, r) = s
        .call(
            "POST",
            &format!("{API}/events"),
            Some(&admin),
            Some(body.clone()),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (
            r["ingested"].as_i64(),
            r["dropped"].as_i64(),
            r["alerts"].as_i64()
        ),
        (Some(2), Some(1), Some(2)),
        "{r}"
    );
    let (_, alerts) = s
        .call(
            "GET",
            &format!("{API}/alerts?sort=created_at"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(alerts["total"], 2, "{alerts}");
    assert_eq!(alerts["data"][0]["severity"], "critical");
    assert_eq!(alerts["data"][0]["event"]["_source"]["event_type"], "dns");
    let (_, filter) = s
        .call(
            "GET",
            &format!("{API}/security_event_filters/{}", f["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(filter["hits"], 1);
    let (_, types) = s
        .call("GET", &format!("{API}/alert_types"), Some(&admin), None)
        .await;
    assert_eq!(types["data"][0]["name"], "watchlist_match");
    s.stop().await;
}

#[tokio::test]
async fn playbooks_run_on_matching_alerts_and_record_failures() {
    // The receiver is on loopback, which webhooks may call only when the operator allows it.
    let (s, _, (_, admin)) =
        crate::one_tenant_with(|c| c.webhook_allow = vec!["127.0.0.1".into()]).await;
    let (url, got) = crate::receiver().await;
    let (st, good) = s.call("POST", &format!("{API}/playbooks"), Some(&admin), Some(json!({
        "name": "notify", "trigger": "alert.created severity=critical",
        "actions": [{"type": "webhook", "url": format!("{url}/hook")}, {"type": "add_tags", "tags": ["notified"]}]}))).await;
    assert_eq!(st, 201, "{good}");
    assert_eq!(good["enabled"], true);
    let (st, bad) = s.call("POST", &format!("{API}/playbooks"), Some(&admin), Some(json!({
        "name": "broken", "trigger": "alert.created", "actions": [{"type": "webhook", "url": format!("{url}/broken")}, {"type": "email"}]}))).await;
    assert_eq!(st, 201, "{bad}");
    let (st, _) = s.call("POST", &format!("{API}/playbooks"), Some(&admin), Some(json!({
        "name": "low only", "trigger": "alert.created severity=low", "actions": [{"type": "webhook", "url": format!("{url}/hook")}]}))).await;
    assert_eq!(st, 201);

    s.call(
        "POST",
        &format!("{API}/watchlists"),
        Some(&admin),
        Some(json!({"name": "C2", "entries": ["203.0.113.9"], "severity": "critical"})),
    )
    .await;
    let (st, _) = s
        .call(
            "POST",
            &format!("{API}/events"),
            Some(&admin),
            Some(json!({"events": [{"dstip": "203.0.113.9"}]})),
        )
        .await;
    assert_eq!(st, 200);
    s.settle().await;

    let hooks = got.0.lock().unwrap().clone();
    assert_eq!(
        hooks.len(),
        1,
        "only the critical-severity playbook posts: {hooks:?}"
    );
    assert_eq!(hooks[0]["alert"]["severity"], "critical");
    let (_, runs) = s
        .call(
            "GET",
            &format!("{API}/playbooks/{}/runs", good["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(runs["data"][0]["status"], "succeeded", "{runs}");
    let (_, failed) = s
        .call(
            "GET",
            &format!("{API}/playbooks/{}/runs", bad["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(failed["data"][0]["status"], "failed", "{failed}");
    let error = failed["data"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("500") && error.contains("unknown action type 'email'"),
        "{failed}"
    );
    let (_, alerts) = s
        .call("GET", &format!("{API}/alerts"), Some(&admin), None)
        .await;
    assert_eq!(alerts["data"][0]["tags"], json!(["notified"]));
    s.stop().await;
}

#[tokio::test]
async fn closing_a_case_with_update_alerts_closes_its_alerts_together() {
    let (s, _, [(_, admin), (_, other)]) = two_tenants().await;
    s.call(
        "POST",
        &format!("{API}/watchlists"),
        Some(&admin),
        Some(json!({"name": "w", "entries": ["bad.example", "worse.example"]})),
    )
    .await;
    s.call(
        "POST",
        &format!("{API}/events"),
        Some(&admin),
        Some(json!({"events": [{"q": "bad.example"}, {"q": "worse.example"}]})),
    )
    .await;
    let (_, alerts) = s
        .call("GET", &format!("{API}/alerts"), Some(&admin), None)
        .await;
    let ids: Vec<Value> = alerts["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(ids.len(), 2, "{alerts}");
    let (_, case) = s
        .call(
            "POST",
            &format!("{API}/cases"),
            Some(&admin),
            Some(json!({"name": "C"})),
        )
        .await;
    let case_id = case["id"].as_str().unwrap();
    let link = format!("{API}/cases/{case_id}/alerts");
    let (st, p) = s
        .call(
            "POST",
            &link,
            Some(&admin),
            Some(json!({"alert_ids": [ids[0], "ffffffffffffffffffffffffffffffff"]})),
        )
        .await;
    assert_problem(st, &p, 400);
    let (st, linked) = s
        .call("POST", &link, Some(&admin), Some(json!({"alert_ids": ids})))
        .await;
    assert_eq!(
        (st, linked["alert_count"].as_i64()),
        (200, Some(2)),
        "{linked}"
    );
    assert_eq!(s.status("POST", &link, Some(&other)).await, 400);
    let (st, p) = s
        .call("POST", &link, Some(&other), Some(json!({"alert_ids": ids})))
        .await;
    assert_problem(st, &p, 404);

    // Observables live under their case.
    let obs = format!("{API}/cases/{case_id}/observables");
    let (st, o) = s
        .call(
            "POST",
            &obs,
            Some(&admin),
            Some(json!({"type": "domain", "value": "bad.example"})),
        )
        .await;
    assert_eq!((st, &o["case_id"]), (201, &json!(case_id)), "{o}");
    let (st, p) = s
        .call(
            "POST",
            &obs,
            Some(&admin),
            Some(json!({"type": "colour", "value": "x"})),
        )
        .await;
    assert_problem(st, &p, 400);
    let (_, list) = s.call("GET", &obs, Some(&admin), None).await;
    assert_eq!(list["total"], 1);
    assert_eq!(s.status("GET", &obs, Some(&other)).await, 404);

    // An alert comment appends to its history.
    let alert = format!("{API}/alerts/{}", ids[0].as_str().unwrap());
    let (st, a) = s
        .call(
            "PUT",
            &alert,
            Some(&admin),
            Some(json!({"comment": "looking", "tags": ["triage"]})),
        )
        .await;
    assert_eq!(st, 200, "{a}");
    assert_eq!(
        (a["comments"][0]["comment"].clone(), a["tags"].clone()),
        (json!("looking"), json!(["triage"]))
    );
    let (st, p) = s
        .call(
            "PUT",
            &alert,
            Some(&admin),
            Some(json!({"severity": "low"})),
        )
        .await;
    assert_problem(st, &p, 400);

    assert_eq!(
        s.status(
            "DELETE",
            &format!("{API}/cases/{case_id}?update_alerts=maybe"),
            Some(&admin)
        )
        .await,
        400
    );
    assert_eq!(
        s.status(
            "DELETE",
            &format!("{API}/cases/{case_id}?update_alerts=true"),
            Some(&admin)
        )
        .await,
        204
    );
    let (_, closed) = s
        .call("GET", &format!("{API}/cases/{case_id}"), Some(&admin), None)
        .await;
    assert_eq!(closed["status"], "closed");
    let (_, alerts) = s
        .call(
            "GET",
            &format!("{API}/alerts?status=closed"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(alerts["total"], 2, "{alerts}");
    s.stop().await;
}

#[tokio::test]
async fn reports_complete_in_the_background_and_download_as_json_and_csv() {
    let (s, root, (_, admin)) = one_tenant().await;
    s.call(
        "POST",
        &format!("{API}/cases"),
        Some(&admin),
        Some(json!({"name": "Case, with \"quotes\""})),
    )
    .await;
    // The contract takes any parameters object: an unreadable window fails the report, named.
    let (st, bad) = s
        .call(
            "POST",
            &format!("{API}/reports"),
            Some(&admin),
            Some(json!({"name": "r", "type": "summary", "parameters": {"from": "yesterday"}})),
        )
        .await;
    assert_eq!(st, 201, "{bad}");
    let (st, r) = s
        .call(
            "POST",
            &format!("{API}/reports"),
            Some(&admin),
            Some(json!({"name": "Daily", "type": "summary"})),
        )
        .await;
    assert_eq!((st, &r["status"]), (201, &json!("pending")), "{r}");
    s.settle().await;
    let id = r["id"].as_str().unwrap();
    let (_, failed) = s
        .call(
            "GET",
            &format!("{API}/reports?id={}", bad["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(failed["data"][0]["status"], "failed", "{failed}");
    assert!(
        failed["data"][0]["error"]
            .as_str()
            .unwrap()
            .contains("parameters.from"),
        "{failed}"
    );
    let (_, done) = s
        .call("GET", &format!("{API}/reports?id={id}"), Some(&admin), None)
        .await;
    let done = &done["data"][0];
    assert_eq!(done["status"], "completed", "{done}");
    let url = done["url"].as_str().unwrap();
    let (st, body) = s.call("GET", url, Some(&admin), None).await;
    assert_eq!(st, 200);
    assert_eq!(body["cases"].as_array().unwrap().len(), 1);
    let csv = s
        .client
        .get(s.url(&format!("{url}?format=csv")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("kind,id,name,status,severity,created_at\n"),
        "{text}"
    );
    assert!(text.contains("\"Case, with \"\"quotes\"\"\""), "{text}");
    let (_, _, other) =
        tenant_user(&s, &root, "globex", "admin@globex.test", "security_admin").await;
    assert_eq!(s.status("GET", url, Some(&other)).await, 404);
    s.stop().await;
}

#[tokio::test]
async fn saved_queries_run_and_events_take_tags_status_and_comments() {
    let (s, _, [(_, admin), (_, other)]) = two_tenants().await;
    s.call(
        "POST",
        &format!("{API}/events"),
        Some(&admin),
        Some(events(6, 0)),
    )
    .await;
    s.refresh_events(&admin).await;
    let (_, q) = s
        .call(
            "POST",
            &format!("{API}/queries"),
            Some(&admin),
            Some(json!({"name": "http", "query": "event_type:http"})),
        )
        .await;
    let (st, hits) = s
        .call(
            "POST",
            &format!("{API}/queries/{}/run", q["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(st, 200, "{hits}");
    assert_eq!(hits["hits"]["total"]["value"], 3, "{hits}");
    let (_, dsl) = s.call("POST", &format!("{API}/queries"), Some(&admin),
        Some(json!({"name": "dsl", "query": json!({"query": {"term": {"srcip": "10.0.0.1"}}}).to_string()}))).await;
    let (_, hits) = s
        .call(
            "POST",
            &format!("{API}/queries/{}/run", dsl["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(hits["hits"]["total"]["value"], 1, "{hits}");
    assert_eq!(
        s.status(
            "POST",
            &format!("{API}/queries/{}/run", q["id"].as_str().unwrap()),
            Some(&other)
        )
        .await,
        404
    );

    let event_id = hits["hits"]["hits"][0]["_id"].as_str().unwrap().to_owned();
    let path = format!("{API}/events/{event_id}");
    let (st, e) = s
        .call(
            "PUT",
            &path,
            Some(&admin),
            Some(json!({"tags": ["fp"], "status": "reviewed", "comment": "benign"})),
        )
        .await;
    assert_eq!(st, 200, "{e}");
    let (st, p) = s
        .call(
            "PUT",
            &path,
            Some(&admin),
            Some(json!({"srcip": "1.2.3.4"})),
        )
        .await;
    assert_problem(st, &p, 400);
    assert_eq!(s.status("PUT", &path, Some(&other)).await, 400);
    let (st, p) = s
        .call("PUT", &path, Some(&other), Some(json!({"status": "x"})))
        .await;
    assert_problem(st, &p, 404);
    s.refresh_events(&admin).await;
    let (_, found) = search(
        &s,
        &admin,
        json!({"query": {"term": {"status": "reviewed"}}}),
    )
    .await;
    assert_eq!(found["hits"]["total"]["value"], 1, "{found}");
    assert_eq!(
        found["hits"]["hits"][0]["_source"]["comments"][0]["comment"],
        "benign"
    );
    assert_eq!(found["hits"]["hits"][0]["_source"]["srcip"], "10.0.0.1");
    s.stop().await;
}

#[tokio::test]
async fn storage_and_ingestion_statistics_are_for_root_super_admins() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (t, _, admin) = tenant_user(&s, &root, "acme", "admin@acme.test", "platform_admin").await;
    s.call(
        "POST",
        &format!("{API}/events"),
        Some(&admin),
        Some(json!({"events": [{"a": 1}, 7]})),
    )
    .await;
    s.refresh_events(&admin).await;
    for path in ["storage_usage", "ingestion_stats"] {
        let (st, p) = s
            .call("GET", &format!("{API}/{path}"), Some(&admin), None)
            .await;
        assert_problem(st, &p, 403);
    }
    let (st, stats) = s
        .call("GET", &format!("{API}/ingestion_stats"), Some(&root), None)
        .await;
    assert_eq!(st, 200, "{stats}");
    assert_eq!(
        (
            stats["data"][0]["tenant_id"].clone(),
            stats["data"][0]["ingested"].clone(),
            stats["data"][0]["failed"].clone()
        ),
        (json!(t), json!(1), json!(1))
    );
    let (st, usage) = s
        .call("GET", &format!("{API}/storage_usage"), Some(&root), None)
        .await;
    assert_eq!(st, 200, "{usage}");
    assert_eq!(usage["data"][0]["documents"], 1, "{usage}");
    s.stop().await;
}
