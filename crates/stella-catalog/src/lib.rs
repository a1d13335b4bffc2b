//! Stella Ops image cataloguer: finds the packages installed in a container image.
//!
//! Another crate walks the image's layers; this one says which files it wants ([`wants`]) and
//! turns each file's bytes into [`Package`]s ([`catalogue`]). It reads:
//!
//! | what | files |
//! |---|---|
//! | dpkg (Debian, Ubuntu) | `var/lib/dpkg/status`, `var/lib/dpkg/status.d/*` (distroless) |
//! | apk (Alpine, Wolfi) | `lib/apk/db/installed` |
//! | RPM (RHEL, Alma, Rocky, Fedora, SUSE) | `var/lib/rpm/rpmdb.sqlite`, `usr/lib/sysimage/rpm/rpmdb.sqlite` |
//! | Python | `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, `*.egg-info` files |
//! | npm | `package-lock.json` (v1–v3), `node_modules/[@scope/]name/package.json` |
//! | Rust | `Cargo.lock`; ELF binaries built with `cargo auditable` (`.dep-v0`) |
//! | Go | ELF binaries' build info (`.go.buildinfo`): the toolchain as `stdlib`, modules |
//! | Maven | `*.jar`, `*.war`, `*.ear`: `META-INF/maven/**/pom.properties`, nested jars one level deep |
//!
//! and the distribution from `etc/os-release` (or `usr/lib/os-release`) with [`os_release`],
//! which gives OS packages their purl namespace and `distro` qualifier and their OSV ecosystem
//! ([`Package::purl`], [`Package::ecosystem`]).
//!
//! Every [`Package::name`] is the name OSV knows the package by (`@scope/name` for npm,
//! `group:artifact` for Maven, the module path for Go, the binary package for dpkg with the
//! source package beside it), so `(ecosystem, name, version)` is a lookup key.
//!
//! # Threat model
//!
//! Images are untrusted: anyone who can push one chooses every byte of every file handed in
//! here. Each parser is therefore bounded by [`Limits`] (input size, packages per file, line
//! length, header entries, archive entries, decompressed bytes, nesting), never panics, never
//! recurses without a bound, and does no I/O of its own: it takes `(path, &[u8])` and returns
//! data. The one exception is the RPM database, which is an SQLite file: SQLite opens files
//! only, so its bytes are written to a private temporary file and opened read-only and
//! immutable, with untrusted schema functions off, a cap on the size of any string or blob and
//! a budget of virtual-machine steps per query.
//!
//! A file that cannot be read at all (truncated, not the format its path promises, over a
//! limit) is a [`CatalogError`]; an entry that cannot be read inside an otherwise good file
//! is skipped with a warning in [`Found::warnings`]. Nothing is dropped silently except what
//! is documented as out of scope (packages not installed, path dependencies, dev-only npm
//! entries in lockfiles, `gpg-pubkey` pseudo-packages).
//!
//! ```
//! let status = b"Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\n\
//! Source: zlib\nVersion: 1:1.2.13.dfsg-1\n\n";
//! let path = "var/lib/dpkg/status";
//! assert_eq!(stella_catalog::wants(path, status.len() as u64, 0o100644), stella_catalog::Want::Read);
//! let found = stella_catalog::catalogue(path, status, &stella_catalog::Limits::default())?;
//! let os = stella_catalog::os_release(b"ID=debian\nVERSION_ID=\"12\"\n");
//! let zlib = &found.packages[0];
//! assert_eq!(zlib.ecosystem(os.as_ref()).as_deref(), Some("Debian:12"));
//! assert_eq!(
//!     zlib.purl(os.as_ref()).unwrap().to_string(),
//!     "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib"
//! );
//! # Ok::<(), stella_catalog::CatalogError>(())
//! ```

mod apk;
mod cargo;
mod dpkg;
mod elf;
mod error;
mod golang;
mod maven;
mod npm;
mod os_release;
mod package;
mod python;
mod rpm;
mod stanza;

use serde::Serialize;

pub use error::CatalogError;
pub use os_release::{os_release, OsRelease};
pub use package::{Kind, Package};

/// What the image walker should do with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Want {
    /// Not interesting.
    Skip,
    /// Read it and hand it to [`catalogue`].
    Read,
    /// An executable: read it only if it starts with `\x7fELF` (Go and Rust binaries).
    ReadIfElf,
}

