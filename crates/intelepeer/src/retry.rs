//! Exponential backoff with jitter, as a pure function so its bounds are testable.
//!
//! The policy of *what* is retried lives in [`crate::Error::is_retryable`] (reads)
//! and [`crate::Error::is_retryable_for_mutation`] (reserve, purchase, change
//! package, disconnect); this module only says *how long* to wait.

use std::time::Duration;

/// Backoff parameters: the first delay and the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry (before jitter).
    pub initial: Duration,
    /// No delay, jitter or `Retry-After` included, exceeds this.
    pub max: Duration,
}

impl Backoff {
    /// The delay before retry number `retry` (1 for the first retry), given a
    /// `jitter` in `[0, 1]`: "equal jitter", between half and all of
    /// `initial * 2^(retry-1)`, never more than `max`.
    pub fn delay(&self, retry: u32, jitter: f64) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let base = self
            .initial
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max)
            .min(self.max);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let half = base / 2;
        (half + half.mul_f64(jitter)).min(self.max)
    }

    /// How long to wait before retrying after a `429` that asked for
    /// `retry_after`: exactly that, unless it exceeds `max`, in which case the
    /// error is returned to the caller instead of sleeping for so long.
    pub fn honour_retry_after(&self, retry_after: Duration) -> Option<Duration> {
        (retry_after <= self.max).then_some(retry_after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_within_bounds() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        };
        for retry in 1..=40 {
            for jitter in [0.0, 0.25, 0.5, 0.999, 1.0, -3.0, 7.0, f64::NAN] {
                let d = b.delay(retry, jitter);
                assert!(d <= b.max, "retry {retry} jitter {jitter}: {d:?}");
                let exp = (retry - 1).min(30);
                let base = (100u128 << exp).min(5000);
                assert!(d.as_millis() >= base / 2, "retry {retry}: {d:?}");
            }
        }
        assert_eq!(b.delay(1, 1.0), Duration::from_millis(100));
        assert_eq!(b.delay(2, 1.0), Duration::from_millis(200));
        assert_eq!(b.delay(3, 0.0), Duration::from_millis(200));
    }

    #[test]
    fn retry_after_is_honoured_only_up_to_the_cap() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
        };
        assert_eq!(
            b.honour_retry_after(Duration::from_secs(2)),
            Some(Duration::from_secs(2))
        );
        assert_eq!(b.honour_retry_after(Duration::from_secs(31)), None);
    }
}
