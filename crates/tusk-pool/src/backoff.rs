//! Exponential backoff with full jitter (pure).

use std::time::Duration;

/// Backoff state: `next()` gives a random delay in `[min, cap]` where `cap`
/// doubles each call up to `max`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff between `min` and `max`.
    pub(crate) fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            attempt: 0,
        }
    }

    /// The next delay.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let cap = self
            .min
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        jitter_between(self.min, cap)
    }

    /// Back to the first step.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// A uniformly random duration in `[lo, hi]`.
pub(crate) fn jitter_between(lo: Duration, hi: Duration) -> Duration {
    if hi <= lo {
        return lo;
    }
    let span = hi - lo;
    let nanos = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
    lo + Duration::from_nanos(fastrand::u64(0..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_stays_bounded() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_millis(100));
        for _ in 0..50 {
            let d = b.next_delay();
            assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(100));
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(10));
    }
}
