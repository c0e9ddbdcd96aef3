//! The driver role: who drives the connection, its waker, and whether it
//! stopped reading for a stream's consumer; and how the role is claimed
//! and handed on.

use super::*;

/// Who drives the connection now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Driver {
    Request(u64),
    /// A notification listener or an idle waiter.
    External,
}

/// The driver role. Invariant kept here: the waker is the driver's, and
/// there is none (and no stall) while nobody drives.
#[derive(Default)]
pub(crate) struct Role {
    who: Option<Driver>,
    waker: Option<Waker>,
    /// The driver stopped reading: a stream's consumer is behind.
    stalled: bool,
}

impl Role {
    pub(super) fn who(&self) -> Option<Driver> {
        self.who
    }

    pub(super) fn is(&self, d: Driver) -> bool {
        self.who == Some(d)
    }

    /// Becomes the driver if nobody is; true when `me` is the driver now
    /// (its waker kept current).
    pub(super) fn claim(&mut self, me: Driver, w: &Waker) -> bool {
        match self.who {
            None => {
                self.who = Some(me);
                self.waker = Some(w.clone());
                true
            }
            Some(d) if d == me => {
                match &self.waker {
                    Some(old) if old.will_wake(w) => {}
                    _ => self.waker = Some(w.clone()),
                }
                true
            }
            // A notification or idle waiter drives only while no request
            // does: a request takes the role over, so a notification stream
            // that is held and not polled never blocks a query. The waiter
            // is woken when the role is handed back (`release_driver`).
            Some(Driver::External) if matches!(me, Driver::Request(_)) => {
                self.who = Some(me);
                self.waker = Some(w.clone());
                true
            }
            Some(_) => false,
        }
    }

    /// Nobody drives now; returns who did.
    pub(super) fn vacate(&mut self) -> Option<Driver> {
        self.waker = None;
        self.stalled = false;
        self.who.take()
    }

    pub(super) fn wake(&self) {
        if let Some(w) = &self.waker {
            w.wake_by_ref();
        }
    }

    pub(super) fn stalled(&self) -> bool {
        self.stalled
    }

    pub(super) fn set_stalled(&mut self, stalled: bool) {
        self.stalled = stalled;
    }

    pub(super) fn debug(&self) -> String {
        format!(
            "driver={:?} driver_waker={} stalled={}",
            self.who,
            self.waker.is_some(),
            self.stalled
        )
    }
}

impl Engine {
    /// Stores `w` as the waker of request `id` (not done).
    pub(super) fn set_waker(&mut self, id: u64, w: &Waker) {
        self.reqs.set_waker(id, w);
    }

    /// Whether bytes waiting in the write buffer need the driver woken to
    /// go out. Not while the server still owes an answer to a request that
    /// is wholly written and the driver is reading: the driver flushes when
    /// that answer wakes it, so the queries of concurrent callers leave in
    /// one write instead of one each (W2 sent 0.86 `sendto` per query when
    /// every caller woke the driver).
    pub(crate) fn write_needs_wake(&self) -> bool {
        if self.out.is_empty() {
            return false;
        }
        match self.reqs.current() {
            Some(r) => self.role.stalled() || self.out.held() || r.end() > self.out.written(),
            None => true,
        }
    }

    pub(crate) fn wake_driver(&self) {
        self.role.wake();
    }

    /// Who drives the connection now.
    pub(crate) fn driver(&self) -> Option<Driver> {
        self.role.who()
    }

    /// Gives up the driver role and wakes whoever should take it.
    /// Never the request giving it up: a stream hands the role on while
    /// its consumer holds a row, and waking that consumer instead would
    /// leave every other waiter asleep (for good if the stream is then
    /// dropped, or held while its consumer waits for them).
    pub(crate) fn release_driver(&mut self) {
        let me = self.role.vacate();
        if self.reqs.waiting() > 0 {
            let cursor = self.reqs.cursor();
            for r in self.reqs.iter().skip(cursor) {
                if !r.done()
                    && !r.abandoned()
                    && me != Some(Driver::Request(r.id()))
                    && r.has_waker()
                {
                    r.wake();
                    return;
                }
            }
        }
        self.delivery.wake_one();
    }

    /// Gives up the driver role if `d` holds it.
    pub(crate) fn release_if(&mut self, d: Driver) {
        if self.role.is(d) {
            self.release_driver();
        }
    }

    /// Becomes the driver if nobody is; true when `me` is the driver now.
    pub(crate) fn claim(&mut self, me: Driver, cx: &Context<'_>) -> bool {
        self.role.claim(me, cx.waker())
    }

    pub(crate) fn set_notification_waker(&mut self, w: &Waker) {
        self.delivery.set_listener(w);
    }

    pub(crate) fn clear_notification_waker(&mut self) {
        self.delivery.clear_listener();
    }

    pub(crate) fn add_idle_waker(&mut self, w: &Waker) {
        self.delivery.add_idle_waiter(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_driver_at_a_time() {
        let w = Waker::noop();
        let mut r = Role::default();
        assert!(r.claim(Driver::Request(1), w));
        assert!(!r.claim(Driver::External, w));
        assert!(r.claim(Driver::Request(1), w), "the driver keeps it");
        r.set_stalled(true);
        assert_eq!(r.vacate(), Some(Driver::Request(1)));
        assert!(!r.stalled(), "nobody drives: nothing is stalled");
        assert!(r.claim(Driver::External, w));
    }
}
