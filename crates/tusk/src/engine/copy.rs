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
        let Some((i, start, at)) = self.copy_end(id) else {
            return false;
        };
        if !self.splice(at, msgs) {
            return false;
        }
        self.reqs.set_span(i, start, at + msgs.len() as u64);
        true
    }

    /// [`Engine::copy_append`] of the messages in `msgs`, which is left
    /// empty when they went in: taken without a copy (the buffers swapped)
    /// when everything before them was written, which is the rule for a
    /// COPY IN's chunks (each goes out as soon as it is handed over).
    pub(crate) fn copy_append_owned(&mut self, id: u64, msgs: &mut BytesMut) -> bool {
        let Some((i, start, at)) = self.copy_end(id) else {
            return false;
        };
        let len = msgs.len() as u64;
        if !self.splice_owned(at, msgs) {
            return false;
        }
        self.reqs.set_span(i, start, at + len);
        true
    }

    /// Where COPY IN request `id` (in COPY IN mode, not answered) is in the
    /// queue, and where its messages start and end.
    fn copy_end(&self, id: u64) -> Option<(usize, u64, u64)> {
        let i = self.reqs.index(id)?;
        let r = self.reqs.at(i)?;
        if r.done() || r.resp.copy != CopyPhase::In {
            return None;
        }
        Some((i, r.start(), r.end()))
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
