//! Package version ordering per ecosystem, for matching installed packages against OSV ranges.
//!
//! An OSV record names an ecosystem (`"PyPI"`, `"Debian:12"`, `"npm"` …) and gives affected
//! ranges as events (`introduced`, `fixed`, `last_affected`) written in that ecosystem's own
//! version syntax. Deciding whether an installed version falls inside a range needs that
//! ecosystem's ordering, and the orderings differ a lot: `1.0~rc1` sorts *before* `1.0` for
//! dpkg and RPM, `1.0-1` is a post-release for PyPI but a pre-release for SemVer, Maven trims
//! `1.0.0` to `1`, and so on.
//!
//! * [`Ecosystem::parse`] reads an OSV ecosystem string into an [`Ecosystem`] and its release
//!   suffix (`"Debian:12"` → `(Debian, Some("12"))`); ecosystems this crate cannot order come
//!   back as [`Ecosystem::Unsupported`] rather than as an error, so a scanner can report them per
//!   component.
//! * [`Ecosystem::scheme`] gives the [`Scheme`] that orders its versions, and every scheme
//!   implements [`VersionScheme`]: [`VersionScheme::parse`] once (matching compares one installed
//!   version against many range events), then compare the parsed [`Version`]s with `Ord`; or
//!   [`VersionScheme::compare`] two strings directly.
//! * Each scheme also has its own module with a typed version ([`pypi::PypiVersion`],
//!   [`dpkg::DebVersion`] …) for callers that know the scheme statically.
//!
//! A string that is not a version under a scheme is an error ([`VersionError`]), never a guessed
//! position. Where the OSV reference vectors (from OSV-Scalibr's `semantic` package, which OSV's
//! own tooling uses) pin down an order for strings an ecosystem's tool would reject or treat
//! loosely, this crate follows the vectors and says so in the scheme's module documentation.
//!
//! The crate does no I/O.

use std::cmp::Ordering;
use std::fmt;

/// Implements `Eq`/`Ord` through a comparison function (so equality is "equal by the
/// ecosystem's rules", e.g. `1.0` = `1.0.0`), and `Display`/`as_str` through the `original`
/// field that every typed version keeps.
macro_rules! ordered_by {
    ($ty:ty, $cmp:path) => {
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                $cmp(self, other) == std::cmp::Ordering::Equal
            }
        }
        impl Eq for $ty {}
        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                $cmp(self, other)
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.original)
            }
        }
        impl $ty {
            /// The version exactly as it was given to `parse`.
            pub fn as_str(&self) -> &str {
                &self.original
            }
        }
    };
}

mod ecosystem;
mod num;

pub mod apk;
pub mod cran;
pub mod dpkg;
pub mod hackage;
pub mod maven;
pub mod nuget;
pub mod packagist;
pub mod pub_semver;
pub mod pypi;
pub mod rpm;
pub mod rubygems;
pub mod semver;

pub use ecosystem::Ecosystem;
pub use pypi::normalize_pypi_name;

/// A version string that is not a version under a scheme.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a {scheme} version: {version:?}: {reason}")]
pub struct VersionError {
    scheme: &'static str,
    version: String,
    reason: &'static str,
}

impl VersionError {
    /// Longest prefix of the offending string kept in the error, so an error built from hostile
    /// input stays small enough to log.
    const MAX_KEPT: usize = 128;

    pub(crate) fn new(scheme: &'static str, version: &str, reason: &'static str) -> Self {
        let mut end = version.len().min(Self::MAX_KEPT);
        while !version.is_char_boundary(end) {
            end -= 1;
        }
        VersionError {
            scheme,
            version: version[..end].to_owned(),
            reason,
        }
    }

    /// The scheme's name, e.g. `"PEP 440"`.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// The rejected string (its first 128 bytes).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Which rule of the scheme the string breaks.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

/// Rejects what no scheme takes as a version: the empty string, and whitespace or control
/// characters inside it (they come from a broken manifest or database row, not from a
/// package's version). Schemes whose tools trim surrounding whitespace trim before calling this.
pub(crate) fn check_plain(scheme: &'static str, version: &str) -> Result<(), VersionError> {
    if version.is_empty() {
        return Err(VersionError::new(scheme, version, "empty version"));
    }
    if version.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(VersionError::new(
            scheme,
            version,
            "whitespace or control character",
        ));
    }
    Ok(())
}

