//! Property tests: every scheme's order is a total order on the versions it accepts.
//!
//! For each scheme a generator writes versions from a small alphabet (so that equal and
//! near-equal versions are common), and for a handful of them the test checks reflexivity,
//! antisymmetry, transitivity (of `<=` and of `=`), that `compare` on strings agrees with `Ord`
//! on parsed versions, and that spellings the ecosystem defines as equal compare `Equal`.
//!
//! Not covered, by design, because the OSV order is not transitive there: Packagist versions
//! containing `#`, which the OSV vectors make equal to any number (see `packagist.rs`), and
//! Maven versions with a dot right before a qualifier (`1.sp > 1 > 1-alpha > 1.sp`, see
//! `maven.rs`).

use std::cmp::Ordering;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use stella_vers::{Scheme, Version, VersionScheme};

fn parse_all(scheme: Scheme, versions: &[String]) -> Result<Vec<Version>, TestCaseError> {
    versions
        .iter()
        .map(|v| {
            scheme
                .parse(v)
                .map_err(|e| TestCaseError::fail(format!("generator made an invalid version: {e}")))
        })
        .collect()
}

/// The order laws over every pair and triple of `versions`.
fn check_laws(scheme: Scheme, versions: &[String]) -> Result<(), TestCaseError> {
    let parsed = parse_all(scheme, versions)?;
    for (i, a) in parsed.iter().enumerate() {
        prop_assert_eq!(a.cmp(a), Ordering::Equal, "not reflexive: {}", a);
        for (j, b) in parsed.iter().enumerate() {
            let ab = a.cmp(b);
            prop_assert_eq!(ab, b.cmp(a).reverse(), "not antisymmetric: {} vs {}", a, b);
            let by_str = scheme
                .compare(&versions[i], &versions[j])
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(by_str, ab, "compare() disagrees with Ord: {} vs {}", a, b);
            for c in &parsed {
                let (bc, ac) = (b.cmp(c), a.cmp(c));
                if ab != Ordering::Greater && bc != Ordering::Greater {
                    prop_assert!(
                        ac != Ordering::Greater,
                        "<= not transitive: {} {:?} {} {:?} {} but {:?}",
                        a,
                        ab,
                        b,
                        bc,
                        c,
                        ac
                    );
                }
                if ab == Ordering::Equal && bc == Ordering::Equal {
                    prop_assert_eq!(
                        ac,
                        Ordering::Equal,
                        "= not transitive: {} = {} = {}",
                        a,
                        b,
                        c
                    );
                }
            }
        }
    }
    Ok(())
}

fn check_equal(scheme: Scheme, a: &str, b: &str) -> Result<(), TestCaseError> {
    let ord = scheme
        .compare(a, b)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        ord,
        Ordering::Equal,
        "{} and {} should be equal under {}",
        a,
        b,
        scheme
    );
    Ok(())
}

/// Versions joined from tokens and separators, for the schemes whose grammar is a free mix.
fn joined(
    tokens: &'static [&'static str],
    seps: &'static [&'static str],
    max: usize,
) -> impl Strategy<Value = String> {
    (
        prop::sample::select(tokens),
        prop::collection::vec(
            (prop::sample::select(seps), prop::sample::select(tokens)),
            0..max,
        ),
    )
        .prop_map(|(first, rest)| {
            let mut s = first.to_owned();
            for (sep, token) in rest {
                s.push_str(sep);
                s.push_str(token);
            }
            s
        })
}

const SET: std::ops::Range<usize> = 2..7;

fn pep440() -> impl Strategy<Value = String> {
    let modern = r"(1!)?[0-9]{1,2}(\.[0-9]{1,2}){0,2}((a|b|rc)[0-9])?(\.post[0-9])?(\.dev[0-9])?(\+[a-z0-9]{1,2}(\.[a-z0-9]{1,2})?)?";
    prop_oneof![4 => modern, 1 => r"[0-9]\.[0-9]-[a-z]{1,3}", 1 => r"[a-z]{1,2}[0-9]?"]
}

fn semver() -> impl Strategy<Value = String> {
    r"v?[0-9]{1,2}\.[0-9]\.[0-9](-[0-9a-zA-Z]{1,2}(\.[0-9a-zA-Z]{1,2}){0,2})?(\+[0-9a-z]{1,3})?"
}

fn pub_semver() -> impl Strategy<Value = String> {
    r"v?[0-9]\.[0-9]\.[0-9](-[0-9a-z]{1,2}(\.[0-9a-z]{1,2})?)?(\+[0-9a-z]{1,2}(\.[0-9a-z]{1,2})?)?"
}

