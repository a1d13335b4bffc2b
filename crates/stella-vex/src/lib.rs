//! Stella Ops VEX reader: OpenVEX and CycloneDX VEX documents into one list of statements, and
//! the rules that decide which scan findings a set of statements suppresses.
//!
//! A VEX (Vulnerability Exploitability eXchange) statement says that a product is, or is not,
//! affected by a vulnerability. Stella Ops marks a finding *suppressed* when a statement says it
//! is not exploitable; suppressed findings are still reported, with the statement's
//! justification, never dropped.
//!
//! # Formats
//!
//! * **OpenVEX** 0.2.0 (and the older 0.0.x shapes: `vulnerability` and `products` as strings),
//!   recognised by an `@context` starting with `https://openvex.dev/ns`.
//! * **CycloneDX VEX**: CycloneDX 1.4–1.6 JSON with `vulnerabilities[]` that carry an
//!   `analysis.state`. `affects[].ref` is resolved to a purl: a `bom-ref` of a component in the
//!   same document (nested components and `metadata.component` included), a purl, or a
//!   `urn:cdx:<serial>/<version>#<bom-ref>` BOM-link into this same document. A reference that
//!   cannot be resolved is kept without a purl (it matches nothing) and a warning says so.
//!
//! # Status
//!
//! [`Status::suppresses`] is true for `not_affected` (OpenVEX, CycloneDX) and `false_positive`
//! (CycloneDX) only. `fixed` (and CycloneDX `resolved`, `resolved_with_pedigree`) does **not**
//! suppress: it says a fix exists in some version of the product, and a scanner that still finds
//! the vulnerability in the installed version is not shown wrong by it. `affected`
//! (`exploitable`) and `under_investigation` (`in_triage`) never suppress.
//!
//! # Matching ([`VexSet`])
//!
//! A statement applies to a finding when both of these hold:
//!
//! * **Vulnerability**: the statement's id or any of its aliases equals the finding's id or
//!   any of the finding's aliases, in either direction (a statement about `CVE-2024-1`
//!   applies to a finding `GHSA-xxxx` whose aliases include `CVE-2024-1`, and the other way
//!   round). Ids compare with their prefix (up to the first `-`) case-insensitive and the rest
//!   exact: `cve-2024-1` = `CVE-2024-1`, `GHSA-abcd-…` ≠ `GHSA-ABCD-…`.
//! * **Product**: the finding's purl matches one of the statement's product purls, or the purl
//!   of one of their subcomponents (OpenVEX `subcomponents` name the vulnerable package inside
//!   a product such as an image; the statement is applied to that package wherever it is found).
//!   Both purls are normalised by [`stella_sbom::Purl`]; type, namespace and name must be
//!   equal; a statement purl without a version applies to every version, one with a version
//!   only to that exact version; every qualifier of the statement's purl must be present with
//!   the same value in the finding's (`pkg:deb/debian/openssl?distro=debian-12` applies to
//!   `pkg:deb/debian/openssl@3.0.11?arch=amd64&distro=debian-12`); a statement subpath must
//!   equal the finding's. Products named by something other than a purl (a CPE, a URL, an
//!   unresolved `bom-ref`) never match, and a finding without a purl matches nothing.
//!
//! Of all the statements in a set that apply to one finding, the one with the latest
//! timestamp decides — a later `affected` cancels an earlier `not_affected`. A statement
//! without a timestamp is older than any with one; between equal timestamps the one read
//! last (later document given to [`VexSet::new`], later in its document) decides. The
//! statement's timestamp is, in order: OpenVEX statement `last_updated`, statement
//! `timestamp`, document `last_updated`, document `timestamp`; CycloneDX
//! `analysis.lastUpdated`, `analysis.firstIssued`, the vulnerability's `updated`, then
//! `metadata.timestamp`.
//!
//! # Untrusted input
//!
//! [`Limits`] bound the document's bytes, statements, products per statement, aliases,
//! components, the length of every string and the JSON nesting. Errors have stable
//! [`VexError::code`]s and field errors name the JSON path and what was expected. Nothing
//! here panics, recurses on input, or does I/O.
//!
//! ```
//! let doc = br#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex-1",
//!   "author":"Example","timestamp":"2024-05-01T00:00:00Z","version":1,
//!   "statements":[{"vulnerability":{"name":"CVE-2023-44487"},
//!     "products":[{"@id":"pkg:golang/golang.org/x/net"}],
//!     "status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}"#;
//! let doc = stella_vex::parse(doc, &stella_vex::Limits::default())?;
//! let set = stella_vex::VexSet::new([doc]);
//! let hit = set.suppression("GHSA-qppj-fm5r-hxr3", &["CVE-2023-44487".into()],
//!     Some("pkg:golang/golang.org/x/net@v0.15.0"));
//! assert_eq!(hit.and_then(|s| s.justification.as_deref()),
//!     Some("vulnerable_code_not_in_execute_path"));
//! # Ok::<(), stella_vex::VexError>(())
//! ```

