//! Package URLs (purl) as the package-url specification defines them: parsing with the spec's
//! right-to-left algorithm, percent-decoding, the type-specific case folding and name rules,
//! and a `Display` that writes the canonical form (lowercase type, sorted qualifiers, only
//! `A-Z a-z 0-9 . - _ ~ :` left unencoded), so that two spellings of one package compare equal.
//!
//! Written here rather than taken from a crate so that the canonical form (which the scanner
//! uses as the identity of a component) is exactly the one the spec's test suite expects.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use crate::error::SbomError;

/// A parsed, normalised package URL: `pkg:type/namespace/name@version?qualifiers#subpath`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Purl {
    ty: String,
    namespace: Option<String>,
    name: String,
    version: Option<String>,
    qualifiers: BTreeMap<String, String>,
    subpath: Option<String>,
}

impl Purl {
    /// Parses a purl string. Errors say what is wrong (`purl-invalid`).
    pub fn parse(input: &str) -> Result<Purl, SbomError> {
        let bad = |reason: &str| SbomError::invalid_purl(input, reason);
        let s = input.trim();

        let (rest, subpath) = match s.rsplit_once('#') {
            Some((rest, sub)) => (rest, Some(sub)),
            None => (s, None),
        };
        let subpath = match subpath {
            Some(sub) => segments(sub, input, "subpath", true)?,
            None => None,
        };

        let (rest, qualifier_str) = match rest.rsplit_once('?') {
            Some((rest, q)) => (rest, Some(q)),
            None => (rest, None),
        };
        let mut qualifiers = BTreeMap::new();
        for pair in qualifier_str
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(bad(&format!("qualifier {pair:?} is not key=value")));
            };
            let key = key.to_ascii_lowercase();
            check_qualifier_key(&key, input)?;
            let value = decode(value, input)?;
            if value.is_empty() {
                continue; // the spec: an empty value is the same as no qualifier
            }
            if qualifiers.insert(key.clone(), value).is_some() {
                return Err(bad(&format!("qualifier {key:?} appears more than once")));
            }
        }

        let Some((scheme, rest)) = rest.split_once(':') else {
            return Err(bad("it must start with \"pkg:\""));
        };
        if !scheme.eq_ignore_ascii_case("pkg") {
            return Err(bad("it must start with \"pkg:\""));
        }
        let rest = rest.trim_start_matches('/');
        let Some((ty, rest)) = rest.split_once('/') else {
            return Err(bad("it needs a type and a name: pkg:<type>/<name>"));
        };
        let ty = ty.to_ascii_lowercase();
        check_type(&ty, input)?;

        // The version is split off the last path segment only, so that an unencoded npm scope
        // (`pkg:npm/@babel/core`) is not taken for a version.
        let rest = rest.trim_end_matches('/');
        let last_start = rest.rfind('/').map_or(0, |i| i + 1);
        let (rest, version) = match rest[last_start..].rfind('@') {
            Some(at) => {
                let at = last_start + at;
                (&rest[..at], Some(decode(&rest[at + 1..], input)?))
            }
            None => (rest, None),
        };
        let version = version.filter(|v| !v.is_empty());

        let rest = rest.trim_end_matches('/');
        let (namespace, name) = match rest.rsplit_once('/') {
            Some((ns, name)) => (Some(ns), name),
            None => (None, rest),
        };
        let name = decode(name, input)?;
        let namespace = match namespace {
            Some(ns) => segments(ns, input, "namespace", false)?,
            None => None,
        };
        Self::assemble(ty, namespace, name, version, qualifiers, subpath, input)
    }

    /// Builds a purl from already-decoded parts, with the same checks and normalisation as
    /// [`Purl::parse`]. `namespace` and `subpath` are `/`-separated.
    pub fn from_parts<'a>(
        ty: &str,
        namespace: Option<&str>,
        name: &str,
        version: Option<&str>,
        qualifiers: impl IntoIterator<Item = (&'a str, &'a str)>,
        subpath: Option<&str>,
    ) -> Result<Purl, SbomError> {
        let shown = format!("pkg:{ty}/{}", name);
        let ty = ty.to_ascii_lowercase();
        check_type(&ty, &shown)?;
        let mut quals = BTreeMap::new();
        for (k, v) in qualifiers {
            let k = k.to_ascii_lowercase();
            check_qualifier_key(&k, &shown)?;
            if !v.is_empty() && quals.insert(k.clone(), v.to_owned()).is_some() {
                return Err(SbomError::invalid_purl(
                    &shown,
                    format!("qualifier {k:?} appears more than once"),
                ));
            }
        }
        let namespace = join_segments(namespace, false);
        let subpath = join_segments(subpath, true);
        let version = version.filter(|v| !v.is_empty()).map(str::to_owned);
        Self::assemble(
            ty,
            namespace,
            name.to_owned(),
            version,
            quals,
            subpath,
            &shown,
        )
    }

    fn assemble(
        ty: String,
        namespace: Option<String>,
        name: String,
        version: Option<String>,
        qualifiers: BTreeMap<String, String>,
        subpath: Option<String>,
        input: &str,
    ) -> Result<Purl, SbomError> {
        if name.is_empty() {
            return Err(SbomError::invalid_purl(input, "the name is missing"));
        }
        let mut purl = Purl {
            ty,
            namespace,
            name,
            version,
            qualifiers,
            subpath,
        };
        purl.normalise();
        Ok(purl)
    }

    /// The spec's per-type case folding: only where the ecosystem itself is case-insensitive,
    /// so that `pkg:pypi/Django` and `pkg:pypi/django` are one package but Maven and npm names
    /// keep their case.
    fn normalise(&mut self) {
        let (fold_namespace, fold_name) = match self.ty.as_str() {
            "alpm" | "apk" | "bitbucket" | "brew" | "composer" | "deb" | "github" | "hex"
            | "luarocks" | "vscode-extension" => (true, true),
            "rpm" | "qpkg" | "yocto" => (true, false),
            "bitnami" | "chrome-extension" | "oci" | "otp" | "pypi" => (false, true),
            _ => (false, false),
        };
        if fold_namespace {
            if let Some(ns) = &mut self.namespace {
                *ns = ns.to_lowercase();
            }
        }
        if fold_name {
            self.name = self.name.to_lowercase();
        }
        if self.ty == "pypi" {
            // PyPI treats `_`, `-` (and `.`) alike; the spec settles on `-` for `_`.
            self.name = self.name.replace('_', "-");
        }
    }

    /// The package type, lowercase (`npm`, `pypi`, `deb`, ...).
    pub fn ty(&self) -> &str {
        &self.ty
    }

    /// The namespace, decoded, segments joined with `/` (npm scope, Maven group, distro).
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The name, decoded and normalised for its type.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Qualifiers, decoded, sorted by key.
    pub fn qualifiers(&self) -> &BTreeMap<String, String> {
        &self.qualifiers
    }

    pub fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers.get(key).map(String::as_str)
    }

    /// The subpath, decoded, segments joined with `/`.
    pub fn subpath(&self) -> Option<&str> {
        self.subpath.as_deref()
    }
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pkg:{}/", self.ty)?;
        if let Some(ns) = &self.namespace {
            for segment in ns.split('/') {
                encode(f, segment)?;
                f.write_char('/')?;
            }
        }
        encode(f, &self.name)?;
        if let Some(v) = &self.version {
            f.write_char('@')?;
            encode(f, v)?;
        }
        for (i, (k, v)) in self.qualifiers.iter().enumerate() {
            f.write_char(if i == 0 { '?' } else { '&' })?;
            f.write_str(k)?;
            f.write_char('=')?;
            encode(f, v)?;
        }
        if let Some(sub) = &self.subpath {
            f.write_char('#')?;
            for (i, segment) in sub.split('/').enumerate() {
                if i > 0 {
                    f.write_char('/')?;
                }
                encode(f, segment)?;
            }
        }
        Ok(())
    }
}

