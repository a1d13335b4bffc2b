//! Go binaries: the build information the linker writes into `.go.buildinfo`.
//!
//! Since Go 1.18 the section starts with a 32-byte header (`\xff Go buildinf:`, pointer size,
//! flags); flag bit 2 says the Go version and the module information follow inline as
//! varint-length-prefixed strings. The module information, between two 16-byte sentinels,
//! is tab-separated lines: `path`, `mod` (the main module), `dep` (each dependency), `=>`
//! (a replacement of the line before) and `build` settings. Older binaries hold pointers into
//! the data segment instead; they are reported as a warning, not read.
//!
//! Packages: the toolchain as `stdlib` at the Go version (`go1.22.1` → `1.22.1`, as OSV's Go
//! records name and version it), the main module unless its version is `(devel)`, and each
//! dependency. Binaries built outside module mode (GOPATH builds, some distribution
//! packages such as Debian's `nats-server` or the static `docker` CLI) have no `mod` line: they
//! give `stdlib` and a warning saying the program itself is not identified. A dependency
//! replaced by another module is reported as the replacement; one
//! replaced by a local directory keeps its own path and version, with a warning.

use crate::elf::Elf;
use crate::{CatalogError, Ctx, Kind};

const MAGIC: &[u8] = b"\xff Go buildinf:";
const FLAG_VERSION_INLINE: u8 = 0x2;

pub(crate) fn binary(ctx: &mut Ctx<'_>, elf: &Elf<'_>) -> Result<(), CatalogError> {
    let info = match elf.section(".go.buildinfo") {
        Some(section) => section,
        None if !elf.has_section_headers() => match scan(elf.bytes()) {
            Some(at) => &elf.bytes()[at..],
            None => return Ok(()),
        },
        None => return Ok(()),
    };
    let (version, modinfo) = match read_header(info) {
        Ok(Some(found)) => found,
        Ok(None) => {
            ctx.warn(
                "a Go binary built before Go 1.18 (build info by pointer): its modules are \
                 not read",
            );
            return Ok(());
        }
        Err(reason) => {
            ctx.warn(format!("Go build info unreadable: {reason}"));
            return Ok(());
        }
    };
    let version = String::from_utf8_lossy(version);
    let go = version.split_whitespace().next().unwrap_or("");
    match go.strip_prefix("go") {
        Some(v) if v.starts_with(|c: char| c.is_ascii_digit()) => {
            let p = ctx.package(Kind::Go, "stdlib", v);
            ctx.push(p)?;
        }
        _ => ctx.warn(format!(
            "Go version {:?} is not a release: stdlib not reported",
            crate::excerpt(&version)
        )),
    }
    modules(ctx, modinfo)
}

/// Build info at a 16-byte-aligned offset, as Go's own reader looks for it when there are no
/// section headers.
fn scan(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len())
        .step_by(16)
        .find(|at| bytes[*at..].starts_with(MAGIC))
}

/// The Go version and the module information, both still raw.
type Inline<'a> = (&'a [u8], &'a [u8]);

/// `Ok(None)` for the pre-1.18 pointer format.
fn read_header(info: &[u8]) -> Result<Option<Inline<'_>>, String> {
    if !info.starts_with(MAGIC) || info.len() < 32 {
        return Err("the section does not start with the build info header".into());
    }
    if info[15] & FLAG_VERSION_INLINE == 0 {
        return Ok(None);
    }
    let rest = &info[32..];
    let (version, rest) = read_string(rest).ok_or("the Go version is truncated")?;
    let (modinfo, _) = read_string(rest).ok_or("the module information is truncated")?;
    // Between 16-byte sentinels; the last line before the closing one ends with '\n'.
    let modinfo = if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        &modinfo[16..modinfo.len() - 16]
    } else {
        &[][..]
    };
    Ok(Some((version, modinfo)))
}

/// A uvarint length, then that many bytes.
fn read_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    let mut shift = 0u32;
    let mut i = 0;
    loop {
        let b = *bytes.get(i)?;
        i += 1;
        if shift >= 64 {
            return None;
        }
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let len = usize::try_from(len).ok()?;
    let end = i.checked_add(len)?;
    Some((bytes.get(i..end)?, &bytes[end..]))
}

/// One `mod`/`dep` line and what replaces it.
struct Module {
    path: String,
    version: String,
    main: bool,
    replaced_by: Option<(String, String)>,
}

