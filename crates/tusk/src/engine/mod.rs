//! The connection engine: a request queue driven by whichever caller is
//! waiting, with no background task.
//!
//! Callers append their messages to one write buffer under a mutex and get
//! a request id. One caller at a time is the *driver*: it flushes the write
//! buffer (so concurrent callers' writes coalesce), reads, and hands each
//! server message to the request at the head of the queue. When the
//! driver's own request completes, it passes the role to the next waiting
//! caller. A caller that is dropped marks its request abandoned: the driver
//! still reads its response up to ReadyForQuery, so the connection stays in
//! step. One Sync per request keeps one caller's error from touching another.

mod reset;
pub(crate) mod response;

use bytes::{Buf, BytesMut};
use fallible_iterator::FallibleIterator;
use parking_lot::{Mutex, MutexGuard};
use postgres_protocol::message::backend::Message;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::cache::StatementCache;
use crate::error::{DbError, Error, ErrorKind};
use crate::io::Io;
use crate::notify::{Notice, Notification};
use crate::row::{type_of, Column, Row, RowDesc};
use crate::statement::Described;
pub(crate) use response::{Proto, Response, SimpleQueryMessage};

/// Largest message accepted from the server: PostgreSQL builds each
/// message in a buffer capped at 1 GiB (MaxAllocSize).
const MAX_MESSAGE: usize = 1 << 30;

/// Reads handled by one driver turn before it yields to other tasks.
const DRIVE_BUDGET: u32 = 64;

/// A notice handler.
pub(crate) type NoticeHandler = Arc<dyn Fn(&Notice) + Send + Sync>;

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
    /// [`State::try_group`]).
    pub groupable: bool,
    /// A read-group member's own messages, ending with a Sync of its own:
    /// what is sent again, right behind its group, if the server skipped
    /// it (another member failed) or it turned out to write (25006).
    pub resend: Option<bytes::Bytes>,
    /// The member is to be sent again when its group's ReadyForQuery
    /// arrives (it is not done; its caller keeps waiting).
    pub redo: bool,
}

/// The statement that makes a read group's transaction read-only.
const PREFIX_NAME: &str = "tusk_ro";
const PREFIX_SQL: &str = "SELECT pg_catalog.set_config('transaction_read_only', 'on', true)";

/// Most members of one read group.
const MAX_GROUP: usize = 64;

/// Where the read-only prefix statement stands on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefix {
    /// Not prepared yet.
    Unprepared,
    /// Its Parse is in flight.
    Preparing,
    /// Prepared: reads may be grouped.
    Ready,
    /// Grouping is off (pooler mode, or the prefix failed to prepare).
    Off,
}

/// Who drives the connection now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Driver {
    Request(u64),
    /// A notification listener or an idle waiter.
    External,
}

pub(crate) struct State {
    pub io: Io,
    pub wbuf: BytesMut,
    rbuf: BytesMut,
    queue: VecDeque<Req>,
    /// Index into `queue` of the first request not done.
    cursor: usize,
    next_id: u64,
    appended: u64,
    written: u64,
    pub driver: Option<Driver>,
    driver_waker: Option<Waker>,
    /// Writes are held (a cancel is in flight).
    pub holds: u32,
    /// Nothing past the first of these offsets is written: each is the end
    /// of a timed query in flight, so that its cancel can only hit it.
    pub barriers: VecDeque<u64>,
    stalled: bool,
    pub broken: Option<Error>,
    pub tx_status: u8,
    pub params: HashMap<String, String>,
    pub cache: StatementCache,
    pub next_stmt: u64,
    pub to_close: Arc<Mutex<Vec<String>>>,
    pub notice_handler: Option<NoticeHandler>,
    pub notifications: VecDeque<Notification>,
    notification_waker: Option<Waker>,
    idle_wakers: Vec<Waker>,
    pub pooler_mode: bool,
    rfqs: u64,
    syncs: u64,
    /// Bytes received from the server since the connection opened.
    pub received: u64,
    /// Requests not done that hold a waker: when none does, handing the
    /// driver role over needs no scan (a batch's later tickets have not
    /// been polled yet; scanning them made a 1,000-statement batch O(n²)).
    waiting: usize,
    /// A part of an atomic group failed: the server skips the rest of the
    /// group up to its Sync.
    skipping: bool,
    /// Requests not done that may not share a transaction with a read
    /// group (anything but a groupable read): while there is one, nothing
    /// is grouped.
    ungroupable_in_flight: usize,
    /// The read-only prefix of read groups.
    pub prefix: Prefix,
    /// The prefix's Bind/Execute, encoded once.
    prefix_msgs: bytes::Bytes,
    /// Members of the read group at the end of the write buffer.
    group_len: usize,
    /// While an atomic group is being planned: the id of its first
    /// request. A cached statement whose Parse is in the same group may be
    /// used before the server confirmed it; nobody else's may.
    pub group_first: Option<u64>,
    /// Notifications are dropped while the request answered is this one
    /// or older: a session reset (`Connection::send_session_reset`) that
    /// ends the previous holder's `LISTEN`s. 0: none.
    pub notification_barrier: u64,
    /// Cancel tokens made before the last `revoke_cancel_tokens` carry an
    /// older epoch and cancel nothing.
    pub cancel_epoch: u64,
    /// A session reset queued for the next request to carry.
    pub(crate) reset: reset::ResetState,
}

