//! Image references as docker reads them: `[registry[:port]/]repository[:tag][@sha256:hex]`.

use std::fmt;

use crate::error::{excerpt, RegistryError};

/// The registry a reference without one names.
pub const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// Longest reference accepted (docker: 255 for the name, 128 for a tag, 71 for a digest).
pub const MAX_REFERENCE_LEN: usize = 512;
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// A parsed image reference. `registry` is a host with an optional port (`docker.io`,
/// `127.0.0.1:5000`); `repository` is the path in it (`library/alpine`); at least one of
/// `tag` and `digest` is set (`latest` when neither was given).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:` and 64 lowercase hex digits.
    pub digest: Option<String>,
}

impl Reference {
    /// Parses a reference with docker's defaults: no registry means `docker.io`, and a
    /// one-component repository there gets `library/`; the first component is a registry
    /// when it has a `.` or a `:`, or is `localhost`; no tag or digest means `latest`.
    /// Errors (`registry-bad-reference`) say what is wrong.
    pub fn parse(input: &str) -> Result<Reference, RegistryError> {
        let bad = |reason: String| RegistryError::BadReference {
            reference: excerpt(input),
            reason,
        };
        if input.is_empty() {
            return Err(bad("it is empty".into()));
        }
        if input.len() > MAX_REFERENCE_LEN {
            return Err(bad(format!("it is longer than {MAX_REFERENCE_LEN} bytes")));
        }
        if let Some(c) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(format!("it contains the character {c:?}")));
        }
        if input.contains("://") {
            return Err(bad(
                "give the image as registry/repository:tag, without a URL scheme".into(),
            ));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, d)) => {
                check_digest(d).map_err(|r| bad(r.to_owned()))?;
                (rest, Some(d.to_owned()))
            }
            None => (input, None),
        };
        // The tag is after the last ':' that follows the last '/', so that a registry port
        // is not taken for a tag.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let i = last_slash + i;
                (&rest[..i], Some(&rest[i + 1..]))
            }
            None => (rest, None),
        };
        if let Some(t) = tag {
            check_tag(t).map_err(bad)?;
        }
        if name.is_empty() {
            return Err(bad("the repository name is missing".into()));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(bad(format!("the name is longer than {MAX_NAME_LEN} bytes")));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                check_registry(first).map_err(bad)?;
                (first.to_ascii_lowercase(), path.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        let registry = if registry == "index.docker.io" || registry == "registry-1.docker.io" {
            DOCKER_HUB.to_owned()
        } else {
            registry
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        check_repository(&repository).map_err(bad)?;
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_owned()),
            (None, Some(_)) => None,
            (None, None) => Some("latest".to_owned()),
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// What the manifest is fetched by: the digest when there is one (it pins the content),
    /// else the tag.
    pub fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// The host (and port) the distribution API is spoken to: `registry-1.docker.io` for
    /// Docker Hub, the registry itself otherwise.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// `registry/repository`, as errors name the image.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Reference {
    type Err = RegistryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// `sha256:` and 64 lowercase hex digits: the only digests accepted anywhere (they become
/// file names in the layout, so nothing else may get through).
pub(crate) fn check_digest(d: &str) -> Result<(), &'static str> {
    let Some(hex) = d.strip_prefix("sha256:") else {
        return Err("the digest must be sha256:<64 hex digits>");
    };
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err("the digest must be sha256: and 64 lowercase hex digits");
    }
    Ok(())
}

fn check_tag(t: &str) -> Result<(), String> {
    if t.is_empty() {
        return Err("the tag after ':' is empty".into());
    }
    if t.len() > MAX_TAG_LEN {
        return Err(format!("the tag is longer than {MAX_TAG_LEN} characters"));
    }
    let mut bytes = t.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !first_ok || !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
        return Err(format!(
            "the tag {:?} may only have letters, digits, '_', '.' and '-' (not first)",
            excerpt(t)
        ));
    }
    Ok(())
}

fn check_registry(r: &str) -> Result<(), String> {
    let (host, port) = if let Some(rest) = r.strip_prefix('[') {
        // [ipv6]:port
        match rest.split_once(']') {
            Some((h, tail))
                if !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') =>
            {
                (h, tail.strip_prefix(':'))
            }
            _ => return Err(format!("the registry {:?} is not a valid host", excerpt(r))),
        }
    } else {
        match r.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (r, None),
        }
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !r.starts_with('[') && !host.split('.').all(label_ok) {
        return Err(format!(
            "the registry host {:?} is not a valid host name",
            excerpt(host)
        ));
    }
    if let Some(p) = port {
        if p.is_empty()
            || p.len() > 5
            || !p.bytes().all(|b| b.is_ascii_digit())
            || p.parse::<u32>().map_or(true, |n| n == 0 || n > 65535)
        {
            return Err(format!(
                "the registry port {:?} is not a port number",
                excerpt(p)
            ));
        }
    }
    Ok(())
}

