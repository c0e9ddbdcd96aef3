//! Server-initiated messages: notices and notifications.
//!
//! # The notification queue is per connection
//!
//! `LISTEN` is session state: the server delivers a `NOTIFY` to every
//! session listening on its channel, and tusk queues what arrives on a
//! connection until it is taken with
//! [`Connection::next_notification`](crate::Connection::next_notification)
//! or the [`Notifications`] stream of
//! [`Connection::notifications`](crate::Connection::notifications).
//! Notifications arrive whenever the connection reads (while your queries
//! run too): none is lost while nobody waits, they wait in the queue (which
//! is unbounded: consume it, or `UNLISTEN`).
//!
//! On a pooled connection the queue lives only as long as the checkout:
//! the pool's reset on return runs `UNLISTEN *` and clears the queue
//! (notifications received until the reset has run are dropped, they are
//! for the previous holder's `LISTEN`s). So listen on a connection of your
//! own: a dedicated [`Connection`](crate::Connection), or the `Listener` of
//! the `tusk-listen` crate (`tusk::listen` with the facade's `listen`
//! feature), which also reconnects, re-`LISTEN`s and reports gaps.
//!
//! Transaction-mode poolers (PgBouncer `pool_mode=transaction`) cannot
//! deliver notifications at all: the `LISTEN` ran on a server connection
//! that other clients use next.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::engine::{Driver, Shared};
use crate::error::Error;

pub use crate::error::DbError as Notice;

/// A `NOTIFY` delivered to this connection (after `LISTEN channel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The notifying backend's process id.
    pub process_id: i32,
    /// The channel name.
    pub channel: String,
    /// The payload (may be empty).
    pub payload: String,
}

/// The notifications of one connection as a stream (from
/// [`Connection::notifications`](crate::Connection::notifications)).
///
/// Yields every notification in the order the server sent it; when the
/// connection is closed or breaks it yields that error once, then ends.
/// Polling it drives the connection's reads when no query does, so keep
/// polling it (or drop it): a stream that is polled sometimes and then
/// left alone holds nothing. It owns a handle on the connection, so it can
/// be moved into a task of its own while the connection runs queries
/// (`LISTEN`s) elsewhere.
///
/// One consumer at a time per connection: two streams (or a stream and a
/// [`next_notification`](crate::Connection::next_notification)) waiting on
/// the same connection would share out the notifications between them, and
/// only the last one to wait is woken.
///
/// The stream ends (`None`) when a session reset is queued on the
/// connection (`queue_session_reset`: a pooled connection returned), so a
/// stream kept past the return never takes the next user's notifications.
///
/// ```no_run
/// # async fn f() -> Result<(), tusk::Error> {
/// use futures_util::StreamExt;
/// use tusk::Executor;
///
/// let conn = tusk::connect("postgresql://app@localhost/app").await?;
/// conn.execute("LISTEN jobs", &[]).await?;
/// let mut notifications = conn.notifications();
/// while let Some(n) = notifications.next().await {
///     let n = n?;
///     println!("{}: {}", n.channel, n.payload);
/// }
/// # Ok(()) }
/// ```
pub struct Notifications {
    shared: Arc<Shared>,
    /// True while a poll returned `Pending`: this stream may hold the
    /// driver role or the notification waker.
    waiting: bool,
    /// True once the connection's error was yielded.
    ended: bool,
    /// The session's user this stream was opened for: a queued session
    /// reset (a pooled connection returned) ends it.
    epoch: u64,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field("queued", &self.shared.lock().notifications_queued())
            .field("ended", &self.ended)
            .finish()
    }
}

impl Notifications {
    pub(crate) fn new(shared: Arc<Shared>) -> Notifications {
        let epoch = shared.lock().notification_epoch();
        Notifications {
            shared,
            waiting: false,
            ended: false,
            epoch,
        }
    }

