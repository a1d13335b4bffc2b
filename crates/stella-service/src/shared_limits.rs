//! Limits shared by every server of a deployment, kept in Redis (`redis_url`): the per-token
//! request rate and the brute-force counters. Without Redis each server keeps its own, so N
//! servers allow N times a limit; `/readyz` says which.
//!
//! Each decision is one Lua script, atomic in Redis, so servers deciding at once never both
//! take the last token. The request rate is GCRA (the generic cell rate algorithm: one stored
//! number per key, the theoretical arrival time of the next request), which allows the same
//! bursts as the local token bucket: `capacity` at once, then one per `1/rate` s.
//!
//! Redis being slow or down must not take the API down with it: every call is bounded
//! ([`CALL_TIMEOUT`]); a failure makes this server decide locally for [`BACKOFF`] before it
//! tries Redis again, and each local decision is counted (`fallbacks`, in `/metrics`) and
//! logged at most once per back-off.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Longest one Redis decision may take before the server decides locally.
pub const CALL_TIMEOUT: Duration = Duration::from_millis(100);
/// After a failure, how long the server decides locally before trying Redis again.
pub const BACKOFF: Duration = Duration::from_secs(1);

/// GCRA in microseconds. KEYS[1]: the key; ARGV: now µs, emission interval µs, burst
/// tolerance µs (interval × capacity). Returns 0 (allowed) or the wait in µs. The interval is
/// fractional for rates over a million a second: rounded to 0 it would also make the
/// tolerance 0, and then a request whose `now` reached Redis after a later one's (two
/// connections, two servers' clocks) was refused however high the limit.
const GCRA: &str = r"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allow_at = tat + interval - tolerance
if now < allow_at then return allow_at - now end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return 0
";

/// A failed authentication, as `guard.rs` counts it. KEYS[1]: the key; ARGV: now ms, free
/// failures, window ms, longest wait ms, first wait ms. Returns the wait it imposes, in ms
/// (0: none).
const FAILURE: &str = r"
local now = tonumber(ARGV[1])
local free = math.max(tonumber(ARGV[2]), 1)
local window = tonumber(ARGV[3])
local max_delay = tonumber(ARGV[4])
local first = tonumber(ARGV[5])
local f = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
local last = tonumber(redis.call('HGET', KEYS[1], 'l') or ARGV[1])
local blocked = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
if now - last >= window and blocked <= now then f = 0 end
f = f + 1
local over = f + 1 - free
local delay = 0
if over > 0 then
  delay = math.min(first * 2 ^ math.min(over - 1, 30), max_delay)
  blocked = now + delay
end
redis.call('HSET', KEYS[1], 'f', f, 'l', ARGV[1], 'u', string.format('%.0f', blocked))
redis.call('PEXPIRE', KEYS[1], window + max_delay)
return delay
";

pub struct SharedLimits {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
    gcra: redis::Script,
    failure: redis::Script,
    started: Instant,
    /// Milliseconds since `started` before which Redis is not tried.
    skip_until_ms: AtomicI64,
    /// Decisions taken locally because Redis did not answer.
    pub fallbacks: AtomicU64,
    /// Whether the last call reached Redis.
    pub up: AtomicBool,
}

impl std::fmt::Debug for SharedLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimits")
            .field("up", &self.up.load(Ordering::Relaxed))
            .field("fallbacks", &self.fallbacks.load(Ordering::Relaxed))
            .finish()
    }
}

/// Redis keys of this deployment start with this.
const PREFIX: &str = "stella:";

