//! How severe a record (or one affected package of it) is.
//!
//! Sources, first usable one wins:
//!
//! 1. a CVSS v4.0 vector in `severity[]` (`CVSS_V4`), scored with the RustSec `cvss` crate,
//!    which implements the specification's macro-vector lookup and is tested against Red Hat's
//!    enumeration of every base vector (checked here too against Red Hat's published v4.0 and
//!    v3.1 vector sets: all 1,058 and 2,592 agree). The score is that of the vector as written: CVSS-B, or CVSS-BT/-BTE when the vector also
//!    carries threat or environmental metrics, as v4.0 intends;
//! 2. a CVSS v3.0/v3.1 vector (`CVSS_V3`), base score per the specification (3.1's `Roundup`;
//!    temporal and environmental metrics, rare in advisories, do not change it); a vector
//!    missing any of the eight base metrics is refused rather than scored;
//! 3. an Ubuntu priority (`Ubuntu`: `negligible`/`low`/`medium`/`high`/`critical`);
//! 4. `database_specific.severity`: `CRITICAL`, `HIGH`, `MODERATE` or `MEDIUM`, `LOW`, in any
//!    case (GitHub's advisories write `MODERATE`);
//! 5. otherwise [`Level::Unknown`]: a record without severity is still reported, never dropped.
//!
//! v4 is preferred over v3 because a database that publishes both has assessed the newer
//! metric; a vector that does not parse is passed over for the next source. CVSS v2 vectors
//! are not used: v2's bands have no Critical and its scores are not comparable with v3/v4,
//! and databases that still carry v2 carry v3 beside it.
//!
//! The score → level bands are CVSS's qualitative ones (v3.1 §5, v4.0 §6): 0.1–3.9 Low,
//! 4.0–6.9 Medium, 7.0–8.9 High, 9.0–10.0 Critical. CVSS calls 0.0 "None"; here it is
//! [`Level::Low`] with the score kept: the record still says the version is affected, so it
//! must not look unassessed ([`Level::Unknown`]) or harmless enough to drop.
//!
//! An affected entry's own `severity[]` or `database_specific.severity` overrides the record's
//! (the schema puts severity per package when packages differ).

use std::cmp::Ordering;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Affected, Record, SeverityScore, SeverityType};

/// A qualitative severity. Ordered from [`Level::Unknown`] (lowest, so any assessed level
/// outranks it when findings are merged) to [`Level::Critical`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

/// Where a [`Severity`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    CvssV4,
    CvssV3,
    Ubuntu,
    DatabaseSpecific,
    /// Nothing usable: the level is [`Level::Unknown`].
    None,
}

/// The severity of a record or of one affected package.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    pub level: Level,
    /// The CVSS base score, when the level came from a vector.
    pub score: Option<f64>,
    /// The CVSS vector the score was computed from.
    pub vector: Option<String>,
    pub source: Source,
}

impl Severity {
    /// No usable severity.
    pub fn unknown() -> Self {
        Severity {
            level: Level::Unknown,
            score: None,
            vector: None,
            source: Source::None,
        }
    }

    /// Orders severities for "the highest": by level, then by score (a score beats none).
    pub fn rank_cmp(&self, other: &Severity) -> Ordering {
        self.level.cmp(&other.level).then_with(|| {
            let a = self.score.unwrap_or(-1.0);
            let b = other.score.unwrap_or(-1.0);
            a.total_cmp(&b)
        })
    }
}

/// The CVSS qualitative band of a score; 0.0 (CVSS's "None") is [`Level::Low`], see the module
/// documentation.
pub fn level_for_score(score: f64) -> Level {
    if score >= 9.0 {
        Level::Critical
    } else if score >= 7.0 {
        Level::High
    } else if score >= 4.0 {
        Level::Medium
    } else {
        Level::Low
    }
}

/// A CVSS vector this crate scores: v3.0, v3.1 or v4.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CvssVersion {
    V3,
    V4,
}

/// Why a vector was not scored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    #[error("not a CVSS vector: {0}")]
    Invalid(String),
    #[error("CVSS v2 vectors are not scored")]
    V2,
}

