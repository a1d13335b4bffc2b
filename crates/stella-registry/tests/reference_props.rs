#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Reference parsing: never panics, and what it accepts displays as a reference that parses
//! back to itself.

use proptest::prelude::*;
use stella_registry::Reference;

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn never_panics(s in ".{0,80}") {
        if let Ok(r) = Reference::parse(&s) {
            prop_assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
        }
    }

    #[test]
    fn well_formed_references_round_trip(
        registry in prop_oneof![Just(String::new()), "[a-z]{1,8}\\.[a-z]{2,3}(:[1-9][0-9]{0,3})?/", Just("localhost:5000/".to_owned())],
        // The first component has no '.': with one, docker takes it for a registry.
        path in "[a-z0-9]{1,6}((_|__|-+)[a-z0-9]{1,4})?(/[a-z0-9]{1,6}((\\.|_|__|-+)[a-z0-9]{1,4})?){0,2}",
        tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        digest in proptest::option::of("[0-9a-f]{64}"),
    ) {
        let mut s = format!("{registry}{path}");
        if let Some(t) = &tag { s.push(':'); s.push_str(t); }
        if let Some(d) = &digest { s.push_str("@sha256:"); s.push_str(d); }
        let r = Reference::parse(&s).unwrap();
        prop_assert_eq!(r.tag.as_deref(), tag.as_deref().or(if digest.is_none() { Some("latest") } else { None }));
        prop_assert_eq!(r.digest.clone(), digest.map(|d| format!("sha256:{d}")));
        prop_assert!(r.repository.ends_with(&path));
        prop_assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
    }
}
