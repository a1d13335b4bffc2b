//! Maven: the version order specification of the POM reference ("Version Order Specification"),
//! which is what `ComparableVersion` implements and OSV uses.
//!
//! * The version is lower-cased and split into tokens at `.` and `-`, and at every change
//!   between digits and other characters (which counts as a `-`: `1a1` = `1-a-1`). Each token
//!   remembers the separator before it. Empty tokens are `0` (`1..1` = `1.0.1`).
//! * Qualifier spellings: `cr` is `rc`; `ga`, `final` and `release` are the empty qualifier;
//!   `a`, `b` and `m` directly followed by a number are `alpha`, `beta` and `milestone`.
//! * From the end, "null" tokens (`0` and the empty qualifier) are trimmed, and again before
//!   each remaining `-`: `1.0.0` = `1`, `1.0-1` = `1-1`, `1.0.0-foo.0.0` = `1-foo`.
//! * Tokens are then compared in turn, the shorter list padded with nulls that take the other
//!   side's separator. With the same separator: numbers by value; a number is newer than a
//!   qualifier; qualifiers `alpha < beta < milestone < rc < snapshot < "" < sp <` any other,
//!   others in alphabetical order. With different separators:
//!   `.qualifier < -qualifier < -number < .number`.
//!
//! This is the specification as OSV applies it: the OSV reference vectors and OSV-Scalibr's
//! 14,752 tool-generated Maven comparisons all hold. Two consequences to know:
//!
//! * Recent Maven releases (3.8.7 on) read a dotted qualifier as a hyphenated one, so for them
//!   `1.0.RC1` = `1.0-RC1` and `2.9.0.RC1 < 2.9.0-1`, while by the specification `1.0.RC1` keeps
//!   its `.0` and is the newer, and `2.9.0-1 < 2.9.0.RC1`. OSV's own tooling (OSV-Scalibr, where
//!   the vectors come from) applies the specification, so matching here agrees with OSV's
//!   (Maven's reading disagrees with 20 of those 14,752).
//! * The specification's order is not transitive where a dot-separated qualifier meets the
//!   padding: `1.sp > 1 > 1-alpha > 1.sp` (`.qualifier < -qualifier`, yet `sp` sorts after a
//!   release and `alpha` before one). Comparing two versions is always well defined; sorting a
//!   list that mixes such versions is not. Versions whose qualifiers all follow a hyphen or a
//!   number (`1.0-SP1`, `1.0RC1`) are totally ordered, which the property tests check.
//!
//! Maven accepts any string as a version; here the empty string, whitespace, control and
//! non-ASCII characters are errors (Maven lower-cases and classifies digits by Unicode rules,
//! which a byte-wise reading would not reproduce).

use std::cmp::Ordering;

use crate::num::{split_run, Num};
use crate::{check_plain, VersionError, VersionScheme};

const NAME: &str = "Maven";

/// The Maven scheme.
#[derive(Clone, Copy, Debug, Default)]
pub struct Maven;

