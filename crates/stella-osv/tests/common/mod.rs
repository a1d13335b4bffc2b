//! Helpers shared by the integration tests: records written as JSON, a database over them,
//! and queries reduced to what a table test compares.
// Each test file uses a different subset of these helpers, and a broken fixture should stop
// the test right there.
#![allow(dead_code, clippy::expect_used)]

use serde_json::Value;
use stella_osv::{parse_record, Database, Match, Query, QueryResult, Record};

/// A record from a `serde_json::json!` value, through the real parser.
pub fn record(json: Value) -> Record {
    parse_record(json.to_string().as_bytes()).expect("test record parses")
}

/// A one-entry record: `id`, a package, and its ranges and versions as OSV JSON.
pub fn simple(id: &str, ecosystem: &str, name: &str, ranges: Value, versions: Value) -> Record {
    record(serde_json::json!({
        "id": id,
        "affected": [{
            "package": {"ecosystem": ecosystem, "name": name},
            "ranges": ranges,
            "versions": versions,
        }],
    }))
}

/// An ECOSYSTEM range from `(kind, version)` events.
pub fn range(kind: &str, events: &[(&str, &str)]) -> Value {
    let events: Vec<Value> = events
        .iter()
        .map(|(k, v)| serde_json::json!({ *k: v }))
        .collect();
    serde_json::json!({"type": kind, "events": events})
}

pub fn db(records: Vec<Record>) -> Database {
    Database::build(records)
}

/// The matches of a query; panics when the query is unsupported.
pub fn matches(db: &Database, ecosystem: &str, name: &str, version: &str) -> Vec<Match> {
    match db.query(&Query {
        ecosystem,
        name,
        version,
    }) {
        QueryResult::Matched(m) => m,
        QueryResult::Unsupported { reason } => {
            panic!("{ecosystem} {name} {version} unsupported: {reason}")
        }
    }
}

/// The ids matched by a query, in result order.
pub fn ids(db: &Database, ecosystem: &str, name: &str, version: &str) -> Vec<String> {
    matches(db, ecosystem, name, version)
        .into_iter()
        .map(|m| m.id)
        .collect()
}

/// Whether a query matches anything.
pub fn hit(db: &Database, ecosystem: &str, name: &str, version: &str) -> bool {
    !ids(db, ecosystem, name, version).is_empty()
}

/// The reason a query is unsupported; panics when it is answered.
pub fn unsupported(db: &Database, ecosystem: &str, name: &str, version: &str) -> String {
    match db.query(&Query {
        ecosystem,
        name,
        version,
    }) {
        QueryResult::Unsupported { reason } => reason,
        QueryResult::Matched(m) => panic!("{ecosystem} {name} {version} answered: {m:?}"),
    }
}
