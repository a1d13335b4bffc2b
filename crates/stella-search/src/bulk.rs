//! An ingest request body split into its events, each parsed once into a [`Tape`] over the
//! body's own bytes. The body is kept as received: each event's text is what goes to the WAL
//! and becomes its `_source`, as Elasticsearch keeps `_source` as sent.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::SearchError;
use crate::event::check_root;
use crate::tape::{Node, Tape, TapeError};

/// One event of a bulk: its text and its parsed form. Cheap to clone (shared).
#[derive(Clone)]
pub struct EventSource {
    text: Arc<String>,
    json: Range<usize>,
    pub(crate) tape: Arc<Tape>,
    /// The event's own time (`timestamp`/`@timestamp`), read when it was checked.
    pub(crate) time_ms: Option<i64>,
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSource")
            .field("json", &self.json())
            .finish()
    }
}

impl EventSource {
    /// An event made from a value, without the checks an ingested event passes (for callers
    /// that hold a `Value` already, such as tests).
    pub fn of_value(v: &Value) -> EventSource {
        let text = v.to_string();
        // A Value's own text always parses; the default (empty) tape is unreachable.
        let tape = Tape::parse(&text, usize::MAX).unwrap_or_default();
        EventSource::whole(text, tape)
    }

    /// One event's text, parsed without the ingest checks (for replaying the WAL).
    pub(crate) fn parse(text: String, max_depth: usize) -> Result<EventSource, String> {
        let tape = Tape::parse(&text, max_depth).map_err(|e| e.to_string())?;
        Ok(EventSource::whole(text, tape))
    }

    /// An event that is all of `text`.
    fn whole(text: String, tape: Tape) -> EventSource {
        EventSource {
            json: 0..text.len(),
            text: Arc::new(text),
            tape: Arc::new(tape),
            time_ms: None,
        }
    }

    /// The event's JSON text, exactly as received.
    pub fn json(&self) -> &str {
        self.text.get(self.json.clone()).unwrap_or_default()
    }

    /// The event as a `serde_json::Value` (builds one: for the rare paths that need it).
    pub fn to_value(&self) -> Value {
        self.tape.to_value(self.json(), 0)
    }

    /// Every string value in the event, nested ones included, in document order.
    pub fn string_leaves(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.tape.string_leaves(self.json(), 0, &mut out);
        out
    }

    /// The value at a dotted path of object keys (`a.b.c`), if there is one.
    pub fn get_path(&self, path: &str) -> Option<Value> {
        let text = self.json();
        let mut at = 0;
        for key in path.split('.') {
            at = self.tape.get(text, at, key)?;
        }
        Some(self.tape.to_value(text, at))
    }

    pub(crate) fn parts(&self) -> (&str, &Arc<Tape>) {
        (self.json(), &self.tape)
    }
}

/// A document of the bulk: the event, or why it was refused.
#[derive(Debug, Clone)]
struct BulkDoc {
    /// Position in the request, for `events[i]` in messages.
    pos: usize,
    parsed: Result<EventSource, String>,
}

/// The events of one ingest request.
#[derive(Debug, Clone, Default)]
pub struct Bulk {
    docs: Vec<BulkDoc>,
}

/// Per-document limits, from the index options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DocLimits {
    pub max_doc_bytes: usize,
    pub max_doc_depth: usize,
}

impl Bulk {
    /// Splits a body — `{"events": [...]}`, a bare array of events, or one event object —
    /// into its events and parses each. A body that is not JSON or has none of those shapes
    /// is refused whole, as is one with more than `max_docs` events; an event that is not an
    /// object, carries `_id`, or is too large or too deep is refused alone (see
    /// [`Bulk::refused`]).
    pub(crate) fn parse(
        body: Vec<u8>,
        max_docs: usize,
        limits: DocLimits,
    ) -> Result<Bulk, SearchError> {
        let text = String::from_utf8(body)
            .map_err(|e| SearchError::invalid(format!("the body is not UTF-8: {e}")))?;
        let ranges = split(&text)?;
        if ranges.len() > max_docs {
            return Err(SearchError::invalid(format!(
                "events: carries {} documents; at most {max_docs} per request",
                ranges.len()
            )));
        }
        Ok(Bulk::of_ranges(text, ranges, limits))
    }

