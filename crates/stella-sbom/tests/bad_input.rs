//! Hostile and broken input: every case is a specific error code with a message that says
//! what to fix, and none panics or overflows the stack.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{code, fixture, parse};
use stella_sbom::{Limit, Limits, SbomError, SbomType};

fn cdx(components: &str) -> Vec<u8> {
    format!(r#"{{"bomFormat":"CycloneDX","specVersion":"1.5","components":{components}}}"#)
        .into_bytes()
}

#[test]
fn malformed_json_reports_line_and_column() {
    let (c, msg) = code(parse(b"{\n  \"bomFormat\": \"CycloneDX\",,\n}"));
    assert_eq!(c, "sbom-malformed-json");
    assert!(msg.contains("line 2, column 28"), "{msg}");
}

#[test]
fn truncated_json_says_so() {
    let full = fixture("cyclonedx-1.6.json");
    let cut = &full[..full.len() / 2];
    match parse(cut) {
        Err(SbomError::MalformedJson { line, reason, .. }) => {
            assert!(line > 10, "line {line}");
            assert!(reason.contains("truncated"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrong_types_name_the_json_path() {
    let cases: [(&[u8], &str); 8] = [
        (&cdx("{}"), "$.components: expected an array, found an object"),
        (&cdx(r#"[{"name":"a"},{"name":"b","purl":5}]"#), "$.components[1].purl: expected a string, found a number"),
        (&cdx(r#"[{"name":"a","components":[{"name":"b","version":["1"]}]}]"#), "$.components[0].components[0].version: expected a string, found an array"),
        (&cdx(r#"[{"name":"a","properties":[{"name":"aquasecurity:trivy:SrcName","value":1}]}]"#), "$.components[0].properties[0].value: expected a string, found a number"),
        (&cdx(r#"[{"version":"1"}]"#), "$.components[0].name: missing: every component needs a name or a purl"),
        (br#"{"spdxVersion":"SPDX-2.3","packages":[{"name":"a"},{"name":"b","externalRefs":"pkg:npm/b@1"}]}"#,
         "$.packages[1].externalRefs: expected an array, found a string"),
        (br#"{"SchemaVersion":2,"Results":[{"Packages":[{"Name":"a","Epoch":"1"}]}]}"#,
         "$.Results[0].Packages[0].Epoch: expected a number, found a string"),
        (br#"{"SchemaVersion":2,"ArtifactName":"x","Results":{}}"#, "$.Results: expected an array, found an object"),
    ];
    for (doc, expected) in cases {
        let (c, msg) = code(parse(doc));
        assert_eq!(c, "sbom-invalid-field", "{msg}");
        assert_eq!(msg, expected);
    }
}

#[test]
fn unknown_formats() {
    for doc in [
        &br#"{"hello":"world"}"#[..],
        b"[1,2,3]",
        b"\"a string\"",
        br#"{"bomFormat":"SWID","specVersion":"1.0"}"#,
        b"<?xml version=\"1.0\"?><bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\"/>",
        b"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
    ] {
        let (c, msg) = code(parse(doc));
        assert_eq!(c, "sbom-unknown-format", "{msg}");
    }
    let (_, msg) = code(parse(br#"{"hello":"world"}"#));
    assert!(
        msg.contains("CycloneDX") && msg.contains("SPDX") && msg.contains("Trivy"),
        "{msg}"
    );
}

#[test]
fn unsupported_versions_name_the_supported_ones() {
    let cases: [(&[u8], &str); 5] = [
        (
            br#"{"bomFormat":"CycloneDX","specVersion":"1.2","components":[]}"#,
            "1.4, 1.5, 1.6",
        ),
        (
            br#"{"bomFormat":"CycloneDX","specVersion":"1.3"}"#,
            "1.4, 1.5, 1.6",
        ),
        (
            br#"{"spdxVersion":"SPDX-2.1","packages":[]}"#,
            "SPDX-2.2, SPDX-2.3",
        ),
        (
            br#"{"SchemaVersion":1,"ArtifactName":"x","Results":[]}"#,
            "2",
        ),
        (
            br#"{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[]}"#,
            "SPDX-2.2, SPDX-2.3",
        ),
    ];
    for (doc, supported) in cases {
        let (c, msg) = code(parse(doc));
        assert_eq!(c, "sbom-unsupported-version", "{msg}");
        assert!(msg.ends_with(supported), "{msg}");
    }
}

#[test]
fn missing_spec_version_is_a_field_error() {
    let (c, msg) = code(parse(br#"{"bomFormat":"CycloneDX","components":[]}"#));
    assert_eq!(c, "sbom-invalid-field");
    assert!(msg.starts_with("$.specVersion: missing"), "{msg}");
}

#[test]
fn empty_and_non_utf8_bodies() {
    assert_eq!(code(parse(b"")).0, "sbom-empty");
    assert_eq!(code(parse(b" \r\n\t ")).0, "sbom-empty");
    assert_eq!(code(parse(b"\xef\xbb\xbf")).0, "sbom-empty");
    let (c, msg) = code(parse(b"{\"bomFormat\":\"Cyclone\xffDX\"}"));
    assert_eq!(c, "sbom-not-utf8");
    assert!(msg.contains("byte 21"), "{msg}");
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain("{}".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let (c, msg) = code(parse(&utf16));
    assert_eq!(c, "sbom-not-utf8");
    assert!(msg.contains("UTF-16"), "{msg}");
}

#[test]
fn over_each_limit() {
    let doc = fixture("cyclonedx-1.6.json");
    let small = Limits {
        max_bytes: doc.len() - 1,
        ..Limits::default()
    };
    let err = stella_sbom::parse(&doc, &small).unwrap_err();
    assert_eq!(
        err,
        SbomError::TooLarge {
            limit: Limit::Bytes,
            max: doc.len() - 1
        }
    );
    assert!(err.to_string().contains("max_bytes"), "{err}");
    assert!(stella_sbom::parse(
        &doc,
        &Limits {
            max_bytes: doc.len(),
            ..Limits::default()
        }
    )
    .is_ok());

    // The 1.6 fixture has seven entries (the operating system and the application count).
    let few = Limits {
        max_components: 6,
        ..Limits::default()
    };
    let err = stella_sbom::parse(&doc, &few).unwrap_err();
    assert_eq!(err.code(), "sbom-too-large");
    assert!(err.to_string().contains("max_components"), "{err}");
    assert!(stella_sbom::parse(
        &doc,
        &Limits {
            max_components: 7,
            ..Limits::default()
        }
    )
    .is_ok());
    for name in ["spdx-2.3.json", "trivy-v2.json"] {
        let err = stella_sbom::parse(
            &fixture(name),
            &Limits {
                max_components: 2,
                ..Limits::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                SbomError::TooLarge {
                    limit: Limit::Components,
                    max: 2
                }
            ),
            "{name}: {err}"
        );
    }

    let shallow = Limits {
        max_depth: 4,
        ..Limits::default()
    };
    let err = stella_sbom::parse(&doc, &shallow).unwrap_err();
    assert_eq!(
        err,
        SbomError::TooDeep {
            limit: Limit::Depth,
            max: 4
        }
    );
    assert!(err.to_string().contains("max_depth"), "{err}");
}

#[test]
fn deep_json_nesting_cannot_overflow_the_stack() {
    for doc in [
        "[".repeat(100_000),
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000)),
        format!(
            r#"{{"bomFormat":"CycloneDX","specVersion":"1.5","components":{}"#,
            "[".repeat(100_000)
        ),
    ] {
        for limits in [
            Limits::default(),
            // Above serde_json's own limit of 128: its guard answers, still as "too deep".
            Limits {
                max_depth: usize::MAX,
                ..Limits::default()
            },
        ] {
            let (c, msg) = code(stella_sbom::parse(doc.as_bytes(), &limits));
            assert_eq!(c, "sbom-too-deep", "{msg}");
        }
    }
}

fn nested_components(levels: usize) -> Vec<u8> {
    let mut inner = String::from("[]");
    for i in (0..levels).rev() {
        inner = format!(
            r#"[{{"name":"c{i}","version":"1","purl":"pkg:npm/c{i}@1","components":{inner}}}]"#
        );
    }
    cdx(&inner)
}

#[test]
fn nested_components_are_bounded() {
    let ok = parse(&nested_components(16)).unwrap();
    assert_eq!(ok.components.len(), 16);
    let err = parse(&nested_components(17)).unwrap_err();
    assert_eq!(
        err,
        SbomError::TooDeep {
            limit: Limit::ComponentDepth,
            max: 16
        }
    );
    assert!(err.to_string().contains("max_component_depth"), "{err}");
    // Deeper than JSON allows: the nesting check stops it before any component is read.
    let limits = Limits {
        max_component_depth: usize::MAX,
        ..Limits::default()
    };
    let err = stella_sbom::parse(&nested_components(1_000), &limits).unwrap_err();
    assert_eq!(err.code(), "sbom-too-deep");
}

#[test]
fn declared_types_are_checked() {
    let (c, msg) = match SbomType::from_header("cyclonedx-xml") {
        Err(e) => (e.code(), e.to_string()),
        Ok(t) => panic!("{t}"),
    };
    assert_eq!(c, "sbom-unknown-type");
    assert!(
        msg.contains("trivy-json-v2, spdx-json, cyclonedx-json"),
        "{msg}"
    );

    let err = stella_sbom::parse_as(
        &fixture("trivy-v2.json"),
        SbomType::SpdxJson,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        SbomError::FormatMismatch {
            declared: SbomType::SpdxJson,
            found: SbomType::TrivyJsonV2
        }
    );
    assert_eq!(err.code(), "sbom-format-mismatch");

    let err = stella_sbom::parse_as(b"{}", SbomType::TrivyJsonV2, &Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "$.SchemaVersion: missing: a Trivy JSON report has SchemaVersion 2"
    );
    let err = stella_sbom::parse_as(b"[]", SbomType::SpdxJson, &Limits::default()).unwrap_err();
    assert_eq!(err.to_string(), "$: expected an object, found an array");
}

#[test]
fn a_huge_bad_value_is_not_echoed_whole() {
    let purl = format!("npm/{}", "x".repeat(1_000_000));
    let doc = cdx(&format!(r#"[{{"name":"a","purl":"{purl}"}}]"#));
    let sbom = parse(&doc).unwrap();
    assert_eq!(sbom.components.len(), 1);
    assert!(sbom.warnings[0].len() < 400, "{}", sbom.warnings[0].len());
}

#[test]
fn warnings_are_capped() {
    let list: Vec<String> = (0..500)
        .map(|i| format!(r#"{{"name":"c{i}","purl":"bad{i}"}}"#))
        .collect();
    let sbom = parse(&cdx(&format!("[{}]", list.join(",")))).unwrap();
    assert_eq!(sbom.components.len(), 500, "every component is kept");
    assert_eq!(sbom.warnings.len(), 101);
    assert_eq!(sbom.warnings[100], "... and 400 more warnings");
}

#[test]
fn a_nameless_component_with_a_broken_purl_is_still_reported() {
    // Found by the fuzz target: the name used to be left empty.
    let sbom = parse(&cdx(r#"[{"purl":"pkg:npm/ok@1"},{"purl":"npm/broken@1"}]"#)).unwrap();
    let names: Vec<&str> = sbom.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ok", "npm/broken@1"]);
    assert_eq!(sbom.warnings.len(), 1);
    let doc = br#"{"spdxVersion":"SPDX-2.3","packages":[{"SPDXID":"SPDXRef-a","externalRefs":[
        {"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:%zz/x@1"}]}]}"#;
    let sbom = parse(doc).unwrap();
    assert_eq!(sbom.components[0].name, "pkg:%zz/x@1");
    assert!(
        sbom.warnings[0].starts_with("$.packages[0].externalRefs[0].referenceLocator: "),
        "{}",
        sbom.warnings[0]
    );
}
