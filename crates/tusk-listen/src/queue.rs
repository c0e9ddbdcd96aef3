//! One subscription's bounded queue, its overflow policy, and the
//! [`Subscription`] handle that drains it.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::topic::Pattern;

/// A notification as a handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The topic: the envelope's `topic`, or the channel for a plain
    /// notification.
    pub topic: Arc<str>,
    /// The PostgreSQL channel it arrived on.
    pub channel: Arc<str>,
    /// The payload (fetched from the outbox when it was spilled there).
    pub payload: String,
    /// The notifying backend's process id.
    pub process_id: i32,
    /// The connection generation it arrived on (see [`Event::Resync`]).
    pub generation: u64,
    /// When the listener read it from the connection.
    pub received_at: Instant,
    /// How many notifications the listener read before this one: orders
    /// notifications across channels and subscriptions as the server sent
    /// them (`received_at` is shared by a read's batch).
    pub seq: u64,
}

/// What a subscription receives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A notification whose topic matches the subscription's pattern.
    /// Shared between the subscriptions it matched (one allocation);
    /// `Arc::try_unwrap` gives you the `Message` itself (its payload
    /// without a copy) when yours is the only one.
    Notify(Arc<Message>),
    /// The connection was lost and a new one is listening again (every
    /// channel re-`LISTEN`ed, generation `generation`): notifications sent
    /// while no connection listened were missed. Reload what you derive
    /// from them. Delivered after the `LISTEN`s succeeded, so everything
    /// committed after this event is delivered; never dropped by the
    /// overflow policy (consecutive ones fold into the latest).
    Resync {
        /// The new connection's generation (the first connection is 0).
        generation: u64,
    },
    /// This subscription's queue was full: `count` notifications were
    /// dropped here (see [`Overflow`]). Also counted in the stats.
    Dropped {
        /// How many.
        count: u64,
    },
}

/// What a full subscription queue does with one more notification. Either
/// way the reader never waits for a handler, the loss is counted (stats
/// `dropped`), and the handler is told with an [`Event::Dropped`] where the
/// gap is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Overflow {
    /// The default: keep what is queued, drop the new notification. The
    /// handler sees an in-order prefix, then `Dropped`, then what arrives
    /// once it has caught up.
    #[default]
    DropNewest,
    /// Drop the oldest queued notification to make room: the handler sees
    /// `Dropped`, then the most recent notifications (for "latest state"
    /// consumers such as cache invalidation).
    DropOldest,
}

/// Counters of one subscription.
#[derive(Debug, Default)]
pub(crate) struct SlotStats {
    pub dispatched: AtomicU64,
    pub dropped: AtomicU64,
    /// Largest wait in the queue seen at hand-off, in nanoseconds.
    pub max_lag_ns: AtomicU64,
}

struct Queue {
    items: VecDeque<Event>,
    /// `Notify` items in `items`.
    messages: usize,
    /// Drops not yet reported with an `Event::Dropped`.
    unreported: u64,
    waker: Option<Waker>,
    closed: bool,
}

/// The shared part of a subscription: the reader pushes, the handle pops.
pub(crate) struct Slot {
    pub id: u64,
    pub pattern: Pattern,
    capacity: usize,
    overflow: Overflow,
    queue: Mutex<Queue>,
    pub stats: SlotStats,
    /// The handle was dropped: route nothing more here.
    pub gone: AtomicBool,
}

