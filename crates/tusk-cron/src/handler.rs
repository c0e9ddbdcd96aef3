//! Jobs written in Rust: a name registered with a function.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tusk_pool::Pool;

/// What a handler returns on failure: any error; its Display goes into
/// the run's `message`.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// A handler's future.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>;

type HandlerFn = Arc<dyn Fn(RunContext) -> HandlerFuture + Send + Sync>;

/// What a handler is told about its run.
#[derive(Clone)]
pub struct RunContext {
    /// The run's id.
    pub run_id: i64,
    /// The job's name.
    pub job: String,
    /// The fire time this run stands for (an idempotency key).
    pub scheduled_at: DateTime<Utc>,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: i32,
    /// The fencing token of this claim: pass it to systems that can
    /// refuse a stale writer (a worker whose lease expired keeps running
    /// until it notices; writes carrying an older token can be refused).
    pub fence: i64,
    /// The worker's pool, for the handler's queries.
    pub pool: Pool,
}

impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("run_id", &self.run_id)
            .field("job", &self.job)
            .field("scheduled_at", &self.scheduled_at)
            .field("attempt", &self.attempt)
            .field("fence", &self.fence)
            .finish_non_exhaustive()
    }
}

/// The handlers a worker can run, by name. A worker claims runs of
/// handler jobs only for the names it has.
///
/// A handler's own effects are not part of the run's record: if its
/// worker dies mid-run, another worker runs it again after the lease
/// expires (at least once, keyed by [`RunContext::scheduled_at`]); SQL
/// jobs are exactly once.
///
/// ```
/// let mut handlers = tusk_cron::Handlers::new();
/// handlers.register("send-digest", |ctx| async move {
///     println!("digest for {}", ctx.scheduled_at);
///     Ok(())
/// });
/// assert!(handlers.contains("send-digest"));
/// ```
#[derive(Clone, Default)]
pub struct Handlers {
    map: HashMap<String, HandlerFn>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

impl Handlers {
    /// No handlers.
    pub fn new() -> Handlers {
        Handlers::default()
    }

    /// Registers `f` under `name` (replacing an earlier one).
    pub fn register<F, Fut>(&mut self, name: &str, f: F) -> &mut Handlers
    where
        F: Fn(RunContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        self.map
            .insert(name.to_owned(), Arc::new(move |ctx| Box::pin(f(ctx))));
        self
    }

    /// True when `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The registered names.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.map.keys().cloned().collect();
        v.sort();
        v
    }

    pub(crate) fn get(&self, name: &str) -> Option<HandlerFn> {
        self.map.get(name).cloned()
    }
}
