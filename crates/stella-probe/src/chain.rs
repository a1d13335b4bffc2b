//! Resolving an object's template chain through a lookup, refusing the chains inheritance
//! cannot use: a cycle, a missing template, a template in another tenant, or too many levels.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::inherit::Layer;
use crate::validate::FieldErrors;

/// The most templates one chain may hold (parent, grandparent, …). Bounds the lookups one
/// read or write costs; real deployments use two or three levels.
pub const MAX_CHAIN_DEPTH: usize = 16;

/// A stored probe or template, as the chain needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pk: i64,
    pub tenant: String,
    pub parent_tmpl: Option<i64>,
    pub overriden_fields: Vec<String>,
    /// The object's own stored values (all of its fields).
    pub values: Map<String, Value>,
}

impl Node {
    /// A node from stored values, reading `parent_tmpl` and `overriden_fields` from them
    /// (validated when written; anything else reads as no parent and no override).
    pub fn from_values(pk: i64, tenant: impl Into<String>, values: Map<String, Value>) -> Node {
        let parent_tmpl = values.get("parent_tmpl").and_then(Value::as_i64);
        let overriden_fields = values
            .get("overriden_fields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Node {
            pk,
            tenant: tenant.into(),
            parent_tmpl,
            overriden_fields,
            values,
        }
    }

    /// The node as one layer of [`crate::effective`]'s chain.
    pub fn layer(&self) -> Layer<'_> {
        Layer {
            values: &self.values,
            overriden_fields: &self.overriden_fields,
        }
    }
}

/// Why a template chain was refused. Every variant is about `parent_tmpl` ([`Self::field`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The object names itself as its template.
    #[error("parent_tmpl: an object cannot be its own template ({pk}).")]
    SelfParent { pk: i64 },
    /// Following `parent_tmpl` comes back to a template already in the chain; `path` is the
    /// chain from the object's parent up to and including the repeated template.
    #[error("parent_tmpl: templates form a cycle ({}).", arrows(.path))]
    Cycle { path: Vec<i64> },
    /// No template has this pk (or none the caller may see).
    #[error("parent_tmpl: Invalid pk \"{pk}\" - object does not exist.")]
    NotFound { pk: i64 },
    /// The template belongs to another tenant than the object. A caller limited to one
    /// tenant never sees another's templates, so its lookup answers [`Self::NotFound`]; this
    /// one reaches callers who see both tenants, to whom naming the reason leaks nothing.
    #[error("parent_tmpl: template {pk} belongs to another tenant than this object.")]
    OtherTenant { pk: i64 },
    /// More than [`MAX_CHAIN_DEPTH`] templates.
    #[error("parent_tmpl: a template chain may have at most {max} levels.")]
    TooDeep { max: usize },
}

fn arrows(path: &[i64]) -> String {
    let mut s = String::new();
    for (i, pk) in path.iter().enumerate() {
        if i > 0 {
            s.push_str(" → ");
        }
        let _ = write!(s, "{pk}");
    }
    s
}

impl ChainError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ChainError::SelfParent { .. } => "probe-parent-self",
            ChainError::Cycle { .. } => "probe-parent-cycle",
            ChainError::NotFound { .. } => "probe-parent-not-found",
            ChainError::OtherTenant { .. } => "probe-parent-other-tenant",
            ChainError::TooDeep { .. } => "probe-parent-too-deep",
        }
    }

    /// The field the error is about: always `parent_tmpl`.
    pub fn field(&self) -> &'static str {
        "parent_tmpl"
    }

    /// The message without the field name, for a Django REST framework error body.
    pub fn message(&self) -> String {
        let full = self.to_string();
        match full.strip_prefix("parent_tmpl: ") {
            Some(rest) => rest.to_owned(),
            None => full,
        }
    }

    /// `{"parent_tmpl": [message]}`, Django REST framework's shape.
    pub fn to_field_errors(&self) -> FieldErrors {
        FieldErrors::from([(self.field().to_owned(), vec![self.message()])])
    }
}