/// Path components of lowercase letters and digits, joined by `.`, `_`, `__` or runs of `-`.
fn check_repository(repo: &str) -> Result<(), String> {
    for component in repo.split('/') {
        if component.is_empty() {
            return Err(
                "the repository has an empty path component ('//' or a trailing '/')".into(),
            );
        }
        if component.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "repository names must be lowercase: {:?}",
                excerpt(repo)
            ));
        }
        let bytes = component.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let first = bytes.first().copied().unwrap_or(b'-');
        let last = bytes.last().copied().unwrap_or(b'-');
        let mut ok = alnum(first) && alnum(last);
        let mut i = 0;
        while ok && i < bytes.len() {
            let b = bytes[i];
            if alnum(b) {
                i += 1;
                continue;
            }
            // A separator run: '.', '_', '__', or one or more '-'.
            let start = i;
            while i < bytes.len() && !alnum(bytes[i]) {
                i += 1;
            }
            let sep = &component[start..i];
            ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-');
        }
        if !ok {
            return Err(format!(
                "the repository path component {:?} must be lowercase letters and digits separated by '.', '_', '__' or '-'",
                excerpt(component)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> (String, String, Option<String>, Option<String>) {
        let r = Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (r.registry, r.repository, r.tag, r.digest)
    }

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn docker_defaults() {
        let own = |s: &str| s.to_owned();
        assert_eq!(
            parts("alpine"),
            (
                own("docker.io"),
                own("library/alpine"),
                Some(own("latest")),
                None
            )
        );
        assert_eq!(
            parts("alpine:3.19"),
            (
                own("docker.io"),
                own("library/alpine"),
                Some(own("3.19")),
                None
            )
        );
        assert_eq!(
            parts("bitnami/redis"),
            (
                own("docker.io"),
                own("bitnami/redis"),
                Some(own("latest")),
                None
            )
        );
        assert_eq!(parts("index.docker.io/alpine").1, "library/alpine");
        assert_eq!(parts("docker.io/library/alpine").1, "library/alpine");
        assert_eq!(
            parts("127.0.0.1:5000/app:1.0"),
            (own("127.0.0.1:5000"), own("app"), Some(own("1.0")), None)
        );
        assert_eq!(parts("localhost/app").0, "localhost");
        assert_eq!(parts("localhost:5000/a/b/c:v1").1, "a/b/c");
        assert_eq!(
            parts("ghcr.io/org/app_x.y-z__w:v1.2-rc_1").1,
            "org/app_x.y-z__w"
        );
        assert_eq!(parts("[::1]:5000/app").0, "[::1]:5000");
        assert_eq!(parts("Quay.IO/org/app").0, "quay.io");
        let by_digest = parts(&format!("quay.io/org/app@{D}"));
        assert_eq!((by_digest.2, by_digest.3.as_deref()), (None, Some(D)));
        let both = parts(&format!("app:1@{D}"));
        assert_eq!((both.2.as_deref(), both.3.as_deref()), (Some("1"), Some(D)));
    }

    #[test]
    fn manifest_reference_prefers_digest() {
        let r = Reference::parse(&format!("app:1@{D}")).unwrap();
        assert_eq!(r.manifest_reference(), D);
        assert_eq!(r.to_string(), format!("docker.io/library/app:1@{D}"));
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(
            Reference::parse("127.0.0.1:5000/app").unwrap().api_host(),
            "127.0.0.1:5000"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            ("", "empty"),
            ("App", "lowercase"),
            ("127.0.0.1:5000/App:1", "lowercase"),
            ("app:", "tag after ':' is empty"),
            ("app:-x", "the tag"),
            ("app:a/b", "port"),
            ("app@sha256:abc", "64"),
            ("app@md5:0123", "sha256"),
            (
                &format!("app@{}", D.to_uppercase().replace("SHA256", "sha256")),
                "lowercase hex",
            ),
            ("https://registry/app", "URL scheme"),
            ("reg.io:99999/app", "port"),
            ("reg.io:/app", "port"),
            ("reg..io/app", "host name"),
            ("reg.io/a//b", "empty path component"),
            ("reg.io/a/", "empty path component"),
            ("a b", "character"),
            ("-app", "path component"),
            ("a--b.-c", "path component"),
            ("reg.io/", "empty path component"),
            (":tag", "missing"),
        ];
        for (input, needle) in cases {
            let e = Reference::parse(input).expect_err(input);
            assert_eq!(e.code(), "registry-bad-reference");
            assert!(e.to_string().contains(needle), "{input:?}: {e}");
        }
        let long = format!("reg.io/{}", "a".repeat(600));
        assert!(Reference::parse(&long)
            .unwrap_err()
            .to_string()
            .contains("longer"));
        let long_tag = format!("app:{}", "a".repeat(129));
        assert!(Reference::parse(&long_tag)
            .unwrap_err()
            .to_string()
            .contains("longer than 128"));
    }
}
