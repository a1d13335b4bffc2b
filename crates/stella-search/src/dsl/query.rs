//! The `query` part of a search request, parsed into a small AST with fields resolved and dates
//! evaluated. Parsing is pure (no index needed), which is what the proptests exercise.

use std::ops::Bound;

use serde_json::Value;

use super::field::{resolve, FieldRef};
use super::json::{bool_of, boost_of, field_entry, known_keys, obj, one_or_many, string, Obj};
use super::query_string;
use crate::error::SearchError;
use crate::time;

/// Deepest nesting of compound queries (`bool` in `bool` …).
pub const MAX_DEPTH: usize = 20;
/// Most leaf and compound queries in one request (Elasticsearch's `max_clause_count` is 1024).
pub const MAX_CLAUSES: usize = 1024;
/// Most values in one `terms`/`ids` query.
pub const MAX_TERMS: usize = 65_536;

pub(crate) const SUPPORTED: &str = "match_all, match_none, match, match_phrase, term, terms, \
    range, exists, ids, bool, constant_score, query_string";

#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Str(String),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub enum NumRange {
    Int(Bound<i64>, Bound<i64>),
    Float(Bound<f64>, Bound<f64>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    MatchAll,
    MatchNone,
    /// Exact value at a path (keyword string, number or boolean).
    Term {
        path: String,
        value: Scalar,
    },
    Terms {
        path: String,
        values: Vec<Scalar>,
    },
    Ids(Vec<String>),
    /// On the event time, in epoch ms.
    TimeRange(Bound<i64>, Bound<i64>),
    NumRange {
        path: String,
        range: NumRange,
    },
    KeywordRange {
        path: String,
        lower: Bound<String>,
        upper: Bound<String>,
    },
    Exists {
        path: String,
    },
    /// Analysed text; `path: None` means every string field.
    Match {
        path: Option<String>,
        text: String,
        all_terms: bool,
    },
    Phrase {
        path: Option<String>,
        text: String,
        slop: u32,
    },
    Bool(Box<BoolQuery>),
    ConstantScore(Box<Query>, f32),
    Boost(Box<Query>, f32),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct BoolQuery {
    pub must: Vec<Query>,
    pub should: Vec<Query>,
    pub must_not: Vec<Query>,
    pub filter: Vec<Query>,
    /// Explicit `minimum_should_match`, already resolved against the number of `should`s.
    pub min_should: Option<usize>,
}

/// Parsing state: the clock for date math and the clause budget.
pub(crate) struct Ctx {
    pub now_ms: i64,
    pub clauses: usize,
}

impl Ctx {
    pub fn new(now_ms: i64) -> Ctx {
        Ctx { now_ms, clauses: 0 }
    }

    pub fn count(&mut self, at: &str) -> Result<(), SearchError> {
        self.count_n(at, 1)
    }

    pub fn count_n(&mut self, at: &str, n: usize) -> Result<(), SearchError> {
        self.clauses = self.clauses.saturating_add(n);
        if self.clauses > MAX_CLAUSES {
            return Err(SearchError::invalid(format!(
                "{at}: the query has more than {MAX_CLAUSES} clauses"
            )));
        }
        Ok(())
    }
}

pub(crate) fn parse(v: &Value, at: &str, depth: usize, cx: &mut Ctx) -> Result<Query, SearchError> {
    if depth > MAX_DEPTH {
        return Err(SearchError::invalid(format!(
            "{at}: queries are nested deeper than {MAX_DEPTH} levels"
        )));
    }
    cx.count(at)?;
    let m = obj(v, at)?;
    let mut entries = m.iter();
    let (kind, body) = match (entries.next(), entries.next()) {
        (Some(e), None) => e,
        _ => {
            return Err(SearchError::invalid(format!(
                "{at} must be an object with exactly one key, the query type ({SUPPORTED})"
            )))
        }
    };
    let at = format!("{at}.{kind}");
    match kind.as_str() {
        "match_all" => boosted(body, &at, Query::MatchAll),
        "match_none" => {
            known_keys(obj(body, &at)?, &at, &["boost"])?;
            Ok(Query::MatchNone)
        }
        "term" => term(body, &at, cx),
        "terms" => terms(body, &at, cx),
        "range" => super::range::parse(body, &at, cx),
        "exists" => exists(body, &at),
        "ids" => ids(body, &at),
        "match" => text_match(body, &at, false, cx),
        "match_phrase" => text_match(body, &at, true, cx),
        "bool" => boolean(body, &at, depth, cx),
        "constant_score" => {
            let m = obj(body, &at)?;
            known_keys(m, &at, &["filter", "boost"])?;
            let inner = m
                .get("filter")
                .ok_or_else(|| SearchError::invalid(format!("{at}.filter is required")))?;
            let q = parse(inner, &format!("{at}.filter"), depth + 1, cx)?;
            let boost = m.get("boost").map(|b| boost_of(b, &format!("{at}.boost")));
            Ok(Query::ConstantScore(
                Box::new(q),
                boost.transpose()?.unwrap_or(1.0),
            ))
        }
        "query_string" => query_string::parse(body, &at, cx),
        _ => Err(SearchError::unsupported(format!(
            "{at} is not supported; supported: {SUPPORTED}"
        ))),
    }
}

/// `{"boost": b}` bodies (match_all).
fn boosted(body: &Value, at: &str, q: Query) -> Result<Query, SearchError> {
    let m = obj(body, at)?;
    known_keys(m, at, &["boost"])?;
    with_boost(q, m, at)
}

pub(crate) fn with_boost(q: Query, m: &Obj, at: &str) -> Result<Query, SearchError> {
    match m.get("boost") {
        None => Ok(q),
        Some(b) => {
            let b = boost_of(b, &format!("{at}.boost"))?;
            Ok(if b == 1.0 {
                q
            } else {
                Query::Boost(Box::new(q), b)
            })
        }
    }
}

pub(crate) fn scalar(v: &Value, at: &str) -> Result<Scalar, SearchError> {
    Ok(match v {
        Value::String(s) => Scalar::Str(s.clone()),
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Scalar::Int(i)
            } else if let Some(u) = n.as_u64() {
                Scalar::UInt(u)
            } else {
                Scalar::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        _ => {
            return Err(SearchError::invalid(format!(
                "{at} must be a string, number or boolean"
            )))
        }
    })
}

pub(crate) fn date_value(v: &Value, at: &str) -> Result<i64, SearchError> {
    time::date_from_json(v).ok_or_else(|| {
        SearchError::invalid(format!(
            "{at}: cannot read {v} as a date (epoch milliseconds or RFC 3339)"
        ))
    })
}

/// `term` on a resolved field.
pub(crate) fn term_on(field: FieldRef, v: &Value, at: &str) -> Result<Query, SearchError> {
    match field {
        FieldRef::Timestamp => {
            let ms = date_value(v, at)?;
            Ok(Query::TimeRange(Bound::Included(ms), Bound::Included(ms)))
        }
        FieldRef::Id => Ok(Query::Ids(vec![string(v, at)?.to_owned()])),
        FieldRef::Path(path) => Ok(Query::Term {
            path,
            value: scalar(v, at)?,
        }),
    }
}

fn term(body: &Value, at: &str, _cx: &mut Ctx) -> Result<Query, SearchError> {
    let m = obj(body, at)?;
    let (name, spec) = field_entry(m, at, &[])?;
    let at = format!("{at}.{name}");
    let field = resolve(name, &at)?;
    match spec {
        Value::Object(p) => {
            known_keys(p, &at, &["value", "boost", "case_insensitive"])?;
            if let Some(ci) = p.get("case_insensitive") {
                if bool_of(ci, &format!("{at}.case_insensitive"))? {
                    return Err(SearchError::unsupported(format!(
                        "{at}.case_insensitive is not supported"
                    )));
                }
            }
            let value = p
                .get("value")
                .ok_or_else(|| SearchError::invalid(format!("{at}.value is required")))?;
            let q = term_on(field, value, &format!("{at}.value"))?;
            with_boost(q, p, &at)
        }
        other => term_on(field, other, &at),
    }
}

fn terms(body: &Value, at: &str, cx: &mut Ctx) -> Result<Query, SearchError> {
    let m = obj(body, at)?;
    let (name, values) = field_entry(m, at, &["boost"])?;
    let at_f = format!("{at}.{name}");
    let field = resolve(name, &at_f)?;
    let Value::Array(values) = values else {
        return Err(SearchError::unsupported(format!(
            "{at_f} must be an array of values (terms lookup is not supported)"
        )));
    };
    if values.len() > MAX_TERMS {
        return Err(SearchError::invalid(format!(
            "{at_f} has more than {MAX_TERMS} values"
        )));
    }
    let item_at = |i| format!("{at_f}[{i}]");
    let q = match field {
        FieldRef::Timestamp => {
            let mut should = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                cx.count(at)?;
                should.push(term_on(FieldRef::Timestamp, v, &item_at(i))?);
            }
            Query::Bool(Box::new(BoolQuery {
                should,
                ..BoolQuery::default()
            }))
        }
        FieldRef::Id => Query::Ids(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| string(v, &item_at(i)).map(str::to_owned))
                .collect::<Result<_, _>>()?,
        ),
        FieldRef::Path(path) => Query::Terms {
            path,
            values: values
                .iter()
                .enumerate()
                .map(|(i, v)| scalar(v, &item_at(i)))
                .collect::<Result<_, _>>()?,
        },
    };
    with_boost(q, m, at)
}

