//! OSV ecosystem names.
//!
//! OSV writes an ecosystem as its name, optionally followed by `:` and a release
//! (`"Debian:12"`, `"Ubuntu:22.04:LTS"`, `"Alpine:v3.18"`, `"Red Hat:enterprise_linux:9::appstream"`).
//! Only the name decides the version order; the release is kept for the caller (a Debian 12
//! advisory must not match a Debian 11 package).

use std::fmt;

use crate::Scheme;

/// An OSV ecosystem, as far as version ordering is concerned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ecosystem {
    /// `PyPI`
    PyPI,
    /// `Go`
    Go,
    /// `npm`
    Npm,
    /// `crates.io`
    CratesIo,
    /// `Hex` (Elixir's Version is SemVer 2.0)
    Hex,
    /// `Debian`
    Debian,
    /// `Ubuntu`
    Ubuntu,
    /// `Alpine`
    Alpine,
    /// `Wolfi` (apk packages)
    Wolfi,
    /// `Chainguard` (apk packages)
    Chainguard,
    /// `Red Hat`
    RedHat,
    /// `AlmaLinux`
    AlmaLinux,
    /// `Rocky Linux`
    RockyLinux,
    /// `SUSE`
    Suse,
    /// `openSUSE`
    OpenSuse,
    /// `Mageia` (RPM)
    Mageia,
    /// `openEuler` (RPM)
    OpenEuler,
    /// `Maven`
    Maven,
    /// `NuGet`
    NuGet,
    /// `RubyGems`
    RubyGems,
    /// `Packagist`
    Packagist,
    /// `Pub`
    Pub,
    /// `CRAN`
    Cran,
    /// `Hackage`
    Hackage,
    /// Any other name (without its release suffix): this crate cannot order its versions.
    Unsupported(String),
}

/// The OSV spelling of each supported ecosystem. OSV names are case-sensitive (`npm` but
/// `PyPI`), so matching is exact.
const NAMES: &[(&str, Ecosystem)] = &[
    ("PyPI", Ecosystem::PyPI),
    ("Go", Ecosystem::Go),
    ("npm", Ecosystem::Npm),
    ("crates.io", Ecosystem::CratesIo),
    ("Hex", Ecosystem::Hex),
    ("Debian", Ecosystem::Debian),
    ("Ubuntu", Ecosystem::Ubuntu),
    ("Alpine", Ecosystem::Alpine),
    ("Wolfi", Ecosystem::Wolfi),
    ("Chainguard", Ecosystem::Chainguard),
    ("Red Hat", Ecosystem::RedHat),
    ("AlmaLinux", Ecosystem::AlmaLinux),
    ("Rocky Linux", Ecosystem::RockyLinux),
    ("SUSE", Ecosystem::Suse),
    ("openSUSE", Ecosystem::OpenSuse),
    ("Mageia", Ecosystem::Mageia),
    ("openEuler", Ecosystem::OpenEuler),
    ("Maven", Ecosystem::Maven),
    ("NuGet", Ecosystem::NuGet),
    ("RubyGems", Ecosystem::RubyGems),
    ("Packagist", Ecosystem::Packagist),
    ("Pub", Ecosystem::Pub),
    ("CRAN", Ecosystem::Cran),
    ("Hackage", Ecosystem::Hackage),
];

