//! The free-space floor: below `min_free_bytes` free on the data directory's filesystem,
//! event ingest and data writes are refused (503 with `Retry-After`) before the disk is full,
//! so nothing acknowledged ever meets a failed write: the write-ahead log stops for good on a
//! failed write or fsync, and SQLite answers errors mid-transaction. The margin left keeps
//! room for what still writes (the activity log, sign-in, revocations, commits of events
//! already acknowledged). Once space is freed (retention, an operator), writes resume by
//! themselves: a refused request measures again.

use crate::{Result, ServiceError};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

/// How long a measurement is trusted while above the floor; a write also subtracts what it
/// adds, so a burst between measurements is seen at once.
const REMEASURE_MS: i64 = 250;
/// What a refused write is told to wait before trying again.
pub const RETRY_AFTER_SECS: u64 = 30;

#[derive(Debug)]
pub struct DiskGuard {
    dir: PathBuf,
    floor: u64,
    /// Free bytes as last measured, less what was written since.
    free: AtomicU64,
    /// Milliseconds since `started` of the last measurement.
    measured_at: AtomicI64,
    low: AtomicBool,
    started: Instant,
    /// Requests refused for want of space (for `/metrics`).
    pub refused: AtomicU64,
}

/// What `/readyz` and `/metrics` show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskState {
    pub free: u64,
    pub floor: u64,
    pub low: bool,
}

impl DiskGuard {
    /// `floor` 0 turns the guard off.
    pub fn new(dir: PathBuf, floor: u64) -> Self {
        let g = Self {
            dir,
            floor,
            free: AtomicU64::new(u64::MAX),
            measured_at: AtomicI64::new(i64::MIN / 2),
            low: AtomicBool::new(false),
            started: Instant::now(),
            refused: AtomicU64::new(0),
        };
        g.measure();
        g
    }

    fn elapsed_ms(&self) -> i64 {
        i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// Reads the filesystem's free space now (one `statvfs`, microseconds).
    pub fn measure(&self) -> DiskState {
        if self.floor > 0 {
            match fs4::available_space(&self.dir) {
                Ok(free) => {
                    self.free.store(free, Ordering::Relaxed);
                    self.low.store(free < self.floor, Ordering::Release);
                }
                // Unmeasurable (the directory is gone?): keep the last reading.
                Err(e) => {
                    tracing::warn!(dir = %self.dir.display(), error = %e, "cannot measure free space")
                }
            }
            self.measured_at.store(self.elapsed_ms(), Ordering::Relaxed);
        }
        self.state()
    }

    pub fn state(&self) -> DiskState {
        DiskState {
            free: self.free.load(Ordering::Relaxed),
            floor: self.floor,
            low: self.low.load(Ordering::Acquire),
        }
    }

    /// Whether a write may go ahead: refused once free space is below the floor, as
    /// Elasticsearch's flood-stage watermark does (the write that crosses it is accepted;
    /// the floor is the margin it lands in). A write refused here changed nothing.
    pub fn admit_write(&self) -> Result<()> {
        if self.floor == 0 {
            return Ok(());
        }
        let stale = self.elapsed_ms() - self.measured_at.load(Ordering::Relaxed) >= REMEASURE_MS;
        // Below the floor, every attempt measures again: freed space is seen at once.
        let state = if stale || self.low.load(Ordering::Acquire) {
            self.measure()
        } else {
            self.state()
        };
        if state.low {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(ServiceError::DiskFull(format!(
                "the server's disk is nearly full ({} MiB free, below the floor of {} MiB): \
                 writes are refused until space is freed; reads still work",
                state.free >> 20,
                self.floor >> 20
            )));
        }
        Ok(())
    }

    /// Accounts for `bytes` just written (until the next measurement).
    pub fn wrote(&self, bytes: u64) {
        if self.floor == 0 {
            return;
        }
        let before = self
            .free
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |f| {
                Some(f.saturating_sub(bytes))
            })
            .unwrap_or(0);
        if before.saturating_sub(bytes) < self.floor {
            self.low.store(true, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_above_what_is_free_refuses_and_zero_turns_it_off() {
        let dir = tempfile::tempdir().unwrap();
        let g = DiskGuard::new(dir.path().to_owned(), u64::MAX / 2);
        assert!(g.state().low);
        assert!(matches!(g.admit_write(), Err(ServiceError::DiskFull(_))));
        assert_eq!(g.refused.load(Ordering::Relaxed), 1);
        let off = DiskGuard::new(dir.path().to_owned(), 0);
        off.wrote(u64::MAX);
        off.admit_write().unwrap();
    }

    #[test]
    fn writes_counted_between_measurements_reach_the_floor() {
        let dir = tempfile::tempdir().unwrap();
        let g = DiskGuard::new(dir.path().to_owned(), 1);
        let free = g.state().free;
        assert!(!g.state().low && free > 1);
        g.admit_write().unwrap();
        // Written since the last measurement: below the floor without measuring again.
        g.wrote(free);
        assert!(g.state().low);
    }
}