fn dpkg() -> impl Strategy<Value = String> {
    r"([0-9]:)?[0-9][0-9a-z.+~]{0,5}(-[0-9a-z.+~]{1,4})?"
}

fn apk() -> impl Strategy<Value = String> {
    let well_formed =
        r"[0-9]{1,2}(\.0?[0-9]{1,2}){0,2}[a-c]?(_(alpha|beta|rc|p|git)[0-9]?){0,2}(-r[0-9]{1,2})?";
    // Malformed versions too: the order is meant to be total on everything apk accepts here.
    prop_oneof![3 => well_formed, 2 => r"[0-9a-z._~\-]{1,8}"]
}

fn rpm() -> impl Strategy<Value = String> {
    r"([0-9]:)?[0-9a-z.~^_+α]{1,6}(-[0-9a-z.~^]{0,4})?"
}

fn maven() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        "0",
        "1",
        "2",
        "10",
        "alpha",
        "a",
        "beta",
        "b",
        "m",
        "milestone",
        "rc",
        "cr",
        "snapshot",
        "ga",
        "final",
        "release",
        "sp",
        "foo",
        "x",
        "",
    ];
    // No `.` right before a qualifier: the specification is not transitive there (see maven.rs).
    joined(TOKENS, &[".", "-", ""], 5).prop_filter("non-empty, no dotted qualifier", |s| {
        !s.is_empty()
            && !s
                .as_bytes()
                .windows(2)
                .any(|w| w[0] == b'.' && w[1].is_ascii_alphabetic())
    })
}

fn nuget() -> impl Strategy<Value = String> {
    r"[0-9]{1,2}(\.[0-9]{1,2}){0,3}(-[0-9a-zA-Z]{1,2}(\.[0-9a-zA-Z]{1,2}){0,2})?(\+[a-z]{1,2})?"
}

fn rubygems() -> impl Strategy<Value = String> {
    r"[0-9]{1,2}(\.([0-9]{1,2}|[a-cA-C]{1,2}[0-9]?)){0,3}(-[0-9a-z]{1,2})?"
}

fn packagist() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        "0", "1", "2", "10", "dev", "alpha", "a", "beta", "b", "RC", "rc", "pl", "p", "foo",
    ];
    joined(TOKENS, &[".", "-", "_", "+", ""], 5)
}

fn cran() -> impl Strategy<Value = String> {
    r"[0-9]{1,2}([.-][0-9]{1,2}){1,3}"
}

fn hackage() -> impl Strategy<Value = String> {
    r"(0|[1-9][0-9]?)(\.(0|[1-9][0-9]?)){0,3}"
}

