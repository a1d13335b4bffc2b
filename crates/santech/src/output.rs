//! What santech prints: a readable table, the raw JSON, SARIF 2.1.0, or CycloneDX with
//! vulnerabilities.

use serde_json::{json, Value};
use stella_proto::scan::{Finding, ScanResponse, Severity};

pub fn print_json(v: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(v).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

fn cell(s: &str, width: usize) -> String {
    let mut s: String = s.chars().take(width).collect();
    while s.chars().count() < width {
        s.push(' ');
    }
    s
}

pub fn print_table(r: &ScanResponse, threshold: &str) {
    let s = &r.summary;
    println!(
        "{}  policy: {}  (threshold {threshold})",
        r.digest,
        r.policy_status.as_str().to_uppercase()
    );
    println!(
        "Critical {}  High {}  Medium {}  Low {}  Unknown {}",
        s.critical, s.high, s.medium, s.low, s.unknown
    );
    if let Some(q) = &r.quota {
        println!("quota: {} scans left until {}", q.remaining, q.reset);
    }
    if !r.findings.is_empty() {
        println!();
        println!(
            "{} {} {} {} FIXED IN",
            cell("SEVERITY", 9),
            cell("ID", 22),
            cell("PACKAGE", 28),
            cell("INSTALLED", 18),
        );
        let mut findings: Vec<&Finding> = r.findings.iter().collect();
        findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
        for f in findings {
            let mut sev = f.severity.as_str().to_owned();
            if f.suppressed {
                sev = format!("({sev})");
            }
            println!(
                "{} {} {} {} {}",
                cell(&sev, 9),
                cell(&f.id, 22),
                cell(&f.package, 28),
                cell(&f.installed_version, 18),
                if f.fixed_versions.is_empty() {
                    "-".to_owned()
                } else {
                    f.fixed_versions.join(", ")
                }
            );
        }
    }
    if !r.unassessed.is_empty() {
        println!();
        println!("not assessed ({}):", r.unassessed.len());
        for u in &r.unassessed {
            println!(
                "  {} {}: {}",
                u.package,
                u.version.as_deref().unwrap_or(""),
                u.reason
            );
        }
    }
}

/// SARIF's `level` and GitHub's `security-severity` for a finding.
fn level(s: Severity) -> (&'static str, &'static str) {
    match s {
        Severity::Critical => ("error", "9.5"),
        Severity::High => ("error", "8.0"),
        Severity::Medium => ("warning", "5.5"),
        Severity::Low => ("note", "2.0"),
        Severity::Unknown => ("warning", "0.0"),
    }
}

/// SARIF 2.1.0: one rule per vulnerability, one result per (vulnerability, package).
pub fn sarif(r: &ScanResponse, target: &str) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for f in &r.findings {
        if !seen.insert(f.id.clone()) {
            continue;
        }
        let (_, sec) = level(f.severity);
        let score = f.cvss_score.map(|s| format!("{s:.1}"));
        rules.push(json!({
            "id": f.id,
            "name": f.id,
            "shortDescription": {"text": format!("{} in {}", f.id, f.package)},
            "fullDescription": {"text": format!(
                "{} ({}): {} {} is affected{}.",
                f.id,
                f.aliases.join(", "),
                f.package,
                f.installed_version,
                if f.fixed_versions.is_empty() { String::new() } else { format!("; fixed in {}", f.fixed_versions.join(", ")) }
            )},
            "helpUri": format!("https://osv.dev/vulnerability/{}", f.id),
            "properties": {
                "security-severity": score.as_deref().unwrap_or(sec),
                "tags": ["security", "vulnerability", f.severity.as_str()],
            }
        }));
    }
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let (lvl, _) = level(f.severity);
            let mut result = json!({
                "ruleId": f.id,
                "level": if f.suppressed { "none" } else { lvl },
                "message": {"text": format!(
                    "{} {} ({}) is affected by {} [{}]{}",
                    f.package,
                    f.installed_version,
                    f.purl.as_deref().unwrap_or("no purl"),
                    f.id,
                    f.severity.as_str(),
                    if f.fixed_versions.is_empty() { String::new() } else { format!("; fixed in {}", f.fixed_versions.join(", ")) }
                )},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri_of(target)}}}],
                "partialFingerprints": {"stellaFinding/v1": format!("{}:{}", f.id, f.purl.as_deref().unwrap_or(&f.package))},
            });
            if f.suppressed {
                result["suppressions"] = json!([{
                    "kind": "external",
                    "justification": f.justification.as_deref().unwrap_or("VEX: not affected"),
                }]);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "santech",
                "informationUri": "https://stella-ops.dev/",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
            "properties": {"digest": r.digest, "policyStatus": r.policy_status.as_str()},
        }]
    })
}

