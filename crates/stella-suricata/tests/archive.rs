//! Uploaded sources: `.tar.gz`, `.tgz`, `.tar` and single files, what is read and skipped, and
//! every bound of [`Limits`] refusing a hostile archive with an error naming it.

use std::io::Write;

use stella_suricata::{read_source, read_source_with, Limit, Limits, SkipReason, SourceError};

const DNS: &str = "alert dns any any -> any any (msg:\"dns one\"; sid:1; rev:1;)\n\
                   #alert dns any any -> any any (msg:\"dns two\"; sid:2; rev:1;)\n";
const WEB: &str = "alert http any any -> any any (msg:\"web\"; sid:3; rev:1;)\n\
                   alert http any any -> any any (msg:\"web dup\"; sid:1; rev:5;)\n";

fn header(kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h
}

/// A tar of `(path, contents)` regular files.
fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = header(tar::EntryType::Regular, data.len() as u64);
        b.append_data(&mut h, path, *data)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    b.into_inner().unwrap_or_else(|e| panic!("{e}"))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
    gz.finish().unwrap_or_else(|e| panic!("{e}"))
}

fn error(name: &str, bytes: &[u8], limits: &Limits) -> SourceError {
    match read_source_with(name, bytes, limits) {
        Ok(s) => panic!("{name} was read: {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn reads_tar_gz_tgz_and_tar_alike() {
    let tar = tar_of(&[
        ("rules/emerging-dns.rules", DNS.as_bytes()),
        ("rules/emerging-web.rules", WEB.as_bytes()),
    ]);
    let gz = gzip(&tar);
    for (name, bytes) in [
        ("et.tar.gz", &gz),
        ("et.tgz", &gz),
        ("et.tar", &tar),
        // The format comes from the bytes, not the name.
        ("misnamed.rules", &gz),
    ] {
        let s = read_source(name, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            s.files,
            ["rules/emerging-dns.rules", "rules/emerging-web.rules"],
            "{name}"
        );
        let got: Vec<_> = s
            .rules
            .iter()
            .map(|r| (r.sid, r.rev, r.enabled, r.category.as_str(), r.line))
            .collect();
        // sid 1 is in both files; the higher rev (in the second file) is kept.
        assert_eq!(
            got,
            [
                (2, 1, false, "emerging-dns", 2),
                (3, 1, true, "emerging-web", 1),
                (1, 5, true, "emerging-web", 2),
            ],
            "{name}"
        );
        assert_eq!(s.problems.len(), 1);
        assert_eq!(s.problems[0].file, "rules/emerging-dns.rules");
        assert_eq!(s.problems[0].line, 1);
        assert_eq!(s.problems[0].code(), "rule-duplicate-sid");
        assert!(s.problems[0]
            .to_string()
            .contains("rules/emerging-web.rules:2"));
    }
}

#[test]
fn only_regular_rules_files_are_read() {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = header(tar::EntryType::Directory, 0);
    b.append_data(&mut dir, "rules/", std::io::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    for (path, data) in [
        ("rules/local.rules", DNS.as_bytes()),
        (
            "rules/classification.config",
            b"config classification: x,y,1\n".as_slice(),
        ),
        ("rules/._local.rules", b"\0\x05\x16\x07 binary".as_slice()),
    ] {
        let mut h = header(tar::EntryType::Regular, data.len() as u64);
        b.append_data(&mut h, path, data)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut link = header(tar::EntryType::Symlink, 0);
    b.append_link(&mut link, "rules/linked.rules", "local.rules")
        .unwrap_or_else(|e| panic!("{e}"));
    let tar = b.into_inner().unwrap_or_else(|e| panic!("{e}"));

    let s = read_source("x.tar", &tar).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.files, ["rules/local.rules"]);
    let skipped: Vec<_> = s
        .skipped
        .iter()
        .map(|k| (k.name.as_str(), k.reason))
        .collect();
    assert_eq!(
        skipped,
        [
            ("rules/classification.config", SkipReason::NotRulesFile),
            ("rules/._local.rules", SkipReason::MacMetadata),
            ("rules/linked.rules", SkipReason::NotRegularFile),
        ]
    );
    assert_eq!(SkipReason::MacMetadata.code(), "mac-metadata");
}

#[test]
fn long_names_gnu_and_pax() {
    let deep = format!("{}/emerging-long.rules", "d".repeat(150));
    // tar writes a GNU long-name entry for a path over 100 bytes.
    let tar = tar_of(&[(deep.as_str(), DNS.as_bytes())]);
    let s = read_source("x.tar", &tar).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.files, [deep.as_str()]);
    assert_eq!(s.rules[0].category, "emerging-long");

    // A PAX header naming the next entry.
    let pax_name = format!("{}/pax-named.rules", "p".repeat(120));
    let record = format!("path={pax_name}\n");
    let mut len = record.len() + 3;
    if format!("{len} {record}").len() != len {
        len += 1;
    }
    let pax = format!("{len} {record}");
    assert_eq!(pax.len(), len);
    let mut b = tar::Builder::new(Vec::new());
    let mut x = tar::Header::new_ustar();
    x.set_entry_type(tar::EntryType::XHeader);
    x.set_size(pax.len() as u64);
    x.set_path("PaxHeader/x").unwrap_or_else(|e| panic!("{e}"));
    x.set_cksum();
    b.append(&x, pax.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut f = tar::Header::new_ustar();
    f.set_entry_type(tar::EntryType::Regular);
    f.set_size(DNS.len() as u64);
    f.set_path("short.rules").unwrap_or_else(|e| panic!("{e}"));
    f.set_cksum();
    b.append(&f, DNS.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let tar = b.into_inner().unwrap_or_else(|e| panic!("{e}"));
    let s = read_source("x.tar", &tar).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.files, [pax_name.as_str()]);
}

#[test]
fn bombs_and_bounds_are_refused_naming_the_bound() {
    // A rules file of 8 MiB of zeros: the archive expands ~1000x.
    let zeros = gzip(&tar_of(&[("zeros.rules", vec![0u8; 8 << 20].as_slice())]));
    let limits = Limits {
        ratio_free_bytes: 64 << 10,
        ..Limits::default()
    };
    let e = error("bomb.tar.gz", &zeros, &limits);
    assert_eq!(e.code(), "source-decompression-bomb");
    assert!(
        matches!(
            e,
            SourceError::Bomb {
                limit: Limit::Ratio,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("max_ratio"), "{e}");

    let rules = DNS.repeat(2000);
    let tar = tar_of(&[("big.rules", rules.as_bytes())]);
    let gz = gzip(&tar);
    let e = error(
        "x.tar.gz",
        &gz,
        &Limits {
            max_total_bytes: 50_000,
            ..Limits::default()
        },
    );
    assert!(
        matches!(
            e,
            SourceError::Bomb {
                limit: Limit::TotalBytes,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("max_total_bytes"), "{e}");

    let e = error(
        "x.tar.gz",
        &gz,
        &Limits {
            max_entry_bytes: 1000,
            ..Limits::default()
        },
    );
    assert!(
        matches!(
            e,
            SourceError::TooLarge {
                limit: Limit::EntryBytes,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("big.rules") && e.to_string().contains("max_entry_bytes"));

    let e = error(
        "x.tar",
        &tar,
        &Limits {
            max_total_bytes: 1000,
            ..Limits::default()
        },
    );
    assert!(
        matches!(
            e,
            SourceError::TooLarge {
                limit: Limit::TotalBytes,
                ..
            }
        ),
        "{e}"
    );

    let many: Vec<(String, &[u8])> = (0..20)
        .map(|i| (format!("f{i}.rules"), b"".as_slice()))
        .collect();
    let refs: Vec<(&str, &[u8])> = many.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let e = error(
        "x.tar",
        &tar_of(&refs),
        &Limits {
            max_entries: 10,
            ..Limits::default()
        },
    );
    assert!(
        matches!(
            e,
            SourceError::TooLarge {
                limit: Limit::Entries,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("max_entries"));

    let deep = format!("{}/x.rules", "d".repeat(300));
    let e = error(
        "x.tar",
        &tar_of(&[(deep.as_str(), DNS.as_bytes())]),
        &Limits {
            max_extension_bytes: 200,
            ..Limits::default()
        },
    );
    assert!(
        matches!(
            e,
            SourceError::TooLarge {
                limit: Limit::ExtensionBytes,
                ..
            }
        ),
        "{e}"
    );

    // A single rules file over the entry bound.
    let e = error(
        "big.rules",
        rules.as_bytes(),
        &Limits {
            max_entry_bytes: 1000,
            ..Limits::default()
        },
    );
    assert!(
        matches!(
            e,
            SourceError::TooLarge {
                limit: Limit::EntryBytes,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn broken_archives() {
    assert_eq!(read_source("x.rules", b"").err(), Some(SourceError::Empty));

    let tar = tar_of(&[("a.rules", DNS.as_bytes())]);
    let gz = gzip(&tar);
    let mut corrupt = gz.clone();
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[mid..mid + 8] {
        *b ^= 0x5a;
    }
    let e = error("x.tar.gz", &corrupt, &Limits::default());
    assert!(
        matches!(e.code(), "source-bad-gzip" | "source-bad-tar"),
        "{e}"
    );

    let truncated = &tar[..700];
    let e = error("x.tar", truncated, &Limits::default());
    assert_eq!(e.code(), "source-bad-tar", "{e}");

    let e = error("x.rules.gz", &gzip(DNS.as_bytes()), &Limits::default());
    assert_eq!(e.code(), "source-bad-tar");
    assert!(e.to_string().contains("does not hold a tar"), "{e}");

    let e = error(
        "x.tar",
        &tar_of(&[("README", b"hello".as_slice())]),
        &Limits::default(),
    );
    assert_eq!(e, SourceError::NoRulesFiles { skipped: 1 });

    let mut bad_checksum = tar.clone();
    bad_checksum[0] ^= 1;
    assert_eq!(
        error("x.tar", &bad_checksum, &Limits::default()).code(),
        "source-bad-tar"
    );
}

#[test]
fn a_line_that_is_not_utf8_spoils_only_itself() {
    let mut bytes = DNS.as_bytes().to_vec();
    bytes.extend_from_slice(b"alert tcp any any -> any any (msg:\"caf\xe9\"; sid:9; rev:1;)\n");
    bytes.extend_from_slice(WEB.as_bytes());
    let s = read_source("latin1.rules", &bytes).unwrap_or_else(|e| panic!("{e}"));
    // In source order of the rules kept: sid 1 is the one on the last line.
    let sids: Vec<u64> = s.rules.iter().map(|r| r.sid).collect();
    assert_eq!(sids, [2, 3, 1]);
    let problems: Vec<_> = s.problems.iter().map(|p| (p.line, p.code())).collect();
    assert_eq!(problems, [(1, "rule-duplicate-sid"), (3, "rule-not-utf8")]);
    // The rule kept for sid 1 is the later, higher rev.
    assert_eq!(s.rules.iter().find(|r| r.sid == 1).map(|r| r.rev), Some(5));
}
