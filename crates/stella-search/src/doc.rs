//! How an event is handed to tantivy: a view over the already-parsed `serde_json::Value` and
//! the JSON bytes in the WAL record, so indexing converts nothing.

use std::sync::Arc;

use tantivy::schema::document::{ReferenceValue, ReferenceValueLeaf};
use tantivy::schema::{Document, Field, Value};
use tantivy::DateTime;

use crate::schema::Fields;

/// One event as tantivy indexes it.
#[derive(Debug)]
pub(crate) struct EventDoc {
    pub fields: Fields,
    pub id: String,
    pub ts_ms: i64,
    pub value: Arc<serde_json::Value>,
    /// The record the JSON bytes live in, and where.
    pub frame: Arc<Vec<u8>>,
    pub json: std::ops::Range<usize>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum DocValue<'a> {
    Str(&'a str),
    Date(DateTime),
    Bytes(&'a [u8]),
    Json {
        v: &'a serde_json::Value,
        /// At the top level, `timestamp`/`@timestamp` are left out (they are the date field).
        root: bool,
    },
}

impl Document for EventDoc {
    type Value<'a> = DocValue<'a>;
    type FieldsValuesIter<'a> = std::array::IntoIter<(Field, DocValue<'a>), 4>;

    fn iter_fields_and_values(&self) -> Self::FieldsValuesIter<'_> {
        let f = &self.fields;
        [
            (f.id, DocValue::Str(&self.id)),
            (
                f.timestamp,
                DocValue::Date(DateTime::from_timestamp_millis(
                    self.ts_ms.clamp(crate::time::MIN_MS, crate::time::MAX_MS),
                )),
            ),
            (
                f.source,
                DocValue::Bytes(self.frame.get(self.json.clone()).unwrap_or_default()),
            ),
            (
                f.event,
                DocValue::Json {
                    v: &self.value,
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
        use serde_json::Value as J;
        match *self {
            DocValue::Str(s) => ReferenceValueLeaf::Str(s).into(),
            DocValue::Date(d) => ReferenceValueLeaf::Date(d).into(),
            DocValue::Bytes(b) => ReferenceValueLeaf::Bytes(b).into(),
            DocValue::Json { v, root } => match v {
                J::Object(map) => ReferenceValue::Object(ObjectIter {
                    inner: map.iter(),
                    root,
                }),
                J::Array(items) => ReferenceValue::Array(ArrayIter {
                    inner: items.iter(),
                }),
                // Tantivy would read date-like strings as dates; they stay strings here.
                J::String(s) => ReferenceValueLeaf::Str(s).into(),
                J::Number(n) => number_leaf(n).into(),
                J::Bool(b) => ReferenceValueLeaf::Bool(*b).into(),
                J::Null => ReferenceValueLeaf::Null.into(),
            },
        }
    }
}

fn number_leaf(n: &serde_json::Number) -> ReferenceValueLeaf<'static> {
    if let Some(i) = n.as_i64() {
        ReferenceValueLeaf::I64(i)
    } else if let Some(u) = n.as_u64() {
        ReferenceValueLeaf::U64(u)
    } else if let Some(f) = n.as_f64() {
        ReferenceValueLeaf::F64(f)
    } else {
        ReferenceValueLeaf::Null
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ArrayIter<'a> {
    inner: std::slice::Iter<'a, serde_json::Value>,
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = DocValue<'a>;

    fn next(&mut self) -> Option<DocValue<'a>> {
        let v = self.inner.next()?;
        Some(DocValue::Json { v, root: false })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ObjectIter<'a> {
    inner: serde_json::map::Iter<'a>,
    root: bool,
}

impl<'a> Iterator for ObjectIter<'a> {
    type Item = (&'a str, DocValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (k, v) = self.inner.next()?;
            if self.root && is_timestamp_key(k) {
                continue;
            }
            return Some((k.as_str(), DocValue::Json { v, root: false }));
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

    pub fn add(&mut self, v: &serde_json::Value) {
        if self.paths.len() >= MAX_TEXT_PATHS {
            return;
        }
        let shape = shape_hash(v, 0x9e37_79b9_7f4a_7c15);
        if self.shapes.contains(&shape) {
            return;
        }
        if self.shapes.len() >= MAX_SHAPES {
            self.shapes.clear();
        }
        self.shapes.insert(shape);
        collect_text_paths(v, &mut self.paths, MAX_TEXT_PATHS);
    }
}

/// FxHash-style mixing: a few cycles per step, good enough to tell shapes apart.
#[inline]
fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95)
}

fn shape_hash(v: &serde_json::Value, mut h: u64) -> u64 {
    use serde_json::Value as J;
    match v {
        J::String(_) => mix(h, 1),
        J::Array(items) => {
            h = mix(h, 2);
            for item in items {
                h = shape_hash(item, h);
            }
            mix(h, 3)
        }
        J::Object(map) => {
            h = mix(h, 4);
            for (k, child) in map {
                // Length plus first and last eight bytes: enough to tell keys apart in practice.
                let b = k.as_bytes();
                let mut head = [0u8; 8];
                let mut tail = [0u8; 8];
                let n = b.len().min(8);
                head[..n].copy_from_slice(&b[..n]);
                tail[..n].copy_from_slice(&b[b.len() - n..]);
                h = mix(h, b.len() as u64);
                h = mix(h, u64::from_le_bytes(head));
                h = mix(h, u64::from_le_bytes(tail));
                h = shape_hash(child, mix(h, 5));
            }
            mix(h, 6)
        }
        _ => mix(h, 7),
    }
}

/// Adds the dotted paths of `v`'s string leaves to `paths` (what a field-less `query_string`
/// searches), stopping at `cap` paths.
pub(crate) fn collect_text_paths(
    v: &serde_json::Value,
    paths: &mut std::collections::HashSet<String>,
    cap: usize,
) {
    fn walk(
        v: &serde_json::Value,
        buf: &mut String,
        root: bool,
        paths: &mut std::collections::HashSet<String>,
        cap: usize,
    ) {
        match v {
            serde_json::Value::String(_)
                if !buf.is_empty() && paths.len() < cap && !paths.contains(buf.as_str()) =>
            {
                paths.insert(buf.clone());
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    walk(item, buf, false, paths, cap);
                }
            }
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    if root && is_timestamp_key(k) {
                        continue;
                    }
                    let len = buf.len();
                    if !buf.is_empty() {
                        buf.push('.');
                    }
                    buf.push_str(k);
                    walk(child, buf, false, paths, cap);
                    buf.truncate(len);
                }
            }
            _ => {}
        }
    }
    if paths.len() < cap {
        walk(v, &mut String::new(), true, paths, cap);
    }
}
