//! Several documents merged, and the matching rules of the crate documentation.

use std::collections::HashMap;

use crate::{Format, ProductRef, Purl, Statement, VexDocument};

/// The statements of several documents, indexed by vulnerability id and alias.
#[derive(Debug, Clone, Default)]
pub struct VexSet {
    statements: Vec<Entry>,
    by_id: HashMap<String, Vec<usize>>,
}

#[derive(Debug, Clone)]
struct Entry {
    statement: Statement,
    document: usize,
    format: Format,
}

impl VexSet {
    /// Merges documents; order matters only to break ties between equal timestamps (later
    /// wins).
    pub fn new(docs: impl IntoIterator<Item = VexDocument>) -> VexSet {
        let mut set = VexSet::default();
        for (d, doc) in docs.into_iter().enumerate() {
            for statement in doc.statements {
                let i = set.statements.len();
                let mut keys: Vec<String> = std::iter::once(&statement.vulnerability)
                    .chain(&statement.aliases)
                    .map(|s| normalise_id(s))
                    .collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    set.by_id.entry(k).or_default().push(i);
                }
                set.statements.push(Entry {
                    statement,
                    document: d,
                    format: doc.format,
                });
            }
        }
        set
    }

    pub fn len(&self) -> usize {
        self.statements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Every statement, in the order read.
    pub fn statements(&self) -> impl Iterator<Item = &Statement> {
        self.statements.iter().map(|e| &e.statement)
    }

    /// The statement that decides a finding, whatever its status: of those that apply
    /// (vulnerability id/alias and purl, see the crate documentation), the latest.
    /// `purl` is the finding's package URL; a finding without one, or with one that does
    /// not parse, has no decision.
    pub fn decision(
        &self,
        vuln_id: &str,
        aliases: &[String],
        purl: Option<&str>,
    ) -> Option<&Statement> {
        let purl = Purl::parse(purl?).ok()?;
        self.decision_for(vuln_id, aliases, &purl)
    }

    /// [`VexSet::decision`] with an already-parsed purl.
    pub fn decision_for(
        &self,
        vuln_id: &str,
        aliases: &[String],
        purl: &Purl,
    ) -> Option<&Statement> {
        let mut candidates: Vec<usize> = std::iter::once(vuln_id)
            .chain(aliases.iter().map(String::as_str))
            .filter_map(|id| self.by_id.get(&normalise_id(id)))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .filter(|&i| applies_to(&self.statements[i].statement, purl))
            // Ties on timestamp go to the later index (max_by_key keeps the last maximum).
            .max_by_key(|&i| {
                (
                    self.statements[i].statement.timestamp.is_some(),
                    self.statements[i].statement.timestamp,
                    i,
                )
            })
            .map(|i| &self.statements[i].statement)
    }

    /// The statement that suppresses a finding: [`VexSet::decision`] when its status
    /// [suppresses](crate::Status::suppresses).
    pub fn suppression(
        &self,
        vuln_id: &str,
        aliases: &[String],
        purl: Option<&str>,
    ) -> Option<&Statement> {
        self.decision(vuln_id, aliases, purl)
            .filter(|s| s.status.suppresses())
    }

    /// Which document (index into what [`VexSet::new`] was given) and format a statement
    /// returned by this set came from.
    pub fn origin(&self, statement: &Statement) -> Option<(usize, Format)> {
        self.statements
            .iter()
            .find(|e| std::ptr::eq(&e.statement, statement))
            .map(|e| (e.document, e.format))
    }
}

fn applies_to(statement: &Statement, purl: &Purl) -> bool {
    statement
        .products
        .iter()
        .any(|p| product_ref_matches(p, purl))
}

fn product_ref_matches(p: &ProductRef, purl: &Purl) -> bool {
    p.purl.as_ref().is_some_and(|s| product_matches(s, purl))
        || p.subcomponents.iter().any(|s| product_ref_matches(s, purl))
}

/// Whether a statement's product purl covers a finding's purl: type, namespace and name
/// equal; the statement's version absent or equal; its qualifiers a subset of the finding's;
/// its subpath absent or equal.
pub fn product_matches(statement: &Purl, finding: &Purl) -> bool {
    statement.ty() == finding.ty()
        && statement.namespace() == finding.namespace()
        && statement.name() == finding.name()
        && statement
            .version()
            .is_none_or(|v| finding.version() == Some(v))
        && statement
            .qualifiers()
            .iter()
            .all(|(k, v)| finding.qualifier(k) == Some(v.as_str()))
        && statement
            .subpath()
            .is_none_or(|s| finding.subpath() == Some(s))
}

/// Whether two vulnerability ids are the same: prefix (up to the first `-`)
/// case-insensitive, the rest exact, surrounding whitespace ignored.
pub fn vuln_id_eq(a: &str, b: &str) -> bool {
    normalise_id(a) == normalise_id(b)
}

fn normalise_id(id: &str) -> String {
    let id = id.trim();
    match id.split_once('-') {
        Some((prefix, rest)) => format!("{}-{rest}", prefix.to_ascii_uppercase()),
        None => id.to_ascii_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_by_prefix_case() {
        assert!(vuln_id_eq("cve-2024-1", "CVE-2024-1"));
        assert!(vuln_id_eq(" ghsa-abcd-efgh-ijkl", "GHSA-abcd-efgh-ijkl"));
        assert!(!vuln_id_eq("GHSA-abcd-efgh-ijkl", "GHSA-ABCD-efgh-ijkl"));
        assert!(!vuln_id_eq("CVE-2024-1", "CVE-2024-10"));
    }
}
