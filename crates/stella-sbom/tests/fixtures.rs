//! The committed fixtures, one per format and version, read to exact component lists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixture, parse, rows};
use stella_sbom::{OsInfo, SbomType, Subject};

const L1: &str = "sha256:dddd000000000000000000000000000000000000000000000000000000000001";
const L2: &str = "sha256:dddd000000000000000000000000000000000000000000000000000000000002";
const D1: &str = "sha256:aaaa000000000000000000000000000000000000000000000000000000000001";
const D2: &str = "sha256:aaaa000000000000000000000000000000000000000000000000000000000002";

fn subject(name: &str, version: Option<&str>) -> Option<Subject> {
    Some(Subject {
        name: name.to_owned(),
        version: version.map(str::to_owned),
    })
}

fn os(family: &str, name: &str) -> Option<OsInfo> {
    Some(OsInfo {
        family: family.to_owned(),
        name: name.to_owned(),
    })
}

#[test]
fn cyclonedx_1_4() {
    let bytes = fixture("cyclonedx-1.4.json");
    assert_eq!(
        stella_sbom::detect(&bytes).unwrap(),
        SbomType::CycloneDxJson
    );
    let sbom = parse(&bytes).unwrap();
    assert_eq!(sbom.kind, SbomType::CycloneDxJson);
    assert_eq!(sbom.spec_version, "1.4");
    assert_eq!(sbom.subject, subject("billing-api", Some("3.2.0")));
    assert_eq!(
        rows(&sbom),
        [
            "Django | 2.2.1 | pkg:pypi/django@2.2.1 | PyPI | - | - | - | Django==2.2.1",
            "ruamel.yaml_clib | 0.2.8 | pkg:pypi/ruamel.yaml-clib@0.2.8 | PyPI | - | - | - | ruamel",
            "@babel/core | 7.23.2 | pkg:npm/%40babel/core@7.23.2 | npm | - | - | - | core",
            "org.apache.logging.log4j:log4j-core | 2.14.1 | pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar | Maven | - | - | - | log4j",
            "vendored-zlib | 1.2.13 | - | - | - | - | - | vendored",
            "left-pad | 1.3.0 | - | - | - | - | - | broken",
        ]
    );
    // The broken purl costs the component its purl, not its place in the list.
    assert_eq!(sbom.warnings.len(), 1, "{:?}", sbom.warnings);
    assert!(
        sbom.warnings[0]
            .starts_with("$.components[5].purl: \"npm/left-pad@1.3.0\" is not a valid purl"),
        "{}",
        sbom.warnings[0]
    );
}

#[test]
fn cyclonedx_1_5_subject_children_and_duplicates() {
    let sbom = parse(&fixture("cyclonedx-1.5.json")).unwrap();
    assert_eq!(sbom.spec_version, "1.5");
    assert_eq!(sbom.subject, subject("storefront", Some("1.0.0")));
    assert_eq!(
        rows(&sbom),
        [
            "storefront-ui | 1.0.0 | pkg:npm/storefront-ui@1.0.0 | npm | - | - | - | ui",
            "lodash | 4.17.4 | pkg:npm/lodash@4.17.4 | npm | - | - | - | lodash@4.17.4",
            "express | 4.16.0 | pkg:npm/express@4.16.0 | npm | - | - | - | express@4.16.0",
            "serde | 1.0.190 | pkg:cargo/serde@1.0.190 | crates.io | - | - | - | serde",
            "github.com/gin-gonic/gin | v1.9.0 | pkg:golang/github.com/gin-gonic/gin@v1.9.0 | Go | - | - | - | gin",
        ]
    );
    assert!(sbom.warnings.is_empty(), "{:?}", sbom.warnings);
}

