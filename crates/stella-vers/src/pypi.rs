//! PyPI: PEP 440, with the legacy order as a fallback.
//!
//! A PEP 440 version is `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, read with the
//! normalisation PEP 440 prescribes (case-insensitive, `alpha`/`c`/`pre`/`preview` spell
//! `a`/`rc`/`rc`, `-`/`_`/`.` separators optional, `1.0-1` is a post-release, missing numbers
//! are 0, a leading `v` and surrounding whitespace are ignored). The order is the one of
//! `packaging.version.Version`.
//!
//! Strings that are not PEP 440 (`0.9-doduo`, `1.0-bulbasaur`) were ordered by setuptools and
//! `packaging` before version 22 as `LegacyVersion`, which always sorts before every PEP 440
//! version. PyPI still hosts such releases and the OSV vectors order them, so they are accepted
//! in that legacy order ([`PypiVersion::is_legacy`] tells them apart). Legacy parsing took any
//! string; here it takes only printable ASCII without whitespace, so prose such as
//! `not a version` (or an empty string) is an error rather than a guessed position.

use std::cmp::Ordering;

use crate::num::{split_run, Num};
use crate::{VersionError, VersionScheme};

const NAME: &str = "PEP 440";

/// The PyPI scheme.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pep440;

/// A PyPI version.
#[derive(Clone, Debug)]
pub struct PypiVersion {
    original: String,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    /// `LegacyVersion`'s key: the parts of `_legacy_cmpkey`.
    Legacy(Vec<String>),
    Pep440(Pep440Key),
}

/// `packaging`'s `_cmpkey`, field for field.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pep440Key {
    epoch: Num,
    /// Trailing zeros removed: `1.0` = `1`.
    release: Vec<Num>,
    pre: PreKey,
    /// No post-release sorts before any post-release.
    post: Option<Num>,
    dev: DevKey,
    /// No local label sorts before any local label.
    local: Option<Vec<LocalPart>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PreLabel {
    A,
    B,
    Rc,
}

/// Variant order is the order: a bare dev release (`1.0.dev1`) sorts before the pre-releases
/// of its release (`1.0a1`), and no pre-release sorts after all of them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PreKey {
    DevOnly,
    Pre(PreLabel, Num),
    None,
}

/// A dev release sorts before the same version without one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum DevKey {
    Dev(Num),
    None,
}

/// Local segments: letters sort before numbers, letters lexically (lower-cased), numbers by value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart {
    Alpha(String),
    Num(Num),
}

impl PypiVersion {
    /// True when the version is not PEP 440 and is ordered by the legacy rules (before every
    /// PEP 440 version). A scanner may want to flag such matches as less certain.
    pub fn is_legacy(&self) -> bool {
        matches!(self.kind, Kind::Legacy(_))
    }
}

fn compare(a: &PypiVersion, b: &PypiVersion) -> Ordering {
    match (&a.kind, &b.kind) {
        (Kind::Legacy(x), Kind::Legacy(y)) => x.cmp(y),
        // LegacyVersion's key starts with epoch -1, below every real epoch.
        (Kind::Legacy(_), Kind::Pep440(_)) => Ordering::Less,
        (Kind::Pep440(_), Kind::Legacy(_)) => Ordering::Greater,
        (Kind::Pep440(x), Kind::Pep440(y)) => x.cmp(y),
    }
}

ordered_by!(PypiVersion, compare);

impl VersionScheme for Pep440 {
    type Version = PypiVersion;

    fn name(&self) -> &'static str {
        NAME
    }

    fn parse(&self, version: &str) -> Result<PypiVersion, VersionError> {
        // PEP 440 allows surrounding whitespace (the reference regex is `^\s*…\s*$`).
        let trimmed = version.trim();
        let kind = match parse_pep440(&trimmed.to_ascii_lowercase()) {
            Some(key) => Kind::Pep440(key),
            None => Kind::Legacy(legacy_key(trimmed).ok_or_else(|| {
                VersionError::new(NAME, version, "neither PEP 440 nor a legacy version")
            })?),
        };
        Ok(PypiVersion {
            original: version.to_owned(),
            kind,
        })
    }
}

/// A cursor over the lower-cased version; each `eat_*` consumes on success only.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn eat(&mut self, prefix: &str) -> bool {
        match self.rest.strip_prefix(prefix) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn eat_digits(&mut self) -> Option<Num> {
        let (digits, rest) = split_run(self.rest, |b| b.is_ascii_digit());
        if digits.is_empty() {
            return None;
        }
        self.rest = rest;
        Some(Num::from_digits(digits))
    }

    /// PEP 440 lets `-`, `_` or `.` (or nothing) separate the parts.
    fn eat_separator(&mut self) {
        let _ = self.eat("-") || self.eat("_") || self.eat(".");
    }

    /// The first of `words` that the input starts with. Words are listed longest first where
    /// one is a prefix of another (`alpha` before `a`), which is how the reference regex's
    /// backtracking resolves them.
    fn eat_word<T: Copy>(&mut self, words: &[(&str, T)]) -> Option<T> {
        words.iter().find(|(w, _)| self.eat(w)).map(|(_, t)| *t)
    }
}

