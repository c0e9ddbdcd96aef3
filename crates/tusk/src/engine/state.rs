//! The engine's state: what one connection owns, one owner per concern,
//! and read-only views of it.

use super::*;

/// Everything one connection's engine owns except its transport. Each
/// field is an owner that keeps its own invariants behind its methods
/// (see the table in the module docs); the engine's methods, spread over
/// the modules named for what they do, combine them. No I/O happens here,
/// so message dispatch can be fed recorded server bytes in tests (see
/// [`Engine::receive`]); [`State`] adds the socket.
pub(crate) struct Engine {
    /// The write stream: unsent bytes, offsets, barriers, holds.
    pub(super) out: Outgoing,
    /// The receive buffer.
    pub(super) inc: Incoming,
    /// The request queue and its cursor.
    pub(super) reqs: Requests,
    /// Who drives the connection.
    pub(super) role: Role,
    /// Notices, notifications and idle waiters.
    pub(super) delivery: Delivery,
    /// The server session's facts.
    pub(super) session: ServerSession,
    /// The statement cache and statement names.
    pub(super) stmts: Statements,
    /// Read groups.
    pub(super) groups: Groups,
    /// A session reset queued for the next request to carry.
    pub(super) reset: reset::ResetState,
    /// Dropped `DECLARE`s not answered yet, with their cursor names:
    /// closed in the bare Sync queued behind each if it succeeded (see
    /// `engine::guard`).
    pub(super) declare_guards: Vec<(u64, String)>,
    /// Why the connection broke; set once, by [`Engine::fail`].
    broken: Option<Error>,
}

impl Engine {
    pub(crate) fn new(
        rbuf: BytesMut,
        params: HashMap<String, String>,
        cache: StatementCache,
        pooler_mode: bool,
    ) -> Engine {
        Engine {
            out: Outgoing::new(),
            inc: Incoming::new(rbuf),
            reqs: Requests::new(),
            role: Role::default(),
            delivery: Delivery::default(),
            session: ServerSession::new(params, pooler_mode),
            stmts: Statements::new(cache),
            groups: Groups::new(!pooler_mode),
            reset: reset::ResetState::default(),
            declare_guards: Vec::new(),
            broken: None,
        }
    }

    /// Fails every pending request (the transport is closed by
    /// [`State::fail`]). The first error is kept: later callers get it.
    pub(crate) fn fail(&mut self, err: Error) {
        if self.broken.is_none() {
            tracing::debug!(error = %err, "connection broken");
            self.broken = Some(err.clone());
        }
        let err = self.broken.clone().unwrap_or(err);
        self.reqs.fail_all(&err);
        self.out.clear();
        self.delivery.wake_all();
        self.reqs.gc();
    }

    /// Why the connection broke, if it did.
    pub(crate) fn broken(&self) -> Option<&Error> {
        self.broken.as_ref()
    }

