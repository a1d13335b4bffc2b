//! RPM's database as `rpmdb.sqlite` (RHEL 9, Alma, Rocky, Fedora 33+, SUSE 15.4+...):
//! table `Packages(hnum, blob)`, each blob one package's header.
//!
//! A header blob (as rpm stores it, without the 8-byte magic of a header in a package file)
//! is: `il` and `dl` (big-endian u32: index entries, data bytes), `il` index entries of 16
//! bytes (tag, type, offset into the data, count), then the `dl` data bytes. Strings are
//! NUL-terminated in the data. Every offset and length is checked against the blob.
//! `gpg-pubkey` entries (imported signing keys, not packages) are skipped.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::limits::Limit;
use rusqlite::{Connection, OpenFlags};

use crate::{CatalogError, Ctx, Kind};

pub(crate) const TAG_NAME: u32 = 1000;
pub(crate) const TAG_VERSION: u32 = 1001;
pub(crate) const TAG_RELEASE: u32 = 1002;
pub(crate) const TAG_EPOCH: u32 = 1003;
pub(crate) const TAG_ARCH: u32 = 1022;
pub(crate) const TAG_SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u32,
    ty: u32,
    offset: u32,
    count: u32,
}

/// A checked header: every entry's offset lies inside `data`.
#[derive(Debug)]
pub(crate) struct Header<'a> {
    entries: Vec<Entry>,
    data: &'a [u8],
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl<'a> Header<'a> {
    pub(crate) fn parse(blob: &'a [u8], max_entries: usize) -> Result<Header<'a>, String> {
        let (Some(il), Some(dl)) = (be32(blob, 0), be32(blob, 4)) else {
            return Err("the header is shorter than its 8-byte preamble".into());
        };
        let (il, dl) = (il as usize, dl as usize);
        if il == 0 || il > max_entries {
            return Err(format!(
                "the header claims {il} index entries (1 to {max_entries} allowed)"
            ));
        }
        let index_end = il
            .checked_mul(16)
            .and_then(|n| n.checked_add(8))
            .ok_or("the header's index size overflows")?;
        let end = index_end
            .checked_add(dl)
            .ok_or("the header's data size overflows")?;
        if end > blob.len() {
            return Err(format!(
                "the header claims {il} entries and {dl} data bytes, more than its {} bytes",
                blob.len()
            ));
        }
        let data = &blob[index_end..end];
        let mut entries = Vec::with_capacity(il);
        for i in 0..il {
            let at = 8 + i * 16;
            let (Some(tag), Some(ty), Some(offset), Some(count)) = (
                be32(blob, at),
                be32(blob, at + 4),
                be32(blob, at + 8),
                be32(blob, at + 12),
            ) else {
                return Err("the header's index is truncated".into());
            };
            entries.push(Entry {
                tag,
                ty,
                offset,
                count,
            });
        }
        Ok(Header { entries, data })
    }

    fn entry(&self, tag: u32) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }

    /// A string tag (or the first string of an array / i18n string).
    pub(crate) fn string(&self, tag: u32) -> Result<Option<&'a str>, String> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        if !matches!(e.ty, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) || e.count == 0 {
            return Err(format!(
                "tag {tag} has type {} where a string belongs",
                e.ty
            ));
        }
        let start = e.offset as usize;
        let rest = self
            .data
            .get(start..)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| format!("tag {tag} points past the header's data"))?;
        let len = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| format!("tag {tag}'s string has no terminating NUL"))?;
        std::str::from_utf8(&rest[..len])
            .map(Some)
            .map_err(|_| format!("tag {tag}'s string is not UTF-8"))
    }

    pub(crate) fn int32(&self, tag: u32) -> Result<Option<u32>, String> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        if e.ty != TYPE_INT32 || e.count == 0 {
            return Err(format!(
                "tag {tag} has type {} where an int32 belongs",
                e.ty
            ));
        }
        be32(self.data, e.offset as usize)
            .map(Some)
            .ok_or_else(|| format!("tag {tag} points past the header's data"))
    }
}

/// One package's fields, as a header gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RpmInfo {
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<u32>,
    pub arch: Option<String>,
    pub source_rpm: Option<String>,
}

pub(crate) fn info(blob: &[u8], max_entries: usize) -> Result<RpmInfo, String> {
    let h = Header::parse(blob, max_entries)?;
    let need = |tag: u32, what: &str| -> Result<String, String> {
        h.string(tag)?
            .map(str::to_owned)
            .ok_or_else(|| format!("the header has no {what}"))
    };
    Ok(RpmInfo {
        name: need(TAG_NAME, "NAME")?,
        version: need(TAG_VERSION, "VERSION")?,
        release: need(TAG_RELEASE, "RELEASE")?,
        epoch: h.int32(TAG_EPOCH)?,
        arch: h.string(TAG_ARCH)?.map(str::to_owned),
        source_rpm: h.string(TAG_SOURCERPM)?.map(str::to_owned),
    })
}

