//! Rust: `Cargo.lock` files, and binaries built with `cargo auditable`, which carry their
//! dependency list as zlib-compressed JSON in an ELF section `.dep-v0`.
//!
//! Packages without a source are left out: in a `Cargo.lock` they are the workspace's own
//! crates and path dependencies, in auditable data `local` crates; they are the application,
//! not something published under that name on crates.io, and matching them by name would
//! only give false alarms. Git and alternative-registry crates are kept with
//! [`Package::repository`](crate::Package::repository) set (and so no OSV ecosystem).
//! Auditable data marks build-time-only crates (build scripts, proc macros) `kind: build`;
//! they are not in the binary and are left out.

use std::io::Read as _;

use serde::Deserialize;

use crate::elf::Elf;
use crate::{CatalogError, Ctx, Kind};

const CRATES_IO: [&str; 2] = [
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    source: Option<String>,
}

pub(crate) fn lockfile(ctx: &mut Ctx<'_>, bytes: &[u8]) -> Result<(), CatalogError> {
    const FORMAT: &str = "Cargo.lock";
    let text = std::str::from_utf8(bytes).map_err(|_| ctx.malformed(FORMAT, "not UTF-8"))?;
    // toml_edit bounds its own nesting (a recursion limit), so deep input is an error.
    let lock: Lock = toml::from_str(text).map_err(|e| ctx.malformed(FORMAT, e.message()))?;
    if lock.package.len() > ctx.limits.max_packages {
        return Err(ctx.limit("max_packages", ctx.limits.max_packages));
    }
    for p in lock.package {
        let Some(source) = p.source else {
            continue;
        };
        let mut pkg = ctx.package(Kind::Cargo, &p.name, &p.version);
        if !CRATES_IO.contains(&source.as_str()) {
            // Git sources carry `#<commit>`; the repository is what matters.
            let repo = source.split('#').next().unwrap_or(&source);
            pkg.repository = Some(repo.to_owned());
        }
        ctx.push(pkg)?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct Audit {
    packages: Vec<AuditPackage>,
}

#[derive(Deserialize)]
struct AuditPackage {
    name: String,
    version: String,
    source: String,
    #[serde(default)]
    kind: Option<String>,
}

pub(crate) fn auditable(ctx: &mut Ctx<'_>, elf: &Elf<'_>) -> Result<(), CatalogError> {
    let Some(section) = elf.section(".dep-v0") else {
        return Ok(());
    };
    let max = ctx.limits.max_decompressed_bytes;
    let mut json = Vec::new();
    let inflated = flate2::read::ZlibDecoder::new(section)
        .take(max as u64 + 1)
        .read_to_end(&mut json);
    if let Err(e) = inflated {
        ctx.warn(format!(
            "cargo-auditable data (.dep-v0) does not inflate: {e}"
        ));
        return Ok(());
    }
    if json.len() > max {
        return Err(ctx.limit("max_decompressed_bytes", max));
    }
    let audit: Audit = match serde_json::from_slice(&json) {
        Ok(a) => a,
        Err(e) => {
            ctx.warn(format!(
                "cargo-auditable data (.dep-v0) is not its JSON: {e}"
            ));
            return Ok(());
        }
    };
    if audit.packages.len() > ctx.limits.max_packages {
        return Err(ctx.limit("max_packages", ctx.limits.max_packages));
    }
    for p in audit.packages {
        if p.kind.as_deref() == Some("build") || p.source == "local" {
            continue;
        }
        let mut pkg = ctx.package(Kind::Cargo, &p.name, &p.version);
        if p.source != "crates.io" {
            pkg.repository = Some(p.source);
        }
        ctx.push(pkg)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::io::Write as _;

    use crate::{catalogue, elf, Found, Limits};

    fn got(found: &Found) -> Vec<String> {
        found
            .packages
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect()
    }

    #[test]
    fn lockfile() {
        let lock = r#"
version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["serde"]

[[package]]
name = "serde"
version = "1.0.190"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "abc"

[[package]]
name = "sparse"
version = "0.1.0"
source = "sparse+https://index.crates.io/"

[[package]]
name = "forked"
version = "0.2.0"
source = "git+https://github.com/x/forked?branch=main#0123abcd"
"#;
        let found = catalogue("src/Cargo.lock", lock.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(
            got(&found),
            ["serde@1.0.190", "sparse@0.1.0", "forked@0.2.0"]
        );
        assert_eq!(
            found.packages[0].ecosystem(None).as_deref(),
            Some("crates.io")
        );
        assert_eq!(found.packages[2].ecosystem(None), None);
        assert_eq!(
            found.packages[2].repository.as_deref(),
            Some("git+https://github.com/x/forked?branch=main")
        );
        for bad in [&b"[[package]]\nname = 1\n"[..], b"\xff", b"[[[["] {
            let err = catalogue("Cargo.lock", bad, &Limits::default()).unwrap_err();
            assert_eq!(err.code(), "catalog-malformed");
        }
        let deep = "a = ".to_owned() + &"[".repeat(10_000);
        assert!(catalogue("Cargo.lock", deep.as_bytes(), &Limits::default()).is_err());
    }

    fn zlib(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn auditable_binary() {
        let json = br#"{"packages":[
            {"name":"app","version":"0.1.0","source":"local","dependencies":[1,2],"root":true},
            {"name":"serde","version":"1.0.190","source":"crates.io"},
            {"name":"cc","version":"1.0.83","source":"crates.io","kind":"build"},
            {"name":"g","version":"0.1.0","source":"git"}]}"#;
        let bin = elf::build(&[(".text", b"\xc3"), (".dep-v0", &zlib(json))]);
        let found = catalogue("usr/local/bin/app", &bin, &Limits::default()).unwrap();
        assert_eq!(got(&found), ["serde@1.0.190", "g@0.1.0"]);
        assert!(found.warnings.is_empty());
        assert_eq!(
            found.packages[0].purl(None).unwrap().to_string(),
            "pkg:cargo/serde@1.0.190"
        );
    }

    #[test]
    fn auditable_bombs_and_garbage() {
        let bomb = zlib(&vec![b' '; 4 * 1024 * 1024]);
        let bin = elf::build(&[(".dep-v0", &bomb)]);
        let limits = Limits {
            max_decompressed_bytes: 1024 * 1024,
            ..Limits::default()
        };
        let err = catalogue("usr/bin/app", &bin, &limits).unwrap_err();
        assert!(err.to_string().contains("max_decompressed_bytes"), "{err}");

        for section in [b"not zlib".to_vec(), zlib(b"{\"packages\":7}")] {
            let bin = elf::build(&[(".dep-v0", &section)]);
            let found = catalogue("usr/bin/app", &bin, &Limits::default()).unwrap();
            assert!(found.packages.is_empty());
            assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        }
    }
}
