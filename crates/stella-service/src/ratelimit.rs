//! Token buckets per key: a bucket holds `capacity` tokens and refills at `rate` per second,
//! so a burst of `capacity` passes and the next request waits. Request rate limits use
//! `capacity == rate` (a second's worth); playbook runs allow a minute's burst.

use dashmap::DashMap;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens scaled by 1000 to keep integer arithmetic exact.
    milli_tokens: i64,
    updated_ms: i64,
}

#[derive(Debug)]
pub struct RateLimiter {
    /// Tokens added per `period_ms`.
    per_period: i64,
    period_ms: i64,
    capacity: i64,
    buckets: DashMap<u64, Bucket>,
}

const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    pub fn new(rate_per_second: u32) -> Self {
        let rate = i64::from(rate_per_second.max(1));
        Self {
            per_period: rate,
            period_ms: 1000,
            capacity: rate,
            buckets: DashMap::new(),
        }
    }

    /// Up to a minute's worth at once, refilled at `per_minute` a minute.
    pub fn per_minute(per_minute: u32) -> Self {
        let n = i64::from(per_minute.max(1));
        Self {
            per_period: n,
            period_ms: 60_000,
            capacity: n,
            buckets: DashMap::new(),
        }
    }

    /// Tokens per second (per period for other limiters), as configured.
    pub fn rate(&self) -> i64 {
        self.per_period
    }

    /// Milli-tokens refilled over `elapsed_ms`.
    fn refill(&self, elapsed_ms: i64) -> i64 {
        elapsed_ms.saturating_mul(self.per_period * 1000) / self.period_ms
    }

    /// `Ok(())` if the request may go ahead, `Err(seconds)` to wait otherwise.
    pub fn check(&self, key: u64, now_ms: i64) -> Result<(), u64> {
        let capacity = self.capacity * 1000;
        if self.buckets.len() >= MAX_BUCKETS {
            // Full buckets carry no information; dropping them bounds memory under key spraying.
            self.buckets
                .retain(|_, b| b.milli_tokens + self.refill(now_ms - b.updated_ms) < capacity);
        }
        let mut b = self.buckets.entry(key).or_insert(Bucket {
            milli_tokens: capacity,
            updated_ms: now_ms,
        });
        let elapsed = (now_ms - b.updated_ms).max(0);
        b.milli_tokens = (b.milli_tokens + self.refill(elapsed)).min(capacity);
        b.updated_ms = now_ms;
        if b.milli_tokens >= 1000 {
            b.milli_tokens -= 1000;
            Ok(())
        } else {
            let missing = 1000 - b.milli_tokens;
            let per_second = self.refill(1000).max(1);
            let wait_ms = (missing * 1000 + per_second - 1) / per_second;
            Err(((wait_ms + 999) / 1000).max(1) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_limiter_allows_a_minutes_burst_then_one_a_second() {
        let r = RateLimiter::per_minute(60);
        for i in 0..60 {
            assert_eq!(r.check(1, 0), Ok(()), "run {i}");
        }
        assert_eq!(r.check(1, 0), Err(1));
        assert_eq!(r.check(1, 1_000), Ok(()));
        assert_eq!(r.check(1, 1_000), Err(1));
        let slow = RateLimiter::per_minute(6);
        for _ in 0..6 {
            assert_eq!(slow.check(2, 0), Ok(()));
        }
        assert_eq!(slow.check(2, 0), Err(10));
    }

    #[test]
    fn forty_pass_the_forty_first_waits() {
        let r = RateLimiter::new(40);
        for i in 0..40 {
            assert_eq!(r.check(7, 1_000), Ok(()), "request {i}");
        }
        assert_eq!(r.check(7, 1_000), Err(1));
        assert_eq!(r.check(8, 1_000), Ok(()), "other keys are independent");
        assert_eq!(r.check(7, 1_025), Ok(()), "one token refills in 25 ms");
        assert_eq!(r.check(7, 1_025), Err(1));
        for _ in 0..40 {
            assert_eq!(r.check(7, 3_000), Ok(()));
        }
    }
}
