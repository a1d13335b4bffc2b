#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Reading the fixtures: what each format yields, field by field.

use stella_vex::{parse, Format, Limits, Status};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn openvex_as_vexctl_writes_it() {
    let doc = parse(&fixture("openvex-vexctl.json"), &Limits::default()).unwrap();
    assert_eq!(doc.format, Format::OpenVex);
    assert_eq!(doc.author.as_deref(), Some("Wolfi J Inkinson"));
    assert_eq!(doc.statements.len(), 5);
    let first = &doc.statements[0];
    assert_eq!(first.vulnerability, "CVE-2023-1255");
    assert_eq!(first.aliases, vec!["GHSA-xjv7-q96g-wq3h".to_owned()]);
    assert_eq!(first.status, Status::NotAffected);
    assert_eq!(
        first.justification.as_deref(),
        Some("vulnerable_code_not_in_execute_path")
    );
    assert!(first.detail.as_deref().unwrap().contains("aarch64"));
    // The statement has no timestamp of its own: it inherits the document's.
    assert_eq!(first.timestamp, doc.timestamp);
    assert_eq!(first.location, "$.statements[0]");
    let product = &first.products[0];
    assert_eq!(product.purl.as_ref().unwrap().ty(), "oci");
    assert_eq!(product.subcomponents.len(), 2);
    assert_eq!(
        product.subcomponents[0].purl.as_ref().unwrap().to_string(),
        "pkg:apk/wolfi/openssl@3.0.8-r0?arch=x86_64"
    );
    assert_eq!(
        doc.statements[3].action.as_deref(),
        Some("Update to 3.1.1-r0 or later.")
    );
    assert_eq!(doc.statements[4].status, Status::Fixed);
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
}

#[test]
fn openvex_legacy_string_forms() {
    let doc = parse(&fixture("openvex-legacy.json"), &Limits::default()).unwrap();
    let st = &doc.statements[0];
    assert_eq!(st.vulnerability, "CVE-2021-44228");
    assert_eq!(
        st.products[0].id,
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    );
    assert_eq!(
        st.products[0].subcomponents[0].id,
        "pkg:maven/org.example/app@1.0"
    );
}

#[test]
fn cyclonedx_resolves_bom_refs() {
    let doc = parse(&fixture("cyclonedx-vex.json"), &Limits::default()).unwrap();
    assert_eq!(doc.format, Format::CycloneDx);
    assert_eq!(
        doc.id.as_deref(),
        Some("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79")
    );
    assert_eq!(doc.author.as_deref(), Some("Acme PSIRT"));
    // The vulnerability without an analysis is a finding, not a statement.
    assert_eq!(doc.statements.len(), 5);
    assert!(doc
        .warnings
        .iter()
        .any(|w| w.contains("$.vulnerabilities[5]") && w.contains("no analysis")));

    let lodash = &doc.statements[0];
    assert_eq!(lodash.aliases, vec!["GHSA-35jh-r3h4-6jhm".to_owned()]);
    assert_eq!(lodash.status, Status::NotAffected);
    assert_eq!(lodash.justification.as_deref(), Some("code_not_reachable"));
    assert_eq!(lodash.action.as_deref(), Some("will_not_fix, update"));
    assert_eq!(
        lodash.timestamp.unwrap().to_rfc3339(),
        "2024-01-20T12:00:00+00:00"
    );

    // A bom-ref of a nested component.
    let snake = &doc.statements[1];
    assert_eq!(snake.status, Status::FalsePositive);
    assert_eq!(
        snake.products[0].purl.as_ref().unwrap().to_string(),
        "pkg:maven/org.yaml/snakeyaml@1.30"
    );
    // Falls back to metadata.timestamp.
    assert_eq!(snake.timestamp, doc.timestamp);

    // A BOM-link into this document.
    let jackson = &doc.statements[2];
    assert_eq!(jackson.status, Status::Affected);
    assert_eq!(
        jackson.products[0].purl.as_ref().unwrap().name(),
        "jackson-databind"
    );

    // Unresolvable references are kept without a purl and reported.
    let zlib = &doc.statements[3];
    assert_eq!(zlib.status, Status::Fixed);
    assert_eq!(zlib.status_label, "resolved_with_pedigree");
    assert!(zlib.products.iter().all(|p| p.purl.is_none()));
    for needle in [
        "has no purl",
        "no component in this document has bom-ref \"missing-ref\"",
        "another BOM",
    ] {
        assert!(
            doc.warnings.iter().any(|w| w.contains(needle)),
            "{needle}: {:?}",
            doc.warnings
        );
    }
    assert_eq!(doc.statements[4].status, Status::UnderInvestigation);
}

#[test]
fn cyclonedx_14_standalone_vex() {
    let doc = parse(
        &fixture("cyclonedx-1.4-standalone.json"),
        &Limits::default(),
    )
    .unwrap();
    let st = &doc.statements[0];
    assert_eq!(st.vulnerability, "GHSA-jfh8-c2jp-5v3q");
    assert_eq!(st.aliases, vec!["CVE-2021-44228".to_owned()]);
    assert_eq!(
        st.timestamp.unwrap().to_rfc3339(),
        "2021-12-20T00:00:00+00:00"
    );
}

#[test]
fn status_suppression_rule() {
    assert!(Status::NotAffected.suppresses());
    assert!(Status::FalsePositive.suppresses());
    for s in [Status::Affected, Status::Fixed, Status::UnderInvestigation] {
        assert!(!s.suppresses(), "{s}");
    }
}