/// Bounds on what one file may make this crate do. Going over one is a
/// [`CatalogError::Limit`] naming it, except where a warning says an archive entry was
/// skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Size of a file handed to [`catalogue`].
    pub max_file_bytes: usize,
    /// Packages one file may yield.
    pub max_packages: usize,
    /// Length of one line in a line-oriented format (dpkg, apk, METADATA, pom.properties,
    /// Go build info).
    pub max_line_bytes: usize,
    /// Index entries in one RPM header.
    pub max_rpm_header_entries: usize,
    /// Bytes of one RPM header blob.
    pub max_rpm_header_bytes: usize,
    /// SQLite virtual-machine steps (in thousands) for reading an RPM database.
    pub max_sqlite_kilo_steps: u64,
    /// Entries in one zip archive (outer or nested jar).
    pub max_archive_entries: usize,
    /// Nested jars opened inside one archive.
    pub max_nested_archives: usize,
    /// Bytes decompressed from one file in all (jar entries, nested jars, `.dep-v0`).
    pub max_decompressed_bytes: usize,
    /// Nesting of package-lock v1 `dependencies`. (serde_json refuses JSON nested deeper
    /// than 128 by itself.)
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 512 * 1024 * 1024,
            max_packages: 100_000,
            max_line_bytes: 64 * 1024,
            max_rpm_header_entries: 65_535,
            max_rpm_header_bytes: 64 * 1024 * 1024,
            max_sqlite_kilo_steps: 500_000,
            max_archive_entries: 100_000,
            max_nested_archives: 1_000,
            max_decompressed_bytes: 256 * 1024 * 1024,
            max_depth: 64,
        }
    }
}

/// What one file gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Found {
    pub packages: Vec<Package>,
    /// Entries skipped and why, at most [`MAX_WARNINGS`] (then one line saying how many
    /// more).
    pub warnings: Vec<String>,
    /// Set when the file was an os-release file.
    pub os: Option<OsRelease>,
}

/// Warnings kept per file; more are counted, not kept.
pub const MAX_WARNINGS: usize = 100;

/// The formats, by path. One place decides, for [`wants`] and [`catalogue`] alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    OsRelease,
    DpkgStatus,
    DpkgStatusD,
    Apk,
    RpmSqlite,
    RpmLegacy,
    PythonMetadata,
    NpmLock,
    NpmPackageJson,
    CargoLock,
    Jar,
}

fn format_of(path: &str) -> Option<Format> {
    let path = path.trim_start_matches("./").trim_start_matches('/');
    let file = path.rsplit('/').next().unwrap_or(path);
    let dir = path.strip_suffix(file).unwrap_or("").trim_end_matches('/');
    Some(match path {
        "etc/os-release" | "usr/lib/os-release" => Format::OsRelease,
        "var/lib/dpkg/status" => Format::DpkgStatus,
        "lib/apk/db/installed" => Format::Apk,
        "var/lib/rpm/rpmdb.sqlite" | "usr/lib/sysimage/rpm/rpmdb.sqlite" => Format::RpmSqlite,
        "var/lib/rpm/Packages"
        | "var/lib/rpm/Packages.db"
        | "usr/lib/sysimage/rpm/Packages"
        | "usr/lib/sysimage/rpm/Packages.db" => Format::RpmLegacy,
        _ if dir == "var/lib/dpkg/status.d" => {
            if file.ends_with(".md5sums") || file.starts_with('.') {
                return None;
            }
            Format::DpkgStatusD
        }
        _ if (file == "METADATA" && dir.ends_with(".dist-info"))
            || (file == "PKG-INFO" && dir.ends_with(".egg-info"))
            || file.ends_with(".egg-info") =>
        {
            Format::PythonMetadata
        }
        _ if file == "package-lock.json" && !path.contains("node_modules/") => Format::NpmLock,
        _ if file == "package.json" && npm::is_installed_package_dir(dir) => Format::NpmPackageJson,
        _ if file == "Cargo.lock" => Format::CargoLock,
        _ if {
            let lower = file.to_ascii_lowercase();
            lower.ends_with(".jar") || lower.ends_with(".war") || lower.ends_with(".ear")
        } =>
        {
            Format::Jar
        }
        _ => return None,
    })
}

