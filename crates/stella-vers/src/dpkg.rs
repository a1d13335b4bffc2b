//! Debian and Ubuntu: dpkg's version order (`deb-version(7)`).
//!
//! `[EPOCH:]UPSTREAM[-REVISION]`. The epoch orders first, numerically (missing is 0). Then
//! upstream and revision are each compared by dpkg's `verrevcmp`: alternately a run of
//! non-digits, compared character by character with letters before everything else and `~`
//! before even the end of the string (so `1.0~rc1 < 1.0`), then a run of digits, compared by
//! value. A missing revision is the same as `0`.
//!
//! Syntax is checked as dpkg does, and what dpkg only warns about is an error here as well:
//! an empty or non-numeric epoch, an epoch above `i32::MAX`, an empty upstream or revision, an
//! upstream not starting with a digit, characters outside `[A-Za-z0-9.+~-:]` (upstream) or
//! `[A-Za-z0-9.+~]` (revision), and embedded whitespace. Surrounding whitespace is trimmed, as
//! dpkg does.

use std::cmp::Ordering;

use crate::num::{split_run, Num};
use crate::{VersionError, VersionScheme};

const NAME: &str = "dpkg";

/// The dpkg scheme.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dpkg;

/// A Debian package version.
#[derive(Clone, Debug)]
pub struct DebVersion {
    original: String,
    epoch: u32,
    upstream: Vec<Chunk>,
    revision: Vec<Chunk>,
}

/// One step of `verrevcmp`: a run of non-digits, then the number that follows it (0 if none).
#[derive(Clone, Debug)]
struct Chunk {
    text: String,
    number: Num,
}

impl DebVersion {
    /// The epoch (0 when the version has none).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }
}

/// dpkg's `order()`: `~` first, then the end of the string (and digits, which end a run),
/// then letters, then everything else.
fn weight(c: Option<u8>) -> i32 {
    match c {
        Some(b'~') => -1,
        None => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn compare_text(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    for i in 0..a.len().max(b.len()) {
        let ord = weight(a.get(i).copied()).cmp(&weight(b.get(i).copied()));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// `verrevcmp`: a missing chunk is an empty run followed by 0, which is what the C loop sees
/// at the end of the shorter string.
fn compare_chunks(a: &[Chunk], b: &[Chunk]) -> Ordering {
    let end = Chunk {
        text: String::new(),
        number: Num::ZERO,
    };
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).unwrap_or(&end), b.get(i).unwrap_or(&end));
        let ord = compare_text(&x.text, &y.text).then_with(|| x.number.cmp(&y.number));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

fn compare(a: &DebVersion, b: &DebVersion) -> Ordering {
    a.epoch
        .cmp(&b.epoch)
        .then_with(|| compare_chunks(&a.upstream, &b.upstream))
        .then_with(|| compare_chunks(&a.revision, &b.revision))
}

ordered_by!(DebVersion, compare);

fn chunks(mut s: &str) -> Vec<Chunk> {
    let mut out = Vec::new();
    while !s.is_empty() {
        let (text, rest) = split_run(s, |b| !b.is_ascii_digit());
        let (digits, rest) = split_run(rest, |b| b.is_ascii_digit());
        out.push(Chunk {
            text: text.to_owned(),
            number: Num::from_digits(digits),
        });
        s = rest;
    }
    out
}

impl VersionScheme for Dpkg {
    type Version = DebVersion;

    fn name(&self) -> &'static str {
        NAME
    }

    fn parse(&self, version: &str) -> Result<DebVersion, VersionError> {
        let err = |reason| VersionError::new(NAME, version, reason);
        let s = version.trim();
        if s.is_empty() {
            return Err(err("empty version"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("embedded whitespace or control character"));
        }
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) => {
                if e.is_empty() {
                    return Err(err("empty epoch"));
                }
                if !e.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("epoch is not a number"));
                }
                match e.parse::<u32>() {
                    Ok(n) if n <= i32::MAX as u32 => (n, rest),
                    _ => return Err(err("epoch is too big")),
                }
            }
            None => (0, s),
        };
        // The revision is what follows the last hyphen; the upstream version may contain more.
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((_, "")) => return Err(err("empty revision")),
            Some((u, r)) => (u, r),
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(err("empty upstream version"));
        }
        if !upstream.as_bytes()[0].is_ascii_digit() {
            return Err(err("upstream version does not start with a digit"));
        }
        if !upstream
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".+~-:".contains(&b))
        {
            return Err(err("invalid character in upstream version"));
        }
        if !revision
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".+~".contains(&b))
        {
            return Err(err("invalid character in revision"));
        }
        Ok(DebVersion {
            original: version.to_owned(),
            epoch,
            upstream: chunks(upstream),
            revision: chunks(revision),
        })
    }
}