impl State {
    pub(crate) fn new(
        io: Io,
        rbuf: BytesMut,
        params: HashMap<String, String>,
        cache: StatementCache,
        pooler_mode: bool,
    ) -> State {
        State {
            io,
            wbuf: BytesMut::with_capacity(8192),
            rbuf,
            queue: VecDeque::new(),
            cursor: 0,
            next_id: 1,
            appended: 0,
            written: 0,
            driver: None,
            driver_waker: None,
            holds: 0,
            barriers: VecDeque::new(),
            stalled: false,
            broken: None,
            tx_status: b'I',
            params,
            cache,
            next_stmt: 1,
            to_close: Arc::new(Mutex::new(Vec::new())),
            notice_handler: None,
            notifications: VecDeque::new(),
            notification_waker: None,
            idle_wakers: Vec::new(),
            pooler_mode,
            rfqs: 0,
            syncs: 0,
            received: 0,
            waiting: 0,
            skipping: false,
            ungroupable_in_flight: 0,
            prefix: if pooler_mode {
                Prefix::Off
            } else {
                Prefix::Unprepared
            },
            prefix_msgs: bytes::Bytes::new(),
            group_len: 0,
            group_first: None,
            notification_barrier: 0,
            cancel_epoch: 0,
            reset: reset::ResetState::default(),
        }
    }

    /// The id the next request pushed will get.
    pub(crate) fn next_request_id(&self) -> u64 {
        self.next_id
    }

    /// Registers a request whose messages were just appended to `wbuf`.
    pub(crate) fn push(&mut self, resp: Response) -> u64 {
        self.push_part(resp, true, false)
    }

    /// Registers a request whose messages were just appended; `sync` says
    /// whether they end with a Sync (see [`Req::sync`]), `groupable`
    /// whether it is a read that may join a read group.
    pub(crate) fn push_part(&mut self, resp: Response, sync: bool, groupable: bool) -> u64 {
        let mut resp = resp;
        let mut groupable = groupable;
        let mut carry_err = None;
        // Where this request's messages start.
        let start = self.appended.max(self.written);
        if self.reset.is_pending() {
            // The queued session reset goes in front of this request's
            // messages: in its Sync group unless it is a simple Query.
            let at = start;
            let own_sync = resp.proto == Proto::Simple;
            match self.carry_reset(at, &mut resp, own_sync) {
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
        });
        if let Some(e) = carry_err {
            self.fail(e);
        }
        id
    }

    /// Joins the read just pushed (`id`, the last request) with the read
    /// before it into one *read group*: their Syncs become one, so the
    /// server runs them in one implicit transaction, commits once and
    /// answers in one write (pgbench's pipeline has one Sync per 64
    /// queries; a Sync each costs the server about 5 µs per query: its own
    /// transaction, and a flush).
    ///
    /// What keeps the callers apart: the group starts with
    /// `set_config('transaction_read_only', 'on', true)`, so a member that
    /// would write fails (25006) instead, and is sent again alone; a
    /// member that fails makes the server skip the rest of the group up to
    /// its Sync, and the skipped ones are sent again (they never ran). A
    /// member's rows are its own as soon as its CommandComplete arrives:
    /// a read-only transaction has nothing to roll back that a reader saw.
    /// Only while the session is idle (no transaction block) and nothing
    /// but groupable reads is in flight; never in pooler mode; only when
    /// the connection opted in (`read_groups=on`).
    ///
    /// Order is kept: nothing behind a group is written before the group's
    /// ReadyForQuery (a barrier at its end), so a member sent again goes
    /// right behind its group, ahead of everything issued after it.
    pub(crate) fn try_group(&mut self, id: u64) {
        if self.prefix != Prefix::Ready {
            if self.prefix == Prefix::Unprepared && self.tx_status == b'I' {
                self.prepare_prefix();
            }
            return;
        }
        let n = self.queue.len();
        if n < 2
            || self.tx_status != b'I'
            || self.ungroupable_in_flight > 0
            || self.holds > 0
            || self.queue[n - 1].id != id
        {
            return;
        }
        let (b_start, b_end) = (self.queue[n - 1].start, self.queue[n - 1].end);
        let a = &self.queue[n - 2];
        if !a.groupable || !a.sync || a.done || a.start < self.written || a.end != b_start {
            return;
        }
        let (a_start, a_end) = (a.start, a.end);
        let rel = |off: u64| usize::try_from(off - self.written).ok();
        let (Some(a_rel), Some(sync_rel), Some(b_rel), Some(b_rel_end)) =
            (rel(a_start), rel(a_end - 5), rel(b_start), rel(b_end))
        else {
            return;
        };
        if b_rel_end != self.wbuf.len() || self.wbuf.get(sync_rel..b_rel) != Some(&SYNC[..]) {
            return;
        }
        let leads = !self.queue[n - 2].resp.grouped;
        if !leads && self.group_len >= MAX_GROUP {
            return;
        }
        // Each member's own messages (with a Sync of its own), kept to be
        // sent again alone.
        if leads {
            self.queue[n - 2].resend = Some(bytes::Bytes::copy_from_slice(
                &self.wbuf[a_rel..sync_rel + SYNC.len()],
            ));
        }
        self.queue[n - 1].resend =
            Some(bytes::Bytes::copy_from_slice(&self.wbuf[b_rel..b_rel_end]));
        let old_a_end = a_end;
        // Drop A's Sync: B's messages move up five bytes.
        let tail = self.wbuf.split_off(b_rel);
        self.wbuf.truncate(sync_rel);
        let mut shift: i64 = -5;
        if leads {
            // The group's first member: the read-only prefix goes first.
            let a_msgs = self.wbuf.split_off(a_rel);
            self.wbuf.extend_from_slice(&self.prefix_msgs);
            self.wbuf.unsplit(a_msgs);
            shift += i64::try_from(self.prefix_msgs.len()).unwrap_or(0);
            self.group_len = 1;
        }
        self.wbuf.unsplit(tail);
        let moved = |off: u64| off.saturating_add_signed(shift);
        let a = &mut self.queue[n - 2];
        a.end = moved(a.end);
        a.sync = false;
        a.resp.grouped = true;
        a.resp.swallow |= leads;
        let b = &mut self.queue[n - 1];
        b.start = moved(b.start);
        b.end = moved(b.end);
        b.resp.grouped = true;
        let group_end = b.end;
        // The group's barrier: nothing behind it is written before its
        // ReadyForQuery (see above).
        if !leads {
            // (It was at A's end, which moved.)
            if let Some(i) = self.barriers.iter().rposition(|b| *b == old_a_end) {
                self.barriers.remove(i);
            }
        }
        self.barriers.push_back(group_end);
        self.syncs -= 1;
        self.group_len += 1;
        self.appended = self.written + self.wbuf.len() as u64;
    }

