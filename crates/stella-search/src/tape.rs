//! A parsed event as a flat "tape" of nodes over its JSON text, instead of a
//! `serde_json::Value` tree.
//!
//! Ingest parses every event once, indexes it and keeps its text as `_source`. A `Value` costs
//! an allocation per string, key and object (then as many frees), and its text had to be
//! written out again for the WAL. A tape is one `Vec`: strings without escapes are byte ranges
//! into the event's own text (which goes to the WAL as received), so parsing allocates almost
//! nothing and nothing is serialized again. serde_json still does the parsing: the tape is
//! built by a serde visitor, so what is accepted as JSON is exactly what serde_json accepts.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// One node. Containers are followed by their children (an object's as key, value, key,
/// value…); `end` is the index just past the container's last descendant, so a subtree can be
/// skipped in one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    /// A string, or an object key (`key`): `start..start+len` in the event's text, or, if
    /// `unescaped`, in the tape's own buffer of strings whose escapes had to be resolved.
    Str {
        start: u32,
        len: u32,
        unescaped: bool,
        key: bool,
    },
    Array {
        count: u32,
        end: u32,
    },
    Object {
        count: u32,
        end: u32,
    },
}

/// A parsed JSON document. The text it was parsed from is not held here (it lives in a WAL
/// frame or a request body); every accessor takes it as `text`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tape {
    nodes: Vec<Node>,
    unescaped: String,
}

/// Why a text could not become a tape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TapeError {
    /// Not JSON (serde_json's message).
    Syntax(String),
    /// Nested deeper than allowed.
    TooDeep(usize),
    /// Over 4 GiB, which the 32-bit offsets cannot address (events are bounded far below).
    TooLarge,
}

impl fmt::Display for TapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TapeError::Syntax(m) => write!(f, "is not valid JSON: {m}"),
            TapeError::TooDeep(d) => write!(f, "nests deeper than {d} levels"),
            TapeError::TooLarge => f.write_str("is too large"),
        }
    }
}

impl Tape {
    /// Parses `text`, refusing nesting deeper than `max_depth` (a scalar is depth 0, the
    /// members of a top-level object depth 1).
    pub(crate) fn parse(text: &str, max_depth: usize) -> Result<Tape, TapeError> {
        if text.len() > u32::MAX as usize {
            return Err(TapeError::TooLarge);
        }
        let mut tape = Tape {
            nodes: Vec::with_capacity(text.len() / 24 + 4),
            unescaped: String::new(),
        };
        let mut de = serde_json::Deserializer::from_str(text);
        let seed = Builder {
            tape: &mut tape,
            base: text.as_ptr() as usize,
            depth: 0,
            max_depth,
            key: false,
        };
        let result = seed.deserialize(&mut de).and_then(|()| de.end());
        match result {
            Ok(()) => Ok(tape),
            Err(e) => {
                let msg = e.to_string();
                if msg.starts_with(DEPTH_MARK) {
                    Err(TapeError::TooDeep(max_depth))
                } else {
                    Err(TapeError::Syntax(msg))
                }
            }
        }
    }

    /// Every node, in document order (a container before its children, keys before values).
    pub(crate) fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub(crate) fn node(&self, i: usize) -> Node {
        self.nodes.get(i).copied().unwrap_or(Node::Null)
    }

    /// The index just past node `i` and its descendants.
    pub(crate) fn next(&self, i: usize) -> usize {
        match self.node(i) {
            Node::Array { end, .. } | Node::Object { end, .. } => end as usize,
            _ => i + 1,
        }
    }

    /// The text of a string node (empty for any other node).
    pub(crate) fn str<'a>(&'a self, text: &'a str, i: usize) -> &'a str {
        match self.node(i) {
            Node::Str {
                start,
                len,
                unescaped,
                ..
            } => {
                let r = start as usize..(start as usize + len as usize);
                if unescaped {
                    self.unescaped.get(r).unwrap_or_default()
                } else {
                    text.get(r).unwrap_or_default()
                }
            }
            _ => "",
        }
    }

