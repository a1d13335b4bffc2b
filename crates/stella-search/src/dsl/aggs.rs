//! Aggregations: the Elasticsearch JSON is checked against what is supported, user field names
//! are mapped onto schema paths (`event_type` → `kw.event_type`, `@timestamp` → `timestamp`),
//! and the result is handed to tantivy's aggregation module, which speaks the same JSON.
//! Parameters tantivy would silently ignore or could choke on are refused here.
//!
//! Tantivy computes metrics on the `timestamp` date column in its own unit (nanoseconds);
//! [`DateMetrics`] remembers where the request put them so the answer gives epoch
//! milliseconds with an RFC 3339 `value_as_string`, as Elasticsearch does for a date field.

use serde_json::{json, Map, Value};
use tantivy::aggregation::agg_req::Aggregations;

use super::field::{resolve, FieldRef};
use super::json::{known_keys, obj, string, usize_of};
use crate::error::SearchError;
use crate::schema;
use crate::time;

pub const MAX_DEPTH: usize = 5;
pub const MAX_AGGS: usize = 100;
pub const MAX_TERMS_SIZE: usize = 10_000;

const SUPPORTED: &str = "terms, date_histogram, histogram, range, avg, min, max, sum, stats, \
    extended_stats, value_count, cardinality, percentiles";

/// The aggregations tantivy runs, and where their answer holds timestamps to convert.
pub(crate) fn parse(v: &Value, at: &str) -> Result<(Aggregations, DateMetrics), SearchError> {
    let mut count = 0;
    let mut dates = DateMetrics::default();
    let rewritten = rewrite(v, at, 1, &mut count, &mut dates)?;
    let aggs = serde_json::from_value(rewritten)
        .map_err(|e| SearchError::invalid(format!("{at}: {e}")))?;
    Ok((aggs, dates))
}

/// Metric aggregations on `timestamp` by name, and the bucket aggregations holding some: the
/// places in an answer where tantivy's nanoseconds are to become milliseconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DateMetrics(Vec<(String, DateNode)>);

#[derive(Debug, Clone, PartialEq)]
enum DateNode {
    /// `min`, `max`, `avg`, `sum` (`value`) or `stats` (`min`, `max`, `avg`, `sum`).
    Metric,
    /// A bucket aggregation whose buckets hold such metrics.
    Buckets(DateMetrics),
}

impl DateMetrics {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Rewrites, in an answer's `aggregations` object (or one bucket of it), the timestamps
    /// of date metrics from nanoseconds to epoch milliseconds, adding `*_as_string`.
    pub fn to_millis(&self, out: &mut Value) {
        for (name, node) in &self.0 {
            let Some(v) = out.get_mut(name) else {
                continue;
            };
            match node {
                DateNode::Metric => metric_to_millis(v),
                DateNode::Buckets(sub) => match v.get_mut("buckets") {
                    Some(Value::Array(buckets)) => {
                        for b in buckets {
                            sub.to_millis(b);
                        }
                    }
                    // `keyed: true`
                    Some(Value::Object(buckets)) => {
                        for b in buckets.values_mut() {
                            sub.to_millis(b);
                        }
                    }
                    _ => {}
                },
            }
        }
    }
}

fn metric_to_millis(v: &mut Value) {
    let Some(m) = v.as_object_mut() else {
        return;
    };
    for key in ["value", "min", "max", "avg", "sum"] {
        let Some(ns) = m.get(key).and_then(Value::as_f64) else {
            continue;
        };
        let ms = (ns / 1e6).round();
        m.insert(key.into(), json!(ms));
        // A sum of instants is no instant.
        if key != "sum" && ms.abs() < 9.0e15 {
            let name = if key == "value" {
                "value_as_string".to_owned()
            } else {
                format!("{key}_as_string")
            };
            m.insert(name, json!(time::format_ms(ms as i64)));
        }
    }
}

