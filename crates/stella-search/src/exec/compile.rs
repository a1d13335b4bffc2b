//! The query AST → tantivy queries, against one tenant index (field-less text search expands
//! to that index's string paths).

use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, Occur, PhraseQuery,
    Query as TQuery, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DateTime, Term};

use std::cell::Cell;

use super::keyword::KeywordQuery;
use crate::dsl::{NumRange, Query, Scalar};
use crate::error::SearchError;
use crate::schema::{Fields, EVENT};
use crate::tokenizer;

type Q = Box<dyn TQuery>;

/// Most tantivy queries one request may compile to against one index. Parsing bounds the
/// request's own clauses; this bounds what they multiply into here, where a text query
/// without a field becomes one query per string path of the index (up to 1024 of them).
pub(crate) const MAX_COMPILED: usize = 16_384;

pub(crate) struct Compiler<'a> {
    pub fields: Fields,
    /// String paths of this index, for text queries without a field.
    pub text_paths: &'a [String],
    /// Queries compiled so far, against `MAX_COMPILED`.
    pub spent: Cell<usize>,
}

impl Compiler<'_> {
    fn charge(&self, n: usize) -> Result<(), SearchError> {
        let spent = self.spent.get().saturating_add(n);
        self.spent.set(spent);
        if spent > MAX_COMPILED {
            return Err(SearchError::invalid(format!(
                "the query expands to more than {MAX_COMPILED} clauses over this index's {} \
                 string fields; name the fields to search, or use fewer terms",
                self.text_paths.len()
            )));
        }
        Ok(())
    }

    pub fn compile(&self, q: &Query) -> Result<Q, SearchError> {
        self.charge(1)?;
        Ok(match q {
            Query::MatchAll => Box::new(AllQuery),
            Query::MatchNone => Box::new(EmptyQuery),
            Query::Term { path, value } => self.exact(path, std::slice::from_ref(value)),
            Query::Terms { path, values } => self.exact(path, values),
            Query::Ids(ids) => Box::new(TermSetQuery::new(
                ids.iter()
                    .map(|id| Term::from_field_text(self.fields.id, id)),
            )),
            Query::TimeRange(lo, hi) => {
                let ts = |ms: &i64| Term::from_field_date(self.fields.timestamp, date(*ms));
                range(map_bound(lo, ts), map_bound(hi, ts))
            }
            Query::NumRange { path, range: r } => match r {
                NumRange::Int(lo, hi) => {
                    let t = |v: &i64| self.kw_typed(path, |t| t.append_type_and_fast_value(*v));
                    range(map_bound(lo, t), map_bound(hi, t))
                }
                NumRange::Float(lo, hi) => {
                    let t = |v: &f64| self.kw_typed(path, |t| t.append_type_and_fast_value(*v));
                    range(map_bound(lo, t), map_bound(hi, t))
                }
            },
            Query::KeywordRange { path, lower, upper } => {
                let t = |s: &String| self.kw_typed(path, |t| t.append_type_and_str(s));
                range(map_bound(lower, t), map_bound(upper, t))
            }
            Query::Exists { path } => {
                Box::new(super::keyword::CachedExists::new(format!("{EVENT}.{path}")))
            }
            Query::Match {
                path,
                text,
                all_terms,
            } => self.text_match(path.as_deref(), text, *all_terms)?,
            Query::Phrase { path, text, slop } => {
                let tokens = tokenizer::tokens(text);
                // A phrase costs a term per token, on every path it runs over.
                let paths = if path.is_some() {
                    1
                } else {
                    self.text_paths.len()
                };
                self.charge(tokens.len().saturating_mul(paths))?;
                self.per_path(path.as_deref(), |p| self.phrase(p, &tokens, *slop))?
            }
            Query::Bool(b) => {
                let mut clauses: Vec<(Occur, Q)> = Vec::new();
                for q in &b.must {
                    clauses.push((Occur::Must, self.compile(q)?));
                }
                // Filter context: must match, adds nothing to the score.
                for q in &b.filter {
                    let scoreless = Box::new(ConstScoreQuery::new(self.compile(q)?, 0.0)) as Q;
                    clauses.push((Occur::Must, scoreless));
                }
                for q in &b.should {
                    clauses.push((Occur::Should, self.compile(q)?));
                }
                for q in &b.must_not {
                    clauses.push((Occur::MustNot, self.compile(q)?));
                }
                let positive = !b.must.is_empty() || !b.filter.is_empty();
                if !positive && b.should.is_empty() {
                    // A bool of only must_not (or nothing) means "everything except".
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                // Elasticsearch: with no must/filter, at least one should must match.
                let min = b
                    .min_should
                    .unwrap_or(usize::from(!positive && !b.should.is_empty()));
                if min > b.should.len() {
                    return Ok(Box::new(EmptyQuery));
                }
                Box::new(BooleanQuery::with_minimum_required_clauses(clauses, min))
            }
            Query::ConstantScore(q, boost) => {
                Box::new(ConstScoreQuery::new(self.compile(q)?, *boost))
            }
            Query::Boost(q, boost) => Box::new(BoostQuery::new(self.compile(q)?, *boost)),
        })
    }

    fn kw_typed(&self, path: &str, f: impl FnOnce(&mut Term)) -> Term {
        let mut t = Term::from_field_json_path(self.fields.event, path, true);
        f(&mut t);
        t
    }

    /// Exact values at a path. A value may be meant as a string, a number or a boolean (JSON
    /// `5`, `5.0` and `"5"` are all different in the index), so each is looked up in every
    /// form it can take: numbers and booleans as typed terms, strings through the column.
    fn exact(&self, path: &str, values: &[Scalar]) -> Q {
        let mut typed: Vec<Term> = Vec::new();
        let mut strings: Vec<String> = Vec::new();
        for v in values {
            self.exact_forms(path, v, &mut typed, &mut strings);
        }
        strings.sort();
        strings.dedup();
        let mut parts: Vec<Q> = Vec::new();
        match typed.len() {
            0 => {}
            1 => parts.push(Box::new(TermQuery::new(
                typed.remove(0),
                IndexRecordOption::Basic,
            ))),
            _ => parts.push(Box::new(TermSetQuery::new(typed))),
        }
        if !strings.is_empty() {
            parts.push(Box::new(self.keyword(path, strings)));
        }
        any_of(parts)
    }

    fn exact_forms(
        &self,
        path: &str,
        v: &Scalar,
        typed: &mut Vec<Term>,
        strings: &mut Vec<String>,
    ) {
        let i = |x: i64| self.kw_typed(path, |t| t.append_type_and_fast_value(x));
        let u = |x: u64| self.kw_typed(path, |t| t.append_type_and_fast_value(x));
        let f = |x: f64| self.kw_typed(path, |t| t.append_type_and_fast_value(x));
        let b = |x: bool| self.kw_typed(path, |t| t.append_type_and_fast_value(x));
        let integral = |x: f64| (x.fract() == 0.0 && x.abs() < 9.0e15).then_some(x as i64);
        match v {
            Scalar::Str(x) => {
                strings.push(x.clone());
                let trimmed = x.trim();
                if let Ok(n) = trimmed.parse::<i64>() {
                    typed.extend([i(n), f(n as f64)]);
                } else if let Some(n) = trimmed.parse::<f64>().ok().filter(|n| n.is_finite()) {
                    typed.push(f(n));
                    typed.extend(integral(n).map(i));
                } else if trimmed == "true" || trimmed == "false" {
                    typed.push(b(trimmed == "true"));
                }
            }
            Scalar::Int(n) => {
                typed.extend([i(*n), f(*n as f64)]);
                strings.push(n.to_string());
            }
            Scalar::UInt(n) => {
                typed.extend([u(*n), f(*n as f64)]);
                strings.push(n.to_string());
            }
            Scalar::Float(n) => {
                typed.push(f(*n));
                if let Some(k) = integral(*n) {
                    typed.push(i(k));
                    strings.push(k.to_string());
                }
            }
            Scalar::Bool(x) => {
                typed.push(b(*x));
                strings.push(x.to_string());
            }
        }
    }

    /// Exact strings: documents having all tokens of one of the values, confirmed against
    /// the raw value in the column. Many values scan the column instead of OR-ing postings.
    fn keyword(&self, path: &str, values: Vec<String>) -> KeywordQuery {
        let candidates = if values.len() > 64 {
            None
        } else {
            let mut per_value = Vec::with_capacity(values.len());
            for v in &values {
                let mut tokens = tokenizer::tokens(v);
                tokens.sort();
                tokens.dedup();
                if tokens.is_empty() {
                    // Nothing to narrow by (e.g. "---"): scan.
                    per_value.clear();
                    break;
                }
                let all: Vec<(Occur, Q)> = tokens
                    .iter()
                    .map(|tok| {
                        let q: Q = Box::new(TermQuery::new(
                            self.text_term(path, tok),
                            IndexRecordOption::Basic,
                        ));
                        (Occur::Must, q)
                    })
                    .collect();
                per_value.push(if all.len() == 1 {
                    all.into_iter().next().map(|(_, q)| q)
                } else {
                    Some(Box::new(BooleanQuery::new(all)) as Q)
                });
            }
            let per_value: Option<Vec<Q>> = per_value.into_iter().collect();
            per_value.filter(|v| !v.is_empty()).map(any_of)
        };
        KeywordQuery {
            column: format!("{EVENT}.{path}"),
            values,
            candidates,
        }
    }

    fn text_term(&self, path: &str, token: &str) -> Term {
        let mut t = Term::from_field_json_path(self.fields.event, path, true);
        t.append_type_and_str(token);
        t
    }

    /// The query for one path, or the union over every string path when there is none.
    fn per_path(&self, path: Option<&str>, one: impl Fn(&str) -> Q) -> Result<Q, SearchError> {
        Ok(match path {
            Some(p) => one(p),
            None => {
                self.charge(self.text_paths.len())?;
                any_of(self.text_paths.iter().map(|p| one(p)).collect())
            }
        })
    }

    fn text_match(
        &self,
        path: Option<&str>,
        text: &str,
        all_terms: bool,
    ) -> Result<Q, SearchError> {
        let tokens = tokenizer::tokens(text);
        if tokens.is_empty() {
            return Ok(Box::new(EmptyQuery));
        }
        self.charge(tokens.len())?;
        let term_query = |p: &str, tok: &str| -> Q {
            Box::new(TermQuery::new(
                self.text_term(p, tok),
                IndexRecordOption::WithFreqs,
            ))
        };
        if all_terms {
            // Each token must appear (in some field when none is named).
            let mut clauses = Vec::with_capacity(tokens.len());
            for tok in &tokens {
                clauses.push((Occur::Must, self.per_path(path, |p| term_query(p, tok))?));
            }
            return Ok(Box::new(BooleanQuery::new(clauses)));
        }
        if path.is_none() {
            // One union per token-less path would be built for every token.
            self.charge(self.text_paths.len().saturating_mul(tokens.len()))?;
        }
        self.per_path(path, |p| {
            any_of(tokens.iter().map(|tok| term_query(p, tok)).collect())
        })
    }

    fn phrase(&self, path: &str, tokens: &[String], slop: u32) -> Q {
        match tokens {
            [] => Box::new(EmptyQuery),
            [one] => Box::new(TermQuery::new(
                self.text_term(path, one),
                IndexRecordOption::WithFreqs,
            )),
            many => Box::new(PhraseQuery::new_with_offset_and_slop(
                many.iter()
                    .enumerate()
                    .map(|(i, tok)| (i, self.text_term(path, tok)))
                    .collect(),
                slop,
            )),
        }
    }
}

fn date(ms: i64) -> DateTime {
    DateTime::from_timestamp_millis(ms.clamp(crate::time::MIN_MS, crate::time::MAX_MS))
}

fn map_bound<T>(b: &Bound<T>, f: impl Fn(&T) -> Term) -> Bound<Term> {
    match b {
        Bound::Included(v) => Bound::Included(f(v)),
        Bound::Excluded(v) => Bound::Excluded(f(v)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// A range query; tantivy needs at least one bound, and no bound means "has a value", which for
/// the fields used here is every document.
fn range(lo: Bound<Term>, hi: Bound<Term>) -> Q {
    if matches!((&lo, &hi), (Bound::Unbounded, Bound::Unbounded)) {
        return Box::new(AllQuery);
    }
    Box::new(RangeQuery::new(lo, hi))
}

/// Union of `qs`; nothing for none, the query itself for one.
fn any_of(mut qs: Vec<Q>) -> Q {
    match qs.len() {
        0 => Box::new(EmptyQuery),
        1 => qs.remove(0),
        _ => Box::new(BooleanQuery::new(
            qs.into_iter().map(|q| (Occur::Should, q)).collect(),
        )),
    }
}
