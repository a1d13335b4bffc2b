//! A copy of a live index (`backup::copy_live`) taken while events are ingested, committed and
//! their log segments released holds every event acknowledged before the copy began, once.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use serde_json::json;

use super::*;

#[test]
fn a_copy_taken_during_ingest_holds_every_event_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let busy = IndexOptions {
        // Small log segments and frequent commits: segments are sealed and released (deleted)
        // while the copy runs, the race `copy_live` must survive.
        wal_segment_bytes: 16 * 1024,
        commit_interval_ms: 5,
        search_idle_ms: u64::MAX / 4,
        ..opts()
    };
    let index = EventIndex::open(dir.path(), busy.clone()).unwrap();
    let acked = Arc::new(AtomicI64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (index, acked, stop) = (index.clone(), Arc::clone(&acked), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 0i64;
            while !stop.load(Ordering::Acquire) {
                let tenant = if n % 40 == 0 { "a" } else { "b" };
                let batch: Vec<Value> = (n..n + 20)
                    .map(|i| json!({"n": i, "msg": format!("event {i} {}", "x".repeat(200))}))
                    .collect();
                index.ingest(tenant, batch, NOW).unwrap();
                n += 20;
                acked.store(n, Ordering::Release);
            }
        })
    };
    let wait_for = |n: i64| {
        while acked.load(Ordering::Acquire) < n {
            std::thread::yield_now();
        }
    };
    let mut copies = Vec::new();
    for round in 1..=3 {
        wait_for(round * 400);
        let before = acked.load(Ordering::Acquire);
        let dst = tempfile::tempdir().unwrap();
        let copied = crate::backup::copy_live(dir.path(), &dst.path().join("events")).unwrap();
        assert!(
            copied.indexes >= 1 && copied.log_segments >= 1,
            "{copied:?}"
        );
        copies.push((before, dst));
    }
    stop.store(true, Ordering::Release);
    writer.join().unwrap();
    let released = std::fs::read_dir(dir.path().join("wal")).unwrap().count();
    drop(index);

    for (before, dst) in copies {
        let copy = EventIndex::open(&dst.path().join("events"), opts()).unwrap();
        let resp = search(
            &copy,
            &TenantFilter::All,
            json!({"size": 0, "track_total_hits": true,
                   "query": {"range": {"n": {"lt": before}}}}),
        );
        // Each acknowledged event once: none lost, none replayed twice.
        assert_eq!(
            total(&resp),
            before as u64,
            "copy at {before} ({released} log segments left)"
        );
    }
}

