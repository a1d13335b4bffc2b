//! The crate's own vectors (`tests/vectors/<scheme>.txt`), one file per scheme, so that the
//! default test run checks every scheme without the shared OSV data.

mod common;

use std::path::Path;

use stella_vers::Scheme;

#[test]
fn every_scheme_has_vectors_and_they_hold() -> Result<(), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut failures = Vec::new();
    let mut covered = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(scheme) = common::scheme_for(&name) else {
            failures.push(format!("{name}: no scheme for this file name"));
            continue;
        };
        let outcome = common::check_file(&path, scheme);
        println!("{name}: {} checks under {scheme}", outcome.checked);
        if outcome.checked == 0 {
            failures.push(format!("{name}: no checks"));
        }
        covered.push(scheme);
        failures.extend(outcome.failures);
    }
    for scheme in Scheme::ALL {
        if !covered.contains(scheme) {
            failures.push(format!("no vector file for {scheme}"));
        }
    }
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
