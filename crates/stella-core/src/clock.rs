//! Time is a parameter: every component that needs "now" takes a [`Clock`], so tests move time
//! forward explicitly instead of sleeping.

use chrono::{DateTime, TimeZone, Utc};
use parking_lot::Mutex;
use std::sync::Arc;

pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Milliseconds since the Unix epoch; the unit the database stores.
    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

pub type SharedClock = Arc<dyn Clock>;

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to. Used by tests (and nothing else).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// A fixed, round starting point: 2026-01-01T00:00:00Z.
    pub fn at_epoch_2026() -> Self {
        let start = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_else(Utc::now);
        Self::new(start)
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.now.lock();
        *now += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock() = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock()
    }
}

/// Formats milliseconds since the epoch as RFC 3339 with a `Z` suffix, second precision.
pub fn rfc3339_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_epoch_2026();
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        clock.advance(chrono::Duration::seconds(600));
        assert_eq!((clock.now() - t0).num_seconds(), 600);
    }

    #[test]
    fn rfc3339_formats_utc_with_z() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00Z");
    }
}