fn rewrite(
    v: &Value,
    at: &str,
    depth: usize,
    count: &mut usize,
    dates: &mut DateMetrics,
) -> Result<Value, SearchError> {
    if depth > MAX_DEPTH {
        return Err(SearchError::invalid(format!(
            "{at}: aggregations nest deeper than {MAX_DEPTH} levels"
        )));
    }
    let mut out = Map::new();
    for (name, agg) in obj(v, at)? {
        *count += 1;
        if *count > MAX_AGGS {
            return Err(SearchError::invalid(format!(
                "{at}: more than {MAX_AGGS} aggregations"
            )));
        }
        if name.is_empty() || name.len() > 128 || name.contains(['[', ']', '>']) {
            return Err(SearchError::invalid(format!(
                "{at}: invalid aggregation name {name:?}"
            )));
        }
        let at = format!("{at}.{name}");
        let m = obj(agg, &at)?;
        let mut kind: Option<(&String, &Value)> = None;
        let mut sub = Map::new();
        let mut sub_dates = DateMetrics::default();
        for (k, body) in m {
            match k.as_str() {
                "aggs" | "aggregations" => {
                    let sub_at = format!("{at}.{k}");
                    let Value::Object(s) =
                        rewrite(body, &sub_at, depth + 1, count, &mut sub_dates)?
                    else {
                        continue;
                    };
                    sub.extend(s);
                }
                _ if kind.is_some() => {
                    return Err(SearchError::invalid(format!(
                        "{at} must have exactly one aggregation type, found {k} too"
                    )))
                }
                _ => kind = Some((k, body)),
            }
        }
        let Some((kind, body)) = kind else {
            return Err(SearchError::invalid(format!(
                "{at} has no aggregation type"
            )));
        };
        let at = format!("{at}.{kind}");
        let (body, on_timestamp) = rewrite_body(kind, body, &at)?;
        if on_timestamp && gives_instants(kind) {
            dates.0.push((name.clone(), DateNode::Metric));
        } else if !sub_dates.is_empty() {
            dates.0.push((name.clone(), DateNode::Buckets(sub_dates)));
        }
        let mut agg = Map::new();
        agg.insert(kind.clone(), body);
        if !sub.is_empty() {
            agg.insert("aggs".into(), Value::Object(sub));
        }
        out.insert(name.clone(), Value::Object(agg));
    }
    Ok(Value::Object(out))
}

/// Metrics whose values are instants when computed on `timestamp` (a count is not).
fn gives_instants(kind: &str) -> bool {
    matches!(kind, "avg" | "min" | "max" | "sum" | "stats")
}

