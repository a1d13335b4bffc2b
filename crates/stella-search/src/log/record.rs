//! One log record: a batch of events for one tenant, in the same frame whichever log keeps it
//! (a WAL segment holds them back to back; a JetStream message holds one).
//!
//! ```text
//! frame:  body_len u32 LE | crc32(body) u32 LE | body
//! body:   lsn u64 | kind u8 | tenant_len u8 | tenant | count u32
//!         | count × (id [32 bytes ascii] | timestamp_ms i64 | json_len u32 | json)
//! ```
//! All integers little-endian. The frame is written with one `write` and covered by the
//! segment's next fsync; a torn or bit-flipped tail fails the length or CRC check on replay.
//! Each record's `lsn` is one more than the previous record's, across segments, so replay also
//! notices a record that is out of place.

use std::ops::Range;
use std::sync::Arc;

use crate::bulk::EventSource;
use crate::log::IndexOp;

pub(crate) const FRAME_HEADER: usize = 8;
/// Records are cut at about this size, so one bulk may span several; also the replay-time sanity
/// limit on a frame's declared length (with room for the last document).
pub(crate) const RECORD_SPLIT_BYTES: usize = 32 * 1024 * 1024;
pub(crate) const MAX_FRAME_BODY: usize = 512 * 1024 * 1024;
pub(crate) const ID_LEN: usize = 32;

const LSN_AT: usize = FRAME_HEADER;
const KIND_AT: usize = LSN_AT + 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// New events.
    Add = 1,
    /// Replacement sources: delete the event with that id, then add.
    Replace = 2,
}

/// One event inside a record, as the indexer needs it.
#[derive(Debug, Clone)]
pub(crate) struct DocMeta {
    pub id: String,
    pub ts_ms: i64,
    /// The event's text (the same bytes as in the frame) and parsed form.
    pub source: EventSource,
}

/// A record being filled. Each event's JSON text is copied into the frame as received, and the
/// same bytes later become the stored `_source`.
pub(crate) struct RecordBuf {
    pub buf: Vec<u8>,
    pub kind: Kind,
    pub tenant: Arc<str>,
    pub docs: Vec<DocMeta>,
    count_at: usize,
}

