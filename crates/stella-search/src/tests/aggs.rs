//! Aggregations, merged across tenant indexes.

use serde_json::{json, Value};

use super::*;

/// Tenant a: 3 login_failure + 1 malware; tenant b: 2 login_failure + 4 dns. Times are spread
/// over hours of 2024-05-01.
fn two_tenants() -> Fixture {
    let f = fixture();
    let t0 = NOW - 12 * HOUR; // 2024-05-01T00:00:00Z
    let a: Vec<Value> = vec![
        json!({"timestamp": t0 + 10 * 60_000, "event_type": "login_failure", "severity": 5, "host": "h1"}),
        json!({"timestamp": t0 + 20 * 60_000, "event_type": "login_failure", "severity": 7, "host": "h2"}),
        json!({"timestamp": t0 + HOUR + 5, "event_type": "login_failure", "severity": 3, "host": "h1"}),
        json!({"timestamp": t0 + 3 * HOUR, "event_type": "malware", "severity": 10, "host": "h3"}),
    ];
    let b: Vec<Value> = vec![
        json!({"timestamp": t0 + 30 * 60_000, "event_type": "login_failure", "severity": 1, "host": "h1"}),
        json!({"timestamp": t0 + HOUR, "event_type": "login_failure", "severity": 2, "host": "h9"}),
        json!({"timestamp": t0 + HOUR + 1, "event_type": "dns", "severity": 2, "host": "h9"}),
        json!({"timestamp": t0 + 3 * HOUR + 1, "event_type": "dns", "severity": 4, "host": "h9"}),
        json!({"timestamp": t0 + 3 * HOUR + 2, "event_type": "dns", "severity": 4, "host": "h9"}),
        json!({"timestamp": t0 + 3 * HOUR + 3, "event_type": "dns", "severity": 4, "host": "h9"}),
    ];
    assert_eq!(f.index.ingest("a", a, NOW).unwrap().ingested, 4);
    assert_eq!(f.index.ingest("b", b, NOW).unwrap().ingested, 6);
    f.index.refresh().unwrap();
    f
}

fn buckets(resp: &Value, name: &str) -> Vec<(Value, u64)> {
    resp["aggregations"][name]["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("no buckets for {name} in {resp}"))
        .iter()
        .map(|b| (b["key"].clone(), b["doc_count"].as_u64().unwrap()))
        .collect()
}

#[test]
fn terms_counts_merge_across_tenants() {
    let f = two_tenants();
    let body = json!({"size": 0, "aggs": {"types": {"terms": {"field": "event_type"}}}});
    let resp = search(&f.index, &TenantFilter::All, body.clone());
    assert_eq!(total(&resp), 10);
    assert!(hits(&resp).is_empty());
    assert_eq!(
        buckets(&resp, "types"),
        [
            (json!("login_failure"), 5),
            (json!("dns"), 4),
            (json!("malware"), 1)
        ]
    );
    let resp = search(&f.index, &only(&["a"]), body);
    assert_eq!(
        buckets(&resp, "types"),
        [(json!("login_failure"), 3), (json!("malware"), 1)]
    );
    // size limits buckets; a query limits the documents counted.
    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"query": {"range": {"severity": {"gte": 4}}}, "size": 0,
               "aggregations": {"types": {"terms": {"field": "event_type.keyword", "size": 1}}}}),
    );
    assert_eq!(buckets(&resp, "types"), [(json!("dns"), 3)]);
}

#[test]
fn date_histogram_buckets_by_hour_and_day() {
    let f = two_tenants();
    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"size": 0, "query": {"range": {"timestamp": {"gte": "now-24h"}}},
               "aggs": {"per_hour": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"}}}}),
    );
    let t0 = NOW - 12 * HOUR;
    assert_eq!(
        buckets(&resp, "per_hour"),
        [
            (json!(t0 as f64), 3),
            (json!((t0 + HOUR) as f64), 3),
            (json!((t0 + 2 * HOUR) as f64), 0),
            (json!((t0 + 3 * HOUR) as f64), 4),
        ]
    );
    assert_eq!(
        resp["aggregations"]["per_hour"]["buckets"][0]["key_as_string"],
        "2024-05-01T00:00:00Z"
    );
    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"size": 0, "aggs": {"per_day": {"date_histogram": {"field": "timestamp", "calendar_interval": "day", "min_doc_count": 1}}}}),
    );
    assert_eq!(buckets(&resp, "per_day"), [(json!(t0 as f64), 10)]);
}