impl FromStr for Purl {
    type Err = SbomError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Purl::parse(s)
    }
}

impl serde::Serialize for Purl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn check_type(ty: &str, input: &str) -> Result<(), SbomError> {
    check_token(
        ty,
        input,
        |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'),
        "type",
        "letters, digits, '.' and '-'",
    )
}

fn check_qualifier_key(key: &str, input: &str) -> Result<(), SbomError> {
    check_token(
        key,
        input,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'),
        "qualifier key",
        "a-z, 0-9, '.', '-' and '_'",
    )
}

/// The purl spec's rule for types and qualifier keys: a letter first, then only `allowed`.
fn check_token(
    token: &str,
    input: &str,
    allowed: fn(char) -> bool,
    what: &str,
    chars: &str,
) -> Result<(), SbomError> {
    if token.starts_with(|c: char| c.is_ascii_alphabetic()) && token.chars().all(allowed) {
        return Ok(());
    }
    Err(SbomError::invalid_purl(
        input,
        format!(
            "{what} {:?} must start with a letter and use only {chars}",
            crate::error::excerpt(token)
        ),
    ))
}

/// Splits an encoded namespace or subpath on `/`, drops empty segments (and, for subpaths,
/// `.` and `..`), decodes each and joins them again. `None` when nothing is left.
fn segments(
    raw: &str,
    input: &str,
    what: &str,
    is_subpath: bool,
) -> Result<Option<String>, SbomError> {
    let mut out: Vec<String> = Vec::new();
    for seg in raw.split('/').filter(|s| !s.is_empty()) {
        let decoded = decode(seg, input)?;
        if is_subpath && (decoded == "." || decoded == "..") {
            continue;
        }
        check_segment(&decoded, input, what)?;
        out.push(decoded);
    }
    Ok((!out.is_empty()).then(|| out.join("/")))
}

