//! Packagist (Composer): PHP's `version_compare`, after Composer's `v` prefix is dropped.
//!
//! PHP first canonicalises: `-`, `_` and `+` become `.`, and a `.` is put wherever digits meet
//! non-digits (`1.0RC1` → `1.0.RC.1`, `1.25.0-beta2.1` → `1.25.0.beta.2.1`). Parts are then
//! compared in turn: two numbers by value; anything else by its "special form", matched by
//! prefix and case-sensitively: `dev < alpha = a < beta = b < RC = rc < # < pl = p`, any other
//! word sorting before `dev`, and a number ranking as `#`. When one version runs out, the other
//! is newer if its next part is a number (`1.0 < 1.0.0`), and otherwise its remaining words are
//! ranked against `#` (`1.0-dev < 1.0 < 1.0pl1`).
//!
//! Differences from PHP, each needed by the OSV reference vectors: numbers are not limited to a
//! machine word; and `#` stays a part of its own instead of being turned into a separator, so
//! it ranks equal to any number (`1.2.3.#` = `1.2.3` and `1.2.3.#` = `1.2.3.1`). That last rule
//! makes equality non-transitive for versions containing `#`, which Composer never produces;
//! every other version is totally ordered.
//!
//! Errors: the empty string, whitespace, control or non-ASCII characters, a version with no
//! letter or digit, and empty parts once canonicalised (a leading or trailing separator, as in
//! `.1` or `1.`).

use std::cmp::Ordering;

use crate::num::{split_run, Num};
use crate::{check_plain, VersionError, VersionScheme};

const NAME: &str = "Packagist";

/// The Packagist scheme.
#[derive(Clone, Copy, Debug, Default)]
pub struct Packagist;

/// A Packagist version.
#[derive(Clone, Debug)]
pub struct PackagistVersion {
    original: String,
    parts: Vec<Part>,
}

#[derive(Clone, Debug)]
enum Part {
    Number(Num),
    /// A word's special-form rank.
    Word(i8),
}

/// The rank a number has against words: that of `#`.
const NUMBER_RANK: i8 = 4;

/// PHP's `compare_special_version_forms` table: the first entry the word starts with.
fn special_rank(word: &str) -> i8 {
    const FORMS: &[(&str, i8)] = &[
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(form, _)| word.starts_with(form))
        .map_or(-1, |(_, rank)| *rank)
}

fn compare_part(a: &Part, b: &Part) -> Ordering {
    match (a, b) {
        (Part::Number(x), Part::Number(y)) => x.cmp(y),
        (Part::Word(x), Part::Word(y)) => x.cmp(y),
        (Part::Number(_), Part::Word(y)) => NUMBER_RANK.cmp(y),
        (Part::Word(x), Part::Number(_)) => x.cmp(&NUMBER_RANK),
    }
}

/// The parts left over on the longer side, against nothing: a number wins outright, a word is
/// ranked against `#` and, if it ranks the same, the next part decides.
fn compare_rest(rest: &[Part]) -> Ordering {
    for part in rest {
        match part {
            Part::Number(_) => return Ordering::Greater,
            Part::Word(rank) => match rank.cmp(&NUMBER_RANK) {
                Ordering::Equal => continue,
                other => return other,
            },
        }
    }
    Ordering::Equal
}

fn compare(a: &PackagistVersion, b: &PackagistVersion) -> Ordering {
    for (x, y) in a.parts.iter().zip(&b.parts) {
        let ord = compare_part(x, y);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    let n = a.parts.len().min(b.parts.len());
    match a.parts.len().cmp(&b.parts.len()) {
        Ordering::Greater => compare_rest(&a.parts[n..]),
        Ordering::Less => compare_rest(&b.parts[n..]).reverse(),
        Ordering::Equal => Ordering::Equal,
    }
}

ordered_by!(PackagistVersion, compare);

/// PHP's `php_canonicalize_version`, keeping `#` as a character of its own.
fn canonicalize(s: &str) -> String {
    let kept = |c: u8| c.is_ascii_alphanumeric() || c == b'#';
    let mut out = String::with_capacity(s.len() * 2);
    let mut prev: Option<u8> = None;
    for c in s.bytes() {
        let dot_last = out.ends_with('.');
        if !kept(c) {
            // `-`, `_`, `+`, `.` and any other punctuation separate; runs collapse to one dot.
            if !dot_last {
                out.push('.');
            }
        } else {
            let boundary =
                prev.is_some_and(|p| kept(p) && (p.is_ascii_digit() != c.is_ascii_digit()));
            if boundary && !dot_last {
                out.push('.');
            }
            out.push(char::from(c));
        }
        prev = Some(c);
    }
    out
}

impl VersionScheme for Packagist {
    type Version = PackagistVersion;

    fn name(&self) -> &'static str {
        NAME
    }

    fn parse(&self, version: &str) -> Result<PackagistVersion, VersionError> {
        check_plain(NAME, version)?;
        let err = |reason| VersionError::new(NAME, version, reason);
        if !version.is_ascii() {
            return Err(err("non-ASCII character"));
        }
        // Composer drops one leading `v`/`V` before comparing.
        let s = version.strip_prefix(['v', 'V']).unwrap_or(version);
        if !s.bytes().any(|b| b.is_ascii_alphanumeric()) {
            return Err(err("no letter or digit"));
        }
        let canonical = canonicalize(s);
        let mut parts = Vec::new();
        for part in canonical.split('.') {
            if part.is_empty() {
                return Err(err("leading or trailing separator"));
            }
            let (digits, rest) = split_run(part, |b| b.is_ascii_digit());
            parts.push(if rest.is_empty() {
                Part::Number(Num::from_digits(digits))
            } else {
                Part::Word(special_rank(part))
            });
        }
        Ok(PackagistVersion {
            original: version.to_owned(),
            parts,
        })
    }
}
