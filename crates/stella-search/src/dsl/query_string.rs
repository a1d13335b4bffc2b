//! `query_string`: Lucene syntax (`field:value`, `AND`/`OR`/`NOT`, `+`/`-`, quoted phrases,
//! `field:[a TO b]`, `field:>5`, `field:*`, `field: IN [a b]`, boosts) parsed by tantivy's
//! query grammar, then mapped onto the same AST as the JSON DSL so both behave alike.
//!
//! `field:value` matches the analysed text of the field, its exact keyword value, or (when the
//! value is numeric or boolean) the number/boolean: without a mapping we cannot know which the
//! user meant, so any of them counts. A bare word searches every string field.

use std::ops::Bound;

use serde_json::Value;
use tantivy::query_grammar::{
    Delimiter, Occur, UserInputAst, UserInputBound, UserInputLeaf, UserInputLiteral,
};

use super::field::{resolve, FieldRef};
use super::json::{bool_of, known_keys, obj, string};
use super::query::{term_on, with_boost, BoolQuery, Ctx, Query, Scalar};
use super::range::path_range;
use crate::error::SearchError;
use crate::time;

/// Longest accepted query string, and deepest parenthesis nesting: the grammar is recursive,
/// so both bound its stack use.
pub const MAX_LEN: usize = 16 * 1024;
pub const MAX_PARENS: usize = 32;
/// Most fields in `fields` (Elasticsearch refuses field expansions past its clause limit too).
pub const MAX_FIELDS: usize = 100;

struct Opts {
    /// Fields for terms without one; empty means every string field.
    default_fields: Vec<String>,
    and: bool,
}

pub(crate) fn parse(body: &Value, at: &str, cx: &mut Ctx) -> Result<Query, SearchError> {
    let m = obj(body, at)?;
    known_keys(
        m,
        at,
        &[
            "query",
            "default_field",
            "fields",
            "default_operator",
            "boost",
            "analyze_wildcard",
            "lenient",
            "allow_leading_wildcard",
            "time_zone",
        ],
    )?;
    for flag in ["analyze_wildcard", "lenient", "allow_leading_wildcard"] {
        if let Some(v) = m.get(flag) {
            bool_of(v, &format!("{at}.{flag}"))?;
        }
    }
    if let Some(tz) = m.get("time_zone") {
        let tz = string(tz, &format!("{at}.time_zone"))?;
        if !matches!(tz, "UTC" | "utc" | "Z" | "+00:00" | "Etc/UTC" | "GMT") {
            return Err(SearchError::unsupported(format!(
                "{at}.time_zone {tz:?} is not supported; dates are UTC"
            )));
        }
    }
    let text = string(
        m.get("query")
            .ok_or_else(|| SearchError::invalid(format!("{at}.query is required")))?,
        &format!("{at}.query"),
    )?;
    let mut default_fields = Vec::new();
    if let Some(f) = m.get("default_field") {
        default_fields.push(string(f, &format!("{at}.default_field"))?.to_owned());
    }
    if let Some(fs) = m.get("fields") {
        let Value::Array(fs) = fs else {
            return Err(SearchError::invalid(format!(
                "{at}.fields must be an array"
            )));
        };
        if fs.len() > MAX_FIELDS {
            return Err(SearchError::invalid(format!(
                "{at}.fields names more than {MAX_FIELDS} fields"
            )));
        }
        for (i, f) in fs.iter().enumerate() {
            default_fields.push(string(f, &format!("{at}.fields[{i}]"))?.to_owned());
        }
    }
    // `*` is Elasticsearch's "all fields", which is also what no default field means here.
    default_fields.retain(|f| f != "*");
    let and = match m.get("default_operator") {
        None => false,
        Some(v) => match string(v, &format!("{at}.default_operator"))?
            .to_ascii_uppercase()
            .as_str()
        {
            "AND" => true,
            "OR" => false,
            _ => {
                return Err(SearchError::invalid(format!(
                    "{at}.default_operator must be AND or OR"
                )))
            }
        },
    };
    let ast = parse_text(text, &format!("{at}.query"))?;
    let opts = Opts {
        default_fields,
        and,
    };
    let q = convert(ast, &opts, cx, &format!("{at}.query"))?;
    with_boost(q, m, at)
}

