//! Java archives (`.jar`, `.war`, `.ear`): the Maven coordinates that Maven (and most other
//! builds) leave in `META-INF/maven/<groupId>/<artifactId>/pom.properties`. A shaded jar holds
//! several, and each is reported. Jars nested in the archive (`BOOT-INF/lib/*.jar`,
//! `WEB-INF/lib/*.jar`, an EAR's modules) are opened one level deep, never deeper.
//!
//! Entries are decompressed under one budget per file ([`Limits::max_decompressed_bytes`]:
//! a nested jar spends it when inflated, its own entries again), so zip bombs, overlapping
//! entries and lying size fields all stop at the budget. An entry that cannot be read
//! (encrypted, unsupported compression, over the budget) is a warning. A jar without any
//! `pom.properties` (a non-Maven build) is not identified: a warning says so.
//!
//! [`Limits::max_decompressed_bytes`]: crate::Limits::max_decompressed_bytes

use std::io::{Cursor, Read as _};

use zip::ZipArchive;

use crate::{CatalogError, Ctx, Kind};

const FORMAT: &str = "Java archive";

pub(crate) fn archive(ctx: &mut Ctx<'_>, bytes: &[u8]) -> Result<(), CatalogError> {
    let mut budget = ctx.limits.max_decompressed_bytes;
    let mut nested_count = 0;
    let zip = match ZipArchive::new(Cursor::new(bytes)) {
        Ok(z) => z,
        Err(e) => return Err(ctx.malformed(FORMAT, e.to_string())),
    };
    let nested = read_archive(ctx, zip, "", true, &mut budget)?;
    for (name, inner) in nested {
        nested_count += 1;
        if nested_count > ctx.limits.max_nested_archives {
            ctx.warn(format!(
                "more than {} nested jars: the rest are not read",
                ctx.limits.max_nested_archives
            ));
            break;
        }
        match ZipArchive::new(Cursor::new(&inner[..])) {
            Ok(zip) => {
                read_archive(ctx, zip, &name, false, &mut budget)?;
            }
            Err(e) => ctx.warn(format!(
                "nested jar {} is not a zip: {e}",
                crate::excerpt(&name)
            )),
        }
    }
    Ok(())
}

/// Reads one archive's pom.properties. With `outer`, returns the nested jars' bytes
/// (decompressed, within the budget) for the caller to open; it does not recurse.
fn read_archive(
    ctx: &mut Ctx<'_>,
    mut zip: ZipArchive<Cursor<&[u8]>>,
    label: &str,
    outer: bool,
    budget: &mut usize,
) -> Result<Vec<(String, Vec<u8>)>, CatalogError> {
    let where_ = if label.is_empty() {
        String::new()
    } else {
        format!("nested jar {}: ", crate::excerpt(label))
    };
    if zip.len() > ctx.limits.max_archive_entries {
        if outer {
            return Err(ctx.limit("max_archive_entries", ctx.limits.max_archive_entries));
        }
        ctx.warn(format!(
            "{where_}more than {} entries: not read",
            ctx.limits.max_archive_entries
        ));
        return Ok(Vec::new());
    }
    let mut poms = Vec::new();
    let mut jars = Vec::new();
    for (i, raw) in zip.file_names_raw().enumerate() {
        let name = String::from_utf8_lossy(raw);
        if is_pom_properties(&name) {
            poms.push((i, name.into_owned()));
        } else if outer && name.to_ascii_lowercase().ends_with(".jar") {
            jars.push((i, name.into_owned()));
        }
    }
    let mut found_any = false;
    for (i, name) in poms {
        let Some(text) = read_entry(ctx, &mut zip, i, &name, &where_, budget) else {
            continue;
        };
        if let Some((group, artifact, version)) = pom_properties(ctx, &text, &name)? {
            found_any = true;
            let p = ctx.package(Kind::Maven, &format!("{group}:{artifact}"), &version);
            ctx.push(p)?;
        }
    }
    if !found_any {
        ctx.warn(format!(
            "{where_}no META-INF/maven/**/pom.properties: the jar is not identified"
        ));
    }
    let mut nested = Vec::new();
    for (i, name) in jars {
        if nested.len() >= ctx.limits.max_nested_archives {
            break;
        }
        if let Some(bytes) = read_entry(ctx, &mut zip, i, &name, &where_, budget) {
            nested.push((name, bytes));
        }
    }
    Ok(nested)
}

fn is_pom_properties(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("META-INF/maven/") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    matches!(parts.as_slice(), [g, a, "pom.properties"] if !g.is_empty() && !a.is_empty())
}

/// One entry's bytes, spending the budget; `None` (with a warning) when it cannot be read.
fn read_entry(
    ctx: &mut Ctx<'_>,
    zip: &mut ZipArchive<Cursor<&[u8]>>,
    index: usize,
    name: &str,
    where_: &str,
    budget: &mut usize,
) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let result = match zip.by_index(index) {
        Ok(file) => file.take(*budget as u64 + 1).read_to_end(&mut out),
        Err(e) => {
            ctx.warn(format!(
                "{where_}entry {} unreadable: {e}",
                crate::excerpt(name)
            ));
            return None;
        }
    };
    if out.len() > *budget {
        *budget = 0;
        ctx.warn(format!(
            "{where_}entry {} goes over the decompressed-bytes budget ({}): not read",
            crate::excerpt(name),
            ctx.limits.max_decompressed_bytes
        ));
        return None;
    }
    *budget -= out.len();
    if let Err(e) = result {
        ctx.warn(format!(
            "{where_}entry {} unreadable: {e}",
            crate::excerpt(name)
        ));
        return None;
    }
    Some(out)
}

