//! `range`: on numbers, on keywords (lexicographic), and on the event time with Elasticsearch
//! date math evaluated against the request's `now`.

use std::ops::Bound;

use serde_json::Value;

use super::field::{resolve, FieldRef};
use super::json::{field_entry, known_keys, obj, string, Obj};
use super::query::{date_value, with_boost, Ctx, NumRange, Query};
use crate::error::SearchError;
use crate::time;

/// `range` bodies.
pub(crate) fn parse(body: &Value, at: &str, cx: &mut Ctx) -> Result<Query, SearchError> {
    let m = obj(body, at)?;
    let (name, spec) = field_entry(m, at, &[])?;
    let at = format!("{at}.{name}");
    let field = resolve(name, &at)?;
    let p = obj(spec, &at)?;
    known_keys(
        p,
        &at,
        &["gt", "gte", "lt", "lte", "format", "time_zone", "boost"],
    )?;
    check_format(p, &at)?;
    let bound = |strict: &str, inclusive: &str| -> Result<Option<(&Value, bool)>, SearchError> {
        match (p.get(strict), p.get(inclusive)) {
            (Some(_), Some(_)) => Err(SearchError::invalid(format!(
                "{at}: give only one of {strict} and {inclusive}"
            ))),
            (Some(v), None) => Ok(Some((v, false))),
            (None, Some(v)) => Ok(Some((v, true))),
            (None, None) => Ok(None),
        }
    };
    let lower = bound("gt", "gte")?;
    let upper = bound("lt", "lte")?;
    let q = match field {
        FieldRef::Timestamp => {
            // Elasticsearch rounds `gt` and `lte` up, `gte` and `lt` down.
            let eval =
                |b: Option<(&Value, bool)>, is_lower: bool| -> Result<Bound<i64>, SearchError> {
                    let Some((v, inclusive)) = b else {
                        return Ok(Bound::Unbounded);
                    };
                    let round_up = is_lower != inclusive;
                    let ms = match v {
                        Value::String(s) => time::eval_date_math(s, cx.now_ms, round_up)
                            .map_err(|e| SearchError::invalid(format!("{at}: {e}")))?,
                        other => date_value(other, &at)?,
                    };
                    Ok(if inclusive {
                        Bound::Included(ms)
                    } else {
                        Bound::Excluded(ms)
                    })
                };
            Query::TimeRange(eval(lower, true)?, eval(upper, false)?)
        }
        FieldRef::Id => {
            return Err(SearchError::unsupported(format!(
                "{at}: range on _id is not supported"
            )))
        }
        FieldRef::Path(path) => path_range(path, lower, upper, &at)?,
    };
    with_boost(q, p, &at)
}

/// Date formats whose meaning we already implement; anything else is refused rather than
/// silently read another way.
fn check_format(p: &Obj, at: &str) -> Result<(), SearchError> {
    const FORMATS: &[&str] = &[
        "epoch_millis",
        "strict_date_optional_time",
        "date_optional_time",
        "strict_date_time",
        "date_time",
        "strict_date_optional_time||epoch_millis",
        "epoch_millis||strict_date_optional_time",
    ];
    if let Some(f) = p.get("format") {
        let f = string(f, &format!("{at}.format"))?;
        if !FORMATS.contains(&f) {
            return Err(SearchError::unsupported(format!(
                "{at}.format {f:?} is not supported; supported: {}",
                FORMATS.join(", ")
            )));
        }
    }
    if let Some(tz) = p.get("time_zone") {
        let tz = string(tz, &format!("{at}.time_zone"))?;
        if !matches!(tz, "UTC" | "utc" | "Z" | "+00:00" | "Etc/UTC" | "GMT") {
            return Err(SearchError::unsupported(format!(
                "{at}.time_zone {tz:?} is not supported; dates are UTC"
            )));
        }
    }
    Ok(())
}

/// Numeric when every bound is a number (or a numeric string), else a keyword range.
pub(crate) fn path_range(
    path: String,
    lower: Option<(&Value, bool)>,
    upper: Option<(&Value, bool)>,
    at: &str,
) -> Result<Query, SearchError> {
    if lower.is_none() && upper.is_none() {
        return Ok(Query::Exists { path });
    }
    let as_num = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    };
    let bounds = [lower, upper];
    let all_numeric = bounds.iter().flatten().all(|(v, _)| as_num(v).is_some());
    if all_numeric {
        let as_int = |v: &Value| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let ints = bounds.iter().flatten().all(|(v, _)| as_int(v).is_some());
        let range = if ints {
            let conv = |b: Option<(&Value, bool)>| match b {
                None => Bound::Unbounded,
                Some((v, inc)) => bound(as_int(v).unwrap_or_default(), inc),
            };
            NumRange::Int(conv(lower), conv(upper))
        } else {
            let conv = |b: Option<(&Value, bool)>| match b {
                None => Bound::Unbounded,
                Some((v, inc)) => bound(as_num(v).unwrap_or_default(), inc),
            };
            NumRange::Float(conv(lower), conv(upper))
        };
        return Ok(Query::NumRange { path, range });
    }
    let conv = |b: Option<(&Value, bool)>| -> Result<Bound<String>, SearchError> {
        Ok(match b {
            None => Bound::Unbounded,
            Some((Value::String(s), inc)) => bound(s.clone(), inc),
            Some((Value::Number(n), inc)) => bound(n.to_string(), inc),
            Some(_) => {
                return Err(SearchError::invalid(format!(
                    "{at}: range bounds must be numbers, strings or dates"
                )))
            }
        })
    };
    Ok(Query::KeywordRange {
        path,
        lower: conv(lower)?,
        upper: conv(upper)?,
    })
}

fn bound<T>(v: T, inclusive: bool) -> Bound<T> {
    if inclusive {
        Bound::Included(v)
    } else {
        Bound::Excluded(v)
    }
}
