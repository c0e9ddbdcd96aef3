//! [`Worker`]: claims due runs and runs them. Start as many as you like,
//! in as many processes as you like: they share the work through the run
//! table.

mod claim;
mod exec;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::error::CronError;
use crate::handler::Handlers;
use crate::metrics::{inc, Counters, CronStats};
use crate::options::WorkerOptions;
use crate::scheduler::Scheduler;

pub(crate) use exec::needs_no_transaction;

pub(crate) struct Inner {
    pub sched: Scheduler,
    pub opts: WorkerOptions,
    pub handlers: Handlers,
    pub handler_names: Vec<String>,
    pub counters: Arc<Counters>,
}

/// A cron worker. Each loop: turn due fire times into runs (one worker
/// per job, `SKIP LOCKED`), claim due runs up to
/// [`WorkerOptions::concurrency`] (`FOR UPDATE SKIP LOCKED`, a lease with
/// a fencing token), run them with heartbeats, then sleep until the next
/// thing is due, a NOTIFY, or [`WorkerOptions::poll_interval`].
///
/// ```no_run
/// use tusk_cron::{Handlers, JobSpec, Options, Scheduler, Worker, WorkerOptions};
///
/// # async fn run() -> Result<(), tusk_cron::CronError> {
/// let pool = tusk_pool::Pool::new(tusk_pool::PoolConfig::from_url("postgresql://app@localhost/app")?)?;
/// let cron = Scheduler::new(pool, &Options::default());
/// cron.install().await?;
/// cron.put(&JobSpec::sql("expire-sessions", "*/5 * * * *", "DELETE FROM sessions WHERE expires_at < now()")).await?;
///
/// let mut handlers = Handlers::new();
/// handlers.register("digest", |ctx| async move { println!("{}", ctx.scheduled_at); Ok(()) });
/// cron.put(&JobSpec::handler("daily-digest", "0 8 * * *", "digest").timezone("Europe/Berlin")).await?;
///
/// let worker = Worker::new(cron, WorkerOptions::default(), handlers).spawn();
/// // ... until the application stops:
/// println!("{}", worker.stats().prometheus(worker.name()));
/// worker.stop().await?;
/// # Ok(()) }
/// ```
pub struct Worker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.inner.opts.name)
            .field("handlers", &self.inner.handlers)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker on `scheduler`'s tables, able to run SQL jobs and the
    /// handler jobs of `handlers`.
    ///
    /// A run holds a connection of the pool (an SQL run for its whole
    /// length) and its heartbeats need another now and then, as do claims:
    /// the concurrency is capped at `(max_size - 1) / 2` of the pool (at
    /// least 1), so that leases never lapse for want of a connection.
    pub fn new(scheduler: Scheduler, mut options: WorkerOptions, handlers: Handlers) -> Worker {
        let cap = (scheduler.pool.config().max_size.saturating_sub(1) / 2).max(1);
        if options.concurrency > cap {
            tracing::warn!(
                concurrency = options.concurrency,
                cap,
                "tusk-cron: concurrency capped by the pool's max_size (a run and its heartbeats need two connections)"
            );
            options.concurrency = cap;
        }
        let handler_names = handlers.names();
        Worker {
            inner: Arc::new(Inner {
                sched: scheduler,
                opts: options,
                handlers,
                handler_names,
                counters: Arc::default(),
            }),
        }
    }

    /// Its name (in the run history's `worker` column).
    pub fn name(&self) -> &str {
        &self.inner.opts.name
    }

    /// Its counters.
    pub fn stats(&self) -> CronStats {
        self.inner.counters.snapshot()
    }

    /// Runs until `shutdown` resolves, then waits for the runs in progress
    /// to end. Fails at once if the tables are not installed; database
    /// errors later are counted, logged and retried.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), CronError> {
        let inner = self.inner;
        inner.sched.names.validate()?;
        inner.next_wake(false).await?;
        let mut subscription = None;
        let mut _listener = None;
        if inner.opts.listen {
            match listen(&inner).await {
                Ok((l, s)) => {
                    _listener = Some(l);
                    subscription = Some(s);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "tusk-cron: cannot LISTEN; polling every {:?}", inner.opts.poll_interval)
                }
            }
        }
        tokio::pin!(shutdown);
        let mut tasks: JoinSet<()> = JoinSet::new();
        let mut next_prune = Instant::now();
        loop {
            inc(&inner.counters.loops);
            while tasks.try_join_next().is_some() {}
            let mut failed = false;
            if let Err(e) = inner.tick().await {
                inc(&inner.counters.errors);
                tracing::warn!(error = %e, "tusk-cron: tick failed");
                failed = true;
            }
            while tasks.len() < inner.opts.concurrency.max(1) {
                match inner.claim(None).await {
                    Ok(Some(c)) => {
                        tasks.spawn(Arc::clone(&inner).execute(c));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        inc(&inner.counters.errors);
                        tracing::warn!(error = %e, "tusk-cron: claim failed");
                        failed = true;
                        break;
                    }
                }
            }
            if let Some(keep) = inner.opts.retention {
                if Instant::now() >= next_prune {
                    next_prune = Instant::now() + inner.opts.prune_interval;
                    if let Err(e) = inner.sched.prune(keep).await {
                        inc(&inner.counters.errors);
                        tracing::warn!(error = %e, "tusk-cron: pruning the history failed");
                    }
                }
            }
            let free = tasks.len() < inner.opts.concurrency.max(1);
            let wait = match inner.next_wake(free).await {
                Ok(Some(s)) if s.is_finite() => Duration::from_secs_f64(s.max(0.0)),
                Ok(_) => inner.opts.poll_interval,
                Err(e) => {
                    inc(&inner.counters.errors);
                    tracing::warn!(error = %e, "tusk-cron: reading the next due time failed");
                    failed = true;
                    inner.opts.poll_interval
                }
            };
            let floor = if failed {
                Duration::from_secs(1)
            } else {
                Duration::from_millis(20)
            };
            let wait = wait.clamp(floor, inner.opts.poll_interval.max(floor));
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(wait) => {}
                Some(_) = recv(&mut subscription) => inc(&inner.counters.notifications),
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        Ok(())
    }

    /// Queues a run of the job `name` and runs it here and now (the
    /// `tusk cron run` command): the run goes through the table like any
    /// other (claimed with a lease, fenced, retried by the workers if it
    /// fails and the job has retries left). Returns the run as it ended;
    /// a run that cannot start here (an overlap policy holds it, or the
    /// handler is not registered in this worker) is returned pending, for
    /// the workers.
    pub async fn run_now(&self, name: &str) -> Result<crate::job::Run, CronError> {
        let id = self.inner.sched.trigger(name).await?;
        if let Some(c) = self.inner.claim(Some(id)).await? {
            Arc::clone(&self.inner).execute(c).await;
        }
        self.inner
            .sched
            .run(id)
            .await?
            .ok_or(CronError::UnknownJob { name: name.into() })
    }

    /// Runs the worker in a task of its own; see [`Worker::run`].
    pub fn spawn(self) -> WorkerHandle {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let counters = Arc::clone(&self.inner.counters);
        let name = self.inner.opts.name.clone();
        let join = tokio::spawn(self.run(async move {
            let _ = rx.await;
        }));
        WorkerHandle {
            stop: Some(tx),
            join,
            counters,
            name,
        }
    }
}

