//! tusk-listen: LISTEN/NOTIFY for applications. A [`Listener`] owns one
//! dedicated connection and routes notifications to any number of
//! handlers, with wildcard topics, reconnection that tells handlers what
//! they may have missed, payloads of any size, and metrics.
//!
//! ```no_run
//! use tusk_listen::{Event, Listener};
//!
//! # async fn run() -> Result<(), tusk::Error> {
//! let url = "postgresql://app@localhost/app";
//! let listener = Listener::connect(url).await?;
//! let mut orders = listener.listen("orders.*").await?; // LISTEN "orders"
//!
//! // Anywhere (another process, a trigger through `tusk_notify(..)`):
//! let conn = tusk::connect(url).await?;
//! tusk_listen::publish(&conn, "orders.created", r#"{"id":7}"#).await?;
//!
//! while let Some(event) = orders.recv().await {
//!     match event {
//!         Event::Notify(m) => println!("{} {}", m.topic, m.payload), // orders.created {"id":7}
//!         Event::Resync { generation } => println!("reconnected ({generation}): reload"),
//!         Event::Dropped { count } => println!("{count} dropped: reload"),
//!         _ => {}
//!     }
//! #   break;
//! }
//! # Ok(()) }
//! ```
//!
//! (With the `tusk` crate's `listen` feature, all of this is `tusk::listen`.)
//!
//! # Topics: the envelope convention
//!
//! PostgreSQL has no pattern `LISTEN`, so wildcards need a convention that
//! maps them onto real channels. A topic is a dot-separated name; **its
//! first segment is the channel** it travels on, and the full topic rides
//! in a JSON envelope on that channel:
//!
//! | published topic | channel | payload on the wire |
//! |---|---|---|
//! | `jobs` | `jobs` | the payload itself (any client can read it) |
//! | `orders.created` | `orders` | `{"topic":"orders.created","payload":"..."}` |
//! | `orders.created`, payload ≥ 8,000 bytes | `orders` | `{"topic":"orders.created","outbox":42}` ([`Outbox`]) |
//!
//! Subscriptions name a topic or a pattern whose segments after the first
//! may be `*` (exactly one segment) or, last, `**` (one or more):
//! `orders.*` matches `orders.created` but not `orders.created.eu` or
//! `orders`; `orders.**` matches both of the first two. Every subscription,
//! wildcard or not, `LISTEN`s to its channel before
//! [`listen`](Listener::listen) returns: a wildcard handler receives
//! notifications even when no exact handler exists. The channel segment
//! cannot be a wildcard (`*.created` is an error): there would be nothing
//! to `LISTEN` to.
//!
//! A notification is read as an envelope when its payload is a JSON object
//! whose string `topic` starts with the channel's name; otherwise its topic
//! is the channel (so plain `NOTIFY jobs, 'x'` from anywhere reaches a
//! `jobs` subscription). An envelope's `payload` that is a JSON string is
//! delivered unescaped, any other JSON value as its JSON text, so a
//! trigger can send `json_build_object('topic', 'orders.created',
//! 'payload', row_to_json(NEW))::text` on channel `orders`.
//!
//! Channel names are always quoted (`LISTEN "Orders"`), so they are
//! case-sensitive and may hold any character but NUL, exactly as
//! `pg_notify('Orders', ..)` spells them; one longer than 63 bytes is
//! refused (the server would truncate it and merge channels). Invalid
//! names are [`tusk::ErrorKind::Syntax`] errors whose source is an
//! [`InvalidTopic`]. A dot always separates topic segments here: to receive
//! a channel whose name holds a dot, use
//! [`tusk::Connection::notifications`] directly.
//!
//! # Handlers: subscriptions, or tasks
//!
//! [`Listener::listen`] returns a [`Subscription`]: a queue you drain with
//! `recv().await` or as a `Stream`. That is the primitive, chosen for
//! tokio users because it composes: `select!` it with shutdown signals,
//! batch with `try_recv`, hold it in your own task, and ownership is plain
//! (dropping it unsubscribes). [`Listener::on`] wraps it for the callback
//! style: it spawns a task that awaits your async closure for each event,
//! in order, and returns a [`Handler`] that unsubscribes when dropped.
//! Any number of subscriptions may share a channel or a topic; each gets
//! its own copy (one shared allocation).
//!
//! # Handlers never block the reader
//!
//! One reader task reads the connection and pushes each notification into
//! the queue of every matching subscription, in the order the server sent
//! them (so per channel, and per topic, order is kept). Each queue is
//! bounded ([`ListenerBuilder::queue_capacity`], default 10,000); when it is
//! full the [`Overflow`] policy drops the newest (default) or the oldest
//! notification, counts it, and puts an [`Event::Dropped`] where the gap
//! is. A slow handler loses its own messages; the reader and every other
//! handler go on at full speed.
//!
//! # Reconnection and `Resync`
//!
//! When the connection dies (server restart, `pg_terminate_backend`, a
//! network that silently drops packets, noticed by the keepalive), the
//! listener reconnects with exponential backoff and jitter, `LISTEN`s every
//! channel again in one round trip, and only then sends
//! [`Event::Resync { generation }`](Event::Resync) to every subscription.
//! Notifications sent while no connection listened are lost (PostgreSQL
//! keeps none for absent listeners); everything committed after the
//! `Resync` is delivered. Reload whatever you derive from notifications
//! when you see one.
//!
//! # Keepalive and metrics
//!
//! Every [`ListenerBuilder::keepalive`] interval without traffic the
//! listener runs `SELECT pg_notification_queue_usage()` with a timeout: a
//! dead server is noticed, and the server queue's fill level is reported.
//! [`Listener::stats`] returns received, dispatched, dropped, unrouted,
//! queued, lag (oldest queued notification's age) and max lag, generation,
//! reconnects, outbox reads, keepalives; [`ListenerStats::to_prometheus`]
//! renders them for Prometheus.
//!
//! # Not through a pool
//!
//! A pool's reset on return runs `UNLISTEN *` and clears the connection's
//! notification queue, and transaction-mode PgBouncer cannot deliver
//! notifications at all: the listener opens a direct connection of its own
//! (which counts against `max_connections`).

#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

mod envelope;
mod listener;
mod outbox;
mod queue;
mod stats;
pub mod topic;

pub use envelope::MAX_PAYLOAD_BYTES;
pub use listener::{Handler, Listener, ListenerBuilder};
pub use outbox::{publish, Outbox, OUTBOX_TABLE};
pub use queue::{Event, Message, Overflow, Subscription, SubscriptionStats};
pub use stats::ListenerStats;
pub use topic::{InvalidReason, InvalidTopic};
