//! How an event is handed to tantivy: a view over its parsed [`Tape`] and its JSON text (the
//! request's own bytes), so indexing converts nothing.

use tantivy::schema::document::{ReferenceValue, ReferenceValueLeaf};
use tantivy::schema::{Document, Field, Value};
use tantivy::DateTime;

use crate::bulk::EventSource;
use crate::schema::Fields;
use crate::tape::{Elements, Members, Node, Tape};

/// One event as tantivy indexes it.
#[derive(Debug)]
pub(crate) struct EventDoc {
    pub fields: Fields,
    pub id: String,
    pub ts_ms: i64,
    pub source: EventSource,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum DocValue<'a> {
    Str(&'a str),
    Date(DateTime),
    Bytes(&'a [u8]),
    Json {
        tape: &'a Tape,
        text: &'a str,
        at: usize,
        /// At the top level, `timestamp`/`@timestamp` are left out (they are the date field).
        root: bool,
    },
}

impl Document for EventDoc {
    type Value<'a> = DocValue<'a>;
    type FieldsValuesIter<'a> = std::array::IntoIter<(Field, DocValue<'a>), 4>;

    fn iter_fields_and_values(&self) -> Self::FieldsValuesIter<'_> {
        let f = &self.fields;
        let (text, tape) = self.source.parts();
        [
            (f.id, DocValue::Str(&self.id)),
            (
                f.timestamp,
                DocValue::Date(DateTime::from_timestamp_millis(
                    self.ts_ms.clamp(crate::time::MIN_MS, crate::time::MAX_MS),
                )),
            ),
            (f.source, DocValue::Bytes(text.as_bytes())),
            (
                f.event,
                DocValue::Json {
                    tape,
                    text,
                    at: 0,
                    root: true,
                },
            ),
        ]
        .into_iter()
    }
}

/// True for the top-level keys that feed the `timestamp` field instead of `event`.
pub(crate) fn is_timestamp_key(k: &str) -> bool {
    k == "timestamp" || k == "@timestamp"
}

impl<'a> Value<'a> for DocValue<'a> {
    type ArrayIter = ArrayIter<'a>;
    type ObjectIter = ObjectIter<'a>;

    fn as_value(&self) -> ReferenceValue<'a, Self> {
        match *self {
            DocValue::Str(s) => ReferenceValueLeaf::Str(s).into(),
            DocValue::Date(d) => ReferenceValueLeaf::Date(d).into(),
            DocValue::Bytes(b) => ReferenceValueLeaf::Bytes(b).into(),
            DocValue::Json {
                tape,
                text,
                at,
                root,
            } => match tape.node(at) {
                Node::Object { .. } => ReferenceValue::Object(ObjectIter {
                    inner: tape.members(at),
                    tape,
                    text,
                    root,
                }),
                Node::Array { .. } => ReferenceValue::Array(ArrayIter {
                    inner: tape.elements(at),
                    tape,
                    text,
                }),
                // Tantivy would read date-like strings as dates; they stay strings here.
                Node::Str { .. } => ReferenceValueLeaf::Str(tape.str(text, at)).into(),
                Node::I64(n) => ReferenceValueLeaf::I64(n).into(),
                Node::U64(n) => ReferenceValueLeaf::U64(n).into(),
                Node::F64(f) => ReferenceValueLeaf::F64(f).into(),
                Node::Bool(b) => ReferenceValueLeaf::Bool(b).into(),
                Node::Null => ReferenceValueLeaf::Null.into(),
            },
        }
    }
}

#[derive(Clone)]
pub(crate) struct ArrayIter<'a> {
    inner: Elements<'a>,
    tape: &'a Tape,
    text: &'a str,
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = DocValue<'a>;

    fn next(&mut self) -> Option<DocValue<'a>> {
        let at = self.inner.next()?;
        Some(DocValue::Json {
            tape: self.tape,
            text: self.text,
            at,
            root: false,
        })
    }
}

#[derive(Clone)]
pub(crate) struct ObjectIter<'a> {
    inner: Members<'a>,
    tape: &'a Tape,
    text: &'a str,
    root: bool,
}

impl<'a> Iterator for ObjectIter<'a> {
    type Item = (&'a str, DocValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (k, v) = self.inner.next()?;
            let key = self.tape.str(self.text, k);
            if self.root && is_timestamp_key(key) {
                continue;
            }
            return Some((
                key,
                DocValue::Json {
                    tape: self.tape,
                    text: self.text,
                    at: v,
                    root: false,
                },
            ));
        }
    }
}

/// Remembers the string paths of a tenant's events (what a field-less `query_string`
/// searches). Events of one source mostly share one shape, so a cheap hash of the keys and
/// leaf kinds skips the walk for shapes already seen.
#[derive(Default)]
pub(crate) struct TextPaths {
    pub paths: std::collections::HashSet<String>,
    shapes: std::collections::HashSet<u64>,
}