fn exists(body: &Value, at: &str) -> Result<Query, SearchError> {
    let m = obj(body, at)?;
    known_keys(m, at, &["field", "boost"])?;
    let name = string(
        m.get("field")
            .ok_or_else(|| SearchError::invalid(format!("{at}.field is required")))?,
        &format!("{at}.field"),
    )?;
    let q = match resolve(name, &format!("{at}.field"))? {
        // Every event has an id and a time.
        FieldRef::Timestamp | FieldRef::Id => Query::MatchAll,
        FieldRef::Path(path) => Query::Exists { path },
    };
    with_boost(q, m, at)
}

fn ids(body: &Value, at: &str) -> Result<Query, SearchError> {
    let m = obj(body, at)?;
    known_keys(m, at, &["values", "boost"])?;
    let Some(Value::Array(values)) = m.get("values") else {
        return Err(SearchError::invalid(format!(
            "{at}.values must be an array"
        )));
    };
    if values.len() > MAX_TERMS {
        return Err(SearchError::invalid(format!(
            "{at}.values has more than {MAX_TERMS} values"
        )));
    }
    let ids = values
        .iter()
        .enumerate()
        .map(|(i, v)| string(v, &format!("{at}.values[{i}]")).map(str::to_owned))
        .collect::<Result<_, _>>()?;
    with_boost(Query::Ids(ids), m, at)
}