impl RecordBuf {
    pub fn new(kind: Kind, tenant: Arc<str>) -> RecordBuf {
        let mut buf = Vec::with_capacity(64 * 1024);
        buf.extend_from_slice(&[0u8; FRAME_HEADER]);
        buf.extend_from_slice(&0u64.to_le_bytes());
        buf.push(kind as u8);
        // Tenant ids are validated to at most 64 bytes before a record is made.
        buf.push(tenant.len().min(255) as u8);
        buf.extend_from_slice(&tenant.as_bytes()[..tenant.len().min(255)]);
        let count_at = buf.len();
        buf.extend_from_slice(&0u32.to_le_bytes());
        RecordBuf {
            buf,
            kind,
            tenant,
            docs: Vec::new(),
            count_at,
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Appends one event: its id, time and text.
    pub fn push(&mut self, id: String, ts_ms: i64, source: EventSource) {
        let json = source.json().as_bytes();
        let mut id_bytes = [b'0'; ID_LEN];
        let n = id.len().min(ID_LEN);
        id_bytes[..n].copy_from_slice(&id.as_bytes()[..n]);
        self.buf.extend_from_slice(&id_bytes);
        self.buf.extend_from_slice(&ts_ms.to_le_bytes());
        // Events are bounded (`max_doc_bytes`) far below 4 GiB.
        self.buf
            .extend_from_slice(&(json.len().min(u32::MAX as usize) as u32).to_le_bytes());
        self.buf.extend_from_slice(json);
        self.docs.push(DocMeta { id, ts_ms, source });
    }

    /// Stamps the record with its sequence number and fills in count, length and checksum.
    pub fn seal(&mut self, lsn: u64) {
        let count = self.docs.len() as u32;
        self.buf[self.count_at..self.count_at + 4].copy_from_slice(&count.to_le_bytes());
        self.buf[LSN_AT..KIND_AT].copy_from_slice(&lsn.to_le_bytes());
        let body_len = (self.buf.len() - FRAME_HEADER) as u32;
        let crc = crc32fast::hash(&self.buf[FRAME_HEADER..]);
        self.buf[0..4].copy_from_slice(&body_len.to_le_bytes());
        self.buf[4..8].copy_from_slice(&crc.to_le_bytes());
    }
}

/// A record read back from disk, before its JSON is parsed.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub lsn: u64,
    pub kind: Kind,
    pub tenant: String,
    /// (id, timestamp, JSON byte range within `frame`)
    pub docs: Vec<(String, i64, Range<usize>)>,
    pub frame: Vec<u8>,
}

/// Reads the frame header: (body length, crc). `None` if the length is not believable.
pub(crate) fn frame_header(h: &[u8; FRAME_HEADER]) -> Option<(usize, u32)> {
    let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
    let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    (8 + 1 + 1 + 4..=MAX_FRAME_BODY)
        .contains(&len)
        .then_some((len, crc))
}

/// Decodes a whole frame whose CRC has been checked. `None` means the body is inconsistent
/// (which, past a good CRC, only a bug could cause, but replay must not panic on it).
pub(crate) fn decode(frame: Vec<u8>) -> Option<Decoded> {
    let mut r = Reader {
        b: &frame,
        at: FRAME_HEADER,
    };
    let lsn = u64::from_le_bytes(r.array()?);
    let kind = match r.take(1)?[0] {
        1 => Kind::Add,
        2 => Kind::Replace,
        _ => return None,
    };
    let tlen = r.take(1)?[0] as usize;
    let tenant = std::str::from_utf8(r.take(tlen)?).ok()?.to_owned();
    let count = u32::from_le_bytes(r.array()?) as usize;
    let mut docs = Vec::with_capacity(count.min(100_000));
    for _ in 0..count {
        let id = std::str::from_utf8(r.take(ID_LEN)?).ok()?.to_owned();
        let ts = i64::from_le_bytes(r.array()?);
        let len = u32::from_le_bytes(r.array()?) as usize;
        let start = r.at;
        r.take(len)?;
        docs.push((id, ts, start..start + len));
    }
    if r.at != frame.len() {
        return None;
    }
    Some(Decoded {
        lsn,
        kind,
        tenant,
        docs,
        frame,
    })
}

/// A frame received whole (a JetStream message): its length and checksum checked, decoded.
pub(crate) fn decode_checked(frame: Vec<u8>) -> Option<Decoded> {
    let h: [u8; FRAME_HEADER] = frame.get(..FRAME_HEADER)?.try_into().ok()?;
    let (len, crc) = frame_header(&h)?;
    let body = frame.get(FRAME_HEADER..)?;
    if body.len() != len || crc32fast::hash(body) != crc {
        return None;
    }
    decode(frame)
}

/// Events were checked against `max_doc_depth` when written; replay accepts any depth serde_json
/// parses, so lowering the option never makes logged events unreadable.
const REPLAY_MAX_DEPTH: usize = usize::MAX;

/// A decoded record as the indexer takes it, at position `lsn` (a JetStream message's stream
/// sequence; the WAL's own number for a segment record).
pub(crate) fn to_op(rec: Decoded, lsn: u64) -> IndexOp {
    let mut docs = Vec::with_capacity(rec.docs.len());
    for (id, ts_ms, json) in rec.docs {
        let bytes = rec.frame.get(json).unwrap_or_default().to_vec();
        let parsed = String::from_utf8(bytes)
            .map_err(|e| e.to_string())
            .and_then(|text| EventSource::parse(text, REPLAY_MAX_DEPTH));
        match parsed {
            Ok(source) => docs.push(DocMeta { id, ts_ms, source }),
            // A record with a good checksum whose JSON does not parse means a bug, not damage:
            // say so and keep the rest of the batch.
            Err(e) => tracing::error!(lsn, %id, error = %e, "unreadable event in the log"),
        }
    }
    IndexOp {
        lsn,
        kind: rec.kind,
        tenant: Arc::from(rec.tenant.as_str()),
        docs,
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_sealed_record_decodes_to_what_was_pushed() {
        let mut rec = RecordBuf::new(Kind::Add, Arc::from("t1"));
        for i in 0..3 {
            rec.push(
                format!("{i:032x}"),
                1000 + i,
                EventSource::of_value(&json!({"n": i})),
            );
        }
        rec.seal(42);
        let h: [u8; 8] = rec.buf[..8].try_into().unwrap();
        let (len, crc) = frame_header(&h).unwrap();
        assert_eq!(len, rec.buf.len() - 8);
        assert_eq!(crc, crc32fast::hash(&rec.buf[8..]));
        let d = decode(rec.buf.clone()).unwrap();
        assert_eq!((d.lsn, d.kind, d.tenant.as_str()), (42, Kind::Add, "t1"));
        assert_eq!(d.docs.len(), 3);
        let (id, ts, range) = &d.docs[2];
        assert_eq!((id.as_str(), *ts), (format!("{:032x}", 2).as_str(), 1002));
        assert_eq!(&d.frame[range.clone()], br#"{"n":2}"#);
        // A frame cut short anywhere does not decode.
        assert!(decode(rec.buf[..rec.buf.len() - 1].to_vec()).is_none());
        assert!(decode_checked(rec.buf.clone()).is_some());
        let mut flipped = rec.buf.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(
            decode_checked(flipped).is_none(),
            "a flipped bit fails the checksum"
        );
    }
}
