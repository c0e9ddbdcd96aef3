//! The public `Pool` handle.

use std::panic::Location;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tusk::{Error, Executor};

use crate::acquire;
use crate::config::{ConfigWarning, PoolConfig};
use crate::health::{self, Health};
use crate::inner::Inner;
use crate::leak::LeakReport;
use crate::metrics::{CloseReason, Gauges, PoolStats};
use crate::pooled::PooledConnection;
use crate::reset::Dirty;

/// A pool of PostgreSQL connections. Cheap to clone (one `Arc`); the pool
/// closes when the last clone is dropped (or at [`close`](Pool::close)).
///
/// Use it directly as a [`tusk::Executor`] (`pool.query(..)`: one
/// statement per checkout, on a connection of its own unless
/// [`PoolConfig::share_connections`] is on), [`acquire`](Pool::acquire) a
/// connection of one's own, or run a [`transaction`](Pool::transaction)
/// with retries.
///
/// A pool is not a [`tusk::Prepare`]: a prepared statement lives on one
/// server connection, so prepare it on an acquired one, or pass the SQL
/// text (each connection's statement cache prepares it once). Asking a
/// pool to prepare does not compile:
///
/// ```compile_fail
/// use tusk::Prepare;
/// async fn f(pool: &tusk_pool::Pool) {
///     let _ = pool.prepare("SELECT 1").await;
/// }
/// ```
///
/// ```no_run
/// use tusk::Prepare;
/// async fn f(pool: &tusk_pool::Pool) -> Result<(), tusk::Error> {
///     let conn = pool.acquire().await?;
///     let _stmt = conn.prepare("SELECT 1").await?;
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct Pool {
    pub(crate) inner: Arc<Inner>,
    _handle: Arc<Handle>,
}

/// Closes the pool when the last `Pool` clone goes.
struct Handle(Arc<Inner>);

impl Drop for Handle {
    fn drop(&mut self) {
        shutdown_now(&self.0);
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.inner.cfg.read().name)
            .field("size", &self.inner.live.load(Relaxed))
            .field("idle", &self.inner.idle.load(Relaxed))
            .finish()
    }
}

