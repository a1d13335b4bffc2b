//! The public API: ecosystems to schemes, errors, parse-once use, PyPI name normalisation.

use std::cmp::Ordering;

use stella_vers::pypi::Pep440;
use stella_vers::{normalize_pypi_name, Ecosystem, Scheme, Version, VersionError, VersionScheme};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn scheme_of(osv: &str) -> Result<Scheme, String> {
    Ecosystem::parse(osv)
        .0
        .scheme()
        .ok_or_else(|| format!("{osv} has no scheme"))
}

#[test]
fn ecosystems_map_to_their_schemes() -> TestResult {
    let cases = [
        ("PyPI", Scheme::Pep440),
        ("Go", Scheme::SemVer),
        ("npm", Scheme::SemVer),
        ("crates.io", Scheme::SemVer),
        ("Debian:12", Scheme::Dpkg),
        ("Ubuntu:22.04:LTS", Scheme::Dpkg),
        ("Alpine:v3.18", Scheme::Apk),
        ("Red Hat:enterprise_linux:9::appstream", Scheme::Rpm),
        ("AlmaLinux:9", Scheme::Rpm),
        ("Rocky Linux:8", Scheme::Rpm),
        ("SUSE:Linux Enterprise Server 15 SP5", Scheme::Rpm),
        ("openSUSE:Leap 15.5", Scheme::Rpm),
        ("Maven", Scheme::Maven),
        ("NuGet", Scheme::NuGet),
        ("RubyGems", Scheme::RubyGems),
        ("Packagist", Scheme::Packagist),
        ("Pub", Scheme::PubSemver),
        ("CRAN", Scheme::Cran),
        ("Hackage", Scheme::Hackage),
    ];
    for (osv, want) in cases {
        assert_eq!(scheme_of(osv)?, want, "{osv}");
    }
    Ok(())
}

#[test]
fn the_empty_string_and_whitespace_are_errors_in_every_scheme() {
    for scheme in Scheme::ALL {
        for bad in ["", " ", "\t", "1.0\n2.0", "1.0\u{0}"] {
            let result = scheme.parse(bad);
            assert!(result.is_err(), "{scheme} parsed {bad:?} as {result:?}");
        }
        // A string that is not a version must not compare either.
        assert!(scheme.compare("", "1.0").is_err(), "{scheme}");
    }
}

#[test]
fn errors_say_which_scheme_and_string() {
    let Err(err) = Pep440.parse("not a version") else {
        panic!("\"not a version\" parsed as a PyPI version");
    };
    assert_eq!(err.scheme(), "PEP 440");
    assert_eq!(err.version(), "not a version");
    assert!(err.to_string().contains("not a version"), "{err}");

    // Hostile input does not make hostile errors: the kept string is bounded.
    let long = "x ".repeat(10_000);
    let err = Scheme::SemVer.parse(&long).err();
    assert!(err.is_some_and(|e| e.version().len() <= 128));
}

#[test]
fn surrounding_whitespace_is_trimmed_where_the_tool_trims() -> Result<(), VersionError> {
    // pip, RubyGems and dpkg ignore surrounding whitespace; the others reject it.
    assert_eq!(Scheme::Pep440.compare(" 1.0 ", "1.0")?, Ordering::Equal);
    assert_eq!(Scheme::RubyGems.compare(" 1.0 ", "1.0")?, Ordering::Equal);
    assert_eq!(Scheme::Dpkg.compare(" 1.0 ", "1.0")?, Ordering::Equal);
    assert!(Scheme::SemVer.parse(" 1.0.0").is_err());
    Ok(())
}

#[test]
fn parse_once_and_compare_against_many_events() -> TestResult {
    // The scanner's use: one installed version, many range events.
    let scheme = scheme_of("Debian:12")?;
    let installed = scheme.parse("1.2.3-1+deb12u1")?;
    let introduced = scheme.parse("0")?;
    let fixed = scheme.parse("1.2.3-1+deb12u2")?;
    assert!(introduced <= installed && installed < fixed);
    assert_eq!(installed.scheme(), Scheme::Dpkg);
    assert_eq!(installed.to_string(), "1.2.3-1+deb12u1");
    Ok(())
}

#[test]
fn versions_of_different_schemes_are_never_equal() -> Result<(), VersionError> {
    let a: Version = Scheme::SemVer.parse("1.0.0")?;
    let b: Version = Scheme::NuGet.parse("1.0.0")?;
    assert_ne!(a, b);
    assert_eq!(a.cmp(&b), Scheme::SemVer.cmp(&Scheme::NuGet));
    assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
    Ok(())
}

#[test]
fn legacy_pypi_versions_are_flagged() -> Result<(), VersionError> {
    assert!(Pep440.parse("0.9-doduo")?.is_legacy());
    assert!(!Pep440.parse("1.0.post1")?.is_legacy());
    Ok(())
}

#[test]
fn pypi_names_normalise_per_pep_503() {
    let cases = [
        ("Django", "django"),
        ("zope.interface", "zope-interface"),
        ("Foo__Bar", "foo-bar"),
        ("foo-_.bar", "foo-bar"),
        ("FOO-bar.Baz_qux", "foo-bar-baz-qux"),
        ("a", "a"),
        ("", ""),
    ];
    for (name, want) in cases {
        assert_eq!(normalize_pypi_name(name), want, "{name}");
    }
    assert_eq!(
        normalize_pypi_name("Foo.Bar"),
        normalize_pypi_name("foo__bar")
    );
}

#[test]
fn scheme_names_are_distinct() {
    let mut names: Vec<&str> = Scheme::ALL.iter().map(|s| s.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Scheme::ALL.len());
}
