#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Parsing never panics, whatever JSON it is given; errors always have one of the codes.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use stella_vex::{parse, parse_value, Limits, VexSet};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("not_affected".to_owned()),
            Just("false_positive".to_owned()),
            Just("pkg:npm/a@1".to_owned()),
            Just("CVE-1".to_owned()),
            Just("2024-01-01T00:00:00Z".to_owned()),
            Just("urn:cdx:x/1#a".to_owned()),
            Just("pkg:".to_owned()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("statements"),
        Just("vulnerability"),
        Just("name"),
        Just("aliases"),
        Just("products"),
        Just("@id"),
        Just("identifiers"),
        Just("purl"),
        Just("subcomponents"),
        Just("status"),
        Just("timestamp"),
        Just("justification"),
        Just("vulnerabilities"),
        Just("id"),
        Just("analysis"),
        Just("state"),
        Just("affects"),
        Just("ref"),
        Just("references"),
        Just("components"),
        Just("bom-ref"),
        Just("metadata"),
        Just("component"),
        Just("response"),
        Just("lastUpdated"),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

fn root(kind: u8, body: Value) -> Value {
    let mut m = match body {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert(
                if kind & 1 == 0 {
                    "statements"
                } else {
                    "vulnerabilities"
                }
                .into(),
                other,
            );
            m
        }
    };
    match kind % 3 {
        0 => {
            m.insert("@context".into(), json!("https://openvex.dev/ns/v0.2.0"));
        }
        1 => {
            m.insert("bomFormat".into(), json!("CycloneDX"));
            m.insert("specVersion".into(), json!("1.5"));
        }
        _ => {}
    }
    Value::Object(m)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics(kind in any::<u8>(), body in arb_json()) {
        let doc = root(kind, body);
        let limits = Limits { max_products: 5, max_statements: 5, max_aliases: 3, max_components: 10, ..Limits::default() };
        let bytes = serde_json::to_vec(&doc).unwrap();
        match parse(&bytes, &limits) {
            Ok(d) => {
                let set = VexSet::new([d]);
                let _ = set.suppression("CVE-1", &["GHSA-1".into()], Some("pkg:npm/a@1"));
            }
            Err(e) => prop_assert!(["vex-not-json", "vex-unknown-format", "vex-too-large", "vex-invalid"].contains(&e.code())),
        }
        let _ = parse_value(&doc, &limits);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse(&bytes, &Limits::default());
    }
}