    /// Notifications received and not taken yet (none once the session
    /// was reset for a new user: the stream has ended).
    pub fn queued(&self) -> usize {
        let st = self.shared.lock();
        if st.notification_epoch() != self.epoch {
            return 0;
        }
        st.notifications_queued()
    }

    /// The next notification already received, without waiting or
    /// reading: for a consumer that handles what has arrived as a batch
    /// (one wake-up of its own consumers per batch) after the stream
    /// yielded one.
    pub fn try_next(&mut self) -> Option<Notification> {
        if self.ended {
            return None;
        }
        let mut st = self.shared.lock();
        if st.notification_epoch() != self.epoch {
            return None;
        }
        st.next_notification()
    }

    /// Polls for the next notification, driving the connection when
    /// nobody else does; the connection's error once it is closed.
    /// `None`: the session was reset for a new user (a pooled connection
    /// returned) since this stream was opened: it has ended.
    pub(crate) fn poll_one(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Notification, Error>>> {
        let shared = &self.shared;
        let epoch = self.epoch;
        let mut st = match shared.poll_external(
            cx,
            |st| st.has_notification() || st.notification_epoch() != epoch,
            |st, w| st.set_notification_waker(w),
        ) {
            Poll::Ready(st) => st,
            Poll::Pending => {
                self.waiting = true;
                return Poll::Pending;
            }
        };
        self.waiting = false;
        if st.notification_epoch() != epoch {
            // (The waker registered now, if any, is the new user's.)
            return Poll::Ready(None);
        }
        st.clear_notification_waker();
        Poll::Ready(Some(match st.next_notification() {
            Some(n) => Ok(n),
            None => Err(st.broken_error()),
        }))
    }
}

impl Stream for Notifications {
    type Item = Result<Notification, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match this.poll_one(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(n))) => Poll::Ready(Some(Ok(n))),
            Poll::Ready(Some(Err(e))) => {
                this.ended = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                this.ended = true;
                Poll::Ready(None)
            }
        }
    }
}

/// Gives up the driver role a waiting stream may hold when it is dropped
/// (a timeout around `next_notification`): otherwise no query waiter could
/// drive the connection again and the next query would wait forever.
impl Drop for Notifications {
    fn drop(&mut self) {
        if !self.waiting {
            return;
        }
        let mut st = self.shared.lock();
        // A stream of a previous user: the role and the waker are not its.
        if st.notification_epoch() != self.epoch {
            return;
        }
        if st.driver() == Some(Driver::External) {
            st.clear_notification_waker();
            st.release_driver();
        }
    }
}

/// Notices (`RAISE NOTICE`, warnings) as a stream, from
/// [`Connection::notices`](crate::Connection::notices).
///
/// Backed by a bounded queue of [`Notices::CAPACITY`] notices: when the
/// consumer falls that far behind, newer notices are dropped (never the
/// connection's reads blocked) and counted in [`dropped`](Notices::dropped).
/// The stream ends when the connection is dropped or another notice handler
/// replaces this one.
pub struct Notices {
    rx: tokio::sync::mpsc::Receiver<Notice>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Notices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notices")
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl Notices {
    /// Notices held before newer ones are dropped.
    pub const CAPACITY: usize = 1024;

    pub(crate) fn install(shared: &Shared) -> Notices {
        let (tx, rx) = tokio::sync::mpsc::channel(Self::CAPACITY);
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = dropped.clone();
        shared
            .lock()
            .set_notice_handler(Some(Arc::new(move |n: &Notice| {
                if tx.try_send(n.clone()).is_err() {
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })));
        Notices { rx, dropped }
    }

    /// Notices dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The next notice if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Notice> {
        self.rx.try_recv().ok()
    }

    /// Waits for the next notice; `None` once the stream ended.
    pub async fn recv(&mut self) -> Option<Notice> {
        self.rx.recv().await
    }
}

impl Stream for Notices {
    type Item = Notice;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Notice>> {
        self.get_mut().rx.poll_recv(cx)
    }
}