    /// A bulk of already-parsed values (the index's own convenience path and tests).
    pub(crate) fn from_values(values: &[Value], limits: DocLimits) -> Bulk {
        let mut text = String::new();
        let mut ranges = Vec::with_capacity(values.len());
        for v in values {
            let start = text.len();
            text.push_str(&v.to_string());
            ranges.push(start..text.len());
        }
        Bulk::of_ranges(text, ranges, limits)
    }

    /// The events at `ranges` of `text`, each parsed and checked.
    fn of_ranges(text: String, ranges: Vec<Range<usize>>, limits: DocLimits) -> Bulk {
        let text = Arc::new(text);
        let docs = ranges
            .into_iter()
            .enumerate()
            .map(|(pos, json)| BulkDoc {
                pos,
                parsed: parse_event(&text, json, limits),
            })
            .collect();
        Bulk { docs }
    }

    /// Number of documents, refused ones included.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The accepted-so-far events, in request order.
    pub fn events(&self) -> impl Iterator<Item = &EventSource> {
        self.docs.iter().filter_map(|d| d.parsed.as_ref().ok())
    }

    /// Keeps the events `keep` says yes to (refused documents stay, to be reported).
    pub fn retain(&mut self, mut keep: impl FnMut(&EventSource) -> bool) {
        self.docs
            .retain(|d| d.parsed.as_ref().map_or(true, &mut keep));
    }

    /// `(position in the request, event or why it was refused)` of each document.
    pub(crate) fn into_docs(self) -> impl Iterator<Item = (usize, Result<EventSource, String>)> {
        self.docs.into_iter().map(|d| (d.pos, d.parsed))
    }
}

/// Parses one event and checks what an event must be.
fn parse_event(
    text: &Arc<String>,
    json: Range<usize>,
    limits: DocLimits,
) -> Result<EventSource, String> {
    let len = json.len();
    if len > limits.max_doc_bytes {
        return Err(format!(
            "is {len} bytes, more than the limit of {}",
            limits.max_doc_bytes
        ));
    }
    let raw = text.get(json.clone()).unwrap_or_default();
    let tape = Tape::parse(raw, limits.max_doc_depth).map_err(|e| match e {
        TapeError::TooDeep(d) => format!("nests deeper than {d} levels"),
        other => other.to_string(),
    })?;
    if !matches!(tape.node(0), Node::Object { .. }) {
        return Err("must be a JSON object".into());
    }
    let time_ms = check_root(&tape, raw)?;
    Ok(EventSource {
        text: Arc::clone(text),
        json,
        tape: Arc::new(tape),
        time_ms,
    })
}

/// The byte ranges of the events in a body (see [`Bulk::parse`]).
fn split(text: &str) -> Result<Vec<Range<usize>>, SearchError> {
    let shape: Shape<'_> = serde_json::from_str(text).map_err(|e| {
        if e.is_data() {
            SearchError::invalid(strip_position(&e.to_string()))
        } else {
            SearchError::invalid(format!("the body is not valid JSON: {e}"))
        }
    })?;
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let raws = match shape {
        Shape::Events(raws) => raws,
        Shape::One => vec![trimmed],
    };
    raws.into_iter()
        .map(|raw| {
            range_in(text, raw).ok_or_else(|| SearchError::invalid("events: could not be located"))
        })
        .collect()
}

/// Byte range of `inner` within `outer`, when `inner` is a subslice of it.
fn range_in(outer: &str, inner: &str) -> Option<Range<usize>> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    let end = start + inner.len();
    (end <= outer.len()).then_some(start..end)
}

/// serde's messages end with "at line 1 column 17"; the path says more to an API client.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// The text of each element of a JSON array, unparsed.
fn raw_elements<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Vec<&'de str>, A::Error> {
    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16_384));
    while let Some(raw) = seq.next_element::<&'de RawValue>()? {
        out.push(raw.get());
    }
    Ok(out)
}

/// What the top level of a body is: the events it carries (envelope or array), or one event.
enum Shape<'a> {
    Events(Vec<&'a str>),
    One,
}

const SHAPE_HELP: &str = "must be {\"events\": [...]}, an array of events or one event object";

impl<'de> de::Deserialize<'de> for Shape<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SHAPE_HELP)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Shape<'de>, A::Error> {
        raw_elements(seq).map(Shape::Events)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape<'de>, A::Error> {
        let mut events = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "events" {
                let list: EventList<'de> = map.next_value()?;
                events = Some(list.0);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(events.map_or(Shape::One, Shape::Events))
    }
}

/// The value of `"events"`: must be an array.
struct EventList<'a>(Vec<&'a str>);

