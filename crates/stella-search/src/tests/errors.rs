//! Whatever is not supported or malformed is refused with a message naming the part.

use serde_json::{json, Value};

use super::*;
use crate::SearchError;

fn err(body: Value) -> SearchError {
    let f = fixture();
    f.index
        .search(&TenantFilter::All, &body, NOW)
        .expect_err(&format!("{body} should be refused"))
}

fn unsupported(body: Value, expect: &str) {
    match err(body.clone()) {
        SearchError::Unsupported(msg) => {
            assert!(msg.contains(expect), "{body}: {msg:?} lacks {expect:?}")
        }
        other => panic!("{body}: expected Unsupported, got {other:?}"),
    }
}

fn invalid(body: Value, expect: &str) {
    match err(body.clone()) {
        SearchError::Invalid(msg) => {
            assert!(msg.contains(expect), "{body}: {msg:?} lacks {expect:?}")
        }
        other => panic!("{body}: expected Invalid, got {other:?}"),
    }
}

#[test]
fn unsupported_parts_are_named() {
    unsupported(
        json!({"query": {"bool": {"must": [{"match_all": {}}, {"wildcard": {"user": "ki*"}}]}}}),
        "query.bool.must[1].wildcard is not supported; supported: match_all, match_none, match, \
         match_phrase, term, terms, range, exists, ids, bool, constant_score, query_string",
    );
    unsupported(
        json!({"query": {"script": {}}}),
        "query.script is not supported",
    );
    unsupported(
        json!({"highlight": {}}),
        "highlight is not supported; supported request keys",
    );
    unsupported(
        json!({"query": {"match": {"msg": {"query": "x", "fuzziness": 2}}}}),
        "query.match.msg.fuzziness",
    );
    unsupported(
        json!({"query": {"query_string": {"query": "user:ki*"}}}),
        "wildcard",
    );
    unsupported(
        json!({"query": {"terms": {"user": {"index": "u", "id": "1"}}}}),
        "terms lookup",
    );
    unsupported(
        json!({"query": {"range": {"timestamp": {"gte": "now-1d", "time_zone": "+02:00"}}}}),
        "time_zone",
    );
    unsupported(
        json!({"sort": [{"timestamp": "desc"}, {"n": "asc"}]}),
        "sort[1]: only one sort key",
    );
    unsupported(json!({"sort": "_doc"}), "_doc");
    unsupported(
        json!({"aggs": {"x": {"top_hits": {}}}}),
        "aggs.x.top_hits is not supported",
    );
    unsupported(
        json!({"aggs": {"x": {"terms": {"field": "a", "script": "doc"}}}}),
        "aggs.x.terms.script",
    );
    unsupported(
        json!({"aggs": {"x": {"terms": {"field": "a", "include": "b.*"}}}}),
        "aggs.x.terms.include",
    );
    unsupported(
        json!({"aggs": {"x": {"date_histogram": {"field": "timestamp", "calendar_interval": "1M"}}}}),
        "calendar_interval \"1M\" is not supported",
    );
    unsupported(
        json!({"aggs": {"x": {"date_histogram": {"field": "srcip", "fixed_interval": "1h"}}}}),
        "only supported on timestamp",
    );
    unsupported(
        json!({"query": {"term": {"_index": "x"}}}),
        "metadata field _index",
    );
    unsupported(
        json!({"query": {"term": {"user.*": "x"}}}),
        "wildcard field names",
    );
}

#[test]
fn malformed_requests_are_invalid() {
    invalid(json!([1]), "request body must be an object");
    invalid(
        json!({"query": {"term": {"a": 1, "b": 2}}}),
        "query.term must name exactly one field",
    );
    invalid(
        json!({"query": {"match_all": {}, "term": {"a": 1}}}),
        "exactly one key",
    );
    invalid(
        json!({"query": {"term": {"a": [1]}}}),
        "query.term.a must be a string, number or boolean",
    );
    invalid(
        json!({"query": {"range": {"timestamp": {"gte": "yesterday"}}}}),
        "cannot parse \"yesterday\"",
    );
    invalid(
        json!({"query": {"range": {"n": {"gt": 1, "gte": 2}}}}),
        "only one of gt and gte",
    );
    invalid(
        json!({"query": {"query_string": {"query": "a AND (b"}}}),
        "cannot parse",
    );
    invalid(
        json!({"query": {"query_string": {"query": "(".repeat(40) + "a" + &")".repeat(40)}}}),
        "parentheses",
    );
    invalid(json!({"size": -1}), "size must be a non-negative integer");
    invalid(
        json!({"from": 10_000, "size": 1}),
        "from + size must be at most 10000",
    );
    invalid(
        json!({"aggs": {"x": {"date_histogram": {"field": "timestamp", "fixed_interval": "0h"}}}}),
        "fixed_interval",
    );
    invalid(
        json!({"aggs": {"x": {"terms": {"field": "a", "size": 100_000}}}}),
        "size must be between",
    );
    invalid(
        json!({"aggs": {"x": {"histogram": {"field": "a", "interval": 0}}}}),
        "interval must be a positive",
    );
    let mut deep = json!({"match_all": {}});
    for _ in 0..25 {
        deep = json!({"bool": {"must": deep}});
    }
    invalid(json!({"query": deep}), "nested deeper than 20");
    let many: Vec<Value> = (0..1100).map(|i| json!({"term": {"n": i}})).collect();
    invalid(
        json!({"query": {"bool": {"should": many}}}),
        "more than 1024 clauses",
    );
}

