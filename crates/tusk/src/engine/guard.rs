//! A `DECLARE` whose caller went away before its answer: the cursor is
//! closed if, and only if, the `DECLARE` succeeded, and before anything
//! queued behind it runs.
//!
//! Such a `DECLARE` is submitted with a barrier and a bare Sync right
//! behind it (the *slot*, nobody waiting for it): nothing behind the
//! `DECLARE` is written before its answer. When the caller drops
//! ([`Engine::guard_declare`]) and the answer then says the cursor was
//! declared, a `Close` for its portal goes into the slot, in front of the
//! slot's Sync, still unwritten: every request queued behind finds the
//! cursor gone. A `DECLARE` that failed (a name in use: `42P03`) closes
//! nothing, so another cursor of that name is left alone.

use super::*;
use postgres_protocol::message::frontend;

impl Engine {
    /// The caller of `DECLARE` request `id` (submitted with its slot, see
    /// the module) is gone: cursor `name` is closed once the answer says
    /// it was declared; right now if it said so already.
    pub(crate) fn guard_declare(&mut self, id: u64, name: &str) {
        let Some(i) = self.reqs.index(id) else {
            return;
        };
        let Some(r) = self.reqs.at(i) else {
            return;
        };
        if !r.done() {
            self.declare_guards.push((id, name.to_string()));
            return;
        }
        if r.resp.error.is_none() {
            self.close_declared(i, name);
        }
    }

    /// Request `id`, at queue index `i`, ended: if it is a guarded
    /// `DECLARE` that succeeded, its cursor is closed.
    pub(super) fn on_guarded_finish(&mut self, i: usize, id: u64) {
        let Some(k) = self.declare_guards.iter().position(|(g, _)| *g == id) else {
            return;
        };
        let (_, name) = self.declare_guards.swap_remove(k);
        let ok = self
            .reqs
            .at(i)
            .is_some_and(|r| r.resp.error.is_none() && self.broken().is_none());
        if ok {
            self.close_declared(i, &name);
        }
    }

    /// Closes the portal `name` declared by the request at index `i`: in
    /// the slot behind it while that is unwritten (the usual case: the
    /// `DECLARE`'s barrier held it), else as a request of its own at the
    /// end of the queue, nobody waiting.
    fn close_declared(&mut self, i: usize, name: &str) {
        let mut msg = BytesMut::new();
        if frontend::close(b'P', name, &mut msg).is_err() {
            return;
        }
        let slot = self
            .reqs
            .at(i + 1)
            .filter(|s| !s.done() && s.start() >= self.out.written())
            .map(|s| s.start());
        if let Some(at) = slot {
            if self.splice(at, &msg) {
                // The slot moved behind the Close: it starts at the Close
                // again (its answer, CloseComplete, is the slot's).
                if let Some(end) = self.reqs.at(i + 1).map(Req::end) {
                    self.reqs.set_span(i + 1, at, end);
                }
                return;
            }
        }
        if let Ok(id) = self.submit(Submit::WHOLE, Response::extended(), |w| {
            w.extend_from_slice(&msg);
            Ok(())
        }) {
            // (Not `Engine::abandon`: this may run while a request ends,
            // where the queue must not be collected under the driver.)
            let _ = self.reqs.abandon(id);
        }
    }
}
