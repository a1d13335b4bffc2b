//! Reading comparison vector files, shared by the vector tests.
//!
//! One check a line: `a < b`, `a = b` or `a > b`; or `! text` (the rest of the line, spaces
//! included) for a string that must not parse. Blank lines and lines starting with `#` or `//`
//! are comments.

use std::cmp::Ordering;
use std::path::Path;

use stella_vers::{Scheme, VersionScheme};

/// The scheme a vector file is for, from the start of its name (`pypi-versions.txt`,
/// `pep440.txt`), or `None` for an ecosystem this crate does not order.
pub fn scheme_for(file_name: &str) -> Option<Scheme> {
    let stem = file_name.split(['-', '.']).next().unwrap_or("");
    Some(match stem {
        "alpine" | "apk" => Scheme::Apk,
        "cran" => Scheme::Cran,
        "debian" | "dpkg" => Scheme::Dpkg,
        "hackage" => Scheme::Hackage,
        "maven" => Scheme::Maven,
        "nuget" => Scheme::NuGet,
        "packagist" => Scheme::Packagist,
        "pub" => Scheme::PubSemver,
        "pypi" | "pep440" => Scheme::Pep440,
        "redhat" | "rpm" => Scheme::Rpm,
        "rubygems" => Scheme::RubyGems,
        "semver" => Scheme::SemVer,
        _ => return None,
    })
}

#[derive(Default)]
pub struct Outcome {
    pub checked: usize,
    pub failures: Vec<String>,
}

fn symbol(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

/// Checks every line of `text` (named `name` in failures) under `scheme`. A comparison is
/// checked both ways round, through `compare` and through parsed `Ord`.
pub fn check_text(name: &str, text: &str, scheme: Scheme) -> Outcome {
    let mut out = Outcome::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = format!("{name}:{}", i + 1);
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        out.checked += 1;
        if let Some(bad) = line.strip_prefix("! ") {
            if let Ok(v) = scheme.parse(bad) {
                out.failures.push(format!(
                    "{at}: {bad:?} should not parse under {scheme}, got {v:?}"
                ));
            }
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [a, op, b] = fields[..] else {
            out.failures.push(format!("{at}: malformed line {line:?}"));
            continue;
        };
        let want = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => {
                out.failures
                    .push(format!("{at}: unknown operator in {line:?}"));
                continue;
            }
        };
        let (pa, pb) = match (scheme.parse(a), scheme.parse(b)) {
            (Ok(pa), Ok(pb)) => (pa, pb),
            (Err(e), _) | (_, Err(e)) => {
                out.failures.push(format!("{at}: {line}: {e}"));
                continue;
            }
        };
        let got = pa.cmp(&pb);
        let back = pb.cmp(&pa);
        let via_str = scheme.compare(a, b).ok();
        if got != want || back != want.reverse() || via_str != Some(want) {
            out.failures.push(format!(
                "{at}: expected {a} {} {b}, got {a} {} {b} (reversed: {b} {} {a})",
                symbol(want),
                symbol(got),
                symbol(back)
            ));
        }
    }
    out
}

pub fn check_file(path: &Path, scheme: Scheme) -> Outcome {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    match std::fs::read_to_string(path) {
        Ok(text) => check_text(&name, &text, scheme),
        Err(e) => Outcome {
            checked: 0,
            failures: vec![format!("{name}: cannot read: {e}")],
        },
    }
}
