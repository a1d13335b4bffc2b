//! Helpers shared by the integration tests: records written as JSON.
// Each test file uses a different subset of these helpers, and a broken fixture should stop
// the test right there.
#![allow(dead_code, clippy::expect_used)]

use serde_json::Value;
use stella_osv::{parse_record, Record};

/// A record from a `serde_json::json!` value, through the real parser.
pub fn record(json: Value) -> Record {
    parse_record(json.to_string().as_bytes()).expect("test record parses")
}