/// Whether the image walker should read a file. `path` is normalised and relative (no
/// leading `/`), `size` its size in bytes, `mode` its `st_mode` (the file-type bits may be
/// left out; when present, anything but a regular file is skipped). Executables are
/// [`Want::ReadIfElf`]; the walker checks the first four bytes. Sizes are not checked here:
/// [`catalogue`] refuses files over [`Limits::max_file_bytes`].
pub fn wants(path: &str, size: u64, mode: u32) -> Want {
    let file_type = mode & 0o170_000;
    if file_type != 0 && file_type != 0o100_000 {
        return Want::Skip;
    }
    if format_of(path).is_some() {
        return Want::Read;
    }
    // The smallest ELF header is 52 bytes.
    if mode & 0o111 != 0 && size >= 52 {
        return Want::ReadIfElf;
    }
    Want::Skip
}

/// Catalogues one file: `path` as [`wants`] saw it, `bytes` its content.
pub fn catalogue(path: &str, bytes: &[u8], limits: &Limits) -> Result<Found, CatalogError> {
    let mut ctx = Ctx::new(path, limits);
    if bytes.len() > limits.max_file_bytes {
        return Err(ctx.limit("max_file_bytes", limits.max_file_bytes));
    }
    match format_of(path) {
        Some(Format::OsRelease) => ctx.found.os = os_release(bytes),
        Some(Format::DpkgStatus) => dpkg::status(&mut ctx, bytes, false)?,
        Some(Format::DpkgStatusD) => dpkg::status(&mut ctx, bytes, true)?,
        Some(Format::Apk) => apk::installed(&mut ctx, bytes)?,
        Some(Format::RpmSqlite) => rpm::sqlite(&mut ctx, bytes)?,
        Some(Format::RpmLegacy) => ctx.warn(
            "an RPM database in the Berkeley DB or NDB format: not read (only rpmdb.sqlite \
             is); the image's RPM packages are not catalogued",
        ),
        Some(Format::PythonMetadata) => python::metadata(&mut ctx, bytes)?,
        Some(Format::NpmLock) => npm::lockfile(&mut ctx, bytes)?,
        Some(Format::NpmPackageJson) => npm::package_json(&mut ctx, bytes)?,
        Some(Format::CargoLock) => cargo::lockfile(&mut ctx, bytes)?,
        Some(Format::Jar) => maven::archive(&mut ctx, bytes)?,
        None if bytes.starts_with(elf::MAGIC) => binary(&mut ctx, bytes)?,
        None => {}
    }
    Ok(ctx.finish())
}

/// Go build info and cargo-auditable data: a binary may carry either (or, in principle, both).
fn binary(ctx: &mut Ctx<'_>, bytes: &[u8]) -> Result<(), CatalogError> {
    let elf = match elf::Elf::parse(bytes) {
        Ok(elf) => elf,
        Err(reason) => return Err(ctx.malformed("ELF", reason)),
    };
    golang::binary(ctx, &elf)?;
    cargo::auditable(ctx, &elf)?;
    Ok(())
}

/// One file's catalogue in the making: where errors and warnings name the file and limits
/// are counted.
pub(crate) struct Ctx<'a> {
    pub(crate) path: &'a str,
    pub(crate) limits: &'a Limits,
    found: Found,
    dropped_warnings: usize,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(path: &'a str, limits: &'a Limits) -> Self {
        Ctx {
            path,
            limits,
            found: Found::default(),
            dropped_warnings: 0,
        }
    }

    pub(crate) fn warn(&mut self, message: impl Into<String>) {
        if self.found.warnings.len() < MAX_WARNINGS {
            self.found
                .warnings
                .push(format!("{}: {}", self.path, message.into()));
        } else {
            self.dropped_warnings += 1;
        }
    }

    /// Adds a package built by [`Ctx::package`]; refuses the file past `max_packages`.
    /// Names and versions must be non-empty and printable: otherwise a warning.
    pub(crate) fn push(&mut self, package: Package) -> Result<(), CatalogError> {
        if let Some(problem) = package.problem() {
            self.warn(format!(
                "{} package {:?} {:?} skipped: {problem}",
                package.kind.as_str(),
                excerpt(&package.name),
                excerpt(&package.version)
            ));
            return Ok(());
        }
        if self.found.packages.len() >= self.limits.max_packages {
            return Err(self.limit("max_packages", self.limits.max_packages));
        }
        self.found.packages.push(package);
        Ok(())
    }

    pub(crate) fn package(&self, kind: Kind, name: &str, version: &str) -> Package {
        Package::new(kind, name, version, self.path)
    }

    pub(crate) fn limit(&self, limit: &'static str, max: usize) -> CatalogError {
        CatalogError::Limit {
            path: self.path.to_owned(),
            limit,
            max: max as u64,
        }
    }

    pub(crate) fn malformed(
        &self,
        format: &'static str,
        reason: impl Into<String>,
    ) -> CatalogError {
        CatalogError::Malformed {
            path: self.path.to_owned(),
            format,
            reason: reason.into(),
        }
    }

    fn finish(mut self) -> Found {
        if self.dropped_warnings > 0 {
            let more = self.dropped_warnings;
            self.found
                .warnings
                .push(format!("{}: {more} more warnings not shown", self.path));
        }
        self.found
    }
}

