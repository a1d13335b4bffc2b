//! Search-idle tracking (see `IndexOptions::search_idle_ms`): reads note when they happen, the
//! indexer notes when it held back a background commit, and a read that finds one held back
//! commits first, so holding back never makes a read miss an acknowledged event.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub(crate) struct Reads {
    start: Instant,
    /// Milliseconds from `start` to the last read; opening counts as a read.
    last_ms: AtomicU64,
    /// The indexer has uncommitted documents whose background commit it held back.
    held_back: AtomicBool,
}

impl Reads {
    pub fn new() -> Reads {
        Reads {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            held_back: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Records a read; true when a commit was held back and the reader should refresh first.
    pub fn touch(&self) -> bool {
        // SeqCst on both sides: either this read sees the flag, or `hold_back` sees the read.
        self.last_ms.store(self.now_ms(), Ordering::SeqCst);
        self.held_back.load(Ordering::SeqCst)
    }

    /// The indexer's side: whether it may hold back a due commit because nothing has read
    /// for `idle`. Publishes the flag before looking, so a read racing with this either
    /// sees it or is seen.
    pub fn hold_back(&self, idle: Duration) -> bool {
        self.held_back.store(true, Ordering::SeqCst);
        let last = self.last_ms.load(Ordering::SeqCst);
        let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        let held = self.now_ms().saturating_sub(last) >= idle_ms;
        if !held {
            self.held_back.store(false, Ordering::SeqCst);
        }
        held
    }

    /// Everything applied so far is committed.
    pub fn committed(&self) {
        self.held_back.store(false, Ordering::SeqCst);
    }
}
