//! The Elasticsearch `_search` request subset: parsed and checked up front (no index needed),
//! so a bad request fails before any tenant index is touched, with a message naming the part.

pub(crate) mod aggs;
pub mod field;
pub(crate) mod json;
pub mod lucene;
pub mod query;
pub(crate) mod query_string;
pub(crate) mod range;

use serde_json::Value;
use tantivy::aggregation::agg_req::Aggregations;

use crate::error::SearchError;
use field::{resolve, FieldRef};
use json::{known_keys, obj, string, usize_of};
pub use query::{BoolQuery, NumRange, Query, Scalar};

/// `from + size` bound (Elasticsearch's `index.max_result_window`).
pub const MAX_WINDOW: usize = 10_000;
pub const DEFAULT_SIZE: usize = 10;

const REQUEST_KEYS: &[&str] = &[
    "query",
    "from",
    "size",
    "sort",
    "_source",
    "aggs",
    "aggregations",
    "track_total_hits",
    "timeout",
];

#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Score,
    Timestamp,
    /// A path in the event; `keyword` is `Some` when the request says whether the values are
    /// strings (`.keyword`, `unmapped_type`), else the index's columns decide.
    Path {
        path: String,
        keyword: Option<bool>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    pub key: SortKey,
    pub desc: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceFilter {
    All,
    None,
    /// Only these dotted paths.
    Include(Vec<String>),
}

#[derive(Debug)]
pub struct SearchRequest {
    pub query: Query,
    pub from: usize,
    pub size: usize,
    pub sort: Sort,
    pub source: SourceFilter,
    pub aggs: Option<Aggregations>,
    /// Where the aggregations' answer holds timestamps (see `aggs::DateMetrics`).
    pub(crate) date_metrics: aggs::DateMetrics,
}

/// Parses a `_search` body. `now_ms` is what date math (`now-24h`) is relative to.
pub fn parse_request(body: &Value, now_ms: i64) -> Result<SearchRequest, SearchError> {
    let empty = serde_json::Map::new();
    let m = match body {
        Value::Null => &empty,
        other => obj(other, "request body")?,
    };
    if let Some(k) = m.keys().find(|k| !REQUEST_KEYS.contains(&k.as_str())) {
        return Err(SearchError::unsupported(format!(
            "{k} is not supported; supported request keys: {}",
            REQUEST_KEYS.join(", ")
        )));
    }
    let mut cx = query::Ctx::new(now_ms);
    let query = match m.get("query") {
        None => Query::MatchAll,
        Some(q) => query::parse(q, "query", 0, &mut cx)?,
    };
    let from = m
        .get("from")
        .map(|v| usize_of(v, "from"))
        .transpose()?
        .unwrap_or(0);
    let size = m
        .get("size")
        .map(|v| usize_of(v, "size"))
        .transpose()?
        .unwrap_or(DEFAULT_SIZE);
    if from.saturating_add(size) > MAX_WINDOW {
        return Err(SearchError::invalid(format!(
            "from + size must be at most {MAX_WINDOW} (was {})",
            from.saturating_add(size)
        )));
    }
    if let Some(t) = m.get("track_total_hits") {
        // Totals are always exact here, so any setting is satisfied.
        if !(t.is_boolean() || t.is_u64()) {
            return Err(SearchError::invalid(
                "track_total_hits must be a boolean or an integer",
            ));
        }
    }
    let sort = match m.get("sort") {
        None => default_sort(),
        Some(s) => parse_sort(s)?,
    };
    let source = match m.get("_source") {
        None => SourceFilter::All,
        Some(s) => parse_source(s)?,
    };
    let aggs = match (m.get("aggs"), m.get("aggregations")) {
        (Some(_), Some(_)) => {
            return Err(SearchError::invalid(
                "give only one of aggs and aggregations",
            ))
        }
        (Some(a), None) => Some(aggs::parse(a, "aggs")?),
        (None, Some(a)) => Some(aggs::parse(a, "aggregations")?),
        (None, None) => None,
    };
    let (aggs, date_metrics) = match aggs {
        Some((a, dates)) if !a.is_empty() => (Some(a), dates),
        _ => (None, aggs::DateMetrics::default()),
    };
    Ok(SearchRequest {
        query,
        from,
        size,
        sort,
        source,
        aggs,
        date_metrics,
    })
}

fn default_sort() -> Sort {
    Sort {
        key: SortKey::Score,
        desc: true,
    }
}

fn parse_sort(v: &Value) -> Result<Sort, SearchError> {
    let items: Vec<(&Value, String)> = match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, s)| (s, format!("sort[{i}]")))
            .collect(),
        other => vec![(other, "sort".to_owned())],
    };
    match items.as_slice() {
        [] => Ok(default_sort()),
        [(one, at)] => sort_item(one, at),
        [_, (_, at), ..] => Err(SearchError::unsupported(format!(
            "{at}: only one sort key is supported"
        ))),
    }
}