/// `match` and `match_phrase`.
fn text_match(body: &Value, at: &str, phrase: bool, _cx: &mut Ctx) -> Result<Query, SearchError> {
    let m = obj(body, at)?;
    let (name, spec) = field_entry(m, at, &[])?;
    let at = format!("{at}.{name}");
    let field = resolve(name, &at)?;
    let (value, params) = match spec {
        Value::Object(p) => {
            let known: &[&str] = if phrase {
                &["query", "slop", "boost"]
            } else {
                &["query", "operator", "boost", "zero_terms_query", "lenient"]
            };
            known_keys(p, &at, known)?;
            let v = p
                .get("query")
                .ok_or_else(|| SearchError::invalid(format!("{at}.query is required")))?;
            (v, Some(p))
        }
        other => (other, None),
    };
    let mut all_terms = false;
    let mut slop = 0u32;
    if let Some(p) = params {
        if let Some(op) = p.get("operator") {
            all_terms = match string(op, &format!("{at}.operator"))?
                .to_ascii_lowercase()
                .as_str()
            {
                "and" => true,
                "or" => false,
                _ => {
                    return Err(SearchError::invalid(format!(
                        "{at}.operator must be \"and\" or \"or\""
                    )))
                }
            };
        }
        if let Some(z) = p.get("zero_terms_query") {
            if string(z, &format!("{at}.zero_terms_query"))? != "none" {
                return Err(SearchError::unsupported(format!(
                    "{at}.zero_terms_query: only \"none\" is supported"
                )));
            }
        }
        if let Some(s) = p.get("slop") {
            slop = super::json::usize_of(s, &format!("{at}.slop"))?.min(100) as u32;
        }
    }
    let q = match (field, value) {
        (FieldRef::Path(path), Value::String(text)) => {
            if phrase {
                Query::Phrase {
                    path: Some(path),
                    text: text.clone(),
                    slop,
                }
            } else {
                Query::Match {
                    path: Some(path),
                    text: text.clone(),
                    all_terms,
                }
            }
        }
        // Numbers, booleans, times and ids are not analysed: match them exactly.
        (field, v) => term_on(field, v, &at)?,
    };
    match params {
        Some(p) => with_boost(q, p, &at),
        None => Ok(q),
    }
}

