//! Image files as the scanner hands them to `stella_catalog::catalogue`: the first byte picks
//! one of the paths the cataloguer wants (so every parser is reached), the rest is the file.
//! Invariants: every input is catalogued or refused with an error, never a panic; what is
//! catalogued stays within the limits, every package has a non-empty name and version, and
//! every purl built for it is canonical (its display parses back to itself).
#![no_main]

use stella_catalog::{catalogue, os_release, wants, Limits, Want};
use stella_sbom::Purl;

const PATHS: &[&str] = &[
    "var/lib/dpkg/status",
    "var/lib/dpkg/status.d/libc6",
    "lib/apk/db/installed",
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/python3/site-packages/x-1.0.dist-info/METADATA",
    "usr/lib/python3/dist-packages/x-1.0.egg-info",
    "app/package-lock.json",
    "app/node_modules/@s/x/package.json",
    "src/Cargo.lock",
    "opt/app.jar",
    "usr/bin/app",
    "etc/os-release",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((pick, file)) = data.split_first() else {
        return;
    };
    let path = PATHS[usize::from(*pick) % PATHS.len()];
    assert_ne!(wants(path, 4096, 0o100_755), Want::Skip, "{path}");
    let limits = Limits {
        max_packages: 1_000,
        max_decompressed_bytes: 4 * 1024 * 1024,
        max_sqlite_kilo_steps: 10_000,
        ..Limits::default()
    };
    let os = os_release(b"ID=debian\nVERSION_ID=12\n");
    if let Ok(found) = catalogue(path, file, &limits) {
        assert!(found.packages.len() <= limits.max_packages);
        for p in &found.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty(), "{p:?}");
            let _ = p.ecosystem(os.as_ref());
            if let Some(purl) = p.purl(os.as_ref()) {
                let text = purl.to_string();
                let again = Purl::parse(&text).expect("a purl's display parses");
                assert_eq!(again, purl, "{text}");
            }
        }
    }
});
