#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The matching rules: ids and aliases both ways, purl version/qualifier rules, supersession.

use stella_vex::{parse, Limits, Status, VexDocument, VexSet};

fn fixture(name: &str) -> VexDocument {
    let bytes = std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    parse(&bytes, &Limits::default()).unwrap()
}

fn openvex(statements: &str) -> VexDocument {
    let doc =
        format!(r#"{{"@context":"https://openvex.dev/ns/v0.2.0","statements":{statements}}}"#);
    parse(doc.as_bytes(), &Limits::default()).unwrap()
}

fn one(vuln: &str, aliases: &[&str], purl: &str, status: &str, ts: Option<&str>) -> String {
    let aliases = serde_json::to_string(aliases).unwrap();
    let ts = ts
        .map(|t| format!(r#","timestamp":"{t}""#))
        .unwrap_or_default();
    format!(
        r#"{{"vulnerability":{{"name":"{vuln}","aliases":{aliases}}},"products":[{{"@id":"{purl}"}}],"status":"{status}","justification":"component_not_present"{ts}}}"#
    )
}

fn no_aliases() -> Vec<String> {
    Vec::new()
}

#[test]
fn alias_matching_both_ways() {
    let set = VexSet::new([openvex(&format!(
        "[{},{}]",
        one("CVE-2024-1", &[], "pkg:npm/a", "not_affected", None),
        one(
            "GHSA-aaaa-bbbb-cccc",
            &["CVE-2024-2"],
            "pkg:npm/b",
            "not_affected",
            None
        ),
    ))]);
    // Statement id = a finding alias.
    assert!(set
        .suppression(
            "GHSA-xxxx-yyyy-zzzz",
            &["CVE-2024-1".into()],
            Some("pkg:npm/a@1")
        )
        .is_some());
    // Statement alias = the finding id.
    assert!(set
        .suppression("CVE-2024-2", &no_aliases(), Some("pkg:npm/b@1"))
        .is_some());
    // Statement alias = a finding alias.
    assert!(set
        .suppression("OSV-1", &["CVE-2024-2".into()], Some("pkg:npm/b@1"))
        .is_some());
    // Prefix case-insensitive.
    assert!(set
        .suppression("cve-2024-1", &no_aliases(), Some("pkg:npm/a@1"))
        .is_some());
    assert!(set
        .suppression("ghsa-aaaa-bbbb-cccc", &no_aliases(), Some("pkg:npm/b"))
        .is_some());
    // Unrelated ids and the wrong product do not match.
    assert!(set
        .suppression("CVE-2024-10", &no_aliases(), Some("pkg:npm/a@1"))
        .is_none());
    assert!(set
        .suppression("CVE-2024-1", &no_aliases(), Some("pkg:npm/b@1"))
        .is_none());
    // No purl, or a broken one: no decision.
    assert!(set.suppression("CVE-2024-1", &no_aliases(), None).is_none());
    assert!(set
        .suppression("CVE-2024-1", &no_aliases(), Some("not a purl"))
        .is_none());
}

#[test]
fn purl_version_qualifier_and_name_rules() {
    let set = VexSet::new([openvex(&format!(
        "[{},{},{}]",
        one(
            "CVE-1",
            &[],
            "pkg:deb/debian/openssl?distro=debian-12",
            "not_affected",
            None
        ),
        one(
            "CVE-2",
            &[],
            "pkg:pypi/Django_Rest@3.1",
            "not_affected",
            None
        ),
        one(
            "CVE-3",
            &[],
            "pkg:npm/%40babel/core@7.0.0",
            "not_affected",
            None
        ),
    ))]);
    let hit = |v: &str, p: &str| set.suppression(v, &[], Some(p)).is_some();
    // No version: every version; qualifiers a subset of the finding's.
    assert!(hit(
        "CVE-1",
        "pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12"
    ));
    assert!(hit("CVE-1", "pkg:deb/debian/openssl@1.1?distro=debian-12"));
    assert!(!hit(
        "CVE-1",
        "pkg:deb/debian/openssl@3.0.11-1?distro=debian-11"
    ));
    assert!(!hit("CVE-1", "pkg:deb/debian/openssl@3.0.11-1"));
    assert!(!hit(
        "CVE-1",
        "pkg:deb/ubuntu/openssl@3.0.11-1?distro=debian-12"
    ));
    assert!(!hit("CVE-1", "pkg:rpm/debian/openssl?distro=debian-12"));
    // A version: exactly that version. PyPI names are normalised by the purl rules.
    assert!(hit("CVE-2", "pkg:pypi/django-rest@3.1"));
    assert!(!hit("CVE-2", "pkg:pypi/django-rest@3.1.1"));
    assert!(!hit("CVE-2", "pkg:pypi/django-rest"));
    // Encoded and unencoded namespaces are the same purl.
    assert!(hit("CVE-3", "pkg:npm/@babel/core@7.0.0"));
}

#[test]
fn latest_statement_wins() {
    let doc = fixture("openvex-vexctl.json");
    let set = VexSet::new([doc]);
    // under_investigation (06-01) then not_affected (06-03) for all versions of openssl.
    let st = set
        .suppression("CVE-2023-2650", &[], Some("pkg:apk/wolfi/openssl@3.1.0-r4"))
        .unwrap();
    assert_eq!(
        st.justification.as_deref(),
        Some("inline_mitigations_already_exist")
    );
    // For 3.1.0-r5 a later `affected` cancels the not_affected.
    let st = set
        .decision("CVE-2023-2650", &[], Some("pkg:apk/wolfi/openssl@3.1.0-r5"))
        .unwrap();
    assert_eq!(st.status, Status::Affected);
    assert!(set
        .suppression("CVE-2023-2650", &[], Some("pkg:apk/wolfi/openssl@3.1.0-r5"))
        .is_none());
    // Subcomponents of an image apply to the package wherever it is found.
    let st = set
        .suppression(
            "GHSA-xjv7-q96g-wq3h",
            &[],
            Some("pkg:apk/wolfi/openssl@3.0.8-r0?arch=x86_64&distro=wolfi"),
        )
        .unwrap();
    assert_eq!(st.vulnerability, "CVE-2023-1255");
    assert!(set
        .suppression(
            "CVE-2023-1255",
            &[],
            Some("pkg:apk/wolfi/openssl@3.0.8-r0?arch=aarch64")
        )
        .is_none());
    // `fixed` is a decision but not a suppression.
    assert_eq!(
        set.decision("CVE-2022-3602", &[], Some("pkg:apk/wolfi/openssl@3.0.7-r0"))
            .unwrap()
            .status,
        Status::Fixed
    );
    assert!(set
        .suppression("CVE-2022-3602", &[], Some("pkg:apk/wolfi/openssl@3.0.7-r0"))
        .is_none());
}

#[test]
fn supersession_across_documents_and_ties() {
    let early = openvex(&format!(
        "[{}]",
        one(
            "CVE-9",
            &[],
            "pkg:npm/a",
            "not_affected",
            Some("2024-01-01T00:00:00Z")
        )
    ));
    let late = openvex(&format!(
        "[{}]",
        one(
            "CVE-9",
            &[],
            "pkg:npm/a",
            "affected",
            Some("2024-02-01T00:00:00+01:00")
        )
    ));
    let undated = openvex(&format!(
        "[{}]",
        one("CVE-9", &[], "pkg:npm/a", "not_affected", None)
    ));
    // Order of documents does not matter when timestamps differ; undated is oldest.
    for docs in [
        vec![early.clone(), late.clone(), undated.clone()],
        vec![late.clone(), undated.clone(), early.clone()],
    ] {
        let set = VexSet::new(docs);
        assert_eq!(
            set.decision("CVE-9", &[], Some("pkg:npm/a@1"))
                .unwrap()
                .status,
            Status::Affected
        );
    }
    // Equal timestamps: the later one read wins.
    let same_a = openvex(&format!(
        "[{}]",
        one(
            "CVE-9",
            &[],
            "pkg:npm/a",
            "affected",
            Some("2024-01-01T00:00:00Z")
        )
    ));
    let set = VexSet::new([same_a.clone(), early.clone()]);
    assert_eq!(
        set.decision("CVE-9", &[], Some("pkg:npm/a"))
            .unwrap()
            .status,
        Status::NotAffected
    );
    let set = VexSet::new([early, same_a]);
    assert_eq!(
        set.decision("CVE-9", &[], Some("pkg:npm/a"))
            .unwrap()
            .status,
        Status::Affected
    );
    // An affected statement for another version does not cancel.
    let other = openvex(&format!(
        "[{}]",
        one(
            "CVE-9",
            &[],
            "pkg:npm/a@2",
            "affected",
            Some("2025-01-01T00:00:00Z")
        )
    ));
    let set = VexSet::new([undated, other]);
    assert!(set.suppression("CVE-9", &[], Some("pkg:npm/a@1")).is_some());
    assert!(set.suppression("CVE-9", &[], Some("pkg:npm/a@2")).is_none());
    assert_eq!(set.len(), 2);
}

#[test]
fn cyclonedx_matching_after_bom_ref_resolution() {
    let set = VexSet::new([
        fixture("cyclonedx-vex.json"),
        fixture("cyclonedx-1.4-standalone.json"),
    ]);
    let st = set
        .suppression("GHSA-35jh-r3h4-6jhm", &[], Some("pkg:npm/lodash@4.17.20"))
        .unwrap();
    assert_eq!(st.vulnerability, "CVE-2021-23337");
    assert!(set
        .suppression("CVE-2021-23337", &[], Some("pkg:npm/lodash@4.17.21"))
        .is_none());
    let st = set
        .suppression(
            "CVE-2022-1471",
            &[],
            Some("pkg:maven/org.yaml/snakeyaml@1.30"),
        )
        .unwrap();
    assert_eq!(st.status, Status::FalsePositive);
    assert_eq!(set.origin(st).map(|(d, _)| d), Some(0));
    assert!(set
        .suppression(
            "CVE-2022-42003",
            &[],
            Some("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.13.0")
        )
        .is_none());
    assert!(set
        .suppression("CVE-2020-8203", &[], Some("pkg:npm/lodash@4.17.20"))
        .is_none());
    // Qualifier subset: the statement's type=jar must be on the finding.
    assert!(set
        .suppression(
            "CVE-2021-44228",
            &[],
            Some("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar")
        )
        .is_some());
    assert!(set
        .suppression(
            "CVE-2021-44228",
            &[],
            Some("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")
        )
        .is_none());
}