/// A Maven version.
#[derive(Clone, Debug)]
pub struct MavenVersion {
    original: String,
    tokens: Vec<Token>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sep {
    Dot,
    Hyphen,
}

#[derive(Clone, Debug)]
enum Value {
    Num(Num),
    Qualifier(String),
}

#[derive(Clone, Debug)]
struct Token {
    sep: Sep,
    value: Value,
}

impl Token {
    fn is_null(&self) -> bool {
        match &self.value {
            Value::Num(n) => n.is_zero(),
            Value::Qualifier(q) => q.is_empty(),
        }
    }
}

/// Known qualifiers sort first, in this order; the empty string is a release.
const KNOWN_QUALIFIERS: &[&str] = &["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum QualifierRank<'a> {
    Known(usize),
    Other(&'a str),
}

fn rank(q: &str) -> QualifierRank<'_> {
    KNOWN_QUALIFIERS
        .iter()
        .position(|k| *k == q)
        .map_or(QualifierRank::Other(q), QualifierRank::Known)
}

/// `.qualifier < -qualifier < -number < .number`.
fn separator_rank(t: &Token) -> u8 {
    match (t.sep, &t.value) {
        (Sep::Dot, Value::Qualifier(_)) => 0,
        (Sep::Hyphen, Value::Qualifier(_)) => 1,
        (Sep::Hyphen, Value::Num(_)) => 2,
        (Sep::Dot, Value::Num(_)) => 3,
    }
}

fn compare_token(a: &Token, b: &Token) -> Ordering {
    if a.sep != b.sep {
        return separator_rank(a).cmp(&separator_rank(b));
    }
    match (&a.value, &b.value) {
        (Value::Num(x), Value::Num(y)) => x.cmp(y),
        (Value::Num(_), Value::Qualifier(_)) => Ordering::Greater,
        (Value::Qualifier(_), Value::Num(_)) => Ordering::Less,
        (Value::Qualifier(x), Value::Qualifier(y)) => rank(x).cmp(&rank(y)),
    }
}

/// A padding null against token `t` (it takes `t`'s separator): `0` against a number, the
/// release (empty) qualifier against a qualifier, so `1 < 1.1`, `1.alpha < 1 < 1.sp`.
fn compare_padding(t: &Token) -> Ordering {
    match &t.value {
        Value::Num(n) => Num::ZERO.cmp(n),
        Value::Qualifier(q) => rank("").cmp(&rank(q)),
    }
}

fn compare(a: &MavenVersion, b: &MavenVersion) -> Ordering {
    for i in 0..a.tokens.len().max(b.tokens.len()) {
        let ord = match (a.tokens.get(i), b.tokens.get(i)) {
            (Some(x), Some(y)) => compare_token(x, y),
            (None, Some(y)) => compare_padding(y),
            (Some(x), None) => compare_padding(x).reverse(),
            (None, None) => Ordering::Equal,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

ordered_by!(MavenVersion, compare);

fn qualifier(run: &str, followed_by_digit: bool) -> String {
    match run {
        "a" if followed_by_digit => "alpha",
        "b" if followed_by_digit => "beta",
        "m" if followed_by_digit => "milestone",
        "cr" => "rc",
        "ga" | "final" | "release" => "",
        other => other,
    }
    .to_owned()
}

fn tokenize(lower: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut sep = Sep::Dot;
    let mut rest = lower;
    loop {
        let (piece, after) = split_run(rest, |b| b != b'.' && b != b'-');
        if piece.is_empty() {
            tokens.push(Token {
                sep,
                value: Value::Num(Num::ZERO),
            });
        }
        let mut piece_rest = piece;
        let mut run_sep = sep;
        while let Some(first) = piece_rest.bytes().next() {
            let is_digit = first.is_ascii_digit();
            let (run, after_run) = split_run(piece_rest, |b| b.is_ascii_digit() == is_digit);
            let value = if is_digit {
                Value::Num(Num::from_digits(run))
            } else {
                Value::Qualifier(qualifier(run, !after_run.is_empty()))
            };
            tokens.push(Token {
                sep: run_sep,
                value,
            });
            // A change between digits and letters separates like a hyphen.
            run_sep = Sep::Hyphen;
            piece_rest = after_run;
        }
        match after.as_bytes().first() {
            Some(b'.') => sep = Sep::Dot,
            Some(_) => sep = Sep::Hyphen,
            None => break,
        }
        rest = &after[1..];
    }
    trim(&mut tokens);
    tokens
}

/// Removes null tokens from the end, then before each remaining hyphen, end to start. The
/// first token is never removed.
fn trim(tokens: &mut Vec<Token>) {
    let mut i = tokens.len().saturating_sub(1);
    while i > 0 {
        if tokens[i].is_null() {
            tokens.remove(i);
            i -= 1;
            continue;
        }
        // Move to the token before the nearest hyphen at or before `i`.
        while i > 0 && tokens[i].sep != Sep::Hyphen {
            i -= 1;
        }
        if i == 0 {
            break;
        }
        i -= 1;
    }
}

impl VersionScheme for Maven {
    type Version = MavenVersion;

    fn name(&self) -> &'static str {
        NAME
    }

    fn parse(&self, version: &str) -> Result<MavenVersion, VersionError> {
        check_plain(NAME, version)?;
        if !version.is_ascii() {
            return Err(VersionError::new(NAME, version, "non-ASCII character"));
        }
        Ok(MavenVersion {
            original: version.to_owned(),
            tokens: tokenize(&version.to_ascii_lowercase()),
        })
    }
}
