//! The pool's shared state: sharded idle lists, the FIFO wait queue, the
//! counts, and the paths a connection takes in and out.
//!
//! Lock order: `waiters` before a shard; a shard lock is never held while
//! taking `waiters`. The hot path (an idle connection in the caller's
//! shard, then its return) takes one shard lock each way, reads a clock,
//! and allocates nothing.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use tusk::{Error, ErrorKind};

use crate::breaker::Breaker;
use crate::config::{PoolConfig, ResetPolicy};
use crate::conn::{AcquireSite, Conn, ConnMeta};
use crate::leak::LeakReport;
use crate::metrics::{CloseReason, Metrics};
use crate::reset::Dirty;
use crate::shared::SharedEntry;

/// Settings read on hot paths, as atomics so `reconfigure` can change them live.
pub(crate) struct Hot {
    pub(crate) max_size: AtomicUsize,
    pub(crate) min_idle: AtomicUsize,
    pub(crate) depth: AtomicUsize,
    pub(crate) acquire_timeout_us: AtomicU64,
    pub(crate) idle_check_us: AtomicU64,
    pub(crate) leak_us: AtomicU64,
    pub(crate) leak_backtrace: AtomicBool,
    /// [`ResetPolicy::Tracked`] is in force (the full reset otherwise).
    pub(crate) reset_tracked: AtomicBool,
    /// [`PoolConfig::share_connections`].
    pub(crate) share: AtomicBool,
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Hot {
    fn new(c: &PoolConfig) -> Hot {
        let h = Hot {
            max_size: AtomicUsize::new(0),
            min_idle: AtomicUsize::new(0),
            depth: AtomicUsize::new(0),
            acquire_timeout_us: AtomicU64::new(0),
            idle_check_us: AtomicU64::new(0),
            leak_us: AtomicU64::new(0),
            leak_backtrace: AtomicBool::new(false),
            reset_tracked: AtomicBool::new(false),
            share: AtomicBool::new(false),
        };
        h.apply(c);
        h
    }

    pub(crate) fn apply(&self, c: &PoolConfig) {
        self.max_size.store(c.max_size, Relaxed);
        self.min_idle.store(c.min_idle, Relaxed);
        self.depth.store(c.max_pipeline_depth, Relaxed);
        self.acquire_timeout_us
            .store(us(c.acquire_timeout), Relaxed);
        self.idle_check_us
            .store(us(c.idle_check_threshold), Relaxed);
        self.leak_us
            .store(c.leak_detection_threshold.map_or(0, us), Relaxed);
        self.leak_backtrace.store(c.leak_backtrace, Relaxed);
        self.reset_tracked
            .store(c.reset == ResetPolicy::Tracked, Relaxed);
        self.share.store(c.share_connections, Relaxed);
    }
}

/// A caller waiting for a connection.
pub(crate) struct Waiter {
    pub(crate) slot: Mutex<Slot>,
}

impl Waiter {
    /// Puts `outcome` in the slot of a waiter still waiting and wakes it
    /// (outside the lock); a waiter that is gone gives `outcome` back.
    fn settle(&self, outcome: Slot) -> Option<Slot> {
        let mut slot = self.slot.lock();
        let Slot::Waiting(waker) = &mut *slot else {
            return Some(outcome);
        };
        let waker = waker.take();
        *slot = outcome;
        drop(slot);
        if let Some(waker) = waker {
            waker.wake();
        }
        None
    }
}

pub(crate) enum Slot {
    Waiting(Option<Waker>),
    Ready(Conn),
    Failed(Error),
    Gone,
}

pub(crate) struct Inner {
    pub(crate) cfg: RwLock<PoolConfig>,
    pub(crate) hot: Hot,
    pub(crate) shards: Box<[Mutex<VecDeque<Conn>>]>,
    pub(crate) idle: AtomicUsize,
    pub(crate) waiters: Mutex<VecDeque<Arc<Waiter>>>,
    pub(crate) waiting: AtomicUsize,
    /// Open connections plus connects in progress (bounded by max_size).
    pub(crate) total: AtomicUsize,
    /// Open connections.
    pub(crate) live: AtomicUsize,
    pub(crate) closed: AtomicBool,
    pub(crate) generation: AtomicU64,
    pub(crate) registry: Mutex<Vec<Arc<ConnMeta>>>,
    pub(crate) shared: Mutex<Vec<SharedEntry>>,
    /// Callers of the pool's query methods waiting for room.
    pub(crate) shared_waiting: AtomicUsize,
    pub(crate) shared_changed: Notify,
    /// Callers of the pool's query methods queued for room on a shared
    /// connection, first come first served (see `shared.rs`).
    pub(crate) shared_queue: Mutex<VecDeque<tokio::sync::oneshot::Sender<crate::shared::Lease>>>,
    pub(crate) breaker: Mutex<Breaker>,
    pub(crate) metrics: Metrics,
    pub(crate) wake_supervisor: Notify,
    pub(crate) returned: Notify,
    /// Ask the supervisor to check every idle connection (after a
    /// connection-class error: the server may have restarted).
    pub(crate) sweep: AtomicBool,
    pub(crate) next_id: AtomicU64,
    pub(crate) epoch: Instant,
    pub(crate) leaks: Mutex<VecDeque<LeakReport>>,
}

thread_local! {
    static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

/// The calling thread's shard index (threads are numbered round-robin on
/// first use, so each tokio worker keeps its own shard).
fn thread_shard() -> usize {
    SHARD.with(|s| {
        let v = s.get();
        if v != usize::MAX {
            return v;
        }
        let n = NEXT_SHARD.fetch_add(1, Relaxed);
        s.set(n);
        n
    })
}

/// A slot reserved under `max_size` for a connect; released on drop unless
/// the connect succeeded.
pub(crate) struct Reservation<'a>(pub(crate) Option<&'a Inner>);

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some(inner) = self.0 {
            inner.total.fetch_sub(1, AcqRel);
            inner.wake_supervisor.notify_one();
        }
    }
}