fn join_segments(raw: Option<&str>, is_subpath: bool) -> Option<String> {
    let kept: Vec<&str> = raw?
        .split('/')
        .filter(|s| !s.is_empty() && !(is_subpath && (*s == "." || *s == "..")))
        .collect();
    (!kept.is_empty()).then(|| kept.join("/"))
}

fn check_segment(decoded: &str, input: &str, what: &str) -> Result<(), SbomError> {
    if decoded.contains('/') {
        return Err(SbomError::invalid_purl(
            input,
            format!("a {what} segment contains '/' once percent-decoded"),
        ));
    }
    Ok(())
}

fn decode(raw: &str, input: &str) -> Result<String, SbomError> {
    if !raw.contains('%') {
        return Ok(raw.to_owned());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
            match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                }
                _ => {
                    return Err(SbomError::invalid_purl(
                        input,
                        "'%' must be followed by two hex digits (write a literal % as %25)",
                    ))
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| SbomError::invalid_purl(input, "a percent-encoded part is not UTF-8"))
}

fn encode(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':') {
            f.write_char(b as char)?;
        } else {
            write!(f, "%{b:02X}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Purl::parse(s).unwrap().to_string()
    }

    fn reason(s: &str) -> String {
        match Purl::parse(s) {
            Err(SbomError::InvalidPurl { reason, .. }) => reason,
            other => panic!("{s}: expected an invalid purl, got {other:?}"),
        }
    }

    // Cases from the package-url specification's test suite (tests/spec and tests/types),
    // restated here: input => canonical form.
    #[test]
    fn canonical_forms_match_the_spec_suite() {
        let cases = [
            ("pkg:PYPI/Django_package@1.11.1.dev1", "pkg:pypi/django-package@1.11.1.dev1"),
            ("pkg:npm/%40angular/animation@12.3.1", "pkg:npm/%40angular/animation@12.3.1"),
            ("pkg:npm/@babel/core#/googleapis/api/annotations/", "pkg:npm/%40babel/core#googleapis/api/annotations"),
            ("pkg:npm/mypackage@12.4.5?vcs_url=git://host.com/path/to/repo.git%404345abcd34343",
             "pkg:npm/mypackage@12.4.5?vcs_url=git:%2F%2Fhost.com%2Fpath%2Fto%2Frepo.git%404345abcd34343"),
            ("pkg:GOLANG/google.golang.org/genproto@abcdedf#/googleapis/api/annotations/",
             "pkg:golang/google.golang.org/genproto@abcdedf#googleapis/api/annotations"),
            ("pkg:Maven/org.apache.xmlgraphics/batik-anim@1.9.1?type=pom&repositorY_url=repo.spring.io/release",
             "pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?repository_url=repo.spring.io%2Frelease&type=pom"),
            ("pkg:maven/HTTPClient/HTTPClient@0.3-3", "pkg:maven/HTTPClient/HTTPClient@0.3-3"),
            ("pkg:maven/mygroup/myartifact@1.0.0%20Final?mykey=my%20value",
             "pkg:maven/mygroup/myartifact@1.0.0%20Final?mykey=my%20value"),
            ("pkg:/maven/org.apache.commons/io", "pkg:maven/org.apache.commons/io"),
            ("pkg://maven/org.apache.commons/io", "pkg:maven/org.apache.commons/io"),
            ("pkg:///maven/org.apache.commons/io", "pkg:maven/org.apache.commons/io"),
            ("pkg:deb/debian/attr@1:2.4.47-2?arch=source", "pkg:deb/debian/attr@1:2.4.47-2?arch=source"),
            ("pkg:GitHub/Package-URL/purl-spec@244fd47e07d1004", "pkg:github/package-url/purl-spec@244fd47e07d1004"),
            ("pkg:generic/bitwarderl?checksum=sha1:ad9503c3e994a4f%2Csha256:41bf9088b3a1e6c1ef1d",
             "pkg:generic/bitwarderl?checksum=sha1:ad9503c3e994a4f%2Csha256:41bf9088b3a1e6c1ef1d"),
            ("pkg:rpm/RedHat/OpenSSL@1.1.1k-7.el8", "pkg:rpm/redhat/OpenSSL@1.1.1k-7.el8"),
            ("pkg:npm/foo@1.0.0?empty=&arch=x", "pkg:npm/foo@1.0.0?arch=x"),
        ];
        for (input, expected) in cases {
            assert_eq!(canon(input), expected, "input {input}");
            assert_eq!(canon(expected), expected, "canonical {expected} is stable");
        }
    }

    #[test]
    fn parts_are_decoded() {
        let p = Purl::parse("pkg:npm/%40angular/animation@12.3.1?vcs_url=a%2Fb#x/y").unwrap();
        assert_eq!(p.ty(), "npm");
        assert_eq!(p.namespace(), Some("@angular"));
        assert_eq!(p.name(), "animation");
        assert_eq!(p.version(), Some("12.3.1"));
        assert_eq!(p.qualifier("vcs_url"), Some("a/b"));
        assert_eq!(p.subpath(), Some("x/y"));
        let p = Purl::parse("pkg:golang/github.com/gorilla/context").unwrap();
        assert_eq!(p.namespace(), Some("github.com/gorilla"));
        assert_eq!(p.version(), None);
    }

    #[test]
    fn malformed_purls_say_what_is_wrong() {
        assert!(reason("EnterpriseLibrary.Common@6.0.1304").contains("pkg:"));
        assert!(reason("pkg:EnterpriseLibrary.Common@6.0.1304").contains("type and a name"));
        assert!(reason("pkg:3nginx/nginx@0.8.9").contains("must start with a letter"));
        assert!(reason("pkg:nginx:a/nginx@0.8.9").contains("type"));
        // The current spec dropped '+' from the type alphabet.
        assert!(reason("pkg:c++/boost@1.84.0").contains("type"));
        assert!(reason("pkg:n&g?inx/nginx@0.8.9").contains("key=value"));
        assert!(reason("pkg:npm/myartifact@1.0.0?in%20production=true").contains("qualifier key"));
        assert!(reason("pkg:maven/@1.3.4").contains("name is missing"));
        assert!(reason("pkg%3Amaven/org.apache.commons/io").contains("pkg:"));
        assert!(reason("pkg:npm/foo@1?a=1&a=2").contains("more than once"));
        assert!(reason("pkg:npm/fo%zzo@1").contains("two hex digits"));
        assert!(reason("pkg:npm/fo%ffo@1").contains("UTF-8"));
        assert!(reason("pkg:maven/a%2Fb/c@1").contains("namespace segment"));
        assert!(reason("pkg:npm/").contains("name is missing"));
    }

    #[test]
    fn from_parts_normalises_like_parse() {
        let p =
            Purl::from_parts("PyPI", None, "Foo_Bar", Some("1.0"), [("Arch", "x")], None).unwrap();
        assert_eq!(p.to_string(), "pkg:pypi/foo-bar@1.0?arch=x");
        assert_eq!(Purl::parse(&p.to_string()).unwrap(), p);
        assert!(Purl::from_parts("npm", None, "", None, [], None).is_err());
    }
}