async fn listen(
    inner: &Inner,
) -> Result<(tusk_listen::Listener, tusk_listen::Subscription), tusk::Error> {
    let config = inner.sched.pool.config().connect;
    let listener = tusk_listen::Listener::builder_with_config(config)
        .connect()
        .await?;
    let sub = listener.listen(&inner.sched.names.channel).await?;
    Ok((listener, sub))
}

async fn recv(s: &mut Option<tusk_listen::Subscription>) -> Option<()> {
    match s {
        Some(s) => s.recv().await.map(|_| ()),
        None => std::future::pending().await,
    }
}

/// A worker running in a task: its counters, and a way to stop it.
#[derive(Debug)]
pub struct WorkerHandle {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    join: tokio::task::JoinHandle<Result<(), CronError>>,
    counters: Arc<Counters>,
    name: String,
}

impl WorkerHandle {
    /// The worker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its counters.
    pub fn stats(&self) -> CronStats {
        self.counters.snapshot()
    }

    /// True once the worker has ended (stopped, or failed at start).
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }

    /// Stops claiming, waits for the runs in progress, returns how the
    /// worker ended.
    pub async fn stop(mut self) -> Result<(), CronError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match (&mut self.join).await {
            Ok(r) => r,
            Err(e) => Err(CronError::Invalid(format!("the worker task failed: {e}"))),
        }
    }

    /// Stops at once: the task is dropped mid-run. Its runs' leases
    /// expire and other workers take them over (SQL commands roll back).
    pub fn abort(self) {
        self.join.abort();
    }
}
