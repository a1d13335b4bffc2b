//! Arbitrary JSON and query strings thrown at the request parser, and parsed requests run
//! against a real index: errors are fine, panics are not.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::*;
use crate::dsl::parse_request;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z_@.*:\\- ]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("now-24h"),
            Just("now/d"),
            Just("2024-05-01T00:00:00Z"),
            Just("1h"),
            Just("0m"),
            Just("-3d"),
            Just("99999999999999999999d"),
            Just("*"),
            Just("a:b AND c"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Keys biased towards what the parser looks for, so generated requests get deep into it.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "query",
            "bool",
            "must",
            "should",
            "must_not",
            "filter",
            "term",
            "terms",
            "range",
            "match",
            "match_phrase",
            "match_all",
            "exists",
            "ids",
            "query_string",
            "field",
            "gte",
            "lt",
            "gt",
            "lte",
            "value",
            "values",
            "query",
            "aggs",
            "terms",
            "date_histogram",
            "histogram",
            "fixed_interval",
            "calendar_interval",
            "interval",
            "size",
            "from",
            "sort",
            "order",
            "_source",
            "timestamp",
            "@timestamp",
            "_id",
            "n",
            "msg",
            "minimum_should_match",
            "constant_score",
            "boost",
            "operator",
            "slop",
            "default_field",
            "offset",
            "extended_bounds",
            "min",
            "max",
            "percents",
            "ranges",
        ])
        .prop_map(str::to_owned),
        "[a-z_.@]{1,8}",
    ]
}

fn arb_request() -> impl Strategy<Value = Value> {
    prop_oneof![
        arb_json(),
        arb_json().prop_map(|q| json!({"query": q})),
        (key(), arb_json()).prop_map(|(k, body)| json!({"query": {k: body}})),
        (key(), key(), arb_json()).prop_map(|(k, f, v)| json!({"query": {k: {f: v}}})),
        (key(), arb_json()).prop_map(|(k, body)| json!({"size": 0, "aggs": {"x": {k: body}}})),
        (arb_json(), arb_json()).prop_map(|(s, src)| json!({"sort": s, "_source": src})),
    ]
}

fn arb_query_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z:()\\[\\]{}\"*?<>=+\\-!~^ ANDORNOT0-9.]{0,40}",
        prop::collection::vec(
            prop::sample::select(vec![
                "msg:",
                "n:",
                "timestamp:",
                "(",
                ")",
                "AND",
                "OR",
                "NOT",
                "-",
                "+",
                "\"",
                "[",
                "]",
                " TO ",
                "*",
                ">",
                "<=",
                "now-1d",
                "foo",
                "10.0.0.1",
                "^2",
                "~3",
                "IN [",
                "{",
                "}",
                ":",
                " ",
            ]),
            0..20,
        )
        .prop_map(|parts| parts.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_request_parser_never_panics(body in arb_request()) {
        let _ = parse_request(&body, NOW);
    }

    #[test]
    fn the_query_string_parser_never_panics(q in arb_query_string()) {
        let _ = parse_request(&json!({"query": {"query_string": {"query": q}}}), NOW);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever parses also executes without panicking (errors allowed).
    #[test]
    fn parsed_requests_execute(body in arb_request(), q in arb_query_string()) {
        thread_local! {
            static FIX: Fixture = {
                let f = fixture();
                ingest_events(&f.index, "acme");
                f
            };
        }
        FIX.with(|f| {
            let _ = f.index.search(&TenantFilter::All, &body, NOW);
            let _ = f.index.search(&TenantFilter::All, &json!({"query": {"query_string": {"query": q}}}), NOW);
        });
    }
}
