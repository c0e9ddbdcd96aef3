//! The engine's state: what one connection owns, and read-only views of it.

use super::*;

/// Everything one connection's engine owns except its transport: the
/// request queue, the buffers, the driver role, read groups, the statement
/// cache. No I/O happens here, so message dispatch can be fed recorded
/// server bytes in tests (see [`Engine::receive`]); [`State`] adds the
/// socket.
pub(crate) struct Engine {
    pub(super) wbuf: BytesMut,
    /// A buffer lent to whoever encodes a request (see
    /// [`Engine::take_scratch`]).
    scratch: BytesMut,
    pub(super) rbuf: BytesMut,
    pub(super) queue: VecDeque<Req>,
    /// Index into `queue` of the first request not done.
    pub(super) cursor: usize,
    pub(super) next_id: u64,
    pub(super) appended: u64,
    pub(super) written: u64,
    pub driver: Option<Driver>,
    pub(super) driver_waker: Option<Waker>,
    /// Writes are held (a cancel is in flight).
    pub holds: u32,
    /// Nothing past the first of these offsets is written: each is the end
    /// of a timed query in flight, so that its cancel can only hit it.
    pub barriers: VecDeque<u64>,
    pub(super) stalled: bool,
    pub broken: Option<Error>,
    pub tx_status: TransactionStatus,
    pub params: HashMap<String, String>,
    pub cache: StatementCache,
    pub next_stmt: u64,
    pub to_close: Arc<Mutex<Vec<String>>>,
    pub notice_handler: Option<NoticeHandler>,
    pub notifications: VecDeque<Notification>,
    pub(super) notification_waker: Option<Waker>,
    pub(super) idle_wakers: Vec<Waker>,
    pub pooler_mode: bool,
    pub(super) rfqs: u64,
    pub(super) syncs: u64,
    /// Bytes received from the server since the connection opened.
    pub received: u64,
    /// Requests not done that hold a waker: when none does, handing the
    /// driver role over needs no scan (a batch's later tickets have not
    /// been polled yet; scanning them made a 1,000-statement batch O(n²)).
    pub(super) waiting: usize,
    /// A part of an atomic group failed: the server skips the rest of the
    /// group up to its Sync.
    pub(super) skipping: bool,
    /// Requests not done that may not share a transaction with a read
    /// group (anything but a groupable read): while there is one, nothing
    /// is grouped.
    pub(super) ungroupable_in_flight: usize,
    /// The read-only prefix of read groups.
    pub prefix: Prefix,
    /// The prefix's Bind/Execute, encoded once.
    pub(super) prefix_msgs: bytes::Bytes,
    /// Members of the read group at the end of the write buffer.
    pub(super) group_len: usize,
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

impl Engine {
    pub(crate) fn new(
        rbuf: BytesMut,
        params: HashMap<String, String>,
        cache: StatementCache,
        pooler_mode: bool,
    ) -> Engine {
        Engine {
            wbuf: BytesMut::with_capacity(8192),
            scratch: BytesMut::new(),
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
            tx_status: TransactionStatus::Idle,
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

    /// Lends the scratch buffer (empty) to encode a part of a request
    /// into: kept across requests, it saves an allocation per query.
    pub(crate) fn take_scratch(&mut self) -> BytesMut {
        std::mem::take(&mut self.scratch)
    }

    /// Gives the scratch buffer back (emptied; one grown past 64 KiB by a
    /// large request is dropped instead of kept).
    pub(crate) fn put_scratch(&mut self, mut buf: BytesMut) {
        buf.clear();
        if buf.capacity() <= 64 * 1024 {
            self.scratch = buf;
        }
    }

    /// True when no request is waiting for the server and nothing is unsent.
    pub(crate) fn is_idle(&self) -> bool {
        self.nothing_to_send() && !self.reset.is_pending()
    }

    /// Idle but for a session reset queued and not sent (one not worth
    /// sending when the connection closes).
    pub(crate) fn nothing_to_send(&self) -> bool {
        self.cursor >= self.queue.len() && self.wbuf.is_empty()
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
}
