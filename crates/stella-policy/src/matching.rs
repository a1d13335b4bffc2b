//! Matching one finding against one rule's matchers.

use crate::Rule;
use stella_proto::scan::Finding;

/// Whether `text` matches `pattern`, where `*` stands for any run of characters (including
/// none) and every other character for itself, ASCII case-insensitively.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    // The classic linear-backtracking matcher: on a mismatch, the last `*` takes one more
    // character. O(|p|·|t|) at worst, no recursion.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A purl cut into what a pattern compares: the type (lower case), `namespace/name` and the
/// version, percent-decoded; qualifiers and subpath dropped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PurlParts {
    pub(crate) ty: String,
    pub(crate) name: String,
    pub(crate) version: Option<String>,
    pub(crate) had_extras: bool,
}

pub(crate) fn purl_parts(purl: &str) -> Option<PurlParts> {
    let scheme = purl.get(..4)?;
    if !scheme.eq_ignore_ascii_case("pkg:") {
        return None;
    }
    let rest = purl.get(4..)?.trim_start_matches('/');
    let (rest, subpath) = match rest.split_once('#') {
        Some((r, s)) => (r, Some(s)),
        None => (rest, None),
    };
    let (rest, qualifiers) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (ty, path) = rest.split_once('/')?;
    if ty.is_empty() || path.is_empty() {
        return None;
    }
    // The version is the part after an `@` in the last segment (a raw npm scope `@babel/…`
    // sits in an earlier one).
    let last_slash = path.rfind('/').map_or(0, |i| i + 1);
    let (name, version) = match path[last_slash..].rfind('@') {
        Some(at) => (
            &path[..last_slash + at],
            Some(decode(&path[last_slash + at + 1..])),
        ),
        None => (path, None),
    };
    let name = name.trim_end_matches('/');
    if name.is_empty() || name.ends_with('/') {
        return None;
    }
    Some(PurlParts {
        ty: ty.to_ascii_lowercase(),
        name: decode(name),
        version,
        had_extras: subpath.is_some() || qualifiers.is_some(),
    })
}

/// Percent-decoding; an invalid escape stays as written.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why `pattern` is not a purl pattern, if it is not.
pub(crate) fn check_purl_pattern(pattern: &str) -> Result<(), String> {
    let clipped: String = pattern.chars().take(64).collect();
    match purl_parts(pattern) {
        None => Err(format!(
            "Invalid purl pattern '{clipped}'; expected pkg:type/namespace/name[@version]"
        )),
        Some(p) if p.had_extras => Err(format!(
            "Invalid purl pattern '{clipped}'; qualifiers (?…) and subpaths (#…) are not \
             matched, leave them out"
        )),
        Some(p) if p.version.as_deref() == Some("") => Err(format!(
            "Invalid purl pattern '{clipped}'; empty version after '@'"
        )),
        Some(_) => Ok(()),
    }
}

fn purl_matches(pattern: &str, purl: &str) -> bool {
    let (Some(p), Some(f)) = (purl_parts(pattern), purl_parts(purl)) else {
        return false;
    };
    glob(&p.ty, &f.ty)
        && glob(&p.name, &f.name)
        && match (&p.version, &f.version) {
            (None, _) => true,
            (Some(pv), Some(fv)) => glob(pv, fv),
            (Some(_), None) => false,
        }
}

/// Whether `id` names the finding: its id or one of its aliases, ASCII case-insensitively.
pub(crate) fn names_finding(id: &str, finding: &Finding) -> bool {
    finding.id.eq_ignore_ascii_case(id)
        || finding.aliases.iter().any(|a| a.eq_ignore_ascii_case(id))
}

/// Whether the rule's matchers (all of them; any item of each list) match the finding.
/// Environment and expiry are checked by the caller.
pub(crate) fn rule_matches(rule: &Rule, finding: &Finding) -> bool {
    (rule.severities.is_empty() || rule.severities.contains(&finding.severity))
        && (rule.packages.is_empty() || rule.packages.iter().any(|p| glob(p, &finding.package)))
        && (rule.purls.is_empty()
            || finding
                .purl
                .as_deref()
                .is_some_and(|purl| rule.purls.iter().any(|p| purl_matches(p, purl))))
        && (rule.vulnerabilities.is_empty()
            || rule
                .vulnerabilities
                .iter()
                .any(|id| names_finding(id, finding)))
}

/// Whether a rule limited to `environments` applies to a scan of `environment`.
pub(crate) fn environment_applies(environments: &[String], environment: Option<&str>) -> bool {
    environments.is_empty()
        || environment.is_some_and(|e| environments.iter().any(|r| r.eq_ignore_ascii_case(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("lodash", "LoDash"));
        assert!(glob("@babel/*", "@babel/core"));
        assert!(glob("*-utils*", "my-utils-x"));
        assert!(!glob("a*b", "acd"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("abc", "abcd"));
    }

    #[test]
    fn purls_cut() {
        let p = purl_parts("pkg:npm/%40babel/core@7.0.0?x=1#a").unwrap();
        assert_eq!(p.ty, "npm");
        assert_eq!(p.name, "@babel/core");
        assert_eq!(p.version.as_deref(), Some("7.0.0"));
        assert!(p.had_extras);
        let p = purl_parts("pkg:npm/@babel/core").unwrap();
        assert_eq!(p.name, "@babel/core");
        assert_eq!(p.version, None);
        assert!(purl_parts("pkg:npm").is_none());
        assert!(purl_parts("npm/x").is_none());
        assert!(purl_parts("pkg:npm/").is_none());
        assert!(purl_matches("pkg:npm/lodash", "pkg:npm/lodash@4.17.20"));
        assert!(purl_matches("PKG:NPM/lodash", "pkg:npm/lodash@4.17.20"));
        assert!(purl_matches(
            "pkg:npm/lodash@4.17.20",
            "pkg:npm/lodash@4.17.20?a=b"
        ));
        assert!(!purl_matches(
            "pkg:npm/lodash@4.17.21",
            "pkg:npm/lodash@4.17.20"
        ));
        assert!(!purl_matches("pkg:pypi/lodash", "pkg:npm/lodash@1"));
        assert!(purl_matches("pkg:npm/%40babel/*", "pkg:npm/@babel/core@7"));
        assert!(!purl_matches("pkg:npm/lodash", "pkg:npm/lodash-es@1"));
        assert!(check_purl_pattern("pkg:npm/lodash?x=y").is_err());
        assert!(check_purl_pattern("pkg:npm/lodash@").is_err());
        assert!(check_purl_pattern("lodash").is_err());
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("a%2"), "a%2");
        assert_eq!(decode("%e2%82%ac"), "€");
    }
}
