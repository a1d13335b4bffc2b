//! Folding matches that describe the same vulnerability into one finding.
//!
//! The same vulnerability often arrives as several records: PyPI's `PYSEC-…`, GitHub's
//! `GHSA-…`, a `CVE-…` record, each listing the others as aliases. Matches whose ids and
//! aliases share any identifier are one finding, transitively (A ~ B and B ~ C fold A, B and C
//! even when A and C name nothing in common); `related` ids never fold.
//!
//! A finding's primary id is one of its matched records' ids, chosen deterministically:
//! the ecosystem's own database first (any prefix other than `GHSA-` and `CVE-`: `PYSEC-`,
//! `GO-`, `RUSTSEC-`, `DSA-`…, since that is the id the package's maintainers and tools use),
//! then `GHSA-`, then `CVE-`; among equals the smallest id in byte order. It keeps the highest
//! severity of its matches ([`Severity::rank_cmp`]) and the union of their fixed versions (in the
//! order met, matches taken by id).

use std::collections::HashMap;

use serde::Serialize;

use crate::db::Match;
use crate::severity::Severity;

/// One vulnerability affecting the queried package, however many records describe it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The primary id (see the module documentation).
    pub id: String,
    /// Every other identifier: other records' ids and all aliases, sorted, without duplicates.
    pub aliases: Vec<String>,
    /// The highest severity among the matches.
    pub severity: Severity,
    /// Union of the matches' fixed versions.
    pub fixed: Vec<String>,
    /// The matches folded into this finding, ordered by id then affected entry.
    pub matches: Vec<Match>,
}

/// Folds matches sharing an id or alias (transitively) into findings, ordered by primary id.
pub fn merge_aliases(mut matches: Vec<Match>) -> Vec<Finding> {
    matches.sort_by(|a, b| {
        a.id.cmp(&b.id)
            .then(a.affected_index.cmp(&b.affected_index))
    });

    // Union-find over match indices; every identifier points at the first match naming it.
    let mut parent: Vec<usize> = (0..matches.len()).collect();
    let mut first_with: HashMap<&str, usize> = HashMap::new();
    for (i, m) in matches.iter().enumerate() {
        for ident in std::iter::once(&m.id).chain(&m.aliases) {
            match first_with.get(ident.as_str()) {
                Some(&j) => union(&mut parent, i, j),
                None => {
                    first_with.insert(ident, i);
                }
            }
        }
    }

    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of_root: HashMap<usize, usize> = HashMap::new();
    for i in 0..matches.len() {
        let root = find(&mut parent, i);
        let g = *group_of_root.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }

    let mut slots: Vec<Option<Match>> = matches.into_iter().map(Some).collect();
    let mut findings: Vec<Finding> = groups
        .into_iter()
        .map(|members| {
            let group: Vec<Match> = members.iter().filter_map(|&i| slots[i].take()).collect();
            finding(group)
        })
        .collect();
    findings.sort_by(|a, b| a.id.cmp(&b.id));
    findings
}

fn finding(group: Vec<Match>) -> Finding {
    let id = group
        .iter()
        .map(|m| m.id.as_str())
        .min_by(|a, b| primary_rank(a).cmp(&primary_rank(b)).then(a.cmp(b)))
        .unwrap_or_default()
        .to_owned();
    let mut aliases: Vec<String> = group
        .iter()
        .flat_map(|m| std::iter::once(&m.id).chain(&m.aliases))
        .filter(|a| **a != id)
        .cloned()
        .collect();
    aliases.sort();
    aliases.dedup();
    let mut severity = Severity::unknown();
    let mut fixed: Vec<String> = Vec::new();
    for m in &group {
        if m.severity.rank_cmp(&severity).is_gt() {
            severity = m.severity.clone();
        }
        for f in &m.fixed {
            if !fixed.contains(f) {
                fixed.push(f.clone());
            }
        }
    }
    Finding {
        id,
        aliases,
        severity,
        fixed,
        matches: group,
    }
}

/// 0 for an ecosystem database's id, 1 for GitHub's, 2 for a CVE.
fn primary_rank(id: &str) -> u8 {
    if id.starts_with("CVE-") {
        2
    } else if id.starts_with("GHSA-") {
        1
    } else {
        0
    }
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        // The smaller index stays the root, so groups come out in id order.
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[hi] = lo;
    }
}