/// The aggregation's body for tantivy, and whether its field is `timestamp`.
fn rewrite_body(kind: &str, body: &Value, at: &str) -> Result<(Value, bool), SearchError> {
    let m = obj(body, at)?;
    if m.contains_key("script") {
        return Err(SearchError::unsupported(format!(
            "{at}.script is not supported"
        )));
    }
    let known: &[&str] = match kind {
        "terms" => &[
            "field",
            "size",
            "shard_size",
            "segment_size",
            "min_doc_count",
            "order",
            "missing",
            "show_term_doc_count_error",
        ],
        "date_histogram" => &[
            "field",
            "fixed_interval",
            "calendar_interval",
            "interval",
            "offset",
            "min_doc_count",
            "hard_bounds",
            "extended_bounds",
            "keyed",
            "format",
            "time_zone",
        ],
        "histogram" => &[
            "field",
            "interval",
            "offset",
            "min_doc_count",
            "hard_bounds",
            "extended_bounds",
            "keyed",
        ],
        "range" => &["field", "ranges", "keyed"],
        "avg" | "min" | "max" | "sum" | "stats" | "extended_stats" | "value_count"
        | "cardinality" => &["field", "missing"],
        "percentiles" => &["field", "percents", "keyed", "missing"],
        _ => {
            return Err(SearchError::unsupported(format!(
                "{at} is not supported; supported: {SUPPORTED}"
            )))
        }
    };
    known_keys(m, at, known)?;
    let mut m = m.clone();
    let field_at = format!("{at}.field");
    let name = string(
        m.get("field")
            .ok_or_else(|| SearchError::invalid(format!("{field_at} is required")))?,
        &field_at,
    )?;
    let field = resolve(name, &field_at)?;
    let mapped = match &field {
        FieldRef::Timestamp => {
            timestamp_metric(kind, &m, at)?;
            schema::TIMESTAMP.to_owned()
        }
        FieldRef::Id => {
            return Err(SearchError::unsupported(format!(
                "{field_at}: aggregating on _id is not supported"
            )))
        }
        FieldRef::Path(p) => format!("{}.{p}", schema::EVENT),
    };
    m.insert("field".into(), Value::String(mapped));
    for key in ["size", "shard_size", "segment_size"] {
        if let Some(v) = m.get(key) {
            let n = usize_of(v, &format!("{at}.{key}"))?;
            if n == 0 || n > MAX_TERMS_SIZE * 10 || (key == "size" && n > MAX_TERMS_SIZE) {
                return Err(SearchError::invalid(format!(
                    "{at}.{key} must be between 1 and {}",
                    if key == "size" {
                        MAX_TERMS_SIZE
                    } else {
                        MAX_TERMS_SIZE * 10
                    }
                )));
            }
            m.insert(key.into(), json!(n));
        }
    }
    match kind {
        "date_histogram" => date_histogram(&mut m, &field, at)?,
        "histogram" => {
            let interval = m
                .get("interval")
                .and_then(Value::as_f64)
                .filter(|i| i.is_finite() && *i > 0.0)
                .ok_or_else(|| {
                    SearchError::invalid(format!("{at}.interval must be a positive number"))
                })?;
            check_bounds(&m, interval, at)?;
        }
        _ => {}
    }
    Ok((Value::Object(m), field == FieldRef::Timestamp))
}

/// Metrics on `timestamp` that the answer can give in milliseconds; the others would come out
/// in tantivy's nanoseconds, so they are refused rather than answered wrongly.
fn timestamp_metric(kind: &str, m: &Map<String, Value>, at: &str) -> Result<(), SearchError> {
    match kind {
        "extended_stats" | "percentiles" => Err(SearchError::unsupported(format!(
            "{at}: {kind} on timestamp is not supported; use min, max, avg or stats"
        ))),
        "avg" | "min" | "max" | "sum" | "stats" if m.contains_key("missing") => {
            Err(SearchError::unsupported(format!(
                "{at}.missing is not supported on timestamp (every event has one)"
            )))
        }
        _ => Ok(()),
    }
}

