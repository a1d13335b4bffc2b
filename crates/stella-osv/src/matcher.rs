//! Whether a version lies in one OSV range: the "Evaluation" section of the OSV schema, without
//! sorting.
//!
//! The schema walks the range's events in version order: an `introduced` at or below the
//! version makes it affected, a `fixed` at or below it (or a `last_affected` strictly below it)
//! makes it unaffected again, so the answer is the kind of the *last* event that applies. Two
//! things make a literal sort a poor fit here:
//!
//! * some ecosystems' orders are not total (Maven's specification has a cycle, Packagist's
//!   `version_compare` is not transitive in corner cases; see stella-vers), and Rust's sort may
//!   panic on a comparator that is not a total order;
//! * the schema does not say how events of equal version sort.
//!
//! So the walk is restated pairwise: the version is affected when some `introduced` event `i`
//! applies (`i <= v`, or `i` is `"0"`) and no closing event after `i` applies, i.e. there is no
//! `fixed` `f` with `i <= f <= v` and no `last_affected` `l` with `i <= l < v`. For a total
//! order this is exactly the last-applicable-event rule with events of equal version ordered
//! `introduced` first. That tie order keeps `[x, x)` empty and `[x, x]` = `{x}` rather than
//! turning them into "affected from `x` on", and it means a version equal to a `fixed` event is
//! never in that range: a scanner that names `x` as the fix must not flag `x` itself. A record
//! that writes adjacent segments sharing a boundary (`fixed: x` … `introduced: x`, as
//! PYSEC-2022-236 does) therefore leaves `x` out of the range; PyPI's records list such versions
//! in `versions[]`, which still matches. No step depends on the order events were written in,
//! and each comparison involves the installed version or two events only.
//!
//! `limit` events bound the range from above (exclusive): with any limit present, only versions
//! below at least one limit are in the range; a limit containing `*` is infinity.

/// The lower bound of an `introduced` event.
#[derive(Clone, Debug)]
pub(crate) enum Lower<V> {
    /// `"0"`: before every version, pre-releases included (`0.0.0b0` in PyPI sorts below `0`).
    Zero,
    At(V),
}

impl<V: Ord> Lower<V> {
    fn le(&self, v: &V) -> bool {
        match self {
            Lower::Zero => true,
            Lower::At(i) => i <= v,
        }
    }
}

/// An upper bound from a `limit` event.
#[derive(Clone, Debug)]
pub(crate) enum Limit<V> {
    /// A limit containing `*`.
    Infinity,
    At(V),
}

/// A range whose events have been parsed under the ecosystem's scheme.
#[derive(Clone, Debug)]
pub(crate) struct ParsedRange<V> {
    pub introduced: Vec<Lower<V>>,
    pub fixed: Vec<V>,
    pub last_affected: Vec<V>,
    pub limits: Vec<Limit<V>>,
}

impl<V> Default for ParsedRange<V> {
    fn default() -> Self {
        ParsedRange {
            introduced: Vec::new(),
            fixed: Vec::new(),
            last_affected: Vec::new(),
            limits: Vec::new(),
        }
    }
}

impl<V: Ord> ParsedRange<V> {
    /// Whether `v` is in the range (see the module documentation).
    pub fn contains(&self, v: &V) -> bool {
        self.before_limits(v)
            && self.introduced.iter().any(|i| {
                i.le(v)
                    && !self.fixed.iter().any(|f| i.le(f) && f <= v)
                    && !self.last_affected.iter().any(|l| i.le(l) && l < v)
            })
    }

    fn before_limits(&self, v: &V) -> bool {
        self.limits.is_empty()
            || self.limits.iter().any(|l| match l {
                Limit::Infinity => true,
                Limit::At(limit) => v < limit,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(intro: &[u32], fixed: &[u32], last: &[u32], limits: &[u32]) -> ParsedRange<u32> {
        ParsedRange {
            introduced: intro
                .iter()
                .map(|&i| if i == 0 { Lower::Zero } else { Lower::At(i) })
                .collect(),
            fixed: fixed.to_vec(),
            last_affected: last.to_vec(),
            limits: limits.iter().map(|&l| Limit::At(l)).collect(),
        }
    }

    fn affected(r: &ParsedRange<u32>) -> Vec<u32> {
        (1..=12).filter(|v| r.contains(v)).collect()
    }

    #[test]
    fn pairwise_walk() {
        assert_eq!(affected(&range(&[3], &[5], &[], &[])), [3, 4]);
        assert_eq!(affected(&range(&[3], &[], &[5], &[])), [3, 4, 5]);
        assert_eq!(
            affected(&range(&[0], &[], &[], &[])),
            (1..=12).collect::<Vec<_>>()
        );
        assert_eq!(affected(&range(&[0, 6], &[2, 8], &[], &[])), [1, 6, 7]);
        // Introduced again after a fix, never fixed.
        assert_eq!(
            affected(&range(&[1, 6], &[3], &[], &[])),
            [1, 2, 6, 7, 8, 9, 10, 11, 12]
        );
        // Equal introduced and fixed: empty; equal introduced and last_affected: that version.
        assert_eq!(affected(&range(&[4], &[4], &[], &[])), Vec::<u32>::new());
        assert_eq!(affected(&range(&[4], &[], &[4], &[])), [4]);
        // A fix below the introduction does not close it.
        assert_eq!(
            affected(&range(&[5], &[2], &[], &[])),
            [5, 6, 7, 8, 9, 10, 11, 12]
        );
        assert_eq!(affected(&range(&[2], &[], &[], &[5])), [2, 3, 4]);
        assert_eq!(
            affected(&range(&[2], &[], &[], &[5, 9])),
            [2, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!(affected(&range(&[], &[5], &[], &[])), Vec::<u32>::new());
        let mut infinite = range(&[2], &[], &[], &[5]);
        infinite.limits.push(Limit::Infinity);
        assert_eq!(affected(&infinite), (2..=12).collect::<Vec<_>>());
    }
}
