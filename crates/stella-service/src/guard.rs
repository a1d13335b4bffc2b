//! Brute-force protection: failed authentications are counted per client address and per
//! account; past the limit within the window, that address or account is blocked for a while
//! and every attempt answers 429, right credentials included.

use dashmap::DashMap;

#[derive(Debug, Clone, Copy)]
struct Entry {
    window_start_ms: i64,
    failures: u32,
    blocked_until_ms: i64,
}

#[derive(Debug)]
pub struct BruteForceGuard {
    max_failures: u32,
    window_ms: i64,
    block_ms: i64,
    entries: DashMap<String, Entry>,
}

/// Bound on tracked keys; when reached, entries that are neither blocked nor in a live window
/// are dropped first.
const MAX_TRACKED: usize = 200_000;

impl BruteForceGuard {
    pub fn new(max_failures: u32, window_secs: i64, block_secs: i64) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window_ms: window_secs * 1000,
            block_ms: block_secs * 1000,
            entries: DashMap::new(),
        }
    }

    /// Seconds until `key` may try again, if it is blocked now.
    pub fn blocked_for(&self, key: &str, now_ms: i64) -> Option<u64> {
        let e = self.entries.get(key)?;
        (e.blocked_until_ms > now_ms).then(|| ((e.blocked_until_ms - now_ms + 999) / 1000) as u64)
    }

    /// Records a failure; returns the block duration in seconds if this failure starts a block.
    pub fn record_failure(&self, key: &str, now_ms: i64) -> Option<u64> {
        if self.entries.len() >= MAX_TRACKED {
            let window = self.window_ms;
            self.entries
                .retain(|_, e| e.blocked_until_ms > now_ms || now_ms - e.window_start_ms < window);
        }
        let mut e = self.entries.entry(key.to_owned()).or_insert(Entry {
            window_start_ms: now_ms,
            failures: 0,
            blocked_until_ms: 0,
        });
        if now_ms - e.window_start_ms >= self.window_ms {
            e.window_start_ms = now_ms;
            e.failures = 0;
        }
        e.failures += 1;
        if e.failures >= self.max_failures {
            e.blocked_until_ms = now_ms + self.block_ms;
            e.failures = 0;
            e.window_start_ms = now_ms;
            return Some((self.block_ms / 1000) as u64);
        }
        None
    }

    /// A success clears an account's count (not an address's: one good key must not launder
    /// a spray of bad ones from the same address).
    pub fn record_success(&self, account_key: &str) {
        if let Some(mut e) = self.entries.get_mut(account_key) {
            e.failures = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_limit_then_expires() {
        let g = BruteForceGuard::new(3, 60, 120);
        assert_eq!(g.record_failure("ip:1", 0), None);
        assert_eq!(g.record_failure("ip:1", 1000), None);
        assert_eq!(g.blocked_for("ip:1", 1000), None);
        assert_eq!(g.record_failure("ip:1", 2000), Some(120));
        assert_eq!(g.blocked_for("ip:1", 2000), Some(120));
        assert_eq!(g.blocked_for("ip:2", 2000), None);
        assert_eq!(g.blocked_for("ip:1", 2000 + 120_000), None);
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let g = BruteForceGuard::new(2, 10, 60);
        assert_eq!(g.record_failure("a", 0), None);
        assert_eq!(g.record_failure("a", 10_000), None);
        assert_eq!(g.record_failure("a", 11_000), Some(60));
    }
}