/// The review's query_string attacks: nesting that took tantivy's parser minutes, and words ×
/// fields that multiplied into gigabytes. Each is refused (or answered) at once.
#[test]
fn query_string_work_is_bounded() {
    let started = std::time::Instant::now();
    let f = fixture();
    ingest_events(&f.index, "acme");
    let qs = |body: Value| {
        f.index.search(
            &TenantFilter::All,
            &json!({"query": {"query_string": body}}),
            NOW,
        )
    };
    // 32 levels parse (and run) in linear time; 33 are refused by the nesting bound.
    let nested = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
    assert!(qs(json!({"query": nested(32)})).is_ok());
    assert!(
        matches!(qs(json!({"query": nested(33)})), Err(SearchError::Invalid(m)) if m.contains("deeper than 32"))
    );
    let unclosed = "(".repeat(32) + "a";
    assert!(
        matches!(qs(json!({"query": unclosed})), Err(SearchError::Invalid(m)) if m.contains("cannot parse"))
    );
    // 1,000 words over 1,000 fields: the field list itself is over its bound...
    let words = (0..1000)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let fields = |n: usize| (0..n).map(|i| json!(format!("f{i}"))).collect::<Vec<_>>();
    assert!(matches!(
        qs(json!({"query": words, "fields": fields(1000)})),
        Err(SearchError::Invalid(m)) if m.contains("more than 100 fields")
    ));
    // ...and within it, words × fields are over the clause budget.
    assert!(matches!(
        qs(json!({"query": words, "fields": fields(100)})),
        Err(SearchError::Invalid(m)) if m.contains("more than 1024 clauses")
    ));
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

/// A bare word searches every string field of the index; many words over an index with many
/// string fields are refused when they multiply past the compile budget.
#[test]
fn field_less_text_expansion_is_bounded() {
    let f = fixture();
    let mut wide = serde_json::Map::new();
    for i in 0..1000 {
        wide.insert(format!("k{i}"), json!(format!("v{i}")));
    }
    f.index
        .ingest("acme", vec![Value::Object(wide)], NOW)
        .unwrap();
    f.index.refresh().unwrap();
    let search = |q: &str| {
        f.index.search(
            &TenantFilter::All,
            &json!({"query": {"query_string": {"query": q}}}),
            NOW,
        )
    };
    assert_eq!(total(&search("v7").unwrap()), 1);
    let many = (0..40)
        .map(|i| format!("v{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    match search(&many) {
        Err(SearchError::Invalid(m)) => assert!(m.contains("expands to more than 16384"), "{m}"),
        other => panic!("expected the compile budget, got {other:?}"),
    }
    // A phrase costs a term per word on every field it runs over: 20 words × 1,000 fields.
    let phrase = format!(
        "\"{}\"",
        (0..20)
            .map(|i| format!("v{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    match search(&phrase) {
        Err(SearchError::Invalid(m)) => assert!(m.contains("expands to more than 16384"), "{m}"),
        other => panic!("expected the compile budget, got {other:?}"),
    }
    assert_eq!(total(&search("\"v7\"").unwrap()), 1);
}

/// The hits of one answer carry at most `max_hits_source_bytes` of stored `_source`.
#[test]
fn the_hits_source_of_one_answer_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let index = crate::EventIndex::open(
        dir.path(),
        crate::IndexOptions {
            max_hits_source_bytes: 600,
            max_doc_bytes: 300,
            ..super::opts()
        },
    )
    .unwrap();
    super::ingest_events(&index, "acme");
    let search = |size: usize| {
        index.search(
            &TenantFilter::All,
            &json!({"size": size, "query": {"match_all": {}}}),
            NOW,
        )
    };
    assert_eq!(
        search(2).unwrap()["hits"]["hits"].as_array().unwrap().len(),
        2
    );
    match search(5) {
        Err(SearchError::Invalid(m)) => assert!(m.contains("more than 600 bytes"), "{m}"),
        other => panic!("expected the _source bound, got {other:?}"),
    }
}