impl Ecosystem {
    /// Splits an OSV ecosystem string into the ecosystem and its release, if any:
    /// `"Debian:12"` → `(Debian, Some("12"))`, `"Ubuntu:22.04:LTS"` → `(Ubuntu, Some("22.04:LTS"))`,
    /// `"npm"` → `(Npm, None)`. An unknown name is [`Ecosystem::Unsupported`], not an error.
    pub fn parse(osv: &str) -> (Ecosystem, Option<&str>) {
        let (name, release) = match osv.split_once(':') {
            Some((name, release)) => (name, (!release.is_empty()).then_some(release)),
            None => (osv, None),
        };
        let ecosystem = NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, e)| e.clone())
            .unwrap_or_else(|| Ecosystem::Unsupported(name.to_owned()));
        (ecosystem, release)
    }

    /// The OSV name, without a release.
    pub fn name(&self) -> &str {
        match self {
            Ecosystem::Unsupported(name) => name,
            known => NAMES
                .iter()
                .find(|(_, e)| e == known)
                .map_or("", |(name, _)| name),
        }
    }

    /// The version order of this ecosystem, or `None` when it is unsupported.
    pub fn scheme(&self) -> Option<Scheme> {
        use Ecosystem::*;
        Some(match self {
            PyPI => Scheme::Pep440,
            // Go module versions are SemVer with a `v` prefix (pseudo-versions included);
            // npm and crates.io use SemVer 2.0; Hex uses Elixir's Version, which is SemVer 2.0.
            Go | Npm | CratesIo | Hex => Scheme::SemVer,
            Debian | Ubuntu => Scheme::Dpkg,
            Alpine | Wolfi | Chainguard => Scheme::Apk,
            RedHat | AlmaLinux | RockyLinux | Suse | OpenSuse | Mageia | OpenEuler => Scheme::Rpm,
            Maven => Scheme::Maven,
            NuGet => Scheme::NuGet,
            RubyGems => Scheme::RubyGems,
            Packagist => Scheme::Packagist,
            Pub => Scheme::PubSemver,
            Cran => Scheme::Cran,
            Hackage => Scheme::Hackage,
            Unsupported(_) => return None,
        })
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_osv_names_and_keeps_the_release() {
        let cases: &[(&str, Ecosystem, Option<&str>)] = &[
            ("PyPI", Ecosystem::PyPI, None),
            ("Go", Ecosystem::Go, None),
            ("npm", Ecosystem::Npm, None),
            ("crates.io", Ecosystem::CratesIo, None),
            ("Debian", Ecosystem::Debian, None),
            ("Debian:12", Ecosystem::Debian, Some("12")),
            ("Ubuntu:22.04:LTS", Ecosystem::Ubuntu, Some("22.04:LTS")),
            ("Alpine:v3.18", Ecosystem::Alpine, Some("v3.18")),
            ("Red Hat", Ecosystem::RedHat, None),
            (
                "Red Hat:enterprise_linux:9::appstream",
                Ecosystem::RedHat,
                Some("enterprise_linux:9::appstream"),
            ),
            ("AlmaLinux:9", Ecosystem::AlmaLinux, Some("9")),
            ("Rocky Linux:8", Ecosystem::RockyLinux, Some("8")),
            (
                "SUSE:Linux Enterprise Server 15 SP5",
                Ecosystem::Suse,
                Some("Linux Enterprise Server 15 SP5"),
            ),
            ("openSUSE:Leap 15.5", Ecosystem::OpenSuse, Some("Leap 15.5")),
            ("Maven", Ecosystem::Maven, None),
            ("NuGet", Ecosystem::NuGet, None),
            ("RubyGems", Ecosystem::RubyGems, None),
            ("Packagist", Ecosystem::Packagist, None),
            ("Pub", Ecosystem::Pub, None),
            ("CRAN", Ecosystem::Cran, None),
            ("Hackage", Ecosystem::Hackage, None),
            ("Debian:", Ecosystem::Debian, None),
        ];
        for (osv, ecosystem, release) in cases {
            assert_eq!(
                Ecosystem::parse(osv),
                (ecosystem.clone(), *release),
                "{osv}"
            );
            assert!(ecosystem.scheme().is_some(), "{osv} has a scheme");
        }
    }

    #[test]
    fn unknown_names_are_unsupported_not_errors() {
        let (e, release) = Ecosystem::parse("Photon OS:5.0");
        assert_eq!(e, Ecosystem::Unsupported("Photon OS".into()));
        assert_eq!(release, Some("5.0"));
        assert_eq!(e.scheme(), None);
        assert_eq!(e.to_string(), "Photon OS");
        // OSV names are case-sensitive: "pypi" is not "PyPI".
        assert_eq!(
            Ecosystem::parse("pypi").0,
            Ecosystem::Unsupported("pypi".into())
        );
    }

    #[test]
    fn names_round_trip() {
        for (name, ecosystem) in NAMES {
            assert_eq!(ecosystem.name(), *name);
            assert_eq!(Ecosystem::parse(name).0, *ecosystem);
        }
    }
}
