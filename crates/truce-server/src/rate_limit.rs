//! Per-key token buckets.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use truce_note::KeyName;

use crate::config::RateLimitConfig;

/// One bucket: tokens left and when they were counted.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// A token bucket for each key that signed a request. Buckets exist only
/// for registered keys with a good signature (the limiter runs after
/// verification), so their number is bounded by the registry.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<KeyName, Bucket>>,
}

impl RateLimiter {
    /// A limiter with `config`'s rate and burst.
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            per_second: config.per_second,
            burst: f64::from(config.burst),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key` at `now`, or says in how many whole seconds
    /// (at least 1) one will be there.
    pub fn take(&self, key: &KeyName, now: Instant) -> Result<(), u32> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / self.per_second).ceil().max(1.0);
            // `wait` is positive and finite (per_second > 0 is checked with the configuration).
            Err(if wait >= f64::from(u32::MAX) {
                u32::MAX
            } else {
                wait as u32
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    fn limiter(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter::new(&RateLimitConfig { per_second, burst })
    }

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = limiter(2.0, 3);
        let key = KeyName::new("k").unwrap();
        let other = KeyName::new("other").unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take(&key, start), Ok(()));
        }
        assert_eq!(limiter.take(&key, start), Err(1));
        // Another key has its own bucket.
        assert_eq!(limiter.take(&other, start), Ok(()));
        // Half a second gives one token back at 2 per second.
        assert_eq!(
            limiter.take(&key, start + Duration::from_millis(500)),
            Ok(())
        );
        assert_eq!(
            limiter.take(&key, start + Duration::from_millis(500)),
            Err(1)
        );
    }

    #[test]
    fn slow_rates_ask_for_longer_waits() {
        let limiter = limiter(0.1, 1);
        let key = KeyName::new("k").unwrap();
        let start = Instant::now();
        assert_eq!(limiter.take(&key, start), Ok(()));
        assert_eq!(limiter.take(&key, start), Err(10));
    }

    proptest! {
        /// Over any schedule of requests, no more are let through than the
        /// burst plus the rate times the elapsed time.
        #[test]
        fn never_more_than_burst_plus_rate(
            per_second in 0.5f64..50.0,
            burst in 1u32..20,
            gaps_ms in proptest::collection::vec(0u64..200, 1..200),
        ) {
            let limiter = limiter(per_second, burst);
            let key = KeyName::new("k").unwrap();
            let start = Instant::now();
            let mut now = start;
            let mut allowed = 0u32;
            for gap in gaps_ms {
                now += Duration::from_millis(gap);
                if limiter.take(&key, now).is_ok() {
                    allowed += 1;
                }
            }
            let elapsed = now.duration_since(start).as_secs_f64();
            prop_assert!(f64::from(allowed) <= f64::from(burst) + elapsed * per_second + 1e-9);
        }
    }
}
