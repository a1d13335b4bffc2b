//! Alpine, Wolfi, Chainguard: apk-tools' version order.
//!
//! `NUMBER(.NUMBER)*[letter](_SUFFIX[N])*[~HASH][-rN]`, compared part by part:
//!
//! * numbers, the first by value; later ones by value too unless one of them starts with `0`,
//!   in which case apk reads them as decimal fractions (`1.05 < 1.5`, `1.05 < 1.1`); a missing
//!   number is 0 (`1.0` = `1`);
//! * then the optional lower-case letter (`1.0 < 1.0a < 1.0b`);
//! * then suffixes, where `_alpha < _beta < _pre < _rc <` no suffix `< _cvs < _svn < _git <
//!   _hg < _p`, each with its number;
//! * then the `-rN` package revision (missing is `-r0`). A commit hash (`~abc123`) does not order.
//!
//! apk-tools rejects other strings, but OSV data and the OSV reference vectors also compare
//! malformed ones (`1.2_blah`, `1-ruff`, `.1`), so those are accepted in an order that agrees
//! with every one of those vectors and is still a total order: the well-formed prefix orders
//! first; then a malformed version sorts before a well-formed one with the same prefix; text
//! after `-rN` (or from a `-` that does not start `-rN`) does not order; and two malformed
//! versions with the same prefix compare as whole strings. Only the empty string and
//! whitespace, control or non-ASCII characters are errors.

use std::cmp::Ordering;

use crate::num::{split_run, Num};
use crate::{check_plain, VersionError, VersionScheme};

const NAME: &str = "apk";

/// The apk scheme.
#[derive(Clone, Copy, Debug, Default)]
pub struct Apk;

/// An apk package version.
#[derive(Clone, Debug)]
pub struct ApkVersion {
    original: String,
    numbers: Vec<Number>,
    letter: Option<u8>,
    suffixes: Vec<Suffix>,
    revision: Num,
    tail: Tail,
}

/// A dotted number after the first: a whole number, or (leading `0`) a decimal fraction below 1
/// kept as its digits after `0.` without trailing zeros. Fractions sort below whole numbers
/// except 0, which both spell (`Frac("")` = `Int(0)`), handled in `compare_number`.
#[derive(Clone, Debug)]
enum Number {
    Int(Num),
    Frac(String),
}

fn compare_number(a: &Number, b: &Number) -> Ordering {
    match (a, b) {
        (Number::Int(x), Number::Int(y)) => x.cmp(y),
        (Number::Frac(x), Number::Frac(y)) => x.cmp(y),
        (Number::Frac(f), Number::Int(n)) => frac_vs_int(f, n),
        (Number::Int(n), Number::Frac(f)) => frac_vs_int(f, n).reverse(),
    }
}

/// `0.f` against a whole number `n`: equal only when both are zero.
fn frac_vs_int(f: &str, n: &Num) -> Ordering {
    match (f.is_empty(), n.is_zero()) {
        (true, true) => Ordering::Equal,
        (false, true) => Ordering::Greater,
        _ => Ordering::Less,
    }
}

/// Suffix weights: the variant order of `SuffixKind`, with `None` (no suffix) in the middle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SuffixKind {
    Alpha,
    Beta,
    Pre,
    Rc,
    None,
    Cvs,
    Svn,
    Git,
    Hg,
    P,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Suffix {
    kind: SuffixKind,
    number: Num,
}

/// What is left after the well-formed part. Variant order is the order: a malformed version
/// sorts before a well-formed one with the same prefix.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tail {
    /// The text after the well-formed part is neither empty nor a `-`: these versions compare
    /// as whole strings (`0..1..0 < 0..1..1`, `0.8.21.r2 < 0.8.21r2`).
    Malformed(String),
    /// Text after `-rN`, or from a `-` that does not start a well-formed `-rN`: a malformed
    /// revision, which does not order (`1-r0-1` = `1-r-2`, `1-ruff2` = `1--ruff1`).
    Unordered,
    /// Nothing left.
    None,
}