mod cyclonedx;
mod error;
mod json;
mod openvex;
mod set;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

pub use error::{Limit, VexError};
pub use set::{product_matches, vuln_id_eq, VexSet};
pub use stella_sbom::Purl;

/// Bounds on one document. Going over one is `vex-too-large`, naming the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    /// Statements (OpenVEX) or vulnerabilities (CycloneDX) in one document.
    pub max_statements: usize,
    /// Products plus subcomponents of one statement; CycloneDX `affects` of one vulnerability.
    pub max_products: usize,
    /// Aliases (OpenVEX `aliases`, CycloneDX `references`) of one vulnerability.
    pub max_aliases: usize,
    /// CycloneDX components (all nesting levels) read to resolve `bom-ref`s.
    pub max_components: usize,
    /// Bytes of any one string that is read.
    pub max_string_bytes: usize,
    /// Nesting of JSON arrays and objects.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 16 * 1024 * 1024,
            max_statements: 20_000,
            max_products: 10_000,
            max_aliases: 100,
            max_components: 100_000,
            max_string_bytes: 16 * 1024,
            max_depth: 64,
        }
    }
}

/// The document formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Format {
    #[serde(rename = "openvex")]
    OpenVex,
    #[serde(rename = "cyclonedx-vex")]
    CycloneDx,
}

impl Format {
    /// `openvex` or `cyclonedx-vex`.
    pub fn name(self) -> &'static str {
        match self {
            Format::OpenVex => "openvex",
            Format::CycloneDx => "cyclonedx-vex",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One document, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VexDocument {
    pub format: Format,
    /// OpenVEX `@id`, CycloneDX `serialNumber`.
    pub id: Option<String>,
    /// OpenVEX `author`; CycloneDX `metadata.authors[0].name` or `metadata.manufacturer.name`.
    pub author: Option<String>,
    /// Document timestamp (`last_updated`, else `timestamp`; CycloneDX `metadata.timestamp`).
    pub timestamp: Option<DateTime<Utc>>,
    pub statements: Vec<Statement>,
    /// What was read but not used: unresolvable references, broken purls, statements without
    /// products, CycloneDX vulnerabilities without an analysis.
    pub warnings: Vec<String>,
}

/// One statement: a vulnerability, the products it is about, and their status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// The vulnerability id as given (OpenVEX `vulnerability.name`, CycloneDX `id`).
    pub vulnerability: String,
    /// Other ids of the same vulnerability (OpenVEX `aliases`, CycloneDX `references[].id`).
    pub aliases: Vec<String>,
    pub products: Vec<ProductRef>,
    pub status: Status,
    /// The status as the document spells it (`not_affected`, `resolved_with_pedigree`, …).
    pub status_label: String,
    /// OpenVEX `justification`, CycloneDX `analysis.justification`, as spelled there.
    pub justification: Option<String>,
    /// OpenVEX `impact_statement` (or `status_notes`), CycloneDX `analysis.detail`.
    pub detail: Option<String>,
    /// OpenVEX `action_statement`, CycloneDX `analysis.response` joined with `, `.
    pub action: Option<String>,
    /// When the statement was made; see the crate documentation for the fallbacks.
    pub timestamp: Option<DateTime<Utc>>,
    /// Where the statement sits in its document (`$.statements[3]`).
    pub location: String,
}

/// A product a statement is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductRef {
    /// The product's id as given: OpenVEX `@id`, CycloneDX `affects[].ref`.
    pub id: String,
    /// Its package URL, when it has one (from `@id`, `identifiers.purl`, or a resolved
    /// `bom-ref`).
    pub purl: Option<Purl>,
    /// OpenVEX `subcomponents` (one level; their own subcomponents are not read).
    pub subcomponents: Vec<ProductRef>,
}

