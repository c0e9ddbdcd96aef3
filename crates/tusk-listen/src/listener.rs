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

/// The first connection error of a LISTEN/UNLISTEN that can be left to the
/// reconnect (the connection is gone), as opposed to the server refusing.
fn connection_lost(conn: &Connection, e: &Error) -> bool {
    conn.is_closed()
        || matches!(
            e.kind(),
            ErrorKind::Connection | ErrorKind::Closed | ErrorKind::Timeout
        )
}

impl Inner {
    fn shutdown(&self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            let _ = self.cmd.send(Command::Shutdown);
        }
    }

    fn current(&self) -> Option<Arc<Connection>> {
        self.conn.lock().clone()
    }

    async fn subscribe(
        self: &Arc<Self>,
        pattern: Pattern,
        capacity: usize,
        overflow: Overflow,
    ) -> Result<Subscription, Error> {
        let _order = self.listen_lock.lock().await;
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::Closed, "the listener is closed"));
        }
        let channel = pattern.channel().to_owned();
        let (slot, first) = {
            let mut reg = self.registry.lock();
            reg.next_id += 1;
            let slot = Arc::new(Slot::new(reg.next_id, pattern, capacity, overflow));
            let list = reg.channels.entry(Arc::from(channel.as_str())).or_default();
            list.push(slot.clone());
            (slot, list.len() == 1)
        };
        if first {
            if let Some(conn) = self.current() {
                let sql = format!("LISTEN {}", quote_ident(&channel));
                let r = tokio::time::timeout(self.cfg.keepalive_timeout, conn.execute_script(&sql))
                    .await;
                match r {
                    Ok(Ok(())) => {}
                    Err(_) => {} // the keepalive finds the dead connection; the reconnect LISTENs
                    Ok(Err(e)) if connection_lost(&conn, &e) => {}
                    Ok(Err(e)) => {
                        self.remove(slot.id);
                        return Err(e);
                    }
                }
            }
        }
        let cmd = self.cmd.clone();
        Ok(Subscription {
            slot,
            on_drop: Some(Box::new(move |id| {
                let _ = cmd.send(Command::Unsubscribe(id));
            })),
        })
    }

    /// Removes subscription `id`; the channel if it was its last one.
    fn remove(&self, id: u64) -> Option<String> {
        let mut reg = self.registry.lock();
        let mut emptied = None;
        for (channel, list) in reg.channels.iter_mut() {
            if let Some(at) = list.iter().position(|s| s.id == id) {
                let slot = list.remove(at);
                self.counters.retired_dispatched.fetch_add(
                    slot.stats.dispatched.load(Ordering::Relaxed),
                    Ordering::Relaxed,
                );
                if list.is_empty() {
                    emptied = Some(channel.to_string());
                }
                break;
            }
        }
        if let Some(c) = &emptied {
            reg.channels.remove(c.as_str());
        }
        emptied
    }

    async fn unsubscribe(&self, id: u64, conn: Option<&Connection>) {
        let _order = self.listen_lock.lock().await;
        let Some(channel) = self.remove(id) else {
            return;
        };
        if let Some(conn) = conn {
            let sql = format!("UNLISTEN {}", quote_ident(&channel));
            let _ =
                tokio::time::timeout(self.cfg.keepalive_timeout, conn.execute_script(&sql)).await;
        }
    }

    /// Routes one notification to the subscriptions whose pattern matches.
    async fn dispatch(&self, conn: &Connection, n: Notification, batch: &mut Batch) {
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        let received_at = batch.at;
        let (topic, payload) = match envelope::parse(&n.channel, &n.payload) {
            Parsed::Plain => (None, n.payload),
            Parsed::Inline { topic, payload } => (Some(topic), payload),
            Parsed::Outbox { topic, id } => {
                if !self.wanted(&n.channel, &topic) {
                    self.counters.unrouted.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                match self.cfg.outbox.fetch(conn, id).await {
                    Ok(Some(p)) => {
                        self.counters.outbox_fetched.fetch_add(1, Ordering::Relaxed);
                        (Some(topic), p)
                    }
                    Ok(None) => {
                        self.counters.outbox_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(target: "tusk::listen", topic, id, "outbox row not found (purged?); notification dropped");
                        return;
                    }
                    Err(e) => {
                        self.counters.outbox_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(target: "tusk::listen", topic, id, error = %e, "cannot read the outbox; notification dropped");
                        return;
                    }
                }
            }
        };
        let reg = self.registry.lock();
        let mut routed = false;
        if let Some((channel, slots)) = reg.channels.get_key_value(n.channel.as_str()) {
            let msg = Arc::new(Message {
                topic: topic.map_or_else(|| channel.clone(), Arc::from),
                channel: channel.clone(),
                payload,
                process_id: n.process_id,
                generation: self.generation.load(Ordering::Relaxed),
                received_at,
            });
            for s in slots {
                if !s.gone.load(Ordering::Relaxed) && s.pattern.matches(&msg.topic) {
                    routed = true;
                    if let (_, Some(w)) = s.push_quiet(&msg) {
                        batch.wakers.push(w);
                    }
                }
            }
        }
        batch.routed += 1;
        if !routed {
            self.counters.unrouted.fetch_add(1, Ordering::Relaxed);
        }
        if batch.wakers.len() >= BATCH_MAX {
            batch.wake();
        }
    }

    fn wanted(&self, channel: &str, topic: &str) -> bool {
        let reg = self.registry.lock();
        reg.channels
            .get(channel)
            .is_some_and(|l| l.iter().any(|s| s.pattern.matches(topic)))
    }

    fn stats(&self) -> ListenerStats {
        let reg = self.registry.lock();
        let now = Instant::now();
        let mut st = ListenerStats {
            subscriptions: 0,
            channels: reg.channels.len(),
            ..self.counters.snapshot()
        };
        for s in reg.slots() {
            st.subscriptions += 1;
            st.dispatched += s.stats.dispatched.load(Ordering::Relaxed);
            st.dropped += s.stats.dropped.load(Ordering::Relaxed);
            let (queued, lag) = s.backlog(now);
            st.queued += queued;
            st.lag = st.lag.max(lag);
            st.max_lag = st.max_lag.max(Duration::from_nanos(
                s.stats.max_lag_ns.load(Ordering::Relaxed),
            ));
        }
        drop(reg);
        st.generation = self.generation.load(Ordering::Relaxed);
        st.connected = self.conn.lock().is_some();
        st.server_queue_usage = *self.queue_usage.lock();
        st
    }

    /// Connects again (with backoff), re-LISTENs every channel, publishes
    /// the connection, bumps the generation and tells every subscription.
    /// None when the listener was closed meanwhile.
    async fn reconnect(
        &self,
        rx: &mut mpsc::UnboundedReceiver<Command>,
    ) -> Option<Arc<Connection>> {
        let mut delay = self.cfg.backoff_min;
        loop {
            if self.closed.load(Ordering::SeqCst) {
                return None;
            }
            self.counters
                .connect_attempts
                .fetch_add(1, Ordering::Relaxed);
            let connect = tokio::time::timeout(self.cfg.keepalive_timeout, self.target.connect());
            tokio::pin!(connect);
            let attempt = loop {
                tokio::select! {
                    r = &mut connect => break r.unwrap_or_else(|_| Err(Error::new(
                        ErrorKind::Timeout,
                        format!("connecting took over {:?} (the keepalive timeout)", self.cfg.keepalive_timeout),
                    ))),
                    cmd = rx.recv() => match cmd {
                        Some(Command::Unsubscribe(id)) => {
                            self.remove(id);
                        }
                        Some(Command::Shutdown) | None => return None,
                    },
                }
            };
            let failure = match attempt {
                Ok(conn) => {
                    let conn = Arc::new(conn);
                    let order = self.listen_lock.lock().await;
                    let channels: Vec<Arc<str>> =
                        self.registry.lock().channels.keys().cloned().collect();
                    let sql: Vec<String> = channels
                        .iter()
                        .map(|c| format!("LISTEN {}", quote_ident(c)))
                        .collect();
                    let relisten = if sql.is_empty() {
                        Ok(())
                    } else {
                        conn.execute_script(&sql.join("; ")).await
                    };
                    match relisten {
                        Ok(()) => {
                            *self.conn.lock() = Some(conn.clone());
                            let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
                            self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
                            for s in self.registry.lock().slots() {
                                s.push_resync(generation);
                            }
                            drop(order);
                            tracing::info!(target: "tusk::listen", generation, channels = channels.len(), "listening again");
                            return Some(conn);
                        }
                        Err(e) => e,
                    }
                }
                Err(e) => e,
            };
            tracing::warn!(target: "tusk::listen", error = %failure, retry_in = ?delay, "listener connection lost; reconnecting");
            let jitter = delay.mul_f64(fastrand::f64() * 0.25);
            let sleep = tokio::time::sleep(delay + jitter);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    () = &mut sleep => break,
                    cmd = rx.recv() => match cmd {
                        Some(Command::Unsubscribe(id)) => self.unsubscribe(id, None).await,
                        Some(Command::Shutdown) | None => return None,
                    },
                }
            }
            delay = (delay * 2).min(self.cfg.backoff_max);
        }
    }

    fn close_all(&self) {
        for s in self.registry.lock().slots() {
            s.close();
        }
    }
}