/// Refuses new acquires, fails the waiters, closes the idle connections.
fn shutdown_now(inner: &Arc<Inner>) {
    if inner.closed.swap(true, AcqRel) {
        return;
    }
    inner.fail_waiters(&inner.closed_error());
    while let Some(c) = inner.take_idle() {
        inner.discard(c, CloseReason::Shutdown);
    }
    inner.wake_supervisor.notify_one();
    inner.shared_changed.notify_waiters();
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quote_literal(s: &str) -> String {
    format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

impl Pool {
    /// Creates a pool. Connections open on demand (and `min_idle` of them
    /// in the background); nothing is awaited here. Must be called inside
    /// a tokio runtime: the pool's supervisor is a tokio task.
    ///
    /// The config is validated first: values out of range are corrected
    /// and logged (see [`PoolConfig::validate`]; [`Pool::config`] gives the
    /// config applied, [`Pool::new_with_warnings`] the warnings too).
    pub fn new(config: PoolConfig) -> Result<Pool, Error> {
        Ok(Pool::new_with_warnings(config)?.0)
    }

    /// [`Pool::new`], also returning the corrections validation made.
    pub fn new_with_warnings(config: PoolConfig) -> Result<(Pool, Vec<ConfigWarning>), Error> {
        let (config, warnings) = config.normalized();
        let inner = Arc::new(Inner::new(config));
        crate::supervisor::spawn(&inner)?;
        let pool = Pool {
            _handle: Arc::new(Handle(inner.clone())),
            inner,
        };
        Ok((pool, warnings))
    }

    /// Creates a pool for a connection string (URL or `key=value`, `PG*`
    /// environment for what it leaves unset) with the default settings,
    /// and checks that a connection can be made.
    pub async fn connect(url: &str) -> Result<Pool, Error> {
        let pool = Pool::new(PoolConfig::from_url(url)?)?;
        drop(pool.acquire().await?);
        Ok(pool)
    }

    /// Takes a connection of one's own: idle from the caller's shard, else
    /// stolen from another shard, else newly opened below `max_size`, else
    /// the first one returned to the FIFO queue of waiters. No network I/O
    /// unless the connection sat idle past `idle_check_threshold` (one
    /// empty query) or a new one is opened. Fails with
    /// [`ErrorKind::PoolExhausted`](tusk::ErrorKind::PoolExhausted) after
    /// `acquire_timeout`. The caller's location is recorded for leak reports.
    #[track_caller]
    pub fn acquire(
        &self,
    ) -> impl std::future::Future<Output = Result<PooledConnection, Error>> + Send + '_ {
        self.acquire_at(Location::caller())
    }

    pub(crate) async fn acquire_at(
        &self,
        location: &'static Location<'static>,
    ) -> Result<PooledConnection, Error> {
        let c = acquire::acquire(&self.inner, location).await?;
        Ok(PooledConnection::new(self.inner.clone(), c, location))
    }

    /// Takes a connection and switches it to `role` (`SET ROLE`) with
    /// session `settings` (`set_config(name, value, false)`), in one round
    /// trip, on a connection reset like any other (nothing of the previous
    /// holder's). On return, the role and every setting are reset before
    /// anyone else gets the connection.
    ///
    /// ```no_run
    /// # async fn f(pool: &tusk_pool::Pool) -> Result<(), tusk::Error> {
    /// use tusk::Executor;
    /// let conn = pool.acquire_as("tenant_42", &[("app.tenant", "42")]).await?;
    /// let me: String = conn.query_scalar("SELECT current_user::text", &[]).await?;
    /// # let _ = me; Ok(()) }
    /// ```
    #[track_caller]
    pub fn acquire_as<'a>(
        &'a self,
        role: &'a str,
        settings: &'a [(&'a str, &'a str)],
    ) -> impl std::future::Future<Output = Result<PooledConnection, Error>> + Send + 'a {
        let location = Location::caller();
        async move {
            let conn = self.acquire_at(location).await?;
            let mut sql = format!("SET ROLE {}", quote_ident(role));
            for (k, v) in settings {
                sql.push_str(&format!(
                    "; SELECT set_config({}, {}, false)",
                    quote_literal(k),
                    quote_literal(v)
                ));
            }
            conn.state.mark(Dirty::SETTINGS);
            conn.simple_query(&sql).await?;
            Ok(conn)
        }
    }

    /// A snapshot of gauges, counters and latency histograms.
    pub fn stats(&self) -> PoolStats {
        let i = &self.inner;
        let (breaker, opened) = {
            let b = i.breaker.lock();
            (b.state(Instant::now()), b.opened_total)
        };
        let cfg = i.cfg.read();
        i.metrics.snapshot(
            Gauges {
                name: cfg.name.clone(),
                size: i.live.load(Acquire),
                idle: i.idle.load(Acquire),
                in_use: i.in_use(),
                waiting: i.waiting.load(Acquire) + i.shared_waiting.load(Acquire),
                min_idle: cfg.min_idle,
                max_size: cfg.max_size,
            },
            breaker,
            opened,
        )
    }

    /// The metrics in Prometheus text exposition format (see
    /// [`PoolStats::to_prometheus`] for the names).
    pub fn metrics_prometheus(&self) -> String {
        self.stats().to_prometheus()
    }

    /// Ok, degraded or down, with the reasons.
    pub fn health(&self) -> Health {
        health::health(&self.inner)
    }

    /// The most recent leak reports (up to 64).
    pub fn leaks(&self) -> Vec<LeakReport> {
        self.inner.leaks.lock().iter().cloned().collect()
    }

    /// The configuration in force.
    pub fn config(&self) -> PoolConfig {
        self.inner.cfg.read().clone()
    }

    /// Applies a new configuration live and returns the config applied
    /// with the corrections validation made ([`PoolConfig::validate`]).
    ///
    /// - Live, at once: sizes (`max_size`, `min_idle`; idle connections
    ///   above a smaller `max_size` close), timeouts and thresholds, the
    ///   reset policy, the pipeline depth, the credentials provider, the
    ///   name.
    /// - Recycled gracefully when `connect` changed (host, port, database,
    ///   user, password, TLS, any connection option) or `hot_statements`
    ///   did: idle connections close at once, busy ones when they come
    ///   back (nothing in use is cut off), and new ones open with the new
    ///   settings.
    /// - Kept: the shard count and the breaker's settings keep their first
    ///   values (the applied config says so).
    pub fn reconfigure(&self, config: PoolConfig) -> (PoolConfig, Vec<ConfigWarning>) {
        let (mut config, warnings) = config.normalized();
        let recycle = {
            let old = self.inner.cfg.read();
            config.shards = old.shards;
            config.breaker_threshold = old.breaker_threshold;
            config.reconnect_backoff_min = old.reconnect_backoff_min;
            config.reconnect_backoff_max = old.reconnect_backoff_max;
            old.connect != config.connect || old.hot_statements != config.hot_statements
        };
        self.inner.hot.apply(&config);
        *self.inner.cfg.write() = config.clone();
        if recycle {
            self.inner.generation.fetch_add(1, AcqRel);
            self.retire_idle();
        }
        self.inner.wake_supervisor.notify_one();
        self.inner.notify_shared();
        (config, warnings)
    }

    /// Closes the idle connections of older generations now (the
    /// supervisor would at its next look; doing it here means the next
    /// acquire already opens a connection with the new settings).
    fn retire_idle(&self) {
        let generation = self.inner.generation.load(Acquire);
        let mut old = Vec::new();
        for shard in self.inner.shards.iter() {
            let mut s = shard.lock();
            let mut i = 0;
            while i < s.len() {
                if s[i].generation < generation {
                    if let Some(c) = s.remove(i) {
                        self.inner.idle.fetch_sub(1, AcqRel);
                        old.push(c);
                    }
                } else {
                    i += 1;
                }
            }
        }
        for c in old {
            self.inner.discard(c, CloseReason::Reconfigured);
        }
    }

    /// Retires every connection: idle ones close now, busy ones when they
    /// come back; new ones are opened as needed (after a failover, this
    /// re-resolves the primary through `target_session_attrs`).
    pub fn retire_all(&self) {
        self.inner.generation.fetch_add(1, AcqRel);
        self.inner.wake_supervisor.notify_one();
    }

    /// True once [`close`](Pool::close) was called or the last clone dropped.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Graceful shutdown: refuses new acquires at once (they fail with
    /// [`ErrorKind::Closed`](tusk::ErrorKind::Closed)), closes idle
    /// connections, waits up to `grace` for connections in use to come
    /// back, then cancels their running queries and waits a little more
    /// for them. Returns how many were still out when it gave up waiting.
    pub async fn close(&self, grace: Duration) -> usize {
        let inner = &self.inner;
        shutdown_now(inner);
        if wait_returned(inner, Instant::now() + grace).await {
            return 0;
        }
        let out: Vec<_> = inner
            .registry
            .lock()
            .iter()
            .filter(|m| m.acquired_at.load(Relaxed) != 0)
            .map(|m| m.cancel.clone())
            .collect();
        tracing::warn!(
            pool = %inner.cfg.read().name,
            in_use = out.len(),
            "close: connections still in use after the grace period; canceling their queries"
        );
        for token in out {
            let _ = tokio::time::timeout(Duration::from_secs(2), token.cancel()).await;
        }
        wait_returned(inner, Instant::now() + Duration::from_secs(2)).await;
        inner.live.load(Acquire)
    }
}

/// Waits until no connection is open; false at the deadline.
async fn wait_returned(inner: &Inner, deadline: Instant) -> bool {
    loop {
        let notified = inner.returned.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if inner.live.load(Acquire) == 0 {
            return true;
        }
        if tokio::time::timeout_at(deadline.into(), notified)
            .await
            .is_err()
        {
            return inner.live.load(Acquire) == 0;
        }
    }
}
