//! Turning untrusted bytes into a `serde_json::Value` safely, and reading fields out of it with
//! errors that carry a JSON path (`$.components[3].purl: expected a string, found a number`).
//!
//! The formats are read from a `Value` rather than through `#[derive(Deserialize)]` structs so
//! that every wrong-typed field can be reported with its exact path, fields this crate does not
//! need are never type-checked (producers add vendor fields freely), and one document can be
//! sniffed for its format and then read without parsing it twice.

use std::fmt;

use serde_json::{Map, Value};

use crate::error::{excerpt, Limit, SbomError};
use crate::Limits;

pub(crate) type Object = Map<String, Value>;

/// Checks the envelope (size, encoding, nesting) and parses the JSON.
pub(crate) fn read(bytes: &[u8], limits: &Limits) -> Result<Value, SbomError> {
    if bytes.len() > limits.max_bytes {
        return Err(SbomError::TooLarge {
            limit: Limit::Bytes,
            max: limits.max_bytes,
        });
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(SbomError::unknown_format(
            "the SBOM is gzip-compressed: send the JSON uncompressed",
        ));
    }
    // Windows tools (PowerShell's `>` in particular) write UTF-16 with a byte-order mark.
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(SbomError::NotUtf8 {
            detail: "it is UTF-16".to_owned(),
        });
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| SbomError::NotUtf8 {
        detail: format!("invalid byte sequence at byte {}", e.valid_up_to()),
    })?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(SbomError::Empty);
    }
    if trimmed.starts_with('<') {
        return Err(SbomError::unknown_format(
            "the SBOM looks like XML: CycloneDX XML and SPDX RDF are not supported, send the JSON form",
        ));
    }
    if trimmed.starts_with("SPDXVersion:") {
        return Err(SbomError::unknown_format(
            "the SBOM looks like SPDX tag-value: send SPDX JSON instead",
        ));
    }
    check_depth(text.as_bytes(), limits.max_depth)?;
    serde_json::from_str(text).map_err(|e| malformed(&e, limits))
}

/// Measures nesting without recursion before serde_json sees the document. serde_json stops
/// at 128 levels by itself, but the limit here is the caller's, and the check is a flat loop
/// that no input can make overflow the stack.
fn check_depth(bytes: &[u8], max_depth: usize) -> Result<(), SbomError> {
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
                    return Err(SbomError::TooDeep {
                        limit: Limit::Depth,
                        max: max_depth,
                    });
                }
            }
            // Unbalanced closers are serde_json's to report, with a position.
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn malformed(e: &serde_json::Error, limits: &Limits) -> SbomError {
    let full = e.to_string();
    // serde_json's own guard, reachable only when the caller set max_depth above 128.
    if full.starts_with("recursion limit exceeded") {
        return SbomError::TooDeep {
            limit: Limit::Depth,
            max: limits.max_depth.min(128),
        };
    }
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let mut reason = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    if e.is_eof() {
        reason.push_str(" (is the document truncated?)");
    }
    SbomError::MalformedJson {
        line: e.line(),
        column: e.column(),
        reason,
    }
}

/// A JSON path built on the stack as the readers descend; it is only turned into a string
/// when an error or warning needs it.
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

    pub(crate) fn invalid(&self, problem: impl Into<String>) -> SbomError {
        SbomError::InvalidField {
            path: self.to_string(),
            problem: problem.into(),
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
                    write!(f, "{parent}[{key:?}]")
                }
            }
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// How a value's type is named in messages ("expected a string, found an object").
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong(path: &Path, expected: &str, found: &Value) -> SbomError {
    path.invalid(format!("expected {expected}, found {}", kind(found)))
}

pub(crate) fn as_object<'v>(v: &'v Value, path: &Path) -> Result<&'v Object, SbomError> {
    v.as_object().ok_or_else(|| wrong(path, "an object", v))
}

/// A string field; absent, `null` and `""` all read as `None` (producers use all three for
/// "unknown").
pub(crate) fn opt_str<'v>(
    o: &'v Object,
    key: &str,
    path: &Path,
) -> Result<Option<&'v str>, SbomError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(wrong(&path.key(key), "a string", other)),
    }
}

pub(crate) fn opt_array<'v>(
    o: &'v Object,
    key: &str,
    path: &Path,
) -> Result<Option<&'v [Value]>, SbomError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a.as_slice())),
        Some(other) => Err(wrong(&path.key(key), "an array", other)),
    }
}

pub(crate) fn opt_object<'v>(
    o: &'v Object,
    key: &str,
    path: &Path,
) -> Result<Option<&'v Object>, SbomError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(wrong(&path.key(key), "an object", other)),
    }
}

pub(crate) fn opt_u64(o: &Object, key: &str, path: &Path) -> Result<Option<u64>, SbomError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
            path.key(key)
                .invalid(format!("expected a whole number, found {n}"))
        }),
        Some(other) => Err(wrong(&path.key(key), "a number", other)),
    }
}

/// A string value quoted for a message, cut short.
pub(crate) fn quoted(s: &str) -> String {
    format!("{:?}", excerpt(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_jsonpath() {
        let root = Path::Root;
        let comps = root.key("components");
        let third = comps.index(3);
        assert_eq!(third.key("purl").to_string(), "$.components[3].purl");
        assert_eq!(
            third.key("bom-ref").to_string(),
            "$.components[3][\"bom-ref\"]"
        );
    }

    #[test]
    fn depth_ignores_brackets_inside_strings() {
        assert!(check_depth(br#"{"a":"[[[[[[[[[[\"[[[["}"#, 2).is_ok());
        assert!(check_depth(b"[[[]]]", 3).is_ok());
        assert!(check_depth(b"[[[[]]]]", 3).is_err());
    }
}
