//! Reading feeds: the committed fixture directory, zips made from it, and bad input (malformed
//! records, zip bombs, too many entries or bytes, not a zip).
// Helpers that build test input: a failure there should stop the test where it happened.
#![allow(clippy::expect_used)]

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use stella_osv::{read_dir, read_zip, Database, Limits, Query, ReadError};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feed")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).expect("fixture exists")
}

/// A zip of `(name, bytes)` entries, deflated; a name ending in `/` is a directory.
fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(true);
    for (name, bytes) in entries {
        if name.ends_with('/') {
            w.add_directory(*name, options).expect("directory");
        } else {
            w.start_file(*name, options).expect("entry");
            w.write_all(bytes).expect("write");
        }
    }
    w.finish().expect("finish").into_inner()
}

fn sources(feed: &stella_osv::Feed) -> Vec<&str> {
    feed.skipped.iter().map(|s| s.source.as_str()).collect()
}

#[test]
fn a_zip_with_bad_records_loads_the_good_ones() {
    let zip = zip_of(&[
        ("PYSEC-0000-1.json", fixture("PYSEC-0000-1.json")),
        ("broken.json", fixture("broken.json")),
        ("wrong-type.json", fixture("wrong-type.json")),
        ("README.md", fixture("README.md")),
        ("nested/", Vec::new()),
        ("nested/GO-0000-0001.json", fixture("go/GO-0000-0001.json")),
    ]);
    let feed = read_zip(Cursor::new(zip), &Limits::default()).expect("a zip");
    let ids: Vec<&str> = feed.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["PYSEC-0000-1", "GO-0000-0001"]);
    assert_eq!(
        sources(&feed),
        ["broken.json", "wrong-type.json", "README.md"]
    );
    assert!(
        feed.skipped[0].reason.contains("EOF"),
        "{:?}",
        feed.skipped[0]
    );
    assert!(
        feed.skipped[1].reason.starts_with("aliases:"),
        "{:?}",
        feed.skipped[1]
    );
    assert!(
        feed.skipped[2].reason.contains("not a .json"),
        "{:?}",
        feed.skipped[2]
    );

    // And what loaded is usable.
    let db = Database::build(feed.records);
    let q = Query {
        ecosystem: "PyPI",
        name: "Demo_Pkg",
        version: "1.2.2",
    };
    assert_eq!(db.query(&q).matches().map(<[_]>::len), Some(1));
}

/// 17 MiB of one byte deflate to about 17 KiB: a thousandfold expansion, and just over the
/// default 16 MiB bound for a record.
fn zeros() -> Vec<u8> {
    vec![b'0'; 17 << 20]
}

#[test]
fn a_zip_bomb_entry_is_refused_and_the_rest_loads() {
    let zip = zip_of(&[
        ("PYSEC-0000-1.json", fixture("PYSEC-0000-1.json")),
        ("bomb.json", zeros()),
    ]);
    assert!(
        zip.len() < 1 << 20,
        "the bomb is small compressed: {}",
        zip.len()
    );

    // Over the per-record bound by its declared size: refused before reading.
    let feed = read_zip(Cursor::new(zip.clone()), &Limits::default()).expect("a zip");
    assert_eq!(feed.records.len(), 1);
    assert_eq!(sources(&feed), ["bomb.json"]);
    assert!(
        feed.skipped[0].reason.contains("declares"),
        "{:?}",
        feed.skipped[0]
    );

    // With room for big records, the ratio bound stops it after 100x its compressed size.
    let roomy = Limits {
        max_entry_bytes: 1 << 30,
        ..Limits::default()
    };
    let feed = read_zip(Cursor::new(zip.clone()), &roomy).expect("a zip");
    assert_eq!(feed.records.len(), 1);
    assert_eq!(sources(&feed), ["bomb.json"]);
    assert!(
        feed.skipped[0].reason.contains("100x"),
        "{:?}",
        feed.skipped[0]
    );

    // A zip that lies about the size (central directory and local header say 1,000 bytes):
    // still refused, never read whole.
    let lying = patch_uncompressed_size(zip, "bomb.json", 1000);
    let feed = read_zip(Cursor::new(lying), &roomy).expect("a zip");
    assert_eq!(feed.records.len(), 1);
    assert_eq!(sources(&feed), ["bomb.json"], "{:?}", feed.skipped);
    println!("the lying entry: {}", feed.skipped[0].reason);
}