/// The template chain of an object, parent first.
///
/// `pk` is the object's own primary key (`None` while it is being created), `tenant` its
/// tenant and `parent` the `parent_tmpl` it has or is about to get. `lookup` answers a
/// template's stored node by pk, or `None` when there is none (in the caller's tenancy);
/// it is called at most [`MAX_CHAIN_DEPTH`] times and never twice for one pk.
///
/// Checking a write with the parent it is about to get catches the cycle a change would
/// close (template 5 taking 7 as parent while 7 already inherits from 5) before it is stored.
pub fn resolve_chain<F>(
    pk: Option<i64>,
    tenant: &str,
    parent: Option<i64>,
    mut lookup: F,
) -> Result<Vec<Node>, ChainError>
where
    F: FnMut(i64) -> Option<Node>,
{
    let mut chain: Vec<Node> = Vec::new();
    let mut next = parent;
    while let Some(p) = next {
        if chain.is_empty() && Some(p) == pk {
            return Err(ChainError::SelfParent { pk: p });
        }
        if Some(p) == pk || chain.iter().any(|n| n.pk == p) {
            let mut path: Vec<i64> = chain.iter().map(|n| n.pk).collect();
            path.push(p);
            return Err(ChainError::Cycle { path });
        }
        if chain.len() == MAX_CHAIN_DEPTH {
            return Err(ChainError::TooDeep {
                max: MAX_CHAIN_DEPTH,
            });
        }
        let node = lookup(p).ok_or(ChainError::NotFound { pk: p })?;
        if node.tenant != tenant {
            return Err(ChainError::OtherTenant { pk: p });
        }
        next = node.parent_tmpl;
        // The lookup is trusted for the pk it was asked about.
        chain.push(Node { pk: p, ..node });
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn store(edges: &[(i64, Option<i64>, &str)]) -> BTreeMap<i64, Node> {
        edges
            .iter()
            .map(|&(pk, parent, tenant)| {
                (
                    pk,
                    Node {
                        pk,
                        tenant: tenant.to_owned(),
                        parent_tmpl: parent,
                        overriden_fields: Vec::new(),
                        values: Map::new(),
                    },
                )
            })
            .collect()
    }

    fn pks(r: Result<Vec<Node>, ChainError>) -> Result<Vec<i64>, ChainError> {
        r.map(|c| c.iter().map(|n| n.pk).collect())
    }

    #[test]
    fn chains_resolve_parent_first() {
        let s = store(&[(1, None, "t"), (2, Some(1), "t"), (3, Some(2), "t")]);
        assert_eq!(
            pks(resolve_chain(Some(10), "t", Some(3), |p| s
                .get(&p)
                .cloned())),
            Ok(vec![3, 2, 1])
        );
        assert_eq!(
            pks(resolve_chain(None, "t", None, |p| s.get(&p).cloned())),
            Ok(vec![])
        );
    }

    #[test]
    fn refusals_carry_codes_and_name_parent_tmpl() {
        let s = store(&[(1, Some(2), "t"), (2, Some(1), "t"), (3, None, "other")]);
        let get = |p: i64| s.get(&p).cloned();

        let e = resolve_chain(Some(5), "t", Some(5), get).unwrap_err();
        assert_eq!(e.code(), "probe-parent-self");

        let e = resolve_chain(Some(5), "t", Some(1), get).unwrap_err();
        assert_eq!(
            e,
            ChainError::Cycle {
                path: vec![1, 2, 1]
            }
        );
        assert_eq!(e.code(), "probe-parent-cycle");
        assert_eq!(
            e.to_field_errors(),
            FieldErrors::from([(
                "parent_tmpl".to_owned(),
                vec!["templates form a cycle (1 → 2 → 1).".to_owned()]
            )])
        );

        // Template 1 taking 2 as its parent closes the loop through itself.
        let s2 = store(&[(2, Some(1), "t")]);
        let e = resolve_chain(Some(1), "t", Some(2), |p| s2.get(&p).cloned()).unwrap_err();
        assert_eq!(e, ChainError::Cycle { path: vec![2, 1] });

        let e = resolve_chain(None, "t", Some(9), get).unwrap_err();
        assert_eq!(e.code(), "probe-parent-not-found");
        assert_eq!(e.message(), "Invalid pk \"9\" - object does not exist.");

        let e = resolve_chain(None, "t", Some(3), get).unwrap_err();
        assert_eq!(e.code(), "probe-parent-other-tenant");
        assert_eq!(e.field(), "parent_tmpl");
    }

    #[test]
    fn depth_is_bounded() {
        let n = MAX_CHAIN_DEPTH as i64;
        let edges: Vec<(i64, Option<i64>, &str)> = (1..=n + 1)
            .map(|pk| (pk, if pk > 1 { Some(pk - 1) } else { None }, "t"))
            .collect();
        let s = store(&edges);
        let mut calls = 0;
        let ok = resolve_chain(None, "t", Some(n), |p| {
            calls += 1;
            s.get(&p).cloned()
        });
        assert_eq!(ok.map(|c| c.len()), Ok(MAX_CHAIN_DEPTH));
        assert_eq!(calls, MAX_CHAIN_DEPTH);
        let mut calls = 0;
        let e = resolve_chain(None, "t", Some(n + 1), |p| {
            calls += 1;
            s.get(&p).cloned()
        });
        assert_eq!(e.unwrap_err().code(), "probe-parent-too-deep");
        assert_eq!(calls, MAX_CHAIN_DEPTH);
    }
}