impl<'de> de::Deserialize<'de> for EventList<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EventList<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("events: must be an array of event objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<EventList<'de>, A::Error> {
                raw_elements(seq).map(EventList)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIMITS: DocLimits = DocLimits {
        max_doc_bytes: 1000,
        max_doc_depth: 4,
    };

    fn jsons(b: &Bulk) -> Vec<String> {
        b.events().map(|e| e.json().to_owned()).collect()
    }

    #[test]
    fn the_three_body_shapes() {
        let env = Bulk::parse(
            br#" {"x":1, "events": [ {"a":1} ,{"b" : 2}]} "#.to_vec(),
            10,
            LIMITS,
        )
        .unwrap();
        assert_eq!(jsons(&env), [r#"{"a":1}"#, r#"{"b" : 2}"#]);
        let arr = Bulk::parse(br#"[{"a":1}]"#.to_vec(), 10, LIMITS).unwrap();
        assert_eq!(jsons(&arr), [r#"{"a":1}"#]);
        let one = Bulk::parse(b"\n {\"a\": [1, 2]}\n".to_vec(), 10, LIMITS).unwrap();
        assert_eq!(jsons(&one), [r#"{"a": [1, 2]}"#]);
        assert_eq!(
            one.events().next().unwrap().to_value(),
            json!({"a": [1, 2]})
        );
    }

    #[test]
    fn bad_bodies_are_refused_whole_with_a_reason() {
        let msg = |b: &[u8]| match Bulk::parse(b.to_vec(), 2, LIMITS) {
            Err(SearchError::Invalid(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(msg(br#"{"events": "x"}"#).contains("events: must be an array"));
        assert!(msg(b"5").contains("must be {\"events\""));
        assert!(msg(b"{\"events\": [1,").contains("not valid JSON"));
        assert!(msg(b"[1,2,3]").contains("at most 2"));
        assert!(msg(b"\xff").contains("UTF-8"));
    }

    #[test]
    fn bad_events_are_refused_alone() {
        let body = json!([{"ok": 1}, 7, {"_id": "x"}, {"a": {"b": {"c": {"d": {}}}}},
            {"big": "x".repeat(1000)}])
        .to_string();
        let bulk = Bulk::parse(body.into_bytes(), 10, LIMITS).unwrap();
        let got: Vec<_> = bulk
            .into_docs()
            .map(|(pos, r)| (pos, r.map(|e| e.json().to_owned())))
            .collect();
        assert_eq!(got[0], (0, Ok(r#"{"ok":1}"#.to_owned())));
        assert_eq!(got[1], (1, Err("must be a JSON object".to_owned())));
        assert!(got[2]
            .1
            .as_ref()
            .unwrap_err()
            .starts_with("_id is assigned"));
        assert_eq!(got[3].1, Err("nests deeper than 4 levels".to_owned()));
        assert!(got[4]
            .1
            .as_ref()
            .unwrap_err()
            .contains("more than the limit of 1000"));
    }

    #[test]
    fn paths_and_leaves() {
        let bulk = Bulk::from_values(&[json!({"a": {"b": "x", "n": 2}, "t": ["y"]})], LIMITS);
        let e = bulk.events().next().unwrap();
        assert_eq!(e.get_path("a.b"), Some(json!("x")));
        assert_eq!(e.get_path("a.n"), Some(json!(2)));
        assert_eq!(e.get_path("a.zz"), None);
        assert_eq!(e.string_leaves(), ["x", "y"]);
    }

    #[test]
    fn retain_keeps_refused_documents_for_the_report() {
        let mut bulk = Bulk::from_values(&[json!({"a": 1}), json!(3), json!({"a": 2})], LIMITS);
        bulk.retain(|e| e.get_path("a") != Some(json!(1)));
        let pos: Vec<_> = bulk.into_docs().map(|(p, r)| (p, r.is_ok())).collect();
        assert_eq!(pos, [(1, false), (2, true)]);
    }

    proptest::proptest! {
        /// Any body: refused with a message or split, never a panic; every split event's text
        /// parses back to itself.
        #[test]
        fn any_body_is_split_or_refused(body in "[\\[\\]{}\",:0-9a-z_ ]{0,60}") {
            if let Ok(bulk) = Bulk::parse(body.into_bytes(), 5, LIMITS) {
                for e in bulk.events() {
                    let v: Value = serde_json::from_str(e.json()).unwrap();
                    proptest::prop_assert_eq!(e.to_value(), v);
                }
            }
        }
    }
}