fn sort_item(v: &Value, at: &str) -> Result<Sort, SearchError> {
    let (name, order, unmapped) = match v {
        Value::String(s) => match s.split_once(':') {
            Some((f, o)) => (f.to_owned(), Some(o.to_owned()), None),
            None => (s.clone(), None, None),
        },
        Value::Object(m) => {
            let (name, spec) = json::field_entry(m, at, &[])?;
            let at = format!("{at}.{name}");
            match spec {
                Value::String(o) => (name.to_owned(), Some(o.clone()), None),
                Value::Object(p) => {
                    known_keys(p, &at, &["order", "unmapped_type", "missing", "format"])?;
                    if let Some(missing) = p.get("missing") {
                        if string(missing, &format!("{at}.missing"))? != "_last" {
                            return Err(SearchError::unsupported(format!(
                                "{at}.missing: only _last is supported"
                            )));
                        }
                    }
                    let order = p
                        .get("order")
                        .map(|o| string(o, &format!("{at}.order")).map(str::to_owned))
                        .transpose()?;
                    let unmapped = p
                        .get("unmapped_type")
                        .map(|u| string(u, &format!("{at}.unmapped_type")).map(str::to_owned))
                        .transpose()?;
                    (name.to_owned(), order, unmapped)
                }
                _ => {
                    return Err(SearchError::invalid(format!(
                        "{at} must be \"asc\", \"desc\" or an object"
                    )))
                }
            }
        }
        _ => {
            return Err(SearchError::invalid(format!(
                "{at} must be a field name or an object"
            )))
        }
    };
    let key = if name == "_score" {
        SortKey::Score
    } else if name == "_doc" {
        return Err(SearchError::unsupported(format!(
            "{at}: sorting by _doc is not supported"
        )));
    } else {
        match resolve(&name, at)? {
            FieldRef::Timestamp => SortKey::Timestamp,
            FieldRef::Id => {
                return Err(SearchError::unsupported(format!(
                    "{at}: sorting by _id is not supported"
                )))
            }
            FieldRef::Path(path) => {
                let keyword = if name.ends_with(".keyword") {
                    Some(true)
                } else {
                    match unmapped.as_deref() {
                        None => None,
                        Some("keyword" | "text" | "ip") => Some(true),
                        Some(_) => Some(false),
                    }
                };
                SortKey::Path { path, keyword }
            }
        }
    };
    let desc = match order.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => key == SortKey::Score,
        Some("desc") => true,
        Some("asc") => false,
        Some(o) => {
            return Err(SearchError::invalid(format!(
                "{at}: order must be asc or desc, not {o:?}"
            )))
        }
    };
    Ok(Sort { key, desc })
}

fn parse_source(v: &Value) -> Result<SourceFilter, SearchError> {
    let paths: Vec<&Value> = match v {
        Value::Bool(true) => return Ok(SourceFilter::All),
        Value::Bool(false) => return Ok(SourceFilter::None),
        Value::String(_) => vec![v],
        Value::Array(items) => items.iter().collect(),
        _ => {
            return Err(SearchError::unsupported(
                "_source must be true, false, a field name or a list of field names \
                 (includes/excludes objects are not supported)",
            ))
        }
    };
    let mut out = Vec::with_capacity(paths.len());
    for (i, p) in paths.into_iter().enumerate() {
        let at = format!("_source[{i}]");
        let p = string(p, &at)?;
        if p.contains('*') || p.split('.').any(str::is_empty) {
            return Err(SearchError::unsupported(format!(
                "{at}: {p:?} is not a plain field path (wildcards are not supported)"
            )));
        }
        out.push(p.to_owned());
    }
    Ok(SourceFilter::Include(out))
}