/// At most 80 characters of something from the input, for messages.
pub(crate) fn excerpt(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn wants_by_path() {
        let reg = 0o100_644;
        for path in [
            "var/lib/dpkg/status",
            "var/lib/dpkg/status.d/libc6",
            "lib/apk/db/installed",
            "var/lib/rpm/rpmdb.sqlite",
            "usr/lib/sysimage/rpm/rpmdb.sqlite",
            "var/lib/rpm/Packages",
            "usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
            "usr/lib/python3.11/site-packages/six-1.16.0-py3.11.egg-info/PKG-INFO",
            "usr/lib/python3/dist-packages/distro-1.8.0.egg-info",
            "app/package-lock.json",
            "package-lock.json",
            "app/node_modules/lodash/package.json",
            "app/node_modules/@babel/core/package.json",
            "app/node_modules/a/node_modules/b/package.json",
            "src/Cargo.lock",
            "opt/app/app.jar",
            "opt/tomcat/webapps/ROOT.WAR",
            "etc/os-release",
            "usr/lib/os-release",
        ] {
            assert_eq!(wants(path, 10, reg), Want::Read, "{path}");
        }
        for path in [
            "var/lib/dpkg/status.d/libc6.md5sums",
            "var/lib/dpkg/status-old",
            "app/node_modules/lodash/fp/package.json",
            "app/node_modules/.package-lock.json",
            "app/node_modules/x/package-lock.json",
            "app/package.json",
            "usr/share/doc/readme",
            "usr/lib/python3/dist-packages/x.dist-info/RECORD",
        ] {
            assert_eq!(wants(path, 10, reg), Want::Skip, "{path}");
        }
        assert_eq!(wants("usr/bin/app", 1000, 0o100_755), Want::ReadIfElf);
        assert_eq!(wants("usr/bin/app", 1000, 0o755), Want::ReadIfElf);
        assert_eq!(wants("usr/bin/app", 10, 0o100_755), Want::Skip);
        assert_eq!(wants("usr/bin/app", 1000, 0o100_644), Want::Skip);
        // Symlinks, directories, devices.
        assert_eq!(wants("var/lib/dpkg/status", 10, 0o120_777), Want::Skip);
        assert_eq!(wants("usr/bin", 4096, 0o040_755), Want::Skip);
    }

    #[test]
    fn an_unknown_file_gives_nothing() {
        let found = catalogue("usr/bin/sh", b"#!/bin/sh\n", &Limits::default()).unwrap();
        assert!(found.packages.is_empty() && found.warnings.is_empty());
    }

    #[test]
    fn files_over_the_size_limit_are_refused() {
        let limits = Limits {
            max_file_bytes: 4,
            ..Limits::default()
        };
        let err = catalogue("var/lib/dpkg/status", b"Package: a\n", &limits).unwrap_err();
        assert_eq!(err.code(), "catalog-limit");
        assert!(err.to_string().contains("max_file_bytes"), "{err}");
    }

    #[test]
    fn os_release_files_set_the_os() {
        let found = catalogue(
            "etc/os-release",
            b"ID=alpine\nVERSION_ID=3.18.4\n",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(found.os.unwrap().id, "alpine");
    }

    #[test]
    fn legacy_rpm_databases_are_reported() {
        let found = catalogue("var/lib/rpm/Packages", b"\0\0", &Limits::default()).unwrap();
        assert!(found.packages.is_empty());
        assert!(
            found.warnings[0].contains("Berkeley DB"),
            "{:?}",
            found.warnings
        );
    }

    #[test]
    fn warnings_are_capped() {
        let limits = Limits::default();
        let mut ctx = Ctx::new("f", &limits);
        for i in 0..MAX_WARNINGS + 5 {
            ctx.warn(format!("w{i}"));
        }
        let found = ctx.finish();
        assert_eq!(found.warnings.len(), MAX_WARNINGS + 1);
        assert!(found.warnings[MAX_WARNINGS].contains("5 more"));
    }
}
