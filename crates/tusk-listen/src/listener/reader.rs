//! The reader task of a [`Listener`](super::Listener): it routes what the
//! connection delivers to subscriptions in batches, reconnects with
//! backoff and re-`LISTEN`s, and keeps the connection alive.

use super::*;

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
    pub(super) fn shutdown(&self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            let _ = self.cmd.send(Command::Shutdown);
        }
    }

    pub(super) fn current(&self) -> Option<Arc<Connection>> {
        self.conn.lock().clone()
    }

    pub(super) async fn subscribe(
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
    pub(super) fn remove(&self, id: u64) -> Option<String> {
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

    pub(super) async fn unsubscribe(&self, id: u64, conn: Option<&Connection>) {
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
        let seq = self.counters.received.fetch_add(1, Ordering::Relaxed);
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
                seq,
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

    pub(super) fn stats(&self) -> ListenerStats {
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
pub(super) async fn run(
    inner: Arc<Inner>,
    first: Arc<Connection>,
    mut rx: mpsc::UnboundedReceiver<Command>,
) {
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
