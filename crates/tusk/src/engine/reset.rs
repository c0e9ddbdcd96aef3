//! A session reset queued by a pool (`Connection::queue_session_reset`)
//! and carried by the next request, in front of its messages and in its
//! Sync group (one ReadyForQuery for both, one server flush, one client
//! read), also in front of a simple Query (no Sync of its own: after a
//! failure the server skips a Query too, up to the next Sync). Its first
//! and last statements go out as Parse/Bind/Execute of the unnamed
//! statement, the others as one simple Query between them (never a named
//! statement a previous holder could have replaced).
//!
//! The reset runs in `BEGIN; ..; COMMIT` (the caller's statements), so it
//! is committed before the request behind it runs: that request failing
//! cannot roll it back. Behind its simple Query, before its last statement
//! (the `COMMIT`), goes [`CHECK`], as its own Parse/Bind/Execute: a
//! failure anywhere in the reset makes the server skip everything up to
//! the group's Sync, the request behind it included. (A failure inside the
//! simple Query alone would not: it leaves the transaction block failed,
//! and a request that starts with `ROLLBACK` or `COMMIT` ends that block
//! and runs the rest on the session that was not reset. The check, which
//! is not transaction control, is refused in the failed block, and the
//! skip starts there.) The check runs inside the reset's block and the
//! `COMMIT` that ends the block is transaction control, after which the
//! server starts the request's transaction afresh: an extended-protocol
//! statement that is not transaction control and has no Sync behind it
//! leaves its implicit transaction open into the next one, with a snapshot
//! taken and marked as a pipeline (`BEGIN ISOLATION LEVEL SERIALIZABLE`
//! behind it fails with 25001, and so do `VACUUM` and `CREATE INDEX
//! CONCURRENTLY`). Nothing behind the Sync group that carries the reset
//! is written before that group is answered: a request in a later Sync
//! group would run whatever the reset did (a failed `BEGIN` leaves no
//! block to fail it). The connection is then closed with a
//! [`Connection`](ErrorKind::Connection) error that says so
//! ([`Error::not_run`]: a pool may run it again elsewhere), since a session
//! that was not reset must not be used by anyone.

use bytes::BytesMut;
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;

use super::{CarriedReset, Engine, Response, Submit};
use crate::connection::TransactionStatus;
use crate::error::{DbError, Error, ErrorKind};

/// Sent behind the reset's simple Query, before its last statement, as the
/// unnamed statement: the server refuses it in a failed transaction block
/// (a failure in the Query), and, being extended protocol, its failure
/// makes the server skip the rest of the Sync group. It runs inside the
/// reset's transaction block (ended by the last statement, its `COMMIT`,
/// which is transaction control and so leaves no implicit transaction open
/// into the request behind it); discarding the session's sequence state
/// (`currval`, `lastval`, cached values) is not undone by a rollback, and
/// is part of any reset (a pool need not send it itself).
pub(crate) const CHECK: &str = "DISCARD SEQUENCES";

/// The statements behind the simple Query of a reset of more than one:
/// [`CHECK`] and the reset's last.
const TAIL: usize = 2;

/// A reset statement known to one connection.
struct Known {
    sql: &'static str,
    /// Its Bind and Execute (of the unnamed statement), encoded once.
    run: bytes::Bytes,
}