fn parse_text(text: &str, at: &str) -> Result<UserInputAst, SearchError> {
    if text.len() > MAX_LEN {
        return Err(SearchError::invalid(format!(
            "{at} is longer than {MAX_LEN} bytes"
        )));
    }
    super::lucene::parse(text, MAX_PARENS).map_err(|e| {
        if e.msg == "less nesting" {
            SearchError::invalid(format!(
                "{at} nests parentheses (or NOTs) deeper than {MAX_PARENS}"
            ))
        } else {
            SearchError::invalid(format!(
                "{at}: cannot parse {text:?} as a query string: expected {} at byte {}",
                e.msg, e.pos
            ))
        }
    })
}

fn convert(ast: UserInputAst, o: &Opts, cx: &mut Ctx, at: &str) -> Result<Query, SearchError> {
    match ast {
        UserInputAst::Clause(children) => {
            cx.count(at)?;
            if children.is_empty() {
                return Ok(Query::MatchNone);
            }
            let mut b = BoolQuery::default();
            for (occur, child) in children {
                let q = convert(child, o, cx, at)?;
                let default = if o.and { Occur::Must } else { Occur::Should };
                match occur.unwrap_or(default) {
                    Occur::Must => b.must.push(q),
                    Occur::Should => b.should.push(q),
                    Occur::MustNot => b.must_not.push(q),
                }
            }
            Ok(Query::Bool(Box::new(b)))
        }
        UserInputAst::Boost(inner, boost) => {
            let q = convert(*inner, o, cx, at)?;
            if !boost.is_finite() || !(0.0..=1e6).contains(&boost) {
                return Err(SearchError::invalid(format!(
                    "{at}: boost {boost} is out of range"
                )));
            }
            Ok(Query::Boost(Box::new(q), boost as f32))
        }
        UserInputAst::Leaf(leaf) => {
            cx.count(at)?;
            leaf_query(*leaf, o, cx, at)
        }
    }
}

/// Applies `f` to the leaf's field, or to each default field (any one matching). Each field
/// costs `weight` clauses of the request's budget: a query of many words over many fields
/// multiplies out, and the budget is what bounds the product.
fn on_fields(
    field: Option<String>,
    o: &Opts,
    cx: &mut Ctx,
    weight: usize,
    at: &str,
    mut f: impl FnMut(FieldRef) -> Result<Query, SearchError>,
) -> Result<Option<Query>, SearchError> {
    let names: Vec<String> = match field {
        Some(name) => vec![name],
        None if o.default_fields.is_empty() => return Ok(None),
        None => o.default_fields.clone(),
    };
    cx.count_n(at, names.len().saturating_mul(weight))?;
    let mut should = Vec::with_capacity(names.len());
    for name in names {
        should.push(f(resolve(&name, at)?)?);
    }
    Ok(Some(if should.len() == 1 {
        should.remove(0)
    } else {
        Query::Bool(Box::new(BoolQuery {
            should,
            ..BoolQuery::default()
        }))
    }))
}

fn leaf_query(leaf: UserInputLeaf, o: &Opts, cx: &mut Ctx, at: &str) -> Result<Query, SearchError> {
    let now_ms = cx.now_ms;
    match leaf {
        UserInputLeaf::All => Ok(Query::MatchAll),
        UserInputLeaf::Literal(lit) => literal(lit, o, cx, at),
        UserInputLeaf::Exists { field } => on_fields(Some(field), o, cx, 1, at, |f| {
            Ok(match f {
                FieldRef::Path(path) => Query::Exists { path },
                FieldRef::Timestamp | FieldRef::Id => Query::MatchAll,
            })
        })
        .map(|q| q.unwrap_or(Query::MatchAll)),
        UserInputLeaf::Range {
            field,
            lower,
            upper,
        } => {
            let q = on_fields(field, o, cx, 1, at, |f| {
                range(f, &lower, &upper, now_ms, at)
            })?;
            q.ok_or_else(|| {
                SearchError::invalid(format!("{at}: a range needs a field (field:[a TO b])"))
            })
        }
        UserInputLeaf::Set { field, elements } => {
            let weight = 1 + 3 * elements.len();
            let q = on_fields(field, o, cx, weight, at, |f| {
                let mut should = Vec::with_capacity(elements.len());
                for e in &elements {
                    should.push(value_query(f.clone(), e, false, 0, at)?);
                }
                Ok(Query::Bool(Box::new(BoolQuery {
                    should,
                    ..BoolQuery::default()
                })))
            })?;
            q.ok_or_else(|| SearchError::invalid(format!("{at}: IN [...] needs a field")))
        }
    }
}

