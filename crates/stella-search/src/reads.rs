//! Search-idle tracking (see `IndexOptions::search_idle_ms`): reads note when they happen, the
//! indexer notes when it held back a background commit, and a read that finds one held back
//! commits first, so holding back never makes a read miss an acknowledged event.
//!
//! Times are milliseconds since the tracker was made; the `_at` forms take them as arguments,
//! so the decision is tested without waiting.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

pub(crate) struct Reads {
    start: Instant,
    /// Milliseconds from `start` to the last read; opening counts as a read.
    last_ms: AtomicU64,
    /// The indexer has uncommitted documents whose background commit it held back.
    held_back: AtomicBool,
    /// The last log record committed to the index (the cluster view's index lag).
    committed_lsn: AtomicU64,
    /// Partition writers open now, and the most ever open at once (`max_open_writers`).
    writers: AtomicUsize,
    writers_peak: AtomicUsize,
}

impl Reads {
    pub fn new() -> Reads {
        Reads {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            held_back: AtomicBool::new(false),
            committed_lsn: AtomicU64::new(0),
            writers: AtomicUsize::new(0),
            writers_peak: AtomicUsize::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Records a read; true when a commit was held back and the reader should refresh first.
    pub fn touch(&self) -> bool {
        self.touch_at(self.now_ms())
    }

    fn touch_at(&self, now_ms: u64) -> bool {
        // SeqCst on both sides: either this read sees the flag, or `hold_back` sees the read.
        self.last_ms.store(now_ms, Ordering::SeqCst);
        self.held_back.load(Ordering::SeqCst)
    }

    /// The indexer's side: whether it may hold back a due commit because nothing has read
    /// for `idle_ms`.
    pub fn hold_back(&self, idle_ms: u64) -> bool {
        self.hold_back_at(self.now_ms(), idle_ms)
    }

    /// Publishes the flag before looking, so a read racing with this either sees it or is seen.
    fn hold_back_at(&self, now_ms: u64, idle_ms: u64) -> bool {
        self.held_back.store(true, Ordering::SeqCst);
        let last = self.last_ms.load(Ordering::SeqCst);
        let held = now_ms.saturating_sub(last) >= idle_ms;
        if !held {
            self.held_back.store(false, Ordering::SeqCst);
        }
        held
    }

    /// Everything applied so far, up to log record `lsn`, is committed.
    pub fn committed(&self, lsn: u64) {
        self.committed_lsn.fetch_max(lsn, Ordering::Release);
        self.held_back.store(false, Ordering::SeqCst);
    }

    pub fn committed_lsn(&self) -> u64 {
        self.committed_lsn.load(Ordering::Acquire)
    }

    /// The indexer's side: how many partition writers are open now.
    pub fn writers_open(&self, n: usize) {
        self.writers.store(n, Ordering::Relaxed);
        self.writers_peak.fetch_max(n, Ordering::Relaxed);
    }

    /// (open now, most at once since the index opened).
    pub fn writers(&self) -> (usize, usize) {
        (
            self.writers.load(Ordering::Relaxed),
            self.writers_peak.load(Ordering::Relaxed),
        )
    }

    /// Whether a background commit is being held back now.
    #[cfg(test)]
    pub fn is_holding_back(&self) -> bool {
        self.held_back.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::Reads;

    #[test]
    fn a_commit_waits_only_after_an_idle_spell_and_the_next_read_is_told() {
        let r = Reads::new();
        assert!(!r.touch_at(1_000));
        assert!(!r.hold_back_at(1_500, 1_000), "read 500 ms ago: commit now");
        assert!(!r.touch_at(1_600), "nothing was held back");
        assert!(r.hold_back_at(2_600, 1_000), "no read for 1 s: hold back");
        assert!(r.touch_at(2_700), "the next read commits first");
        r.committed(1);
        assert!(!r.touch_at(2_800));
    }
}
