//! Properties of range matching over generated ranges and versions (PyPI and Go orders).
// The reference evaluation's generated input always parses; a failure there is a test bug.
#![allow(clippy::expect_used)]

mod common;

use std::cmp::Ordering;

use common::{hit, range, simple};
use proptest::prelude::*;
use serde_json::json;
use stella_osv::Database;
use stella_vers::{Ecosystem, Version, VersionScheme};

/// Small alphabets so that equal, adjacent and pre-release versions are common.
fn pypi_version() -> impl Strategy<Value = String> {
    (
        0u8..3,
        0u8..3,
        prop::sample::select(vec!["", "a1", "rc1", ".post1", ".dev0", ".0"]),
    )
        .prop_map(|(major, minor, suffix)| format!("{major}.{minor}{suffix}"))
}

fn go_version() -> impl Strategy<Value = String> {
    (
        0u8..2,
        0u8..3,
        0u8..2,
        prop::sample::select(vec![
            "",
            "-rc.1",
            "-0.20200101000000-abcdef123456",
            "+incompatible",
        ]),
    )
        .prop_map(|(major, minor, patch, suffix)| format!("{major}.{minor}.{patch}{suffix}"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Introduced => "introduced",
            Kind::Fixed => "fixed",
            Kind::LastAffected => "last_affected",
            Kind::Limit => "limit",
        }
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => Just(Kind::Introduced),
        3 => Just(Kind::Fixed),
        2 => Just(Kind::LastAffected),
        1 => Just(Kind::Limit),
    ]
}

/// Events over `version`s; an `introduced` is `"0"` one time in four.
fn events(version: BoxedStrategy<String>) -> impl Strategy<Value = Vec<(Kind, String)>> {
    prop::collection::vec(
        (kind(), version, prop::bool::weighted(0.25)).prop_map(|(kind, v, zero)| {
            let v = if kind == Kind::Introduced && zero {
                "0".to_owned()
            } else {
                v
            };
            (kind, v)
        }),
        1..7,
    )
}

fn database(ecosystem: &str, events: &[(Kind, String)]) -> Database {
    let pairs: Vec<(&str, &str)> = events.iter().map(|(k, v)| (k.key(), v.as_str())).collect();
    Database::build([simple(
        "OSV-P",
        ecosystem,
        "pkg",
        json!([range("ECOSYSTEM", &pairs)]),
        json!([]),
    )])
}

fn query_version(ecosystem: &str, v: &str) -> String {
    if ecosystem == "Go" {
        format!("v{v}")
    } else {
        v.to_owned()
    }
}

/// The schema's evaluation, literally: sort the events (`"0"` first; at equal versions
/// `introduced` first, this crate's documented tie order) and walk them. Only for schemes whose
/// order is total, as PEP 440 and SemVer are.
fn reference(ecosystem: &str, events: &[(Kind, String)], v: &str) -> bool {
    let scheme = Ecosystem::parse(ecosystem).0.scheme().expect("supported");
    let parse = |s: &str| scheme.parse(s).expect("generated versions parse");
    let v = parse(v);
    let limits: Vec<Version> = events
        .iter()
        .filter(|(k, _)| *k == Kind::Limit)
        .map(|(_, l)| parse(l))
        .collect();
    if !limits.is_empty() && !limits.iter().any(|l| v < *l) {
        return false;
    }
    let mut sorted: Vec<(Option<Version>, Kind)> = events
        .iter()
        .filter(|(k, _)| *k != Kind::Limit)
        .map(|(k, e)| {
            let at = (!(*k == Kind::Introduced && e == "0")).then(|| parse(e));
            (at, *k)
        })
        .collect();
    sorted.sort_by(|(a, ka), (b, kb)| {
        let by_version = match (a, b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(a), Some(b)) => a.cmp(b),
        };
        by_version.then(((*ka != Kind::Introduced) as u8).cmp(&((*kb != Kind::Introduced) as u8)))
    });
    let mut affected = false;
    for (at, kind) in &sorted {
        match (kind, at) {
            (Kind::Introduced, None) => affected = true,
            (Kind::Introduced, Some(i)) if v >= *i => affected = true,
            (Kind::Fixed, Some(f)) if v >= *f => affected = false,
            (Kind::LastAffected, Some(l)) if v > *l => affected = false,
            _ => {}
        }
    }
    affected
}

/// Events, the same events shuffled, and versions to query.
type Case = (Vec<(Kind, String)>, Vec<(Kind, String)>, Vec<String>);

fn case(ecosystem: &'static str) -> impl Strategy<Value = Case> {
    let version = move || -> BoxedStrategy<String> {
        if ecosystem == "Go" {
            go_version().boxed()
        } else {
            pypi_version().boxed()
        }
    };
    events(version()).prop_flat_map(move |events| {
        let shuffled = Just(events.clone()).prop_shuffle();
        (
            Just(events),
            shuffled,
            prop::collection::vec(version(), 1..8),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn pypi_matching_ignores_event_order_and_agrees_with_the_schema(
        (events, shuffled, versions) in case("PyPI")
    ) {
        check_order_and_reference("PyPI", &events, &shuffled, &versions)?;
    }

    #[test]
    fn go_matching_ignores_event_order_and_agrees_with_the_schema(
        (events, shuffled, versions) in case("Go")
    ) {
        check_order_and_reference("Go", &events, &shuffled, &versions)?;
    }

    #[test]
    fn a_fixed_version_is_never_affected_by_its_range(
        (events, _, _) in case("PyPI"),
        (go_events, _, _) in case("Go"),
    ) {
        for (ecosystem, events) in [("PyPI", &events), ("Go", &go_events)] {
            let db = database(ecosystem, events);
            for (kind, fixed) in events.iter() {
                if *kind == Kind::Fixed {
                    let v = query_version(ecosystem, fixed);
                    prop_assert!(!hit(&db, ecosystem, "pkg", &v), "{ecosystem} {v} in {events:?}");
                }
            }
        }
    }

    #[test]
    fn introduced_zero_without_a_fix_affects_everything(
        extra in prop::collection::vec(pypi_version(), 0..3),
        versions in prop::collection::vec(pypi_version(), 1..8),
        go_versions in prop::collection::vec(go_version(), 1..8),
    ) {
        let mut events = vec![(Kind::Introduced, "0".to_owned())];
        events.extend(extra.into_iter().map(|v| (Kind::Introduced, v)));
        let pypi = database("PyPI", &events);
        let go = database("Go", &[(Kind::Introduced, "0".to_owned())]);
        for v in versions.iter().chain(["0.0.0b0".to_owned(), "0.dev0".to_owned()].iter()) {
            prop_assert!(hit(&pypi, "PyPI", "pkg", v), "{v}");
        }
        for v in &go_versions {
            prop_assert!(hit(&go, "Go", "pkg", &format!("v{v}")), "{v}");
        }
    }
}

fn check_order_and_reference(
    ecosystem: &str,
    events: &[(Kind, String)],
    shuffled: &[(Kind, String)],
    versions: &[String],
) -> Result<(), TestCaseError> {
    let written = database(ecosystem, events);
    let reordered = database(ecosystem, shuffled);
    for v in versions {
        let q = query_version(ecosystem, v);
        let got = hit(&written, ecosystem, "pkg", &q);
        prop_assert_eq!(
            got,
            hit(&reordered, ecosystem, "pkg", &q),
            "{} {:?} vs {:?}",
            q,
            events,
            shuffled
        );
        prop_assert_eq!(
            got,
            reference(ecosystem, events, v),
            "{} in {:?}",
            q,
            events
        );
    }
    Ok(())
}
