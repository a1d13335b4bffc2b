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
/// Boundaries remembered per list (a 100-row page walk of 100,000 rows needs 1,000).
const MAX_BOUNDARIES: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct PageCache {
    generation: AtomicU64,
    lists: Mutex<HashMap<String, Remembered>>,
    /// `Some` where other processes may write the same tables.
    ttl: Option<Duration>,
}

#[derive(Debug)]
struct Remembered {
    generation: u64,
    born: Instant,
    total: Option<i64>,
    /// offset → (sort key, id) of the row just before it.
    boundaries: HashMap<i64, (Bind, String)>,
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

    fn with<T>(&self, key: &str, f: impl FnOnce(&mut Remembered) -> T) -> T {
        let generation = self.generation.load(Ordering::Acquire);
        let mut lists = self.lists.lock();
        if lists.len() >= MAX_LISTS && !lists.contains_key(key) {
            lists.clear();
        }
        let entry = lists.entry(key.to_owned()).or_insert_with(|| Remembered {
            generation,
            born: Instant::now(),
            total: None,
            boundaries: HashMap::new(),
        });
        let expired = self.ttl.is_some_and(|ttl| entry.born.elapsed() > ttl);
        if entry.generation != generation || expired {
            *entry = Remembered {
                generation,
                born: Instant::now(),
                total: None,
                boundaries: HashMap::new(),
            };
        }
        f(entry)
    }

    pub(crate) fn total(&self, key: &str) -> Option<i64> {
        self.with(key, |e| e.total)
    }

    /// Remembers a total counted at `generation` (a write since then makes it worthless).
    pub(crate) fn set_total(&self, key: &str, generation: u64, total: i64) {
        self.with(key, |e| {
            if e.generation == generation {
                e.total = Some(total);
            }
        });
    }

    pub(crate) fn boundary(&self, key: &str, offset: i64) -> Option<(Bind, String)> {
        self.with(key, |e| e.boundaries.get(&offset).cloned())
    }

    pub(crate) fn set_boundary(&self, key: &str, generation: u64, offset: i64, at: (Bind, String)) {
        self.with(key, |e| {
            if e.generation == generation && e.boundaries.len() < MAX_BOUNDARIES {
                e.boundaries.insert(offset, at);
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
    fn what_a_read_learned_before_a_write_is_not_kept() {
        let c = PageCache::new(None);
        let g = c.generation();
        c.changed();
        c.set_total("k", g, 7);
        assert_eq!(c.total("k"), None);
    }
}