#[test]
fn sub_aggregations_and_metrics_merge_too() {
    let f = two_tenants();
    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"size": 0, "aggs": {
            "types": {"terms": {"field": "event_type"},
                      "aggs": {"max_sev": {"max": {"field": "severity"}},
                               "hosts": {"terms": {"field": "host"}}}},
            "avg_sev": {"avg": {"field": "severity"}},
            "hosts": {"cardinality": {"field": "host"}},
            "sev_stats": {"stats": {"field": "severity"}},
            "count": {"value_count": {"field": "severity"}}
        }}),
    );
    let aggs = &resp["aggregations"];
    assert_eq!(aggs["avg_sev"]["value"], json!(4.2));
    assert_eq!(aggs["count"]["value"], json!(10.0));
    assert_eq!(aggs["sev_stats"]["max"], json!(10.0));
    assert_eq!(aggs["sev_stats"]["min"], json!(1.0));
    assert_eq!(aggs["hosts"]["value"].as_f64().map(f64::round), Some(4.0));
    let types = aggs["types"]["buckets"].as_array().unwrap();
    let login = types.iter().find(|b| b["key"] == "login_failure").unwrap();
    assert_eq!(login["max_sev"]["value"], json!(7.0));
    let login_hosts: Vec<(Value, u64)> = login["hosts"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["key"].clone(), b["doc_count"].as_u64().unwrap()))
        .collect();
    assert_eq!(login_hosts[0], (json!("h1"), 3));
    assert_eq!(login_hosts.iter().map(|(_, c)| c).sum::<u64>(), 5);
}

#[test]
fn no_aggregations_key_unless_asked() {
    let f = two_tenants();
    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"query": {"match_all": {}}}),
    );
    assert!(resp.get("aggregations").is_none());
}

#[test]
fn aggregations_past_their_limits_are_request_errors_naming_the_limit() {
    let f = two_tenants();
    for (body, says) in [
        // A 1 ms histogram over three hours (no bounds) needs ~10M buckets of memory.
        (
            json!({"size": 0, "aggs": {"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1ms"}}}}),
            "memory limit",
        ),
        (
            json!({"size": 0, "aggs": {"h": {"histogram": {"field": "severity", "interval": 0.0001}}}}),
            "65000 buckets",
        ),
        (
            json!({"size": 0, "aggs": {"h": {"histogram": {"field": "severity", "interval": 0.0001, "min_doc_count": 0}}}}),
            "65000 buckets",
        ),
    ] {
        match f.index.search(&TenantFilter::All, &body, NOW) {
            Err(crate::SearchError::Invalid(m)) => assert!(m.contains(says), "{body}: {m}"),
            other => panic!("{body}: expected a request error, got {other:?}"),
        }
    }
}

#[test]
fn a_cancelled_search_stops_and_says_why() {
    let f = two_tenants();
    f.index.cancel_searches();
    match f.index.search(&TenantFilter::All, &json!({"size": 1}), NOW) {
        Err(crate::SearchError::Closed(m)) => assert!(m.contains("shutting down"), "{m}"),
        other => panic!("expected Closed, got {other:?}"),
    }
}

/// Host ID's shape of question: first and last seen overall and per value, in milliseconds.
#[test]
fn timestamp_metrics_answer_epoch_millis_with_dates_as_strings() {
    let f = two_tenants();
    let t0 = NOW - 12 * HOUR;
    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"size": 0, "aggs": {
            "first": {"min": {"field": "timestamp"}},
            "last": {"max": {"field": "@timestamp"}},
            "span": {"stats": {"field": "timestamp"}},
            "n": {"value_count": {"field": "timestamp"}},
            "hosts": {"terms": {"field": "host", "order": {"last": "desc"}},
                      "aggs": {"first": {"min": {"field": "timestamp"}},
                               "last": {"max": {"field": "timestamp"}}}}
        }}),
    );
    let aggs = &resp["aggregations"];
    assert_eq!(aggs["first"]["value"], json!((t0 + 10 * 60_000) as f64));
    assert_eq!(aggs["first"]["value_as_string"], "2024-05-01T00:10:00.000Z");
    assert_eq!(aggs["last"]["value"], json!((t0 + 3 * HOUR + 3) as f64));
    assert_eq!(aggs["last"]["value_as_string"], "2024-05-01T03:00:00.003Z");
    assert_eq!(aggs["span"]["min"], aggs["first"]["value"]);
    assert_eq!(aggs["span"]["max_as_string"], "2024-05-01T03:00:00.003Z");
    assert!(aggs["span"].get("sum_as_string").is_none(), "{aggs}");
    // A count of timestamps stays a count.
    assert_eq!(aggs["n"]["value"], json!(10.0));
    // Per bucket, across both tenants' partitions, newest first.
    let hosts: Vec<(&str, &str, &str)> = aggs["hosts"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap(),
                b["first"]["value_as_string"].as_str().unwrap(),
                b["last"]["value_as_string"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hosts,
        [
            ("h9", "2024-05-01T01:00:00.000Z", "2024-05-01T03:00:00.003Z"),
            ("h3", "2024-05-01T03:00:00.000Z", "2024-05-01T03:00:00.000Z"),
            ("h1", "2024-05-01T00:10:00.000Z", "2024-05-01T01:00:00.005Z"),
            ("h2", "2024-05-01T00:20:00.000Z", "2024-05-01T00:20:00.000Z"),
        ]
    );
    // Nothing matched: no instant, no string.
    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"size": 0, "query": {"term": {"host": "nobody"}},
               "aggs": {"first": {"min": {"field": "timestamp"}}}}),
    );
    assert_eq!(resp["aggregations"]["first"]["value"], Value::Null);
    // Metrics that would come out in tantivy's own unit are refused, not answered wrongly.
    for agg in [
        json!({"extended_stats": {"field": "timestamp"}}),
        json!({"percentiles": {"field": "timestamp"}}),
        json!({"min": {"field": "timestamp", "missing": 0}}),
    ] {
        let body = json!({"size": 0, "aggs": {"x": agg}});
        assert!(
            matches!(
                f.index.search(&TenantFilter::All, &body, NOW),
                Err(crate::SearchError::Unsupported(_))
            ),
            "{body}"
        );
    }
}