impl Inner {
    pub(crate) fn new(cfg: PoolConfig) -> Inner {
        let (cfg, _) = cfg.normalized();
        let n = cfg.shard_count();
        let per = cfg.max_size;
        let breaker = Breaker::new(
            cfg.breaker_threshold,
            cfg.reconnect_backoff_min,
            cfg.reconnect_backoff_max,
        );
        Inner {
            hot: Hot::new(&cfg),
            shards: (0..n)
                .map(|_| Mutex::new(VecDeque::with_capacity(per)))
                .collect(),
            cfg: RwLock::new(cfg),
            idle: AtomicUsize::new(0),
            waiters: Mutex::new(VecDeque::new()),
            waiting: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            registry: Mutex::new(Vec::with_capacity(per)),
            shared: Mutex::new(Vec::with_capacity(per)),
            shared_waiting: AtomicUsize::new(0),
            shared_changed: Notify::new(),
            shared_queue: Mutex::new(VecDeque::new()),
            breaker: Mutex::new(breaker),
            metrics: Metrics::new(),
            wake_supervisor: Notify::new(),
            returned: Notify::new(),
            sweep: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            epoch: Instant::now(),
            leaks: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Acquire)
    }

    pub(crate) fn closed_error(&self) -> Error {
        Error::new(
            ErrorKind::Closed,
            "the pool is closed (Pool::close was called); create a new pool",
        )
    }

    fn home(&self) -> usize {
        thread_shard() % self.shards.len()
    }

    /// Takes an idle connection: the caller's shard first, then steals.
    pub(crate) fn take_idle(&self) -> Option<Conn> {
        if self.idle.load(Acquire) == 0 {
            return None;
        }
        let n = self.shards.len();
        let home = self.home();
        for i in 0..n {
            let shard = &self.shards[(home + i) % n];
            if let Some(c) = shard.lock().pop_back() {
                self.idle.fetch_sub(1, AcqRel);
                return Some(c);
            }
        }
        None
    }