#[test]
fn cyclonedx_1_6_nested_components_and_trivy_properties() {
    let sbom = parse(&fixture("cyclonedx-1.6.json")).unwrap();
    assert_eq!(sbom.spec_version, "1.6");
    assert_eq!(sbom.subject, subject("registry.example/shop:2.1", None));
    assert_eq!(sbom.os, os("debian", "12.5"));
    let libssl = "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5";
    assert_eq!(
        rows(&sbom),
        [
            format!("libssl3 | 3.0.11-1~deb12u2 | {libssl} | Debian:12 | openssl | 3.0.11-1~deb12u2 | {L1} | {libssl}"),
            // No distro qualifier: the release comes from the operating-system component.
            format!("zlib1g | 1:1.2.13.dfsg-1 | pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64 | Debian:12 | zlib | 1:1.2.13.dfsg-1 | {D1} | zlib"),
            "usr/local/lib/python3.11/site-packages | - | - | - | - | - | - | site-packages".to_owned(),
            format!("requests | 2.19.1 | pkg:pypi/requests@2.19.1 | PyPI | - | - | {L2} | requests"),
            "Flask | 0.12 | pkg:pypi/flask@0.12 | PyPI | - | - | - | flask".to_owned(),
            "MarkupSafe | 1.0 | pkg:pypi/markupsafe@1.0 | PyPI | - | - | - | flask-vendored-markupsafe".to_owned(),
        ]
    );
}

#[test]
fn spdx_2_2_several_described_packages() {
    let sbom = parse(&fixture("spdx-2.2.json")).unwrap();
    assert_eq!(sbom.kind, SbomType::SpdxJson);
    assert_eq!(sbom.spec_version, "2.2");
    // Two packages described: the one without a purl is the root and is skipped, the other
    // is a real package.
    assert_eq!(sbom.subject, None);
    assert_eq!(
        rows(&sbom),
        [
            "libexample | 2.0.1 | pkg:cargo/libexample@2.0.1 | crates.io | - | - | - | SPDXRef-Lib",
            "Jinja2 | 2.10 | pkg:pypi/jinja2@2.10 | PyPI | - | - | - | SPDXRef-jinja2",
            "internal-tool | 0.1 | - | - | - | - | - | SPDXRef-internal",
            "Newtonsoft.Json | 12.0.1 | pkg:nuget/Newtonsoft.Json@12.0.1 | NuGet | - | - | - | SPDXRef-nuget",
        ]
    );
}

#[test]
fn spdx_2_3_trivy_image() {
    let sbom = parse(&fixture("spdx-2.3.json")).unwrap();
    assert_eq!(sbom.spec_version, "2.3");
    assert_eq!(sbom.subject, subject("alpine:3.18", None));
    assert_eq!(sbom.os, os("alpine", "3.18.4"));
    assert_eq!(
        rows(&sbom),
        [
            "libcrypto3 | 3.1.3-r0 | pkg:apk/alpine/libcrypto3@3.1.3-r0?arch=x86_64&distro=3.18.4 | Alpine:v3.18 | openssl | 3.1.3-r0 | sha256:cc00000000000000000000000000000000000000000000000000000000000001 | SPDXRef-Package-libcrypto3",
            "musl | 1.2.4-r2 | pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4&upstream=musl | Alpine:v3.18 | musl | - | - | SPDXRef-Package-musl",
            "busybox | 1.36.1-r2 | pkg:apk/alpine/busybox@1.36.1-r2?arch=x86_64&distro=3.18.4 | Alpine:v3.18 | - | - | - | SPDXRef-Package-busybox",
        ]
    );
}

