//! The oldest snapshot any transaction may still read at: versions that a
//! newer version at or below it supersedes can never be read again, so
//! the durable store's compactions drop them (MVCC garbage collection).
//!
//! Every transaction pins the clock as it was when the transaction began;
//! all its snapshots are at or above that pin (READ COMMITTED takes one
//! per statement, REPEATABLE READ one at its first statement, both from
//! the clock). The horizon is the lowest pin, or the clock when nothing
//! is pinned. Pinning reads the clock under the same lock as the horizon
//! is computed, so no pin can land below a horizon already handed out.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::Ts;

/// The pins of the running transactions and the published clock.
#[derive(Default)]
pub struct Horizon {
    pins: Mutex<BTreeMap<Ts, usize>>,
    /// The clock as last published (never ahead of the engine's).
    clock: AtomicU64,
}

/// A running transaction's pin; dropping it unpins.
pub struct Pin {
    horizon: Arc<Horizon>,
    ts: Ts,
}

impl Horizon {
    /// A horizon whose clock starts at `clock`.
    pub fn new(clock: Ts) -> Arc<Horizon> {
        Arc::new(Horizon {
            pins: Mutex::new(BTreeMap::new()),
            clock: AtomicU64::new(clock),
        })
    }

    /// Records that commits up to `ts` are visible (after the engine's
    /// clock says so).
    pub fn publish(&self, ts: Ts) {
        self.clock.fetch_max(ts, Ordering::AcqRel);
    }

    /// Pins the clock `now()` returns, read under the horizon's lock.
    pub fn pin(self: &Arc<Horizon>, now: impl FnOnce() -> Ts) -> Pin {
        let mut pins = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        let ts = now();
        *pins.entry(ts).or_default() += 1;
        Pin {
            horizon: self.clone(),
            ts,
        }
    }

    /// The oldest snapshot still possible: the lowest pin, else the clock.
    pub fn get(&self) -> Ts {
        let pins = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        let clock = self.clock.load(Ordering::Acquire);
        pins.keys().next().map_or(clock, |p| (*p).min(clock))
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        let mut pins = self.horizon.pins.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = pins.get_mut(&self.ts) {
            *n -= 1;
            if *n == 0 {
                pins.remove(&self.ts);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_horizon_is_the_lowest_pin_or_the_clock() {
        let h = Horizon::new(5);
        assert_eq!(h.get(), 5);
        let a = h.pin(|| 5);
        h.publish(7);
        let b = h.pin(|| 7);
        assert_eq!(h.get(), 5);
        drop(a);
        assert_eq!(h.get(), 7);
        drop(b);
        h.publish(9);
        assert_eq!(h.get(), 9);
    }
}