    /// Reserves a slot for a new connection if the pool is below max_size.
    pub(crate) fn reserve(&self) -> Option<Reservation<'_>> {
        let max = self.hot.max_size.load(Relaxed);
        let mut cur = self.total.load(Acquire);
        loop {
            if cur >= max || self.is_closed() {
                return None;
            }
            match self
                .total
                .compare_exchange_weak(cur, cur + 1, AcqRel, Acquire)
            {
                Ok(_) => return Some(Reservation(Some(self))),
                Err(now) => cur = now,
            }
        }
    }

    /// Marks a connection as handed out (for leak detection and close()).
    pub(crate) fn mark_acquired(
        &self,
        c: &mut Conn,
        location: &'static std::panic::Location<'static>,
    ) {
        c.sent_at_checkout = c.conn.bytes_sent();
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        c.meta.acquired_at.store(now.saturating_add(1), Relaxed);
        if self.hot.leak_us.load(Relaxed) != 0 {
            let backtrace = self
                .hot
                .leak_backtrace
                .load(Relaxed)
                .then(|| Arc::new(std::backtrace::Backtrace::force_capture()));
            *c.meta.site.lock() = Some(AcquireSite {
                location,
                backtrace,
            });
        }
    }

    /// Marks a connection as back from its holder.
    pub(crate) fn mark_returned(&self, c: &Conn) {
        let at = c.meta.acquired_at.swap(0, Relaxed);
        if c.meta.leak_reported.swap(false, Relaxed) {
            let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
            let held = Duration::from_nanos(now.saturating_sub(at.saturating_sub(1)));
            let site = c.meta.site.lock().clone();
            tracing::warn!(
                pool = %self.cfg.read().name,
                connection = c.meta.id,
                held = ?held,
                acquired_at = %site.as_ref().map_or("unknown".to_string(), |s| s.location.to_string()),
                "a connection reported as leaked was returned"
            );
        }
    }

    /// Makes a healthy connection available: to the first waiter, else idle.
    pub(crate) fn put(&self, mut c: Conn, now: Instant) {
        c.last_used = now;
        if self.is_closed() {
            return self.discard(c, CloseReason::Shutdown);
        }
        if self.claim_excess() {
            return self.close_counted(c, CloseReason::Reconfigured);
        }
        if self.waiting.load(Acquire) > 0 {
            match self.hand_off(c) {
                None => return,
                Some(back) => c = back,
            }
        }
        self.push_idle(c);
        fence(SeqCst);
        if self.waiting.load(SeqCst) > 0 {
            self.dispatch();
        }
        self.notify_shared();
    }

    fn push_idle(&self, c: Conn) {
        let home = self.home();
        self.shards[home].lock().push_back(c);
        self.idle.fetch_add(1, AcqRel);
    }

    /// Gives `c` to the first live waiter; returns it when there is none.
    fn hand_off(&self, c: Conn) -> Option<Conn> {
        let mut q = self.waiters.lock();
        let mut outcome = Slot::Ready(c);
        while let Some(w) = q.pop_front() {
            self.waiting.fetch_sub(1, AcqRel);
            // A waiter that is gone (its owner is leaving) gives the
            // connection back: try the next one.
            match w.settle(outcome) {
                None => return None,
                Some(back) => outcome = back,
            }
        }
        match outcome {
            Slot::Ready(c) => Some(c),
            _ => None,
        }
    }

    /// Moves idle connections to waiters while both exist.
    pub(crate) fn dispatch(&self) {
        while self.waiting.load(SeqCst) > 0 {
            let Some(c) = self.take_idle() else { return };
            if let Some(back) = self.hand_off(c) {
                self.push_idle(back);
                return;
            }
        }
    }

    /// Fails every waiter (on close).
    pub(crate) fn fail_waiters(&self, e: &Error) {
        let mut q = self.waiters.lock();
        while let Some(w) = q.pop_front() {
            self.waiting.fetch_sub(1, AcqRel);
            let _ = w.settle(Slot::Failed(e.clone()));
        }
    }

    /// Adds what a connection sent and received since it was last counted
    /// to the pool's byte totals.
    pub(crate) fn count_bytes(&self, c: &mut Conn) {
        let now = (c.conn.bytes_sent(), c.conn.bytes_received());
        let m = &self.metrics;
        m.bytes_sent
            .fetch_add(now.0.saturating_sub(c.bytes_seen.0), Relaxed);
        m.bytes_received
            .fetch_add(now.1.saturating_sub(c.bytes_seen.1), Relaxed);
        c.bytes_seen = now;
    }

    /// Closes a connection and frees its slot.
    pub(crate) fn discard(&self, c: Conn, reason: CloseReason) {
        self.live.fetch_sub(1, AcqRel);
        self.close_counted(c, reason);
    }

    /// Claims one connection above `max_size` for closing: true when the
    /// pool is above it, and `live` is then already one lower, so two
    /// paths trimming at once never close more than the excess. Close the
    /// claimed connection with [`Inner::close_counted`].
    pub(crate) fn claim_excess(&self) -> bool {
        let max = self.hot.max_size.load(Relaxed);
        let mut cur = self.live.load(Acquire);
        loop {
            if cur <= max {
                return false;
            }
            match self
                .live
                .compare_exchange_weak(cur, cur - 1, AcqRel, Acquire)
            {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
    }

    /// Counts a connection out of the pool (as [`Inner::discard`] does)
    /// while its holder still has it: a pooled connection whose carried
    /// reset failed (the driver closed it) makes room for its
    /// replacement, and drops it later.
    pub(crate) fn forget(&self, c: &Conn, reason: CloseReason) {
        self.mark_returned(c);
        let m = &self.metrics;
        m.bytes_sent
            .fetch_add(c.conn.bytes_sent().saturating_sub(c.bytes_seen.0), Relaxed);
        m.bytes_received.fetch_add(
            c.conn.bytes_received().saturating_sub(c.bytes_seen.1),
            Relaxed,
        );
        m.closed(reason);
        {
            let mut reg = self.registry.lock();
            if let Some(i) = reg.iter().position(|x| x.id == c.meta.id) {
                reg.swap_remove(i);
            }
        }
        tracing::debug!(
            connection = c.meta.id,
            reason = reason.label(),
            "closing a pooled connection"
        );
        self.live.fetch_sub(1, AcqRel);
        self.total.fetch_sub(1, AcqRel);
        self.wake_supervisor.notify_one();
        self.returned.notify_waiters();
        self.notify_shared();
    }

    /// Closes a connection whose `live` count was already taken off.
    pub(crate) fn close_counted(&self, c: Conn, reason: CloseReason) {
        let mut c = c;
        self.count_bytes(&mut c);
        self.metrics.closed(reason);
        {
            let mut reg = self.registry.lock();
            if let Some(i) = reg.iter().position(|m| m.id == c.meta.id) {
                reg.swap_remove(i);
            }
        }
        tracing::debug!(
            connection = c.meta.id,
            reason = reason.label(),
            "closing a pooled connection"
        );
        drop(c);
        self.total.fetch_sub(1, AcqRel);
        self.wake_supervisor.notify_one();
        self.returned.notify_waiters();
        self.notify_shared();
    }

    /// Adds a freshly opened connection (its reservation becomes its slot).
    pub(crate) fn adopt(&self, conn: tusk::Connection, res: Reservation<'_>) -> Conn {
        let mut res = res;
        res.0 = None;
        let (lifetime, jitter) = {
            let c = self.cfg.read();
            (c.max_lifetime, c.max_lifetime_jitter)
        };
        let now = Instant::now();
        let expires = lifetime.map(|l| {
            let j = crate::backoff::jitter_between(Duration::ZERO, jitter.min(l / 2));
            now + l.saturating_sub(j)
        });
        let meta = Arc::new(ConnMeta {
            id: self.next_id.fetch_add(1, Relaxed),
            cancel: conn.owner_cancel_token(),
            acquired_at: AtomicU64::new(0),
            leak_reported: AtomicBool::new(false),
            site: Mutex::new(None),
            streams: AtomicUsize::new(0),
            streams_done: Notify::new(),
        });
        self.registry.lock().push(meta.clone());
        self.live.fetch_add(1, AcqRel);
        self.metrics.created.fetch_add(1, Relaxed);
        Conn {
            conn: Arc::new(conn),
            meta,
            expires,
            last_used: now,
            generation: self.generation.load(Acquire),
            sticky: Dirty::default(),
            bytes_seen: (0, 0),
            sent_at_checkout: 0,
        }
    }

    /// Opens a connection through the breaker, with the credentials
    /// provider's current password.
    pub(crate) async fn open(&self, res: Reservation<'_>) -> Result<Conn, Error> {
        let probe = ProbeGuard(self, true);
        let (mut config, creds, hot) = {
            let c = self.cfg.read();
            (
                c.connect.clone(),
                c.credentials.clone(),
                (!c.hot_statements.is_empty()).then(|| c.hot_statements.clone()),
            )
        };
        let t0 = Instant::now();
        let r = async {
            if let Some(p) = creds {
                let pw = p.password().await?;
                config.set_password(&pw);
            }
            let conn = tusk::connect_with(&config).await?;
            if let Some(hot) = hot {
                crate::hot::warm(&conn, &hot).await;
            }
            Ok::<_, Error>(conn)
        }
        .await;
        let mut probe = probe;
        probe.1 = false;
        match r {
            Ok(conn) => {
                self.metrics.setup.record(t0.elapsed());
                self.breaker.lock().success();
                let c = self.adopt(conn, res);
                if self.is_closed() {
                    // `close` ran while this connect was in progress: it
                    // must not outlive the pool.
                    self.discard(c, CloseReason::Shutdown);
                    return Err(self.closed_error());
                }
                Ok(c)
            }
            Err(e) => {
                self.metrics.connect_errors.fetch_add(1, Relaxed);
                let overload = crate::policy::classify(&e) == crate::policy::Action::OpenBreaker;
                self.breaker
                    .lock()
                    .failure(Instant::now(), overload, e.to_string());
                Err(e)
            }
        }
    }

    /// May a new connection be opened now (breaker closed or half-open probe)?
    pub(crate) fn breaker_allows(&self) -> bool {
        self.breaker.lock().try_begin(Instant::now())
    }

    pub(crate) fn in_use(&self) -> usize {
        self.live
            .load(Acquire)
            .saturating_sub(self.idle.load(Acquire))
    }
}

/// Releases a half-open probe whose connect future was dropped.
struct ProbeGuard<'a>(&'a Inner, bool);

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.breaker.lock().abandon();
        }
    }
}
