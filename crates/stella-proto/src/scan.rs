//! Supply-chain scanning (reference §2.1–2.3, §3.3): the `/scan` answer, the layer cache check,
//! policy validation errors and the vulnerability feed's status. The server side comes later;
//! these types are the contract it will answer.

use crate::problem::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// How bad a finding is. Ordered `Unknown < Low < Medium < High < Critical`; written with the
/// capitalised names the reference uses in summaries and policy rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    /// No severity could be established (no CVSS vector, no advisory rating).
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "Unknown",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `?threshold=` of `/scan` and `santech --threshold`: the lowest severity that fails a build.
/// Written `low`, `medium`, `high`, `critical` (read case-insensitively); `critical` by default.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Threshold {
    Low,
    Medium,
    High,
    #[default]
    Critical,
}

impl Threshold {
    pub fn as_str(self) -> &'static str {
        match self {
            Threshold::Low => "low",
            Threshold::Medium => "medium",
            Threshold::High => "high",
            Threshold::Critical => "critical",
        }
    }

    /// The severity this threshold starts at.
    pub fn severity(self) -> Severity {
        match self {
            Threshold::Low => Severity::Low,
            Threshold::Medium => Severity::Medium,
            Threshold::High => Severity::High,
            Threshold::Critical => Severity::Critical,
        }
    }

    /// Whether a finding of `severity` is at or above this threshold. `Unknown` never is: a
    /// threshold names a level, and an unrated finding has none (policy rules may still block
    /// it).
    pub fn reached_by(self, severity: Severity) -> bool {
        severity != Severity::Unknown && severity >= self.severity()
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `threshold` that is none of `low`, `medium`, `high`, `critical`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThresholdError(pub String);

impl fmt::Display for ThresholdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "threshold {:?} is not one of low, medium, high, critical",
            self.0
        )
    }
}

impl std::error::Error for ThresholdError {}

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(Threshold::Low),
            "medium" => Ok(Threshold::Medium),
            "high" => Ok(Threshold::High),
            "critical" => Ok(Threshold::Critical),
            _ => Err(ThresholdError(s.to_owned())),
        }
    }
}

/// Findings counted per severity, keyed `Critical`, `High`, `Medium`, `Low` (always written; a
/// missing one reads as 0) and `Unknown` (written only when not 0, as the reference's example
/// has no such key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScanSummary {
    #[serde(default)]
    pub critical: u64,
    #[serde(default)]
    pub high: u64,
    #[serde(default)]
    pub medium: u64,
    #[serde(default)]
    pub low: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unknown: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ScanSummary {
    pub fn count(&self, severity: Severity) -> u64 {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Unknown => self.unknown,
        }
    }

    /// Adds one finding of `severity`.
    pub fn add(&mut self, severity: Severity) {
        let slot = match severity {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Unknown => &mut self.unknown,
        };
        *slot = slot.saturating_add(1);
    }

    /// Findings at or above `threshold` (see [`Threshold::reached_by`]).
    pub fn at_or_above(&self, threshold: Threshold) -> u64 {
        Severity::ALL
            .into_iter()
            .filter(|s| threshold.reached_by(*s))
            .map(|s| self.count(s))
            .sum()
    }
}

/// The policy's verdict on a scan. The reference shows `pass`; `fail` blocks (santech exits 1),
/// `warn` means a rule matched whose action is to warn: reported, not blocking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyStatus {
    Pass,
    Warn,
    Fail,
}

impl PolicyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyStatus::Pass => "pass",
            PolicyStatus::Warn => "warn",
            PolicyStatus::Fail => "fail",
        }
    }
}

/// An offline token's daily scan quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    /// Scans left until `reset`.
    pub remaining: u64,
    /// RFC 3339.
    pub reset: String,
}

/// `POST /scan`, 200 (reference §2.1). Beyond the reference's example: `id` (the stored
/// scan), `findings` and `unassessed`, each left out when `None` or empty; `quota` is left out
/// when the token has none (only offline tokens carry a quota).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanResponse {
    /// `sha256:…` of the image or SBOM scanned.
    pub digest: String,
    pub summary: ScanSummary,
    pub policy_status: PolicyStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Components that could not be checked (an ecosystem without a version order, no
    /// version, …): reported rather than silently passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unassessed: Vec<Unassessed>,
}

/// One vulnerability in one installed package. Optional members are left out when `None`,
/// empty or (`suppressed`) false.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The advisory id (`GHSA-…`, `CVE-…`, `PYSEC-…`).
    pub id: String,
    /// The advisory's other ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Package name as the SBOM gives it.
    pub package: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    pub installed_version: String,
    /// Versions that fix it; empty when there is no fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_versions: Vec<String>,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_score: Option<f64>,
    /// The image layer (`sha256:…`) that installed the package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// The name of the policy rule that matched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_rule: Option<String>,
    /// A VEX statement says the product is not affected: shown, not counted against the
    /// threshold.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suppressed: bool,
    /// The VEX justification (`vulnerable_code_not_in_execute_path`, …) when suppressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A component the scan could not assess, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unassessed {
    pub package: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// The OSV ecosystem, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
    /// Why: e.g. `unsupported-ecosystem`, `no-version`.
    pub reason: String,
}

/// `POST /layers/missing` (reference §2.2): the image's layer digests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayersMissingRequest {
    pub layers: Vec<String>,
}

/// The layers the server has no SBOM for: the client generates SBOMs for these only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayersMissingResponse {
    pub missing: Vec<String>,
}

/// The body of a 400 from `POST /policy/validate` or `/policy/import` (reference §2.3). The
/// server's problem documents carry the same `errors` member, so this also reads from one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyValidation {
    pub errors: Vec<FieldError>,
}

/// The vulnerability feed's state (`stellopsctl feed status`, reference §3.3). Written in
/// snake_case, as the server's other administration answers are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedStatus {
    /// Where the advisories come from (`osv`, an offline bundle's name, …).
    pub source: String,
    /// The imported snapshot's version, when the source has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// When it was imported, RFC 3339; `None` before the first import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_at: Option<String>,
    /// Advisories per OSV ecosystem.
    #[serde(default)]
    pub records: BTreeMap<String, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_and_order() {
        assert_eq!("high".parse(), Ok(Threshold::High));
        assert_eq!("Critical".parse(), Ok(Threshold::Critical));
        assert!("none".parse::<Threshold>().is_err());
        assert_eq!(Threshold::default(), Threshold::Critical);
        assert!(Threshold::High.reached_by(Severity::Critical));
        assert!(Threshold::High.reached_by(Severity::High));
        assert!(!Threshold::High.reached_by(Severity::Medium));
        assert!(!Threshold::Low.reached_by(Severity::Unknown));
        assert!(Severity::Unknown < Severity::Low);
    }

    #[test]
    fn summaries_count_at_or_above_a_threshold() {
        let mut s = ScanSummary::default();
        for sev in [
            Severity::Critical,
            Severity::High,
            Severity::High,
            Severity::Low,
            Severity::Unknown,
        ] {
            s.add(sev);
        }
        assert_eq!(s.at_or_above(Threshold::Critical), 1);
        assert_eq!(s.at_or_above(Threshold::High), 3);
        assert_eq!(s.at_or_above(Threshold::Low), 4);
        assert_eq!(s.count(Severity::Unknown), 1);
    }
}