    /// `(key index, value index)` of each member of the object at `i`.
    pub(crate) fn members(&self, i: usize) -> Members<'_> {
        Members {
            tape: self,
            at: i + 1,
            left: self.children(i, true),
        }
    }

    /// The index of each element of the array at `i`.
    pub(crate) fn elements(&self, i: usize) -> Elements<'_> {
        Elements {
            tape: self,
            at: i + 1,
            left: self.children(i, false),
        }
    }

    /// How many children node `i` has if it is an object (`object`) or an array (`!object`);
    /// 0 for anything else. Children start at `i + 1`.
    fn children(&self, i: usize, object: bool) -> u32 {
        match (self.node(i), object) {
            (Node::Object { count, .. }, true) | (Node::Array { count, .. }, false) => count,
            _ => 0,
        }
    }

    /// The value of member `key` of the object at `i`.
    pub(crate) fn get(&self, text: &str, i: usize, key: &str) -> Option<usize> {
        self.members(i)
            .find(|&(k, _)| self.str(text, k) == key)
            .map(|(_, v)| v)
    }

    /// Node `i` and its descendants as a `serde_json::Value`.
    pub(crate) fn to_value(&self, text: &str, i: usize) -> Value {
        match self.node(i) {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::I64(n) => Value::from(n),
            Node::U64(n) => Value::from(n),
            Node::F64(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
            Node::Str { .. } => Value::String(self.str(text, i).to_owned()),
            Node::Array { .. } => {
                Value::Array(self.elements(i).map(|e| self.to_value(text, e)).collect())
            }
            Node::Object { .. } => Value::Object(
                self.members(i)
                    .map(|(k, v)| (self.str(text, k).to_owned(), self.to_value(text, v)))
                    .collect(),
            ),
        }
    }

    /// Every string value (not keys) under node `i`, in document order.
    pub(crate) fn string_leaves<'a>(&'a self, text: &'a str, i: usize, out: &mut Vec<&'a str>) {
        match self.node(i) {
            Node::Str { .. } => out.push(self.str(text, i)),
            Node::Array { .. } => self
                .elements(i)
                .for_each(|e| self.string_leaves(text, e, out)),
            Node::Object { .. } => self
                .members(i)
                .for_each(|(_, v)| self.string_leaves(text, v, out)),
            _ => {}
        }
    }
}

#[derive(Clone)]
pub(crate) struct Members<'t> {
    tape: &'t Tape,
    at: usize,
    left: u32,
}

impl Iterator for Members<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let key = self.at;
        let value = key + 1;
        self.at = self.tape.next(value);
        Some((key, value))
    }
}

#[derive(Clone)]
pub(crate) struct Elements<'t> {
    tape: &'t Tape,
    at: usize,
    left: u32,
}

impl Iterator for Elements<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let i = self.at;
        self.at = self.tape.next(i);
        Some(i)
    }
}

/// Prefix of the error message the builder fails with past the depth limit.
const DEPTH_MARK: &str = "stella-tape-depth";

/// An object key serde_json gives a meaning of its own (with its `raw_value` feature, which this
/// crate uses): an object whose first key it is reads back as the raw JSON in its string, so an
/// event holding it would be indexed as one thing and shown (`_source`) as another, or not
/// shown at all. Events may not use it. (Found by the `event_tape` fuzz target.)
pub(crate) const RESERVED_KEY: &str = "$serde_json::private::RawValue";

/// Appends one value (and its descendants) to the tape.
struct Builder<'t> {
    tape: &'t mut Tape,
    /// Address of the text's first byte: a borrowed string's offset is its address minus this.
    base: usize,
    depth: usize,
    max_depth: usize,
    /// This builder reads an object key.
    key: bool,
}

