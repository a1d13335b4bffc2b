//! Each query type against the five known events.

use serde_json::json;

use super::*;

fn setup() -> Fixture {
    let f = fixture();
    ingest_events(&f.index, "acme");
    f
}

#[test]
fn match_all_and_match_none() {
    let f = setup();
    assert_eq!(
        matching(&f.index, json!({"match_all": {}})),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        matching(&f.index, json!({"match_none": {}})),
        Vec::<i64>::new()
    );
    let resp = search(&f.index, &TenantFilter::All, json!({}));
    assert_eq!(total(&resp), 5);
}

#[test]
fn term_matches_exact_values_of_any_type() {
    let f = setup();
    let ix = &f.index;
    assert_eq!(
        matching(ix, json!({"term": {"event_type": "login_failure"}})),
        [1, 4]
    );
    assert_eq!(
        matching(ix, json!({"term": {"event_type.keyword": "login_failure"}})),
        [1, 4]
    );
    assert_eq!(
        matching(ix, json!({"term": {"event_type": {"value": "malware"}}})),
        [3]
    );
    // Keywords are exact: no analysis, case-sensitive.
    assert_eq!(
        matching(ix, json!({"term": {"event_type": "Login_failure"}})),
        Vec::<i64>::new()
    );
    assert_eq!(
        matching(ix, json!({"term": {"msg": "password"}})),
        Vec::<i64>::new()
    );
    assert_eq!(matching(ix, json!({"term": {"user.name": "alice"}})), [1]);
    assert_eq!(matching(ix, json!({"term": {"tags": "auth"}})), [1]);
    // Numbers match whether asked as number or string; "3" was sent as a string.
    assert_eq!(matching(ix, json!({"term": {"severity": 5}})), [1, 4]);
    assert_eq!(matching(ix, json!({"term": {"severity": "5"}})), [1, 4]);
    assert_eq!(matching(ix, json!({"term": {"severity": 9.5}})), [3]);
    assert_eq!(matching(ix, json!({"term": {"severity": 3}})), [5]);
    assert_eq!(matching(ix, json!({"term": {"blocked": true}})), [1]);
    assert_eq!(matching(ix, json!({"term": {"blocked": false}})), [2]);
    assert_eq!(
        matching(ix, json!({"term": {"timestamp": NOW - HOUR}})),
        [1]
    );
}