/// Parses the PEP 440 grammar (Appendix B's regex) greedily; `None` if the string is not PEP 440.
fn parse_pep440(s: &str) -> Option<Pep440Key> {
    let mut c = Cursor { rest: s };
    c.eat("v");

    // Epoch: `N!`.
    let mut epoch = Num::ZERO;
    let save = c.rest;
    if let Some(n) = c.eat_digits() {
        if c.eat("!") {
            epoch = n;
        } else {
            c.rest = save;
        }
    }

    // Release: `N(.N)*`.
    let mut release = vec![c.eat_digits()?];
    loop {
        let save = c.rest;
        if !c.eat(".") {
            break;
        }
        match c.eat_digits() {
            Some(n) => release.push(n),
            None => {
                c.rest = save;
                break;
            }
        }
    }
    // Trailing zeros carry no weight: `1.0.0` = `1`.
    while release.last().is_some_and(Num::is_zero) {
        release.pop();
    }

    // Pre-release: `[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?N?`; the number defaults to 0.
    let save = c.rest;
    c.eat_separator();
    const PRE: &[(&str, PreLabel)] = &[
        ("alpha", PreLabel::A),
        ("beta", PreLabel::B),
        ("preview", PreLabel::Rc),
        ("pre", PreLabel::Rc),
        ("rc", PreLabel::Rc),
        ("a", PreLabel::A),
        ("b", PreLabel::B),
        ("c", PreLabel::Rc),
    ];
    let pre = match c.eat_word(PRE) {
        Some(label) => {
            c.eat_separator();
            Some((label, c.eat_digits().unwrap_or(Num::ZERO)))
        }
        None => {
            c.rest = save;
            None
        }
    };

    // Post-release: `-N` (the implicit form) or `[-_.]?(post|rev|r)[-_.]?N?`.
    let save = c.rest;
    let mut post = None;
    if c.eat("-") {
        post = c.eat_digits();
    }
    if post.is_none() {
        c.rest = save;
        c.eat_separator();
        const POST: &[(&str, ())] = &[("post", ()), ("rev", ()), ("r", ())];
        if c.eat_word(POST).is_some() {
            c.eat_separator();
            post = Some(c.eat_digits().unwrap_or(Num::ZERO));
        } else {
            c.rest = save;
        }
    }

    // Dev release: `[-_.]?dev[-_.]?N?`.
    let save = c.rest;
    c.eat_separator();
    let dev = if c.eat("dev") {
        c.eat_separator();
        Some(c.eat_digits().unwrap_or(Num::ZERO))
    } else {
        c.rest = save;
        None
    };

    // Local version: `+` then alphanumeric segments separated by `-`, `_` or `.`.
    let local = if c.eat("+") {
        let mut parts = Vec::new();
        for segment in c.rest.split(['-', '_', '.']) {
            if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return None;
            }
            parts.push(if segment.bytes().all(|b| b.is_ascii_digit()) {
                LocalPart::Num(Num::from_digits(segment))
            } else {
                LocalPart::Alpha(segment.to_owned())
            });
        }
        c.rest = "";
        Some(parts)
    } else {
        None
    };

    if !c.rest.is_empty() {
        return None;
    }

    let pre = match (pre, &post, &dev) {
        (Some((label, n)), _, _) => PreKey::Pre(label, n),
        // `1.0.dev0` sorts before `1.0a0`, but `1.0.post0.dev0` does not.
        (None, None, Some(_)) => PreKey::DevOnly,
        (None, _, _) => PreKey::None,
    };
    let dev = dev.map_or(DevKey::None, DevKey::Dev);
    Some(Pep440Key {
        epoch,
        release,
        pre,
        post,
        dev,
        local,
    })
}

/// `packaging`'s `_legacy_cmpkey` (before version 22). `None` for strings that are not taken as
/// legacy versions here: empty, or anything but printable ASCII without whitespace.
fn legacy_key(s: &str) -> Option<Vec<String>> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let mut parts: Vec<String> = Vec::new();
    for part in legacy_parts(&lower) {
        if part.starts_with('*') {
            // A pre-release marker drops the `-` separators before it.
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p| p == "*final-") {
                    parts.pop();
                }
            }
            // Trailing zeros before a letter part carry no weight: `1.0a` = `1a`.
            while parts.last().is_some_and(|p| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    }
    Some(parts)
}

/// `_parse_version_parts`: digit runs, letter runs, `.` and `-` split the string (the text
/// between them is kept as parts too); some words are respelled so they sort where setuptools
/// wanted them; numbers are zero-padded to 8 so that they sort as strings; `*final` ends it.
fn legacy_parts(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(first) = rest.bytes().next() {
        let (part, tail) = if first.is_ascii_digit() {
            split_run(rest, |b| b.is_ascii_digit())
        } else if first.is_ascii_lowercase() {
            split_run(rest, |b| b.is_ascii_lowercase())
        } else if first == b'.' || first == b'-' {
            rest.split_at(1)
        } else {
            split_run(rest, |b| {
                !(b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'.' || b == b'-')
            })
        };
        rest = tail;
        let part = match part {
            "pre" | "preview" | "rc" => "c",
            "-" => "final-",
            "dev" => "@",
            "." => continue,
            other => other,
        };
        if part.as_bytes()[0].is_ascii_digit() {
            out.push(format!("{part:0>8}"));
        } else {
            out.push(format!("*{part}"));
        }
    }
    out.push("*final".to_owned());
    out
}

/// Normalises a PyPI project name per PEP 503: runs of `-`, `_` and `.` become one `-`, and the
/// name is lower-cased, so `Foo.Bar`, `foo__bar` and `FOO-bar` are the same project.
pub fn normalize_pypi_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for ch in name.chars() {
        if matches!(ch, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(ch.to_lowercase());
            in_run = false;
        }
    }
    out
}