#[test]
fn log_segments_released_while_copying_make_the_lagging_indexes_copied_again() {
    let dir = tempfile::tempdir().unwrap();
    let small = IndexOptions {
        wal_segment_bytes: 8 * 1024,
        commit_interval_ms: 5,
        search_idle_ms: u64::MAX / 4,
        ..opts()
    };
    let index = EventIndex::open(dir.path(), small).unwrap();
    let batch = |from: i64| -> Vec<Value> {
        (from..from + 20)
            .map(|i| json!({"n": i, "msg": "y".repeat(300)}))
            .collect()
    };
    index.ingest("a", batch(0), NOW).unwrap();
    index.refresh().unwrap();
    // Acknowledged, not committed: the copied commit of "a" lacks it, the log has it.
    index.ingest("a", batch(20), NOW).unwrap();
    let oldest = || {
        let mut v: Vec<String> = std::fs::read_dir(dir.path().join("wal"))
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        v.sort();
        v.first().cloned()
    };
    let at_start = oldest();
    let dst = tempfile::tempdir().unwrap();
    let mut rounds = 0;
    let copied = crate::backup::copy_live_with(dir.path(), &dst.path().join("events"), &mut || {
        // Between the index copy and the log copy, the server moves on: more events, commits,
        // and the log segments holding batch(20) are released (as if the copy's hold on the
        // log had gone stale).
        std::fs::remove_file(dir.path().join("wal").join(crate::wal::HOLD_FILE)).unwrap();
        for k in 2..20 {
            index.ingest("a", batch(k * 20), NOW).unwrap();
            index.refresh().unwrap();
        }
        let started = std::time::Instant::now();
        while oldest() == at_start {
            assert!(
                started.elapsed().as_secs() < 10,
                "no log segment was released"
            );
            index.refresh().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        rounds += 1;
    })
    .unwrap();
    assert_eq!(rounds, 1);
    drop(index);
    assert!(copied.indexes == 1, "{copied:?}");
    let copy = EventIndex::open(&dst.path().join("events"), opts()).unwrap();
    let resp = search(
        &copy,
        &TenantFilter::All,
        json!({"size": 0, "track_total_hits": true, "query": {"range": {"n": {"lt": 40}}}}),
    );
    assert_eq!(total(&resp), 40);
}

fn log_names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| n.ends_with(".wal"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_fresh_hold_keeps_log_segments_and_a_stale_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let small = IndexOptions {
        wal_segment_bytes: 8 * 1024,
        ..opts()
    };
    let index = EventIndex::open(dir.path(), small).unwrap();
    let hold = dir.path().join("wal").join(crate::wal::HOLD_FILE);
    std::fs::write(&hold, b"test").unwrap();
    let batch = |k: i64| -> Vec<Value> {
        (0..20)
            .map(|i| json!({"n": k * 20 + i, "msg": "z".repeat(300)}))
            .collect()
    };
    let at_start = log_names(dir.path());
    for k in 0..10 {
        index.ingest("a", batch(k), NOW).unwrap();
        index.refresh().unwrap();
    }
    let held = log_names(dir.path());
    assert!(held.len() > 3, "segments were sealed: {held:?}");
    assert_eq!(
        held.first(),
        at_start.first(),
        "nothing released while held"
    );
    // A hold its backup stopped refreshing (it died) is ignored.
    let old = std::time::SystemTime::now() - crate::wal::HOLD_STALE * 2;
    std::fs::File::options()
        .write(true)
        .open(&hold)
        .unwrap()
        .set_modified(old)
        .unwrap();
    index.ingest("a", batch(10), NOW).unwrap();
    index.refresh().unwrap();
    assert!(
        log_names(dir.path()).len() < held.len(),
        "released once stale"
    );
}

#[test]
fn a_day_no_longer_written_is_copied_once_however_far_the_log_has_moved() {
    let dir = tempfile::tempdir().unwrap();
    let small = IndexOptions {
        wal_segment_bytes: 8 * 1024,
        ..opts()
    };
    let index = EventIndex::open(dir.path(), small).unwrap();
    // Yesterday's events, committed at the first records; then only today is written, until
    // the log segments of yesterday's records are long released.
    let day = |k: i64, ts: i64| -> Vec<Value> {
        (0..20)
            .map(|i| json!({"n": k * 20 + i, "timestamp": ts, "msg": "w".repeat(300)}))
            .collect()
    };
    index.ingest("a", day(0, NOW - DAY), NOW).unwrap();
    index.refresh().unwrap();
    let first = log_names(dir.path());
    for k in 1..15 {
        index.ingest("a", day(k, NOW), NOW).unwrap();
        index.refresh().unwrap();
    }
    assert_ne!(log_names(dir.path()).first(), first.first(), "released");
    let dst = tempfile::tempdir().unwrap();
    let copied = crate::backup::copy_live(dir.path(), &dst.path().join("events")).unwrap();
    assert_eq!(copied.indexes, 2, "{copied:?}");
    drop(index);
    let copy = EventIndex::open(&dst.path().join("events"), opts()).unwrap();
    let resp = search(
        &copy,
        &TenantFilter::All,
        json!({"size": 0, "track_total_hits": true}),
    );
    assert_eq!(total(&resp), 15 * 20);
}
