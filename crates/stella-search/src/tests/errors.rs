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
