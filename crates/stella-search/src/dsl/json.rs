//! Small readers for request JSON that produce errors naming the offending part
//! (`query.bool.must[1].term`), so a caller can fix the request from the message alone.

use serde_json::{Map, Value};

use crate::error::SearchError;

pub(crate) type Obj = Map<String, Value>;

pub(crate) fn obj<'a>(v: &'a Value, at: &str) -> Result<&'a Obj, SearchError> {
    v.as_object()
        .ok_or_else(|| SearchError::invalid(format!("{at} must be an object")))
}

/// Refuses keys outside `known`.
pub(crate) fn known_keys(m: &Obj, at: &str, known: &[&str]) -> Result<(), SearchError> {
    match m.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(SearchError::unsupported(format!(
            "{at}.{k} is not supported; supported: {}",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ))),
    }
}

/// The one `field: value` entry of objects like `{"term": {"srcip": ...}}`, ignoring the
/// listed parameter keys (e.g. `boost` beside the field in `terms`).
pub(crate) fn field_entry<'a>(
    m: &'a Obj,
    at: &str,
    params: &[&str],
) -> Result<(&'a str, &'a Value), SearchError> {
    let mut fields = m.iter().filter(|(k, _)| !params.contains(&k.as_str()));
    match (fields.next(), fields.next()) {
        (Some((k, v)), None) => Ok((k.as_str(), v)),
        (None, _) => Err(SearchError::invalid(format!("{at} names no field"))),
        (Some(_), Some(_)) => Err(SearchError::invalid(format!(
            "{at} must name exactly one field"
        ))),
    }
}

pub(crate) fn string<'a>(v: &'a Value, at: &str) -> Result<&'a str, SearchError> {
    v.as_str()
        .ok_or_else(|| SearchError::invalid(format!("{at} must be a string")))
}

pub(crate) fn usize_of(v: &Value, at: &str) -> Result<usize, SearchError> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        // Elasticsearch clients sometimes send numbers as strings.
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    n.and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| SearchError::invalid(format!("{at} must be a non-negative integer")))
}

pub(crate) fn boost_of(v: &Value, at: &str) -> Result<f32, SearchError> {
    match v.as_f64() {
        Some(b) if b.is_finite() && (0.0..=1e6).contains(&b) => Ok(b as f32),
        _ => Err(SearchError::invalid(format!(
            "{at} must be a number between 0 and 1000000"
        ))),
    }
}

pub(crate) fn bool_of(v: &Value, at: &str) -> Result<bool, SearchError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        _ => Err(SearchError::invalid(format!("{at} must be true or false"))),
    }
}

/// One query, or an array of them (bool clauses accept both).
pub(crate) fn one_or_many(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}
