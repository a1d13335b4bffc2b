//! Property tests: purls survive display and re-parse, and no input (purl string or SBOM
//! bytes) makes the parsers panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::fixture;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use stella_sbom::{Limits, Purl};

fn segment() -> impl Strategy<Value = String> {
    // Any text without '/', including the characters purls must encode.
    "[^/]{1,12}".prop_filter("not . or ..", |s| s != "." && s != "..")
}

fn purl_parts() -> impl Strategy<Value = Purl> {
    let ty = prop_oneof![
        Just("npm".to_owned()),
        Just("pypi".to_owned()),
        Just("maven".to_owned()),
        Just("deb".to_owned()),
        Just("apk".to_owned()),
        Just("rpm".to_owned()),
        Just("golang".to_owned()),
        Just("github".to_owned()),
        "[a-zA-Z][a-zA-Z0-9.-]{0,8}",
    ];
    (
        ty,
        proptest::option::of(vec(segment(), 1..4)),
        ".{1,16}",
        proptest::option::of(".{1,16}"),
        btree_map("[a-z][a-z0-9._-]{0,8}", ".{1,12}", 0..4),
        proptest::option::of(vec(segment(), 1..4)),
    )
        .prop_map(|(ty, ns, name, version, quals, sub)| {
            let ns = ns.map(|s| s.join("/"));
            let sub = sub.map(|s| s.join("/"));
            Purl::from_parts(
                &ty,
                ns.as_deref(),
                &name,
                version.as_deref(),
                quals.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                sub.as_deref(),
            )
            .expect("generated parts are valid")
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn purl_display_then_parse_round_trips(purl in purl_parts()) {
        let text = purl.to_string();
        let again = Purl::parse(&text).unwrap();
        prop_assert_eq!(&again, &purl, "{}", text);
        prop_assert_eq!(&again.to_string(), &text);
        // The canonical form uses only the spec's permitted characters.
        prop_assert!(text.chars().all(|c| c.is_ascii_alphanumeric() || ".-_~%:/@?=&#".contains(c)), "{}", text);
    }

    #[test]
    fn purl_parse_never_panics(s in ".{0,64}") {
        let _ = Purl::parse(&s);
    }

    #[test]
    fn purl_parse_never_panics_on_purl_like_text(s in "(pkg:)?[a-zA-Z0-9/@?#=&%:._~+ -]{0,48}") {
        if let Ok(p) = Purl::parse(&s) {
            // Whatever parses is canonicalised stably.
            let text = p.to_string();
            prop_assert_eq!(&Purl::parse(&text).unwrap().to_string(), &text);
        }
    }

    #[test]
    fn sbom_parse_never_panics_on_bytes(bytes in vec(any::<u8>(), 0..512)) {
        let _ = stella_sbom::parse(&bytes, &Limits::default());
        let _ = stella_sbom::detect(&bytes);
    }

    #[test]
    fn sbom_parse_never_panics_on_damaged_documents(
        which in 0usize..6,
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let names = ["cyclonedx-1.4.json", "cyclonedx-1.5.json", "cyclonedx-1.6.json",
                     "spdx-2.2.json", "spdx-2.3.json", "trivy-v2.json"];
        let mut bytes = fixture(names[which]);
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let _ = stella_sbom::parse(&bytes, &Limits::default());
    }

    #[test]
    fn generated_cyclonedx_gives_one_component_each(
        entries in vec(("[a-z][a-z0-9-]{0,10}", "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}"), 0..60),
    ) {
        // Suffixing the index keeps the generated names distinct.
        let components: Vec<serde_json::Value> = entries.iter().enumerate().map(|(i, (name, version))| {
            let name = format!("{name}-{i}");
            serde_json::json!({"type": "library", "name": name, "version": version,
                               "purl": format!("pkg:npm/{name}@{version}")})
        }).collect();
        let doc = serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components});
        let sbom = stella_sbom::parse(doc.to_string().as_bytes(), &Limits::default()).unwrap();
        prop_assert_eq!(sbom.components.len(), entries.len());
        for (i, (c, (name, version))) in sbom.components.iter().zip(&entries).enumerate() {
            prop_assert_eq!(&c.name, &format!("{name}-{i}"));
            prop_assert_eq!(c.version.as_deref(), Some(version.as_str()));
            prop_assert_eq!(c.ecosystem.as_deref(), Some("npm"));
        }
    }
}