/// Notifications routed in one batch before the reader wakes the handlers
/// and looks at its commands again.
const BATCH_MAX: usize = 1024;

/// The notifications the reader routes in one go: read at one instant,
/// their handlers woken once at the end.
struct Batch {
    at: Instant,
    routed: usize,
    wakers: Vec<std::task::Waker>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            at: Instant::now(),
            routed: 0,
            wakers: Vec::new(),
        }
    }

    fn wake(&mut self) {
        for w in self.wakers.drain(..) {
            w.wake();
        }
    }
}

/// What ended a connection's turn in the reader.
enum Turn {
    Lost,
    Shutdown,
}

/// The reader task: one connection at a time.
async fn run(inner: Arc<Inner>, first: Arc<Connection>, mut rx: mpsc::UnboundedReceiver<Command>) {
    let mut conn = first;
    loop {
        let turn = serve(&inner, &conn, &mut rx).await;
        *inner.conn.lock() = None;
        match turn {
            Turn::Shutdown => {
                if let Ok(c) = Arc::try_unwrap(conn) {
                    let _ = tokio::time::timeout(Duration::from_secs(5), c.close()).await;
                }
                break;
            }
            Turn::Lost => {
                drop(conn);
                match inner.reconnect(&mut rx).await {
                    Some(c) => conn = c,
                    None => break,
                }
            }
        }
    }
    inner.close_all();
}

