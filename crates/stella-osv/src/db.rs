//! An in-memory database of OSV records, indexed for "is this package version affected?".
//!
//! [`Database::build`] parses every event and listed version once, under the ecosystem's
//! version scheme, and indexes the affected entries by (ecosystem without release, normalised
//! package name). [`Database::query`] is then two hash lookups and comparisons against the
//! installed version, parsed once.
//!
//! Decisions, each tested in `tests/semantics.rs`:
//!
//! * **Names.** PyPI names are normalised per PEP 503 ([`stella_vers::normalize_pypi_name`]);
//!   NuGet ids and Packagist names are compared lower-cased (NuGet ids are case-insensitive,
//!   Composer names are lower case by rule); every other ecosystem's names are compared exactly
//!   (Go module paths, npm names, Maven coordinates and distribution source packages are
//!   case-sensitive).
//! * **Releases.** An ecosystem may carry a release (`Debian:12`, `Alpine:v3.18`,
//!   `Ubuntu:22.04:LTS`). A query with a release matches entries of exactly that release (string
//!   equality) and entries without one (an unscoped record applies to every release). A query
//!   without a release matches entries of every release of the ecosystem: the caller did not
//!   say which, and reporting what might apply is safer than reporting nothing.
//! * **Schemes.** Both `ECOSYSTEM` and `SEMVER` ranges are evaluated with the ecosystem's own
//!   order, as OSV's tooling does (every ecosystem that writes SEMVER ranges orders by SemVer
//!   anyway). `GIT` ranges are not evaluated (they need the repository); the entry's
//!   `versions[]` list, which the schema requires beside GIT ranges, is what matches.
//! * **Unsupported.** A query in an ecosystem without a version order, or whose version does not
//!   parse under it, is [`QueryResult::Unsupported`] with the reason: never a silent empty
//!   match. Entries of such ecosystems are counted, not indexed.
//! * **Bad data.** A range with an event that does not parse under the scheme is skipped and
//!   recorded ([`Database::skipped_ranges`], [`Stats::skipped_ranges`]); the record's other
//!   ranges and its `versions[]` still match. A listed version that does not parse is compared
//!   as a string. Withdrawn records are counted and left out. Of two records with the same id,
//!   the one with the later `modified` is kept (the first on a tie).
//! * **One match per affected entry.** A record with two entries for the same package that
//!   both match gives two [`Match`]es with the same id; [`crate::merge_aliases`] folds them.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use stella_vers::{normalize_pypi_name, Ecosystem, Version, VersionScheme};

use crate::matcher::{Limit, Lower, ParsedRange};
use crate::model::{Event, RangeType, Record};
use crate::severity::{affected_severity, Severity};

/// A package version to look up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query<'a> {
    /// The OSV ecosystem name, optionally with a release: `"PyPI"`, `"Debian:12"`.
    pub ecosystem: &'a str,
    /// The package name as the ecosystem writes it (normalised here where the ecosystem says so).
    pub name: &'a str,
    /// The installed version.
    pub version: &'a str,
}

/// The answer to a [`Query`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryResult {
    /// The version could not be evaluated: no version order for the ecosystem, or the version
    /// is not a version under it. Not the same as "no vulnerability".
    Unsupported { reason: String },
    /// Every affected entry that contains the version (empty when none does), ordered by record
    /// id, then entry.
    Matched(Vec<Match>),
}

impl QueryResult {
    /// The matches, or `None` when the query was unsupported.
    pub fn matches(&self) -> Option<&[Match]> {
        match self {
            QueryResult::Matched(m) => Some(m),
            QueryResult::Unsupported { .. } => None,
        }
    }
}

