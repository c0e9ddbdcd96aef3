//! The request queue: requests in the order their messages were written,
//! the cursor at the one the server answers, and the counts kept in step
//! with them (who waits, what may not be grouped).

use super::*;

/// One request: a Sync group (or one simple Query), or a part of an
/// atomic group.
pub(crate) struct Req {
    id: u64,
    pub resp: Response,
    waker: Option<Waker>,
    done: bool,
    abandoned: bool,
    collected: bool,
    /// Offset (in bytes appended since the connection opened) where this
    /// request's messages start.
    start: u64,
    /// Offset where they end.
    end: u64,
    /// The request ends with a Sync. A request without one is a part of an
    /// atomic group: it ends at its CommandComplete (or error), and the
    /// group's last request carries the Sync that commits them all.
    sync: bool,
    /// A read that may share a Sync with its neighbours (see
    /// [`Engine::try_group`]).
    groupable: bool,
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

impl Req {
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The server answered it (or the connection broke).
    pub(crate) fn done(&self) -> bool {
        self.done
    }

    /// Its caller went away: its answer is read and dropped.
    pub(crate) fn abandoned(&self) -> bool {
        self.abandoned
    }

    pub(crate) fn start(&self) -> u64 {
        self.start
    }

    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    pub(crate) fn sync(&self) -> bool {
        self.sync
    }

    pub(crate) fn groupable(&self) -> bool {
        self.groupable
    }

    pub(crate) fn has_waker(&self) -> bool {
        self.waker.is_some()
    }

    /// Its caller's waker, if it waits.
    pub(crate) fn waker(&self) -> Option<Waker> {
        self.waker.clone()
    }

    /// Wakes its caller without taking the waker.
    pub(crate) fn wake(&self) {
        if let Some(w) = &self.waker {
            w.wake_by_ref();
        }
    }

    fn wake_watcher(&mut self) {
        if let Some(w) = self.watcher.take() {
            w.wake();
        }
    }
}

/// The queue. Invariants kept here: ids are consecutive from the front;
/// the cursor never passes the end, and every request before it is done
/// or waits to be sent again (`redo`); `waiting` counts the requests not
/// done holding a waker, `ungroupable` those not done that are not
/// groupable; request offsets only grow along the queue.
pub(crate) struct Requests {
    reqs: VecDeque<Req>,
    /// Index of the first request the server still owes an answer.
    cursor: usize,
    next_id: u64,
    /// Requests ending with a Sync, ever (diagnostics).
    syncs: u64,
    /// Requests not done that hold a waker: when none does, handing the
    /// driver role over needs no scan (a batch's later tickets have not
    /// been polled yet; scanning them made a 1,000-statement batch O(n²)).
    waiting: usize,
    /// Requests not done that may not share a transaction with a read
    /// group (anything but a groupable read): while there is one, nothing
    /// is grouped.
    ungroupable: usize,
    /// A part of an atomic group failed: the server skips the rest of the
    /// group up to its Sync.
    skipping: bool,
}

impl Requests {
    pub(super) fn new() -> Requests {
        Requests {
            reqs: VecDeque::new(),
            cursor: 0,
            next_id: 1,
            syncs: 0,
            waiting: 0,
            ungroupable: 0,
            skipping: false,
        }
    }

    /// The id the next request pushed will get.
    pub(super) fn next_id(&self) -> u64 {
        self.next_id
    }

    pub(super) fn len(&self) -> usize {
        self.reqs.len()
    }

    pub(super) fn cursor(&self) -> usize {
        self.cursor
    }

    /// Requests not answered yet.
    pub(super) fn in_flight(&self) -> usize {
        self.reqs.len() - self.cursor
    }

    /// Requests not done holding a waker.
    pub(super) fn waiting(&self) -> usize {
        self.waiting
    }

    /// Requests not done that may not join a read group.
    pub(super) fn ungroupable(&self) -> usize {
        self.ungroupable
    }

    pub(super) fn index(&self, id: u64) -> Option<usize> {
        let first = self.reqs.front()?.id;
        let i = usize::try_from(id.checked_sub(first)?).ok()?;
        (i < self.reqs.len()).then_some(i)
    }

    pub(super) fn get(&self, id: u64) -> Option<&Req> {
        self.index(id).map(|i| &self.reqs[i])
    }

    pub(super) fn get_mut(&mut self, id: u64) -> Option<&mut Req> {
        self.index(id).map(|i| &mut self.reqs[i])
    }

    pub(super) fn at(&self, i: usize) -> Option<&Req> {
        self.reqs.get(i)
    }

    pub(super) fn at_mut(&mut self, i: usize) -> Option<&mut Req> {
        self.reqs.get_mut(i)
    }

    /// The request the server answers now.
    pub(super) fn current(&self) -> Option<&Req> {
        self.reqs.get(self.cursor)
    }

