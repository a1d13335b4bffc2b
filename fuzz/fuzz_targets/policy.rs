//! Policy uploads as `POST /policy/import` and `/policy/validate` read them
//! (`stella_policy::parse_bytes`), YAML or Rego. Invariants: every input is read or refused
//! with field errors (never a panic); validate agrees with parse; a policy's export reads back
//! to itself with the same hash, and a YAML policy's canonical form to the same rules; and a
//! read policy evaluates on a small fixed scan to one decision per finding (or, for Rego, an
//! error).
#![no_main]

use chrono::{DateTime, Utc};
use stella_policy::{Finding, Input, PolicyKind, Severity, Threshold};

fn finding(
    id: &str,
    package: &str,
    purl: Option<&str>,
    severity: Severity,
    suppressed: bool,
) -> Finding {
    Finding {
        id: id.to_owned(),
        aliases: vec!["GHSA-aaaa-bbbb-cccc".to_owned()],
        package: package.to_owned(),
        purl: purl.map(str::to_owned),
        installed_version: "4.17.20".to_owned(),
        fixed_versions: vec!["4.17.21".to_owned()],
        severity,
        cvss_score: Some(9.8),
        layer: None,
        policy_rule: None,
        suppressed,
        justification: None,
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let parsed = stella_policy::parse_bytes(data);
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(stella_policy::validate(text).is_ok(), parsed.is_ok());
    }
    let policy = match parsed {
        Ok(p) => p,
        Err(errors) => {
            assert!(!errors.is_empty());
            return;
        }
    };
    let again = stella_policy::parse(&policy.export()).expect("an export reads back");
    assert_eq!(again, policy);
    assert_eq!(again.hash(), policy.hash());
    if policy.kind() == PolicyKind::Yaml {
        let canonical = policy.canonical_yaml().expect("YAML has a canonical form");
        let c = stella_policy::parse(&canonical).expect("the canonical form reads back");
        assert_eq!(c.rules(), policy.rules());
    }
    let findings = [
        finding(
            "CVE-2021-44228",
            "log4j-core",
            Some("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
            Severity::Critical,
            false,
        ),
        finding(
            "CVE-2020-8203",
            "lodash",
            Some("pkg:npm/lodash@4.17.20"),
            Severity::High,
            false,
        ),
        finding("GHSA-x", "@babel/core", None, Severity::Low, false),
        finding("CVE-2024-0001", "openssl", None, Severity::Unknown, true),
    ];
    for (environment, now) in [
        (None, "2026-06-01T00:00:00Z"),
        (Some("dev"), "2030-01-01T00:00:00Z"),
    ] {
        let now: DateTime<Utc> = DateTime::parse_from_rfc3339(now)
            .expect("fixed")
            .with_timezone(&Utc);
        let input = Input {
            findings: &findings,
            environment,
            now,
            threshold: Threshold::High,
        };
        match policy.evaluate(&input) {
            Ok(d) => {
                assert_eq!(d.per_finding.len(), findings.len());
                assert!(
                    d.per_finding[3].is_none(),
                    "suppressed findings are outside the policy"
                );
                assert!(d.messages.len() <= stella_policy::MAX_MESSAGES + 1);
            }
            Err(e) => assert_eq!(
                policy.kind(),
                PolicyKind::Rego,
                "YAML evaluation failed: {e}"
            ),
        }
    }
});
