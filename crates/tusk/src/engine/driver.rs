//! The driver role and the wakers: who drives the connection, who is
//! woken when a request completes or the role is handed on.

use super::*;

/// Who drives the connection now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Driver {
    Request(u64),
    /// A notification listener or an idle waiter.
    External,
}

impl Engine {
    /// Stores `w` as the waker of request `id` (not done).
    pub(super) fn set_waker(&mut self, id: u64, w: &Waker) {
        let Some(r) = self.req_mut(id) else { return };
        if r.done {
            return;
        }
        match &r.waker {
            Some(old) if old.will_wake(w) => {}
            Some(_) => r.waker = Some(w.clone()),
            None => {
                r.waker = Some(w.clone());
                self.waiting += 1;
            }
        }
    }

    /// Whether bytes waiting in the write buffer need the driver woken to
    /// go out. Not while the server still owes an answer to a request that
    /// is wholly written and the driver is reading: the driver flushes when
    /// that answer wakes it, so the queries of concurrent callers leave in
    /// one write instead of one each (W2 sent 0.86 `sendto` per query when
    /// every caller woke the driver).
    pub(crate) fn write_needs_wake(&self) -> bool {
        if self.wbuf.is_empty() {
            return false;
        }
        match self.queue.get(self.cursor) {
            Some(r) => self.stalled || self.holds > 0 || r.end > self.written,
            None => true,
        }
    }

    pub(crate) fn wake_driver(&self) {
        if let Some(w) = &self.driver_waker {
            w.wake_by_ref();
        }
    }

    /// Gives up the driver role and wakes whoever should take it.
    /// Never the request giving it up: a stream hands the role on while
    /// its consumer holds a row, and waking that consumer instead would
    /// leave every other waiter asleep (for good if the stream is then
    /// dropped, or held while its consumer waits for them).
    pub(crate) fn release_driver(&mut self) {
        let me = self.driver.take();
        self.driver_waker = None;
        self.stalled = false;
        if self.waiting > 0 {
            for r in self.queue.iter().skip(self.cursor) {
                if !r.done && !r.abandoned && me != Some(Driver::Request(r.id)) {
                    if let Some(w) = &r.waker {
                        w.wake_by_ref();
                        return;
                    }
                }
            }
        }
        if let Some(w) = &self.notification_waker {
            w.wake_by_ref();
            return;
        }
        if let Some(w) = self.idle_wakers.first() {
            w.wake_by_ref();
        }
    }

    /// Fails every pending request (the transport is closed by
    /// [`State::fail`]).
    pub(crate) fn fail(&mut self, err: Error) {
        if self.broken.is_none() {
            tracing::debug!(error = %err, "connection broken");
            self.broken = Some(err.clone());
        }
        let err = self.broken.clone().unwrap_or(err);
        // Every request not done, wherever it is: read-group members kept
        // to be sent again sit before the cursor until their group ends,
        // and members that completed may sit after it.
        for r in self.queue.iter_mut() {
            if r.done {
                continue;
            }
            r.done = true;
            r.resp.error = Some(err.clone());
            if let Some(w) = r.waker.take() {
                w.wake();
            }
            if let Some(w) = r.watcher.take() {
                w.wake();
            }
        }
        self.waiting = 0;
        self.ungroupable_in_flight = 0;
        self.cursor = self.queue.len();
        self.wbuf.clear();
        if let Some(w) = self.notification_waker.take() {
            w.wake();
        }
        for w in self.idle_wakers.drain(..) {
            w.wake();
        }
        self.gc();
    }

    /// Becomes the driver if nobody is; true when `me` is the driver now.
    pub(crate) fn claim(&mut self, me: Driver, cx: &Context<'_>) -> bool {
        match self.driver {
            None => {
                self.driver = Some(me);
                self.driver_waker = Some(cx.waker().clone());
                true
            }
            Some(d) if d == me => {
                match &self.driver_waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => self.driver_waker = Some(cx.waker().clone()),
                }
                true
            }
            // A notification or idle waiter drives only while no request
            // does: a request takes the role over, so a notification stream
            // that is held and not polled never blocks a query. The waiter
            // is woken when the role is handed back (`release_driver`).
            Some(Driver::External) if matches!(me, Driver::Request(_)) => {
                self.driver = Some(me);
                self.driver_waker = Some(cx.waker().clone());
                true
            }
            Some(_) => false,
        }
    }

    pub(crate) fn set_notification_waker(&mut self, w: &Waker) {
        self.notification_waker = Some(w.clone());
    }

    pub(crate) fn clear_notification_waker(&mut self) {
        self.notification_waker = None;
    }

    pub(crate) fn add_idle_waker(&mut self, w: &Waker) {
        if !self.idle_wakers.iter().any(|x| x.will_wake(w)) {
            self.idle_wakers.push(w.clone());
        }
    }
}