fn boolean(body: &Value, at: &str, depth: usize, cx: &mut Ctx) -> Result<Query, SearchError> {
    let m = obj(body, at)?;
    known_keys(
        m,
        at,
        &[
            "must",
            "should",
            "must_not",
            "filter",
            "minimum_should_match",
            "boost",
        ],
    )?;
    let mut b = BoolQuery::default();
    for (key, out) in [
        ("must", &mut b.must),
        ("should", &mut b.should),
        ("must_not", &mut b.must_not),
        ("filter", &mut b.filter),
    ] {
        if let Some(v) = m.get(key) {
            let many = matches!(v, Value::Array(_));
            for (i, clause) in one_or_many(v).into_iter().enumerate() {
                let at = if many {
                    format!("{at}.{key}[{i}]")
                } else {
                    format!("{at}.{key}")
                };
                out.push(parse(clause, &at, depth + 1, cx)?);
            }
        }
    }
    if let Some(msm) = m.get("minimum_should_match") {
        b.min_should = Some(min_should(
            msm,
            b.should.len(),
            &format!("{at}.minimum_should_match"),
        )?);
    }
    with_boost(Query::Bool(Box::new(b)), m, at)
}

/// Elasticsearch's `minimum_should_match`: `2`, `-1`, `"75%"`, `"-25%"`.
fn min_should(v: &Value, n: usize, at: &str) -> Result<usize, SearchError> {
    let bad = || SearchError::invalid(format!("{at} must be an integer or a percentage"));
    let n_i = i64::try_from(n).map_err(|_| bad())?;
    let k: i64 = match v {
        Value::Number(x) => x.as_i64().ok_or_else(bad)?,
        Value::String(s) => {
            let s = s.trim();
            if let Some(p) = s.strip_suffix('%') {
                let p: i64 = p.trim().parse().map_err(|_| bad())?;
                if !(-100..=100).contains(&p) {
                    return Err(bad());
                }
                let part = n_i * p.abs() / 100;
                if p < 0 {
                    n_i - part
                } else {
                    part
                }
            } else {
                s.parse::<i64>().map_err(|_| bad())?
            }
        }
        _ => return Err(bad()),
    };
    let k = if k < 0 { n_i.saturating_add(k) } else { k };
    Ok(k.clamp(0, n_i) as usize)
}
