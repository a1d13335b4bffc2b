#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Upgrades: every data directory an earlier release wrote opens with this build, and a
//! directory from a newer release is refused before anything in it changes.
//!
//! `tests/fixtures/data-<release>/` were written by that release's binary with
//! `tests/fixtures/make-release-fixture.sh` (a tenant, two cases, three events of which the
//! last was only in the write-ahead log when the server was killed, activity records, keys).
//! Never edit a fixture: add the next release's beside it.

mod common;

use common::{call, copy_dir, root_jwt, search_events, serve_with, stella};
use serde_json::json;
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no release fixtures in {}", dir.display());
    out
}

#[tokio::test]
async fn every_release_fixture_opens_with_its_data() {
    for fixture in fixtures() {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("data");
        copy_dir(&fixture, &dir);
        let tenant = std::fs::read_to_string(dir.join("fixture-tenant-id")).unwrap();
        let tenant = tenant.trim();
        // The fixture's events are from 2025-12-01: past the default 90-day retention, the
        // first retention run would rightly drop them (see CHANGELOG, upgrading to 0.2.0).
        // Ten years keeps them, so this test is about opening, not about the date.
        let config = work.path().join("stella.toml");
        std::fs::write(&config, "retention_events_days = 3650\n").unwrap();
        let s = serve_with(&dir, &[("STELLA_CONFIG", &config)]).await;
        let name = fixture.display();
        // The release's signing keys and API key still work.
        let jwt = root_jwt(&s.base, &dir).await;
        let cases = call(
            &s.base,
            "GET",
            &format!("/connect/api/v1/cases?tenant_id={tenant}"),
            &jwt,
            None,
        )
        .await;
        let mut names: Vec<&str> = cases["data"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {cases}"))
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["Phishing", "Ransomware"], "{name}");
        // Committed events, and the one that was only in the write-ahead log.
        let found = search_events(
            &s.base,
            &jwt,
            json!({"query": {"match_all": {}}, "sort": [{"timestamp": "asc"}]}),
        )
        .await;
        let types: Vec<&str> = found["hits"]["hits"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {found}"))
            .iter()
            .filter_map(|h| h["_source"]["event_type"].as_str())
            .collect();
        assert_eq!(types, ["dns", "http", "ssh"], "{name}: {found}");
        let log = call(
            &s.base,
            "GET",
            "/connect/api/v1/user_activity_log?limit=100",
            &jwt,
            None,
        )
        .await;
        assert!(log["total"].as_i64().unwrap_or(0) >= 5, "{name}: {log}");
        drop(s);
        // Marked with this build's format now.
        assert_eq!(
            std::fs::read_to_string(dir.join("FORMAT")).unwrap().trim(),
            "1"
        );
    }
}

#[tokio::test]
async fn a_data_directory_from_a_newer_release_is_refused_untouched() {
    let fixture = fixtures().pop().unwrap();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("data");
    copy_dir(&fixture, &dir);
    std::fs::write(dir.join("FORMAT"), "999\n").unwrap();
    let db_before = std::fs::read(dir.join("stella.db")).unwrap();
    let out = stella(&dir)
        .arg("serve")
        .env("STELLA_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("format 999") && stderr.contains("newer Stella Ops"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(dir.join("stella.db")).unwrap(), db_before);
    assert!(
        !dir.join("stella.db-wal").exists(),
        "the database was opened"
    );
}