impl SharedLimits {
    /// Checks the URL only; the connection is made on first use (and remade after failures),
    /// so a server starts while Redis is down and uses it once it is back.
    pub fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("redis_url: {e}"))?;
        Ok(Self {
            client,
            conn: tokio::sync::Mutex::new(None),
            gcra: redis::Script::new(GCRA),
            failure: redis::Script::new(FAILURE),
            started: Instant::now(),
            skip_until_ms: AtomicI64::new(0),
            fallbacks: AtomicU64::new(0),
            up: AtomicBool::new(false),
        })
    }

    fn elapsed_ms(&self) -> i64 {
        i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    async fn connection(&self) -> Option<ConnectionManager> {
        if self.elapsed_ms() < self.skip_until_ms.load(Ordering::Relaxed) {
            return None;
        }
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Some(c.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CALL_TIMEOUT)
            .set_response_timeout(CALL_TIMEOUT)
            .set_number_of_retries(1);
        match tokio::time::timeout(
            CALL_TIMEOUT * 2,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        {
            Ok(Ok(c)) => {
                *slot = Some(c.clone());
                Some(c)
            }
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                None
            }
            Err(_) => {
                self.failed("connecting timed out");
                None
            }
        }
    }

    fn failed(&self, why: &str) {
        let now = self.elapsed_ms();
        let backoff = i64::try_from(BACKOFF.as_millis()).unwrap_or(1000);
        let previous = self.skip_until_ms.swap(now + backoff, Ordering::Relaxed);
        if self.up.swap(false, Ordering::Relaxed) || previous <= now {
            tracing::warn!(error = %why, "Redis did not answer: limits are per server for now");
        }
    }

    /// Awaits one Redis call within [`CALL_TIMEOUT`]; an error or a timeout starts the
    /// back-off. `None`: Redis did not answer.
    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(v)) => {
                self.up.store(true, Ordering::Relaxed);
                Some(v)
            }
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                None
            }
            Err(_) => {
                self.failed("timed out");
                None
            }
        }
    }

    /// Runs a script; `None` when Redis did not answer (the caller decides locally, and the
    /// fallback is counted).
    async fn run(&self, script: &redis::Script, key: &str, args: &[f64]) -> Option<i64> {
        let result = match self.connection().await {
            Some(mut conn) => {
                let mut invocation = script.key(format!("{PREFIX}{key}"));
                for a in args {
                    invocation.arg(*a);
                }
                self.bounded(invocation.invoke_async::<i64>(&mut conn))
                    .await
            }
            None => None,
        };
        if result.is_none() {
            self.fallbacks.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// The request rate: `Some(Ok(()))` to go ahead, `Some(Err(secs))` to wait, `None` when
    /// Redis did not answer.
    pub async fn rate(
        &self,
        key: u64,
        rate_per_second: i64,
        now_ms: i64,
    ) -> Option<Result<(), u64>> {
        self.budget("rl", key, rate_per_second, 1000, now_ms).await
    }

    /// `count` a `window_ms`, all of them at once if need be (the local token bucket's shape),
    /// under `kind:key`: the same answers as [`SharedLimits::rate`].
    pub async fn budget(
        &self,
        kind: &str,
        key: u64,
        count: i64,
        window_ms: i64,
        now_ms: i64,
    ) -> Option<Result<(), u64>> {
        let window_us = window_ms.max(1) as f64 * 1000.0;
        let interval_us = window_us / count.max(1) as f64;
        // Milliseconds since the epoch × 1000 stay far below 2^53: exact in Lua's doubles.
        let now_us = now_ms.saturating_mul(1000) as f64;
        let wait_us = self
            .run(
                &self.gcra,
                &format!("{kind}:{key:016x}"),
                &[now_us, interval_us, window_us],
            )
            .await?;
        Some(if wait_us <= 0 {
            Ok(())
        } else {
            Err(((wait_us + 999_999) / 1_000_000).max(1) as u64)
        })
    }

    /// Seconds `key` must wait before its next authentication, `Some(None)` if none.
    pub async fn blocked_for(&self, key: u64, now_ms: i64) -> Option<Option<u64>> {
        let mut conn = self.connection().await?;
        let mut cmd = redis::cmd("HGET");
        cmd.arg(format!("{PREFIX}bf:{key:016x}")).arg("u");
        let Some(until) = self
            .bounded(cmd.query_async::<Option<i64>>(&mut conn))
            .await
        else {
            self.fallbacks.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let until = until.unwrap_or(0);
        Some((until > now_ms).then(|| ((until - now_ms + 999) / 1000) as u64))
    }

    /// Counts a failure; the wait it imposes (`Some(None)`: none), `None` when Redis did not
    /// answer.
    pub async fn record_failure(
        &self,
        key: u64,
        free: u32,
        window_ms: i64,
        max_delay_ms: i64,
        first_delay_ms: i64,
        now_ms: i64,
    ) -> Option<Option<u64>> {
        let delay = self
            .run(
                &self.failure,
                &format!("bf:{key:016x}"),
                &[
                    now_ms as f64,
                    f64::from(free),
                    window_ms as f64,
                    max_delay_ms as f64,
                    first_delay_ms as f64,
                ],
            )
            .await?;
        Some((delay > 0).then(|| ((delay + 999) / 1000) as u64))
    }

    /// A success clears the pair's counter; `false` when Redis did not answer.
    pub async fn record_success(&self, key: u64) -> bool {
        let Some(mut conn) = self.connection().await else {
            return false;
        };
        let mut cmd = redis::cmd("DEL");
        cmd.arg(format!("{PREFIX}bf:{key:016x}"));
        self.bounded(cmd.query_async::<i64>(&mut conn))
            .await
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::SharedLimits;

    /// The machine's Redis (CI starts it), or `None` with a note.
    async fn redis() -> Option<SharedLimits> {
        let url = std::env::var("STELLA_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let limits = SharedLimits::new(&url).ok()?;
        if limits.connection().await.is_none() {
            eprintln!("skipped: no Redis at {url}");
            return None;
        }
        Some(limits)
    }

    fn fresh_key() -> u64 {
        u64::from_le_bytes(crate::crypto::random_bytes::<8>())
    }

    #[tokio::test]
    async fn a_request_reaching_redis_after_a_later_one_is_not_refused_at_any_rate() {
        let Some(limits) = redis().await else {
            return;
        };
        // Two servers (or connections) whose `now` reach Redis out of order by a millisecond.
        for rate in [40, 1_000_000, 1_000_000_000] {
            let key = fresh_key();
            assert_eq!(
                limits.rate(key, rate, 1_000_001).await,
                Some(Ok(())),
                "rate {rate}"
            );
            assert_eq!(
                limits.rate(key, rate, 1_000_000).await,
                Some(Ok(())),
                "rate {rate}"
            );
        }
    }

    #[tokio::test]
    async fn a_burst_of_the_capacity_passes_and_the_next_request_waits() {
        let Some(limits) = redis().await else {
            return;
        };
        let key = fresh_key();
        for i in 0..40 {
            assert_eq!(
                limits.rate(key, 40, 5_000).await,
                Some(Ok(())),
                "request {i}"
            );
        }
        assert_eq!(limits.rate(key, 40, 5_000).await, Some(Err(1)));
        // A fortieth of a second later, one more.
        assert_eq!(limits.rate(key, 40, 5_025).await, Some(Ok(())));
    }

    #[tokio::test]
    async fn a_budget_a_minute_allows_its_count_at_once_then_one_each_share_of_the_minute() {
        let Some(limits) = redis().await else {
            return;
        };
        let key = fresh_key();
        let run = |now| limits.budget("pb", key, 3, 60_000, now);
        for _ in 0..3 {
            assert_eq!(run(100_000).await, Some(Ok(())));
        }
        assert_eq!(run(100_000).await, Some(Err(20)), "the next in 20 s");
        assert_eq!(run(119_999).await.map(|r| r.is_err()), Some(true));
        assert_eq!(run(120_000).await, Some(Ok(())));
    }
}
