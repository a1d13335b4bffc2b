//! RubyGems: `Gem::Version`'s order.
//!
//! A `-` means a pre-release and is read as `.pre.` (`1.0-1` is `1.0.pre.1`). The version is
//! then cut into segments, runs of digits (numbers) and runs of letters (strings): `1.0.a10`
//! and `1.0a.10` are both `1, 0, "a", 10`. Trailing zeros are dropped from the numeric part
//! and from the part from the first string on (`1.0` = `1`). Segments are compared in turn,
//! missing ones counting as 0: numbers by value, strings as bytes, and a string sorts before a
//! number, which is what makes `1.0.a` a pre-release of `1.0`.
//!
//! The syntax is `Gem::Version`'s pattern, `N(.X)*(-X(.X)*)?` with `X` alphanumeric (and `-`
//! after the first `-`), with one loosening the OSV reference vectors need: letters may follow
//! the first number directly (`1beta`). Surrounding whitespace is ignored, as RubyGems does.
//! Anything else, including the empty string, is an error.

use std::cmp::Ordering;

use crate::num::{split_run, Num};
use crate::{check_plain, VersionError, VersionScheme};

const NAME: &str = "RubyGems";

/// The RubyGems scheme.
#[derive(Clone, Copy, Debug, Default)]
pub struct RubyGems;

/// A gem version.
#[derive(Clone, Debug)]
pub struct GemVersion {
    original: String,
    /// Canonical segments: trailing zeros dropped as `canonical_segments` does.
    segments: Vec<Segment>,
}

/// Variant order: a string segment sorts before a number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Str(String),
    Num(Num),
}

impl GemVersion {
    /// True when the version has a letter, which makes it a pre-release for RubyGems.
    pub fn is_prerelease(&self) -> bool {
        self.segments.iter().any(|s| matches!(s, Segment::Str(_)))
    }
}

fn compare(a: &GemVersion, b: &GemVersion) -> Ordering {
    let zero = Segment::Num(Num::ZERO);
    for i in 0..a.segments.len().max(b.segments.len()) {
        let ord = a
            .segments
            .get(i)
            .unwrap_or(&zero)
            .cmp(b.segments.get(i).unwrap_or(&zero));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

ordered_by!(GemVersion, compare);

/// `Gem::Version`'s pattern, loosened to allow letters right after the first number.
fn well_formed(s: &str) -> bool {
    let (release, pre) = match s.split_once('-') {
        Some((release, pre)) => (release, Some(pre)),
        None => (s, None),
    };
    let alnum = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric());
    let mut parts = release.split('.');
    let first_ok = parts
        .next()
        .is_some_and(|p| p.as_bytes().first().is_some_and(u8::is_ascii_digit) && alnum(p));
    let pre_ok = pre.is_none_or(|p| {
        p.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    });
    first_ok && parts.all(alnum) && pre_ok
}

/// Drops trailing numeric zeros.
fn drop_trailing_zeros(segments: &mut Vec<Segment>) {
    while matches!(segments.last(), Some(Segment::Num(n)) if n.is_zero()) {
        segments.pop();
    }
}

impl VersionScheme for RubyGems {
    type Version = GemVersion;

    fn name(&self) -> &'static str {
        NAME
    }

    fn parse(&self, version: &str) -> Result<GemVersion, VersionError> {
        let s = version.trim();
        check_plain(NAME, s).map_err(|e| VersionError::new(NAME, version, e.reason()))?;
        if !well_formed(s) {
            return Err(VersionError::new(NAME, version, "malformed version number"));
        }
        let s = s.replace('-', ".pre.");
        // `scan(/[0-9]+|[a-z]+/i)`: dots only separate.
        let mut all = Vec::new();
        let mut rest = s.as_str();
        while let Some(first) = rest.bytes().next() {
            if first.is_ascii_digit() {
                let (digits, after) = split_run(rest, |b| b.is_ascii_digit());
                all.push(Segment::Num(Num::from_digits(digits)));
                rest = after;
            } else if first.is_ascii_alphabetic() {
                let (letters, after) = split_run(rest, |b| b.is_ascii_alphabetic());
                all.push(Segment::Str(letters.to_owned()));
                rest = after;
            } else {
                rest = &rest[1..];
            }
        }
        // `canonical_segments`: the numeric part and the rest (from the first string on), each
        // without trailing zeros.
        let split = all
            .iter()
            .position(|s| matches!(s, Segment::Str(_)))
            .unwrap_or(all.len());
        let mut tail = all.split_off(split);
        drop_trailing_zeros(&mut all);
        drop_trailing_zeros(&mut tail);
        all.extend(tail);
        Ok(GemVersion {
            original: version.to_owned(),
            segments: all,
        })
    }
}
