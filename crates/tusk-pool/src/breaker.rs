//! The circuit breaker that gates new connections (pure: time is passed in).
//!
//! Closed: connects go ahead. After `threshold` consecutive connect
//! failures, or at once on SQLSTATE 53300 (too many connections), it opens
//! for a cooldown that doubles on each failed probe (up to a cap). When the
//! cooldown has passed it is half-open: one probe connect may run; success
//! closes it, failure opens it again.

use std::time::{Duration, Instant};

/// The breaker's state, as reported by health and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// New connections may be opened.
    Closed,
    /// New connections are refused until the cooldown ends.
    Open,
    /// One probe connection is allowed.
    HalfOpen,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    min_cooldown: Duration,
    max_cooldown: Duration,
    failures: u32,
    cooldown: Duration,
    open_until: Option<Instant>,
    probing: bool,
    pub(crate) opened_total: u64,
    pub(crate) last_error: Option<String>,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, min_cooldown: Duration, max_cooldown: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            min_cooldown,
            max_cooldown: max_cooldown.max(min_cooldown),
            failures: 0,
            cooldown: min_cooldown,
            open_until: None,
            probing: false,
            opened_total: 0,
            last_error: None,
        }
    }

    pub(crate) fn state(&self, now: Instant) -> BreakerState {
        match self.open_until {
            None => BreakerState::Closed,
            Some(t) if now < t => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    /// May a connect start now? In half-open state only one probe may run.
    pub(crate) fn try_begin(&mut self, now: Instant) -> bool {
        match self.state(now) {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => {
                if self.probing {
                    false
                } else {
                    self.probing = true;
                    true
                }
            }
        }
    }

    /// A connect succeeded.
    pub(crate) fn success(&mut self) {
        self.failures = 0;
        self.cooldown = self.min_cooldown;
        self.open_until = None;
        self.probing = false;
    }

    /// A connect failed; `overload` is SQLSTATE 53300 (opens at once).
    pub(crate) fn failure(&mut self, now: Instant, overload: bool, error: String) {
        self.last_error = Some(error);
        self.failures = self.failures.saturating_add(1);
        let was_probe = self.probing;
        self.probing = false;
        if overload || was_probe || self.failures >= self.threshold {
            if was_probe {
                self.cooldown = (self.cooldown * 2).min(self.max_cooldown);
            }
            if self.open_until.is_none() || was_probe {
                self.opened_total += 1;
            }
            self.open_until = Some(now + self.cooldown);
        }
    }

    /// A probe was abandoned (its future dropped): let another one run.
    pub(crate) fn abandon(&mut self) {
        self.probing = false;
    }

    /// When the breaker will be half-open, if it is open.
    pub(crate) fn open_until(&self) -> Option<Instant> {
        self.open_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_half_opens_and_closes() {
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut b = Breaker::new(3, ms(100), ms(1000));
        assert!(b.try_begin(t0));
        b.failure(t0, false, "x".into());
        b.failure(t0, false, "x".into());
        assert_eq!(b.state(t0), BreakerState::Closed);
        b.failure(t0, false, "x".into());
        assert_eq!(b.state(t0), BreakerState::Open);
        assert!(!b.try_begin(t0 + ms(50)));
        let t1 = t0 + ms(100);
        assert_eq!(b.state(t1), BreakerState::HalfOpen);
        assert!(b.try_begin(t1));
        assert!(!b.try_begin(t1), "one probe at a time");
        b.failure(t1, false, "x".into());
        assert_eq!(
            b.state(t1 + ms(150)),
            BreakerState::Open,
            "cooldown doubled"
        );
        let t2 = t1 + ms(200);
        assert!(b.try_begin(t2));
        b.success();
        assert_eq!(b.state(t2), BreakerState::Closed);
        assert_eq!(b.opened_total, 2);
    }

    #[test]
    fn overload_opens_at_once() {
        let t0 = Instant::now();
        let mut b = Breaker::new(5, Duration::from_millis(10), Duration::from_millis(10));
        b.failure(t0, true, "53300".into());
        assert_eq!(b.state(t0), BreakerState::Open);
    }
}
