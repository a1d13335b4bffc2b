#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every malformed input is an error with a stable code, and field errors name the path.

use stella_vex::{parse, Limit, Limits, VexError};

fn err(doc: &str) -> VexError {
    parse(doc.as_bytes(), &Limits::default()).unwrap_err()
}

const OV: &str = r#""@context":"https://openvex.dev/ns/v0.2.0""#;

fn ov(statements: &str) -> String {
    format!(r#"{{{OV},"statements":{statements}}}"#)
}

fn cdx(vulns: &str) -> String {
    format!(r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":{vulns}}}"#)
}

fn assert_invalid(doc: &str, path: &str, expected: &str) {
    let e = err(doc);
    assert_eq!(e.code(), "vex-invalid", "{e}");
    assert_eq!(e.path(), Some(path), "{e}");
    assert!(e.to_string().contains(expected), "{e}");
}

#[test]
fn not_json() {
    for doc in [
        "",
        "   ",
        "{",
        "nope",
        "<?xml version=\"1.0\"?><bom/>",
        "{\"a\":1}}",
    ] {
        assert_eq!(err(doc).code(), "vex-not-json", "{doc:?}");
    }
    let e = parse(&[0xff, 0xfe, b'{'], &Limits::default()).unwrap_err();
    assert_eq!(e.code(), "vex-not-json");
    let e = parse(&[b'"', 0xc3, b'"'], &Limits::default()).unwrap_err();
    assert_eq!(e.code(), "vex-not-json");
}

#[test]
fn unknown_formats() {
    for doc in [
        "[]",
        "42",
        "{}",
        r#"{"statements":[]}"#,
        r#"{"@context":"https://example.com/ns"}"#,
        r#"{"document":{"csaf_version":"2.0"}}"#,
        r#"{"spdxVersion":"SPDX-2.3"}"#,
        r#"{"bomFormat":"SPDX"}"#,
    ] {
        assert_eq!(err(doc).code(), "vex-unknown-format", "{doc}");
    }
    assert!(err(r#"{"statements":[]}"#).to_string().contains("@context"));
    assert!(err(r#"{"document":{"csaf_version":"2.0"}}"#)
        .to_string()
        .contains("CSAF"));
}

#[test]
fn openvex_field_errors_name_the_path() {
    assert_invalid(
        &format!("{{{OV}}}"),
        "$.statements",
        "an array of statements",
    );
    assert_invalid(
        &format!(r#"{{{OV},"statements":{{}}}}"#),
        "$.statements",
        "found an object",
    );
    assert_invalid(&ov("[1]"), "$.statements[0]", "expected an object");
    let ok = r#"{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:npm/a"}],"status":"affected"}"#;
    assert_invalid(
        &ov(&format!(
            r#"[{ok},{ok},{{"vulnerability":{{"name":"CVE-1"}},"status":"maybe"}}]"#
        )),
        "$.statements[2].status",
        "one of not_affected, affected, fixed, under_investigation, found the string \"maybe\"",
    );
    assert_invalid(
        &ov(r#"[{"vulnerability":{"name":"CVE-1"}}]"#),
        "$.statements[0].status",
        "found nothing",
    );
    assert_invalid(
        &ov(r#"[{"vulnerability":{"name":"CVE-1"},"status":3}]"#),
        "$.statements[0].status",
        "found a number",
    );
    assert_invalid(
        &ov(r#"[{"status":"fixed"}]"#),
        "$.statements[0].vulnerability",
        "found nothing",
    );
    assert_invalid(
        &ov(r#"[{"vulnerability":{},"status":"fixed"}]"#),
        "$.statements[0].vulnerability.name",
        "vulnerability name",
    );
    assert_invalid(
        &ov(r#"[{"vulnerability":7,"status":"fixed"}]"#),
        "$.statements[0].vulnerability",
        "found a number",
    );
    assert_invalid(
        &ov(r#"[{"vulnerability":{"name":"CVE-1","aliases":"x"},"status":"fixed"}]"#),
        "$.statements[0].vulnerability.aliases",
        "an array",
    );
    assert_invalid(
        &ov(r#"[{"vulnerability":{"name":"CVE-1","aliases":[1]},"status":"fixed"}]"#),
        "$.statements[0].vulnerability.aliases[0]",
        "a string",
    );
    assert_invalid(
        &ov(r#"[{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":{}}]"#),
        "$.statements[0].products",
        "an array",
    );
    assert_invalid(
        &ov(r#"[{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[{}]}]"#),
        "$.statements[0].products[0]",
        "an @id or identifiers",
    );
    assert_invalid(
        &ov(r#"[{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[3]}]"#),
        "$.statements[0].products[0]",
        "a product object",
    );
    assert_invalid(
        &ov(
            r#"[{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[{"@id":"pkg:npm/a","subcomponents":[{"@id":5}]}]}]"#,
        ),
        "$.statements[0].products[0].subcomponents[0][\"@id\"]",
        "a string",
    );
    assert_invalid(
        &ov(
            r#"[{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[{"identifiers":{"purl":1}}]}]"#,
        ),
        "$.statements[0].products[0].identifiers.purl",
        "a string",
    );
    assert_invalid(
        &ov(r#"[{"vulnerability":{"name":"CVE-1"},"status":"fixed","timestamp":"yesterday"}]"#),
        "$.statements[0].timestamp",
        "RFC 3339",
    );
    assert_invalid(
        &ov(r#"[{"vulnerability":{"name":"CVE-1"},"status":"fixed","justification":["x"]}]"#),
        "$.statements[0].justification",
        "a string",
    );
    assert_invalid(
        &format!(r#"{{{OV},"timestamp":"2024-13-01T00:00:00Z","statements":[]}}"#),
        "$.timestamp",
        "RFC 3339",
    );
}

#[test]
fn openvex_soft_problems_are_warnings() {
    let doc = parse(
        ov(r#"[{"vulnerability":{"name":"CVE-1"},"status":"not_affected","products":[{"@id":"pkg:"}]},
              {"vulnerability":{"name":"CVE-2"},"status":"affected"}]"#).as_bytes(),
        &Limits::default(),
    )
    .unwrap();
    let w = doc.warnings.join("\n");
    assert!(
        w.contains("$.statements[0].products[0]: invalid purl"),
        "{w}"
    );
    assert!(
        w.contains("$.statements[0]: a not_affected statement should give a justification"),
        "{w}"
    );
    assert!(
        w.contains("$.statements[1]: the statement names no products"),
        "{w}"
    );
}

#[test]
fn cyclonedx_field_errors_name_the_path() {
    assert_invalid(
        r#"{"bomFormat":"CycloneDX","specVersion":"1.3","vulnerabilities":[]}"#,
        "$.specVersion",
        "1.4, 1.5 or 1.6",
    );
    assert_invalid(
        r#"{"bomFormat":"CycloneDX","vulnerabilities":[]}"#,
        "$.specVersion",
        "found nothing",
    );
    assert_invalid(
        r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}"#,
        "$.vulnerabilities",
        "not VEX",
    );
    assert_invalid(&cdx("{}"), "$.vulnerabilities", "an array");
    assert_invalid(
        &cdx(r#"[{"analysis":{"state":"not_affected"}}]"#),
        "$.vulnerabilities[0].id",
        "found nothing",
    );
    assert_invalid(
        &cdx(r#"[{"id":"CVE-1"},{"id":"CVE-2","analysis":{"state":"fine"}}]"#),
        "$.vulnerabilities[1].analysis.state",
        "one of resolved",
    );
    assert_invalid(
        &cdx(r#"[{"id":"CVE-1","analysis":[]}]"#),
        "$.vulnerabilities[0].analysis",
        "an object",
    );
    assert_invalid(
        &cdx(r#"[{"id":"CVE-1","analysis":{"state":"not_affected"},"affects":[{}]}]"#),
        "$.vulnerabilities[0].affects[0].ref",
        "bom-ref",
    );
    assert_invalid(
        &cdx(r#"[{"id":"CVE-1","analysis":{"state":"not_affected"},"affects":[{"ref":1}]}]"#),
        "$.vulnerabilities[0].affects[0].ref",
        "a string",
    );
    assert_invalid(
        &cdx(r#"[{"id":"CVE-1","references":[{"id":2}]}]"#),
        "$.vulnerabilities[0].references[0].id",
        "a string",
    );
    assert_invalid(
        &cdx(r#"[{"id":"CVE-1","analysis":{"state":"not_affected","lastUpdated":"soon"}}]"#),
        "$.vulnerabilities[0].analysis.lastUpdated",
        "RFC 3339",
    );
    assert_invalid(
        &cdx(r#"[{"id":"CVE-1","analysis":{"state":"not_affected","response":[1]}}]"#),
        "$.vulnerabilities[0].analysis.response[0]",
        "a string",
    );
    assert_invalid(
        r#"{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"timestamp":1},"vulnerabilities":[]}"#,
        "$.metadata.timestamp",
        "a string",
    );
}

#[test]
fn limits_are_enforced_and_named() {
    let too = |doc: &str, limits: Limits, limit: Limit| {
        let e = parse(doc.as_bytes(), &limits).unwrap_err();
        assert_eq!(e.code(), "vex-too-large", "{e}");
        assert!(
            matches!(e, VexError::TooLarge { limit: l, .. } if l == limit),
            "{e}"
        );
        assert!(e.to_string().contains(limit.field()), "{e}");
        e
    };
    let st = r#"{"vulnerability":{"name":"CVE-1","aliases":["A-1","A-2"]},"status":"fixed","products":[{"@id":"pkg:npm/a","subcomponents":[{"@id":"pkg:npm/b"}]}]}"#;
    let doc = ov(&format!("[{st},{st}]"));
    too(
        &doc,
        Limits {
            max_bytes: 10,
            ..Limits::default()
        },
        Limit::Bytes,
    );
    too(
        &doc,
        Limits {
            max_statements: 1,
            ..Limits::default()
        },
        Limit::Statements,
    );
    let e = too(
        &doc,
        Limits {
            max_products: 1,
            ..Limits::default()
        },
        Limit::Products,
    );
    assert_eq!(e.path(), Some("$.statements[0].products"));
    too(
        &doc,
        Limits {
            max_aliases: 1,
            ..Limits::default()
        },
        Limit::Aliases,
    );
    let e = too(
        &doc,
        Limits {
            max_string_bytes: 4,
            ..Limits::default()
        },
        Limit::StringBytes,
    );
    assert_eq!(e.path(), Some("$.statements[0].vulnerability.name"));
    too(
        &doc,
        Limits {
            max_depth: 3,
            ..Limits::default()
        },
        Limit::Depth,
    );
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    too(&deep, Limits::default(), Limit::Depth);
    let comps = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"components":[{},{}]}],"vulnerabilities":[]}"#;
    too(
        comps,
        Limits {
            max_components: 2,
            ..Limits::default()
        },
        Limit::Components,
    );
    let affects = cdx(
        r#"[{"id":"CVE-1","analysis":{"state":"not_affected"},"affects":[{"ref":"a"},{"ref":"b"}]}]"#,
    );
    too(
        &affects,
        Limits {
            max_products: 1,
            ..Limits::default()
        },
        Limit::Products,
    );
}
