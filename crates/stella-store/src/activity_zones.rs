//! Zone maps for the SQLite activity log: which id ranges hold a user's or a tenant's calls.
//!
//! Two B-tree indexes (user, tenant) made every logged call pay for two index inserts, about a
//! tenth of the server's instructions under load (callgrind). Instead, each committed batch
//! adds one row per user and per tenant in it, holding the first and last id of that key's
//! records in the batch. A filtered listing reads the zones of its keys, merges them into a few
//! id ranges and scans only those, with the exact predicate still applied: a zone may cover
//! rows of other keys, but never misses a row of its own.
//!
//! PostgreSQL keeps ordinary indexes (its log shares the main database and its writes are not
//! on this path).

use std::collections::HashMap;

use crate::activity::ActivityRecord;

pub(crate) const USER: i64 = 0;
pub(crate) const TENANT: i64 = 1;

/// Id ranges a listing scans at most; past this, the closest ranges are joined (scanning the
/// rows between them, which the exact predicate then drops).
const MAX_RANGES: usize = 32;

/// The zones of a batch whose first record got id `first_id` (ids are consecutive within it).
pub(crate) fn zones_of(records: &[ActivityRecord], first_id: i64) -> Vec<(i64, &str, i64, i64)> {
    let mut zones: HashMap<(i64, &str), (i64, i64)> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        let id = first_id + i as i64;
        let keys = [
            (USER, r.user_id.as_deref()),
            (TENANT, r.tenant_id.as_deref()),
        ];
        for (kind, key) in keys {
            if let Some(key) = key {
                let z = zones.entry((kind, key)).or_insert((id, id));
                z.1 = id;
            }
        }
    }
    zones
        .into_iter()
        .map(|((kind, key), (first, last))| (kind, key, first, last))
        .collect()
}

/// Sorted, disjoint id ranges covering `zones`, at most [`MAX_RANGES`] of them.
pub(crate) fn covering_ranges(mut zones: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    zones.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(zones.len());
    for (first, last) in zones {
        match merged.last_mut() {
            Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
            _ => merged.push((first, last)),
        }
    }
    if merged.len() <= MAX_RANGES {
        return merged;
    }
    // Keep the widest gaps as the splits between ranges; join across the others.
    let mut gaps: Vec<(i64, usize)> = merged
        .windows(2)
        .enumerate()
        .map(|(i, w)| (w[1].0 - w[0].1, i))
        .collect();
    gaps.sort_unstable_by(|a, b| b.cmp(a));
    let mut splits: Vec<usize> = gaps.iter().take(MAX_RANGES - 1).map(|g| g.1).collect();
    splits.sort_unstable();
    let mut out = Vec::with_capacity(MAX_RANGES);
    let mut start = 0;
    for s in splits.into_iter().chain(std::iter::once(merged.len() - 1)) {
        out.push((merged[start].0, merged[s].1));
        start = s + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(user: Option<&str>, tenant: Option<&str>) -> ActivityRecord {
        ActivityRecord {
            id: 0,
            ts: 0,
            user_id: user.map(str::to_owned),
            email: None,
            tenant_id: tenant.map(str::to_owned),
            method: "GET".into(),
            path: "/".into(),
            query: None,
            status: 200,
            client_ip: None,
            body: None,
            duration_us: 0,
            trace_id: String::new(),
        }
    }

    #[test]
    fn a_batch_has_one_zone_per_key_from_its_first_to_its_last_record() {
        let batch = [
            record(Some("u1"), Some("t1")),
            record(Some("u2"), Some("t1")),
            record(Some("u1"), None),
            record(None, None),
        ];
        let mut zones = zones_of(&batch, 10);
        zones.sort_unstable();
        assert_eq!(
            zones,
            vec![
                (USER, "u1", 10, 12),
                (USER, "u2", 11, 11),
                (TENANT, "t1", 10, 11)
            ]
        );
    }

    #[test]
    fn a_file_from_before_zones_loses_its_indexes_and_gets_a_zone_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stella-activity.db");
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE activity_log (id INTEGER PRIMARY KEY, ts BIGINT NOT NULL, user_id TEXT,
               email TEXT, tenant_id TEXT, method TEXT NOT NULL, path TEXT NOT NULL, query TEXT,
               status BIGINT NOT NULL, client_ip TEXT, body TEXT, duration_us BIGINT NOT NULL,
               trace_id TEXT NOT NULL);
             CREATE INDEX activity_log_user ON activity_log(user_id, id);
             CREATE INDEX activity_log_tenant ON activity_log(tenant_id, id);
             INSERT INTO activity_log VALUES (1, 0, 'u1', NULL, 't1', 'GET', '/', NULL, 200, NULL, NULL, 0, '');
             INSERT INTO activity_log VALUES (2, 0, 'u2', NULL, NULL, 'GET', '/', NULL, 200, NULL, NULL, 0, '');
             INSERT INTO activity_log VALUES (3, 0, 'u1', NULL, 't1', 'GET', '/', NULL, 200, NULL, NULL, 0, '');",
        )
        .unwrap();
        drop(old);
        crate::activity::create_sqlite_activity_file(&path).unwrap();
        crate::activity::create_sqlite_activity_file(&path).unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        let indexes: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'activity_log_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 0);
        let mut zones: Vec<(i64, String, i64, i64)> = conn
            .prepare("SELECT kind, key, first_id, last_id FROM activity_zones")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        zones.sort_unstable();
        assert_eq!(
            zones,
            vec![
                (USER, "u1".into(), 1, 3),
                (USER, "u2".into(), 2, 2),
                (TENANT, "t1".into(), 1, 3)
            ]
        );
    }

    proptest! {
        /// Every id inside a zone is inside one of the ranges; ranges are sorted, disjoint
        /// and bounded in number.
        #[test]
        fn ranges_cover_every_zone(zones in prop::collection::vec((0i64..10_000, 0i64..50), 0..200)) {
            let zones: Vec<(i64, i64)> = zones.into_iter().map(|(a, len)| (a, a + len)).collect();
            let ranges = covering_ranges(zones.clone());
            prop_assert!(ranges.len() <= MAX_RANGES);
            prop_assert!(ranges.windows(2).all(|w| w[0].1 < w[1].0));
            for (first, last) in zones {
                prop_assert!(ranges.iter().any(|r| r.0 <= first && last <= r.1));
            }
        }
    }
}
