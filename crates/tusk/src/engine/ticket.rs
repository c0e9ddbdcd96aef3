//! Tickets and waiting: how a caller waits for its request, driving the
//! connection when nobody else is.

use super::*;

/// The engine as shared by every handle of one connection.
pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub cancel: crate::cancel::CancelTarget,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Waits until request `id` satisfies `ready`, driving the connection
    /// when nobody else is. Returns the locked state for the caller to take
    /// what it needs.
    pub(crate) fn poll_wait<'a>(
        &'a self,
        cx: &mut Context<'_>,
        id: u64,
        ready: impl Fn(&State, &Req) -> bool,
    ) -> Poll<MutexGuard<'a, State>> {
        let mut st = self.state.lock();
        let mut budget = DRIVE_BUDGET;
        loop {
            match st.req(id) {
                None => return Poll::Ready(st),
                Some(r) if r.done() || ready(&st, r) => return Poll::Ready(st),
                Some(_) => {}
            }
            let me = Driver::Request(id);
            if !st.claim(me, cx) {
                st.set_waker(id, cx.waker());
                if st.write_needs_wake() {
                    st.wake_driver();
                }
                return Poll::Pending;
            }
            // Keep a waker on the request too, so a handoff can find us.
            st.set_waker(id, cx.waker());
            if !step(&mut st, cx, &mut budget) {
                return Poll::Pending;
            }
        }
    }

    /// Drives the connection on behalf of a non-request waiter (listener,
    /// idle waiter) until `done` holds.
    /// `register` runs under the lock whenever this returns `Pending`, so
    /// that a wake-up for the waiter cannot slip in between.
    pub(crate) fn poll_external(
        &self,
        cx: &mut Context<'_>,
        done: impl Fn(&mut State) -> bool,
        register: impl Fn(&mut State, &Waker),
    ) -> Poll<MutexGuard<'_, State>> {
        let mut st = self.state.lock();
        let mut budget = DRIVE_BUDGET;
        loop {
            if done(&mut st) || st.broken().is_some() {
                st.release_if(Driver::External);
                return Poll::Ready(st);
            }
            if !st.claim(Driver::External, cx) {
                register(&mut st, cx.waker());
                if st.write_needs_wake() {
                    st.wake_driver();
                }
                return Poll::Pending;
            }
            if !step(&mut st, cx, &mut budget) {
                register(&mut st, cx.waker());
                return Poll::Pending;
            }
        }
    }
}

/// One turn of the driver for a waiter: false when the waiter must return
/// `Pending` (it waits for I/O, or yields after its budget of turns).
pub(super) fn step(st: &mut State, cx: &mut Context<'_>, budget: &mut u32) -> bool {
    match st.drive(cx) {
        Poll::Ready(()) => {
            *budget -= 1;
            if *budget == 0 {
                cx.waker().wake_by_ref();
                return false;
            }
            true
        }
        Poll::Pending => false,
    }
}

/// A handle on one submitted request: dropping it abandons the request
/// (its response is still read and discarded).
pub(crate) struct Ticket {
    pub shared: Arc<Shared>,
    pub id: u64,
    pub finished: bool,
}

impl Ticket {
    pub(crate) fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<Response> {
        let mut st = match self.shared.poll_wait(cx, self.id, |_, _| false) {
            Poll::Ready(st) => st,
            Poll::Pending => return Poll::Pending,
        };
        // (`collect` hands the driver role on.)
        let resp = st.collect(self.id);
        self.finished = true;
        Poll::Ready(resp)
    }

    pub(crate) async fn wait(mut self) -> Response {
        std::future::poll_fn(|cx| self.poll_done(cx)).await
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.finished {
            self.shared.lock().abandon(self.id);
        }
    }
}