/// groupId, artifactId and version from a pom.properties (Java properties: `key=value` or
/// `key: value`, `#` and `!` comments).
fn pom_properties(
    ctx: &mut Ctx<'_>,
    text: &[u8],
    entry: &str,
) -> Result<Option<(String, String, String)>, CatalogError> {
    let (mut group, mut artifact, mut version) = (None, None, None);
    for line in text.split(|b| *b == b'\n') {
        if line.len() > ctx.limits.max_line_bytes {
            return Err(ctx.limit("max_line_bytes", ctx.limits.max_line_bytes));
        }
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        if line.starts_with(['#', '!']) {
            continue;
        }
        let Some(at) = line.find(['=', ':']) else {
            continue;
        };
        let (key, value) = (line[..at].trim(), line[at + 1..].trim().to_owned());
        match key {
            "groupId" => group = Some(value),
            "artifactId" => artifact = Some(value),
            "version" => version = Some(value),
            _ => {}
        }
    }
    match (group, artifact, version) {
        (Some(g), Some(a), Some(v)) if !g.is_empty() && !a.is_empty() => Ok(Some((g, a, v))),
        _ => {
            ctx.warn(format!(
                "{} lacks groupId, artifactId or version",
                crate::excerpt(entry)
            ));
            Ok(None)
        }
    }
}

/// A stored (uncompressed) or deflated zip, for tests.
#[cfg(test)]
pub(crate) fn build_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write as _;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, options)
            .unwrap_or_else(|e| panic!("{e}"));
        w.write_all(data).unwrap_or_else(|e| panic!("{e}"));
    }
    w.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{catalogue, Found, Limits};

    fn pom(g: &str, a: &str, v: &str) -> Vec<u8> {
        format!("#Generated by Maven\ngroupId={g}\nartifactId={a}\nversion={v}\n").into_bytes()
    }

    fn got(found: &Found) -> Vec<String> {
        found
            .packages
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect()
    }

    #[test]
    fn jar_with_nested_jars() {
        let log4j = build_zip(&[
            ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
            (
                "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
                &pom("org.apache.logging.log4j", "log4j-core", "2.14.1"),
            ),
        ]);
        let deeper = build_zip(&[("lib/deeper.jar", &log4j)]);
        let app = build_zip(&[
            (
                "META-INF/maven/com.example/app/pom.properties",
                &pom("com.example", "app", "1.0.0"),
            ),
            ("BOOT-INF/lib/log4j-core-2.14.1.jar", &log4j),
            ("BOOT-INF/lib/nested.jar", &deeper),
        ]);
        let found = catalogue("opt/app/app.jar", &app, &Limits::default()).unwrap();
        assert_eq!(
            got(&found),
            [
                "com.example:app@1.0.0",
                "org.apache.logging.log4j:log4j-core@2.14.1"
            ]
        );
        // nested.jar has no pom.properties of its own, and its own nested jar is not opened.
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert_eq!(
            found.packages[1].purl(None).unwrap().to_string(),
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        assert_eq!(found.packages[1].ecosystem(None).as_deref(), Some("Maven"));
    }

    #[test]
    fn zip_bombs_stop_at_the_budget() {
        let zeros = vec![0u8; 8 * 1024 * 1024];
        // Entries that are not pom.properties or jars are never inflated; these are.
        let inner = build_zip(&[("META-INF/maven/g/b/pom.properties", &zeros)]);
        let bomb = build_zip(&[
            ("META-INF/maven/g/a/pom.properties", &pom("g", "a", "1")),
            ("lib/1.jar", &inner),
            ("lib/zeros.jar", &zeros),
            ("lib/3.jar", &inner),
        ]);
        assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
        let limits = Limits {
            max_decompressed_bytes: 1024 * 1024,
            ..Limits::default()
        };
        let found = catalogue("x.jar", &bomb, &limits).unwrap();
        assert_eq!(got(&found), ["g:a@1"]);
        assert!(
            found.warnings.iter().any(|w| w.contains("budget")),
            "{:?}",
            found.warnings
        );
    }

    #[test]
    fn hostile_archives() {
        let limits = Limits::default();
        assert!(catalogue("x.jar", b"PK\x03\x04garbage", &limits).is_err());
        assert!(catalogue("x.jar", b"", &limits).is_err());
        let good = build_zip(&[("META-INF/maven/g/a/pom.properties", &pom("g", "a", "1"))]);
        for cut in 0..good.len() {
            let _ = catalogue("x.jar", &good[..cut], &limits);
        }
        let partial = build_zip(&[("META-INF/maven/g/a/pom.properties", b"groupId=g\n")]);
        let found = catalogue("x.jar", &partial, &limits).unwrap();
        assert!(found.packages.is_empty());
        assert_eq!(found.warnings.len(), 2, "{:?}", found.warnings);
        let few = Limits {
            max_archive_entries: 1,
            ..Limits::default()
        };
        let two = build_zip(&[("a", b"1"), ("b", b"2")]);
        let err = catalogue("x.jar", &two, &few).unwrap_err();
        assert!(err.to_string().contains("max_archive_entries"));
    }

    #[test]
    fn pom_paths() {
        assert!(is_pom_properties("META-INF/maven/g/a/pom.properties"));
        assert!(!is_pom_properties("META-INF/maven/g/pom.properties"));
        assert!(!is_pom_properties("x/META-INF/maven/g/a/pom.properties"));
    }
}
