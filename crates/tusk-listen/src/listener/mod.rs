//! The [`Listener`]: its dedicated connection, the reader task that routes
//! notifications to subscriptions, reconnection and keepalive.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::mpsc;
use tusk::{Connection, Error, ErrorKind, Executor, Notification};

use crate::envelope::{self, Parsed};
use crate::outbox::Outbox;
use crate::queue::{Event, Message, Overflow, Slot, Subscription};
use crate::stats::{Counters, ListenerStats};
use crate::topic::{quote_ident, Pattern};

mod reader;
use reader::run;

/// Where the listener connects.
#[derive(Clone)]
enum Target {
    Url(String),
    Config(Box<tusk::Config>),
}

impl Target {
    async fn connect(&self) -> Result<Connection, Error> {
        match self {
            Target::Url(u) => tusk::connect(u).await,
            Target::Config(c) => tusk::connect_with(c).await,
        }
    }
}

/// How a [`Listener`] behaves; made with [`Listener::builder`].
#[derive(Clone)]
pub struct ListenerBuilder {
    target: Target,
    capacity: usize,
    overflow: Overflow,
    keepalive: Duration,
    keepalive_timeout: Duration,
    backoff_min: Duration,
    backoff_max: Duration,
    outbox: Outbox,
}

impl std::fmt::Debug for ListenerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerBuilder")
            .field("capacity", &self.capacity)
            .field("overflow", &self.overflow)
            .field("keepalive", &self.keepalive)
            .field("keepalive_timeout", &self.keepalive_timeout)
            .field("backoff_min", &self.backoff_min)
            .field("backoff_max", &self.backoff_max)
            .field("outbox", &self.outbox)
            .finish()
    }
}

impl ListenerBuilder {
    /// Each subscription's queue holds this many notifications (default
    /// 10,000); what happens past it is [`overflow`](Self::overflow)'s.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.capacity = n.max(1);
        self
    }

    /// What a full subscription queue does (default [`Overflow::DropNewest`]).
    pub fn overflow(mut self, policy: Overflow) -> Self {
        self.overflow = policy;
        self
    }

    /// How often the idle connection is checked with a cheap query
    /// (`SELECT pg_notification_queue_usage()`, which also feeds
    /// [`ListenerStats::server_queue_usage`]); default 15 s. A check not
    /// answered within [`keepalive_timeout`](Self::keepalive_timeout)
    /// (default 10 s) declares the connection dead: the listener
    /// reconnects. This notices a server that went away without closing
    /// the socket (a crashed host, a black-holed network), which a
    /// notification wait alone never would.
    pub fn keepalive(mut self, every: Duration) -> Self {
        self.keepalive = every.max(Duration::from_millis(10));
        self
    }

    /// How long a keepalive check, and each reconnect attempt, may take
    /// (default 10 s).
    pub fn keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.keepalive_timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// The reconnect delays: the first retry after `min` (default 100 ms),
    /// doubling up to `max` (default 10 s), each with up to 25% jitter.
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        // (At least 1 ms: a zero delay would retry in a busy loop.)
        self.backoff_min = min.max(Duration::from_millis(1));
        self.backoff_max = max.max(self.backoff_min);
        self
    }

    /// The outbox spilled payloads are read from (default: the table
    /// `tusk_notify_outbox` found on the connection's `search_path`).
    pub fn outbox(mut self, outbox: Outbox) -> Self {
        self.outbox = outbox;
        self
    }

    /// Connects the listener's own connection and starts its reader task
    /// (on the current tokio runtime). Fails when the first connection
    /// fails; later losses are reconnected.
    pub async fn connect(self) -> Result<Listener, Error> {
        Listener::start(self).await
    }
}

/// Commands to the reader task.
enum Command {
    /// A subscription was dropped.
    Unsubscribe(u64),
    Shutdown,
}

#[derive(Default)]
struct Registry {
    /// Subscriptions by channel; a channel is `LISTEN`ed while it has any.
    /// (Keys are shared with every [`Message`] of the channel: no
    /// allocation per notification for its name.)
    channels: HashMap<Arc<str>, Vec<Arc<Slot>>>,
    next_id: u64,
}

impl Registry {
    fn slots(&self) -> impl Iterator<Item = &Arc<Slot>> {
        self.channels.values().flatten()
    }
}

pub(crate) struct Inner {
    target: Target,
    cfg: ListenerBuilder,
    registry: Mutex<Registry>,
    /// The current connection (none while reconnecting).
    conn: Mutex<Option<Arc<Connection>>>,
    /// Held across every LISTEN/UNLISTEN and the re-LISTEN after a
    /// reconnect, so they reach the server in the order the registry
    /// changed.
    listen_lock: tokio::sync::Mutex<()>,
    pub(crate) counters: Counters,
    generation: AtomicU64,
    closed: AtomicBool,
    cmd: mpsc::UnboundedSender<Command>,
    pub(crate) queue_usage: Mutex<Option<f64>>,
}

/// A LISTEN/NOTIFY dispatcher on a dedicated connection. See the crate
/// docs for the topic convention and an example.
///
/// Cheap to share: put it in an `Arc`, or keep it where the application's
/// state lives; every method takes `&self`. Dropping it (or
/// [`close`](Listener::close)) ends every subscription (after what is
/// queued) and closes the connection with a Terminate.
pub struct Listener {
    inner: Arc<Inner>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("stats", &self.stats())
            .finish()
    }
}

/// A handler registered with [`Listener::on`]: a task draining a
/// subscription. Dropping it (or [`stop`](Handler::stop)) unsubscribes
/// and stops the task, so keep it as long as the handler should run.
#[must_use = "dropping a Handler unsubscribes it at once"]
#[derive(Debug)]
pub struct Handler {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Handler {
    /// Stops the handler now (the event it is handling is abandoned) and
    /// unsubscribes.
    pub fn stop(self) {}

