//! Entry points for the fuzz targets in `fuzz/` (and their replay tests): each takes arbitrary
//! input, drives one parser the way the server does, and panics only where an invariant is
//! broken. Not part of the API.

use std::sync::Arc;

use serde_json::Value;

use crate::bulk::{Bulk, DocLimits, EventSource};
use crate::log::record::{self, Kind, RecordBuf};
use crate::tape::Tape;
use crate::wal::segment::{self, End, MAGIC};

/// `_search` bodies: any JSON value must parse or be refused, never panic.
pub fn search_request(body: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let _ = crate::dsl::parse_request(&v, 1_714_564_800_000);
    }
}

/// `query_string` text: the linear parser must agree with the request parser's outcome and,
/// when it accepts the text, the whole request must parse or be refused cleanly.
pub fn query_string(text: &str) {
    let _ = crate::dsl::lucene::parse(text, crate::dsl::query_string::MAX_PARENS);
    let body = serde_json::json!({"query": {"query_string": {"query": text}}});
    let _ = crate::dsl::parse_request(&body, 1_714_564_800_000);
}

/// One event's text: the tape accepts what serde_json accepts (but the key serde_json reads as
/// raw JSON, which it refuses) and reads back the same value, so a stored event always loads
/// back as it was indexed.
pub fn tape(text: &str) {
    let ours = Tape::parse(text, usize::MAX);
    let theirs = serde_json::from_str::<Value>(text);
    match (ours, theirs) {
        (Ok(tape), Ok(v)) => assert_eq!(tape.to_value(text, 0), v, "{text:?}"),
        (Err(_), Err(_)) => {}
        (Err(_), Ok(_)) if text.contains("$serde_json") => {}
        (ours, theirs) => panic!("tape {ours:?} but serde_json {theirs:?} for {text:?}"),
    }
}

/// An ingest body: split into events, each checked and parsed; every accepted event's text is
/// JSON that reads back to its tape's value.
pub fn bulk(body: &[u8]) {
    let limits = DocLimits {
        max_doc_bytes: 64 * 1024,
        max_doc_depth: 20,
    };
    let Ok(bulk) = Bulk::parse(body.to_vec(), 1000, limits) else {
        return;
    };
    for (_, parsed) in bulk.into_docs() {
        if let Ok(source) = parsed {
            let v: Value = serde_json::from_str(source.json())
                .unwrap_or_else(|e| panic!("accepted event is not JSON: {e}"));
            assert_eq!(source.to_value(), v);
            let _ = source.string_leaves();
        }
    }
}

/// A write-ahead-log segment image: replay reads every good record and stops at the first bad
/// one, never panicking (and the bytes as one stream message decode or are refused); records it reads turn into index operations as on start-up. The same
/// bytes are also appended as events to a record that must then decode back to what was put in.
pub fn wal_segment(bytes: &[u8]) {
    let mut image = Vec::with_capacity(bytes.len() + MAGIC.len());
    image.extend_from_slice(MAGIC);
    image.extend_from_slice(bytes);
    let mut records = 0usize;
    let end = segment::read_from(&image[..], image.len() as u64, |rec| {
        records += 1;
        let lsn = rec.lsn;
        let _ = record::to_op(rec, lsn);
        Ok::<(), ()>(())
    });
    if let Ok(Ok(End::Torn { valid_len, .. })) = end {
        assert!(valid_len <= image.len() as u64);
    }
    // The same bytes as one JetStream message: decoded only whole, checksum and all.
    if let Some(rec) = record::decode_checked(bytes.to_vec()) {
        let _ = record::to_op(rec, 1);
    }

    // Round trip: whatever JSON values the bytes hold become a sealed record that decodes to
    // the same ids, times and texts.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let mut rec = RecordBuf::new(Kind::Add, Arc::from("fuzz"));
    for (i, part) in text.split('\n').enumerate().take(64) {
        if let Ok(source) = EventSource::parse(part.to_owned(), 64) {
            rec.push(format!("{i:032x}"), i as i64 - 32, source);
        }
    }
    rec.seal(7);
    let d = record::decode(rec.buf.clone()).unwrap_or_else(|| panic!("a sealed record decodes"));
    assert_eq!((d.lsn, d.kind, d.tenant.as_str()), (7, Kind::Add, "fuzz"));
    assert_eq!(d.docs.len(), rec.docs.len());
    for ((id, ts, range), meta) in d.docs.iter().zip(&rec.docs) {
        assert_eq!((id, *ts), (&meta.id, meta.ts_ms));
        assert_eq!(&d.frame[range.clone()], meta.source.json().as_bytes());
    }
}

#[cfg(test)]
mod tests {
    //! The fuzz targets' seed inputs, run as ordinary tests so a regression in an invariant
    //! shows up without a fuzzer.

    #[test]
    fn seeds_hold_their_invariants() {
        for s in [
            "",
            "{}",
            r#"{"query": {"bool": {"must": [{"term": {"a": 1}}]}}, "size": 3}"#,
            r#"{"events": [{"a": 1}, {"b": "x\u00e9"}, 5, {"_id": "x"}]}"#,
            r#"[{"a": [1, 2, {"b": null}]}]"#,
            r#"{"k": 1e400}"#,
            "[1,2",
            "\"\\ud800\"",
            "{\"a\":1}\n{\"b\":[true,false]}\n{bad",
            // The event_tape target's first finding: serde_json read this as other JSON.
            r#"{"e1p": "00.0.0.1", "user": {"$serde_json::private::RawValue": "00*0.0.1", "n": 1}}"#,
            r#"{"x": {"$serde_json::private::RawValue": "12"}}"#,
        ] {
            super::search_request(s.as_bytes());
            super::query_string(s);
            super::tape(s);
            super::bulk(s.as_bytes());
            super::wal_segment(s.as_bytes());
        }
        // A segment of one real record, then garbage.
        let mut rec = super::RecordBuf::new(super::Kind::Add, std::sync::Arc::from("t"));
        rec.push(
            "0".repeat(32),
            1,
            super::EventSource::of_value(&serde_json::json!({"n": 1})),
        );
        rec.seal(1);
        let mut seg = rec.buf.clone();
        seg.extend_from_slice(b"\x05\x00\x00\x00garbage");
        super::wal_segment(&seg);
    }
}
