//! Rollups (`rollup.rs`) hold exactly the committed events of each partition: across crashes
//! (frames past a commit), replay, retention drops and backups. The hook here counts, per
//! source address, its events and their types; the index's own searches are the reference.

use std::sync::Arc;

use serde_json::{json, Value};
use stella_core::TenantFilter;

use super::{search, total, NOW};
use crate::rollup::{EventView, Fact, Leaf, Rollup, RollupHook};
use crate::{EventIndex, IndexOptions};

struct BySource;

impl Rollup for BySource {
    fn version(&self) -> u32 {
        1
    }
    fn facts<'a>(&self, ev: &EventView<'a>, out: &mut Vec<Fact<'a>>) {
        let Some(src) = ev.str("srcip") else { return };
        let mut kinds = Vec::new();
        ev.each("event_type", &mut |l| {
            if let Leaf::Str(s) = l {
                kinds.push(s)
            }
        });
        out.push(Fact {
            entity: src.into(),
            list: 0,
            value: "".into(),
        });
        for k in kinds {
            out.push(Fact {
                entity: src.into(),
                list: 1,
                value: k.into(),
            });
        }
    }
}

fn opts() -> IndexOptions {
    IndexOptions {
        rollup: Some(RollupHook(Arc::new(BySource))),
        ..super::opts()
    }
}

const DAY: i64 = super::DAY;

/// `n` events from `src` over the three days before NOW, alternating two types.
fn events(src: &str, from: i64, n: i64) -> Vec<Value> {
    (from..from + n)
        .map(|i| {
            json!({"timestamp": NOW - 3 * DAY + i * (3 * DAY / 1000), "srcip": src,
                   "event_type": if i % 2 == 0 { "flow" } else { "dns" }})
        })
        .collect()
}

/// (events, flows) the rollups count for `src`, or `None` when incomplete.
fn rolled(ix: &EventIndex, src: &str) -> Option<(u64, u64)> {
    let facts = ix.rollup(&TenantFilter::All, src).unwrap()?;
    let count = |list: u8, value: &str| {
        facts
            .list(list)
            .find(|(v, _)| *v == value)
            .map_or(0, |(_, s)| s.count)
    };
    Some((count(0, ""), count(1, "flow")))
}

/// The same counted by searching the events.
fn searched(ix: &EventIndex, src: &str) -> (u64, u64) {
    let n = |q: Value| {
        total(&search(
            ix,
            &TenantFilter::All,
            json!({"query": q, "size": 0}),
        )) as u64
    };
    (
        n(json!({"term": {"srcip": src}})),
        n(
            json!({"bool": {"filter": [{"term": {"srcip": src}}, {"term": {"event_type": "flow"}}]}}),
        ),
    )
}

fn reopen(path: &std::path::Path) -> EventIndex {
    EventIndex::open(path, opts()).unwrap()
}