fn modules(ctx: &mut Ctx<'_>, modinfo: &[u8]) -> Result<(), CatalogError> {
    let mut mods: Vec<Module> = Vec::new();
    let mut main_path = None;
    for line in modinfo.split(|b| *b == b'\n') {
        if line.len() > ctx.limits.max_line_bytes {
            return Err(ctx.limit("max_line_bytes", ctx.limits.max_line_bytes));
        }
        let line = String::from_utf8_lossy(line);
        let mut fields = line.split('\t');
        let kind = fields.next().unwrap_or("");
        let path = fields.next().unwrap_or("").to_owned();
        let version = fields.next().unwrap_or("").to_owned();
        match kind {
            "path" => main_path = Some(path),
            "mod" | "dep" => {
                if mods.len() >= ctx.limits.max_packages {
                    return Err(ctx.limit("max_packages", ctx.limits.max_packages));
                }
                mods.push(Module {
                    path,
                    version,
                    main: kind == "mod",
                    replaced_by: None,
                });
            }
            "=>" => match mods.last_mut() {
                Some(m) => m.replaced_by = Some((path, version)),
                None => ctx.warn("a Go build info replacement (=>) follows no module"),
            },
            _ => {}
        }
    }
    if !mods.iter().any(|m| m.main) {
        // GOPATH-mode and some distribution builds: no module, so no name or version to
        // report for the program itself.
        ctx.warn(format!(
            "Go build info names no main module (built outside module mode{}): only its \
             toolchain and listed dependencies are reported",
            main_path
                .map(|p| format!(", package {}", crate::excerpt(&p)))
                .unwrap_or_default()
        ));
    }
    for m in mods {
        let (path, version) = match m.replaced_by {
            Some((path, version)) if !version.is_empty() => (path, version),
            Some((dir, _)) => {
                if !m.main {
                    ctx.warn(format!(
                        "Go module {} is replaced by the local directory {}: reported as {}",
                        crate::excerpt(&m.path),
                        crate::excerpt(&dir),
                        crate::excerpt(&m.version)
                    ));
                }
                (m.path, m.version)
            }
            None => (m.path, m.version),
        };
        if m.main && (version == "(devel)" || version.is_empty()) {
            continue;
        }
        let p = ctx.package(Kind::Go, &path, &version);
        ctx.push(p)?;
    }
    Ok(())
}

/// A `.go.buildinfo` section in the inline format, for tests.
#[cfg(test)]
pub(crate) fn encode(version: &str, modinfo: &str) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.push(8);
    out.push(FLAG_VERSION_INLINE);
    out.resize(32, 0);
    let varint = |out: &mut Vec<u8>, mut n: usize| loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    };
    varint(&mut out, version.len());
    out.extend_from_slice(version.as_bytes());
    let wrapped = [&[0x30u8; 16][..], modinfo.as_bytes(), &[0x31u8; 16][..]].concat();
    varint(&mut out, wrapped.len());
    out.extend_from_slice(&wrapped);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{catalogue, elf, Found, Limits};

    fn run(section: &[u8]) -> Found {
        let bin = elf::build(&[(".text", b"\xc3"), (".go.buildinfo", section)]);
        catalogue("usr/bin/app", &bin, &Limits::default()).unwrap()
    }

    fn got(found: &Found) -> Vec<String> {
        found
            .packages
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect()
    }

    const MODINFO: &str = "path\texample.com/app/cmd/app\n\
        mod\texample.com/app\tv1.2.3\th1:abc=\n\
        dep\tgithub.com/a/b\tv1.0.0\th1:x=\n\
        dep\tgithub.com/c/d\tv0.1.0\n\
        =>\tgithub.com/fork/d\tv0.1.1\th1:y=\n\
        dep\tgithub.com/e/f\tv2.0.0\n\
        =>\t../f\t\n\
        build\t-compiler=gc\n";

    #[test]
    fn inline_build_info() {
        let found = run(&encode("go1.22.1 X:boringcrypto", MODINFO));
        assert_eq!(
            got(&found),
            [
                "stdlib@1.22.1",
                "example.com/app@v1.2.3",
                "github.com/a/b@v1.0.0",
                "github.com/fork/d@v0.1.1",
                "github.com/e/f@v2.0.0",
            ]
        );
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert_eq!(found.packages[0].ecosystem(None).as_deref(), Some("Go"));
        assert_eq!(
            found.packages[2].purl(None).unwrap().to_string(),
            "pkg:golang/github.com/a/b@v1.0.0"
        );
    }

    #[test]
    fn devel_main_module_and_no_deps() {
        let found = run(&encode(
            "go1.21.5",
            "path\tgithub.com/x/y\nmod\tgithub.com/x/y\t(devel)\t\n",
        ));
        assert_eq!(got(&found), ["stdlib@1.21.5"]);
        assert!(found.warnings.is_empty());
        // No module at all (GOPATH mode): stdlib and a warning.
        let found = run(&encode(
            "go1.19.8",
            "path\tgithub.com/x/y\nbuild\t-compiler=gc\n",
        ));
        assert_eq!(got(&found), ["stdlib@1.19.8"]);
        assert!(
            found.warnings[0].contains("no main module"),
            "{:?}",
            found.warnings
        );
    }

    #[test]
    fn old_format_and_damage_are_warnings() {
        let mut old = encode("go1.16", "");
        old[15] = 0;
        let found = run(&old);
        assert!(found.packages.is_empty());
        assert!(
            found.warnings[0].contains("before Go 1.18"),
            "{:?}",
            found.warnings
        );
        let full = encode("go1.22.1", MODINFO);
        for cut in 0..full.len() {
            let _ = run(&full[..cut]);
        }
        let found = run(&full[..40]);
        assert!(
            found.warnings[0].contains("truncated"),
            "{:?}",
            found.warnings
        );
        // A huge varint.
        let mut huge = full[..32].to_vec();
        huge.extend_from_slice(&[0xff; 12]);
        assert!(run(&huge).packages.is_empty());
    }

    #[test]
    fn found_without_section_headers() {
        let mut bin = vec![0u8; 64];
        bin[..4].copy_from_slice(b"\x7fELF");
        bin[4] = 2;
        bin[5] = 1;
        bin.extend_from_slice(&encode("go1.20", "mod\tm\tv1.0.0\t\n"));
        let found = catalogue("usr/bin/app", &bin, &Limits::default()).unwrap();
        assert_eq!(got(&found), ["stdlib@1.20", "m@v1.0.0"]);
    }
}