/// `openssl-3.0.7-25.el9.src.rpm` → (`openssl`, `3.0.7-25.el9`).
fn split_source_rpm(s: &str) -> Option<(&str, &str)> {
    let base = s
        .strip_suffix(".src.rpm")
        .or_else(|| s.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = base.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name, &base[name.len() + 1..]))
}

pub(crate) fn push_info(ctx: &mut Ctx<'_>, info: RpmInfo) -> Result<(), CatalogError> {
    if info.name == "gpg-pubkey" {
        return Ok(());
    }
    let version = match info.epoch {
        Some(e) => format!("{e}:{}-{}", info.version, info.release),
        None => format!("{}-{}", info.version, info.release),
    };
    let mut p = ctx.package(Kind::Rpm, &info.name, &version);
    p.epoch = info.epoch.map(u64::from);
    p.arch = info.arch;
    if let Some((n, v)) = info.source_rpm.as_deref().and_then(split_source_rpm) {
        p.source_name = Some(n.to_owned());
        p.source_version = Some(v.to_owned());
    }
    ctx.push(p)
}

/// Reads `rpmdb.sqlite`. The bytes go to a private temporary file, opened read-only and
/// immutable (no journal, no WAL, no locks), with untrusted schema functions off, strings
/// and blobs capped at `max_rpm_header_bytes` and the query's steps at
/// `max_sqlite_kilo_steps` thousand.
pub(crate) fn sqlite(ctx: &mut Ctx<'_>, bytes: &[u8]) -> Result<(), CatalogError> {
    const FORMAT: &str = "RPM sqlite database";
    if !bytes.starts_with(b"SQLite format 3\0") {
        return Err(ctx.malformed(FORMAT, "it does not start with the SQLite header"));
    }
    let io = |e: std::io::Error| format!("could not stage the database in a temporary file: {e}");
    let mut file = tempfile::NamedTempFile::new().map_err(|e| ctx.malformed(FORMAT, io(e)))?;
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .map_err(|e| ctx.malformed(FORMAT, io(e)))?;
    let steps = Arc::new(AtomicU64::new(0));
    let rows = read_rows(ctx, file.path(), &steps);
    let exhausted = steps.load(Ordering::Relaxed) > ctx.limits.max_sqlite_kilo_steps;
    drop(file);
    match rows {
        Ok(rows) => {
            for (hnum, blob) in rows {
                match info(&blob, ctx.limits.max_rpm_header_entries) {
                    Ok(i) => push_info(ctx, i)?,
                    Err(reason) => ctx.warn(format!("RPM header {hnum} skipped: {reason}")),
                }
            }
            Ok(())
        }
        Err(_) if exhausted => Err(ctx.limit(
            "max_sqlite_kilo_steps",
            ctx.limits.max_sqlite_kilo_steps as usize,
        )),
        Err(e) => Err(ctx.malformed(FORMAT, e.to_string())),
    }
}

fn read_rows(
    ctx: &Ctx<'_>,
    path: &std::path::Path,
    steps: &Arc<AtomicU64>,
) -> rusqlite::Result<Vec<(i64, Vec<u8>)>> {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '?' | '#' | '%' => uri.push_str(&format!("%{:02X}", c as u32)),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let max_len = i32::try_from(ctx.limits.max_rpm_header_bytes).unwrap_or(i32::MAX);
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, max_len);
    conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0);
    conn.execute_batch(
        "PRAGMA trusted_schema = OFF; PRAGMA cell_size_check = ON; PRAGMA mmap_size = 0;",
    )?;
    let budget = ctx.limits.max_sqlite_kilo_steps;
    let counter = Arc::clone(steps);
    conn.progress_handler(
        1000,
        Some(move || counter.fetch_add(1, Ordering::Relaxed) >= budget),
    );
    // A view or virtual table named Packages could run anything: only a plain table is read.
    let is_table: bool = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'Packages' \
         AND sql NOT LIKE '%VIRTUAL%'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n == 1),
    )?;
    if !is_table {
        return Err(rusqlite::Error::QueryReturnedNoRows);
    }
    let mut stmt = conn.prepare("SELECT hnum, blob FROM Packages")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let hnum: i64 = row.get(0).unwrap_or(-1);
        let blob: Vec<u8> = match row.get_ref(1)? {
            rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
            _ => Vec::new(),
        };
        out.push((hnum, blob));
        if out.len() > ctx.limits.max_packages {
            break;
        }
    }
    Ok(out)
}