#[test]
fn terms_and_ids() {
    let f = setup();
    let ids = {
        let resp = search(
            &f.index,
            &TenantFilter::All,
            json!({"sort": [{"n": "asc"}]}),
        );
        hits(&resp)
            .iter()
            .map(|h| h["_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let ix = &f.index;
    assert_eq!(
        matching(
            ix,
            json!({"terms": {"event_type": ["malware", "dns", "nope"]}})
        ),
        [3, 5]
    );
    assert_eq!(
        matching(ix, json!({"terms": {"severity": [1, 9.5], "boost": 2}})),
        [2, 3]
    );
    assert_eq!(
        matching(ix, json!({"ids": {"values": [ids[1], ids[4]]}})),
        [2, 5]
    );
    assert_eq!(matching(ix, json!({"term": {"_id": ids[0]}})), [1]);
    assert_eq!(matching(ix, json!({"terms": {"_id": [ids[2]]}})), [3]);
}

#[test]
fn range_on_numbers_keywords_and_time() {
    let f = setup();
    let ix = &f.index;
    assert_eq!(
        matching(ix, json!({"range": {"severity": {"gte": 5}}})),
        [1, 3, 4]
    );
    assert_eq!(
        matching(ix, json!({"range": {"severity": {"gt": 5.5}}})),
        [3]
    );
    assert_eq!(matching(ix, json!({"range": {"severity": {"lt": 5}}})), [2]);
    assert_eq!(
        matching(ix, json!({"range": {"severity": {"gte": "1", "lte": "5"}}})),
        [1, 2, 4]
    );
    assert_eq!(
        matching(ix, json!({"range": {"n": {"gt": 1, "lt": 4}}})),
        [2, 3]
    );
    assert_eq!(
        matching(ix, json!({"range": {"hostname": {"gte": "web"}}})),
        [1, 2, 4]
    );
    assert_eq!(
        matching(ix, json!({"range": {"hostname": {"lt": "web-02"}}})),
        [1, 3, 4]
    );
    // Times: date math relative to the `now` given to search, RFC 3339, epoch ms.
    assert_eq!(
        matching(ix, json!({"range": {"timestamp": {"gte": "now-90m"}}})),
        [1, 4]
    );
    assert_eq!(
        matching(ix, json!({"range": {"@timestamp": {"gte": "now/d"}}})),
        [1, 2, 3, 4]
    );
    assert_eq!(
        matching(
            ix,
            json!({"range": {"timestamp": {"gte": "2024-05-01T08:30:00Z", "lt": "2024-05-01T10:30:00+00:00"}}})
        ),
        [2, 3]
    );
    assert_eq!(
        matching(ix, json!({"range": {"timestamp": {"lte": NOW - DAY}}})),
        [5]
    );
    assert_eq!(
        matching(
            ix,
            json!({"range": {"timestamp": {"gt": NOW - HOUR, "format": "epoch_millis"}}})
        ),
        [4]
    );
}

#[test]
fn exists() {
    let f = setup();
    let ix = &f.index;
    assert_eq!(
        matching(ix, json!({"exists": {"field": "user"}})),
        [1, 2, 4]
    );
    assert_eq!(
        matching(ix, json!({"exists": {"field": "user.name"}})),
        [1, 2, 4]
    );
    assert_eq!(matching(ix, json!({"exists": {"field": "file.hash"}})), [3]);
    assert_eq!(matching(ix, json!({"exists": {"field": "query"}})), [5]);
    assert_eq!(
        matching(ix, json!({"exists": {"field": "nothing"}})),
        Vec::<i64>::new()
    );
    assert_eq!(
        matching(ix, json!({"exists": {"field": "timestamp"}})),
        [1, 2, 3, 4, 5]
    );
}

#[test]
fn match_and_match_phrase_analyse_text() {
    let f = setup();
    let ix = &f.index;
    assert_eq!(
        matching(ix, json!({"match": {"msg": "password"}})),
        [1, 2, 4]
    );
    assert_eq!(matching(ix, json!({"match": {"msg": "TROJAN"}})), [3]);
    assert_eq!(
        matching(ix, json!({"match": {"msg": "failed alice"}})),
        [1, 4]
    );
    assert_eq!(
        matching(
            ix,
            json!({"match": {"msg": {"query": "failed alice", "operator": "and"}}})
        ),
        [1]
    );
    // Addresses and host names stay one token.
    assert_eq!(
        matching(ix, json!({"match": {"srcip": "10.0.0.1"}})),
        [1, 3]
    );
    assert_eq!(
        matching(ix, json!({"match": {"query": "evil.example.com"}})),
        [5]
    );
    // Non-strings are matched exactly.
    assert_eq!(matching(ix, json!({"match": {"severity": 5}})), [1, 4]);
    assert_eq!(
        matching(ix, json!({"match": {"msg": "   "}})),
        Vec::<i64>::new()
    );
    assert_eq!(
        matching(
            ix,
            json!({"match_phrase": {"msg": "failed password for alice"}})
        ),
        [1]
    );
    assert_eq!(
        matching(ix, json!({"match_phrase": {"msg": "password failed"}})),
        Vec::<i64>::new()
    );
    assert_eq!(
        matching(
            ix,
            json!({"match_phrase": {"msg": {"query": "failed for", "slop": 1}}})
        ),
        [1, 4]
    );
}

#[test]
fn bool_combines_clauses_like_elasticsearch() {
    let f = setup();
    let ix = &f.index;
    let q = json!({"bool": {
        "must": [{"term": {"event_type": "login_failure"}}],
        "filter": {"range": {"severity": {"gte": 5}}},
        "must_not": [{"term": {"user.name": "carol"}}]
    }});
    assert_eq!(matching(ix, q), [1]);
    // Only must_not: everything else.
    assert_eq!(
        matching(
            ix,
            json!({"bool": {"must_not": {"term": {"event_type": "login_failure"}}}})
        ),
        [2, 3, 5]
    );
    // Only should: at least one.
    assert_eq!(
        matching(
            ix,
            json!({"bool": {"should": [{"term": {"n": 2}}, {"term": {"n": 5}}]}})
        ),
        [2, 5]
    );
    // should beside must is optional...
    assert_eq!(
        matching(
            ix,
            json!({"bool": {"must": {"term": {"hostname": "web-01"}}, "should": {"term": {"n": 99}}}})
        ),
        [1, 4]
    );
    // ...unless minimum_should_match says otherwise.
    let q = json!({"bool": {"should": [
        {"term": {"event_type": "malware"}},
        {"term": {"srcip": "10.0.0.1"}},
        {"term": {"hostname": "web-01"}}
    ], "minimum_should_match": 2}});
    assert_eq!(matching(ix, q), [1, 3]);
    let q = json!({"bool": {"should": [{"term": {"n": 1}}, {"term": {"n": 2}}], "minimum_should_match": "100%"}});
    assert_eq!(matching(ix, q), Vec::<i64>::new());
    assert_eq!(matching(ix, json!({"bool": {}})), [1, 2, 3, 4, 5]);
    assert_eq!(
        matching(
            ix,
            json!({"constant_score": {"filter": {"term": {"srcip": "10.0.0.1"}}, "boost": 2}})
        ),
        [1, 3]
    );
}

#[test]
fn query_string_lucene_syntax() {
    let f = setup();
    let ix = &f.index;
    let qs = |q: &str| matching(ix, json!({"query_string": {"query": q}}));
    assert_eq!(qs("event_type:login_failure AND srcip:10.0.0.1"), [1]);
    assert_eq!(
        qs("event_type:login_failure OR event_type:malware"),
        [1, 3, 4]
    );
    assert_eq!(qs("NOT event_type:login_failure"), [2, 3, 5]);
    assert_eq!(qs("-hostname:web-01 AND severity:[5 TO 10]"), [3]);
    assert_eq!(qs("severity:>5"), [3]);
    assert_eq!(qs("severity:5"), [1, 4]);
    assert_eq!(qs("msg:\"failed password for alice\""), [1]);
    assert_eq!(qs("user.name:bob"), [2]);
    assert_eq!(qs("file:*"), [3]);
    assert_eq!(qs("timestamp:[now-90m TO now]"), [1, 4]);
    assert_eq!(qs("hostname:(web-02 OR db-01)"), [2, 3]);
    assert_eq!(qs("*"), [1, 2, 3, 4, 5]);
    // Bare words search every string field.
    assert_eq!(qs("trojan"), [3]);
    assert_eq!(qs("evil.example.com"), [5]);
    assert_eq!(qs("alice OR bob"), [1, 2]);
    let with = |q: &str, extra: serde_json::Value| {
        let mut body = json!({"query": q});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        matching(ix, json!({"query_string": body}))
    };
    assert_eq!(
        with("failed alice", json!({"default_operator": "AND"})),
        [1]
    );
    assert_eq!(with("failed alice", json!({})), [1, 4]);
    assert_eq!(with("password", json!({"default_field": "msg"})), [1, 2, 4]);
    assert_eq!(
        with("web-01", json!({"fields": ["hostname", "msg"]})),
        [1, 4]
    );
}

#[test]
fn exact_keyword_semantics() {
    let f = fixture();
    let long = "x ".repeat(200);
    let docs = vec![
        json!({"n": 1, "host": "web-01", "tags": ["a", "Web 01"], "note": long}),
        json!({"n": 2, "host": "Web-01", "tags": ["b"], "code": "---"}),
        json!({"n": 3, "host": "web 01", "code": "--", "v": "5"}),
        json!({"n": 4, "host": "web-01-old", "v": 5.0}),
    ];
    f.index.ingest("acme", docs, NOW).unwrap();
    f.index.refresh().unwrap();
    let ix = &f.index;
    // Same tokens, different raw values: only the exact one matches.
    assert_eq!(matching(ix, json!({"term": {"host": "web-01"}})), [1]);
    assert_eq!(matching(ix, json!({"term": {"host": "Web-01"}})), [2]);
    assert_eq!(matching(ix, json!({"term": {"host": "web 01"}})), [3]);
    assert_eq!(
        matching(ix, json!({"match": {"host": "web-01"}})),
        [1, 2, 3, 4]
    );
    // Values of an array match one by one.
    assert_eq!(matching(ix, json!({"term": {"tags": "Web 01"}})), [1]);
    assert_eq!(
        matching(ix, json!({"term": {"tags": "Web"}})),
        Vec::<i64>::new()
    );
    // No tokens at all: found by scanning the column.
    assert_eq!(matching(ix, json!({"term": {"code": "---"}})), [2]);
    assert_eq!(
        matching(ix, json!({"terms": {"code": ["--", "---"]}})),
        [2, 3]
    );
    // Longer than 256 characters: searchable as text, not as an exact value.
    assert_eq!(
        matching(ix, json!({"term": {"note": long}})),
        Vec::<i64>::new()
    );
    assert_eq!(
        matching(ix, json!({"match_phrase": {"note": "x x x"}})),
        [1]
    );
    // "5" and 5.0 are the same value asked either way.
    assert_eq!(matching(ix, json!({"term": {"v": 5}})), [3, 4]);
    assert_eq!(matching(ix, json!({"term": {"v": "5"}})), [3, 4]);
    // Many values take the column-scan path; the result is the same.
    let mut many: Vec<String> = (0..100).map(|i| format!("nope-{i}")).collect();
    many.push("web-01".into());
    many.push("web 01".into());
    assert_eq!(matching(ix, json!({"terms": {"host": many}})), [1, 3]);
}