/// Rewrites the uncompressed size of `name` in its local header and central directory entry.
fn patch_uncompressed_size(mut zip: Vec<u8>, name: &str, size: u32) -> Vec<u8> {
    let find = |zip: &[u8], sig: &[u8; 4], name_at: usize| -> Vec<usize> {
        (0..zip.len().saturating_sub(name_at + name.len()))
            .filter(|&i| {
                &zip[i..i + 4] == sig
                    && &zip[i + name_at..i + name_at + name.len()] == name.as_bytes()
            })
            .collect()
    };
    for at in find(&zip, b"PK\x03\x04", 30) {
        zip[at + 22..at + 26].copy_from_slice(&size.to_le_bytes());
    }
    for at in find(&zip, b"PK\x01\x02", 46) {
        zip[at + 24..at + 28].copy_from_slice(&size.to_le_bytes());
    }
    zip
}

#[test]
fn feed_wide_bounds_are_errors() {
    let zip = zip_of(&[
        ("a.json", fixture("PYSEC-0000-1.json")),
        ("b.json", fixture("go/GO-0000-0001.json")),
        ("c.json", fixture("PYSEC-0000-1.json")),
    ]);
    let few = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    assert!(matches!(
        read_zip(Cursor::new(zip.clone()), &few),
        Err(ReadError::TooManyEntries { limit: 2 })
    ));
    let small = Limits {
        max_total_bytes: 1000,
        ..Limits::default()
    };
    assert!(matches!(
        read_zip(Cursor::new(zip), &small),
        Err(ReadError::TooLarge { limit: 1000 })
    ));
}

#[test]
fn not_a_zip_is_an_error() {
    for bytes in [
        Vec::new(),
        b"{\"id\": \"X\"}".to_vec(),
        fixture("PYSEC-0000-1.json"),
        vec![0u8; 4096],
    ] {
        let err = read_zip(Cursor::new(bytes), &Limits::default()).expect_err("not a zip");
        assert!(matches!(err, ReadError::NotZip(_)), "{err}");
    }
}

#[test]
fn a_directory_is_read_recursively_in_name_order() {
    let feed = read_dir(&fixtures(), &Limits::default()).expect("readable");
    let ids: Vec<&str> = feed.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["PYSEC-0000-1", "GO-0000-0001"]);
    assert_eq!(sources(&feed), ["broken.json", "wrong-type.json"]);
}

#[test]
fn a_directory_bounds_files_and_does_not_follow_links() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.json"), fixture("PYSEC-0000-1.json")).expect("write");
    std::fs::write(dir.path().join("big.json"), vec![b' '; 5000]).expect("write");
    std::fs::create_dir(dir.path().join(".git")).expect("mkdir");
    std::fs::write(dir.path().join(".git/x.json"), fixture("PYSEC-0000-1.json")).expect("write");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.path().join("a.json"), dir.path().join("link.json"))
            .expect("symlink");
        std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).expect("symlink");
    }
    let limits = Limits {
        max_entry_bytes: 4096,
        ..Limits::default()
    };
    let feed = read_dir(dir.path(), &limits).expect("readable");
    assert_eq!(feed.records.len(), 1, "neither the link nor .git is read");
    assert_eq!(sources(&feed), ["big.json"]);
    assert!(
        feed.skipped[0].reason.contains("4096"),
        "{:?}",
        feed.skipped[0]
    );

    let few = Limits {
        max_entries: 1,
        ..Limits::default()
    };
    assert!(matches!(
        read_dir(dir.path(), &few),
        Err(ReadError::TooManyEntries { limit: 1 })
    ));
    assert!(matches!(
        read_dir(&dir.path().join("absent"), &Limits::default()),
        Err(ReadError::Io { .. })
    ));
}
