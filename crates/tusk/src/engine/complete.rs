//! How requests end: marking the request the server answers done (or to
//! be sent again), on CommandComplete, ErrorResponse or ReadyForQuery.

use super::*;
use postgres_protocol::message::backend::{ErrorResponseBody, ReadyForQueryBody};

impl Engine {
    /// Marks the request at the cursor done (with the transaction status
    /// when a ReadyForQuery ended it) and moves on.
    pub(super) fn finish_current(&mut self, status: Option<TransactionStatus>) {
        let cursor = self.reqs.cursor();
        self.finish_at(cursor, status);
        self.advance();
        if self.reqs.in_flight() == 0 {
            self.delivery.wake_idle();
        }
    }

    /// Marks the request at queue index `i` done: its status, the cache
    /// and the read-group prefix updated, its caller woken, the barriers
    /// up to its end gone. The cursor does not move.
    pub(super) fn finish_at(&mut self, i: usize, status: Option<TransactionStatus>) {
        let tx_status = self.session.tx_status();
        let Some(r) = self.reqs.at_mut(i) else {
            return;
        };
        r.resp.status = Some(status.unwrap_or(tx_status));
        let (id, end) = (r.id(), r.end());
        // A cached statement whose Parse the server never confirmed (it
        // failed, or was skipped after an earlier failure) leaves the cache.
        let unconfirmed = (r.resp.cached && r.resp.parse == ParseStep::Sent)
            .then(|| r.resp.stmt.clone())
            .flatten();
        let prefix = (r.resp.purpose == Purpose::PreparePrefix).then(|| r.resp.error.is_none());
        if let Some(s) = unconfirmed {
            self.stmts.cache_mut().remove(&s);
        }
        if let Some(ok) = prefix {
            self.groups.prepared(ok);
        }
        // The driver is polling its own request right now: waking it would
        // only requeue the task (a futex per query on the multi-thread
        // runtime).
        let own = self.role.is(Driver::Request(id));
        if let Some(w) = self.reqs.finish(i) {
            if !own {
                w.wake();
            }
        }
        self.out.answered(end);
        if !self.declare_guards.is_empty() {
            self.on_guarded_finish(i, id);
        }
    }

    /// Moves the cursor to the next request the server owes an answer
    /// (past read-group members that completed while one ahead of them
    /// was sent again).
    pub(super) fn advance(&mut self) {
        self.reqs.advance();
        self.wake_watcher();
    }

    /// Ends a part of an atomic group that the server skipped; a read-group
    /// member is kept to be sent again instead.
    pub(super) fn finish_skipped(&mut self) {
        if let Some(r) = self.reqs.current_mut() {
            if r.resp.group.grouped() && r.resend.is_some() {
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

    /// An ErrorResponse for the request at the cursor: its error, a
    /// read-group member sent again, a stale plan evicted, the connection
    /// failed on FATAL.
    pub(super) fn on_error(&mut self, body: ErrorResponseBody) -> Result<(), Error> {
        let db = DbError::parse(&mut body.fields())
            .map_err(|e| Error::with_source(ErrorKind::Protocol, "malformed error", e))?;
        let fatal = matches!(
            db.severity,
            crate::error::Severity::Fatal | crate::error::Severity::Panic
        );
        let code = db.code;
        let err = Error::db(db);
        let Some(r) = self.reqs.current_mut() else {
            return Err(Error::protocol("ErrorResponse with no query in flight"));
        };
        let can_redo = r.resp.group.grouped() && r.resend.is_some() && !fatal;
        let sync = r.sync();
        let resp = &mut r.resp;
        if resp.group == Grouping::PrefixAhead && !fatal {
            // The read group's prefix failed (its statement is
            // gone): this member never ran; it goes again alone,
            // and the prefix is prepared again.
            tracing::debug!(error = %err, "read-only prefix failed; re-preparing");
            resp.group = Grouping::Member;
            if !can_redo {
                resp.skip();
            }
            self.groups.lost();
            if can_redo {
                self.redo_current();
            } else if !sync {
                self.reqs.start_skipping();
                self.finish_current(None);
            }
            return Ok(());
        }
        if can_redo
            && code == crate::error::SqlState::READ_ONLY_SQL_TRANSACTION
            && resp.error.is_none()
        {
            // A read-group member that writes after all (a
            // function, FOR UPDATE): it goes again alone, and its
            // statement is never grouped again.
            if let Some(s) = resp.stmt.clone() {
                self.stmts.cache_mut().forbid_grouping(&s);
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
        let stale = resp.stale_plan().then(|| resp.stmt.clone()).flatten();
        if let Some(s) = stale {
            self.stmts.cache_mut().remove(&s);
        }
        if fatal {
            // The server closes the session after FATAL.
            return Err(if err.kind() == ErrorKind::Connection {
                err
            } else {
                err.with_kind(ErrorKind::Connection)
            });
        }
        if !sync {
            self.reqs.start_skipping();
            self.finish_current(None);
        }
        Ok(())
    }

    /// A ReadyForQuery: the transaction status, and the end of the request
    /// carrying the Sync (and of the group parts the server skipped).
    pub(super) fn on_ready(&mut self, body: ReadyForQueryBody) -> Result<(), Error> {
        let status = self.session.ready(body.status(), true)?;
        // Parts of an atomic group (or members of a read group) the
        // server skipped after a failed one end here, with the
        // request carrying the Sync.
        while self.reqs.current().is_some_and(|r| !r.sync()) {
            self.finish_skipped();
        }
        let skipping = self.reqs.take_skipping();
        let last = self.reqs.cursor();
        let Some(r) = self.reqs.current_mut() else {
            return Err(Error::protocol("ReadyForQuery with no query in flight"));
        };
        if skipping && r.resp.error.is_none() && r.resp.tag.is_none() && !r.redo {
            if r.resp.group.grouped() && r.resend.is_some() {
                r.redo = true;
            } else {
                r.resp.skip();
            }
        }
        let grouped = r.resp.group.grouped();
        if r.redo {
            self.advance();
        } else {
            self.finish_current(Some(status));
        }
        if grouped {
            self.resend_redos(last);
        }
        self.reqs.gc();
        Ok(())
    }
}