/// Reads one connection until it is lost or the listener shuts down.
async fn serve(
    inner: &Inner,
    conn: &Connection,
    rx: &mut mpsc::UnboundedReceiver<Command>,
) -> Turn {
    let mut keepalive = tokio::time::interval(inner.cfg.keepalive);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    keepalive.reset();
    loop {
        // A fresh wait each turn: a wait dropped by another branch gives
        // the connection back for the queries below.
        tokio::select! {
            biased;
            cmd = rx.recv() => match cmd {
                Some(Command::Unsubscribe(id)) => inner.unsubscribe(id, Some(conn)).await,
                Some(Command::Shutdown) | None => return Turn::Shutdown,
            },
            n = conn.next_notification() => match n {
                Ok(n) => {
                    // This one and whatever else has arrived, as a batch:
                    // one clock read, one wake-up per handler.
                    let mut stream = conn.notifications();
                    let mut batch = Batch::new();
                    let mut next = Some(n);
                    while let Some(n) = next {
                        inner.dispatch(conn, n, &mut batch).await;
                        if batch.routed >= BATCH_MAX {
                            break;
                        }
                        next = stream.try_next();
                    }
                    batch.wake();
                    keepalive.reset();
                }
                Err(e) => {
                    tracing::debug!(target: "tusk::listen", error = %e, "listener connection ended");
                    return Turn::Lost;
                }
            },
            _ = keepalive.tick() => {
                inner.counters.keepalives.fetch_add(1, Ordering::Relaxed);
                let check = conn.query_scalar::<f64>("SELECT pg_notification_queue_usage()", &[]);
                match tokio::time::timeout(inner.cfg.keepalive_timeout, check).await {
                    Ok(Ok(usage)) => *inner.queue_usage.lock() = Some(usage),
                    Ok(Err(e)) => {
                        inner.counters.keepalive_failures.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(target: "tusk::listen", error = %e, "keepalive failed");
                        if connection_lost(conn, &e) {
                            return Turn::Lost;
                        }
                    }
                    Err(_) => {
                        inner.counters.keepalive_failures.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(target: "tusk::listen", timeout = ?inner.cfg.keepalive_timeout, "keepalive unanswered; reconnecting");
                        return Turn::Lost;
                    }
                }
            }
        }
    }
}