fn date_histogram(
    m: &mut Map<String, Value>,
    field: &FieldRef,
    at: &str,
) -> Result<(), SearchError> {
    if *field != FieldRef::Timestamp {
        return Err(SearchError::unsupported(format!(
            "{at}.field: date_histogram is only supported on timestamp"
        )));
    }
    if let Some(f) = m.remove("format") {
        let f = string(&f, &format!("{at}.format"))?;
        if !matches!(
            f,
            "strict_date_optional_time" | "date_optional_time" | "date_time"
        ) {
            return Err(SearchError::unsupported(format!(
                "{at}.format {f:?} is not supported; keys are epoch ms with an RFC 3339 key_as_string"
            )));
        }
    }
    if let Some(tz) = m.remove("time_zone") {
        let tz = string(&tz, &format!("{at}.time_zone"))?;
        if !matches!(tz, "UTC" | "utc" | "Z" | "+00:00" | "Etc/UTC" | "GMT") {
            return Err(SearchError::unsupported(format!(
                "{at}.time_zone {tz:?} is not supported; buckets are UTC"
            )));
        }
    }
    let calendar = match (m.remove("calendar_interval"), m.remove("interval")) {
        (Some(c), None) | (None, Some(c)) => Some(c),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(SearchError::invalid(format!(
                "{at}: give only one of calendar_interval and interval"
            )))
        }
    };
    let fixed = m.get("fixed_interval").cloned();
    let interval = match (fixed, calendar) {
        (Some(f), None) => {
            let f = string(&f, &format!("{at}.fixed_interval"))?.to_owned();
            if !valid_duration(&f, false) {
                return Err(SearchError::invalid(format!(
                    "{at}.fixed_interval {f:?} must be a positive whole number of ms, s, m, h or d"
                )));
            }
            f
        }
        (None, Some(c)) => {
            let c = string(&c, &format!("{at}.calendar_interval"))?;
            // Calendar units that have a fixed length in UTC; a week starts on Monday, and
            // 1970-01-01 was a Thursday, hence the 4-day offset.
            let (fixed, offset) = match c {
                "1m" | "minute" => ("1m", None),
                "1h" | "hour" => ("1h", None),
                "1d" | "day" => ("1d", None),
                "1w" | "week" => ("7d", Some("4d")),
                _ => {
                    return Err(SearchError::unsupported(format!(
                        "{at}.calendar_interval {c:?} is not supported; supported: 1m, 1h, 1d, 1w \
                         (or any fixed_interval)"
                    )))
                }
            };
            if let Some(off) = offset {
                if m.contains_key("offset") {
                    return Err(SearchError::unsupported(format!(
                        "{at}.offset cannot be combined with a weekly calendar_interval"
                    )));
                }
                m.insert("offset".into(), json!(off));
            }
            fixed.to_owned()
        }
        (None, None) => {
            return Err(SearchError::invalid(format!(
                "{at} needs fixed_interval or calendar_interval"
            )))
        }
        (Some(_), Some(_)) => {
            return Err(SearchError::invalid(format!(
                "{at}: give only one of fixed_interval and calendar_interval"
            )))
        }
    };
    m.insert("fixed_interval".into(), Value::String(interval));
    if let Some(off) = m.get("offset") {
        let off = string(off, &format!("{at}.offset"))?;
        if !valid_duration(off, true) {
            return Err(SearchError::invalid(format!(
                "{at}.offset {off:?} must look like 4d, -1h or +30m"
            )));
        }
    }
    for key in ["extended_bounds", "hard_bounds"] {
        if let Some(Value::Object(b)) = m.get_mut(key) {
            // The date histogram's bounds may be dates; tantivy wants epoch ms.
            for side in ["min", "max"] {
                if let Some(v) = b.get(side) {
                    let ms = time::date_from_json(v).ok_or_else(|| {
                        SearchError::invalid(format!("{at}.{key}.{side} must be a date"))
                    })?;
                    b.insert(side.into(), json!(ms));
                }
            }
        }
    }
    let interval = m
        .get("fixed_interval")
        .and_then(Value::as_str)
        .and_then(duration_ms)
        .unwrap_or(1);
    check_bounds(m, interval as f64, at)
}

/// Refuses `extended_bounds` that would need more buckets than a response may hold.
fn check_bounds(m: &Map<String, Value>, interval: f64, at: &str) -> Result<(), SearchError> {
    let max_buckets = f64::from(crate::exec::search::AGG_MAX_BUCKETS);
    if let Some(b) = m.get("extended_bounds") {
        let side = |s: &str| b.get(s).and_then(Value::as_f64);
        if let (Some(lo), Some(hi)) = (side("min"), side("max")) {
            if (hi - lo) / interval > max_buckets {
                return Err(SearchError::invalid(format!(
                    "{at}.extended_bounds span more than {max_buckets} buckets"
                )));
            }
        }
    }
    Ok(())
}

/// Milliseconds of a `valid_duration` string.
fn duration_ms(s: &str) -> Option<i64> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = s.split_at(digits);
    let n: i64 = num.parse().ok()?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// `<digits><unit>` with unit ms/s/m/h/d and a bounded number (tantivy multiplies it out
/// into nanoseconds, so an unbounded one could overflow).
fn valid_duration(s: &str, signed: bool) -> bool {
    let s = if signed {
        s.strip_prefix(['+', '-']).unwrap_or(s)
    } else {
        s
    };
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = s.split_at(digits);
    let Ok(n) = num.parse::<u64>() else {
        return false;
    };
    (signed || n > 0) && n <= 100_000 && matches!(unit, "ms" | "s" | "m" | "h" | "d")
}
