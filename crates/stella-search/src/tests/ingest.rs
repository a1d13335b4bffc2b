//! Validation and outcome of `ingest`.

use serde_json::{json, Value};

use super::*;
use crate::{IndexOptions, SearchError};

#[test]
fn each_event_is_accepted_or_refused_with_a_reason() {
    let f = fixture();
    let mut deep = json!(1);
    for _ in 0..30 {
        deep = json!({"d": deep});
    }
    let big = json!({"blob": "x".repeat(1024 * 1024)});
    let docs = vec![
        json!({"n": 1}),
        json!([1, 2]),
        json!({"_id": "mine", "n": 3}),
        json!({"timestamp": "next tuesday", "n": 4}),
        deep,
        big,
        json!("text"),
        json!({"n": 8, "timestamp": "2024-05-01T10:00:00Z"}),
    ];
    let out = f.index.ingest("acme", docs, NOW).unwrap();
    assert_eq!((out.ingested, out.failed), (2, 6));
    let reasons: Vec<&str> = out.errors.iter().map(String::as_str).collect();
    assert_eq!(reasons[0], "events[1]: must be a JSON object");
    assert!(
        reasons[1].starts_with("events[2]: _id is assigned by the index"),
        "{}",
        reasons[1]
    );
    assert!(
        reasons[2].starts_with("events[3]: timestamp: cannot read \"next tuesday\""),
        "{}",
        reasons[2]
    );
    assert!(
        reasons[3].starts_with("events[4]: nests deeper than 20"),
        "{}",
        reasons[3]
    );
    assert!(
        reasons[4].starts_with("events[5]: is ")
            && reasons[4].ends_with("bytes, more than the limit of 1048576"),
        "{}",
        reasons[4]
    );
    assert_eq!(reasons[5], "events[6]: must be a JSON object");

    let accepted = &out.accepted;
    assert_eq!(accepted.len(), 2);
    assert!(accepted.iter().all(|a| crate::valid_event_id(&a.id)));
    assert_ne!(accepted[0].id, accepted[1].id);
    assert_eq!(accepted[0].source.to_value(), json!({"n": 1}));
    assert_eq!(accepted[0].timestamp_ms, NOW);
    assert_eq!(accepted[1].timestamp_ms, NOW - 2 * HOUR);

    f.index.refresh().unwrap();
    let resp = search(&f.index, &TenantFilter::All, json!({"sort": "n"}));
    assert_eq!(ns(&resp), [1, 8]);
    let ids: Vec<&Value> = hits(&resp).iter().map(|h| &h["_id"]).collect();
    assert_eq!(ids, [&json!(accepted[0].id), &json!(accepted[1].id)]);
}

#[test]
fn a_bulk_over_max_bulk_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let ix = crate::EventIndex::open(
        dir.path(),
        IndexOptions {
            max_bulk: 3,
            ..opts()
        },
    )
    .unwrap();
    let docs: Vec<Value> = (0..4).map(|n| json!({"n": n})).collect();
    let err = ix.ingest("acme", docs, NOW).unwrap_err();
    assert!(
        matches!(&err, SearchError::Invalid(m) if m.contains("4 events is more than the limit of 3")),
        "{err}"
    );
    let out = ix
        .ingest("acme", (0..3).map(|n| json!({"n": n})).collect(), NOW)
        .unwrap();
    assert_eq!(out.ingested, 3);
    ix.refresh().unwrap();
    assert_eq!(total(&search(&ix, &TenantFilter::All, json!({}))), 3);
    let empty = ix.ingest("acme", vec![], NOW).unwrap();
    assert_eq!((empty.ingested, empty.failed), (0, 0));
}

#[test]
fn many_concurrent_callers_all_land() {
    let f = fixture();
    std::thread::scope(|s| {
        for t in 0..4 {
            let ix = f.index.clone();
            s.spawn(move || {
                for b in 0..10 {
                    let docs = (0..25).map(|i| json!({"t": t, "b": b, "i": i})).collect();
                    assert_eq!(ix.ingest("acme", docs, NOW).unwrap().ingested, 25);
                }
            });
        }
    });
    f.index.refresh().unwrap();
    assert_eq!(
        total(&search(&f.index, &TenantFilter::All, json!({"size": 0}))),
        1000
    );
    let resp = search(
        &f.index,
        &TenantFilter::All,
        json!({"query": {"term": {"t": 3}}, "size": 0}),
    );
    assert_eq!(total(&resp), 250);
}

#[test]
fn while_nothing_reads_commits_wait_and_a_read_commits_first() {
    let dir = tempfile::tempdir().unwrap();
    let ix = crate::EventIndex::open(
        dir.path(),
        IndexOptions {
            commit_interval_ms: 20,
            // Idle at once, and held back far longer than this test runs.
            search_idle_ms: 1,
            idle_commit_interval_ms: 3_600_000,
            ..opts()
        },
    )
    .unwrap();
    ix.ingest("acme", vec![json!({"n": 1})], NOW).unwrap();
    // Poll with a deadline until the indexer has held its due commit back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !ix.commit_held_back() {
        assert!(std::time::Instant::now() < deadline, "never held back");
        std::thread::yield_now();
    }
    assert_eq!(ix.committed_docs("acme"), 0, "held back while idle");
    assert_eq!(total(&search(&ix, &TenantFilter::All, json!({}))), 1);
    assert_eq!(ix.committed_docs("acme"), 1, "the read committed first");
}

#[test]
fn a_held_back_commit_still_happens_within_the_idle_interval() {
    let dir = tempfile::tempdir().unwrap();
    let ix = crate::EventIndex::open(
        dir.path(),
        IndexOptions {
            commit_interval_ms: 20,
            search_idle_ms: 1,
            idle_commit_interval_ms: 100,
            ..opts()
        },
    )
    .unwrap();
    ix.ingest("acme", vec![json!({"n": 1})], NOW).unwrap();
    // No read: only the idle interval can commit it. Poll with a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ix.committed_docs("acme") < 1 {
        assert!(std::time::Instant::now() < deadline, "never committed");
        std::thread::yield_now();
    }
}
