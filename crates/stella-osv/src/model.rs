//! The OSV schema (1.x, <https://ossf.github.io/osv-schema/>) as serde types.
//!
//! Only what matching, severity and reporting use is typed; fields this crate does not know
//! (`credits`, future additions) are ignored, and the free-form `database_specific` and
//! `ecosystem_specific` objects are kept as [`serde_json::Value`]. Timestamps stay the strings
//! the record wrote (RFC 3339): nothing here computes with them, and a record should not be
//! refused for an odd timestamp.
//!
//! Parsing is strict about types and lenient about absence: a list written as `null` is empty,
//! an absent optional field is `None`, but `"aliases": 5` or an event with two keys is an error
//! that names the field ([`RecordError`]), because a half-read record could hide an affected
//! range. Only `id` is required at the top level (the schema also requires `modified`; feeds in
//! the wild omit it and matching does not need it).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// One OSV vulnerability record.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Record {
    /// The schema version the record claims, e.g. `"1.3.1"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    /// `PYSEC-2019-16`, `GO-2020-0001`, `GHSA-…`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Set when the record was withdrawn; withdrawn records never match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// Other ids for the same vulnerability (`CVE-…`, `GHSA-…`).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub aliases: Vec<String>,
    /// Ids of similar but different vulnerabilities (never merged).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub related: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub affected: Vec<Affected>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub references: Vec<Reference>,
    /// Database-defined data; GitHub's and others' `severity` string is read from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// `severity[]` of a record or of an affected entry.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct SeverityScore {
    #[serde(rename = "type")]
    pub kind: SeverityType,
    /// A CVSS vector, or an Ubuntu priority word.
    pub score: String,
}

/// `severity[].type`. The schema adds types over time, so an unknown one is kept, not refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(from = "String", into = "String")]
pub enum SeverityType {
    CvssV2,
    CvssV3,
    CvssV4,
    Ubuntu,
    Other(String),
}

impl From<String> for SeverityType {
    fn from(s: String) -> Self {
        match s.as_str() {
            "CVSS_V2" => SeverityType::CvssV2,
            "CVSS_V3" => SeverityType::CvssV3,
            "CVSS_V4" => SeverityType::CvssV4,
            "Ubuntu" => SeverityType::Ubuntu,
            _ => SeverityType::Other(s),
        }
    }
}

impl From<SeverityType> for String {
    fn from(t: SeverityType) -> Self {
        match t {
            SeverityType::CvssV2 => "CVSS_V2".into(),
            SeverityType::CvssV3 => "CVSS_V3".into(),
            SeverityType::CvssV4 => "CVSS_V4".into(),
            SeverityType::Ubuntu => "Ubuntu".into(),
            SeverityType::Other(s) => s,
        }
    }
}

/// One `affected[]` entry: a package and the versions of it that are affected.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Affected {
    /// Absent in records that describe only GIT ranges of a repository; such entries never
    /// match a package query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// Per-package severity; when present it overrides the record's.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub ranges: Vec<Range>,
    /// Affected versions listed one by one.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// `affected[].package`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Package {
    /// An OSV ecosystem, possibly with a release: `"PyPI"`, `"Debian:12"`.
    pub ecosystem: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// `affected[].ranges[]`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: RangeType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    pub events: Vec<Event>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// `ranges[].type`; an unknown type is kept (and never evaluated).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(from = "String", into = "String")]
pub enum RangeType {
    Semver,
    Ecosystem,
    Git,
    Other(String),
}

impl From<String> for RangeType {
    fn from(s: String) -> Self {
        match s.as_str() {
            "SEMVER" => RangeType::Semver,
            "ECOSYSTEM" => RangeType::Ecosystem,
            "GIT" => RangeType::Git,
            _ => RangeType::Other(s),
        }
    }
}

impl From<RangeType> for String {
    fn from(t: RangeType) -> Self {
        match t {
            RangeType::Semver => "SEMVER".into(),
            RangeType::Ecosystem => "ECOSYSTEM".into(),
            RangeType::Git => "GIT".into(),
            RangeType::Other(s) => s,
        }
    }
}

