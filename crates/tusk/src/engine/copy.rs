//! COPY through the COPY API (`crate::copy`): the data of a COPY IN goes
//! right behind its request in the write stream (the request carries a
//! barrier, so nothing queued behind it is written before the COPY is
//! answered), and the data of a COPY OUT is queued on its request like a
//! stream's rows, with the same bound.

use super::*;

impl Engine {
    /// Appends whole COPY messages (CopyData, CopyDone, CopyFail) for
    /// request `id`, in COPY IN mode and not answered yet: right at its
    /// end, ahead of anything queued behind it. False (nothing appended)
    /// when the request is over or its end was written past.
    pub(crate) fn copy_append(&mut self, id: u64, msgs: &[u8]) -> bool {
        let Some(i) = self.reqs.index(id) else {
            return false;
        };
        let Some(r) = self.reqs.at(i) else {
            return false;
        };
        if r.done() || r.resp.copy != CopyPhase::In {
            return false;
        }
        let (start, at) = (r.start(), r.end());
        if !self.splice(at, msgs) {
            return false;
        }
        self.reqs.set_span(i, start, at + msgs.len() as u64);
        true
    }

    /// Bytes of request `r` not written yet (a COPY IN's data waiting to
    /// go out).
    pub(crate) fn unsent(&self, r: &Req) -> u64 {
        r.end().saturating_sub(self.out.written())
    }

    /// A CopyData for the request being answered: COPY OUT data for the
    /// COPY API, else discarded (a COPY OUT refused).
    pub(super) fn on_copy_data(&mut self, body: bytes::Bytes) -> Result<(), Error> {
        let driver = self.role.who();
        let Some(r) = self.reqs.current_mut() else {
            return Err(Error::protocol("CopyData with no query in flight"));
        };
        if r.resp.copy != CopyPhase::Out || r.abandoned() {
            return Ok(());
        }
        r.resp.copy_data.push_back(body);
        if driver != Some(Driver::Request(r.id())) {
            r.wake();
        }
        Ok(())
    }

    /// The server switched to COPY mode for the request at the cursor:
    /// its caller (waiting for that) is woken.
    pub(super) fn wake_copier(&mut self) {
        let driver = self.role.who();
        if let Some(r) = self.reqs.current() {
            if driver != Some(Driver::Request(r.id())) {
                r.wake();
            }
        }
    }

    /// Bytes went out: the watcher of the request answered now, and a
    /// COPY IN's writer waiting for room, are woken.
    pub(super) fn on_written(&mut self) {
        self.wake_watcher();
        // (A COPY IN is being answered: it is at the cursor.)
        if let Some(r) = self.reqs.current() {
            if r.resp.copy == CopyPhase::In && !r.done() {
                r.wake();
            }
        }
    }
}