    /// Lets the handler run as long as the listener does, without a
    /// handle to keep.
    pub fn detach(mut self) {
        // Dropping a JoinHandle detaches its task.
        drop(self.task.take());
    }

    /// Waits until the handler's task ends (the listener closed, or the
    /// handler panicked).
    pub async fn join(mut self) {
        if let Some(task) = self.task.as_mut() {
            let _ = task.await;
        }
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl Listener {
    /// A listener on `url` (a `postgresql://` URL or `key=value` string,
    /// as [`tusk::connect`] takes) with the default settings; tune them on
    /// the builder, then [`connect`](ListenerBuilder::connect).
    pub fn builder(url: &str) -> ListenerBuilder {
        Self::builder_for(Target::Url(url.to_owned()))
    }

    /// A listener connecting with `config`.
    pub fn builder_with_config(config: tusk::Config) -> ListenerBuilder {
        Self::builder_for(Target::Config(Box::new(config)))
    }

    fn builder_for(target: Target) -> ListenerBuilder {
        ListenerBuilder {
            target,
            capacity: 10_000,
            overflow: Overflow::default(),
            keepalive: Duration::from_secs(15),
            keepalive_timeout: Duration::from_secs(10),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            outbox: Outbox::default(),
        }
    }

    /// Connects a listener with the default settings.
    pub async fn connect(url: &str) -> Result<Listener, Error> {
        Self::builder(url).connect().await
    }

    async fn start(cfg: ListenerBuilder) -> Result<Listener, Error> {
        let conn = Arc::new(cfg.target.connect().await?);
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            target: cfg.target.clone(),
            cfg,
            registry: Mutex::new(Registry::default()),
            conn: Mutex::new(Some(conn.clone())),
            listen_lock: tokio::sync::Mutex::new(()),
            counters: Counters::default(),
            generation: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            cmd: tx,
            queue_usage: Mutex::new(None),
        });
        let task = tokio::spawn(run(inner.clone(), conn, rx));
        Ok(Listener {
            inner,
            task: Some(task),
        })
    }

    /// Subscribes to a topic or pattern: `orders` (the channel `orders`),
    /// `orders.created` (that topic, carried on `orders` in an envelope),
    /// `orders.*` (one segment below `orders`), `orders.**` (any depth).
    /// The channel (first segment) is `LISTEN`ed — quoted, so its case
    /// and any character are kept — before this returns, so everything
    /// committed afterwards is delivered. Many subscriptions may share a
    /// channel; each has its own queue.
    ///
    /// Errors: an invalid pattern ([`ErrorKind::Syntax`], its source an
    /// [`InvalidTopic`](crate::InvalidTopic)); the server refusing
    /// `LISTEN` (on a standby, say); a closed listener
    /// ([`ErrorKind::Closed`]). If the connection is lost meanwhile, the
    /// subscription stands: the reconnect `LISTEN`s it and sends it a
    /// [`Event::Resync`].
    pub async fn listen(&self, pattern: &str) -> Result<Subscription, Error> {
        self.listen_with(pattern, self.inner.cfg.capacity, self.inner.cfg.overflow)
            .await
    }

    /// [`listen`](Listener::listen) with a queue of its own size and
    /// overflow policy (the builder's apply to the others): a handler that
    /// must see everything of a burst gets a deep queue, a "latest state"
    /// one a short [`Overflow::DropOldest`] queue.
    pub async fn listen_with(
        &self,
        pattern: &str,
        capacity: usize,
        overflow: Overflow,
    ) -> Result<Subscription, Error> {
        let pattern = Pattern::parse(pattern).map_err(|e| e.into_error())?;
        self.inner.subscribe(pattern, capacity, overflow).await
    }

    /// Runs `handler` for every event of `pattern`, in a task of its own,
    /// one event at a time in order (an `async` closure or any function
    /// returning a future). A slow handler only fills its own queue (see
    /// [`Overflow`]): other subscriptions and the reader go on. Keep the
    /// returned [`Handler`]: dropping it unsubscribes.
    ///
    /// ```no_run
    /// # async fn f(listener: &tusk_listen::Listener) -> Result<(), tusk::Error> {
    /// use tusk_listen::Event;
    /// let handler = listener
    ///     .on("orders.*", |event| async move {
    ///         if let Event::Notify(m) = event {
    ///             println!("{}: {}", m.topic, m.payload);
    ///         }
    ///     })
    ///     .await?;
    /// # drop(handler); Ok(()) }
    /// ```
    pub async fn on<F, Fut>(&self, pattern: &str, mut handler: F) -> Result<Handler, Error>
    where
        F: FnMut(Event) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut sub = self.listen(pattern).await?;
        let task = tokio::spawn(async move {
            while let Some(ev) = sub.recv().await {
                handler(ev).await;
            }
        });
        Ok(Handler { task: Some(task) })
    }

    /// A snapshot of the counters (see [`ListenerStats`]).
    pub fn stats(&self) -> ListenerStats {
        self.inner.stats()
    }

    /// The current connection generation: 0 for the first connection, one
    /// more for each reconnect.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Relaxed)
    }

    /// The backend process id of the current connection (none while
    /// reconnecting).
    pub fn process_id(&self) -> Option<i32> {
        self.inner.conn.lock().as_ref().map(|c| c.process_id())
    }

    /// Closes the listener: every subscription ends after what is queued,
    /// and the connection is closed with a Terminate, which this waits for.
    pub async fn close(mut self) {
        self.inner.shutdown();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // The reader task closes the connection and ends the subscriptions.
        self.inner.shutdown();
    }
}
