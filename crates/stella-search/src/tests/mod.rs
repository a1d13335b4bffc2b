//! Behaviour tests of the whole index (ingest → refresh → search), against temporary
//! directories with background commits off, so `refresh()` alone decides visibility.

mod aggs;
mod backup;
mod durability;
mod errors;
mod ingest;
mod paging;
mod partitions;
mod proptests;
mod queries;
mod replace;
mod rollup;
mod tenancy;

use std::path::Path;

use serde_json::{json, Value};
use stella_core::TenantFilter;
use tempfile::TempDir;

use crate::{EventIndex, IndexOptions};

/// 2024-05-01T12:00:00Z
pub(crate) const NOW: i64 = 1_714_564_800_000;
pub(crate) const HOUR: i64 = 3_600_000;
pub(crate) const DAY: i64 = 24 * HOUR;

pub(crate) fn opts() -> IndexOptions {
    IndexOptions {
        commit_interval_ms: 0,
        indexing_threads: 1,
        writer_memory_bytes: 20_000_000,
        ..IndexOptions::default()
    }
}

pub(crate) struct Fixture {
    pub dir: TempDir,
    pub index: EventIndex,
}

pub(crate) fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let index = EventIndex::open(dir.path(), opts()).unwrap();
    Fixture { dir, index }
}

pub(crate) fn reopen(path: &Path) -> EventIndex {
    EventIndex::open(path, opts()).unwrap()
}

pub(crate) fn only(tenants: &[&str]) -> TenantFilter {
    TenantFilter::Only(tenants.iter().map(|t| t.to_string()).collect())
}

/// Five events of one tenant with known fields; `n` numbers them.
pub(crate) fn events() -> Vec<Value> {
    vec![
        json!({"timestamp": NOW - HOUR, "n": 1, "event_type": "login_failure", "srcip": "10.0.0.1",
               "severity": 5, "hostname": "web-01", "user": {"name": "alice"},
               "msg": "Failed password for alice from 10.0.0.1 port 22 ssh2", "tags": ["ssh", "auth"],
               "blocked": true}),
        json!({"timestamp": NOW - 2 * HOUR, "n": 2, "event_type": "login_success", "srcip": "10.0.0.2",
               "severity": 1, "hostname": "web-02", "user": {"name": "bob"},
               "msg": "Accepted password for bob from 10.0.0.2", "blocked": false}),
        json!({"@timestamp": "2024-05-01T09:00:00Z", "n": 3, "event_type": "malware", "srcip": "10.0.0.1",
               "severity": 9.5, "hostname": "db-01", "msg": "Trojan detected in /tmp/x",
               "file": {"hash": "abc"}}),
        // No timestamp: filed at ingest time (NOW - 30 min, see `ingest_events`).
        json!({"n": 4, "event_type": "login_failure", "srcip": "10.0.0.3", "severity": 5,
               "hostname": "web-01", "user": {"name": "carol"}, "msg": "Failed password for carol"}),
        json!({"timestamp": NOW - 3 * DAY, "n": 5, "event_type": "dns", "srcip": "10.0.0.4",
               "severity": "3", "query": "evil.example.com", "msg": "DNS query evil.example.com"}),
    ]
}

/// Ingests `events()` for `tenant` and refreshes; returns the ids in event order.
pub(crate) fn ingest_events(index: &EventIndex, tenant: &str) -> Vec<String> {
    let out = index.ingest(tenant, events(), NOW - HOUR / 2).unwrap();
    assert_eq!((out.ingested, out.failed), (5, 0), "{:?}", out.errors);
    index.refresh().unwrap();
    out.accepted.into_iter().map(|a| a.id).collect()
}

pub(crate) fn search(index: &EventIndex, filter: &TenantFilter, body: Value) -> Value {
    index
        .search(filter, &body, NOW)
        .unwrap_or_else(|e| panic!("search {body} failed: {e}"))
}

pub(crate) fn total(resp: &Value) -> u64 {
    resp["hits"]["total"]["value"].as_u64().unwrap()
}

pub(crate) fn hits(resp: &Value) -> &Vec<Value> {
    resp["hits"]["hits"].as_array().unwrap()
}

/// The `n` of each hit, in hit order.
pub(crate) fn ns(resp: &Value) -> Vec<i64> {
    hits(resp)
        .iter()
        .map(|h| h["_source"]["n"].as_i64().unwrap())
        .collect()
}

/// The `n`s of all matches, sorted (for queries where order does not matter).
pub(crate) fn matching(index: &EventIndex, query: Value) -> Vec<i64> {
    let resp = search(
        index,
        &TenantFilter::All,
        json!({"query": query, "size": 100}),
    );
    let mut got = ns(&resp);
    got.sort();
    assert_eq!(
        got.len() as u64,
        total(&resp),
        "total agrees with hits for {query}"
    );
    got
}