/// One affected entry of one record that contains the queried version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Match {
    /// The record's id.
    pub id: String,
    /// The record's aliases.
    pub aliases: Vec<String>,
    /// The entry's ecosystem as the record writes it (with its release, if any).
    pub ecosystem: String,
    /// The entry's package name as the record writes it.
    pub package: String,
    /// Index of the entry in the record's `affected[]`.
    pub affected_index: usize,
    /// `fixed` versions, in the order written: those of the ranges that matched; when only
    /// `versions[]` matched, those of the entry's SEMVER and ECOSYSTEM ranges. GIT ranges'
    /// commits are never listed.
    pub fixed: Vec<String>,
    /// The entry's severity (its own, else the record's).
    pub severity: Severity,
    /// Every rule that contains the version: [`MatchRule::Versions`] first, then ranges in order.
    pub rules: Vec<MatchRule>,
}

/// Why a version matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// The entry's `versions[]` lists it (equal under the ecosystem's order).
    Versions,
    /// The entry's `ranges[index]` contains it.
    Range { index: usize, kind: RangeType },
}

/// A range left out of matching because an event did not parse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedRange {
    pub id: String,
    pub affected_index: usize,
    pub range_index: usize,
    pub reason: String,
}

/// What [`Database::build`] saw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Records kept (withdrawn ones and duplicates excluded).
    pub records: usize,
    /// Withdrawn records left out.
    pub withdrawn: usize,
    /// Records dropped because another record had the same id.
    pub duplicates: usize,
    /// Per ecosystem name (without release).
    pub per_ecosystem: BTreeMap<String, EcosystemStats>,
    /// Affected entries without a package (GIT-only descriptions).
    pub entries_without_package: usize,
    /// Affected entries of ecosystems without a version order (not indexed).
    pub unsupported_entries: usize,
    /// GIT ranges (not evaluated).
    pub git_ranges: usize,
    /// Ranges of a type the schema does not define (not evaluated).
    pub unknown_type_ranges: usize,
    /// Ranges skipped because an event did not parse.
    pub skipped_ranges: usize,
    /// `versions[]` entries that did not parse (compared as strings).
    pub unparsable_versions: usize,
}

/// Counts for one ecosystem.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EcosystemStats {
    /// Records with at least one entry in the ecosystem.
    pub records: usize,
    /// Affected entries.
    pub entries: usize,
    /// Distinct (normalised) package names.
    pub packages: usize,
    /// Whether the ecosystem has a version order (and so is queryable).
    pub supported: bool,
}

/// A listed version: parsed when it parses, else kept as written.
#[derive(Debug)]
enum Listed {
    Parsed(Version),
    Raw(String),
}

/// An indexed range: its position in the entry, its type, its parsed events.
#[derive(Debug)]
struct IndexedRange {
    index: usize,
    kind: RangeType,
    parsed: ParsedRange<Version>,
}

/// An indexed affected entry.
#[derive(Debug)]
struct Entry {
    record: usize,
    affected: usize,
    release: Option<String>,
    versions: Vec<Listed>,
    ranges: Vec<IndexedRange>,
    severity: Severity,
}

/// The records and their index. Build once, query from many threads (`Send + Sync`).
#[derive(Debug, Default)]
pub struct Database {
    records: Vec<Record>,
    by_id: HashMap<String, usize>,
    /// Ecosystem name → normalised package name → entries.
    index: HashMap<String, HashMap<String, Vec<Entry>>>,
    stats: Stats,
    skipped_ranges: Vec<SkippedRange>,
}

impl Database {
    /// Indexes `records` (see the module documentation for what is kept and skipped).
    pub fn build(records: impl IntoIterator<Item = Record>) -> Database {
        let mut db = Database::default();
        for record in records {
            if record.withdrawn.is_some() {
                db.stats.withdrawn += 1;
                continue;
            }
            match db.by_id.get(&record.id) {
                Some(&at) => {
                    db.stats.duplicates += 1;
                    if record.modified > db.records[at].modified {
                        db.records[at] = record;
                    }
                }
                None => {
                    db.by_id.insert(record.id.clone(), db.records.len());
                    db.records.push(record);
                }
            }
        }
        for at in 0..db.records.len() {
            db.index_record(at);
        }
        db.stats.records = db.records.len();
        for (ecosystem, names) in &db.index {
            if let Some(s) = db.stats.per_ecosystem.get_mut(ecosystem) {
                s.packages = names.len();
            }
        }
        for names in db.index.values_mut() {
            for entries in names.values_mut() {
                entries.sort_by(|a, b| {
                    let (ra, rb) = (&db.records[a.record], &db.records[b.record]);
                    ra.id.cmp(&rb.id).then(a.affected.cmp(&b.affected))
                });
            }
        }
        db
    }