fn literal(lit: UserInputLiteral, o: &Opts, cx: &mut Ctx, at: &str) -> Result<Query, SearchError> {
    let quoted = lit.delimiter != Delimiter::None;
    if lit.prefix || (!quoted && (lit.phrase.contains('*') || lit.phrase.contains('?'))) {
        return Err(SearchError::unsupported(format!(
            "{at}: wildcard and prefix terms ({:?}) are not supported",
            lit.phrase
        )));
    }
    let slop = lit.slop.min(100);
    // `field:value` becomes up to three queries: text, keyword and number.
    let q = on_fields(lit.field_name, o, cx, 3, at, |f| {
        value_query(f, &lit.phrase, quoted, slop, at)
    })?;
    Ok(q.unwrap_or(Query::Phrase {
        path: None,
        text: lit.phrase,
        slop,
    }))
}

/// `field:value`: analysed text, exact keyword, or the number/boolean it spells.
fn value_query(
    f: FieldRef,
    text: &str,
    quoted: bool,
    slop: u32,
    at: &str,
) -> Result<Query, SearchError> {
    let path = match f {
        FieldRef::Path(p) => p,
        FieldRef::Timestamp => {
            let ms = time::parse_date(text).ok_or_else(|| {
                SearchError::invalid(format!("{at}: cannot read {text:?} as a date"))
            })?;
            return Ok(Query::TimeRange(Bound::Included(ms), Bound::Included(ms)));
        }
        other => return term_on(other, &Value::String(text.to_owned()), at),
    };
    let mut should = vec![
        Query::Phrase {
            path: Some(path.clone()),
            text: text.to_owned(),
            slop,
        },
        Query::Term {
            path: path.clone(),
            value: Scalar::Str(text.to_owned()),
        },
    ];
    if !quoted {
        let t = text.trim();
        if let Ok(i) = t.parse::<i64>() {
            should.push(Query::Term {
                path: path.clone(),
                value: Scalar::Int(i),
            });
        } else if let Some(x) = t.parse::<f64>().ok().filter(|x| x.is_finite()) {
            should.push(Query::Term {
                path: path.clone(),
                value: Scalar::Float(x),
            });
        } else if t == "true" || t == "false" {
            should.push(Query::Term {
                path,
                value: Scalar::Bool(t == "true"),
            });
        }
    }
    Ok(Query::Bool(Box::new(BoolQuery {
        should,
        ..BoolQuery::default()
    })))
}

fn range(
    f: FieldRef,
    lower: &UserInputBound,
    upper: &UserInputBound,
    now_ms: i64,
    at: &str,
) -> Result<Query, SearchError> {
    let side = |b: &UserInputBound| -> Option<(Value, bool)> {
        match b {
            UserInputBound::Inclusive(s) if s != "*" => Some((Value::String(s.clone()), true)),
            UserInputBound::Exclusive(s) if s != "*" => Some((Value::String(s.clone()), false)),
            _ => None,
        }
    };
    let (lo, hi) = (side(lower), side(upper));
    match f {
        FieldRef::Timestamp => {
            // As in the JSON `range`: `gt`/`lte` round date math up, `gte`/`lt` down.
            let eval =
                |b: Option<(Value, bool)>, is_lower: bool| -> Result<Bound<i64>, SearchError> {
                    Ok(match b {
                        None => Bound::Unbounded,
                        Some((v, inclusive)) => {
                            let s = v.as_str().unwrap_or_default();
                            let ms = time::eval_date_math(s, now_ms, is_lower != inclusive)
                                .map_err(|e| SearchError::invalid(format!("{at}: {e}")))?;
                            if inclusive {
                                Bound::Included(ms)
                            } else {
                                Bound::Excluded(ms)
                            }
                        }
                    })
                };
            Ok(Query::TimeRange(eval(lo, true)?, eval(hi, false)?))
        }
        FieldRef::Id => Err(SearchError::unsupported(format!(
            "{at}: range on _id is not supported"
        ))),
        FieldRef::Path(path) => path_range(
            path,
            lo.as_ref().map(|(v, i)| (v, *i)),
            hi.as_ref().map(|(v, i)| (v, *i)),
            at,
        ),
    }
}