impl fmt::Display for RangeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from(self.clone()))
    }
}

/// One event of a range. The schema allows exactly one key per event object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(try_from = "RawEvent", into = "RawEvent")]
pub enum Event {
    /// Affected from this version on (inclusive); `"0"` means from before the first version.
    Introduced(String),
    /// Not affected from this version on (exclusive upper bound).
    Fixed(String),
    /// Affected up to and including this version.
    LastAffected(String),
    /// Only versions below some limit are in the range; `"*"` is infinity.
    Limit(String),
}

impl Event {
    /// The version the event names.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

/// The wire form of an event: a struct, so that an event with extra keys from a database
/// (unknown fields are ignored everywhere) still reads, and zero or two of the known keys is an
/// error naming the event's path rather than serde's generic enum message.
#[derive(Deserialize, Serialize)]
struct RawEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit: Option<String>,
}

impl TryFrom<RawEvent> for Event {
    type Error = String;

    fn try_from(raw: RawEvent) -> Result<Self, Self::Error> {
        match (raw.introduced, raw.fixed, raw.last_affected, raw.limit) {
            (Some(v), None, None, None) => Ok(Event::Introduced(v)),
            (None, Some(v), None, None) => Ok(Event::Fixed(v)),
            (None, None, Some(v), None) => Ok(Event::LastAffected(v)),
            (None, None, None, Some(v)) => Ok(Event::Limit(v)),
            _ => {
                Err("an event needs exactly one of introduced, fixed, last_affected, limit".into())
            }
        }
    }
}

impl From<Event> for RawEvent {
    fn from(e: Event) -> Self {
        let mut raw = RawEvent {
            introduced: None,
            fixed: None,
            last_affected: None,
            limit: None,
        };
        match e {
            Event::Introduced(v) => raw.introduced = Some(v),
            Event::Fixed(v) => raw.fixed = Some(v),
            Event::LastAffected(v) => raw.last_affected = Some(v),
            Event::Limit(v) => raw.limit = Some(v),
        }
        raw
    }
}

/// `references[]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

/// Some feeds write an empty list as `null`; that is not worth refusing a record for.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Why bytes are not an OSV record: the field's path (`affected[0].ranges[1].events[2]`, or
/// `.` for the record itself) and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RecordError {
    /// Where in the record the problem is, in serde_path_to_error's notation.
    pub path: String,
    pub message: String,
}