impl Builder<'_> {
    fn string(&mut self, s: &str, borrowed: bool) {
        let node = if borrowed {
            Node::Str {
                start: (s.as_ptr() as usize).wrapping_sub(self.base) as u32,
                len: s.len() as u32,
                unescaped: false,
                key: self.key,
            }
        } else {
            let start = self.tape.unescaped.len() as u32;
            self.tape.unescaped.push_str(s);
            Node::Str {
                start,
                len: s.len() as u32,
                unescaped: true,
                key: self.key,
            }
        };
        self.tape.nodes.push(node);
    }

    fn child(&mut self) -> Builder<'_> {
        Builder {
            tape: self.tape,
            base: self.base,
            depth: self.depth + 1,
            max_depth: self.max_depth,
            key: false,
        }
    }

    fn key(&mut self) -> Builder<'_> {
        Builder {
            key: true,
            ..self.child()
        }
    }

    fn check_key<E: de::Error>(&self, s: &str) -> Result<(), E> {
        if self.key && s == RESERVED_KEY {
            return Err(E::custom(format!("the key \"{RESERVED_KEY}\" is reserved")));
        }
        Ok(())
    }

    fn enter<E: de::Error>(&mut self) -> Result<usize, E> {
        if self.depth + 1 > self.max_depth {
            return Err(E::custom(DEPTH_MARK));
        }
        let at = self.tape.nodes.len();
        self.tape.nodes.push(Node::Null);
        Ok(at)
    }

    fn close(&mut self, at: usize, container: fn(u32, u32) -> Node, count: u32) {
        let end = self.tape.nodes.len() as u32;
        if let Some(n) = self.tape.nodes.get_mut(at) {
            *n = container(count, end);
        }
    }
}