    pub(super) fn current_mut(&mut self) -> Option<&mut Req> {
        self.reqs.get_mut(self.cursor)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Req> {
        self.reqs.iter()
    }

    /// Queues a request whose messages span `start..end`.
    pub(super) fn push(
        &mut self,
        resp: Response,
        start: u64,
        end: u64,
        sync: bool,
        groupable: bool,
    ) -> u64 {
        debug_assert!(self.reqs.back().is_none_or(|r| r.end <= start) && start <= end);
        let id = self.next_id;
        self.next_id += 1;
        if sync {
            self.syncs += 1;
        }
        if !groupable {
            self.ungroupable += 1;
        }
        self.reqs.push_back(Req {
            id,
            resp,
            waker: None,
            done: false,
            abandoned: false,
            collected: false,
            start,
            end,
            sync,
            groupable,
            resend: None,
            redo: false,
            watcher: None,
        });
        id
    }

    /// Removes the requests from id `from` on (never written: see
    /// [`Engine::undo`]), last first.
    pub(super) fn pop_from(&mut self, from: u64) -> Vec<Req> {
        let mut out = Vec::new();
        while self.reqs.back().is_some_and(|r| r.id >= from) {
            let Some(r) = self.reqs.pop_back() else { break };
            if r.sync {
                self.syncs -= 1;
            }
            if !r.done {
                if !r.groupable {
                    self.ungroupable -= 1;
                }
                if r.waker.is_some() {
                    self.waiting -= 1;
                }
            }
            out.push(r);
        }
        self.next_id = from;
        self.cursor = self.cursor.min(self.reqs.len());
        out
    }

    /// Stores `w` as the waker of request `id` (not done).
    pub(super) fn set_waker(&mut self, id: u64, w: &Waker) {
        let Some(r) = self.get_mut(id) else { return };
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

    /// Marks request `id` abandoned (its rows dropped); true if it held a
    /// waker.
    pub(super) fn abandon(&mut self, id: u64) -> bool {
        let Some(r) = self.get_mut(id) else {
            return false;
        };
        r.abandoned = true;
        let had = r.waker.take().is_some();
        r.resp.rows.clear();
        r.resp.copy_data.clear();
        r.resp.stream_limit = None;
        if had && !r.done {
            self.waiting -= 1;
        }
        had
    }

    /// Marks the request at index `i` done: its watcher is woken, and its
    /// caller's waker is returned for the caller to wake.
    pub(super) fn finish(&mut self, i: usize) -> Option<Waker> {
        let r = self.reqs.get_mut(i)?;
        if r.done {
            return None;
        }
        r.done = true;
        r.wake_watcher();
        if !r.groupable {
            self.ungroupable -= 1;
        }
        let w = r.waker.take();
        if w.is_some() {
            self.waiting -= 1;
        }
        w
    }

    /// Ends every request not done with `err`, wherever it is: read-group
    /// members kept to be sent again sit before the cursor until their
    /// group ends, and members that completed may sit after it.
    pub(super) fn fail_all(&mut self, err: &Error) {
        for r in self.reqs.iter_mut() {
            if r.done {
                continue;
            }
            r.done = true;
            r.resp.error = Some(err.clone());
            if let Some(w) = r.waker.take() {
                w.wake();
            }
            r.wake_watcher();
        }
        self.waiting = 0;
        self.ungroupable = 0;
        self.cursor = self.reqs.len();
    }

    /// Takes request `id`'s response (it is collected: it goes once done).
    pub(super) fn collect(&mut self, id: u64) -> Option<Response> {
        let r = self.get_mut(id)?;
        r.collected = true;
        Some(std::mem::take(&mut r.resp))
    }

    /// Drops the requests at the front that are done and collected or
    /// abandoned.
    pub(super) fn gc(&mut self) {
        while let Some(f) = self.reqs.front() {
            if f.done && (f.collected || f.abandoned) {
                self.reqs.pop_front();
                self.cursor = self.cursor.saturating_sub(1);
            } else {
                break;
            }
        }
    }

    /// Moves the cursor past the request answered, and past those done
    /// behind it (read-group members that completed while one ahead of
    /// them was sent again).
    pub(super) fn advance(&mut self) {
        self.seek(self.cursor + 1);
    }

    /// Puts the cursor at index `i`, or past it to the first request not
    /// done.
    pub(super) fn seek(&mut self, i: usize) {
        self.cursor = i.min(self.reqs.len());
        while self.reqs.get(self.cursor).is_some_and(|r| r.done) {
            self.cursor += 1;
        }
    }

    /// Moves the cursor back to index `i` (read-group members sent again:
    /// the server answers them next).
    pub(super) fn rewind(&mut self, i: usize) {
        debug_assert!(i <= self.cursor);
        self.cursor = i.min(self.reqs.len());
    }

    /// The server now skips the rest of an atomic group up to its Sync.
    pub(super) fn start_skipping(&mut self) {
        self.skipping = true;
    }

    /// Whether the server was skipping; it no longer is.
    pub(super) fn take_skipping(&mut self) -> bool {
        std::mem::take(&mut self.skipping)
    }

    /// Moves every request starting at or after `at` back by `len` bytes
    /// (bytes were inserted there).
    pub(super) fn shift_from(&mut self, at: u64, len: u64) {
        for r in self.reqs.iter_mut() {
            if r.start >= at {
                r.start += len;
                r.end += len;
            }
        }
    }

    /// The request at index `i` now ends at `end` (bytes were inserted at
    /// its end, or its messages moved: see `Engine::try_group`).
    pub(super) fn set_span(&mut self, i: usize, start: u64, end: u64) {
        if let Some(r) = self.reqs.get_mut(i) {
            r.start = start;
            r.end = end;
        }
    }

    /// The request at index `i` no longer ends with a Sync (it joined a
    /// read group), or ends with one again (it is sent again alone).
    pub(super) fn set_sync(&mut self, i: usize, sync: bool) {
        if let Some(r) = self.reqs.get_mut(i) {
            if r.sync != sync {
                if sync {
                    self.syncs += 1;
                } else {
                    self.syncs -= 1;
                }
                r.sync = sync;
            }
        }
    }

    /// Marks the request at index `i` abandoned: nobody waits for it (the
    /// engine's own requests).
    pub(super) fn disown(&mut self, id: u64) {
        if let Some(r) = self.get_mut(id) {
            r.abandoned = true;
        }
    }

    pub(super) fn debug(&self) -> String {
        let reqs: Vec<String> = self
            .reqs
            .iter()
            .map(|r| {
                format!(
                    "#{}{}{}{}{}",
                    r.id,
                    if r.done { " done" } else { "" },
                    if r.abandoned { " abandoned" } else { "" },
                    if r.collected { " collected" } else { "" },
                    if r.waker.is_some() { " waker" } else { "" }
                )
            })
            .collect();
        format!(
            "pushes={} cursor={} waiting={} queue=[{}]",
            self.syncs,
            self.cursor,
            self.waiting,
            reqs.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waker() -> Waker {
        Waker::noop().clone()
    }

    fn queue(n: u64) -> Requests {
        let mut q = Requests::new();
        for i in 0..n {
            q.push(Response::default(), i * 10, i * 10 + 10, true, i % 2 == 0);
        }
        q
    }

    #[test]
    fn the_cursor_never_passes_the_queue() {
        let mut q = queue(2);
        q.advance();
        q.advance();
        q.advance();
        assert_eq!(q.cursor(), 2);
        assert_eq!(q.in_flight(), 0);
        q.seek(10);
        assert_eq!(q.cursor(), 2);
        let _ = q.pop_from(2);
        assert_eq!(q.cursor(), 1, "undone requests take the cursor with them");
        assert!(q.current().is_none());
    }

    #[test]
    fn seek_skips_requests_already_done() {
        let mut q = queue(4);
        let _ = q.finish(1);
        let _ = q.finish(2);
        q.advance();
        assert_eq!(q.cursor(), 3);
    }

    #[test]
    fn counts_follow_wakers_and_completion() {
        let mut q = queue(3);
        let w = waker();
        q.set_waker(1, &w);
        q.set_waker(1, &w);
        q.set_waker(2, &w);
        assert_eq!(q.waiting(), 2);
        assert_eq!(q.ungroupable(), 1, "ids 2 (index 1) is not groupable");
        assert!(q.finish(0).is_some());
        assert!(q.finish(0).is_none(), "finishing twice changes nothing");
        assert_eq!(q.waiting(), 1);
        assert!(q.abandon(2));
        assert_eq!(q.waiting(), 0);
        let _ = q.finish(1);
        assert_eq!(q.ungroupable(), 0);
        q.set_waker(1, &w);
        assert_eq!(q.waiting(), 0, "a done request takes no waker");
    }

    #[test]
    fn undo_restores_the_counts() {
        let mut q = queue(1);
        let w = waker();
        q.push(Response::default(), 10, 20, true, false);
        q.set_waker(2, &w);
        let popped = q.pop_from(2);
        assert_eq!(popped.len(), 1);
        assert_eq!((q.waiting(), q.ungroupable(), q.next_id()), (0, 0, 2));
    }

    #[test]
    fn failing_ends_everything_and_zeroes_the_counts() {
        let mut q = queue(3);
        let w = waker();
        q.set_waker(3, &w);
        q.fail_all(&Error::closed());
        assert!(q.iter().all(|r| r.done() && r.resp.error.is_some()));
        assert_eq!((q.waiting(), q.ungroupable(), q.in_flight()), (0, 0, 0));
    }

    #[test]
    fn gc_drops_only_finished_heads() {
        let mut q = queue(3);
        let _ = q.finish(0);
        q.advance();
        q.gc();
        assert_eq!(q.len(), 3, "done but not collected");
        q.disown(1);
        q.gc();
        assert_eq!((q.len(), q.cursor()), (2, 0));
        assert_eq!(q.index(2), Some(0));
        assert_eq!(q.index(1), None);
    }

    #[test]
    fn shifting_moves_later_requests_only() {
        let mut q = queue(3);
        q.shift_from(10, 5);
        let spans: Vec<(u64, u64)> = q.iter().map(|r| (r.start(), r.end())).collect();
        assert_eq!(spans, vec![(0, 10), (15, 25), (25, 35)]);
    }
}
