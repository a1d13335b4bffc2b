//! Pub (Dart): `pub_semver`'s order.
//!
//! The syntax is SemVer's (see [`crate::semver`], same looseness), but Dart's `pub_semver`
//! also orders build metadata, after everything else: `1.0.0 < 1.0.0+build`, and build
//! identifiers compare like pre-release ones (numbers by value, before text; text in ASCII
//! order; a longer list after its prefix), so `1.2.3+1 < 1.2.3+a` and `1.2.3+a < 1.2.3+a1`.

use std::cmp::Ordering;

use crate::semver::{parse_parts, semver_key, Ident, SemverKey, Syntax};
use crate::{check_plain, VersionError, VersionScheme};

const NAME: &str = "Pub";

/// The Pub scheme.
#[derive(Clone, Copy, Debug, Default)]
pub struct PubSemver;

/// A Pub version.
#[derive(Clone, Debug)]
pub struct PubVersion {
    original: String,
    key: SemverKey,
    /// No build metadata sorts before any (`Option`'s order).
    build: Option<Vec<Ident>>,
}

fn compare(a: &PubVersion, b: &PubVersion) -> Ordering {
    a.key.cmp(&b.key).then_with(|| a.build.cmp(&b.build))
}

ordered_by!(PubVersion, compare);

impl VersionScheme for PubSemver {
    type Version = PubVersion;

    fn name(&self) -> &'static str {
        NAME
    }

    fn parse(&self, version: &str) -> Result<PubVersion, VersionError> {
        check_plain(NAME, version)?;
        let parts = parse_parts(
            version,
            &Syntax {
                v_prefix: true,
                fold_case: false,
            },
        )
        .map_err(|reason| VersionError::new(NAME, version, reason))?;
        Ok(PubVersion {
            original: version.to_owned(),
            key: semver_key(&parts),
            build: parts.build,
        })
    }
}
