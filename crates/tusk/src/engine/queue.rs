//! The request queue: requests in the order their messages were written,
//! each with the offsets where its messages start and end, and what
//! finding, collecting and abandoning them takes.

use super::*;

pub(crate) struct Req {
    pub id: u64,
    pub resp: Response,
    pub waker: Option<Waker>,
    pub done: bool,
    pub abandoned: bool,
    pub collected: bool,
    /// Offset (in bytes appended since the connection opened) where this
    /// request's messages end.
    pub end: u64,
    /// The request ends with a Sync. A request without one is a part of an
    /// atomic group: it ends at its CommandComplete (or error), and the
    /// group's last request carries the Sync that commits them all.
    pub sync: bool,
    /// Offset where this request's messages start.
    pub start: u64,
    /// A read that may share a Sync with its neighbours (see
    /// [`Engine::try_group`]).
    pub groupable: bool,
    /// A read-group member's own messages, ending with a Sync of its own:
    /// what is sent again, right behind its group, if the server skipped
    /// it (another member failed) or it turned out to write (25006).
    pub resend: Option<bytes::Bytes>,
    /// The member is to be sent again when its group's ReadyForQuery
    /// arrives (it is not done; its caller keeps waiting).
    pub redo: bool,
    /// A timed stream's watchdog, woken when the request starts being
    /// answered and when it ends (see [`Engine::watch`]).
    pub watcher: Option<Waker>,
}

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
        let len = self.wbuf.len();
        if let Err(e) = encode(&mut self.wbuf) {
            self.wbuf.truncate(len);
            return Err(e);
        }
        if how.sync && resp.proto == Proto::Extended {
            self.wbuf.extend_from_slice(&SYNC);
        }
        let id = self.push_part(resp, how.sync, how.groupable);
        if how.groupable {
            self.try_group(id);
        }
        if how.sync && how.barrier {
            let end = self.req(id).map_or(0, |r| r.end);
            self.barriers.push_back(end);
        }
        Ok(id)
    }

    /// Marks the first `n` bytes of the write buffer as written (what a
    /// flush does), for tests.
    #[cfg(test)]
    pub(super) fn sent(&mut self, n: usize) {
        let _ = self.wbuf.split_to(n);
        self.written += n as u64;
    }

    /// Registers a request whose messages (ending with a Sync) were just
    /// appended to `wbuf`.
    pub(super) fn push(&mut self, resp: Response) -> u64 {
        self.push_part(resp, true, false)
    }

    /// Registers a request whose messages were just appended; `sync` says
    /// whether they end with a Sync (see [`Req::sync`]), `groupable`
    /// whether it is a read that may join a read group.
    /// A queued session reset goes in front of the request's messages
    /// (see `engine::reset`): in its Sync group unless it is a simple
    /// Query, and the request is then no read-group member.
    pub(super) fn push_part(&mut self, resp: Response, sync: bool, groupable: bool) -> u64 {
        let mut resp = resp;
        let mut groupable = groupable;
        let mut carry_err = None;
        // Where this request's messages start.
        let start = self.appended.max(self.written);
        if self.reset.is_pending() {
            // Never a Sync of its own, not even in front of a simple
            // Query: after a failed reset the server skips everything up
            // to the next Sync, a Query message included, so the request
            // behind it cannot run.
            match self.carry_reset(start, &mut resp) {
                Ok(_) => {
                    groupable = false;
                    self.notification_barrier = self.next_id - 1;
                }
                Err(e) => carry_err = Some(e),
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        if sync {
            self.syncs += 1;
        }
        if !groupable {
            self.ungroupable_in_flight += 1;
        }
        self.appended = self.written + self.wbuf.len() as u64;
        self.queue.push_back(Req {
            id,
            resp,
            waker: None,
            done: false,
            abandoned: false,
            collected: false,
            end: self.appended,
            sync,
            start,
            groupable,
            resend: None,
            redo: false,
            watcher: None,
        });
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
        let mut alone = self.cursor == 0 || self.queue.get(self.cursor - 1).is_none_or(|r| r.sync);
        for (i, r) in self.queue.iter().enumerate().skip(self.cursor) {
            if r.sync && !r.done && r.end <= self.written {
                // (The request answered now may have had all but its
                // ReadyForQuery.)
                let answered = i == self.cursor;
                owed += if alone && !answered && r.end - r.start > SYNC.len() as u64 {
                    11
                } else {
                    6
                };
            }
            alone = r.sync;
        }
        owed.saturating_sub(self.rbuf.len())
    }

    /// How far request `id` has got.
    pub(crate) fn progress(&self, id: u64) -> Progress {
        match self.req(id) {
            None => Progress::Over,
            Some(r) if r.done => Progress::Over,
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
            if let Some(r) = self.req_mut(id) {
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
        let written = self.written;
        if let Some(r) = self.queue.get_mut(self.cursor) {
            if r.watcher.is_some() && r.end <= written {
                if let Some(w) = r.watcher.take() {
                    w.wake();
                }
            }
        }
    }

    /// Where the write buffer and the queue end now, to undo appends made
    /// under the same lock with [`Engine::undo`].
    pub(crate) fn mark(&self) -> (usize, u64) {
        (self.wbuf.len(), self.next_id)
    }

    /// Removes everything appended since `mark` (nothing of it can have
    /// been written: the caller held the lock all along). Statements the
    /// undone requests would have prepared leave the cache.
    pub(crate) fn undo(&mut self, mark: (usize, u64)) {
        let (len, next) = mark;
        self.wbuf.truncate(len);
        while self.queue.back().is_some_and(|r| r.id >= next) {
            if let Some(r) = self.queue.pop_back() {
                if r.sync {
                    self.syncs -= 1;
                }
                if !r.groupable {
                    self.ungroupable_in_flight -= 1;
                }
                if r.waker.is_some() {
                    self.waiting -= 1;
                }
                if r.resp.cached && r.resp.parse != ParseStep::None {
                    if let Some(s) = &r.resp.stmt {
                        self.cache.remove(s);
                    }
                }
                if r.resp.reset.owns_rows() {
                    self.uncarry_reset();
                }
            }
        }
        self.next_id = next;
        self.appended = self.written + self.wbuf.len() as u64;
        while self.barriers.back().is_some_and(|b| *b > self.appended) {
            self.barriers.pop_back();
        }
    }

    /// Appends Close messages for statements whose last handle was dropped.
    pub(crate) fn append_closes(&mut self) {
        let names = std::mem::take(&mut *self.to_close.lock());
        for n in names {
            if !n.is_empty() {
                let _ = postgres_protocol::message::frontend::close(b'S', &n, &mut self.wbuf);
            }
        }
    }

    pub(super) fn index(&self, id: u64) -> Option<usize> {
        let first = self.queue.front()?.id;
        let i = usize::try_from(id.checked_sub(first)?).ok()?;
        (i < self.queue.len()).then_some(i)
    }

    pub(crate) fn req(&self, id: u64) -> Option<&Req> {
        self.index(id).map(|i| &self.queue[i])
    }

    pub(crate) fn req_mut(&mut self, id: u64) -> Option<&mut Req> {
        self.index(id).map(|i| &mut self.queue[i])
    }

    /// Takes a finished request's response, and hands the driver role on
    /// if the request held it (whoever collects, a query or a stream).
    pub(crate) fn collect(&mut self, id: u64) -> Response {
        let resp = match self.req_mut(id) {
            Some(r) => {
                r.collected = true;
                std::mem::take(&mut r.resp)
            }
            None => Response {
                error: Some(self.broken.clone().unwrap_or_else(Error::closed)),
                ..Response::default()
            },
        };
        self.gc();
        if self.driver == Some(Driver::Request(id)) {
            self.release_driver();
        }
        resp
    }

    pub(super) fn gc(&mut self) {
        while let Some(f) = self.queue.front() {
            if f.done && (f.collected || f.abandoned) {
                self.queue.pop_front();
                self.cursor = self.cursor.saturating_sub(1);
            } else {
                break;
            }
        }
    }

    /// The caller of request `id` went away.
    pub(crate) fn abandon(&mut self, id: u64) {
        let mut had_waker = false;
        if let Some(r) = self.req_mut(id) {
            r.abandoned = true;
            had_waker = r.waker.take().is_some();
            r.resp.rows.clear();
            r.resp.stream_limit = None;
        }
        if had_waker {
            self.waiting -= 1;
        }
        self.gc();
        // With nobody driving, the waiter dropped may be the one a release
        // just woke to take the role: wake another in its place.
        if self.driver == Some(Driver::Request(id)) || (self.driver.is_none() && had_waker) {
            self.release_driver();
        } else if self.stalled {
            self.wake_driver();
        }
    }

    /// Whether every byte of request `r` has been written.
    pub(crate) fn is_written(&self, r: &Req) -> bool {
        r.end <= self.written
    }

    /// Inserts `bytes` into the write stream at offset `at` (not written
    /// yet): requests and barriers from `at` on move back by its length.
    /// False (and nothing inserted) when `at` was already written.
    pub(super) fn splice(&mut self, at: u64, bytes: &[u8]) -> bool {
        let Some(rel) = at
            .checked_sub(self.written)
            .and_then(|r| usize::try_from(r).ok())
            .filter(|r| *r <= self.wbuf.len())
        else {
            return false;
        };
        let len = bytes.len() as u64;
        let tail = self.wbuf.split_off(rel);
        self.wbuf.extend_from_slice(bytes);
        self.wbuf.unsplit(tail);
        for r in self.queue.iter_mut() {
            if r.start >= at {
                r.start += len;
                r.end += len;
            }
        }
        for b in self.barriers.iter_mut() {
            if *b >= at {
                *b += len;
            }
        }
        self.appended = self.written + self.wbuf.len() as u64;
        true
    }
}
