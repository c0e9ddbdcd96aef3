//! Rows as they arrive, with bounded memory.

use futures_core::Stream;
use parking_lot::Mutex;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::client::Client;
use crate::engine::{Progress, Shared, Ticket};
use crate::error::Error;
use crate::query::Query;
use crate::row::Row;
use crate::types::params::Param;

/// Rows the engine buffers for a stream before it stops reading the socket
/// (TCP flow control then holds the server back).
const STREAM_BUFFER_ROWS: usize = 1024;

/// A stream of rows (implements `futures_core::Stream`).
///
/// Dropping it before the end discards the rest of the result; the
/// connection stays usable.
///
/// An open stream never holds the connection for itself: other queries on
/// the same connection run while it is open, even from the loop that reads
/// it (`while let Some(row) = s.next().await { conn.query(..).await?; }`).
/// Memory stays bounded (about a thousand rows buffered; then the driver
/// stops reading the socket and TCP holds the server back) while the stream
/// is the only thing waiting on its connection; as soon as another query
/// waits for an answer that comes behind the stream's rows, the rest of the
/// stream is read into memory, so that nobody ever waits for the stream's
/// reader (who may be that very caller). Read streams on a connection of
/// their own to keep memory bounded whatever else runs.
///
/// A [`Query::timeout`] applies as to any query: counted from the start,
/// the stream's query is canceled on the server once its time is up
/// (whether or not its reader is reading), and the stream ends with a
/// `Timeout` error.
pub struct RowStream {
    ticket: Ticket,
    rows_affected: Option<u64>,
    tag: Option<String>,
    ended: bool,
    /// A timed stream's watchdog (see [`Query::timeout`]).
    timer: Option<Timer>,
    /// Rows described with types that were not built in get the looked-up
    /// description (old, new).
    retype: Option<(Arc<crate::row::RowDesc>, Arc<crate::row::RowDesc>)>,
    /// Dropped when the stream ends or is dropped (after the request is
    /// abandoned): a pool's lease on the connection. Declared last so it
    /// goes after `ticket`.
    pub(crate) guard: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl RowStream {
    pub(crate) async fn start(
        client: &Client,
        q: &Query<'_>,
        params: &[Param<'_>],
    ) -> Result<RowStream, Error> {
        let mut retried = false;
        loop {
            let ticket = client.submit(q, params, Some(STREAM_BUFFER_ROWS)).await?;
            let mut s = RowStream {
                ticket,
                rows_affected: None,
                tag: None,
                ended: false,
                timer: None,
                retype: None,
                guard: None,
            };
            if let Some(t) = q.opts.timeout {
                s.timer = Some(Timer::start(&s.ticket, t));
            }
            // Wait for the first row or the end, so that errors such as a
            // syntax error surface here, and a stale cached plan is retried
            // (before any row: nothing of it ran).
            let first = std::future::poll_fn(|cx| s.poll_ready(cx)).await;
            if let Err((e, stale)) = first {
                if stale && !retried {
                    tracing::debug!(error = %e, "stale cached statement; re-preparing once");
                    retried = true;
                    continue;
                }
                return Err(e);
            }
            Box::pin(s.settle_types(client)).await;
            return Ok(s);
        }
    }

    /// Looks up the types of the stream's columns that are not built in
    /// (before the first row is handed out), and of its statement's. The
    /// lookup is answered behind the stream's rows, which are then read
    /// into memory: only the first stream that meets a type pays that.
    async fn settle_types(&mut self, client: &Client) {
        let (desc, stmt) = {
            let st = self.ticket.shared.lock();
            match st.req(self.ticket.id) {
                Some(r) => (
                    r.resp
                        .rows
                        .front()
                        .map(|row| row.desc.clone())
                        .or_else(|| r.resp.desc.clone()),
                    r.resp.stmt.clone().map(|s| (s, r.resp.cached)),
                ),
                None => (None, None),
            }
        };
        if let Some((s, cached)) = stmt {
            if let Err(e) = client.resolve_stmt(&s, cached).await {
                tracing::warn!(error = %e, "looking up the statement's types failed");
            }
        }
        if let Some(d) = desc {
            if let Some(new) = client.resolved_desc(&d).await {
                self.retype = Some((d, new));
            }
        }
    }

    /// Ready when a row is buffered or the result ended; an error ends it
    /// (with whether it is a stale cached plan, to retry). Never returns
    /// holding the driver role.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), (Error, bool)>> {
        let id = self.ticket.id;
        let shared = self.ticket.shared.clone();
        let mut st = match shared.poll_wait(cx, id, |_, r| r.abandoned() || !r.resp.rows.is_empty())
        {
            Poll::Ready(st) => st,
            Poll::Pending => return Poll::Pending,
        };
        if let Some(e) = self.timer.as_ref().and_then(Timer::gave_up) {
            self.ticket.finished = true;
            self.ended = true;
            return Poll::Ready(Err((e, false)));
        }
        let failed = match st.req(id) {
            None => Some((st.broken_error(), false)),
            Some(r) if r.done() && r.resp.rows.is_empty() && r.resp.error.is_some() => {
                // `collect` hands the driver role on.
                let resp = st.collect(id);
                self.ticket.finished = true;
                self.ended = true;
                let stale =
                    resp.stale_plan() && resp.status == Some(crate::TransactionStatus::Idle);
                let e = resp.error.unwrap_or_else(Error::closed);
                Some((timed_out(self.timer.as_ref(), e), stale))
            }
            Some(_) => None,
        };
        if let Some(f) = failed {
            return Poll::Ready(Err(f));
        }
        release_if_driver(&mut st, id);
        Poll::Ready(Ok(()))
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.ended
    }

    /// Rows affected, once the stream has ended.
    pub fn rows_affected(&self) -> Option<u64> {
        self.rows_affected
    }

    /// The command tag (`SELECT 3`, `INSERT 0 1`), once the stream has ended.
    pub fn command_tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// Collects the remaining rows.
    pub async fn collect_all(mut self) -> Result<Vec<Row>, Error> {
        let mut v = Vec::new();
        while let Some(r) = std::future::poll_fn(|cx| Pin::new(&mut self).poll_next(cx)).await {
            v.push(r?);
        }
        Ok(v)
    }
}

/// Hands the driver role on if request `id` (a stream) holds it.
fn release_if_driver(st: &mut crate::engine::State, id: u64) {
    st.release_if(crate::engine::Driver::Request(id));
}

impl Stream for RowStream {
    type Item = Result<Row, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        let id = this.ticket.id;
        let shared = this.ticket.shared.clone();
        let mut st = match shared.poll_wait(cx, id, |_, r| r.abandoned() || !r.resp.rows.is_empty())
        {
            Poll::Ready(st) => st,
            Poll::Pending => return Poll::Pending,
        };
        if let Some(e) = this.timer.as_ref().and_then(Timer::gave_up) {
            this.ended = true;
            this.ticket.finished = true;
            drop(st);
            this.guard = None;
            return Poll::Ready(Some(Err(e)));
        }
        let Some(r) = st.req_mut(id) else {
            this.ended = true;
            this.ticket.finished = true;
            let e = st.broken_error();
            drop(st);
            this.guard = None;
            return Poll::Ready(Some(Err(e)));
        };
        if let Some(mut row) = r.resp.rows.pop_front() {
            if let Some((old, new)) = &this.retype {
                if Arc::ptr_eq(&row.desc, old) {
                    row.desc = new.clone();
                }
            }
            // Room again: let a stalled driver read on. And do not keep the
            // driver role while the reader holds the row: it may run
            // another query on this connection before it asks for more.
            st.wake_driver();
            release_if_driver(&mut st, id);
            return Poll::Ready(Some(Ok(row)));
        }
        if r.done() {
            // `collect` hands the driver role on.
            let resp = st.collect(id);
            this.ticket.finished = true;
            this.ended = true;
            drop(st);
            this.guard = None;
            return match resp.error {
                Some(e) => Poll::Ready(Some(Err(timed_out(this.timer.as_ref(), e)))),
                None => {
                    this.rows_affected = Some(resp.rows_affected());
                    this.tag = resp.tag;
                    Poll::Ready(None)
                }
            };
        }
        Poll::Pending
    }
}

