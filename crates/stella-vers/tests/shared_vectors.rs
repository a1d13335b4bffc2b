//! The shared OSV version vectors: every comparison in every file for a supported ecosystem
//! must hold.
//!
//! The files live outside the repository, in `shared/data/version-vectors/` beside the
//! workspace. Where that directory is absent the test says so and passes; the crate's own
//! vectors (`tests/vectors/`) still run. `STELLA_VERS_VECTORS=/some/dir` points the test at
//! another directory of vector files (then the expected-file check is skipped).

mod common;

use std::path::{Path, PathBuf};

/// The files the shared directory is expected to hold, one per supported ecosystem.
const EXPECTED: &[&str] = &[
    "alpine-versions.txt",
    "cran-versions.txt",
    "debian-versions.txt",
    "hackage-versions.txt",
    "maven-versions.txt",
    "nuget-versions.txt",
    "packagist-versions.txt",
    "pub-versions.txt",
    "pypi-versions.txt",
    "redhat-versions.txt",
    "rubygems-versions.txt",
    "semver-versions.txt",
];

#[test]
fn every_shared_vector_holds() -> Result<(), String> {
    let (dir, overridden) = match std::env::var_os("STELLA_VERS_VECTORS") {
        Some(dir) => (PathBuf::from(dir), true),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/version-vectors"),
            false,
        ),
    };
    let dir = dir.canonicalize().unwrap_or(dir);
    if !dir.is_dir() {
        println!(
            "skipped: shared data absent ({} is not a directory)",
            dir.display()
        );
        return Ok(());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();

    let mut failures = Vec::new();
    if !overridden {
        for name in EXPECTED {
            if !files
                .iter()
                .any(|p| p.file_name().is_some_and(|n| n == *name))
            {
                failures.push(format!("{name}: expected in {} but missing", dir.display()));
            }
        }
    }
    let mut total = 0;
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(scheme) = common::scheme_for(&name) else {
            println!("{name}: skipped, unsupported ecosystem");
            continue;
        };
        let outcome = common::check_file(path, scheme);
        println!(
            "{name}: {} comparisons checked under {scheme}, {} failed",
            outcome.checked,
            outcome.failures.len()
        );
        total += outcome.checked;
        failures.extend(outcome.failures);
    }
    println!(
        "shared vectors: {total} comparisons checked in {} files of {}",
        files.len(),
        dir.display()
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        ))
    }
}
