//! `Pool::transaction`: a closure run in a transaction, committed on `Ok`,
//! rolled back on `Err`, panic or drop, and retried on serialization
//! failures and deadlocks (40001, 40P01) with jittered backoff (pgx #1040
//! declined to build this in; dbos PR #426 retries the same two codes).
//!
//! The closure is an async closure (`async |tx| { ... }`), so its future
//! may borrow both the transaction and the caller's variables: the
//! `|tx| Box::pin(async move { .. })` dance and its "borrowed data escapes"
//! errors (the common complaint with sqlx's and deadpool's transaction
//! helpers) are not needed.

use std::panic::Location;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tusk::{Error, IsolationLevel, TransactionOptions};

use crate::backoff::Backoff;
use crate::policy::{self, Action};
use crate::pooled::PooledTransaction;
use crate::Pool;

/// Options for [`Pool::transaction`].
///
/// ```
/// use tusk_pool::PooledTransactionOptions;
/// let o = PooledTransactionOptions::new().serializable().read_only().attempts(5);
/// assert_eq!(o.max_attempts, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PooledTransactionOptions {
    /// Isolation level (server default when `None`).
    pub isolation: Option<IsolationLevel>,
    /// READ ONLY / READ WRITE.
    pub read_only: Option<bool>,
    /// DEFERRABLE (with SERIALIZABLE READ ONLY).
    pub deferrable: Option<bool>,
    /// Attempts in all, the first included, when the transaction fails with
    /// 40001 or 40P01 (or its connection is found dead at BEGIN). Default 3.
    pub max_attempts: u32,
    /// First backoff between attempts. Default 5 ms.
    pub backoff_min: Duration,
    /// Longest backoff between attempts. Default 250 ms.
    pub backoff_max: Duration,
}

impl Default for PooledTransactionOptions {
    fn default() -> Self {
        PooledTransactionOptions {
            isolation: None,
            read_only: None,
            deferrable: None,
            max_attempts: 3,
            backoff_min: Duration::from_millis(5),
            backoff_max: Duration::from_millis(250),
        }
    }
}

impl PooledTransactionOptions {
    /// The defaults.
    pub fn new() -> PooledTransactionOptions {
        PooledTransactionOptions::default()
    }

    /// Sets the isolation level.
    pub fn isolation(mut self, level: IsolationLevel) -> Self {
        self.isolation = Some(level);
        self
    }

    /// SERIALIZABLE.
    pub fn serializable(self) -> Self {
        self.isolation(IsolationLevel::Serializable)
    }

    /// READ ONLY.
    pub fn read_only(mut self) -> Self {
        self.read_only = Some(true);
        self
    }

    /// DEFERRABLE.
    pub fn deferrable(mut self) -> Self {
        self.deferrable = Some(true);
        self
    }

    /// Sets the number of attempts (at least 1).
    pub fn attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    fn begin(&self) -> TransactionOptions {
        TransactionOptions {
            isolation: self.isolation,
            read_only: self.read_only,
            deferrable: self.deferrable,
        }
    }
}

impl Pool {
    /// Runs `f` in a transaction on a connection of its own: commits when
    /// it returns `Ok`, rolls back when it returns `Err`, panics or is
    /// dropped. A serialization failure or deadlock (40001, 40P01), from
    /// `f` or from COMMIT, rolls back and runs `f` again after a jittered
    /// backoff, up to `opts.max_attempts` in all; so does a connection
    /// found dead at BEGIN (nothing was sent). Any other error is returned
    /// as it is. `f` may start savepoints with `tx.transaction()`.
    ///
    /// ```no_run
    /// # async fn f(pool: &tusk_pool::Pool) -> Result<(), tusk::Error> {
    /// use tusk::Executor;
    /// use tusk_pool::PooledTransactionOptions;
    /// let (from, to, amount) = (1i64, 2i64, 100i64);
    /// let moved = pool
    ///     .transaction(PooledTransactionOptions::new().serializable(), async |tx| {
    ///         tx.execute("UPDATE accounts SET balance = balance - $1 WHERE id = $2", &[&amount, &from]).await?;
    ///         tx.execute("UPDATE accounts SET balance = balance + $1 WHERE id = $2", &[&amount, &to]).await?;
    ///         Ok(amount)
    ///     })
    ///     .await?;
    /// # let _ = moved; Ok(()) }
    /// ```
    #[track_caller]
    pub fn transaction<'p, T, F>(
        &'p self,
        opts: PooledTransactionOptions,
        f: F,
    ) -> impl std::future::Future<Output = Result<T, Error>> + 'p
    where
        F: AsyncFnMut(&mut PooledTransaction<'_>) -> Result<T, Error> + 'p,
        T: 'p,
    {
        let location = Location::caller();
        self.transaction_at(opts, f, location)
    }

    async fn transaction_at<T, F>(
        &self,
        opts: PooledTransactionOptions,
        mut f: F,
        location: &'static Location<'static>,
    ) -> Result<T, Error>
    where
        F: AsyncFnMut(&mut PooledTransaction<'_>) -> Result<T, Error>,
    {
        let metrics = &self.inner.metrics;
        let mut backoff = Backoff::new(opts.backoff_min, opts.backoff_max);
        let attempts = opts.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= attempts;
            let mut conn = self.acquire_at(location).await?;
            let mut tx = match conn.transaction_with(opts.begin()).await {
                Ok(tx) => tx,
                Err(e) => {
                    // Dead before anything of ours ran: safe to retry.
                    if !last && policy::classify(&e) == Action::Evict {
                        metrics.retries.fetch_add(1, Relaxed);
                        continue;
                    }
                    return Err(e);
                }
            };
            let e = match f(&mut tx).await {
                Ok(v) => match tx.commit().await {
                    Ok(()) => {
                        metrics.commits.fetch_add(1, Relaxed);
                        return Ok(v);
                    }
                    Err(e) => {
                        metrics.rollbacks.fetch_add(1, Relaxed);
                        e
                    }
                },
                Err(e) => {
                    let _ = tx.rollback().await;
                    metrics.rollbacks.fetch_add(1, Relaxed);
                    e
                }
            };
            if last || !policy::is_retryable_tx(&e) {
                return Err(e);
            }
            metrics.retries.fetch_add(1, Relaxed);
            drop(conn);
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }
}
