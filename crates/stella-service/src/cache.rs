//! Short-lived caches of users, API keys and custom profiles for the authentication hot path.
//! Writes through this server invalidate entries at once; the TTL bounds how long a change made
//! by another server sharing the database can go unseen.

use dashmap::DashMap;
use std::sync::Arc;

#[derive(Debug)]
pub struct TtlCache<V> {
    ttl_ms: i64,
    entries: DashMap<String, (i64, Arc<V>)>,
}

const MAX_ENTRIES: usize = 100_000;

impl<V> TtlCache<V> {
    pub fn new(ttl_ms: i64) -> Self {
        Self {
            ttl_ms,
            entries: DashMap::new(),
        }
    }

    pub fn get(&self, key: &str, now_ms: i64) -> Option<Arc<V>> {
        let e = self.entries.get(key)?;
        (now_ms - e.0 < self.ttl_ms && now_ms >= e.0).then(|| e.1.clone())
    }

    pub fn put(&self, key: &str, value: Arc<V>, now_ms: i64) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(key.to_owned(), (now_ms, value));
    }

    pub fn invalidate(&self, key: &str) {
        self.entries.remove(key);
    }

    pub fn clear(&self) {
        self.entries.clear();
    }
}
