//! The request queue: requests in the order their messages were written,
//! each with the offsets where its messages start and end, and what
//! finding, collecting and abandoning them takes.

use super::*;

/// How far a request has got (see [`Engine::progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Done, or gone (collected, or the connection broke).
    Over,
    /// Waiting behind other requests, or not all written yet.
    Queued,
    /// The server is answering it: it is at the front, wholly written.
    Running,
}

/// How a submitted request ends and what the engine may do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Submit {
    /// The request ends at its own ReadyForQuery: an extended-protocol
    /// request gets a Sync appended (a simple Query is its own). False for
    /// an inner part of an atomic group (see [`Req::sync`]).
    pub sync: bool,
    /// A read that may join a read group (see [`Engine::try_group`]).
    pub groupable: bool,
    /// Nothing behind the request is written until it completes: a timed
    /// query (so that its cancel can only hit it) or a COPY (so that its
    /// CopyFail can go right behind it).
    pub barrier: bool,
}

impl Submit {
    /// A request alone, with its own Sync.
    pub(crate) const WHOLE: Submit = Submit {
        sync: true,
        groupable: false,
        barrier: false,
    };
}

impl Engine {
    /// The one way a request enters the engine: `encode` appends its
    /// messages (without the Sync, which `how` decides) to the write
    /// buffer, and the request is queued behind everything submitted
    /// before it. On an encoding error nothing stays appended. Returns the
    /// request's id (see [`Ticket`]).
    pub(crate) fn submit(
        &mut self,
        how: Submit,
        resp: Response,
        encode: impl FnOnce(&mut BytesMut) -> Result<(), Error>,
    ) -> Result<u64, Error> {
        let len = self.out.len();
        if let Err(e) = encode(self.out.writer()) {
            self.out.truncate(len);
            return Err(e);
        }
        if how.sync && resp.proto == Proto::Extended {
            self.out.writer().extend_from_slice(&SYNC);
        }
        let id = self.push_part(resp, how.sync, how.groupable);
        if how.groupable {
            self.try_group(id);
        }
        // (Behind a carried reset, nothing past its Sync group goes out
        // before that group is answered: see `engine::reset`.)
        let fenced = how.sync && std::mem::take(&mut self.reset.fence);
        if how.sync && (how.barrier || fenced) {
            if let Some(end) = self.reqs.get(id).map(Req::end) {
                self.out.push_barrier(end);
            }
        }
        Ok(id)
    }

    /// Marks the first `n` bytes of the write buffer as written (what a
    /// flush does), for tests.
    #[cfg(test)]
    pub(super) fn sent(&mut self, n: usize) {
        self.out.sent(n);
    }

    /// Registers a request whose messages were just appended; `sync` says
    /// whether they end with a Sync (see [`Req::sync`]), `groupable`
    /// whether it is a read that may join a read group.
    /// A queued session reset goes in front of the request's messages
    /// (see `engine::reset`): in its Sync group unless it is a simple
    /// Query, and the request is then no read-group member.
    fn push_part(&mut self, resp: Response, sync: bool, groupable: bool) -> u64 {
        let mut resp = resp;
        let mut groupable = groupable;
        let mut carry_err = None;
        // Where this request's messages start.
        let start = self.out.next_start();
        if self.reset.is_pending() {
            // Never a Sync of its own, not even in front of a simple
            // Query: after a failed reset the server skips everything up
            // to the next Sync, a Query message included, so the request
            // behind it cannot run.
            match self.carry_reset(start, &mut resp) {
                Ok(_) => {
                    groupable = false;
                    let before = self.reqs.next_id() - 1;
                    self.delivery.drop_until(before);
                }
                Err(e) => carry_err = Some(e),
            }
        }
        let end = self.out.register();
        let id = self.reqs.push(resp, start, end, sync, groupable);
        if let Some(e) = carry_err {
            self.fail(e);
        }
        id
    }

    /// A lower bound of the bytes the server still sends for the requests
    /// wholly written, less what may already sit in the receive buffer:
    /// for each Sync, a ReadyForQuery (6 bytes), and before it at least one
    /// answer of 5 bytes or more (ParseComplete, BindComplete, an error,
    /// ...) to the request's own messages, unless an earlier part of its
    /// Sync group may fail and make the server skip them, or the request is
    /// the one being answered. What a waiting
    /// driver may ask the kernel to wait for (see [`State::drive`]).
    pub(crate) fn owed_bytes(&self) -> usize {
        let mut owed = 0usize;
        let cursor = self.reqs.cursor();
        let written = self.out.written();
        let mut alone = cursor == 0 || self.reqs.at(cursor - 1).is_none_or(Req::sync);
        for (i, r) in self.reqs.iter().enumerate().skip(cursor) {
            if r.sync() && !r.done() && r.end() <= written {
                // (The request answered now may have had all but its
                // ReadyForQuery.)
                let answered = i == cursor;
                owed += if alone && !answered && r.end() - r.start() > SYNC.len() as u64 {
                    11
                } else {
                    6
                };
            }
            alone = r.sync();
        }
        owed.saturating_sub(self.inc.len())
    }