/// The mandatory base metrics of CVSS v3.x.
const V3_BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];

/// The base score of a CVSS v3.0, v3.1 or v4.0 vector, rounded as its specification says.
pub fn cvss_base_score(vector: &str) -> Result<(f64, CvssVersion), CvssError> {
    let parsed =
        cvss::Cvss::from_str(vector.trim()).map_err(|e| CvssError::Invalid(e.to_string()))?;
    let version = match &parsed {
        cvss::Cvss::CvssV30(_) | cvss::Cvss::CvssV31(_) => CvssVersion::V3,
        cvss::Cvss::CvssV40(_) => CvssVersion::V4,
        // `Cvss` is non-exhaustive; v2 support is compiled out, so anything else is unknown.
        _ => return Err(CvssError::V2),
    };
    // The crate scores a v3 vector with base metrics missing (as if they were the lowest
    // value); the specification makes all eight mandatory, so such a vector is refused here.
    // (Its v4 parser already refuses missing mandatory metrics.)
    if version == CvssVersion::V3 {
        let present: Vec<&str> = parsed.metrics().map(|(m, _)| m.name()).collect();
        if let Some(missing) = V3_BASE.iter().find(|m| !present.contains(m)) {
            return Err(CvssError::Invalid(format!("missing base metric {missing}")));
        }
    }
    Ok((parsed.score(), version))
}

/// The severity from a `severity[]` list and a `database_specific` object, or `None` when
/// neither says anything usable.
pub fn from_parts(scores: &[SeverityScore], database_specific: Option<&Value>) -> Option<Severity> {
    let mut v3: Option<Severity> = None;
    let mut ubuntu: Option<Severity> = None;
    for s in scores {
        match s.kind {
            SeverityType::CvssV3 | SeverityType::CvssV4 => {
                let Ok((score, version)) = cvss_base_score(&s.score) else {
                    continue;
                };
                let severity = Severity {
                    level: level_for_score(score),
                    score: Some(score),
                    vector: Some(s.score.trim().to_owned()),
                    source: match version {
                        CvssVersion::V4 => Source::CvssV4,
                        CvssVersion::V3 => Source::CvssV3,
                    },
                };
                // The vector's own version decides, not the declared type (a mislabelled v4
                // vector is still v4).
                if version == CvssVersion::V4 {
                    return Some(severity);
                }
                v3.get_or_insert(severity);
            }
            SeverityType::Ubuntu => {
                if let Some(level) = ubuntu_level(&s.score) {
                    ubuntu.get_or_insert(Severity {
                        level,
                        score: None,
                        vector: None,
                        source: Source::Ubuntu,
                    });
                }
            }
            SeverityType::CvssV2 | SeverityType::Other(_) => {}
        }
    }
    v3.or(ubuntu).or_else(|| {
        let word = database_specific?.get("severity")?.as_str()?;
        Some(Severity {
            level: word_level(word)?,
            score: None,
            vector: None,
            source: Source::DatabaseSpecific,
        })
    })
}

/// A record's own severity (ignoring its affected entries).
pub fn record_severity(record: &Record) -> Severity {
    from_parts(&record.severity, record.database_specific.as_ref())
        .unwrap_or_else(Severity::unknown)
}

/// The severity of one affected entry: its own when it has one, else the record's.
pub fn affected_severity(record: &Record, affected: &Affected) -> Severity {
    from_parts(&affected.severity, affected.database_specific.as_ref())
        .unwrap_or_else(|| record_severity(record))
}

fn ubuntu_level(priority: &str) -> Option<Level> {
    Some(match priority.trim().to_ascii_lowercase().as_str() {
        "negligible" | "low" => Level::Low,
        "medium" => Level::Medium,
        "high" => Level::High,
        "critical" => Level::Critical,
        _ => return None,
    })
}

fn word_level(word: &str) -> Option<Level> {
    Some(match word.trim().to_ascii_uppercase().as_str() {
        "CRITICAL" => Level::Critical,
        "HIGH" => Level::High,
        "MODERATE" | "MEDIUM" => Level::Medium,
        "LOW" => Level::Low,
        _ => return None,
    })
}
