//! A small image tree under tests/fixtures/image walked as the scanner walks a layer:
//! `wants`, then `catalogue`, then purls and ecosystems with the image's os-release. And the
//! same files damaged every way a short loop can: cut at every byte, bytes flipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use stella_catalog::{catalogue, os_release, wants, Limits, Want};

fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path: PathBuf = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/image")
}

#[test]
fn the_fixture_image() {
    let files = files(&root());
    let os = files
        .iter()
        .find(|(p, _)| p == "etc/os-release")
        .and_then(|(_, b)| os_release(b));
    let mut got = Vec::new();
    for (path, bytes) in &files {
        assert_eq!(
            wants(path, bytes.len() as u64, 0o100_644),
            Want::Read,
            "{path}"
        );
        let found = catalogue(path, bytes, &Limits::default()).unwrap();
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
        for p in found.packages {
            got.push(format!(
                "{} {}",
                p.ecosystem(os.as_ref()).unwrap(),
                p.purl(os.as_ref()).unwrap()
            ));
        }
    }
    got.sort();
    assert_eq!(
        got,
        [
            // An apk database in a Debian image: apk's own family, no release.
            "Alpine pkg:apk/alpine/libcrypto3@3.1.4-r0?arch=x86_64&upstream=openssl",
            "Alpine pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64",
            "Debian:12 pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc",
            "Debian:12 pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl",
            "Debian:12 pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12",
            "PyPI pkg:pypi/requests@2.31.0",
            "crates.io pkg:cargo/smallvec@1.11.1",
            "npm pkg:npm/%40types/node@20.8.0",
            "npm pkg:npm/debug@2.6.9",
            "npm pkg:npm/express@4.18.2",
        ]
    );
}

#[test]
fn damaged_files_never_panic() {
    let limits = Limits::default();
    for (path, bytes) in files(&root()) {
        for cut in 0..bytes.len() {
            let _ = catalogue(&path, &bytes[..cut], &limits);
        }
        for i in 0..bytes.len() {
            for b in [0u8, 0xff, b'\n', b':', b'"', b'{'] {
                let mut damaged = bytes.clone();
                damaged[i] = b;
                if let Ok(found) = catalogue(&path, &damaged, &limits) {
                    assert!(found.packages.iter().all(|p| !p.name.is_empty()));
                }
            }
        }
    }
}

#[test]
fn invalid_utf8_everywhere() {
    let limits = Limits::default();
    for (path, _) in files(&root()) {
        let _ = catalogue(&path, b"\xff\xfe\xfd\n\xc3\x28: \xa0\xa1\n\n", &limits);
    }
}