/// Impact status, across both formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// OpenVEX `not_affected`, CycloneDX `not_affected`.
    NotAffected,
    /// OpenVEX `affected`, CycloneDX `exploitable`.
    Affected,
    /// OpenVEX `fixed`, CycloneDX `resolved` and `resolved_with_pedigree`.
    Fixed,
    /// OpenVEX `under_investigation`, CycloneDX `in_triage`.
    UnderInvestigation,
    /// CycloneDX `false_positive`.
    FalsePositive,
}

impl Status {
    /// Whether a finding this status applies to is suppressed: `NotAffected` and
    /// `FalsePositive` only (see the crate documentation for why `Fixed` is not).
    pub fn suppresses(self) -> bool {
        matches!(self, Status::NotAffected | Status::FalsePositive)
    }

    /// `not_affected`, `affected`, `fixed`, `under_investigation`, `false_positive`.
    pub fn name(self) -> &'static str {
        match self {
            Status::NotAffected => "not_affected",
            Status::Affected => "affected",
            Status::Fixed => "fixed",
            Status::UnderInvestigation => "under_investigation",
            Status::FalsePositive => "false_positive",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Detects the format from the document itself, without reading statements.
pub fn detect(bytes: &[u8], limits: &Limits) -> Result<Format, VexError> {
    let doc = json::read(bytes, limits)?;
    detect_value(&doc)
}

/// Reads an OpenVEX or CycloneDX VEX document.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<VexDocument, VexError> {
    let doc = json::read(bytes, limits)?;
    parse_value(&doc, limits)
}

/// Reads an already-parsed JSON value (the size and depth limits are the caller's concern
/// here; `serde_json` itself stops at 128 levels).
pub fn parse_value(doc: &Value, limits: &Limits) -> Result<VexDocument, VexError> {
    let reader = json::Reader { limits };
    let mut read = match detect_value(doc)? {
        Format::OpenVex => openvex::read(doc, &reader)?,
        Format::CycloneDx => cyclonedx::read(doc, &reader)?,
    };
    if read.warnings.len() > MAX_WARNINGS {
        let more = read.warnings.len() - MAX_WARNINGS;
        read.warnings.truncate(MAX_WARNINGS);
        read.warnings.push(format!("… and {more} more warnings"));
    }
    Ok(read)
}

/// Warnings kept per document; the rest are counted.
const MAX_WARNINGS: usize = 200;

fn detect_value(doc: &Value) -> Result<Format, VexError> {
    let Some(o) = doc.as_object() else {
        return Err(VexError::unknown_format(format!(
            "a VEX document is a JSON object, this is {}: send OpenVEX or CycloneDX VEX JSON",
            json::kind(doc)
        )));
    };
    let is_openvex_ctx = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.trim().starts_with("https://openvex.dev/ns"))
    };
    match o.get("@context") {
        Some(Value::Array(a)) if a.iter().any(is_openvex_ctx) => return Ok(Format::OpenVex),
        Some(v) if is_openvex_ctx(v) => return Ok(Format::OpenVex),
        _ => {}
    }
    if o.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return Ok(Format::CycloneDx);
    }
    let reason = if o
        .get("document")
        .and_then(|d| d.get("csaf_version"))
        .is_some()
    {
        "CSAF VEX is not read: convert it to OpenVEX or CycloneDX VEX".to_owned()
    } else if o.contains_key("statements") {
        "the document has statements but no OpenVEX @context (https://openvex.dev/ns/v0.2.0)"
            .to_owned()
    } else if o.contains_key("spdxVersion") || o.contains_key("SPDXID") {
        "this is an SPDX document, not VEX: send OpenVEX or CycloneDX VEX".to_owned()
    } else {
        "unknown VEX format: expected OpenVEX (an @context of https://openvex.dev/ns/…) or CycloneDX (bomFormat \"CycloneDX\")".to_owned()
    };
    Err(VexError::unknown_format(reason))
}
