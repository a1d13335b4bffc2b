//! The API & CLI reference's JSON examples (§2.1, §2.2, §2.3), verbatim: each deserializes and
//! serializes back to the same JSON value.

#![allow(clippy::unwrap_used)]

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use stella_proto::*;

fn round_trip<T: Serialize + DeserializeOwned>(text: &str) -> T {
    let wire: Value = serde_json::from_str(text).unwrap();
    let typed: T = serde_json::from_str(text).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), wire, "{text}");
    typed
}

#[test]
fn scan_200_example() {
    let r: ScanResponse = round_trip(
        r#"{
"digest": "sha256:…",
"summary": {
"Critical": 0,
"High": 3,
"Medium": 12,
"Low": 41
},
"policyStatus": "pass",
"quota": {
"remaining": 131,
"reset": "2025-07-18T00:00:00Z"
}
}"#,
    );
    assert_eq!(r.digest, "sha256:…");
    assert_eq!(r.summary.high, 3);
    assert_eq!(r.summary.low, 41);
    assert_eq!(r.summary.unknown, 0);
    assert_eq!(r.policy_status, PolicyStatus::Pass);
    assert_eq!(r.quota.as_ref().map(|q| q.remaining), Some(131));
    assert!(r.id.is_none() && r.findings.is_empty() && r.unassessed.is_empty());
}

#[test]
fn scan_answer_with_our_extra_fields() {
    let wire = json!({
        "digest": "sha256:abc",
        "summary": {"Critical": 1, "High": 0, "Medium": 0, "Low": 0, "Unknown": 2},
        "policyStatus": "fail",
        "id": "scan_1",
        "findings": [{
            "id": "GHSA-xxxx", "aliases": ["CVE-2024-1"], "package": "requests",
            "purl": "pkg:pypi/requests@2.0.0", "installedVersion": "2.0.0",
            "fixedVersions": ["2.31.0"], "severity": "Critical", "cvssScore": 9.8,
            "layer": "sha256:d38b", "policyRule": "block critical",
            "suppressed": true, "justification": "vulnerable_code_not_in_execute_path"
        }, {
            "id": "CVE-2024-2", "package": "zlib", "installedVersion": "1.2", "severity": "Unknown"
        }],
        "unassessed": [{"package": "foo", "version": "1", "ecosystem": "Alpaca", "reason": "unsupported-ecosystem"}]
    });
    let r: ScanResponse = round_trip(&wire.to_string());
    assert_eq!(r.policy_status, PolicyStatus::Fail);
    assert_eq!(r.quota, None);
    assert_eq!(r.findings[0].severity, Severity::Critical);
    assert!(r.findings[0].suppressed);
    assert_eq!(r.findings[0].cvss_score, Some(9.8));
    assert_eq!(r.findings[1].fixed_versions, Vec::<String>::new());
    assert!(!r.findings[1].suppressed);
    assert_eq!(r.unassessed[0].reason, "unsupported-ecosystem");
    assert_eq!(r.summary.unknown, 2);
    // "warn" is the third status.
    let warn: PolicyStatus = serde_json::from_value(json!("warn")).unwrap();
    assert_eq!(warn, PolicyStatus::Warn);
}

#[test]
fn layers_missing_examples() {
    let req: LayersMissingRequest = round_trip(
        r#"{
"layers": [
"sha256:d38b...",
"sha256:af45..."
]
}"#,
    );
    assert_eq!(req.layers.len(), 2);
    let resp: LayersMissingResponse = round_trip(
        r#"{
"missing": [
"sha256:af45..."
]
}"#,
    );
    assert_eq!(resp.missing, ["sha256:af45..."]);
}

#[test]
fn policy_validation_error_example() {
    let v: PolicyValidation = round_trip(
        r#"{
"errors": [
{
"path": "$.rules[0].severity",
"msg": "Invalid level 'None'"
}
]
}"#,
    );
    assert_eq!(v.errors[0].path, "$.rules[0].severity");
    assert_eq!(v.errors[0].msg, "Invalid level 'None'");
    // The same errors inside a problem document.
    let p: Problem = serde_json::from_value(json!({
        "type": "https://stella-ops.dev/probs/validation", "status": 400,
        "errors": [{"path": "$.rules[0].severity", "msg": "Invalid level 'None'"}]
    }))
    .unwrap();
    assert_eq!(p.errors, v.errors);
}

#[test]
fn feed_status_round_trips() {
    let f: FeedStatus = round_trip(
        r#"{"source": "osv", "version": "2026-12-01", "imported_at": "2026-12-01T03:00:00Z",
            "records": {"PyPI": 1234, "npm": 5678}}"#,
    );
    assert_eq!(f.records.get("npm"), Some(&5678));
    let never: FeedStatus = round_trip(r#"{"source": "osv", "records": {}}"#);
    assert!(never.imported_at.is_none());
}

#[test]
fn header_names_are_the_references() {
    assert_eq!(headers::QUOTA_REMAINING, "X-Stella-Quota-Remaining");
    assert_eq!(headers::RESET, "X-Stella-Reset");
    assert_eq!(headers::TOKEN_EXPIRES, "X-Stella-Token-Expires");
    assert_eq!(headers::SBOM_TYPE, "X-Stella-Sbom-Type");
}
