//! The way back into the pool: what a returned connection's previous
//! holder leaves behind goes (driver-side state at once, the session reset
//! queued for the next holder's first request), or, when the holder left
//! work behind, a background clean-up drains, rolls back and resets first.

use std::borrow::Cow;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tusk::Error;

use crate::conn::{Conn, Returned};
use crate::inner::Inner;
use crate::metrics::CloseReason;

/// How long a returned connection's abandoned statement may run before it
/// is canceled.
const ABANDONED_GRACE: Duration = Duration::from_millis(100);

impl Inner {
    /// A connection comes back from use (`ret`: what its handle learned).
    ///
    /// The previous holder's driver-side state goes at once (notice
    /// handler, cancel tokens). Then, in the common case (no statement
    /// abandoned, no transaction open, no stream being read), the reset is queued
    /// without waiting and the connection is available again at once: the
    /// next holder's first request carries it (its statements as unnamed
    /// Parse/Bind/Execute, in that request's Sync group), so nobody waits
    /// a round trip for it and the server answers both in one flush. Otherwise a background task drains, rolls back and resets
    /// before the connection goes back.
    pub(crate) fn release(self: &Arc<Self>, c: Conn, ret: Returned) {
        let mut c = c;
        // Did this checkout send anything (its statements, or anything
        // through the Deref target the pool does not see)?
        let sent = c.conn.bytes_sent() != c.sent_at_checkout;
        self.count_bytes(&mut c);
        self.mark_returned(&c);
        if self.is_closed() {
            return self.discard(c, CloseReason::Shutdown);
        }
        if let Some(r) = ret.evict {
            return self.discard(c, r);
        }
        if c.conn.is_closed() {
            return self.discard(c, CloseReason::Broken);
        }
        if c.generation < self.generation.load(Acquire) {
            return self.discard(c, CloseReason::Evicted);
        }
        let now = Instant::now();
        if c.expires.is_some_and(|e| now >= e) {
            return self.discard(c, CloseReason::MaxLifetime);
        }
        // `max_size` was lowered under load: close the excess as it
        // comes back instead of handing it to a waiter.
        if self.claim_excess() {
            return self.close_counted(c, CloseReason::Reconfigured);
        }
        c.conn.detach_notice_handler();
        c.conn.revoke_cancel_tokens();
        let dirty = ret.dirty.union(c.sticky);
        let reset: Option<Cow<'static, [&'static str]>> = if self.hot.reset_tracked.load(Relaxed) {
            (!dirty.is_clean()).then(|| Cow::Owned(crate::reset::tracked_reset(dirty)))
        } else {
            // SQL-level prepared statements: deallocated when the text
            // showed a `PREPARE`; one made out of sight (inside a function,
            // or one of the driver's cached statements replaced under its
            // name) fails the reset, so the next holder's statement never
            // runs on that session.
            (sent || !dirty.is_clean()).then(|| {
                Cow::Borrowed(crate::reset::full_reset(
                    dirty.has(crate::reset::Dirty::PREPARE),
                ))
            })
        };
        // A request still in flight may be one its holder gave up on
        // through the `Deref` target (which the handle cannot see): it may
        // leave a transaction open, which the reset's `COMMIT` queued
        // behind it would commit. It is drained and rolled back first.
        let busy = c.conn.transaction_status() != tusk::TransactionStatus::Idle
            || c.meta.streams.load(Acquire) > 0
            || c.conn.in_flight() > 0;
        if busy || ret.interrupted || ret.read_only_check {
            return self.clean_up(c, reset, ret);
        }
        if let Some(parts) = reset {
            let mut sent = c.conn.queue_session_reset(&parts);
            // Nobody waits for it: it goes idle, where the previous
            // holder's session must not live on (its advisory locks held
            // against other sessions, an `idle_session_timeout` ending the
            // session under the next holder). The reset goes out now,
            // alone, without waiting; its answer is read when the
            // connection is next handed out. (With a waiter, the waiter's
            // first request carries it: no write of its own.)
            if sent.is_ok() && self.waiting.load(Acquire) == 0 {
                sent = c.conn.send_queued_session_reset();
            }
            if let Err(e) = sent {
                tracing::debug!(error = %e, "sending the reset of a returned connection failed; closing it");
                return self.discard(c, CloseReason::ResetFailed);
            }
            self.metrics.resets.fetch_add(1, Relaxed);
        }
        self.put(c, now);
    }

    /// Waits for streams still being read, drains, rolls back and resets off
    /// the caller's path, then returns the connection; closes it when that
    /// fails or takes too long (streams excepted: a stream may be read for
    /// as long as its holder likes).
    fn clean_up(
        self: &Arc<Self>,
        c: Conn,
        reset: Option<Cow<'static, [&'static str]>>,
        ret: Returned,
    ) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return self.discard(c, CloseReason::ResetFailed);
        };
        let inner = self.clone();
        let (limit, attrs) = {
            let cfg = self.cfg.read();
            (cfg.reset_timeout, cfg.connect.target_session_attrs())
        };
        let interrupted = ret.interrupted;
        rt.spawn(async move {
            let mut c = c;
            c.meta.streams_ended().await;
            // Borrowed, not cloned: a connection that goes back must be
            // uniquely owned again (transactions need `&mut`).
            let outcome = {
                let conn = &*c.conn;
                let work = async {
                    use tusk::Executor;
                    // A statement its holder gave up on is still running:
                    // give it a moment, then cancel it (nobody wants its result).
                    let drained = tokio::time::timeout(ABANDONED_GRACE, conn.wait_idle()).await;
                    match drained {
                        Ok(r) => r?,
                        Err(_) => {
                            if interrupted {
                                let _ = c.meta.cancel.cancel().await;
                            }
                            conn.wait_idle().await?
                        }
                    }
                    if conn.transaction_status() != tusk::TransactionStatus::Idle {
                        conn.simple_query("ROLLBACK").await?;
                    }
                    // A 25006 retires every connection only when the
                    // server itself is read-only now (after the reset, the
                    // setting shows the server's default, not a caller's SET).
                    let check = ret.read_only_check;
                    let parts = match (&reset, check) {
                        (Some(r), _) => Some(&**r),
                        (None, true) => Some(crate::reset::full_reset(false)),
                        (None, false) => None,
                    };
                    if let Some(parts) = parts {
                        conn.queue_session_reset(parts)?;
                        conn.wait_idle().await?;
                        inner.metrics.resets.fetch_add(1, Relaxed);
                    }
                    let mut read_only = false;
                    if check && conn.transaction_status() == tusk::TransactionStatus::Idle {
                        read_only = crate::policy::server_read_only(conn, attrs).await?;
                    }
                    Ok::<(bool, bool), Error>((
                        conn.transaction_status() == tusk::TransactionStatus::Idle,
                        read_only,
                    ))
                };
                tokio::time::timeout(limit, work).await
            };
            inner.count_bytes(&mut c);
            match outcome {
                Ok(Ok((_, true))) => {
                    inner.generation.fetch_add(1, AcqRel);
                    tracing::warn!("the server is read-only (25006, and pg_is_in_recovery() or default_transaction_read_only says so): retiring every connection so new ones re-resolve the primary");
                    inner.wake_supervisor.notify_one();
                    inner.discard(c, CloseReason::Evicted)
                }
                Ok(Ok((true, false))) => inner.put(c, Instant::now()),
                Ok(Ok((false, _))) => inner.discard(c, CloseReason::ResetFailed),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "reset of a returned connection failed; closing it");
                    inner.discard(c, CloseReason::ResetFailed)
                }
                Err(_) => inner.discard(c, CloseReason::ResetFailed),
            }
        });
    }
}