    fn index_record(&mut self, at: usize) {
        let record = &self.records[at];
        let mut ecosystems_seen = HashSet::new();
        for (affected_index, affected) in record.affected.iter().enumerate() {
            let Some(package) = &affected.package else {
                self.stats.entries_without_package += 1;
                continue;
            };
            let (ecosystem, release) = Ecosystem::parse(&package.ecosystem);
            let scheme = ecosystem.scheme();
            let eco_stats = self
                .stats
                .per_ecosystem
                .entry(ecosystem.name().to_owned())
                .or_default();
            eco_stats.entries += 1;
            eco_stats.supported = scheme.is_some();
            if ecosystems_seen.insert(ecosystem.name().to_owned()) {
                eco_stats.records += 1;
            }
            let Some(scheme) = scheme else {
                self.stats.unsupported_entries += 1;
                continue;
            };

            let versions = affected
                .versions
                .iter()
                .map(|v| match scheme.parse(v) {
                    Ok(parsed) => Listed::Parsed(parsed),
                    Err(_) => {
                        self.stats.unparsable_versions += 1;
                        Listed::Raw(v.clone())
                    }
                })
                .collect();

            let mut ranges = Vec::new();
            for (range_index, range) in affected.ranges.iter().enumerate() {
                match range.kind {
                    RangeType::Semver | RangeType::Ecosystem => {}
                    RangeType::Git => {
                        self.stats.git_ranges += 1;
                        continue;
                    }
                    RangeType::Other(_) => {
                        self.stats.unknown_type_ranges += 1;
                        continue;
                    }
                }
                match parse_range(scheme, &range.events) {
                    Ok(parsed) => ranges.push(IndexedRange {
                        index: range_index,
                        kind: range.kind.clone(),
                        parsed,
                    }),
                    Err(reason) => {
                        self.stats.skipped_ranges += 1;
                        self.skipped_ranges.push(SkippedRange {
                            id: record.id.clone(),
                            affected_index,
                            range_index,
                            reason,
                        });
                    }
                }
            }

            let entry = Entry {
                record: at,
                affected: affected_index,
                release: release.map(str::to_owned),
                versions,
                ranges,
                severity: affected_severity(record, affected),
            };
            self.index
                .entry(ecosystem.name().to_owned())
                .or_default()
                .entry(normalize_name(&ecosystem, &package.name).into_owned())
                .or_default()
                .push(entry);
        }
    }

    /// Every entry containing `query.version` (see [`QueryResult`]).
    pub fn query(&self, query: &Query<'_>) -> QueryResult {
        let (ecosystem, release) = Ecosystem::parse(query.ecosystem);
        let Some(scheme) = ecosystem.scheme() else {
            return QueryResult::Unsupported {
                reason: format!("no version order for ecosystem {:?}", ecosystem.name()),
            };
        };
        let version = match scheme.parse(query.version) {
            Ok(v) => v,
            Err(e) => {
                return QueryResult::Unsupported {
                    reason: e.to_string(),
                }
            }
        };
        let name = normalize_name(&ecosystem, query.name);
        let Some(entries) = self
            .index
            .get(ecosystem.name())
            .and_then(|names| names.get(name.as_ref()))
        else {
            return QueryResult::Matched(Vec::new());
        };
        let matches = entries
            .iter()
            .filter(|e| match (release, &e.release) {
                (Some(wanted), Some(has)) => wanted == has,
                _ => true,
            })
            .filter_map(|e| self.evaluate(e, &version, query.version))
            .collect();
        QueryResult::Matched(matches)
    }

