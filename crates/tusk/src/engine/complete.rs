//! How requests end: marking the request the server answers done (or to
//! be sent again), on CommandComplete, ErrorResponse or ReadyForQuery.

use super::*;
use postgres_protocol::message::backend::{ErrorResponseBody, ReadyForQueryBody};

impl Engine {
    /// Marks the request at the cursor done (with the transaction status
    /// when a ReadyForQuery ended it) and moves on.
    pub(super) fn finish_current(&mut self, status: Option<TransactionStatus>) {
        let cursor = self.cursor;
        let tx_status = self.tx_status;
        let own_driver = self.driver;
        let r = &mut self.queue[cursor];
        r.resp.status = Some(status.unwrap_or(tx_status));
        r.done = true;
        if let Some(w) = r.watcher.take() {
            w.wake();
        }
        if !r.groupable {
            self.ungroupable_in_flight -= 1;
        }
        // A cached statement whose Parse the server never confirmed (it
        // failed, or was skipped after an earlier failure) leaves the cache.
        if r.resp.cached && r.resp.parse == ParseStep::Sent {
            if let Some(s) = &r.resp.stmt {
                self.cache.remove(s);
            }
        }
        let r = &mut self.queue[cursor];
        if r.resp.purpose == Purpose::PreparePrefix {
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
    pub(super) fn advance(&mut self) {
        self.cursor += 1;
        while self.queue.get(self.cursor).is_some_and(|r| r.done) {
            self.cursor += 1;
        }
        self.wake_watcher();
    }

    /// Ends a part of an atomic group that the server skipped; a read-group
    /// member is kept to be sent again instead.
    pub(super) fn finish_skipped(&mut self) {
        if let Some(r) = self.queue.get_mut(self.cursor) {
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

    /// An ErrorResponse for the request at `cursor`: its error, a read-group
    /// member sent again, a stale plan evicted, the connection failed on FATAL.
    pub(super) fn on_error(&mut self, cursor: usize, body: ErrorResponseBody) -> Result<(), Error> {
        let resp = &mut self.queue[cursor].resp;
        let db = DbError::parse(&mut body.fields())
            .map_err(|e| Error::with_source(ErrorKind::Protocol, "malformed error", e))?;
        let fatal = matches!(
            db.severity,
            crate::error::Severity::Fatal | crate::error::Severity::Panic
        );
        let code = db.code;
        let err = Error::db(db);
        let can_redo = resp.group.grouped() && self.queue[cursor].resend.is_some() && !fatal;
        let resp = &mut self.queue[cursor].resp;
        if resp.group == Grouping::PrefixAhead && !fatal {
            // The read group's prefix failed (its statement is
            // gone): this member never ran; it goes again alone,
            // and the prefix is prepared again.
            tracing::debug!(error = %err, "read-only prefix failed; re-preparing");
            resp.group = Grouping::Member;
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
        if can_redo
            && code == crate::error::SqlState::READ_ONLY_SQL_TRANSACTION
            && resp.error.is_none()
        {
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
        Ok(())
    }

    /// A ReadyForQuery: the transaction status, and the end of the request
    /// carrying the Sync (and of the group parts the server skipped).
    pub(super) fn on_ready(&mut self, body: ReadyForQueryBody) -> Result<(), Error> {
        let status = TransactionStatus::from_byte(body.status()).ok_or_else(|| {
            Error::protocol(format!(
                "ReadyForQuery with an unknown transaction status {:?}",
                char::from(body.status())
            ))
        })?;
        self.tx_status = status;
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
                if r.resp.group.grouped() && r.resend.is_some() {
                    r.redo = true;
                } else {
                    r.resp.skip();
                }
            }
        }
        let last = self.cursor;
        let grouped = r.resp.group.grouped();
        if r.redo {
            self.advance();
        } else {
            self.finish_current(Some(status));
        }
        if grouped {
            self.resend_redos(last);
        }
        self.gc();
        Ok(())
    }
}