    /// `Err` with why the connection broke, if it did.
    pub(crate) fn check(&self) -> Result<(), Error> {
        match &self.broken {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Why the connection broke, or "closed".
    pub(crate) fn broken_error(&self) -> Error {
        self.broken.clone().unwrap_or_else(Error::closed)
    }

    /// The id the next request pushed will get.
    pub(crate) fn next_request_id(&self) -> u64 {
        self.reqs.next_id()
    }

    /// Lends the scratch buffer (empty) to encode a part of a request into.
    pub(crate) fn take_scratch(&mut self) -> BytesMut {
        self.out.take_scratch()
    }

    /// Gives the scratch buffer back.
    pub(crate) fn put_scratch(&mut self, buf: BytesMut) {
        self.out.put_scratch(buf);
    }

    /// True when no request is waiting for the server and nothing is unsent.
    pub(crate) fn is_idle(&self) -> bool {
        self.nothing_to_send() && !self.reset.is_pending()
    }

    /// Idle but for a session reset queued and not sent (one not worth
    /// sending when the connection closes).
    pub(crate) fn nothing_to_send(&self) -> bool {
        self.reqs.in_flight() == 0 && self.out.is_empty()
    }

    pub(crate) fn debug_state(&self) -> String {
        format!(
            "rfqs={} {} {} rbuf={} broken={} {}",
            self.session.readies(),
            self.role.debug(),
            self.out.debug(),
            self.inc.len(),
            self.broken.is_some(),
            self.reqs.debug(),
        )
    }

    /// The id of the request the server is answering now.
    pub(crate) fn current_id(&self) -> Option<u64> {
        self.reqs.current().map(Req::id)
    }

    /// Bytes written to the server since the connection opened (TLS
    /// framing not counted).
    pub(crate) fn bytes_sent(&self) -> u64 {
        self.out.written()
    }

    /// Bytes received from the server since the connection opened.
    pub(crate) fn bytes_received(&self) -> u64 {
        self.inc.received()
    }

    /// Number of requests not yet answered.
    pub(crate) fn in_flight(&self) -> usize {
        self.reqs.in_flight()
    }

    /// Holds writes (a cancel is in flight) until [`Engine::release_writes`].
    pub(crate) fn hold_writes(&mut self) {
        self.out.hold();
    }

    /// Ends one hold; the driver is woken to write when none is left.
    pub(crate) fn release_writes(&mut self) {
        if self.out.release() {
            self.wake_driver();
        }
    }

    /// The transaction status from the last ReadyForQuery.
    pub(crate) fn tx_status(&self) -> TransactionStatus {
        self.session.tx_status()
    }

    /// Transaction blocks seen ending so far: a portal or cursor that
    /// lives in a block compares it with the count when it was made (a
    /// block begun since has the same status, but not its portals).
    pub(crate) fn tx_ends(&self) -> u64 {
        self.session.tx_ends()
    }

    /// A run-time parameter the server reported.
    pub(crate) fn parameter(&self, name: &str) -> Option<String> {
        self.session.param(name).map(str::to_string)
    }

    /// Behind a transaction pooler: nothing named.
    pub(crate) fn pooler_mode(&self) -> bool {
        self.session.pooler_mode()
    }

    pub(crate) fn cancel_epoch(&self) -> u64 {
        self.session.cancel_epoch()
    }

    pub(crate) fn revoke_cancel_tokens(&mut self) {
        self.session.revoke_cancel_tokens();
    }

    pub(crate) fn cache(&self) -> &StatementCache {
        self.stmts.cache()
    }

    pub(crate) fn cache_mut(&mut self) -> &mut StatementCache {
        self.stmts.cache_mut()
    }

    /// A statement name never used on this connection.
    pub(crate) fn new_statement_name(&mut self, prefix: &str) -> String {
        self.stmts.new_name(prefix)
    }

    /// Where a named statement's handle queues its name when dropped.
    pub(crate) fn statement_closer(&self) -> std::sync::Weak<Mutex<Vec<String>>> {
        self.stmts.closer()
    }

    /// Read groups are off for this connection.
    pub(crate) fn disable_read_groups(&mut self) {
        self.groups.disable();
    }

    /// While an atomic group is planned: the id of its first request.
    pub(crate) fn atomic_group_first(&self) -> Option<u64> {
        self.groups.atomic_first()
    }

    pub(crate) fn set_atomic_group_first(&mut self, id: Option<u64>) {
        self.groups.set_atomic_first(id);
    }

    pub(crate) fn set_notice_handler(&mut self, h: Option<NoticeHandler>) {
        self.delivery.set_notice_handler(h);
    }

    /// The next notification queued, if any.
    pub(crate) fn next_notification(&mut self) -> Option<Notification> {
        self.delivery.next_notification()
    }

    pub(crate) fn has_notification(&self) -> bool {
        self.delivery.has_notification()
    }

    /// Bumped by a queued session reset: a notification stream opened
    /// under another value belongs to a previous user and has ended.
    pub(crate) fn notification_epoch(&self) -> u64 {
        self.delivery.epoch()
    }

    /// Notifications queued and not taken yet.
    pub(crate) fn notifications_queued(&self) -> usize {
        self.delivery.queued()
    }

    /// Drops the notifications queued and those arriving until request
    /// `id` has been answered (a session reset that ends the `LISTEN`s).
    pub(crate) fn drop_notifications_until(&mut self, id: u64) {
        self.delivery.drop_until(id);
    }
}
