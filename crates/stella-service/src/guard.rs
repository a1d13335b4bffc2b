//! Brute-force throttling with growing delays.
//!
//! Failed authentications are counted per (account, client address) pair and per client
//! address. Past a number of free failures, each further failure makes that key wait before
//! its next try: 1 s, then 2 s, 4 s … up to a ceiling; a success (for a pair) or a quiet window
//! clears the count. While a key waits, every attempt through it answers 429, right
//! credentials included — but only through *that* key: guesses from other addresses slow those
//! addresses down and never lock the account's owner out of their own address.

use dashmap::DashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure_ms: i64,
    blocked_until_ms: i64,
}

#[derive(Debug)]
pub struct BruteForceGuard {
    /// Failures in a row after which a key has to wait (the old "block after N failures").
    free_failures: u32,
    /// A key with no failure for this long starts over.
    window_ms: i64,
    /// The longest wait.
    max_delay_ms: i64,
    /// Keys are hashes of what they stand for, so an attacker who chooses the account name (an
    /// email, a client id) does not choose the memory it takes: with a per-process random key,
    /// or (`None`, counters shared in Redis) the fixed one every server of a deployment uses.
    hasher: Option<std::collections::hash_map::RandomState>,
    entries: DashMap<u64, Entry>,
    /// When entries were last pruned: at most once a second, however many keys arrive.
    last_prune_ms: AtomicI64,
}

/// Bound on tracked keys; when reached, keys that are neither waiting nor in a live window are
/// dropped first.
const MAX_TRACKED: usize = 200_000;
const FIRST_DELAY_MS: i64 = 1000;

impl BruteForceGuard {
    pub fn new(free_failures: u32, window_secs: i64, max_delay_secs: i64) -> Self {
        Self {
            free_failures: free_failures.max(1),
            window_ms: window_secs.max(1) * 1000,
            max_delay_ms: max_delay_secs.max(1) * 1000,
            hasher: Some(std::collections::hash_map::RandomState::new()),
            entries: DashMap::new(),
            last_prune_ms: AtomicI64::new(i64::MIN),
        }
    }

    /// Keys every server of a deployment computes alike (the counters are shared in Redis).
    pub fn deployment_wide(mut self) -> Self {
        self.hasher = None;
        self
    }

    /// The key of what `parts` names (an address, or an account and an address).
    pub fn key(&self, parts: impl Hash) -> u64 {
        match &self.hasher {
            Some(h) => h.hash_one(parts),
            None => {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                parts.hash(&mut h);
                h.finish()
            }
        }
    }

    /// The counting rule's parameters, for the shared (Redis) counters:
    /// (window ms, longest wait ms, first wait ms).
    pub fn rule(&self) -> (i64, i64, i64) {
        (self.window_ms, self.max_delay_ms, FIRST_DELAY_MS)
    }

    pub fn free_failures(&self) -> u32 {
        self.free_failures
    }

    /// Seconds until `key` may try again, if it has to wait now.
    pub fn blocked_for(&self, key: u64, now_ms: i64) -> Option<u64> {
        let e = self.entries.get(&key)?;
        (e.blocked_until_ms > now_ms).then(|| ((e.blocked_until_ms - now_ms + 999) / 1000) as u64)
    }

    /// Records a failure against `key` with `free` failures allowed before waits start (the
    /// per-address key allows more than a pair); returns the wait it now imposes, if any.
    pub fn record_failure(&self, key: u64, free: u32, now_ms: i64) -> Option<u64> {
        if self.entries.len() >= MAX_TRACKED && !self.entries.contains_key(&key) {
            let last = self.last_prune_ms.load(Ordering::Relaxed);
            if now_ms - last >= 1000
                && self
                    .last_prune_ms
                    .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                let window = self.window_ms;
                self.entries.retain(|_, e| {
                    e.blocked_until_ms > now_ms || now_ms - e.last_failure_ms < window
                });
            }
            if self.entries.len() >= MAX_TRACKED {
                // Every tracked key is live: a new one is not tracked (its address's key, which
                // exists already, still counts).
                return None;
            }
        }
        let mut e = self.entries.entry(key).or_insert(Entry {
            failures: 0,
            last_failure_ms: now_ms,
            blocked_until_ms: 0,
        });
        if now_ms - e.last_failure_ms >= self.window_ms && e.blocked_until_ms <= now_ms {
            e.failures = 0;
        }
        e.failures = e.failures.saturating_add(1);
        e.last_failure_ms = now_ms;
        // The `free`-th failure in a row starts the waits.
        let over = (e.failures + 1).saturating_sub(free.max(1));
        if over == 0 {
            return None;
        }
        // 1 s, 2 s, 4 s … doubling per failure past the free ones, up to the ceiling.
        let delay = FIRST_DELAY_MS
            .saturating_mul(1i64 << (over - 1).min(30))
            .min(self.max_delay_ms);
        e.blocked_until_ms = now_ms + delay;
        Some(((delay + 999) / 1000) as u64)
    }

    /// A success clears a pair's count (never an address's: one good credential must not
    /// launder a spray of bad ones from the same address).
    pub fn record_success(&self, key: u64) {
        self.entries.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_past_the_free_failures_then_expire() {
        let g = BruteForceGuard::new(3, 300, 60);
        let (k, other) = (g.key("k"), g.key("other"));
        for t in [0, 10] {
            assert_eq!(g.record_failure(k, 3, t), None);
        }
        assert_eq!(g.blocked_for(k, 10), None);
        assert_eq!(g.record_failure(k, 3, 30), Some(1));
        assert_eq!(g.blocked_for(k, 30), Some(1));
        assert_eq!(g.blocked_for(k, 1030), None);
        assert_eq!(g.record_failure(k, 3, 1030), Some(2));
        assert_eq!(g.record_failure(k, 3, 3030), Some(4));
        // Doubling stops at the ceiling.
        let mut t = 10_000;
        let mut last = 0;
        for _ in 0..20 {
            last = g.record_failure(k, 3, t).unwrap_or(0);
            t += 100_000;
        }
        assert_eq!(last, 60);
        // Other keys are untouched; a success clears a key.
        assert_eq!(g.blocked_for(other, t), None);
        g.record_success(k);
        assert_eq!(g.blocked_for(k, t), None);
    }

    #[test]
    fn a_quiet_window_starts_over() {
        let g = BruteForceGuard::new(3, 10, 60);
        let a = g.key("a");
        assert_eq!(g.record_failure(a, 3, 0), None);
        assert_eq!(g.record_failure(a, 3, 1_000), None);
        assert_eq!(g.record_failure(a, 3, 2_000), Some(1));
        assert_eq!(g.record_failure(a, 3, 30_000), None);
    }
}