/// A version ordering: how one ecosystem (or family of ecosystems) sorts its versions.
pub trait VersionScheme {
    /// A version parsed under this scheme; `Ord` is the scheme's order, and `Eq` is equality by
    /// the scheme's rules (`1.0` and `1.0.0` may be equal).
    type Version: Ord + Clone + fmt::Debug + fmt::Display;

    /// The scheme's name, as used in [`VersionError::scheme`].
    fn name(&self) -> &'static str;

    /// Parses `version`, or says why it is not a version under this scheme.
    fn parse(&self, version: &str) -> Result<Self::Version, VersionError>;

    /// Orders two version strings. Parse once with [`VersionScheme::parse`] instead when one
    /// version is compared with many.
    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(self.parse(a)?.cmp(&self.parse(b)?))
    }
}

macro_rules! schemes {
    ($($(#[$doc:meta])* $variant:ident => $module:ident :: $scheme:ident, $version:ident;)*) => {
        /// Every version ordering this crate implements. [`Ecosystem::scheme`] maps ecosystems
        /// onto these; several ecosystems share one (Go, npm and crates.io use [`Scheme::SemVer`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Scheme {
            $($(#[$doc])* $variant,)*
        }

        impl Scheme {
            /// Every scheme, in declaration order.
            pub const ALL: &'static [Scheme] = &[$(Scheme::$variant,)*];
        }

        /// A version parsed under some [`Scheme`].
        ///
        /// Versions of the same scheme compare by that scheme's order. Versions of different
        /// schemes are never equal and sort by scheme ([`Scheme`]'s declaration order), which
        /// only exists so that `Version` can be a map key: comparing them means nothing.
        #[derive(Clone, Debug)]
        pub enum Version {
            $($(#[$doc])* $variant($module::$version),)*
        }

        impl Version {
            /// The scheme the version was parsed under.
            pub fn scheme(&self) -> Scheme {
                match self {
                    $(Version::$variant(_) => Scheme::$variant,)*
                }
            }

            /// The version exactly as it was given to `parse`.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Version::$variant(v) => v.as_str(),)*
                }
            }
        }

        impl Ord for Version {
            fn cmp(&self, other: &Self) -> Ordering {
                match (self, other) {
                    $((Version::$variant(a), Version::$variant(b)) => a.cmp(b),)*
                    _ => self.scheme().cmp(&other.scheme()),
                }
            }
        }

        impl VersionScheme for Scheme {
            type Version = Version;

            fn name(&self) -> &'static str {
                match self {
                    $(Scheme::$variant => $module::$scheme.name(),)*
                }
            }

            fn parse(&self, version: &str) -> Result<Version, VersionError> {
                match self {
                    $(Scheme::$variant => $module::$scheme.parse(version).map(Version::$variant),)*
                }
            }
        }
    };
}

schemes! {
    /// PEP 440, with the pre-PEP 440 ("legacy") order as a fallback: PyPI.
    Pep440 => pypi::Pep440, PypiVersion;
    /// Semantic Versioning 2.0, with a `v` prefix allowed: Go, npm, crates.io, Hex.
    SemVer => semver::SemVer, SemVersion;
    /// dpkg: Debian, Ubuntu.
    Dpkg => dpkg::Dpkg, DebVersion;
    /// apk-tools: Alpine, Wolfi, Chainguard.
    Apk => apk::Apk, ApkVersion;
    /// rpmvercmp over epoch, version and release: Red Hat, AlmaLinux, Rocky Linux, SUSE, ….
    Rpm => rpm::Rpm, RpmVersion;
    /// Maven's version order specification.
    Maven => maven::Maven, MavenVersion;
    /// NuGet: up to four numeric parts and a case-insensitive pre-release.
    NuGet => nuget::NuGet, NuGetVersion;
    /// `Gem::Version`: RubyGems.
    RubyGems => rubygems::RubyGems, GemVersion;
    /// PHP's `version_compare`, as Packagist/Composer versions are compared.
    Packagist => packagist::Packagist, PackagistVersion;
    /// Dart's `pub_semver`: SemVer where build metadata also orders.
    PubSemver => pub_semver::PubSemver, PubVersion;
    /// R's `package_version`: CRAN.
    Cran => cran::Cran, CranVersion;
    /// Cabal's `Version`: Hackage.
    Hackage => hackage::Hackage, HackageVersion;
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
