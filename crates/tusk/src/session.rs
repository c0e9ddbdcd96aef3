//! What a connection pool needs to hand a connection from one user to the
//! next: a session reset sent without waiting, the previous user's
//! notifications and notice handler gone, and their cancel tokens dead.
//!
//! ```no_run
//! # async fn f(conn: &tusk::Connection) -> Result<(), tusk::Error> {
//! // The previous holder is done with `conn`:
//! conn.detach_notice_handler();
//! conn.revoke_cancel_tokens();
//! conn.send_session_reset("BEGIN; RESET ALL; UNLISTEN *; COMMIT")?;
//! // The next holder's first statement is written behind the reset: no
//! // round trip waits for it.
//! # Ok(()) }
//! ```

use crate::cancel::CancelToken;
use crate::connection::Connection;
use crate::error::Error;
use crate::stream::RowStream;

impl Connection {
    /// Queues `sql` (simple query protocol, several statements allowed)
    /// without writing it or waiting for its answer: it goes out in the
    /// same write as the next statement sent on this connection (or with
    /// the next wait: [`wait_idle`](Connection::wait_idle), a
    /// notification wait), and runs before it on the server. Nobody pays a
    /// round trip or a system call for it. Its result and any error are discarded; a reset that
    /// runs in `BEGIN; ..; COMMIT` and fails leaves the transaction aborted
    /// ([`transaction_status`](Connection::transaction_status) `Failed`),
    /// so the statements behind it fail instead of running on a session
    /// that was not reset.
    ///
    /// Notifications already received, and those received until the
    /// server has answered `sql`, are dropped (they belong to the
    /// `LISTEN`s `sql` ends with `UNLISTEN *`).
    pub fn send_session_reset(&self, sql: &str) -> Result<(), Error> {
        let mut st = self.client().shared.lock();
        st.check()?;
        let resp = crate::engine::Response::simple();
        let id = st.submit(crate::engine::Submit::WHOLE, resp, |w| {
            postgres_protocol::message::frontend::query(sql, w).map_err(|e| {
                Error::with_source(
                    crate::error::ErrorKind::Conversion,
                    "cannot encode message",
                    e,
                )
            })
        })?;
        // Nobody waits for its answer: it is read and dropped.
        st.abandon(id);
        st.drop_notifications_until(id);
        Ok(())
    }

    /// Queues a session reset: `statements` (each one statement; start
    /// with `BEGIN` and end with `COMMIT`) run before the next request sent
    /// on this connection, in front of its messages and in its Sync group
    /// (a simple query's too): one ReadyForQuery, one server flush, one
    /// read for both. Nothing is written or waited for now (a wait for idle
    /// or for notifications sends it alone, and so does
    /// [`send_queued_session_reset`](Connection::send_queued_session_reset)).
    /// The first and the last statement go as Parse/Bind/Execute of the
    /// unnamed statement, the others as one simple Query between them:
    /// nothing is named, so nothing can have been replaced by the
    /// session's previous user (`DEALLOCATE` and `PREPARE` inside a
    /// function). When there is more than one statement, `DISCARD
    /// SEQUENCES` goes in front of the last as the unnamed statement too:
    /// it is refused when any statement before it failed, and the server
    /// then skips everything up to the Sync (a failure inside the Query
    /// alone leaves a failed transaction block, which a request starting
    /// with `ROLLBACK` would end and then run). So the statements should be
    /// `BEGIN`, the resets, `COMMIT`; the sequence state need not be among
    /// them. (The last must end the transaction: an extended-protocol
    /// statement that is not transaction control leaves its implicit
    /// transaction open into the request behind it, where `BEGIN
    /// ISOLATION LEVEL SERIALIZABLE`, `VACUUM` or `CREATE INDEX
    /// CONCURRENTLY` then fail.)
    ///
    /// The reset is committed before the request behind it runs, so that
    /// request failing cannot undo it. If any statement of the reset
    /// fails, the request behind it does not run (the server skips it up
    /// to its Sync, and nothing after that Sync is written before the
    /// reset's answer is read), and the connection is closed; that
    /// request's error is an
    /// [`ErrorKind::Connection`](crate::ErrorKind::Connection) error saying
    /// so, for which [`Error::not_run`](crate::Error::not_run) is true: a
    /// session that was not reset is used by nobody.
    ///
    /// Notifications already received, and those received until the reset
    /// has run, are dropped (they belong to the `LISTEN`s it ends with
    /// `UNLISTEN *`). A reset queued and not sent yet is kept, merged with
    /// this one: the statements it lacks go in before its last one (its
    /// `COMMIT`).
    pub fn queue_session_reset(&self, statements: &[&'static str]) -> Result<(), Error> {
        let mut st = self.client().shared.lock();
        st.check()?;
        st.queue_reset(statements.to_vec());
        Ok(())
    }

    /// Sends the session reset queued by
    /// [`queue_session_reset`](Connection::queue_session_reset) now, alone
    /// (its own Sync), without waiting for the answer: for a pool whose
    /// connection goes idle, so that the server resets the session at once
    /// (the previous user's advisory locks are released, a setting such as
    /// `idle_session_timeout` is gone) rather than when the next user's
    /// first request carries it. The answer is read by whoever next waits
    /// on the connection ([`wait_idle`](Connection::wait_idle) or a
    /// request); a failed reset closes the connection then. What the
    /// socket does not take at once goes out with the next write. Nothing
    /// queued: nothing is sent.
    pub fn send_queued_session_reset(&self) -> Result<(), Error> {
        self.client().shared.lock().send_reset_now()
    }

    /// Drops the notice handler set by
    /// [`set_notice_handler`](Connection::set_notice_handler); notices are
    /// logged with `tracing` again.
    pub fn detach_notice_handler(&self) {
        self.client().shared.lock().set_notice_handler(None);
    }

    /// Makes every [`CancelToken`] from [`cancel_token`](Connection::cancel_token)
    /// made so far cancel nothing. A pool calls it when a connection
    /// changes hands, so a token kept by one holder never cancels the next
    /// holder's query.
    pub fn revoke_cancel_tokens(&self) {
        self.client().shared.lock().revoke_cancel_tokens();
    }

    /// A cancel token that [`revoke_cancel_tokens`](Connection::revoke_cancel_tokens)
    /// does not revoke: for the owner of the connection (a pool canceling
    /// whatever runs at shutdown), never for its users.
    pub fn owner_cancel_token(&self) -> CancelToken {
        let mut t = self.cancel_token();
        t.epoch = None;
        t
    }
}

impl RowStream {
    /// Keeps `guard` alive while the stream is: it is dropped when the
    /// stream ends (last row, error) or is dropped. A pool attaches its
    /// lease on the connection, so the connection is not lent to anyone
    /// else while rows are still coming.
    pub fn with_guard(mut self, guard: impl Send + Sync + 'static) -> RowStream {
        if self.is_ended() {
            return self;
        }
        self.guard = Some(Box::new(guard));
        self
    }
}