impl<'de> DeserializeSeed<'de> for Builder<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Builder<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.tape.nodes.push(Node::Null);
        Ok(())
    }

    fn visit_bool<E>(self, b: bool) -> Result<(), E> {
        self.tape.nodes.push(Node::Bool(b));
        Ok(())
    }

    fn visit_i64<E>(self, n: i64) -> Result<(), E> {
        self.tape.nodes.push(Node::I64(n));
        Ok(())
    }

    fn visit_u64<E>(self, n: u64) -> Result<(), E> {
        // As serde_json's `as_i64` reads it: integers that fit are signed.
        let node = i64::try_from(n).map_or(Node::U64(n), Node::I64);
        self.tape.nodes.push(node);
        Ok(())
    }

    fn visit_f64<E>(self, f: f64) -> Result<(), E> {
        self.tape.nodes.push(Node::F64(f));
        Ok(())
    }

    fn visit_borrowed_str<E: de::Error>(mut self, s: &'de str) -> Result<(), E> {
        self.check_key(s)?;
        self.string(s, true);
        Ok(())
    }

    fn visit_str<E: de::Error>(mut self, s: &str) -> Result<(), E> {
        self.check_key(s)?;
        self.string(s, false);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let at = self.enter()?;
        let mut count = 0u32;
        while seq.next_element_seed(self.child())?.is_some() {
            count += 1;
        }
        self.close(at, |count, end| Node::Array { count, end }, count);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let at = self.enter()?;
        let mut count = 0u32;
        while map.next_key_seed(self.key())?.is_some() {
            map.next_value_seed(self.child())?;
            count += 1;
        }
        self.close(at, |count, end| Node::Object { count, end }, count);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn roundtrip(text: &str) -> Value {
        let tape = Tape::parse(text, 64).unwrap();
        tape.to_value(text, 0)
    }

    #[test]
    fn the_key_serde_json_reads_as_raw_json_is_refused() {
        // serde_json reads this object as the number 12: indexed as one thing, shown as another.
        let text = r#"{"x": {"$serde_json::private::RawValue": "12"}}"#;
        assert_eq!(
            serde_json::from_str::<Value>(text).ok(),
            Some(json!({"x": 12}))
        );
        match Tape::parse(text, 64) {
            Err(TapeError::Syntax(m)) => assert!(m.contains("reserved"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(Tape::parse(r#"{"a": "$serde_json::private::RawValue"}"#, 64).is_ok());
    }

    #[test]
    fn reads_back_what_serde_json_reads() {
        for text in [
            r#"{"a":1,"b":[true,null,-2,3.5,"x"],"c":{"d":"e\"f","g":{}},"h":[]}"#,
            r#"  [ 1 , {"k" : "v\u00e9"} , [[ ]] ]  "#,
            r#""just a string""#,
            "18446744073709551615",
            "-9223372036854775808",
            r#"{"dup":1,"dup":2}"#,
        ] {
            let want: Value = serde_json::from_str(text).unwrap();
            assert_eq!(roundtrip(text), want, "{text}");
        }
    }

    #[test]
    fn strings_without_escapes_point_into_the_text() {
        let text = r#"{"plain":"abc","esc":"a\nb"}"#;
        let tape = Tape::parse(text, 8).unwrap();
        let members: Vec<_> = tape.members(0).collect();
        assert_eq!(members.len(), 2);
        assert_eq!(
            tape.node(members[0].1),
            Node::Str {
                start: 10,
                len: 3,
                unescaped: false,
                key: false,
            }
        );
        assert!(matches!(
            tape.node(members[1].1),
            Node::Str {
                unescaped: true,
                ..
            }
        ));
        assert_eq!(tape.str(text, members[1].1), "a\nb");
        assert_eq!(
            tape.get(text, 0, "esc").map(|v| tape.str(text, v)),
            Some("a\nb")
        );
        assert_eq!(tape.get(text, 0, "nope"), None);
    }

    #[test]
    fn depth_is_bounded() {
        assert!(Tape::parse(r#"{"a":{"b":1}}"#, 2).is_ok());
        assert_eq!(
            Tape::parse(r#"{"a":{"b":{"c":1}}}"#, 2),
            Err(TapeError::TooDeep(2))
        );
        assert_eq!(Tape::parse("[[[1]]]", 2), Err(TapeError::TooDeep(2)));
        assert!(Tape::parse("7", 0).is_ok());
    }

    #[test]
    fn syntax_errors_are_refused() {
        for bad in ["", "{", r#"{"a":}"#, "[1,]", "{} x", "nul"] {
            assert!(
                matches!(Tape::parse(bad, 8), Err(TapeError::Syntax(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn string_leaves_in_order() {
        let text = json!({"a": "x", "b": [1, "y", {"c": "z"}]}).to_string();
        let tape = Tape::parse(&text, 8).unwrap();
        let mut out = Vec::new();
        tape.string_leaves(&text, 0, &mut out);
        assert_eq!(out, ["x", "y", "z"]);
    }

    fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let text = "(\\PC|[\"\\\\/\n\t\u{0}-\u{1f}]){0,8}";
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            text.prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 48, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((text, inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 1000, ..Default::default() })]

        /// Any JSON, compact or pretty, reads back as the value serde_json reads.
        #[test]
        fn tapes_read_back_any_json(v in arb_json()) {
            for text in [v.to_string(), serde_json::to_string_pretty(&v).unwrap()] {
                let tape = Tape::parse(&text, usize::MAX).unwrap();
                // serde_json's own reading (its float parsing is not exact by default).
                let want: Value = serde_json::from_str(&text).unwrap();
                proptest::prop_assert_eq!(tape.to_value(&text, 0), want);
            }
        }

        /// Arbitrary text: accepted exactly when serde_json accepts it, never a panic.
        #[test]
        fn tapes_accept_what_serde_json_accepts(text in "[\\[\\]{}\",:0-9a-z\\\\. -]{0,40}") {
            let ours = Tape::parse(&text, usize::MAX);
            let theirs = serde_json::from_str::<Value>(&text);
            proptest::prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{}", text);
            if let (Ok(tape), Ok(v)) = (ours, theirs) {
                proptest::prop_assert_eq!(tape.to_value(&text, 0), v);
            }
        }
    }
}