    /// How far request `id` has got.
    pub(crate) fn progress(&self, id: u64) -> Progress {
        match self.req(id) {
            None => Progress::Over,
            Some(r) if r.done() => Progress::Over,
            Some(r) if self.current_id() == Some(id) && self.is_written(r) => Progress::Running,
            Some(_) => Progress::Queued,
        }
    }

    /// How far request `id` has got; unless it is over, `w` is woken when
    /// that changes (it starts being answered, or it ends): a watchdog
    /// waits on the engine instead of polling.
    pub(crate) fn watch(&mut self, id: u64, w: &Waker) -> Progress {
        let p = self.progress(id);
        if p != Progress::Over {
            if let Some(r) = self.reqs.get_mut(id) {
                match &r.watcher {
                    Some(old) if old.will_wake(w) => {}
                    _ => r.watcher = Some(w.clone()),
                }
            }
        }
        p
    }

    /// Wakes the watcher of the request at the front once it is wholly
    /// written (it is being answered now).
    pub(super) fn wake_watcher(&mut self) {
        let written = self.out.written();
        if let Some(r) = self.reqs.current_mut() {
            if r.end() <= written {
                if let Some(w) = r.watcher.take() {
                    w.wake();
                }
            }
        }
    }

    /// Where the write buffer and the queue end now, to undo appends made
    /// under the same lock with [`Engine::undo`].
    pub(crate) fn mark(&self) -> (usize, u64) {
        (self.out.len(), self.reqs.next_id())
    }

    /// Removes everything appended since `mark` (nothing of it can have
    /// been written: the caller held the lock all along). Statements the
    /// undone requests would have prepared leave the cache.
    pub(crate) fn undo(&mut self, mark: (usize, u64)) {
        let (len, next) = mark;
        self.out.truncate(len);
        for r in self.reqs.pop_from(next) {
            if r.resp.cached && r.resp.parse != ParseStep::None {
                if let Some(s) = &r.resp.stmt {
                    self.stmts.cache_mut().remove(s);
                }
            }
            if r.resp.reset.owns_rows() {
                self.uncarry_reset();
            }
        }
        self.out.register();
    }

    /// Appends Close messages for statements whose last handle was dropped.
    pub(crate) fn append_closes(&mut self) {
        for n in self.stmts.take_closes() {
            if !n.is_empty() {
                let _ = postgres_protocol::message::frontend::close(b'S', &n, self.out.writer());
            }
        }
    }

    pub(crate) fn req(&self, id: u64) -> Option<&Req> {
        self.reqs.get(id)
    }

    pub(crate) fn req_mut(&mut self, id: u64) -> Option<&mut Req> {
        self.reqs.get_mut(id)
    }

    /// Takes a finished request's response, and hands the driver role on
    /// if the request held it (whoever collects, a query or a stream).
    pub(crate) fn collect(&mut self, id: u64) -> Response {
        let resp = match self.reqs.collect(id) {
            Some(resp) => resp,
            None => Response {
                error: Some(self.broken_error()),
                ..Response::default()
            },
        };
        self.reqs.gc();
        self.release_if(Driver::Request(id));
        resp
    }

    /// The caller of request `id` went away.
    pub(crate) fn abandon(&mut self, id: u64) {
        let had_waker = self.reqs.abandon(id);
        self.reqs.gc();
        // With nobody driving, the waiter dropped may be the one a release
        // just woke to take the role: wake another in its place.
        let driver = self.role.who();
        if driver == Some(Driver::Request(id)) || (driver.is_none() && had_waker) {
            self.release_driver();
        } else if self.role.stalled() {
            self.wake_driver();
        }
    }

    /// Whether every byte of request `r` has been written.
    pub(crate) fn is_written(&self, r: &Req) -> bool {
        r.end() <= self.out.written()
    }

    /// Inserts `bytes` into the write stream at offset `at` (not written
    /// yet): requests and barriers from `at` on move back by its length.
    /// False (and nothing inserted) when `at` was already written.
    pub(super) fn splice(&mut self, at: u64, bytes: &[u8]) -> bool {
        if !self.out.insert(at, bytes, true) {
            return false;
        }
        self.reqs.shift_from(at, bytes.len() as u64);
        true
    }

    /// [`Engine::splice`] of the bytes in `bytes`, taken without a copy
    /// when nothing is unwritten; `bytes` is left empty when they went in.
    pub(super) fn splice_owned(&mut self, at: u64, bytes: &mut BytesMut) -> bool {
        let len = bytes.len() as u64;
        if !self.out.insert_owned(at, bytes, true) {
            return false;
        }
        self.reqs.shift_from(at, len);
        true
    }
}
