//! The connection engine: a request queue driven by whichever caller is
//! waiting, with no background task.
//!
//! Callers append their messages to one write buffer under a mutex and get
//! a request id. One caller at a time is the *driver*: it flushes the write
//! buffer (so concurrent callers' writes coalesce), reads, and hands each
//! server message to the request at the head of the queue. When the
//! driver's own request completes, it passes the role to the next waiting
//! caller. A caller that is dropped marks its request abandoned: the driver
//! still reads its response up to ReadyForQuery, so the connection stays in
//! step. One Sync per request keeps one caller's error from touching another.
//!
//! Requests enter through one door, [`Engine::submit`]: the caller encodes
//! its messages, the engine appends the Sync, queues the request and
//! returns its id (a [`Ticket`] waits for it). A driver waiting for many
//! pipelined answers asks the kernel to wake it only once the socket holds
//! a lower bound of what the server still owes ([`Engine::owed_bytes`]), so
//! one wake-up, read and write serve several queries.
//!
//! | file | owns |
//! |---|---|
//! | `state` | [`Engine`]: everything but the socket; read-only views |
//! | `transport` | [`State`]: the engine with its socket; flush, read, a driver turn |
//! | `queue` | the request queue, [`Engine::submit`], offsets, collect, abandon |
//! | `dispatch` | framing the receive buffer and applying each message |
//! | `complete` | ending requests (CommandComplete, ErrorResponse, ReadyForQuery) |
//! | `group` | read groups (opt-in): grouping, the read-only prefix, resending |
//! | `driver` | the driver role and the wakers |
//! | `ticket` | [`Shared`], waiting and driving, [`Ticket`] |
//! | `reset` | a pool's session reset, carried in front of the next request |
//! | `response` | what one request collects, [`TransactionStatus`] parsing |
//!
//! No I/O happens outside `transport`: `tests` feeds dispatch recorded and
//! malformed server byte streams without a server.

pub(crate) mod response;

mod complete;
mod dispatch;
mod driver;
mod group;
mod queue;
mod reset;
mod state;
mod ticket;
mod transport;

#[cfg(test)]
mod tests;

use bytes::{Buf, BytesMut};
use fallible_iterator::FallibleIterator;
use parking_lot::{Mutex, MutexGuard};
use postgres_protocol::message::backend::Message;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::cache::StatementCache;
use crate::connection::TransactionStatus;
use crate::error::{DbError, Error, ErrorKind};
use crate::io::Io;
use crate::notify::{Notice, Notification};
use crate::row::{type_of, Column, Row, RowDesc};
use crate::statement::Described;
pub(crate) use response::{
    CarriedReset, Grouping, ParseStep, Proto, Purpose, Response, SimpleQueryMessage,
};

/// Largest message accepted from the server: PostgreSQL builds each
/// message in a buffer capped at 1 GiB (MaxAllocSize).
const MAX_MESSAGE: usize = 1 << 30;

/// A Sync message.
const SYNC: [u8; 5] = [b'S', 0, 0, 0, 4];

/// Reads handled by one driver turn before it yields to other tasks.
const DRIVE_BUDGET: u32 = 64;

/// A notice handler.
pub(crate) type NoticeHandler = Arc<dyn Fn(&Notice) + Send + Sync>;

pub(crate) use driver::Driver;
pub(crate) use group::Prefix;
pub(crate) use queue::{Progress, Req, Submit};
pub(crate) use state::Engine;
pub(crate) use ticket::{Shared, Ticket};
pub(crate) use transport::State;
