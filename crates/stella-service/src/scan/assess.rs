//! From components to findings: each component is looked up in the feed under its OSV
//! ecosystem, distro binary packages under their source package, and whatever cannot be
//! looked up is reported as unassessed with the reason. Pure: no I/O, no clock.

use stella_osv::{Database, Level, Query, QueryResult};
use stella_proto::scan::{Finding, Severity, Unassessed};
use stella_sbom::Component;

/// Ecosystems whose advisories name the source package (Debian, Ubuntu, Alpine: OSV's notes).
fn names_source_package(ecosystem: &str) -> bool {
    let base = ecosystem.split_once(':').map_or(ecosystem, |(b, _)| b);
    matches!(base, "Debian" | "Ubuntu" | "Alpine")
}

pub(crate) fn severity(level: Level) -> Severity {
    match level {
        Level::Unknown => Severity::Unknown,
        Level::Low => Severity::Low,
        Level::Medium => Severity::Medium,
        Level::High => Severity::High,
        Level::Critical => Severity::Critical,
    }
}

/// What a component list amounts to against one feed.
#[derive(Debug, Default)]
pub(crate) struct Assessment {
    pub findings: Vec<Finding>,
    pub unassessed: Vec<Unassessed>,
}

fn unassessed(c: &Component, reason: String) -> Unassessed {
    Unassessed {
        package: c.name.clone(),
        version: c.version.clone(),
        purl: c.purl.as_ref().map(ToString::to_string),
        ecosystem: c.ecosystem.clone(),
        reason,
    }
}

pub(crate) fn assess(feed: &Database, components: &[Component]) -> Assessment {
    let mut out = Assessment::default();
    for c in components {
        let Some(ecosystem) = c.ecosystem.as_deref() else {
            out.unassessed.push(unassessed(
                c,
                "unknown-ecosystem: no purl or package type names its OSV ecosystem".into(),
            ));
            continue;
        };
        // Distro advisories name the source package and its version.
        let (name, version) = if names_source_package(ecosystem) {
            (
                c.source_name.as_deref().unwrap_or(&c.name),
                c.source_version.as_deref().or(c.version.as_deref()),
            )
        } else {
            (c.name.as_str(), c.version.as_deref())
        };
        let Some(version) = version.filter(|v| !v.is_empty()) else {
            out.unassessed.push(unassessed(
                c,
                "no-version: the SBOM gives no version".into(),
            ));
            continue;
        };
        let matches = match feed.query(&Query {
            ecosystem,
            name,
            version,
        }) {
            QueryResult::Unsupported { reason } => {
                out.unassessed
                    .push(unassessed(c, format!("unsupported: {reason}")));
                continue;
            }
            QueryResult::Matched(m) => m,
        };
        for f in stella_osv::merge_aliases(matches) {
            out.findings.push(Finding {
                id: f.id,
                aliases: f.aliases,
                package: c.name.clone(),
                purl: c.purl.as_ref().map(ToString::to_string),
                installed_version: c.version.clone().unwrap_or_else(|| version.to_owned()),
                fixed_versions: f.fixed,
                severity: severity(f.severity.level),
                cvss_score: f.severity.score,
                layer: c.layer.clone(),
                policy_rule: None,
                suppressed: false,
                justification: None,
            });
        }
    }
    out
}