/// Parses one OSV record from JSON bytes.
///
/// ```
/// let record = stella_osv::parse_record(br#"{"id": "GO-2020-0001", "affected": []}"#).unwrap();
/// assert_eq!(record.id, "GO-2020-0001");
/// let err = stella_osv::parse_record(br#"{"id": "X", "aliases": 5}"#).unwrap_err();
/// assert_eq!(err.path, "aliases");
/// ```
pub fn parse_record(bytes: &[u8]) -> Result<Record, RecordError> {
    // serde's derived structs also accept a JSON array of the fields in order, which would read
    // `["1.6.0", "X"]` as a record with id X; a record is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(RecordError {
            path: ".".into(),
            message: "expected a JSON object".into(),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let record: Record = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        // `?` is serde_path_to_error's "somewhere unknown" (e.g. the input ended early).
        let path = match e.path().to_string() {
            p if p == "?" => ".".to_owned(),
            p => p,
        };
        RecordError {
            path,
            message: e.inner().to_string(),
        }
    })?;
    de.end().map_err(|e| RecordError {
        path: ".".into(),
        message: e.to_string(),
    })?;
    if record.id.is_empty() {
        return Err(RecordError {
            path: "id".into(),
            message: "empty id".into(),
        });
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_full_record_and_ignores_unknown_fields() {
        let json = br#"{
            "schema_version": "1.6.0", "id": "GHSA-aaaa-bbbb-cccc", "modified": "2024-01-01T00:00:00Z",
            "published": "2023-12-01T00:00:00Z", "aliases": ["CVE-2023-1"], "related": null,
            "summary": "s", "details": "d", "credits": [{"name": "someone"}], "future_field": {"x": 1},
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                         {"type": "SOMETHING_NEW", "score": "9"}],
            "affected": [{
                "package": {"ecosystem": "PyPI", "name": "Django", "purl": "pkg:pypi/django"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"},
                            {"last_affected": "1.1"}, {"limit": "*"}, {"introduced": "2", "note": "extra key"}]},
                           {"type": "GIT", "repo": "https://example.com/r", "events": [{"introduced": "abc"}]},
                           {"type": "NEW_KIND", "events": []}],
                "versions": ["1.0", "1.1"],
                "ecosystem_specific": {"imports": []},
                "database_specific": {"source": "x"}
            }],
            "references": [{"type": "WEB", "url": "https://example.com"}],
            "database_specific": {"severity": "HIGH"}
        }"#;
        let r = parse_record(json).unwrap();
        assert_eq!(r.id, "GHSA-aaaa-bbbb-cccc");
        assert_eq!(r.aliases, ["CVE-2023-1"]);
        assert!(r.related.is_empty());
        assert_eq!(
            r.severity[1].kind,
            SeverityType::Other("SOMETHING_NEW".into())
        );
        let a = &r.affected[0];
        assert_eq!(a.package.as_ref().unwrap().name, "Django");
        assert_eq!(
            a.ranges[0].events,
            [
                Event::Introduced("0".into()),
                Event::Fixed("1.2".into()),
                Event::LastAffected("1.1".into()),
                Event::Limit("*".into()),
                Event::Introduced("2".into()),
            ]
        );
        assert_eq!(a.ranges[1].kind, RangeType::Git);
        assert_eq!(a.ranges[2].kind, RangeType::Other("NEW_KIND".into()));
        assert_eq!(
            r.database_specific.as_ref().unwrap()["severity"],
            Value::from("HIGH")
        );
        // What is written reads back the same.
        let again = parse_record(&serde_json::to_vec(&r).unwrap()).unwrap();
        assert_eq!(again, r);
    }

    #[test]
    fn errors_name_the_field() {
        let cases: &[(&[u8], &str, &str)] = &[
            (br#"{"affected": []}"#, ".", "missing field `id`"),
            (br#"{"id": 7}"#, "id", "invalid type"),
            (br#"{"id": ""}"#, "id", "empty"),
            (br#"{"id": "X", "aliases": "CVE-1"}"#, "aliases", "invalid type"),
            (
                br#"{"id": "X", "affected": [{"package": {"ecosystem": "PyPI"}}]}"#,
                "affected[0].package",
                "missing field `name`",
            ),
            (
                br#"{"id": "X", "affected": [{"package": {"ecosystem": "PyPI", "name": 1}}]}"#,
                "affected[0].package.name",
                "invalid type",
            ),
            (
                br#"{"id": "X", "affected": [{"ranges": [{"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1"}]}]}]}"#,
                "affected[0].ranges[0].events[0]",
                "exactly one",
            ),
            (
                br#"{"id": "X", "affected": [{"ranges": [{"type": "SEMVER", "events": [{}]}]}]}"#,
                "affected[0].ranges[0].events[0]",
                "exactly one",
            ),
            (
                br#"{"id": "X", "affected": [{"ranges": [{"type": "SEMVER"}]}]}"#,
                "affected[0].ranges[0]",
                "missing field `events`",
            ),
            (
                br#"{"id": "X", "affected": [{"versions": ["1", 2]}]}"#,
                "affected[0].versions[1]",
                "invalid type",
            ),
            (br#"{"id": "X"} trailing"#, ".", "trailing"),
            (br#"[{"id": "X"}]"#, ".", "JSON object"),
            (br#"["1.6.0", "X"]"#, ".", "JSON object"),
            (b"\xff", ".", "JSON object"),
            (b"", ".", "JSON object"),
            (br#"{"id": "X""#, ".", "EOF"),
        ];
        for (json, path, message) in cases {
            let err = parse_record(json).unwrap_err();
            assert_eq!(err.path, *path, "{}: {err}", String::from_utf8_lossy(json));
            assert!(
                err.message.contains(message),
                "{}: {err}",
                String::from_utf8_lossy(json)
            );
        }
    }
}
