//! sort, from/size, _source and the response shape.

use serde_json::{json, Value};

use super::*;

/// n = 1..=10, odd ones in tenant a and even ones in b; timestamps increase with n;
/// `host` missing on n = 3.
fn interleaved() -> Fixture {
    let f = fixture();
    for (tenant, parity) in [("a", 1), ("b", 0)] {
        let docs: Vec<Value> = (1..=10i64)
            .filter(|n| n % 2 == parity)
            .map(|n| {
                let mut d = json!({"timestamp": NOW - 100 * HOUR + n * HOUR, "n": n,
                                   "score_me": "alpha ".repeat(n as usize)});
                if n != 3 {
                    d["host"] = json!(format!("host-{:02}", 11 - n));
                }
                d
            })
            .collect();
        f.index.ingest(tenant, docs, NOW).unwrap();
    }
    f.index.refresh().unwrap();
    f
}

#[test]
fn sort_by_time_number_and_keyword_across_tenants() {
    let f = interleaved();
    let ix = &f.index;
    let all = TenantFilter::All;
    assert_eq!(
        ns(&search(
            ix,
            &all,
            json!({"sort": [{"timestamp": {"order": "desc"}}]})
        )),
        [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    );
    assert_eq!(
        ns(&search(ix, &all, json!({"sort": "@timestamp"}))),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    );
    assert_eq!(
        ns(&search(ix, &all, json!({"sort": {"n": "desc"}, "size": 3}))),
        [10, 9, 8]
    );
    // Keyword order, missing last in both directions.
    assert_eq!(
        ns(&search(ix, &all, json!({"sort": [{"host": "asc"}]}))),
        [10, 9, 8, 7, 6, 5, 4, 2, 1, 3]
    );
    assert_eq!(
        ns(&search(
            ix,
            &all,
            json!({"sort": [{"host.keyword": "desc"}]})
        )),
        [1, 2, 4, 5, 6, 7, 8, 9, 10, 3]
    );
    let resp = search(ix, &all, json!({"sort": [{"n": "asc"}], "size": 1}));
    assert_eq!(hits(&resp)[0]["sort"], json!([1]));
    assert_eq!(hits(&resp)[0]["_score"], Value::Null);
    assert_eq!(resp["hits"]["max_score"], Value::Null);
    let resp = search(ix, &all, json!({"sort": ["timestamp:desc"], "size": 1}));
    assert_eq!(hits(&resp)[0]["sort"], json!([NOW - 90 * HOUR]));
}

#[test]
fn from_and_size_page_through_the_merged_order() {
    let f = interleaved();
    let ix = &f.index;
    let page = |from: usize, size: usize| {
        ns(&search(
            ix,
            &TenantFilter::All,
            json!({"sort": [{"n": "asc"}], "from": from, "size": size}),
        ))
    };
    assert_eq!(page(0, 4), [1, 2, 3, 4]);
    assert_eq!(page(3, 4), [4, 5, 6, 7]);
    assert_eq!(page(8, 4), [9, 10]);
    assert_eq!(page(20, 4), Vec::<i64>::new());
    let resp = search(ix, &TenantFilter::All, json!({"size": 0}));
    assert_eq!((total(&resp), hits(&resp).len()), (10, 0));
    // Default size is 10 of however many match.
    let resp = search(ix, &TenantFilter::All, json!({"query": {"match_all": {}}}));
    assert_eq!(hits(&resp).len(), 10);
    let err = ix
        .search(&TenantFilter::All, &json!({"from": 9_995, "size": 10}), NOW)
        .unwrap_err();
    assert!(err.to_string().contains("from + size"), "{err}");
}

#[test]
fn score_order_is_the_default_for_queries() {
    let f = interleaved();
    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"query": {"match": {"score_me": "alpha"}}, "size": 3}),
    );
    let scores: Vec<f64> = hits(&resp)
        .iter()
        .map(|h| h["_score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores.len(), 3);
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert_eq!(resp["hits"]["max_score"].as_f64(), Some(scores[0]));
    assert_eq!(total(&resp), 10);
}

#[test]
fn source_filtering_and_response_shape() {
    let f = fixture();
    let ids = ingest_events(&f.index, "acme");
    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"query": {"term": {"n": 1}}}),
    );
    assert!(resp["took"].is_u64());
    assert_eq!(resp["timed_out"], false);
    assert_eq!(
        resp["_shards"],
        json!({"total": 2, "successful": 2, "skipped": 0, "failed": 0}),
        "one shard per daily partition read"
    );
    assert_eq!(resp["hits"]["total"], json!({"value": 1, "relation": "eq"}));
    let hit = &hits(&resp)[0];
    assert_eq!(hit["_index"], "aella-ser-2024.05.01");
    assert_eq!(hit["_id"], json!(ids[0]));
    assert!(hit["_score"].as_f64().unwrap() > 0.0);
    // The source comes back exactly as ingested.
    assert_eq!(hit["_source"], events()[0]);

    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"query": {"term": {"n": 1}}, "_source": false}),
    );
    assert!(hits(&resp)[0].get("_source").is_none());
    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"query": {"term": {"n": 1}}, "_source": ["user.name", "srcip"]}),
    );
    assert_eq!(
        hits(&resp)[0]["_source"],
        json!({"user": {"name": "alice"}, "srcip": "10.0.0.1"})
    );
}