    /// Queues the Parse of the read-only prefix, with nobody waiting, and
    /// encodes once the Bind/Execute that every read group starts with.
    fn prepare_prefix(&mut self) {
        use postgres_protocol::message::frontend;
        let mut msgs = BytesMut::new();
        let encoded = frontend::bind(
            "",
            PREFIX_NAME,
            std::iter::empty::<i16>(),
            std::iter::empty::<()>(),
            |(), _| Ok(postgres_protocol::IsNull::Yes),
            Some(1),
            &mut msgs,
        )
        .is_ok()
            && frontend::execute("", 0, &mut msgs).is_ok()
            && frontend::parse(
                PREFIX_NAME,
                PREFIX_SQL,
                std::iter::empty::<u32>(),
                &mut self.wbuf,
            )
            .is_ok();
        if !encoded {
            self.prefix = Prefix::Off;
            return;
        }
        self.prefix_msgs = msgs.freeze();
        postgres_protocol::message::frontend::sync(&mut self.wbuf);
        let mut resp = Response::extended();
        resp.prefix_prepare = true;
        let id = self.push(resp);
        if let Some(r) = self.req_mut(id) {
            r.abandoned = true;
        }
        self.prefix = Prefix::Preparing;
    }

    /// Where the write buffer and the queue end now, to undo appends made
    /// under the same lock with [`State::undo`].
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
                if r.resp.cached && r.resp.expect_parse {
                    if let Some(s) = &r.resp.stmt {
                        self.cache.remove(s);
                    }
                }
                if r.resp.reset_left > 0 {
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

    fn index(&self, id: u64) -> Option<usize> {
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

    /// True when no request is waiting for the server and nothing is unsent.
    pub(crate) fn is_idle(&self) -> bool {
        self.cursor >= self.queue.len() && self.wbuf.is_empty() && !self.reset.is_pending()
    }

    pub(crate) fn debug_state(&self) -> String {
        let reqs: Vec<String> = self
            .queue
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
            "rfqs={} pushes={} driver={:?} driver_waker={} cursor={} wbuf={} rbuf={} written={} appended={} holds={} barriers={:?} stalled={} broken={} queue=[{}]",
            self.rfqs,
            self.syncs,
            self.driver,
            self.driver_waker.is_some(),
            self.cursor,
            self.wbuf.len(),
            self.rbuf.len(),
            self.written,
            self.appended,
            self.holds,
            self.barriers,
            self.stalled,
            self.broken.is_some(),
            reqs.join(", ")
        )
    }

    /// The id of the request the server is answering now.
    pub(crate) fn current_id(&self) -> Option<u64> {
        self.queue.get(self.cursor).map(|r| r.id)
    }

    /// Bytes written to the server since the connection opened (TLS
    /// framing not counted).
    pub(crate) fn bytes_sent(&self) -> u64 {
        self.written
    }

    /// Number of requests not yet answered.
    pub(crate) fn in_flight(&self) -> usize {
        self.queue.len() - self.cursor
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

    fn gc(&mut self) {
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

    /// Stores `w` as the waker of request `id` (not done).
    fn set_waker(&mut self, id: u64, w: &Waker) {
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

    /// Whether every byte of request `r` has been written.
    pub(crate) fn is_written(&self, r: &Req) -> bool {
        r.end <= self.written
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

    /// Fails every pending request and closes the transport.
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
        }
        self.waiting = 0;
        self.ungroupable_in_flight = 0;
        self.cursor = self.queue.len();
        self.wbuf.clear();
        self.io.sock().shutdown();
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

    /// One turn of the driver: flush, dispatch what is buffered, read.
    /// `Ready` when something happened (the caller re-checks its request);
    /// `Pending` with wakers registered when it must wait.
    pub(crate) fn drive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.broken.is_some() {
            return Poll::Ready(());
        }
        self.send_reset_alone();
        if let Err(e) = self.flush(cx) {
            self.fail(e);
            return Poll::Ready(());
        }
        match self.process() {
            Err(e) => {
                self.fail(e);
                return Poll::Ready(());
            }
            Ok(true) => return Poll::Ready(()),
            Ok(false) => {}
        }
        if self.stalled {
            // A stream's consumer is behind; it wakes the driver when it takes rows.
            return Poll::Pending;
        }
        if self.in_flight() == 0
            && self.notification_waker.is_none()
            && self.driver != Some(Driver::External)
        {
            return Poll::Pending;
        }
        match self.io.poll_read(cx, &mut self.rbuf) {
            Poll::Ready(Ok(0)) => {
                self.fail(Error::new(
                    ErrorKind::Connection,
                    "the server closed the connection unexpectedly",
                ));
                Poll::Ready(())
            }
            Poll::Ready(Ok(n)) => {
                self.received += n as u64;
                if let Err(e) = self.process() {
                    self.fail(e);
                }
                Poll::Ready(())
            }
            Poll::Ready(Err(e)) => {
                self.fail(Error::io("reading from the server failed", e));
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Writes what may be written now.
    fn flush(&mut self, cx: &mut Context<'_>) -> Result<(), Error> {
        if self.holds > 0 || (self.wbuf.is_empty() && !self.io.has_pending_output()) {
            return Ok(());
        }
        let limit = match self.barriers.front().copied() {
            Some(b) => usize::try_from(b.saturating_sub(self.written)).unwrap_or(usize::MAX),
            None => usize::MAX,
        };
        if limit == 0 {
            // Only TLS records of what is already written may go out.
            if self.io.has_pending_output() {
                if let Poll::Ready(Err(e)) = self.io.poll_write(cx, &mut BytesMut::new()) {
                    return Err(Error::io("writing to the server failed", e));
                }
            }
            return Ok(());
        }
        let before = self.wbuf.len();
        let res = if limit >= self.wbuf.len() {
            self.io.poll_write(cx, &mut self.wbuf)
        } else {
            let mut head = self.wbuf.split_to(limit);
            let r = self.io.poll_write(cx, &mut head);
            head.unsplit(std::mem::take(&mut self.wbuf));
            self.wbuf = head;
            r
        };
        self.written += (before - self.wbuf.len()) as u64;
        match res {
            Poll::Ready(Err(e)) => Err(Error::io("writing to the server failed", e)),
            _ => Ok(()),
        }
    }

    /// Dispatches complete messages in the receive buffer. True if any was.
    fn process(&mut self) -> Result<bool, Error> {
        let mut progress = false;
        loop {
            if let Some(r) = self.queue.get(self.cursor) {
                if let Some(limit) = r.resp.stream_limit {
                    // A stream's consumer is behind: stop reading (TCP
                    // flow control holds the server back), unless another
                    // caller waits for an answer behind the stream's rows.
                    // Then the stream buffers on, so that nobody waits for
                    // the stream's consumer (who may be that very caller).
                    let others = self.waiting > usize::from(r.waker.is_some())
                        || !self.idle_wakers.is_empty();
                    if r.resp.rows.len() >= limit && !r.done && !others {
                        self.stalled = true;
                        return Ok(progress);
                    }
                }
            }
            self.stalled = false;
            if self.rbuf.len() < 5 {
                return Ok(progress);
            }
            let tag = self.rbuf[0];
            let len = u32::from_be_bytes([self.rbuf[1], self.rbuf[2], self.rbuf[3], self.rbuf[4]])
                as usize;
            if len < 4 {
                return Err(Error::protocol(format!(
                    "invalid message length {len} (tag {:?})",
                    char::from(tag)
                )));
            }
            if len > MAX_MESSAGE {
                return Err(Error::protocol(format!(
                    "message of {len} bytes (tag {:?}) is larger than the protocol allows",
                    char::from(tag)
                )));
            }
            if self.rbuf.len() < len + 1 {
                // The buffer grows as bytes arrive: a bogus length costs
                // nothing until the server really sends that much.
                return Ok(progress);
            }
            progress = true;
            if tag == b'D' {
                let mut frame = self.rbuf.split_to(len + 1);
                frame.advance(5);
                self.on_data_row(frame.freeze())?;
                continue;
            }
            let msg = match Message::parse(&mut self.rbuf) {
                Ok(Some(m)) => m,
                Ok(None) => return Err(Error::protocol("truncated message")),
                Err(e) => {
                    return Err(Error::with_source(
                        ErrorKind::Protocol,
                        "malformed message from the server",
                        e,
                    ))
                }
            };
            self.on_message(tag, msg)?;
        }
    }

    fn on_data_row(&mut self, body: bytes::Bytes) -> Result<(), Error> {
        let Some(r) = self.queue.get_mut(self.cursor) else {
            return Err(Error::protocol("DataRow with no query in flight"));
        };
        let resp = &mut r.resp;
        if resp.skipping_copy || resp.swallow || resp.reset_left > 0 {
            // (A read group's prefix row, or a carried reset's, is not
            // this request's.)
            return Ok(());
        }
        let desc = match &resp.desc {
            Some(d) => d.clone(),
            None => {
                let d = resp
                    .stmt
                    .as_ref()
                    .and_then(|s| s.described())
                    .map(|d| d.desc.clone())
                    .ok_or_else(|| Error::protocol("DataRow before any RowDescription"))?;
                let d = if resp.text_results && !d.text {
                    Arc::new(RowDesc {
                        columns: d.columns.clone(),
                        text: true,
                    })
                } else {
                    d
                };
                resp.desc = Some(d.clone());
                d
            }
        };
        let row = Row::new(desc, body)?;
        if r.abandoned {
            return Ok(());
        }
        if resp.proto == Proto::Simple {
            resp.simple.push(SimpleQueryMessage::Row(row));
        } else {
            resp.rows.push_back(row);
            if resp.stream_limit.is_some() && self.driver != Some(Driver::Request(r.id)) {
                if let Some(w) = &r.waker {
                    w.wake_by_ref();
                }
            }
        }
        Ok(())
    }

    /// Marks the request at the cursor done (with the transaction status
    /// when a ReadyForQuery ended it) and moves on.
    fn finish_current(&mut self, status: Option<u8>) {
        let cursor = self.cursor;
        let tx_status = self.tx_status;
        let own_driver = self.driver;
        let r = &mut self.queue[cursor];
        r.resp.status = status.unwrap_or(tx_status);
        r.done = true;
        if !r.groupable {
            self.ungroupable_in_flight -= 1;
        }
        // A cached statement whose Parse the server never confirmed (it
        // failed, or was skipped after an earlier failure) leaves the cache.
        if r.resp.cached && r.resp.expect_parse && !r.resp.parsed {
            if let Some(s) = &r.resp.stmt {
                self.cache.remove(s);
            }
        }
        let r = &mut self.queue[cursor];
        if r.resp.prefix_prepare {
            self.prefix = if r.resp.error.is_none() {
                Prefix::Ready
            } else {
                Prefix::Off
            };
        }
        // The driver is polling its own request right now: waking it would
        // only requeue the task (a futex per query on the multi-thread
        // runtime).
        let own = own_driver == Some(Driver::Request(r.id));
        if let Some(w) = r.waker.take() {
            self.waiting -= 1;
            if !own {
                w.wake();
            }
        }
        let end = r.end;
        self.advance();
        while self.barriers.front().is_some_and(|b| *b <= end) {
            self.barriers.pop_front();
        }
        if self.cursor >= self.queue.len() {
            for w in self.idle_wakers.drain(..) {
                w.wake();
            }
        }
    }

    /// Moves the cursor to the next request the server owes an answer
    /// (past read-group members that completed while one ahead of them
    /// was sent again).
    fn advance(&mut self) {
        self.cursor += 1;
        while self.queue.get(self.cursor).is_some_and(|r| r.done) {
            self.cursor += 1;
        }
    }

    /// Marks the read-group member at the cursor to be sent again alone
    /// (see [`State::resend_redos`]); the server now skips the rest of its
    /// group up to the group's Sync.
    fn redo_current(&mut self) {
        let cursor = self.cursor;
        let r = &mut self.queue[cursor];
        r.redo = true;
        if !r.sync {
            self.skipping = true;
            self.advance();
        }
    }

    /// Ends a part of an atomic group that the server skipped; a read-group
    /// member is kept to be sent again instead.
    fn finish_skipped(&mut self) {
        if let Some(r) = self.queue.get_mut(self.cursor) {
            if r.resp.grouped && r.resend.is_some() {
                r.redo = true;
                self.advance();
                return;
            }
            if r.resp.error.is_none() {
                r.resp.skip();
            }
        }
        self.finish_current(None);
    }

    /// Inserts `bytes` into the write stream at offset `at` (not written
    /// yet): requests and barriers from `at` on move back by its length.
    /// False (and nothing inserted) when `at` was already written.
    fn splice(&mut self, at: u64, bytes: &[u8]) -> bool {
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

    /// The read group ending at queue index `last` got its ReadyForQuery:
    /// its members marked `redo` (skipped, or failed with 25006) go out
    /// again, each alone, right behind the group and ahead of everything
    /// issued after them (the group's barrier kept that unwritten), and the
    /// cursor moves back to the first of them.
    fn resend_redos(&mut self, last: usize) {
        let mut first = last;
        while first > 0 && !self.queue[first - 1].sync {
            first -= 1;
        }
        let redos: Vec<usize> = (first..=last).filter(|&i| self.queue[i].redo).collect();
        if redos.is_empty() {
            return;
        }
        let at = self.queue[last].end;
        // The group's barrier goes: the members sent again are alone.
        self.barriers.retain(|b| *b != at);
        let mut bytes = BytesMut::new();
        let mut spans = Vec::with_capacity(redos.len());
        for &i in &redos {
            let r = &self.queue[i];
            let parse_again = r.resp.expect_parse && !r.resp.parsed;
            let own = r.resend.clone().unwrap_or_default();
            let start = bytes.len();
            if parse_again {
                bytes.extend_from_slice(&own);
            } else {
                // Its Parse (and Describe) went through: bind it only.
                bytes.extend_from_slice(&without_parse(&own));
            }
            spans.push((start as u64, bytes.len() as u64, parse_again));
        }
        if !self.splice(at, &bytes) {
            // Something behind the group reached the server already: it
            // cannot go ahead of that; report the members as not run.
            tracing::warn!("read group members could not be sent again in order");
            for &i in &redos {
                let r = &mut self.queue[i];
                r.redo = false;
                r.resp.error = Some(Error::new(
                    ErrorKind::Other,
                    "not run: another member of its read group failed",
                ));
                r.resp.skipped = true;
            }
            for &i in &redos {
                self.cursor = i;
                self.finish_current(None);
            }
            self.cursor = (last + 1).min(self.queue.len());
            while self.queue.get(self.cursor).is_some_and(|r| r.done) {
                self.cursor += 1;
            }
            return;
        }
        for (&i, (start, end, parse_again)) in redos.iter().zip(spans) {
            let r = &mut self.queue[i];
            r.redo = false;
            r.sync = true;
            r.resend = None;
            r.start = at + start;
            r.end = at + end;
            r.resp.reset_for_resend(parse_again);
            self.syncs += 1;
        }
        self.cursor = redos[0];
    }

    fn on_message(&mut self, tag: u8, msg: Message) -> Result<(), Error> {
        match msg {
            Message::NoticeResponse(body) => {
                let notice = DbError::parse(&mut body.fields())
                    .map_err(|e| Error::with_source(ErrorKind::Protocol, "malformed notice", e))?;
                match &self.notice_handler {
                    Some(h) => h(&notice),
                    None => {
                        tracing::info!(target: "tusk::notice", "{}: {}", notice.severity, notice.message)
                    }
                }
                return Ok(());
            }
            Message::NotificationResponse(body) => {
                let n = Notification {
                    process_id: body.process_id(),
                    channel: body
                        .channel()
                        .map_err(|e| {
                            Error::with_source(ErrorKind::Protocol, "bad notification", e)
                        })?
                        .to_string(),
                    payload: body
                        .message()
                        .map_err(|e| {
                            Error::with_source(ErrorKind::Protocol, "bad notification", e)
                        })?
                        .to_string(),
                };
                if (self.notification_barrier != 0
                    && self
                        .current_id()
                        .is_some_and(|id| id <= self.notification_barrier))
                    || self.drops_notifications()
                {
                    // Delivered before the session reset ended: for the
                    // previous holder's LISTENs.
                    return Ok(());
                }
                self.notifications.push_back(n);
                if let Some(w) = &self.notification_waker {
                    w.wake_by_ref();
                }
                return Ok(());
            }
            Message::ParameterStatus(body) => {
                let name = body.name().map_err(|e| {
                    Error::with_source(ErrorKind::Protocol, "bad ParameterStatus", e)
                })?;
                let value = body.value().map_err(|e| {
                    Error::with_source(ErrorKind::Protocol, "bad ParameterStatus", e)
                })?;
                self.params.insert(name.to_string(), value.to_string());
                return Ok(());
            }
            _ => {}
        }
        let cursor = self.cursor;
        let Some(r) = self.queue.get_mut(cursor) else {
            if let Message::ErrorResponse(body) = msg {
                let db = DbError::parse(&mut body.fields())
                    .map_err(|e| Error::with_source(ErrorKind::Protocol, "malformed error", e))?;
                let kind = crate::error::kind_of(&db.code);
                let e = Error::db(db);
                return Err(if kind == ErrorKind::Connection {
                    e
                } else {
                    e.with_kind(ErrorKind::Connection)
                });
            }
            return Err(Error::protocol(format!(
                "unexpected message {:?} with no query in flight",
                char::from(tag)
            )));
        };
        if r.resp.reset_left > 0 || r.resp.reset_rfq {
            return self.on_reset_message(msg);
        }
        let resp = &mut r.resp;
        if resp.skipping_copy && !matches!(msg, Message::CopyDone | Message::CopyData(_)) {
            resp.skipping_copy = false;
        }
        match msg {
            Message::ParseComplete => {
                resp.parsed = true;
                if resp.cached {
                    if let Some(s) = &resp.stmt {
                        self.cache.confirm(s);
                    }
                }
            }
            Message::BindComplete => {
                if !resp.swallow {
                    resp.bound = true;
                }
            }
            Message::CloseComplete => {}
            Message::ParameterDescription(body) => {
                let mut types = Vec::new();
                let mut it = body.parameters();
                while let Some(oid) = it.next().map_err(|e| {
                    Error::with_source(ErrorKind::Protocol, "bad ParameterDescription", e)
                })? {
                    types.push(type_of(oid));
                }
                resp.params = Some(types);
            }
            Message::RowDescription(body) => {
                let mut columns = Vec::new();
                let mut it = body.fields();
                while let Some(f) = it
                    .next()
                    .map_err(|e| Error::with_source(ErrorKind::Protocol, "bad RowDescription", e))?
                {
                    columns.push(Column {
                        name: f.name().to_string(),
                        type_: type_of(f.type_oid()),
                        table_oid: f.table_oid(),
                        column_id: f.column_id(),
                        type_modifier: f.type_modifier(),
                    });
                }
                let text = resp.proto == Proto::Simple || resp.text_results;
                let desc = Arc::new(RowDesc { columns, text });
                if resp.describing && resp.proto == Proto::Extended {
                    if let Some(s) = &resp.stmt {
                        let stored = if text {
                            Arc::new(RowDesc {
                                columns: desc.columns.clone(),
                                text: false,
                            })
                        } else {
                            desc.clone()
                        };
                        let _ = s.0.described.set(Described {
                            params: resp.params.clone().unwrap_or_default(),
                            desc: stored,
                        });
                    }
                }
                resp.desc = Some(desc);
            }
            Message::NoData => {
                let desc = Arc::new(RowDesc {
                    columns: Vec::new(),
                    text: resp.text_results,
                });
                if resp.describing {
                    if let Some(s) = &resp.stmt {
                        let _ = s.0.described.set(Described {
                            params: resp.params.clone().unwrap_or_default(),
                            desc: desc.clone(),
                        });
                    }
                }
                resp.desc = Some(desc);
            }
            Message::CommandComplete(body) => {
                let tag = body
                    .tag()
                    .map_err(|e| Error::with_source(ErrorKind::Protocol, "bad CommandComplete", e))?
                    .to_string();
                let resp = &mut self.queue[cursor].resp;
                if resp.swallow {
                    // The read group's prefix, not this request's.
                    resp.swallow = false;
                    return Ok(());
                }
                if response::invalidates_cache(&tag) {
                    self.cache.clear();
                    if (tag == "DISCARD ALL" || tag.starts_with("DEALLOCATE"))
                        && self.prefix != Prefix::Off
                    {
                        self.prefix = Prefix::Unprepared;
                    }
                }
                let resp = &mut self.queue[cursor].resp;
                if resp.proto == Proto::Simple {
                    let rows = response::rows_from_tag(&tag);
                    resp.simple.push(SimpleQueryMessage::CommandComplete {
                        tag: tag.clone(),
                        rows,
                    });
                    resp.desc = None;
                }
                resp.tag = Some(tag);
                if !self.queue[cursor].sync {
                    self.finish_current(None);
                }
            }
            Message::EmptyQueryResponse => {
                if resp.proto == Proto::Simple {
                    resp.simple.push(SimpleQueryMessage::CommandComplete {
                        tag: String::new(),
                        rows: 0,
                    });
                }
                if !self.queue[cursor].sync {
                    self.finish_current(None);
                }
            }
            Message::PortalSuspended => {
                resp.suspended = true;
                if !self.queue[cursor].sync {
                    self.finish_current(None);
                }
            }
            Message::ErrorResponse(body) => {
                let db = DbError::parse(&mut body.fields())
                    .map_err(|e| Error::with_source(ErrorKind::Protocol, "malformed error", e))?;
                let fatal = matches!(
                    db.severity,
                    crate::error::Severity::Fatal | crate::error::Severity::Panic
                );
                let code = db.code.code().to_string();
                let err = Error::db(db);
                let can_redo = resp.grouped && self.queue[cursor].resend.is_some() && !fatal;
                let resp = &mut self.queue[cursor].resp;
                if resp.swallow && !fatal {
                    // The read group's prefix failed (its statement is
                    // gone): this member never ran; it goes again alone,
                    // and the prefix is prepared again.
                    tracing::debug!(error = %err, "read-only prefix failed; re-preparing");
                    resp.swallow = false;
                    if self.prefix != Prefix::Off {
                        self.prefix = Prefix::Unprepared;
                    }
                    if can_redo {
                        self.redo_current();
                    } else {
                        resp.skip();
                        if !self.queue[cursor].sync {
                            self.skipping = true;
                            self.finish_current(None);
                        }
                    }
                    return Ok(());
                }
                if can_redo && code == "25006" && resp.error.is_none() {
                    // A read-group member that writes after all (a
                    // function, FOR UPDATE): it goes again alone, and its
                    // statement is never grouped again.
                    if let Some(s) = resp.stmt.clone() {
                        self.cache.forbid_grouping(&s);
                    }
                    self.redo_current();
                    return Ok(());
                }
                if resp.error.is_none() {
                    resp.error = Some(err.clone());
                }
                // A cached statement whose plan is stale leaves the cache
                // (and is prepared again next time); one that failed to
                // parse leaves it when its request ends.
                if resp.stale_plan() {
                    if let Some(s) = &resp.stmt {
                        self.cache.remove(s);
                    }
                }
                if fatal {
                    // The server closes the session after FATAL.
                    return Err(if err.kind() == ErrorKind::Connection {
                        err
                    } else {
                        err.with_kind(ErrorKind::Connection)
                    });
                }
                if !self.queue[cursor].sync {
                    self.skipping = true;
                    self.finish_current(None);
                }
            }
            Message::ReadyForQuery(body) => {
                self.tx_status = body.status();
                self.rfqs += 1;
                // Parts of an atomic group (or members of a read group) the
                // server skipped after a failed one end here, with the
                // request carrying the Sync.
                while self.queue.get(self.cursor).is_some_and(|r| !r.sync) {
                    self.finish_skipped();
                }
                let Some(r) = self.queue.get_mut(self.cursor) else {
                    return Err(Error::protocol("ReadyForQuery with no query in flight"));
                };
                if self.skipping {
                    self.skipping = false;
                    if r.resp.error.is_none() && r.resp.tag.is_none() && !r.redo {
                        if r.resp.grouped && r.resend.is_some() {
                            r.redo = true;
                        } else {
                            r.resp.skip();
                        }
                    }
                }
                let last = self.cursor;
                let grouped = r.resp.grouped;
                if r.redo {
                    self.advance();
                } else {
                    self.finish_current(Some(body.status()));
                }
                if grouped {
                    self.resend_redos(last);
                }
                self.gc();
            }
            Message::CopyInResponse(_) => {
                // COPY FROM STDIN through a query method: it cannot get its
                // data. Refuse cleanly so the connection stays usable: a
                // CopyFail right behind the request (nothing behind it was
                // written: a COPY request carries a barrier), and, in the
                // extended protocol, a Sync (the server ignored the
                // request's own Sync while in COPY mode, and skips to the
                // next Sync after the CopyFail's error).
                if resp.error.is_none() {
                    resp.error = Some(Error::new(
                        ErrorKind::Other,
                        "COPY ... FROM STDIN cannot run through query, execute or simple_query \
                         (it needs COPY data, which these methods do not send); the COPY was \
                         aborted and the connection remains usable",
                    ));
                }
                let mut out = BytesMut::new();
                let _ = postgres_protocol::message::frontend::copy_fail(
                    "COPY FROM STDIN is not supported by this method",
                    &mut out,
                );
                if resp.proto == Proto::Extended {
                    postgres_protocol::message::frontend::sync(&mut out);
                }
                let at = self.queue[cursor].end;
                if !self.splice(at, &out) {
                    // What follows the COPY reached the server inside COPY
                    // mode: the session cannot be put back in step.
                    return Err(Error::new(
                        ErrorKind::Connection,
                        "COPY FROM STDIN started where no COPY was expected; the connection was closed",
                    ));
                }
                self.queue[cursor].end = at + out.len() as u64;
            }
            Message::CopyOutResponse(_) => {
                resp.skipping_copy = true;
                if resp.error.is_none() {
                    resp.error = Some(Error::new(
                        ErrorKind::Other,
                        "COPY TO STDOUT is not supported by this method; its output was discarded",
                    ));
                }
            }
            Message::CopyData(_) | Message::CopyDone => {}
            _ => {
                return Err(Error::protocol(format!(
                    "unexpected message {:?}",
                    char::from(tag)
                )));
            }
        }
        Ok(())
    }
}

/// A Sync message.
const SYNC: [u8; 5] = [b'S', 0, 0, 0, 4];

/// `msgs` (whole frontend messages) without its Parse and Describe messages.
fn without_parse(msgs: &[u8]) -> BytesMut {
    let mut out = BytesMut::with_capacity(msgs.len());
    let mut i = 0;
    while i + 5 <= msgs.len() {
        let len = u32::from_be_bytes([msgs[i + 1], msgs[i + 2], msgs[i + 3], msgs[i + 4]]) as usize;
        let end = (i + 1 + len).min(msgs.len());
        if !matches!(msgs[i], b'P' | b'D') {
            out.extend_from_slice(&msgs[i..end]);
        }
        i = end;
    }
    out
}

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
                Some(r) if r.done || ready(&st, r) => return Poll::Ready(st),
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
            if done(&mut st) || st.broken.is_some() {
                if st.driver == Some(Driver::External) {
                    st.release_driver();
                }
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
fn step(st: &mut State, cx: &mut Context<'_>, budget: &mut u32) -> bool {
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
