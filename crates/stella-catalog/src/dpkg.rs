//! dpkg's database: `var/lib/dpkg/status`, and distroless images' `var/lib/dpkg/status.d/*`
//! (one file per package, written by the image builder instead of dpkg).
//!
//! A package counts when its `Status:` says it is installed (`install ok installed`, and
//! `hold ok installed` too: held packages are installed). In `status.d` files, which often
//! have no `Status:`, a missing one counts as installed. The source package comes from
//! `Source: name (version)`; without it the source is the binary package itself, as Debian
//! policy says.

use crate::stanza::{self, Syntax};
use crate::{CatalogError, Ctx, Kind};

const FIELDS: [&str; 5] = ["Package", "Version", "Architecture", "Status", "Source"];

pub(crate) fn status(ctx: &mut Ctx<'_>, bytes: &[u8], status_d: bool) -> Result<(), CatalogError> {
    let stanzas = stanza::parse(ctx, bytes, Syntax::Deb, "dpkg status", |k| {
        FIELDS.iter().any(|f| f.eq_ignore_ascii_case(k))
    })?;
    for s in stanzas {
        let installed = match s.get("Status") {
            Some(status) => {
                let words: Vec<&str> = status.split_whitespace().collect();
                matches!(words.as_slice(), [_, "ok", "installed"])
            }
            None => status_d,
        };
        if !installed {
            continue;
        }
        let (Some(name), Some(version)) = (s.get("Package"), s.get("Version")) else {
            ctx.warn(format!(
                "the dpkg stanza at line {} has no Package or no Version",
                s.line
            ));
            continue;
        };
        let mut p = ctx.package(Kind::Deb, name, version);
        p.arch = s.get("Architecture").map(str::to_owned);
        let (source, source_version) = match s.get("Source") {
            Some(src) => match src.split_once('(') {
                Some((n, v)) => (n.trim(), v.trim().trim_end_matches(')').trim()),
                None => (src.trim(), version),
            },
            None => (name, version),
        };
        p.source_name = Some(if source.is_empty() { name } else { source }.to_owned());
        p.source_version = Some(
            if source_version.is_empty() {
                version
            } else {
                source_version
            }
            .to_owned(),
        );
        ctx.push(p)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::{catalogue, Found, Limits};

    fn run(path: &str, text: &str) -> Found {
        catalogue(path, text.as_bytes(), &Limits::default()).unwrap()
    }

    const STATUS: &str = "\
Package: libssl3
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: openssl (3.0.11-1~deb12u2)
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation.
 .
 It provides the libssl and libcrypto shared libraries.

Package: removed-pkg
Status: deinstall ok config-files
Version: 1.0

Package: base-files
Status: hold ok installed
Architecture: amd64
Version: 12.4+deb12u5

Package: zlib1g
Status: install ok installed
Source: zlib
Version: 1:1.2.13.dfsg-1
";

    #[test]
    fn installed_packages_with_sources() {
        let found = run("var/lib/dpkg/status", STATUS);
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
        let got: Vec<_> = found
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.source_name.as_deref().unwrap(),
                    p.source_version.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("libssl3", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2"),
                ("base-files", "12.4+deb12u5", "base-files", "12.4+deb12u5"),
                ("zlib1g", "1:1.2.13.dfsg-1", "zlib", "1:1.2.13.dfsg-1"),
            ]
        );
        assert_eq!(found.packages[0].arch.as_deref(), Some("amd64"));
        assert_eq!(found.packages[0].path, "var/lib/dpkg/status");
    }

    #[test]
    fn distroless_status_d() {
        let found = run(
            "var/lib/dpkg/status.d/libc6",
            "Package: libc6\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\nSource: glibc\n",
        );
        assert_eq!(found.packages.len(), 1);
        assert_eq!(found.packages[0].source_name.as_deref(), Some("glibc"));
        // The main status file needs a Status.
        assert!(run("var/lib/dpkg/status", "Package: libc6\nVersion: 1\n")
            .packages
            .is_empty());
    }

    #[test]
    fn broken_stanzas_are_warnings() {
        let found = catalogue(
            "var/lib/dpkg/status",
            b"Package: a\nStatus: install ok installed\n\nnot a field\nPackage: b\n\
             Status: install ok installed\nVersion: \xff\n",
            &Limits::default(),
        )
        .unwrap();
        assert!(found.packages.is_empty());
        assert_eq!(found.warnings.len(), 3, "{:?}", found.warnings);
        let bad = catalogue(
            "var/lib/dpkg/status",
            b"Package: \xff\xfe\nStatus: install ok installed\nVersion: 1\n",
            &Limits::default(),
        )
        .unwrap();
        assert!(bad.packages.is_empty());
        assert!(
            bad.warnings[0].contains("invalid UTF-8"),
            "{:?}",
            bad.warnings
        );
    }
}