    fn evaluate(&self, entry: &Entry, version: &Version, raw: &str) -> Option<Match> {
        let mut rules = Vec::new();
        let listed = entry.versions.iter().any(|l| match l {
            Listed::Parsed(p) => p == version,
            Listed::Raw(s) => s == raw,
        });
        if listed {
            rules.push(MatchRule::Versions);
        }
        for range in &entry.ranges {
            if range.parsed.contains(version) {
                rules.push(MatchRule::Range {
                    index: range.index,
                    kind: range.kind.clone(),
                });
            }
        }
        if rules.is_empty() {
            return None;
        }
        let record = &self.records[entry.record];
        let affected = &record.affected[entry.affected];
        let matched_ranges: Vec<usize> = rules
            .iter()
            .filter_map(|r| match r {
                MatchRule::Range { index, .. } => Some(*index),
                MatchRule::Versions => None,
            })
            .collect();
        let mut fixed: Vec<String> = Vec::new();
        for (index, range) in affected.ranges.iter().enumerate() {
            let wanted = if matched_ranges.is_empty() {
                matches!(range.kind, RangeType::Semver | RangeType::Ecosystem)
            } else {
                matched_ranges.contains(&index)
            };
            if !wanted {
                continue;
            }
            for event in &range.events {
                if let Event::Fixed(v) = event {
                    if !fixed.contains(v) {
                        fixed.push(v.clone());
                    }
                }
            }
        }
        let package = affected.package.as_ref();
        Some(Match {
            id: record.id.clone(),
            aliases: record.aliases.clone(),
            ecosystem: package.map(|p| p.ecosystem.clone()).unwrap_or_default(),
            package: package.map(|p| p.name.clone()).unwrap_or_default(),
            affected_index: entry.affected,
            fixed,
            severity: entry.severity.clone(),
            rules,
        })
    }

    /// What was indexed, skipped and counted.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Ranges left out because an event did not parse, in the order met.
    pub fn skipped_ranges(&self) -> &[SkippedRange] {
        &self.skipped_ranges
    }

    /// The record with this id (withdrawn records are not kept).
    pub fn record(&self, id: &str) -> Option<&Record> {
        self.by_id.get(id).map(|&at| &self.records[at])
    }

    /// Every kept record, in the order given to [`Database::build`].
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Number of kept records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record was kept.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// The name as the index keys it (see the module documentation).
pub fn normalize_name<'a>(ecosystem: &Ecosystem, name: &'a str) -> Cow<'a, str> {
    match ecosystem {
        Ecosystem::PyPI => Cow::Owned(normalize_pypi_name(name)),
        Ecosystem::NuGet | Ecosystem::Packagist => Cow::Owned(name.to_lowercase()),
        _ => Cow::Borrowed(name),
    }
}

/// Parses a range's events, or says which event does not parse.
fn parse_range(
    scheme: stella_vers::Scheme,
    events: &[Event],
) -> Result<ParsedRange<Version>, String> {
    let mut range = ParsedRange::default();
    let parse = |v: &str| {
        scheme
            .parse(v)
            .map_err(|e| format!("event {v:?} does not parse: {e}"))
    };
    for event in events {
        match event {
            Event::Introduced(v) if v == "0" => range.introduced.push(Lower::Zero),
            Event::Introduced(v) => range.introduced.push(Lower::At(parse(v)?)),
            Event::Fixed(v) => range.fixed.push(parse(v)?),
            Event::LastAffected(v) => range.last_affected.push(parse(v)?),
            Event::Limit(v) if v.contains('*') => range.limits.push(Limit::Infinity),
            Event::Limit(v) => range.limits.push(Limit::At(parse(v)?)),
        }
    }
    Ok(range)
}