fn compare(a: &ApkVersion, b: &ApkVersion) -> Ordering {
    let zero = Number::Int(Num::ZERO);
    for i in 0..a.numbers.len().max(b.numbers.len()) {
        let ord = compare_number(
            a.numbers.get(i).unwrap_or(&zero),
            b.numbers.get(i).unwrap_or(&zero),
        );
        if ord != Ordering::Equal {
            return ord;
        }
    }
    // No letter sorts before any letter (`Option`'s order).
    let ord = a.letter.cmp(&b.letter);
    if ord != Ordering::Equal {
        return ord;
    }
    let none = Suffix {
        kind: SuffixKind::None,
        number: Num::ZERO,
    };
    for i in 0..a.suffixes.len().max(b.suffixes.len()) {
        let ord = a
            .suffixes
            .get(i)
            .unwrap_or(&none)
            .cmp(b.suffixes.get(i).unwrap_or(&none));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.revision
        .cmp(&b.revision)
        .then_with(|| a.tail.cmp(&b.tail))
}

ordered_by!(ApkVersion, compare);

impl ApkVersion {
    /// True when apk-tools itself would accept the version (nothing malformed or trailing).
    pub fn is_well_formed(&self) -> bool {
        matches!(self.tail, Tail::None)
    }
}

const SUFFIXES: &[(&str, SuffixKind)] = &[
    ("alpha", SuffixKind::Alpha),
    ("beta", SuffixKind::Beta),
    ("pre", SuffixKind::Pre),
    ("rc", SuffixKind::Rc),
    ("cvs", SuffixKind::Cvs),
    ("svn", SuffixKind::Svn),
    ("git", SuffixKind::Git),
    ("hg", SuffixKind::Hg),
    ("p", SuffixKind::P),
];

impl VersionScheme for Apk {
    type Version = ApkVersion;

    fn name(&self) -> &'static str {
        NAME
    }

    fn parse(&self, version: &str) -> Result<ApkVersion, VersionError> {
        check_plain(NAME, version)?;
        if !version.is_ascii() {
            return Err(VersionError::new(NAME, version, "non-ASCII character"));
        }
        let mut rest = version;

        // Dotted numbers; a dot is consumed even when no digit follows it (as apk does).
        let mut numbers = Vec::new();
        loop {
            let (digits, after) = split_run(rest, |b| b.is_ascii_digit());
            if digits.is_empty() {
                break;
            }
            numbers.push(if !numbers.is_empty() && digits.starts_with('0') {
                Number::Frac(digits.trim_end_matches('0').to_owned())
            } else {
                Number::Int(Num::from_digits(digits))
            });
            rest = after;
            match rest.strip_prefix('.') {
                Some(after) => rest = after,
                None => break,
            }
        }

        let letter = match rest.as_bytes().first() {
            Some(&c) if c.is_ascii_lowercase() => {
                rest = &rest[1..];
                Some(c)
            }
            _ => None,
        };

        let mut suffixes = Vec::new();
        'suffixes: while let Some(after) = rest.strip_prefix('_') {
            for (word, kind) in SUFFIXES {
                if let Some(after) = after.strip_prefix(word) {
                    let (digits, after) = split_run(after, |b| b.is_ascii_digit());
                    suffixes.push(Suffix {
                        kind: *kind,
                        number: Num::from_digits(digits),
                    });
                    rest = after;
                    continue 'suffixes;
                }
            }
            break;
        }

        if let Some(after) = rest.strip_prefix('~') {
            let (hash, after) =
                split_run(after, |b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hash.is_empty() {
                rest = after;
            }
        }

        let (revision, tail) = if rest.is_empty() {
            (Num::ZERO, Tail::None)
        } else if let Some(after) = rest.strip_prefix("-r") {
            let (digits, after) = split_run(after, |b| b.is_ascii_digit());
            let tail = if after.is_empty() {
                Tail::None
            } else {
                Tail::Unordered
            };
            (Num::from_digits(digits), tail)
        } else if rest.starts_with('-') {
            (Num::ZERO, Tail::Unordered)
        } else {
            (Num::ZERO, Tail::Malformed(version.to_owned()))
        };

        Ok(ApkVersion {
            original: version.to_owned(),
            numbers,
            letter,
            suffixes,
            revision,
            tail,
        })
    }
}
