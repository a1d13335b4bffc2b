//! Installed Python distributions: `*.dist-info/METADATA` (wheels, pip), `*.egg-info/PKG-INFO`
//! and `*.egg-info` files (setuptools, distro packages). Both are email-style headers; only
//! `Name:` and `Version:` are read, up to the first blank line (the description follows).

use crate::{CatalogError, Ctx, Kind};

pub(crate) fn metadata(ctx: &mut Ctx<'_>, bytes: &[u8]) -> Result<(), CatalogError> {
    let mut name = None;
    let mut version = None;
    for raw in bytes.split(|b| *b == b'\n') {
        if raw.len() > ctx.limits.max_line_bytes {
            return Err(ctx.limit("max_line_bytes", ctx.limits.max_line_bytes));
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            break;
        }
        let Some(colon) = raw.iter().position(|b| *b == b':') else {
            continue;
        };
        let (key, value) = (&raw[..colon], &raw[colon + 1..]);
        let slot = if key.eq_ignore_ascii_case(b"Name") {
            &mut name
        } else if key.eq_ignore_ascii_case(b"Version") {
            &mut version
        } else {
            continue;
        };
        if slot.is_none() {
            *slot = Some(String::from_utf8_lossy(value).trim().to_owned());
        }
        if name.is_some() && version.is_some() {
            break;
        }
    }
    match (name, version) {
        (Some(n), Some(v)) => {
            let p = ctx.package(Kind::Python, &n, &v);
            ctx.push(p)
        }
        _ => Err(ctx.malformed("Python metadata", "no Name: or no Version: header")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::{catalogue, Limits};

    #[test]
    fn dist_info_and_egg_info() {
        let limits = Limits::default();
        let found = catalogue(
            "usr/lib/python3/site-packages/PyYAML-6.0.1.dist-info/METADATA",
            b"Metadata-Version: 2.1\r\nName: PyYAML\r\nVersion: 6.0.1\r\n\r\nName: not this\n",
            &limits,
        )
        .unwrap();
        let p = &found.packages[0];
        assert_eq!((p.name.as_str(), p.version.as_str()), ("PyYAML", "6.0.1"));
        assert_eq!(p.purl(None).unwrap().to_string(), "pkg:pypi/pyyaml@6.0.1");
        assert_eq!(p.ecosystem(None).as_deref(), Some("PyPI"));

        let egg = catalogue(
            "usr/lib/python3/dist-packages/zope.interface-5.5.2.egg-info",
            b"Metadata-Version: 1.2\nName: zope.interface\nVersion: 5.5.2\n",
            &limits,
        )
        .unwrap();
        assert_eq!(
            egg.packages[0].purl(None).unwrap().to_string(),
            "pkg:pypi/zope-interface@5.5.2"
        );
    }

    #[test]
    fn missing_headers_are_errors() {
        let err = catalogue(
            "x.dist-info/METADATA",
            b"Metadata-Version: 2.1\n\nName: late\nVersion: 1\n",
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "catalog-malformed");
        let bad = catalogue(
            "x.dist-info/METADATA",
            b"Name: \xff\nVersion: 1\n",
            &Limits::default(),
        )
        .unwrap();
        assert!(bad.packages.is_empty() && bad.warnings.len() == 1);
    }
}