#[test]
fn trivy_v2_debian_and_python() {
    let bytes = fixture("trivy-v2.json");
    assert_eq!(stella_sbom::detect(&bytes).unwrap(), SbomType::TrivyJsonV2);
    let sbom = parse(&bytes).unwrap();
    assert_eq!(sbom.kind, SbomType::TrivyJsonV2);
    assert_eq!(sbom.spec_version, "2");
    assert_eq!(sbom.subject, subject("registry.example/api:1.4", None));
    assert_eq!(sbom.os, os("debian", "12.5"));
    let libssl = "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5";
    let openssl = "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5";
    assert_eq!(
        rows(&sbom),
        [
            format!("libssl3 | 3.0.11-1~deb12u2 | {libssl} | Debian:12 | openssl | 3.0.11-1~deb12u2 | {L1} | a1b2c3d4e5f60718"),
            format!("openssl | 3.0.11-1~deb12u2 | {openssl} | Debian:12 | openssl | 3.0.11-1~deb12u2 | {D1} | b1b2c3d4e5f60718"),
            // No purl: the ecosystem comes from the result type and Metadata.OS.
            "libgcrypt20 | 1.10.1-3 | - | Debian:12 | libgcrypt20 | 1.10.1-3 | - | -".to_owned(),
            // Listed twice (two layers): the first is kept, with its layer.
            format!("urllib3 | 1.23 | pkg:pypi/urllib3@1.23 | PyPI | - | - | {L2} | c1b2c3d4e5f60718"),
            format!("PyYAML | 5.1 | - | PyPI | - | - | {D2} | -"),
        ]
    );
    assert_eq!(sbom.warnings.len(), 1, "{:?}", sbom.warnings);
    assert!(
        sbom.warnings[0].contains("$.Results[2]") && sbom.warnings[0].contains("--list-all-pkgs")
    );
}

#[test]
fn trivy_rpm_versions_are_reassembled() {
    let doc = br#"{"SchemaVersion":2,"ArtifactName":"ubi8","Metadata":{"OS":{"Family":"redhat","Name":"8.6"}},
      "Results":[{"Target":"ubi8 (redhat 8.6)","Class":"os-pkgs","Type":"redhat","Packages":[
        {"Name":"openssl-libs","Version":"1.1.1k","Release":"7.el8_6","Epoch":1,
         "SrcName":"openssl","SrcVersion":"1.1.1k","SrcRelease":"7.el8_6","SrcEpoch":1,
         "Identifier":{"PURL":"pkg:rpm/redhat/openssl-libs@1.1.1k-7.el8_6?arch=x86_64&epoch=1&distro=redhat-8.6"}}]}]}"#;
    let sbom = parse(doc).unwrap();
    assert_eq!(
        rows(&sbom),
        ["openssl-libs | 1:1.1.1k-7.el8_6 | pkg:rpm/redhat/openssl-libs@1.1.1k-7.el8_6?arch=x86_64&distro=redhat-8.6&epoch=1 | Red Hat | openssl | 1:1.1.1k-7.el8_6 | - | -"]
    );
}

#[test]
fn declared_types() {
    assert_eq!(
        SbomType::from_header("trivy-json-v2").unwrap(),
        SbomType::TrivyJsonV2
    );
    assert_eq!(
        SbomType::from_header(" SPDX-JSON ").unwrap(),
        SbomType::SpdxJson
    );
    assert_eq!(
        "cyclonedx-json".parse::<SbomType>().unwrap(),
        SbomType::CycloneDxJson
    );
    for t in SbomType::ALL {
        assert_eq!(SbomType::from_header(t.name()).unwrap(), t);
    }
    // A declared type is read even when the detection markers are missing.
    let doc =
        br#"{"specVersion":"1.6","components":[{"name":"a","version":"1","purl":"pkg:npm/a@1"}]}"#;
    assert!(stella_sbom::detect(doc).is_err());
    let sbom = stella_sbom::parse_as(doc, SbomType::CycloneDxJson, &Default::default()).unwrap();
    assert_eq!(sbom.components.len(), 1);
}

#[test]
fn utf8_byte_order_mark_is_accepted() {
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend(fixture("cyclonedx-1.5.json"));
    assert_eq!(parse(&bytes).unwrap().components.len(), 5);
}

#[test]
fn serialises_for_the_api() {
    let sbom = parse(&fixture("trivy-v2.json")).unwrap();
    let json = serde_json::to_value(&sbom).unwrap();
    assert_eq!(json["kind"], "trivy-json-v2");
    assert_eq!(
        json["components"][0]["purl"],
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5"
    );
}