/// Most string paths remembered per tenant (Elasticsearch caps its `*` expansion at 1024).
pub(crate) const MAX_TEXT_PATHS: usize = 1024;
const MAX_SHAPES: usize = 4096;

impl TextPaths {
    pub fn from_paths(paths: Vec<String>) -> TextPaths {
        TextPaths {
            paths: paths.into_iter().collect(),
            shapes: Default::default(),
        }
    }

    pub fn add(&mut self, tape: &Tape, text: &str) {
        if self.paths.len() >= MAX_TEXT_PATHS {
            return;
        }
        let shape = shape_hash(tape, text);
        if self.shapes.contains(&shape) {
            return;
        }
        if self.shapes.len() >= MAX_SHAPES {
            self.shapes.clear();
        }
        self.shapes.insert(shape);
        collect_text_paths(tape, text, &mut self.paths, MAX_TEXT_PATHS);
    }
}

/// FxHash-style mixing: a few cycles per step, good enough to tell shapes apart.
#[inline]
fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// An event's shape: its nodes' kinds and container sizes in document order (which fixes the
/// tree) and its keys, by length plus first and last eight bytes (enough to tell keys apart in
/// practice). One pass over the flat tape.
fn shape_hash(tape: &Tape, text: &str) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15;
    for (i, node) in tape.nodes().iter().enumerate() {
        h = match *node {
            Node::Str { key: true, .. } => {
                let b = tape.str(text, i).as_bytes();
                let mut head = [0u8; 8];
                let mut tail = [0u8; 8];
                let n = b.len().min(8);
                head[..n].copy_from_slice(&b[..n]);
                tail[..n].copy_from_slice(&b[b.len() - n..]);
                let h = mix(mix(h, 5), b.len() as u64);
                mix(mix(h, u64::from_le_bytes(head)), u64::from_le_bytes(tail))
            }
            Node::Str { .. } => mix(h, 1),
            Node::Array { count, .. } => mix(mix(h, 2), count.into()),
            Node::Object { count, .. } => mix(mix(h, 4), count.into()),
            _ => mix(h, 7),
        };
    }
    h
}

/// Adds the dotted paths of the event's string leaves to `paths` (what a field-less
/// `query_string` searches), stopping at `cap` paths.
pub(crate) fn collect_text_paths(
    tape: &Tape,
    text: &str,
    paths: &mut std::collections::HashSet<String>,
    cap: usize,
) {
    struct Walk<'a> {
        tape: &'a Tape,
        text: &'a str,
        buf: String,
        paths: &'a mut std::collections::HashSet<String>,
        cap: usize,
    }
    impl Walk<'_> {
        fn walk(&mut self, at: usize, root: bool) {
            match self.tape.node(at) {
                Node::Str { .. }
                    if !self.buf.is_empty()
                        && self.paths.len() < self.cap
                        && !self.paths.contains(self.buf.as_str()) =>
                {
                    self.paths.insert(self.buf.clone());
                }
                Node::Array { .. } => {
                    for item in self.tape.elements(at) {
                        self.walk(item, false);
                    }
                }
                Node::Object { .. } => {
                    for (k, child) in self.tape.members(at) {
                        let key = self.tape.str(self.text, k);
                        if root && is_timestamp_key(key) {
                            continue;
                        }
                        let len = self.buf.len();
                        if !self.buf.is_empty() {
                            self.buf.push('.');
                        }
                        self.buf.push_str(key);
                        self.walk(child, false);
                        self.buf.truncate(len);
                    }
                }
                _ => {}
            }
        }
    }
    if paths.len() < cap {
        Walk {
            tape,
            text,
            buf: String::new(),
            paths,
            cap,
        }
        .walk(0, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn add(paths: &mut TextPaths, v: serde_json::Value) {
        let text = v.to_string();
        paths.add(&Tape::parse(&text, 16).unwrap(), &text);
    }

    fn sorted(paths: &TextPaths) -> Vec<&str> {
        let mut out: Vec<&str> = paths.paths.iter().map(String::as_str).collect();
        out.sort();
        out
    }

    #[test]
    fn text_paths_follow_each_new_shape() {
        let mut paths = TextPaths::default();
        add(
            &mut paths,
            json!({"timestamp": 1, "a": "x", "n": 1, "o": {"b": "y"}}),
        );
        assert_eq!(sorted(&paths), ["a", "o.b"]);
        // Same shape, other values: nothing new (and the walk is skipped).
        add(
            &mut paths,
            json!({"timestamp": 2, "a": "z", "n": 5, "o": {"b": "w"}}),
        );
        assert_eq!(paths.shapes.len(), 1);
        // A leaf that turns into a string, a new key, a longer array: new shapes.
        add(&mut paths, json!({"a": "x", "n": "one", "o": {"b": "y"}}));
        add(
            &mut paths,
            json!({"a": "x", "o": {"b": "y", "c": ["s", "t"]}}),
        );
        assert_eq!(sorted(&paths), ["a", "n", "o.b", "o.c"]);
        assert_eq!(paths.shapes.len(), 3);
    }
}