#[test]
fn replayed_events_are_counted_once_whatever_the_crash() {
    let dir = tempfile::tempdir().unwrap();
    let ix = reopen(dir.path());
    ix.ingest("a", events("10.0.0.1", 0, 300), NOW).unwrap();
    ix.refresh().unwrap();
    ix.ingest("a", events("10.0.0.1", 300, 200), NOW).unwrap();
    ix.abandon().unwrap();
    drop(ix);

    let ix = reopen(dir.path());
    assert_eq!(rolled(&ix, "10.0.0.1"), Some((500, 250)));
    assert_eq!(searched(&ix, "10.0.0.1"), (500, 250));
    drop(ix);
    // Frames written, commits not made (the server stopped between the two): a frame past
    // each partition's commit, naming events that replay will bring again.
    let tenants = dir.path().join("tenants").join("a");
    for day in std::fs::read_dir(&tenants).unwrap() {
        let day = day.unwrap().path();
        if !day.join("meta.json").exists() {
            continue;
        }
        let index = tantivy::Index::open_in_dir(&day).unwrap();
        let lsn: u64 = index
            .load_metas()
            .unwrap()
            .payload
            .and_then(|p| serde_json::from_str::<Value>(&p).ok())
            .and_then(|p| p["wal_lsn"].as_u64())
            .unwrap();
        crate::rollup::append_for_test(&day, lsn + 1, "10.0.0.1", 1000);
    }
    let ix = reopen(dir.path());
    assert_eq!(rolled(&ix, "10.0.0.1"), Some((500, 250)), "not read");
    // The next events of the first day are the next record: its frame is cut off first.
    ix.ingest("a", events("10.0.0.1", 0, 100), NOW).unwrap();
    ix.refresh().unwrap();
    assert_eq!(rolled(&ix, "10.0.0.1"), Some((600, 300)));
    assert_eq!(searched(&ix, "10.0.0.1"), (600, 300));
    ix.abandon().unwrap();
    drop(ix);
    let ix = reopen(dir.path());
    assert_eq!(rolled(&ix, "10.0.0.1"), Some((600, 300)));
    assert_eq!(rolled(&ix, "10.9.9.9"), Some((0, 0)));
}

#[test]
fn a_dropped_day_leaves_the_rollup_and_a_copy_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let ix = reopen(dir.path());
    ix.ingest("a", events("10.0.0.1", 0, 1000), NOW).unwrap();
    ix.ingest("b", events("10.0.0.1", 0, 10), NOW).unwrap();
    ix.refresh().unwrap();
    assert_eq!(rolled(&ix, "10.0.0.1"), Some((1010, 505)));
    ix.drop_partitions_before("a", NOW - 2 * DAY, 10).unwrap();
    let after = searched(&ix, "10.0.0.1");
    assert!(after.0 < 1010, "{after:?}");
    assert_eq!(rolled(&ix, "10.0.0.1"), Some(after));
    // Tenancy: only b's events.
    let b = ix
        .rollup(&TenantFilter::Only(vec!["b".into()]), "10.0.0.1")
        .unwrap();
    assert_eq!(b.unwrap().list(0).next().unwrap().1.count, 10);

    // Replacing an event (tags, status) states nothing new: it is not counted again.
    let hit = search(
        &ix,
        &TenantFilter::All,
        json!({"query": {"term": {"srcip": "10.0.0.1"}}, "size": 1}),
    );
    let id = hit["hits"]["hits"][0]["_id"].as_str().unwrap().to_owned();
    let mut source = hit["hits"]["hits"][0]["_source"].clone();
    source["status"] = json!("closed");
    ix.replace("a", &id, source).unwrap();
    ix.refresh().unwrap();
    assert_eq!(rolled(&ix, "10.0.0.1"), Some(after));
    assert_eq!(searched(&ix, "10.0.0.1"), after);

    ix.ingest("a", events("10.0.0.1", 1000, 10), NOW).unwrap();
    let copy = tempfile::tempdir().unwrap();
    crate::backup::copy_live(dir.path(), copy.path()).unwrap();
    let restored = reopen(copy.path());
    assert_eq!(
        rolled(&restored, "10.0.0.1"),
        Some(searched(&restored, "10.0.0.1"))
    );
    assert_eq!(searched(&restored, "10.0.0.1").0, after.0 + 10);
}

#[test]
fn without_the_hook_no_rollup_is_kept_and_such_days_stay_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let ix = EventIndex::open(dir.path(), super::opts()).unwrap();
    ix.ingest("a", events("10.0.0.1", 0, 10), NOW).unwrap();
    ix.refresh().unwrap();
    assert!(ix.rollup(&TenantFilter::All, "10.0.0.1").unwrap().is_none());
    ix.close().unwrap();
    drop(ix);
    let ix = reopen(dir.path());
    ix.ingest("a", events("10.0.0.1", 10, 10), NOW).unwrap();
    ix.refresh().unwrap();
    assert_eq!(rolled(&ix, "10.0.0.1"), None);
}