impl Slot {
    pub(crate) fn new(id: u64, pattern: Pattern, capacity: usize, overflow: Overflow) -> Slot {
        Slot {
            id,
            pattern,
            capacity: capacity.max(1),
            overflow,
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                messages: 0,
                unreported: 0,
                waker: None,
                closed: false,
            }),
            stats: SlotStats::default(),
            gone: AtomicBool::new(false),
        }
    }

    /// Queues a notification and wakes the handler; false when the policy
    /// dropped one.
    #[cfg(test)]
    pub(crate) fn push(&self, m: &Arc<Message>) -> bool {
        let (kept, w) = self.push_quiet(m);
        if let Some(w) = w {
            w.wake();
        }
        kept
    }

    /// Queues a notification; returns whether the policy kept it, and the
    /// handler's waker for the caller to wake once it has queued a whole
    /// batch (one wake-up per batch, not per notification).
    pub(crate) fn push_quiet(&self, m: &Arc<Message>) -> (bool, Option<Waker>) {
        let mut q = self.queue.lock();
        let mut kept = true;
        if q.messages >= self.capacity {
            kept = false;
            q.unreported += 1;
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            match self.overflow {
                Overflow::DropNewest => return (false, None),
                Overflow::DropOldest => {
                    if let Some(at) = q.items.iter().position(|e| matches!(e, Event::Notify(_))) {
                        q.items.remove(at);
                        q.messages -= 1;
                    }
                }
            }
        } else if q.unreported > 0 && self.overflow == Overflow::DropNewest {
            // The gap is here, before this notification.
            let count = std::mem::take(&mut q.unreported);
            q.items.push_back(Event::Dropped { count });
        }
        q.items.push_back(Event::Notify(m.clone()));
        q.messages += 1;
        (kept, q.waker.take())
    }

    /// Queues a `Resync` (past the capacity: it is never dropped).
    pub(crate) fn push_resync(&self, generation: u64) {
        let mut q = self.queue.lock();
        if q.unreported > 0 && self.overflow == Overflow::DropNewest {
            let count = std::mem::take(&mut q.unreported);
            q.items.push_back(Event::Dropped { count });
        }
        match q.items.back_mut() {
            Some(Event::Resync { generation: g }) => *g = generation,
            _ => q.items.push_back(Event::Resync { generation }),
        }
        let w = q.waker.take();
        drop(q);
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Ends the subscription: what is queued is still delivered, then `None`.
    pub(crate) fn close(&self) {
        let mut q = self.queue.lock();
        q.closed = true;
        let w = q.waker.take();
        drop(q);
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Notifications waiting in the queue, and the age of the oldest.
    pub(crate) fn backlog(&self, now: Instant) -> (usize, Duration) {
        let q = self.queue.lock();
        let age = q
            .items
            .iter()
            .find_map(|e| match e {
                Event::Notify(m) => Some(now.saturating_duration_since(m.received_at)),
                _ => None,
            })
            .unwrap_or_default();
        (q.messages, age)
    }

    fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut q = self.queue.lock();
        if q.unreported > 0 && (self.overflow == Overflow::DropOldest || q.items.is_empty()) {
            let count = std::mem::take(&mut q.unreported);
            return Poll::Ready(Some(Event::Dropped { count }));
        }
        match q.items.pop_front() {
            Some(e) => {
                if let Event::Notify(m) = &e {
                    q.messages -= 1;
                    drop(q);
                    self.stats.dispatched.fetch_add(1, Ordering::Relaxed);
                    let lag = u64::try_from(m.received_at.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    self.stats.max_lag_ns.fetch_max(lag, Ordering::Relaxed);
                }
                Poll::Ready(Some(e))
            }
            None if q.closed => Poll::Ready(None),
            None => {
                match &q.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => q.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }

    fn try_pop(&self) -> Option<Event> {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        match self.poll_pop(&mut cx) {
            Poll::Ready(e) => e,
            Poll::Pending => {
                self.queue.lock().waker = None;
                None
            }
        }
    }
}

/// A subscription to a topic or pattern: a bounded queue of [`Event`]s that
/// the listener fills and you drain, with [`recv`](Subscription::recv) or as
/// a `Stream`. Dropping it unsubscribes (and `UNLISTEN`s the channel when
/// no other subscription needs it).
///
/// ```no_run
/// # async fn f(listener: &tusk_listen::Listener) -> Result<(), tusk::Error> {
/// use tusk_listen::Event;
/// let mut orders = listener.listen("orders.*").await?;
/// while let Some(event) = orders.recv().await {
///     match event {
///         Event::Notify(m) => println!("{}: {}", m.topic, m.payload),
///         Event::Resync { .. } | Event::Dropped { .. } => { /* reload state */ }
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
pub struct Subscription {
    pub(crate) slot: Arc<Slot>,
    pub(crate) on_drop: Option<Box<dyn FnOnce(u64) + Send + Sync>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("pattern", &self.slot.pattern.as_str())
            .field("stats", &self.stats())
            .finish()
    }
}

/// A snapshot of one subscription's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubscriptionStats {
    /// Notifications handed to the handler.
    pub dispatched: u64,
    /// Notifications dropped by the overflow policy.
    pub dropped: u64,
    /// Notifications waiting in the queue now.
    pub queued: usize,
    /// How long the oldest queued notification has waited.
    pub lag: Duration,
    /// The longest any notification waited in the queue before the
    /// handler took it.
    pub max_lag: Duration,
}

impl Subscription {
    /// The pattern subscribed to.
    pub fn pattern(&self) -> &str {
        self.slot.pattern.as_str()
    }

    /// Waits for the next event; `None` once the listener is closed (or
    /// dropped) and the queue is drained.
    pub async fn recv(&mut self) -> Option<Event> {
        poll_fn(|cx| self.slot.poll_pop(cx)).await
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.slot.try_pop()
    }

    /// This subscription's counters.
    pub fn stats(&self) -> SubscriptionStats {
        let (queued, lag) = self.slot.backlog(Instant::now());
        SubscriptionStats {
            dispatched: self.slot.stats.dispatched.load(Ordering::Relaxed),
            dropped: self.slot.stats.dropped.load(Ordering::Relaxed),
            queued,
            lag,
            max_lag: Duration::from_nanos(self.slot.stats.max_lag_ns.load(Ordering::Relaxed)),
        }
    }
}

impl futures_core::Stream for Subscription {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.slot.poll_pop(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.slot.gone.store(true, Ordering::Relaxed);
        if let Some(f) = self.on_drop.take() {
            f(self.slot.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(i: u32) -> Arc<Message> {
        Arc::new(Message {
            topic: Arc::from("t"),
            channel: Arc::from("t"),
            payload: i.to_string(),
            process_id: 1,
            generation: 0,
            received_at: Instant::now(),
            seq: u64::from(i),
        })
    }

    fn drain(s: &Slot) -> Vec<String> {
        std::iter::from_fn(|| s.try_pop())
            .map(|e| match e {
                Event::Notify(m) => m.payload.clone(),
                Event::Dropped { count } => format!("dropped {count}"),
                Event::Resync { generation } => format!("resync {generation}"),
            })
            .collect()
    }

    #[test]
    fn drop_newest_marks_the_gap_where_it_is() {
        let s = Slot::new(1, Pattern::parse("t").unwrap(), 2, Overflow::DropNewest);
        for i in 0..5 {
            s.push(&msg(i));
        }
        assert_eq!(drain(&s), ["0", "1", "dropped 3"]);
        s.push(&msg(5));
        s.push(&msg(6));
        s.push(&msg(7));
        assert!(matches!(s.try_pop(), Some(Event::Notify(m)) if m.payload == "5"));
        s.push(&msg(8));
        assert_eq!(drain(&s), ["6", "dropped 1", "8"]);
        assert_eq!(s.stats.dropped.load(Ordering::Relaxed), 4);
        assert_eq!(s.stats.dispatched.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn drop_oldest_keeps_the_latest() {
        let s = Slot::new(1, Pattern::parse("t").unwrap(), 2, Overflow::DropOldest);
        for i in 0..5 {
            s.push(&msg(i));
        }
        assert_eq!(drain(&s), ["dropped 3", "3", "4"]);
    }

    #[test]
    fn resyncs_pass_the_capacity_and_fold() {
        let s = Slot::new(1, Pattern::parse("t").unwrap(), 1, Overflow::DropNewest);
        s.push(&msg(0));
        s.push(&msg(1));
        s.push_resync(1);
        s.push_resync(2);
        s.push(&msg(2));
        assert_eq!(drain(&s), ["0", "dropped 1", "resync 2", "dropped 1"]);
        s.close();
        assert_eq!(s.try_pop(), None);
    }
}
