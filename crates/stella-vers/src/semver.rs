//! Semantic Versioning 2.0: Go, npm, crates.io, Hex.
//!
//! `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`, ordered by semver.org §11: numbers by value, a
//! pre-release before its release, pre-release identifiers one by one (numeric ones by value
//! and before alphanumeric ones, alphanumeric ones in ASCII order, a longer list after its
//! prefix). Build metadata does not order (§10), so Go's `+incompatible` is ignored.
//!
//! Go writes versions with a `v` prefix and its pseudo-versions
//! (`v0.0.0-20210101000000-abcdef123456`, `v1.2.4-0.20210101000000-abcdef123456`) are ordinary
//! pre-releases, so they need no special case. The prefix is accepted for every SemVer
//! ecosystem, as OSV's tooling does.
//!
//! Looser than the specification, as the OSV reference vectors require: numbers are not
//! limited in size, leading zeros are read by value, missing minor and patch numbers are 0
//! (`v1.2` is `v1.2.0`, as Go's shorthand reads), and further dotted numbers after the patch
//! (`1.1.3.4.5`) are taken as build metadata, i.e. ignored. Anything else is an error:
//! `1.2.x`, `1.2.3a`, empty identifiers (`1.2.3-`, `1.2.3-a..b`), characters outside
//! `[0-9A-Za-z-]`.

use std::cmp::Ordering;

use crate::num::{split_run, Num};
use crate::{check_plain, VersionError, VersionScheme};

const NAME: &str = "SemVer";

/// The SemVer 2.0 scheme.
#[derive(Clone, Copy, Debug, Default)]
pub struct SemVer;

/// A SemVer version.
#[derive(Clone, Debug)]
pub struct SemVersion {
    original: String,
    key: SemverKey,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SemverKey {
    pub(crate) core: [Num; 3],
    pub(crate) pre: PreKey,
}

/// A release sorts after all of its pre-releases (variant order).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PreKey {
    Pre(Vec<Ident>),
    Release,
}

/// A dot-separated pre-release or build identifier. Variant order is the SemVer rule that
/// numeric identifiers sort before alphanumeric ones.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Ident {
    Num(Num),
    Alpha(String),
}

/// The parts of a SemVer-like version, shared with NuGet and Pub.
pub(crate) struct Parts {
    pub(crate) core: Vec<Num>,
    pub(crate) pre: Option<Vec<Ident>>,
    pub(crate) build: Option<Vec<Ident>>,
}

/// How the SemVer-like schemes differ in syntax.
pub(crate) struct Syntax {
    /// A leading `v` is allowed (Go writes one; OSV's tooling accepts it everywhere).
    pub(crate) v_prefix: bool,
    /// Identifiers are lower-cased (NuGet compares pre-releases case-insensitively).
    pub(crate) fold_case: bool,
}

/// Splits `NUM(.NUM)*[-IDENTS][+IDENTS]`, checking every piece.
pub(crate) fn parse_parts(s: &str, syntax: &Syntax) -> Result<Parts, &'static str> {
    let mut rest = s;
    if syntax.v_prefix {
        rest = rest.strip_prefix('v').unwrap_or(rest);
    }
    let (core_text, tail) = split_run(rest, |b| b.is_ascii_digit() || b == b'.');
    let mut core = Vec::new();
    for part in core_text.split('.') {
        if part.is_empty() {
            return Err("empty or missing version number");
        }
        core.push(Num::from_digits(part));
    }
    let (pre_text, build_text) = match tail.split_once('+') {
        Some((pre, build)) => (pre, Some(build)),
        None => (tail, None),
    };
    let pre = match pre_text {
        "" => None,
        t => match t.strip_prefix('-') {
            Some(p) => Some(parse_idents(p, syntax.fold_case)?),
            None => return Err("expected `-`, `+` or the end after the version numbers"),
        },
    };
    let build = build_text
        .map(|b| parse_idents(b, syntax.fold_case))
        .transpose()?;
    Ok(Parts { core, pre, build })
}

fn parse_idents(s: &str, fold_case: bool) -> Result<Vec<Ident>, &'static str> {
    s.split('.')
        .map(|id| {
            if id.is_empty() {
                return Err("empty identifier");
            }
            if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err("identifier characters must be [0-9A-Za-z-]");
            }
            Ok(if id.bytes().all(|b| b.is_ascii_digit()) {
                Ident::Num(Num::from_digits(id))
            } else if fold_case {
                Ident::Alpha(id.to_ascii_lowercase())
            } else {
                Ident::Alpha(id.to_owned())
            })
        })
        .collect()
}

/// The SemVer key of parsed parts: three numbers (missing ones 0, extra ones ignored as build
/// metadata) and the pre-release.
pub(crate) fn semver_key(parts: &Parts) -> SemverKey {
    let n = |i: usize| parts.core.get(i).cloned().unwrap_or(Num::ZERO);
    SemverKey {
        core: [n(0), n(1), n(2)],
        pre: parts.pre.clone().map_or(PreKey::Release, PreKey::Pre),
    }
}

fn compare(a: &SemVersion, b: &SemVersion) -> Ordering {
    a.key.cmp(&b.key)
}

ordered_by!(SemVersion, compare);

impl VersionScheme for SemVer {
    type Version = SemVersion;

    fn name(&self) -> &'static str {
        NAME
    }

    fn parse(&self, version: &str) -> Result<SemVersion, VersionError> {
        check_plain(NAME, version)?;
        let parts = parse_parts(
            version,
            &Syntax {
                v_prefix: true,
                fold_case: false,
            },
        )
        .map_err(|reason| VersionError::new(NAME, version, reason))?;
        Ok(SemVersion {
            original: version.to_owned(),
            key: semver_key(&parts),
        })
    }
}