proptest! {
    #[test]
    fn pep440_is_a_total_order(vs in prop::collection::vec(pep440(), SET)) {
        check_laws(Scheme::Pep440, &vs)?;
    }

    #[test]
    fn semver_is_a_total_order(vs in prop::collection::vec(semver(), SET)) {
        check_laws(Scheme::SemVer, &vs)?;
    }

    #[test]
    fn pub_is_a_total_order(vs in prop::collection::vec(pub_semver(), SET)) {
        check_laws(Scheme::PubSemver, &vs)?;
    }

    #[test]
    fn dpkg_is_a_total_order(vs in prop::collection::vec(dpkg(), SET)) {
        check_laws(Scheme::Dpkg, &vs)?;
    }

    #[test]
    fn apk_is_a_total_order(vs in prop::collection::vec(apk(), SET)) {
        check_laws(Scheme::Apk, &vs)?;
    }

    #[test]
    fn rpm_is_a_total_order(vs in prop::collection::vec(rpm(), SET)) {
        check_laws(Scheme::Rpm, &vs)?;
    }

    #[test]
    fn maven_is_a_total_order(vs in prop::collection::vec(maven(), SET)) {
        check_laws(Scheme::Maven, &vs)?;
    }

    #[test]
    fn nuget_is_a_total_order(vs in prop::collection::vec(nuget(), SET)) {
        check_laws(Scheme::NuGet, &vs)?;
    }

    #[test]
    fn rubygems_is_a_total_order(vs in prop::collection::vec(rubygems(), SET)) {
        check_laws(Scheme::RubyGems, &vs)?;
    }

    #[test]
    fn packagist_is_a_total_order(vs in prop::collection::vec(packagist(), SET)) {
        check_laws(Scheme::Packagist, &vs)?;
    }

    #[test]
    fn cran_is_a_total_order(vs in prop::collection::vec(cran(), SET)) {
        check_laws(Scheme::Cran, &vs)?;
    }

    #[test]
    fn hackage_is_a_total_order(vs in prop::collection::vec(hackage(), SET)) {
        check_laws(Scheme::Hackage, &vs)?;
    }

    /// PEP 440 spellings of the same version: case, long label names, separators, `v`, a zero
    /// epoch, trailing zeros, implicit numbers.
    #[test]
    fn pep440_spellings_are_equal(
        release in prop::collection::vec(0u8..20, 1..4),
        pre in prop::option::of((0usize..3, 0u8..10)),
        post in prop::option::of(0u8..10),
        dev in prop::option::of(0u8..10),
    ) {
        let dotted = |r: &[u8]| r.iter().map(u8::to_string).collect::<Vec<_>>().join(".");
        let mut plain = dotted(&release);
        let mut fancy = format!("V0!{}.0", dotted(&release));
        if let Some((label, n)) = pre {
            plain.push_str(&format!("{}{n}", ["a", "b", "rc"][label]));
            fancy.push_str(&format!("-{}.{n}", ["ALPHA", "Beta", "c"][label]));
        }
        if let Some(n) = post {
            plain.push_str(&format!(".post{n}"));
            fancy.push_str(&format!("_REV{n}"));
        }
        if let Some(n) = dev {
            plain.push_str(&format!(".dev{n}"));
            fancy.push_str(&if n == 0 { "-dev".to_owned() } else { format!("DEV{n}") });
        }
        check_equal(Scheme::Pep440, &plain, &fancy)?;
    }

    #[test]
    fn semver_prefix_and_build_do_not_order(v in semver()) {
        let bare = v.trim_start_matches('v').split('+').next().unwrap_or_default().to_owned();
        check_equal(Scheme::SemVer, &v, &bare)?;
        check_equal(Scheme::SemVer, &v, &format!("v{bare}+build.1"))?;
        check_equal(Scheme::PubSemver, &bare, &format!("v{bare}"))?;
    }

    #[test]
    fn dpkg_zero_epoch_and_revision_are_implicit(v in r"[0-9][0-9a-z.+~]{0,5}") {
        check_equal(Scheme::Dpkg, &v, &format!("0:{v}"))?;
        check_equal(Scheme::Dpkg, &v, &format!("{v}-0"))?;
    }

    #[test]
    fn apk_revision_zero_is_implicit(v in r"[0-9]{1,2}(\.[0-9]{1,2}){0,2}[a-c]?(_(alpha|rc|p)[0-9]?)?") {
        check_equal(Scheme::Apk, &v, &format!("{v}-r0"))?;
    }

    #[test]
    fn rpm_separators_and_zero_epoch_do_not_order(v in r"[0-9a-z]{1,3}([._+][0-9a-z]{1,3}){0,3}") {
        check_equal(Scheme::Rpm, &v, &format!("0:{}", v.replace(['.', '+'], "_")))?;
    }

    #[test]
    fn maven_trailing_nulls_and_case_do_not_order(v in maven()) {
        check_equal(Scheme::Maven, &v, &format!("{}.0-ga", v.to_uppercase()))?;
    }

    #[test]
    fn nuget_case_metadata_and_missing_numbers(
        numbers in prop::collection::vec(0u8..20, 1..4),
        pre in r"(-[0-9a-z]{1,2}(\.[0-9a-z]{1,2})?)?",
    ) {
        let short = numbers.iter().map(u8::to_string).collect::<Vec<_>>().join(".");
        let long = format!("{short}{}", ".0".repeat(4 - numbers.len()));
        check_equal(Scheme::NuGet, &format!("{short}{pre}"), &format!("{long}{}+Meta", pre.to_uppercase()))?;
    }

    #[test]
    fn rubygems_trailing_zeros_do_not_order(v in rubygems()) {
        check_equal(Scheme::RubyGems, &v, &format!("{v}.0"))?;
    }

    #[test]
    fn packagist_separators_and_v_do_not_order(v in packagist()) {
        check_equal(Scheme::Packagist, &v, &format!("v{}", v.replace(['-', '+'], "_")))?;
    }

    #[test]
    fn cran_dot_and_dash_are_the_same(v in cran()) {
        check_equal(Scheme::Cran, &v, &v.replace('-', "."))?;
    }
}
