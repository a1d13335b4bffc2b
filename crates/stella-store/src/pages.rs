//! Remembered list totals and page boundaries, so that walking a large list a page at a time
//! does not re-count it and re-skip its offset for every page.
//!
//! For each list (table, conditions, sort, order) it keeps the total and, for each offset a
//! previous page ended at, the sort key and id of that page's last row. A request for that
//! offset then seeks past the key (`(sort, id) < (key, id)`) instead of walking `OFFSET` rows.
//! Everything is forgotten on any write to a listed table through this `Database`; on
//! PostgreSQL, where other servers write too, entries also expire after a second.

use crate::sql::Bind;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Lists remembered at once; past this the cache starts over.
const MAX_LISTS: usize = 256;
/// Boundaries remembered in all (each ~150 bytes, so ~30 MB at most): a 100-row page walk of
/// 100,000 rows needs 1,000. Past this, new boundaries are not kept and pages fall back to
/// `OFFSET` until the next write clears the cache.
const MAX_BOUNDARIES: usize = 200_000;

#[derive(Debug, Default)]
pub(crate) struct PageCache {
    generation: AtomicU64,
    lists: Mutex<Lists>,
    /// `Some` where other processes may write the same tables.
    ttl: Option<Duration>,
}

#[derive(Debug, Default)]
struct Lists {
    /// The generation every entry was made in.
    generation: u64,
    by_key: HashMap<String, Remembered>,
    /// Boundaries held across all lists.
    boundaries: usize,
}

#[derive(Debug)]
struct Remembered {
    born: Instant,
    total: Option<i64>,
    /// offset → (sort key, id) of the row just before it.
    boundaries: HashMap<i64, (Bind, String)>,
}

impl Remembered {
    fn new() -> Self {
        Self {
            born: Instant::now(),
            total: None,
            boundaries: HashMap::new(),
        }
    }
}

impl PageCache {
    pub(crate) fn new(ttl: Option<Duration>) -> Self {
        Self {
            ttl,
            ..Self::default()
        }
    }

    /// Forgets everything: a listed table changed.
    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Runs `f` on the entry for `key` (fresh if stale), with the generation the cache holds
    /// and the number of boundaries held across all lists.
    fn with<T>(&self, key: &str, f: impl FnOnce(&mut Remembered, u64, &mut usize) -> T) -> T {
        let generation = self.generation.load(Ordering::Acquire);
        let mut guard = self.lists.lock();
        let lists = &mut *guard;
        let full = lists.by_key.len() >= MAX_LISTS && !lists.by_key.contains_key(key);
        if full || lists.generation != generation {
            // Everything is forgotten at once, so stale lists hold no part of the budget.
            *lists = Lists {
                generation,
                ..Lists::default()
            };
        }
        let entry = lists
            .by_key
            .entry(key.to_owned())
            .or_insert_with(Remembered::new);
        if self.ttl.is_some_and(|ttl| entry.born.elapsed() > ttl) {
            lists.boundaries -= entry.boundaries.len();
            *entry = Remembered::new();
        }
        f(entry, lists.generation, &mut lists.boundaries)
    }

    pub(crate) fn total(&self, key: &str) -> Option<i64> {
        self.with(key, |e, _, _| e.total)
    }

    /// Remembers a total counted at `generation` (a write since then makes it worthless).
    pub(crate) fn set_total(&self, key: &str, generation: u64, total: i64) {
        self.with(key, |e, holds, _| {
            if holds == generation {
                e.total = Some(total);
            }
        });
    }

    pub(crate) fn boundary(&self, key: &str, offset: i64) -> Option<(Bind, String)> {
        self.with(key, |e, _, _| e.boundaries.get(&offset).cloned())
    }

    pub(crate) fn set_boundary(&self, key: &str, generation: u64, offset: i64, at: (Bind, String)) {
        self.with(key, |e, holds, held| {
            if holds == generation
                && *held < MAX_BOUNDARIES
                && e.boundaries.insert(offset, at).is_none()
            {
                *held += 1;
            }
        });
    }

    /// The generation a read starts at; what it learns is kept only if no write came between.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_forgets_totals_and_boundaries() {
        let c = PageCache::new(None);
        let g = c.generation();
        c.set_total("k", g, 7);
        c.set_boundary("k", g, 100, (Bind::Int(Some(5)), "id".into()));
        assert_eq!(c.total("k"), Some(7));
        assert!(c.boundary("k", 100).is_some());
        c.changed();
        assert_eq!(c.total("k"), None);
        assert!(c.boundary("k", 100).is_none());
    }

    #[test]
    fn boundaries_are_bounded_across_lists_and_freed_when_forgotten() {
        let c = PageCache::new(None);
        let g = c.generation();
        for i in 0..MAX_BOUNDARIES as i64 + 10 {
            let key = if i % 2 == 0 { "a" } else { "b" };
            c.set_boundary(key, g, i, (Bind::Int(Some(i)), "id".into()));
        }
        assert_eq!(c.lists.lock().boundaries, MAX_BOUNDARIES);
        assert!(c.boundary("a", MAX_BOUNDARIES as i64 + 8).is_none());
        c.changed();
        let g = c.generation();
        c.set_boundary("a", g, 1, (Bind::Int(Some(1)), "id".into()));
        assert!(c.boundary("a", 1).is_some());
        assert_eq!(c.lists.lock().boundaries, 1);
    }

    #[test]
    fn what_a_read_learned_before_a_write_is_not_kept() {
        let c = PageCache::new(None);
        let g = c.generation();
        c.changed();
        c.set_total("k", g, 7);
        assert_eq!(c.total("k"), None);
    }
}
