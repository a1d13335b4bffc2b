//! What makes an event acceptable, and what is derived from it at ingest: the id and the
//! timestamp.

use serde_json::Value;

use crate::tape::{Node, Tape};
use crate::time;

/// Tenant ids name directories, so only `[A-Za-z0-9_-]{1,64}` is accepted: no `.`, `/` or
/// anything else that could walk out of `<dir>/tenants/`.
pub fn valid_tenant_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Event ids are always assigned by the index: 32 lowercase hex characters.
pub fn valid_event_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Makes event ids: 12 hex digits of the ingest time, 8 of a random per-open salt, 12 of a
/// counter. Consecutive ids share long prefixes, which keeps the `_id` term dictionary cheap to
/// build (random ids made it the single largest indexing cost); the salt keeps ids from
/// different runs apart.
pub(crate) struct IdGen {
    salt: u32,
    seq: std::sync::atomic::AtomicU64,
}

impl IdGen {
    pub fn new() -> IdGen {
        let r = uuid::Uuid::new_v4().as_u128();
        IdGen {
            salt: r as u32,
            seq: std::sync::atomic::AtomicU64::new((r >> 64) as u64 & 0xffff_ffff),
        }
    }

    pub fn next(&self, now_ms: i64) -> String {
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!(
            "{:012x}{:08x}{:012x}",
            (now_ms as u64) & 0xffff_ffff_ffff,
            self.salt,
            seq & 0xffff_ffff_ffff
        )
    }
}

/// Checks the top-level members of an event (the root object at node 0) in one pass: `_id` is
/// refused (as in Elasticsearch, it is metadata, assigned here), and the event's own time is
/// read: `timestamp`, else `@timestamp` (epoch ms or a date string); `None` if it has neither.
/// A present but unreadable timestamp refuses the event rather than silently filing it at
/// ingest time, where no time-bounded search would find it.
pub(crate) fn check_root(tape: &Tape, text: &str) -> Result<Option<i64>, String> {
    let mut found = [None, None];
    let mut has_id = false;
    for (k, v) in tape.members(0) {
        match tape.str(text, k) {
            "_id" => has_id = true,
            // The last of duplicate keys counts, as when JSON is read into a map.
            "timestamp" => found[0] = Some(v),
            "@timestamp" => found[1] = Some(v),
            _ => {}
        }
    }
    if has_id {
        return Err("_id is assigned by the index and cannot be part of the event".into());
    }
    for (key, at) in ["timestamp", "@timestamp"].into_iter().zip(found) {
        let Some(at) = at.filter(|&at| tape.node(at) != Node::Null) else {
            continue;
        };
        let v = tape.to_value(text, at);
        return time::date_from_json(&v)
            .ok_or_else(|| {
                format!(
                    "{key}: cannot read {} as epoch milliseconds or an RFC 3339 date \
                 (between years 1685 and 2255)",
                    short(&v)
                )
            })
            .map(Some);
    }
    Ok(None)
}

/// The time an event without its own is filed at.
pub(crate) fn default_time(now_ms: i64) -> i64 {
    now_ms.clamp(time::MIN_MS, time::MAX_MS)
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() <= 64 {
        s
    } else {
        let mut end = 64;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ts(v: Value, now: i64) -> Result<i64, String> {
        let text = v.to_string();
        check_root(&Tape::parse(&text, 8).unwrap(), &text).map(|t| t.unwrap_or(now))
    }

    #[test]
    fn timestamps_and_ids() {
        assert_eq!(ts(json!({"timestamp": 5}), 9), Ok(5));
        assert_eq!(
            ts(json!({"@timestamp": "1970-01-01T00:00:01Z"}), 9),
            Ok(1000)
        );
        assert_eq!(ts(json!({"timestamp": null, "@timestamp": 7}), 9), Ok(7));
        assert_eq!(ts(json!({"timestamp": null}), 9), Ok(9));
        assert_eq!(ts(json!({"nested": {"timestamp": 3}}), 9), Ok(9));
        assert!(ts(json!({"timestamp": "soon"}), 9).is_err());
        assert!(ts(json!({"a": 1, "_id": "x"}), 9)
            .unwrap_err()
            .starts_with("_id is assigned"));
        assert!(valid_tenant_id("acme_1-x") && !valid_tenant_id("../x") && !valid_tenant_id(""));
        let ids = IdGen::new();
        let (a, b) = (ids.next(1_714_564_800_000), ids.next(1_714_564_800_000));
        assert!(valid_event_id(&a) && valid_event_id(&b) && !valid_event_id("ABC"));
        assert_ne!(a, b);
        assert_eq!(a[..20], b[..20]);
        assert_ne!(a[20..], IdGen::new().next(1_714_564_800_000)[20..]);
    }
}