/// A timed stream's watchdog: a task that cancels the stream's query on the
/// server once its time is up, by the rules of timed queries (see
/// `Client::wait`): only once the server is answering this very query
/// (nothing behind it is written before it ends: its barrier), cancels
/// sent again within the grace period, and, when none takes effect, the
/// stream fails alone (see `cancel::give_up`). It never drives the
/// connection: the stream's reader, or whoever waits, does.
struct Timer {
    after: Duration,
    state: Arc<TimerState>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct TimerState {
    /// Cancels were sent: a `57014` is this timeout's.
    canceling: AtomicBool,
    /// The cancels did not take effect: the query was abandoned, and the
    /// stream ends with this error. Set under the connection's lock.
    gave_up: Mutex<Option<Error>>,
}

impl Timer {
    fn start(ticket: &Ticket, after: Duration) -> Timer {
        let state = Arc::new(TimerState::default());
        let task = tokio::spawn(watch(
            Arc::downgrade(&ticket.shared),
            ticket.id,
            after,
            state.clone(),
        ));
        Timer { after, state, task }
    }

    fn gave_up(&self) -> Option<Error> {
        self.state.gave_up.lock().clone()
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // A cancel already on its way runs to its end on its own task.
        self.task.abort();
    }
}

/// The server's `57014` for a canceled stream, as the timeout it is.
fn timed_out(timer: Option<&Timer>, e: Error) -> Error {
    match timer {
        Some(t)
            if t.state.canceling.load(Ordering::Acquire)
                && e.code() == Some(crate::SqlState::QUERY_CANCELED) =>
        {
            Error::timed_out(t.after, Some(&e))
        }
        _ => e,
    }
}

/// How far the query has got; unless it is over, the engine wakes the
/// calling task when that changes (no polling).
fn watch_progress(shared: &Weak<Shared>, id: u64, cx: &mut Context<'_>) -> Progress {
    let Some(shared) = shared.upgrade() else {
        return Progress::Over;
    };
    let mut st = shared.lock();
    st.watch(id, cx.waker())
}

/// Waits until the query is being answered (true) or is over (false).
async fn until_running(shared: &Weak<Shared>, id: u64) -> bool {
    std::future::poll_fn(|cx| match watch_progress(shared, id, cx) {
        Progress::Over => Poll::Ready(false),
        Progress::Running => Poll::Ready(true),
        Progress::Queued => Poll::Pending,
    })
    .await
}

/// Waits until the query is over.
async fn until_over(shared: &Weak<Shared>, id: u64) {
    std::future::poll_fn(|cx| match watch_progress(shared, id, cx) {
        Progress::Over => Poll::Ready(()),
        _ => Poll::Pending,
    })
    .await;
}

async fn watch(shared: Weak<Shared>, id: u64, after: Duration, state: Arc<TimerState>) {
    tokio::time::sleep(after).await;
    if !until_running(&shared, id).await {
        return;
    }
    state.canceling.store(true, Ordering::Release);
    let grace = crate::cancel::grace(after);
    let deadline = tokio::time::Instant::now() + grace;
    let mut interval = Duration::from_millis(5);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match shared.upgrade() {
            Some(s) => crate::cancel::cancel_held(&s, left).await,
            None => return,
        }
        let until = (tokio::time::Instant::now() + interval).min(deadline);
        if tokio::time::timeout_at(until, until_over(&shared, id))
            .await
            .is_ok()
        {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        interval = (interval * 2).min(Duration::from_millis(500));
    }
    let Some(s) = shared.upgrade() else {
        return;
    };
    let mut st = s.lock();
    if st.req(id).is_none_or(|r| r.done()) {
        return;
    }
    let (e, kept) = crate::cancel::give_up(&mut st, after, grace);
    if kept {
        // The reader sees the error before anything else; the driver reads
        // and discards the query's answer when it comes.
        *state.gave_up.lock() = Some(e);
        let waker = st.req(id).and_then(crate::engine::Req::waker);
        st.abandon(id);
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }
}
