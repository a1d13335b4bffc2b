//! Red Hat, AlmaLinux, Rocky Linux, SUSE, openSUSE, Mageia, openEuler: RPM's order.
//!
//! `[EPOCH:]VERSION[-RELEASE]`, as rpm's `parseEVR` splits it: the epoch is a leading run of
//! digits before a `:` (missing is 0; `a:1` has no epoch, its `:` is part of the version), and
//! the release follows the last `-`. Epoch, version and release are compared in turn with
//! `rpmvercmp`: each string is cut into runs of digits and runs of ASCII letters, everything
//! else only separating them (`1.0` = `1_0`; non-ASCII letters are separators too); digit runs
//! compare by value and are newer than letter runs; letter runs compare as bytes; `~` sorts
//! before anything, even the end of the string (`1.0~rc1 < 1.0`), and `^` sorts after the end
//! but before anything else (`1.0 < 1.0^git1 < 1.0.1`); when one string runs out, the other,
//! if it has anything left, is newer.
//!
//! A version without a release sorts before the same version with one (`1 < 1-0`, and even
//! `1 < 1-`), as the OSV reference vectors order them. (rpm's own `rpmverCmp` skips the release
//! when either side lacks one, which suits dependency resolution, not advisory matching, where
//! both sides carry a release.) An empty string or an empty version part (`-1`, `0:`) is an
//! error, and so is whitespace or a control character.

use std::cmp::Ordering;

use crate::num::{split_run, Num};
use crate::{check_plain, VersionError, VersionScheme};

const NAME: &str = "RPM";

/// The RPM scheme.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rpm;

/// An RPM epoch-version-release.
#[derive(Clone, Debug)]
pub struct RpmVersion {
    original: String,
    epoch: Num,
    version: Vec<Token>,
    /// `None` when there is no `-` at all: sorts before every release.
    release: Option<Vec<Token>>,
}

/// What `rpmvercmp` sees at one step. Variant order is the order between different kinds at
/// the same position: `~` < end of string < `^` < letters < digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    Tilde,
    End,
    Caret,
    Alpha(String),
    Num(Num),
}

/// `rpmvercmp` over token lists; the shorter list is padded with `End`.
fn compare_tokens(a: &[Token], b: &[Token]) -> Ordering {
    for i in 0..=a.len().max(b.len()) {
        let x = a.get(i).unwrap_or(&Token::End);
        let y = b.get(i).unwrap_or(&Token::End);
        if *x == Token::End && *y == Token::End {
            return Ordering::Equal;
        }
        // Same kinds compare by value (two `~` or two `^` are equal and the loop goes on);
        // different kinds by the variant order. Derived `Ord` does exactly that.
        let ord = x.cmp(y);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

fn tokens(mut s: &str) -> Vec<Token> {
    let mut out = Vec::new();
    while let Some(first) = s.bytes().next() {
        if first.is_ascii_digit() {
            let (digits, rest) = split_run(s, |b| b.is_ascii_digit());
            out.push(Token::Num(Num::from_digits(digits)));
            s = rest;
        } else if first.is_ascii_alphabetic() {
            let (letters, rest) = split_run(s, |b| b.is_ascii_alphabetic());
            out.push(Token::Alpha(letters.to_owned()));
            s = rest;
        } else {
            match first {
                b'~' => out.push(Token::Tilde),
                b'^' => out.push(Token::Caret),
                _ => {}
            }
            // Skip one character (separators may be multi-byte, e.g. `α`).
            let len = s.chars().next().map_or(1, char::len_utf8);
            s = &s[len..];
        }
    }
    out
}

fn compare(a: &RpmVersion, b: &RpmVersion) -> Ordering {
    a.epoch
        .cmp(&b.epoch)
        .then_with(|| compare_tokens(&a.version, &b.version))
        .then_with(|| match (&a.release, &b.release) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => compare_tokens(x, y),
        })
}

ordered_by!(RpmVersion, compare);

impl RpmVersion {
    /// True when the version has a release part (a `-`).
    pub fn has_release(&self) -> bool {
        self.release.is_some()
    }
}

impl VersionScheme for Rpm {
    type Version = RpmVersion;

    fn name(&self) -> &'static str {
        NAME
    }

    fn parse(&self, version: &str) -> Result<RpmVersion, VersionError> {
        check_plain(NAME, version)?;
        let (digits, after) = split_run(version, |b| b.is_ascii_digit());
        let (epoch, rest) = match after.strip_prefix(':') {
            Some(rest) => (Num::from_digits(digits), rest),
            None => (Num::ZERO, version),
        };
        let (ver, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v, Some(tokens(r))),
            None => (rest, None),
        };
        if ver.is_empty() {
            return Err(VersionError::new(NAME, version, "empty version part"));
        }
        Ok(RpmVersion {
            original: version.to_owned(),
            epoch,
            version: tokens(ver),
            release,
        })
    }
}