/// A relative URI for a path (SARIF wants a URI reference).
fn uri_of(target: &str) -> String {
    target
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_owned(),
            '\\' => "/".to_owned(),
            '#' => "%23".to_owned(),
            '?' => "%3F".to_owned(),
            '%' => "%25".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The scanned SBOM as CycloneDX 1.5: its components (read locally) and a `vulnerabilities`
/// list pointing at them by `bom-ref`.
pub fn cyclonedx(
    r: &ScanResponse,
    sbom: Option<&[u8]>,
    sbom_type: Option<&str>,
) -> Result<Value, String> {
    let limits = stella_sbom::Limits::default();
    let parsed = match (sbom, sbom_type) {
        (None, _) => None,
        (Some(b), Some(t)) => Some(
            stella_sbom::parse_as(
                b,
                stella_sbom::SbomType::from_header(t).map_err(|e| e.to_string())?,
                &limits,
            )
            .map_err(|e| e.to_string())?,
        ),
        (Some(b), None) => Some(stella_sbom::parse(b, &limits).map_err(|e| e.to_string())?),
    };
    let components: Vec<Value> = parsed
        .iter()
        .flat_map(|s| s.components.iter())
        .enumerate()
        .map(|(i, c)| {
            let mut v = json!({
                "type": "library",
                "bom-ref": c.purl.as_ref().map(|p| p.to_string()).unwrap_or_else(|| format!("component-{i}")),
                "name": c.name,
            });
            if let Some(ver) = &c.version {
                v["version"] = json!(ver);
            }
            if let Some(p) = &c.purl {
                v["purl"] = json!(p.to_string());
            }
            v
        })
        .collect();
    let refs: std::collections::HashMap<String, String> = components
        .iter()
        .filter_map(|c| {
            Some((
                c["purl"].as_str()?.to_owned(),
                c["bom-ref"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let vulns: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let severity = f.severity.as_str().to_lowercase();
            let mut v = json!({
                "id": f.id,
                "source": {"name": "OSV", "url": format!("https://osv.dev/vulnerability/{}", f.id)},
                "ratings": [{"severity": severity, "method": "CVSSv31"}],
                "affects": [{"ref": f.purl.as_ref().and_then(|p| refs.get(p)).cloned().unwrap_or_else(|| f.package.clone())}],
            });
            if let Some(s) = f.cvss_score {
                v["ratings"][0]["score"] = json!(s);
            } else {
                v["ratings"][0] = json!({"severity": if severity == "unknown" { "unknown".to_owned() } else { severity }});
            }
            if !f.aliases.is_empty() {
                v["references"] = json!(f
                    .aliases
                    .iter()
                    .map(|a| json!({"id": a, "source": {"name": "OSV"}}))
                    .collect::<Vec<_>>());
            }
            if !f.fixed_versions.is_empty() {
                v["recommendation"] = json!(format!("upgrade to {}", f.fixed_versions.join(" or ")));
            }
            if f.suppressed {
                v["analysis"] = json!({"state": "not_affected", "detail": f.justification});
            }
            v
        })
        .collect();
    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {"tools": {"components": [{"type": "application", "name": "santech", "version": env!("CARGO_PKG_VERSION")}]}},
        "components": components,
        "vulnerabilities": vulns,
    }))
}
