//! Per-token request rate limiting: a token bucket per key holding `rate` tokens and refilled
//! at `rate` per second, so a burst of `rate` requests passes and request `rate + 1` within the
//! same second is refused with the seconds to wait.

use dashmap::DashMap;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens scaled by 1000 to keep integer arithmetic exact.
    milli_tokens: i64,
    updated_ms: i64,
}

#[derive(Debug)]
pub struct RateLimiter {
    rate: i64,
    buckets: DashMap<u64, Bucket>,
}

const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    pub fn new(rate_per_second: u32) -> Self {
        Self {
            rate: i64::from(rate_per_second.max(1)),
            buckets: DashMap::new(),
        }
    }

    pub fn rate(&self) -> i64 {
        self.rate
    }

    /// `Ok(())` if the request may go ahead, `Err(seconds)` to wait otherwise.
    pub fn check(&self, key: u64, now_ms: i64) -> Result<(), u64> {
        let capacity = self.rate * 1000;
        if self.buckets.len() >= MAX_BUCKETS {
            // Full buckets carry no information; dropping them bounds memory under key spraying.
            self.buckets
                .retain(|_, b| b.milli_tokens + (now_ms - b.updated_ms) * self.rate < capacity);
        }
        let mut b = self.buckets.entry(key).or_insert(Bucket {
            milli_tokens: capacity,
            updated_ms: now_ms,
        });
        let elapsed = (now_ms - b.updated_ms).max(0);
        b.milli_tokens = (b.milli_tokens + elapsed * self.rate).min(capacity);
        b.updated_ms = now_ms;
        if b.milli_tokens >= 1000 {
            b.milli_tokens -= 1000;
            Ok(())
        } else {
            let missing = 1000 - b.milli_tokens;
            let wait_ms = (missing + self.rate - 1) / self.rate;
            Err(((wait_ms + 999) / 1000).max(1) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
