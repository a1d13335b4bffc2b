//! Untrusted bytes into a `serde_json::Value` (size, encoding and nesting checked first), and
//! typed field access whose errors carry the JSON path of the field.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use crate::error::{excerpt, Limit, VexError};
use crate::Limits;

pub(crate) type Object = Map<String, Value>;

pub(crate) fn read(bytes: &[u8], limits: &Limits) -> Result<Value, VexError> {
    if bytes.len() > limits.max_bytes {
        return Err(VexError::TooLarge {
            limit: Limit::Bytes,
            max: limits.max_bytes,
            path: None,
        });
    }
    let not_json = |detail: String| VexError::NotJson { detail };
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(not_json(
            "it is gzip-compressed: send it uncompressed".into(),
        ));
    }
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(not_json("it is UTF-16: save it as UTF-8".into()));
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        not_json(format!(
            "it is not UTF-8 (invalid byte sequence at byte {})",
            e.valid_up_to()
        ))
    })?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(not_json("it is empty".into()));
    }
    if trimmed.starts_with('<') {
        return Err(not_json(
            "it looks like XML: CycloneDX XML is not read, send the JSON form".into(),
        ));
    }
    check_depth(text.as_bytes(), limits.max_depth)?;
    serde_json::from_str(text).map_err(|e| {
        if e.to_string().starts_with("recursion limit exceeded") {
            return VexError::TooLarge {
                limit: Limit::Depth,
                max: limits.max_depth.min(128),
                path: None,
            };
        }
        not_json(e.to_string())
    })
}

/// Nesting measured in one flat pass, before serde_json recurses.
fn check_depth(bytes: &[u8], max_depth: usize) -> Result<(), VexError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return Err(VexError::TooLarge {
                        limit: Limit::Depth,
                        max: max_depth,
                        path: None,
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A JSON path built on the stack while descending; rendered only for errors and warnings.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub(crate) fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    pub(crate) fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }

    pub(crate) fn invalid(
        &self,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> VexError {
        VexError::Invalid {
            path: self.to_string(),
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub(crate) fn wrong(&self, expected: &str, found: &Value) -> VexError {
        self.invalid(expected, kind(found))
    }

    pub(crate) fn too_many(&self, limit: Limit, max: usize) -> VexError {
        VexError::TooLarge {
            limit,
            max,
            path: Some(self.to_string()),
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("$"),
            Path::Key(parent, key) => {
                let plain =
                    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if plain {
                    write!(f, "{parent}.{key}")
                } else {
                    write!(f, "{parent}[{:?}]", excerpt(key))
                }
            }
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// How a value is named in messages ("expected a string, found an object").
pub(crate) fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(s) => format!("the string {:?}", excerpt(s)),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Field access with the document's limits at hand.
pub(crate) struct Reader<'l> {
    pub(crate) limits: &'l Limits,
}

impl Reader<'_> {
    pub(crate) fn object<'v>(&self, v: &'v Value, path: &Path) -> Result<&'v Object, VexError> {
        v.as_object().ok_or_else(|| path.wrong("an object", v))
    }

    /// A string value, bounded; `""` reads as `None`.
    pub(crate) fn string<'v>(
        &self,
        v: &'v Value,
        path: &Path,
    ) -> Result<Option<&'v str>, VexError> {
        match v {
            Value::String(s) => self.bounded(s, path),
            other => Err(path.wrong("a string", other)),
        }
    }

    fn bounded<'v>(&self, s: &'v str, path: &Path) -> Result<Option<&'v str>, VexError> {
        if s.len() > self.limits.max_string_bytes {
            return Err(path.too_many(Limit::StringBytes, self.limits.max_string_bytes));
        }
        let t = s.trim();
        Ok((!t.is_empty()).then_some(t))
    }

    /// A string field; absent, `null` and `""` all read as `None`.
    pub(crate) fn opt_str<'v>(
        &self,
        o: &'v Object,
        key: &str,
        path: &Path,
    ) -> Result<Option<&'v str>, VexError> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => self.string(v, &path.key(key)),
        }
    }

    pub(crate) fn opt_array<'v>(
        &self,
        o: &'v Object,
        key: &str,
        path: &Path,
    ) -> Result<Option<&'v [Value]>, VexError> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.as_slice())),
            Some(other) => Err(path.key(key).wrong("an array", other)),
        }
    }

    pub(crate) fn opt_object<'v>(
        &self,
        o: &'v Object,
        key: &str,
        path: &Path,
    ) -> Result<Option<&'v Object>, VexError> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(other) => Err(path.key(key).wrong("an object", other)),
        }
    }

    /// An RFC 3339 timestamp; one without an offset is taken as UTC.
    pub(crate) fn opt_time(
        &self,
        o: &Object,
        key: &str,
        path: &Path,
    ) -> Result<Option<DateTime<Utc>>, VexError> {
        let p = path.key(key);
        let Some(s) = self.opt_str(o, key, path)? else {
            return Ok(None);
        };
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(Some(t.with_timezone(&Utc)));
        }
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
                return Ok(Some(t.and_utc()));
            }
        }
        Err(p.invalid(
            "an RFC 3339 timestamp such as 2024-05-01T12:00:00Z",
            format!("{:?}", excerpt(s)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_jsonpath() {
        let root = Path::Root;
        let st = root.key("statements");
        let two = st.index(2);
        assert_eq!(two.key("status").to_string(), "$.statements[2].status");
        assert_eq!(two.key("@id").to_string(), "$.statements[2][\"@id\"]");
    }

    #[test]
    fn depth_ignores_brackets_inside_strings() {
        assert!(check_depth(br#"{"a":"[[[[[[[[[[\"[[[["}"#, 2).is_ok());
        assert!(check_depth(b"[[[[]]]]", 3).is_err());
    }
}