/// Suricata's EVE nests what host ID reads: objects (`http.hostname`) and arrays of objects
/// (`dns.answers[].rdata`), which are exact-matched and aggregated by their dotted paths.
#[test]
fn nested_paths_and_arrays_of_objects_match_and_aggregate() {
    let f = fixture();
    let t = NOW - HOUR;
    let events = vec![
        json!({"timestamp": t, "event_type": "dns", "src_ip": "10.0.0.5", "dest_ip": "10.0.0.53",
               "dns": {"type": "answer", "rrname": "www.example.com", "answers": [
                   {"rrname": "www.example.com", "rrtype": "CNAME", "rdata": "cdn.example.net"},
                   {"rrname": "cdn.example.net", "rrtype": "A", "rdata": "192.0.2.7"},
                   {"rrname": "cdn.example.net", "rrtype": "A", "rdata": "192.0.2.8"}]}}),
        json!({"timestamp": t + 1, "event_type": "dns", "src_ip": "10.0.0.5", "dest_ip": "10.0.0.53",
               "dns": {"type": "answer", "rrname": "other.example.com", "answers": [
                   {"rrname": "other.example.com", "rrtype": "A", "rdata": "192.0.2.9"}]}}),
        json!({"timestamp": t + 2, "event_type": "http", "src_ip": "10.0.0.5", "dest_ip": "192.0.2.7",
               "dest_port": 80, "http": {"hostname": "www.example.com", "http_user_agent": "curl/8.5.0"}}),
    ];
    assert_eq!(f.index.ingest("a", events, NOW).unwrap().ingested, 3);
    f.index.refresh().unwrap();
    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"size": 0, "query": {"terms": {"dns.answers.rdata": ["192.0.2.7"]}},
               "aggs": {"names": {"terms": {"field": "dns.answers.rrname"}}}}),
    );
    assert_eq!(total(&resp), 1);
    let names: Vec<Value> = buckets(&resp, "names")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(names, [json!("cdn.example.net"), json!("www.example.com")]);
    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"size": 0, "query": {"term": {"dest_ip": "192.0.2.7"}},
               "aggs": {"hosts": {"terms": {"field": "http.hostname"}},
                        "ports": {"terms": {"field": "dest_port"}}}}),
    );
    assert_eq!(buckets(&resp, "hosts"), [(json!("www.example.com"), 1)]);
    assert_eq!(buckets(&resp, "ports"), [(json!(80), 1)]);
}

#[test]
fn msearch_answers_each_request_in_order_within_one_budget() {
    let f = two_tenants();
    let bodies = [
        json!({"size": 0, "query": {"term": {"event_type": "dns"}}}),
        json!({"size": 0, "aggs": {"last": {"max": {"field": "timestamp"}}}}),
    ];
    let out = f.index.msearch(&only(&["a"]), &bodies, NOW).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(total(&out[0]), 0, "tenant b's dns events are not a's");
    assert_eq!(
        out[1]["aggregations"]["last"]["value_as_string"],
        "2024-05-01T03:00:00.000Z"
    );
    let out = f.index.msearch(&TenantFilter::All, &bodies, NOW).unwrap();
    assert_eq!(total(&out[0]), 4);
    // A bad request is named by its position, and nothing runs.
    let bad = [
        bodies[0].clone(),
        json!({"query": {"wildcard": {"x": "y*"}}}),
    ];
    match f.index.msearch(&TenantFilter::All, &bad, NOW) {
        Err(crate::SearchError::Unsupported(m)) => assert!(m.starts_with("requests[1]: "), "{m}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert!(f
        .index
        .msearch(&TenantFilter::All, &[], NOW)
        .unwrap()
        .is_empty());
}
