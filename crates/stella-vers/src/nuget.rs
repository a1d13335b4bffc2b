//! NuGet: `NuGetVersion`'s order.
//!
//! `MAJOR[.MINOR[.PATCH[.REVISION]]][-PRERELEASE][+METADATA]`: up to four numbers (missing ones
//! are 0, so `1.0` = `1.0.0.0`; leading zeros are read by value, `1.0.01` = `1.0.1`), then a
//! SemVer pre-release compared case-insensitively (`1.0.0-BETA` = `1.0.0-beta`). Metadata does
//! not order. A fifth number, a `v` prefix or a suffix without `-`/`+` is an error, as it is
//! for NuGet. Numbers are not limited in size (the OSV vectors compare 30-digit ones).

use std::cmp::Ordering;

use crate::num::Num;
use crate::semver::{parse_parts, Ident, Syntax};
use crate::{check_plain, VersionError, VersionScheme};

const NAME: &str = "NuGet";

/// The NuGet scheme.
#[derive(Clone, Copy, Debug, Default)]
pub struct NuGet;

/// A NuGet version.
#[derive(Clone, Debug)]
pub struct NuGetVersion {
    original: String,
    numbers: [Num; 4],
    /// Lower-cased identifiers; `None` (a release) sorts after every pre-release.
    pre: Option<Vec<Ident>>,
}

fn compare(a: &NuGetVersion, b: &NuGetVersion) -> Ordering {
    a.numbers
        .cmp(&b.numbers)
        .then_with(|| match (&a.pre, &b.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => x.cmp(y),
        })
}

ordered_by!(NuGetVersion, compare);

impl VersionScheme for NuGet {
    type Version = NuGetVersion;

    fn name(&self) -> &'static str {
        NAME
    }

    fn parse(&self, version: &str) -> Result<NuGetVersion, VersionError> {
        check_plain(NAME, version)?;
        let err = |reason| VersionError::new(NAME, version, reason);
        let parts = parse_parts(
            version,
            &Syntax {
                v_prefix: false,
                fold_case: true,
            },
        )
        .map_err(err)?;
        if parts.core.len() > 4 {
            return Err(err("more than four version numbers"));
        }
        let n = |i: usize| parts.core.get(i).cloned().unwrap_or(Num::ZERO);
        Ok(NuGetVersion {
            original: version.to_owned(),
            numbers: [n(0), n(1), n(2), n(3)],
            pre: parts.pre,
        })
    }
}
