//! A connection as the pool keeps it, and what the pool knows about it
//! while it is out.

use std::backtrace::Backtrace;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use crate::metrics::CloseReason;
use crate::reset::Dirty;

/// Where a connection was acquired (for leak reports).
#[derive(Debug, Clone)]
pub(crate) struct AcquireSite {
    pub(crate) location: &'static Location<'static>,
    pub(crate) backtrace: Option<Arc<Backtrace>>,
}

/// Per-connection facts shared between the holder, the supervisor (leak
/// scan) and `close()` (cancel on deadline). Allocated once per connection.
pub(crate) struct ConnMeta {
    pub(crate) id: u64,
    pub(crate) cancel: tusk::CancelToken,
    /// Nanoseconds since the pool's epoch at acquire, plus one; 0 when not held.
    pub(crate) acquired_at: AtomicU64,
    pub(crate) leak_reported: AtomicBool,
    pub(crate) site: Mutex<Option<AcquireSite>>,
    /// `RowStream`s of this connection still being read: it does not go
    /// back to the pool before they end.
    pub(crate) streams: AtomicUsize,
    /// Signalled when `streams` drops to 0.
    pub(crate) streams_done: tokio::sync::Notify,
}

/// Keeps a connection out of the pool while a stream of its rows lives
/// (attached to the `RowStream` with `with_guard`).
pub(crate) struct StreamHold(Arc<ConnMeta>);

impl StreamHold {
    pub(crate) fn new(meta: &Arc<ConnMeta>) -> StreamHold {
        meta.streams.fetch_add(1, Ordering::AcqRel);
        StreamHold(meta.clone())
    }
}

impl Drop for StreamHold {
    fn drop(&mut self) {
        if self.0.streams.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.streams_done.notify_waiters();
        }
    }
}

impl ConnMeta {
    /// Waits until no stream of this connection is being read.
    pub(crate) async fn streams_ended(&self) {
        loop {
            let n = self.streams_done.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if self.streams.load(Ordering::Acquire) == 0 {
                return;
            }
            n.await;
        }
    }
}

/// A pooled connection with its bookkeeping.
pub(crate) struct Conn {
    pub(crate) conn: Arc<tusk::Connection>,
    pub(crate) meta: Arc<ConnMeta>,
    pub(crate) expires: Option<Instant>,
    pub(crate) last_used: Instant,
    pub(crate) generation: u64,
    /// State reset on every return: a statement prepared on this
    /// connection may change session state whenever it runs.
    pub(crate) sticky: Dirty,
    /// The driver's byte counters when last added to the pool's totals.
    pub(crate) bytes_seen: (u64, u64),
    /// Bytes sent when it was handed out: more at its return means the
    /// holder sent something, and the session is reset.
    pub(crate) sent_at_checkout: u64,
}

/// What a handle learned while it held a connection; read on return.
#[derive(Default)]
pub(crate) struct HandleState {
    pub(crate) dirty: AtomicU8,
    pub(crate) sticky: AtomicU8,
    /// A [`CloseReason`] index + 1 when the connection must not be reused.
    pub(crate) evict: AtomicU8,
    /// A query future was dropped before it finished.
    pub(crate) interrupted: AtomicBool,
    /// A statement failed with 25006 (read-only transaction): on return,
    /// the pool asks the server whether it really is read-only.
    pub(crate) read_only_check: AtomicBool,
    /// A request of this checkout was answered (its carried session
    /// reset, if any, went through).
    pub(crate) answered: AtomicBool,
}

/// What the pool learned about a connection's use, read when it comes back.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Returned {
    pub(crate) dirty: Dirty,
    pub(crate) evict: Option<CloseReason>,
    pub(crate) interrupted: bool,
    pub(crate) read_only_check: bool,
}

impl HandleState {
    pub(crate) fn mark(&self, d: Dirty) {
        if !d.is_clean() {
            self.dirty.fetch_or(d.0, Ordering::Relaxed);
        }
    }

    pub(crate) fn mark_sticky(&self, d: Dirty) {
        if !d.is_clean() {
            self.sticky.fetch_or(d.0, Ordering::Relaxed);
            self.mark(d);
        }
    }

    pub(crate) fn dirty(&self) -> Dirty {
        Dirty(self.dirty.load(Ordering::Relaxed))
    }

    pub(crate) fn sticky(&self) -> Dirty {
        Dirty(self.sticky.load(Ordering::Relaxed))
    }

    pub(crate) fn set_evict(&self, r: CloseReason) {
        self.evict.store(r.code(), Ordering::Relaxed);
    }

    pub(crate) fn evict(&self) -> Option<CloseReason> {
        CloseReason::from_code(self.evict.load(Ordering::Relaxed))
    }

    /// Everything the return path needs.
    pub(crate) fn returned(&self) -> Returned {
        Returned {
            dirty: self.dirty(),
            evict: self.evict(),
            interrupted: self.interrupted.load(Ordering::Relaxed),
            read_only_check: self.read_only_check.load(Ordering::Relaxed),
        }
    }
}

/// Sets `interrupted` unless disarmed: a query future dropped mid-flight
/// leaves the connection with a request whose effect the pool cannot see.
///
/// `Connection::in_flight() > 0` at return is not the same fact: a
/// `RowStream` from `query_stream` outlives the handle that started it and
/// keeps its request in flight while its holder reads it; treating that as
/// abandoned would cancel a stream in use.
pub(crate) struct InterruptGuard<'a>(pub(crate) Option<&'a HandleState>);

impl InterruptGuard<'_> {
    pub(crate) fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for InterruptGuard<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.0 {
            s.interrupted.store(true, Ordering::Relaxed);
        }
    }
}