/// The reset state of one connection.
#[derive(Default)]
pub(crate) struct ResetState {
    /// The reset queued and not carried by any request yet.
    pending: Option<Vec<&'static str>>,
    /// The reset statements this connection has encoded.
    known: Vec<Known>,
    /// The last reset's statements between its first and its last, and
    /// their simple Query, encoded.
    query: (Vec<&'static str>, bytes::Bytes),
    /// The last reset carried, in case its request is undone before it
    /// was written.
    carried: Option<Vec<&'static str>>,
    /// The last reset's last statement, and [`CHECK`]'s and its Parse, Bind
    /// and Execute, encoded.
    tail: Option<(&'static str, bytes::Bytes)>,
    /// A reset was carried and the end of its Sync group is not queued
    /// yet: the request that ends the group gets a barrier at its end.
    pub(super) fence: bool,
}

impl ResetState {
    /// A reset is queued and not sent yet.
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

fn map_err(e: std::io::Error) -> Error {
    Error::with_source(ErrorKind::Conversion, "cannot encode message", e)
}

impl Engine {
    /// Queues `parts` to run before the next request (see the module docs).
    /// A reset already queued and not sent is kept: the parts it lacks go
    /// in before its last statement (its `COMMIT`), so nothing either
    /// would have reset is left out.
    pub(crate) fn queue_reset(&mut self, parts: Vec<&'static str>) {
        match &mut self.reset.pending {
            Some(queued) if *queued != parts => {
                let at = queued.len().saturating_sub(1);
                let extra: Vec<&'static str> = parts
                    .iter()
                    .filter(|p| !queued.contains(p))
                    .copied()
                    .collect();
                queued.splice(at..at, extra);
            }
            Some(_) => {}
            None => self.reset.pending = Some(parts),
        }
        self.delivery.end_streams();
    }

    /// Encodes the pending reset, if any, at write offset `at` (the start
    /// of the request being pushed, whose messages are in `wbuf` behind
    /// it), in that request's Sync group. Sets `resp` up to swallow the
    /// reset's answers. False when nothing was pending.
    ///
    /// The first statement goes as Parse/Bind/Execute of the unnamed
    /// statement, the others but the last as one simple Query (one message,
    /// one parse and one activity report on the server instead of three
    /// messages each, which halved the reset's server time), then [`CHECK`]
    /// and the last statement as the unnamed statement. If the first
    /// fails, the server skips everything up to the request's Sync (the
    /// Query included); if a later one fails, the transaction block the
    /// first opened (`BEGIN`) is left failed, the check is refused there,
    /// and the server skips everything from it up to the Sync. Either way
    /// the request behind it does not run.
    pub(super) fn carry_reset(&mut self, at: u64, resp: &mut Response) -> Result<bool, Error> {
        let Some(parts) = self.reset.pending.take() else {
            return Ok(false);
        };
        let mut out = BytesMut::with_capacity(64 + 40 * parts.len());
        if let Some((first, rest)) = parts.split_first() {
            let i = match self.reset.known.iter().position(|k| k.sql == *first) {
                Some(i) => i,
                None => {
                    let mut run = BytesMut::new();
                    frontend::bind(
                        "",
                        "",
                        std::iter::empty::<i16>(),
                        std::iter::empty::<()>(),
                        |(), _| Ok(postgres_protocol::IsNull::Yes),
                        Some(1),
                        &mut run,
                    )
                    .map_err(|_| Error::new(ErrorKind::Conversion, "cannot encode message"))?;
                    frontend::execute("", 0, &mut run).map_err(map_err)?;
                    self.reset.known.push(Known {
                        sql: first,
                        run: run.freeze(),
                    });
                    self.reset.known.len() - 1
                }
            };
            // Parsed every time, as the unnamed statement: a named one
            // could have been replaced by the previous holder (`DEALLOCATE`
            // and `PREPARE` of its name inside a function, out of the
            // driver's sight), and the server would run that instead.
            frontend::parse("", first, std::iter::empty::<u32>(), &mut out).map_err(map_err)?;
            out.extend_from_slice(&self.reset.known[i].run);
            if let Some((last, middle)) = rest.split_last() {
                if !middle.is_empty() {
                    if self.reset.query.0 != middle {
                        let mut q = BytesMut::new();
                        frontend::query(&middle.join("; "), &mut q).map_err(map_err)?;
                        self.reset.query = (middle.to_vec(), q.freeze());
                    }
                    out.extend_from_slice(&self.reset.query.1);
                }
                if self.reset.tail.as_ref().is_none_or(|(l, _)| l != last) {
                    let mut c = BytesMut::new();
                    for sql in [CHECK, last] {
                        frontend::parse("", sql, std::iter::empty::<u32>(), &mut c)
                            .map_err(map_err)?;
                        c.extend_from_slice(&self.reset.known[i].run);
                    }
                    self.reset.tail = Some((last, c.freeze()));
                }
                if let Some((_, c)) = &self.reset.tail {
                    out.extend_from_slice(c);
                }
            }
        }
        // Each statement's CommandComplete, the simple Query's
        // ReadyForQuery after those of the first and the Query's, then the
        // check's and the last's.
        resp.reset = match parts.len() {
            n if n > 2 => CarriedReset::new(n - 1, true),
            2 => CarriedReset::new(1 + TAIL, false),
            n => CarriedReset::new(n, false),
        };
        // A barrier where the request starts ends a request ahead of it
        // (a timed query): it stays there, so the reset is not written
        // before that request is answered.
        let placed = self.out.insert(at, &out, false);
        if placed {
            self.reqs.shift_from(at, out.len() as u64);
        } else {
            self.reset.pending = Some(parts);
            return Err(Error::new(
                ErrorKind::Other,
                "the session reset could not be placed ahead of the statement",
            ));
        }
        self.reset.carried = Some(parts);
        self.reset.fence = true;
        Ok(true)
    }

    /// The request carrying the reset was undone before it was written:
    /// the reset is pending again.
    pub(super) fn uncarry_reset(&mut self) {
        if let Some(parts) = self.reset.carried.take() {
            self.reset.pending = Some(parts);
        }
        self.reset.fence = false;
    }

    /// Sends a pending reset that no request carried (a wait for idle or
    /// for notifications with nothing else to send): alone, behind a Sync
    /// of its own, with nobody waiting for it.
    pub(super) fn send_reset_alone(&mut self) {
        if !self.reset.is_pending() {
            return;
        }
        // (Nothing to encode: the engine appends the Sync, and the reset
        // goes in front of it.)
        if let Ok(id) = self.submit(Submit::WHOLE, Response::extended(), |_| Ok(())) {
            self.reqs.disown(id);
        }
    }

    /// Handles a message answering the reset carried by the request at the
    /// cursor. A failure of any part closes the connection.
    pub(super) fn on_reset_message(&mut self, msg: Message) -> Result<(), Error> {
        let Some(r) = self.reqs.current_mut() else {
            return Err(Error::protocol("no query in flight"));
        };
        let resp = &mut r.resp;
        match (msg, resp.reset) {
            (Message::CommandComplete(_), CarriedReset::Statements { left, own_sync }) => {
                resp.reset = CarriedReset::new(left - 1, own_sync);
            }
            (Message::ReadyForQuery(body), CarriedReset::ReadyForQuery) => {
                // (Inside the reset's block: not the session's status for
                // anyone, the request's ReadyForQuery will tell that.)
                if TransactionStatus::from_byte(body.status()).is_none() {
                    return Err(Error::protocol(format!(
                        "ReadyForQuery with an unknown transaction status {:?}",
                        char::from(body.status())
                    )));
                }
                resp.reset = CarriedReset::new(TAIL, false);
            }
            (Message::ErrorResponse(body), _) => {
                let db = DbError::parse(&mut body.fields())
                    .map_err(|e| Error::with_source(ErrorKind::Protocol, "malformed error", e))?;
                let db = Error::db(db);
                let message = format!(
                    "the session reset queued ahead of this statement failed ({db}), so the \
                     statement did not run; the connection was closed (retry on another \
                     connection)"
                );
                // Only the request that carried the reset provably did not
                // run (the server skipped it); a request after its Sync
                // may have. It is answered here; the others get the plain
                // error when the connection fails.
                r.resp.error = Some(Error::reset_failed(message.clone(), db.clone()));
                let cursor = self.reqs.cursor();
                if let Some(w) = self.reqs.finish(cursor) {
                    w.wake();
                }
                return Err(Error::with_source(ErrorKind::Connection, message, db));
            }
            (
                Message::ParseComplete
                | Message::BindComplete
                | Message::CloseComplete
                | Message::NoData
                | Message::RowDescription(_)
                | Message::EmptyQueryResponse,
                _,
            ) => {}
            _ => {
                return Err(Error::protocol(
                    "unexpected message while the session reset was answered",
                ))
            }
        }
        Ok(())
    }

    /// Notifications are dropped while a reset is pending or being
    /// answered: they are for the previous holder's `LISTEN`s.
    pub(super) fn drops_notifications(&self) -> bool {
        self.reset.is_pending()
            || self
                .reqs
                .current()
                .is_some_and(|r| r.resp.reset.is_answering())
    }
}

impl super::State {
    /// Sends the queued reset now, alone behind a Sync of its own, as far
    /// as the socket takes it without waiting; its answer is read by
    /// whoever next waits on the connection. For a connection about to sit
    /// idle: the server resets the session at once (the previous holder's
    /// advisory locks released, its `idle_session_timeout` gone) instead
    /// of at the next request. Nothing queued: nothing happens.
    pub(crate) fn send_reset_now(&mut self) -> Result<(), Error> {
        self.check()?;
        if !self.reset.is_pending() {
            return Ok(());
        }
        self.send_reset_alone();
        // (What the socket does not take now goes out with the next
        // request's write: nobody is woken for it.)
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        if let Err(e) = self.flush(&mut cx) {
            self.fail(e.clone());
            return Err(e);
        }
        Ok(())
    }
}