/// Builds a header blob, for tests: string tags and an optional epoch.
#[cfg(test)]
pub(crate) fn encode(strings: &[(u32, &str)], epoch: Option<u32>) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data = Vec::new();
    if let Some(e) = epoch {
        index.extend_from_slice(&TAG_EPOCH.to_be_bytes());
        index.extend_from_slice(&TYPE_INT32.to_be_bytes());
        index.extend_from_slice(&(data.len() as u32).to_be_bytes());
        index.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(&e.to_be_bytes());
    }
    for (tag, s) in strings {
        index.extend_from_slice(&tag.to_be_bytes());
        index.extend_from_slice(&TYPE_STRING.to_be_bytes());
        index.extend_from_slice(&(data.len() as u32).to_be_bytes());
        index.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(s.as_bytes());
        data.push(0);
    }
    let il = (index.len() / 16) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(&il.to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(&index);
    out.extend_from_slice(&data);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{catalogue, Limits};
    use proptest::prelude::*;

    fn header(name: &str, version: &str, release: &str, epoch: Option<u32>) -> Vec<u8> {
        encode(
            &[
                (TAG_NAME, name),
                (TAG_VERSION, version),
                (TAG_RELEASE, release),
                (TAG_ARCH, "x86_64"),
                (
                    TAG_SOURCERPM,
                    &format!("{name}-{version}-{release}.src.rpm"),
                ),
            ],
            epoch,
        )
    }

    /// An rpmdb.sqlite as rpm creates it, with the given blobs.
    fn database(blobs: &[Vec<u8>]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rpmdb.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);\
             CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL);",
        )
        .unwrap();
        for b in blobs {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [b])
                .unwrap();
        }
        drop(conn);
        std::fs::read(&path).unwrap()
    }

    #[test]
    fn packages_from_a_database() {
        let db = database(&[
            header("openssl-libs", "3.0.7", "25.el9", Some(1)),
            header("bash", "5.1.8", "6.el9", None),
            header("gpg-pubkey", "fd431d51", "4ae0493b", None),
            vec![0, 0, 0, 9, 0, 0, 0, 0],
        ]);
        let found = catalogue("var/lib/rpm/rpmdb.sqlite", &db, &Limits::default()).unwrap();
        let got: Vec<_> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.epoch))
            .collect();
        assert_eq!(
            got,
            [
                ("openssl-libs", "1:3.0.7-25.el9", Some(1)),
                ("bash", "5.1.8-6.el9", None)
            ]
        );
        let ssl = &found.packages[0];
        assert_eq!(ssl.source_name.as_deref(), Some("openssl-libs"));
        assert_eq!(ssl.source_version.as_deref(), Some("3.0.7-25.el9"));
        assert_eq!(ssl.arch.as_deref(), Some("x86_64"));
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert!(
            found.warnings[0].contains("header 4"),
            "{:?}",
            found.warnings
        );
    }

    #[test]
    fn not_a_database() {
        for bytes in [&b"garbage"[..], b"SQLite format 3\0truncated"] {
            let err = catalogue("var/lib/rpm/rpmdb.sqlite", bytes, &Limits::default()).unwrap_err();
            assert_eq!(err.code(), "catalog-malformed", "{err}");
        }
    }

    #[test]
    fn a_view_named_packages_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) \
             SELECT x AS hnum, zeroblob(10) AS blob FROM c;",
        )
        .unwrap();
        drop(conn);
        let db = std::fs::read(&path).unwrap();
        let err = catalogue("var/lib/rpm/rpmdb.sqlite", &db, &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "catalog-malformed", "{err}");
    }

    #[test]
    fn hostile_headers() {
        let limits = Limits::default().max_rpm_header_entries;
        let good = header("a", "1", "1", Some(2));
        assert!(info(&good, limits).is_ok());
        for cut in 0..good.len() {
            assert!(info(&good[..cut], limits).is_err(), "cut at {cut}");
        }
        // Huge counts.
        assert!(info(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], limits).is_err());
        assert!(info(&[0, 0, 0xff, 0xff, 0, 0, 0, 0], 100).is_err());
        // An offset past the data.
        let mut bad = good.clone();
        bad[8 + 16 + 8..8 + 16 + 12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(info(&bad, limits).is_err());
        // A string without its NUL.
        let no_nul = encode(&[(TAG_NAME, "a")], None);
        let mut no_nul = no_nul[..no_nul.len() - 1].to_vec();
        no_nul[7] = 1;
        assert!(info(&no_nul, limits).is_err());
    }

    #[test]
    fn source_rpm_names() {
        assert_eq!(
            split_source_rpm("openssl-3.0.7-25.el9.src.rpm"),
            Some(("openssl", "3.0.7-25.el9"))
        );
        assert_eq!(
            split_source_rpm("python3-pip-21.2.3-7.el9.nosrc.rpm"),
            Some(("python3-pip", "21.2.3-7.el9"))
        );
        assert_eq!(split_source_rpm("nodash.src.rpm"), None);
        assert_eq!(split_source_rpm("x-1-2.rpm"), None);
    }

    proptest! {
        #[test]
        fn headers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = info(&bytes, 1000);
        }

        #[test]
        fn headers_round_trip(
            name in "[a-zA-Z0-9._+-]{1,20}",
            version in "[a-zA-Z0-9._+~^]{1,12}",
            release in "[a-zA-Z0-9._+~^]{1,12}",
            epoch in proptest::option::of(any::<u32>()),
            arch in "[a-z0-9_]{1,8}",
        ) {
            let blob = encode(
                &[(TAG_ARCH, &arch), (TAG_RELEASE, &release), (TAG_NAME, &name), (TAG_VERSION, &version)],
                epoch,
            );
            let got = info(&blob, 1000).unwrap();
            prop_assert_eq!(got, RpmInfo {
                name, version, release, epoch, arch: Some(arch), source_rpm: None,
            });
        }
    }
}
