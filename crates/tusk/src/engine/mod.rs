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
//! [`Engine`] is a set of owners, each keeping its invariants behind its
//! methods (their fields are private to their files); the engine's own
//! methods, in the files named for what they do, combine them.
//!
//! | file | owns (struct) | and the engine's |
//! |---|---|---|
//! | `state` | [`Engine`]: the owners, and why the connection broke | read-only views, `fail` |
//! | `buffers` | the write stream ([`Outgoing`]: unsent bytes, offsets, barriers, holds) and the receive buffer ([`Incoming`], framing) | |
//! | `requests` | the request queue ([`Requests`], [`Req`]): cursor, ids, counts of waiters | |
//! | `driver` | the driver role ([`Role`]) | claiming and handing it on |
//! | `delivery` | notices, notifications, idle waiters ([`Delivery`]) | |
//! | `server` | the session's facts ([`ServerSession`]): status, parameters, pooler mode, cancel epoch | |
//! | `statements` | the statement cache and names ([`Statements`]) | |
//! | `group` | read groups ([`Groups`]: the read-only prefix) | grouping, resending |
//! | `reset` | a pool's session reset ([`reset::ResetState`]) | carrying it in front of the next request |
//! | `transport` | [`State`]: the engine with its socket | flush, read, a driver turn |
//! | `queue` | | [`Engine::submit`], offsets, collect, abandon |
//! | `dispatch` | | applying each message |
//! | `complete` | | ending requests (CommandComplete, ErrorResponse, ReadyForQuery) |
//! | `copy` | | COPY IN data placed right behind its request; COPY OUT data taken |
//! | `guard` | | a dropped `DECLARE`'s cursor closed if, and only if, it was declared |
//! | `ticket` | [`Shared`], [`Ticket`] | waiting and driving |
//! | `response` | what one request collects, [`TransactionStatus`] parsing | |
//!
//! No I/O happens outside `transport`: `tests` feeds dispatch recorded and
//! malformed server byte streams without a server.

pub(crate) mod response;

mod buffers;
mod complete;
mod copy;
mod delivery;
mod dispatch;
mod driver;
mod group;
mod guard;
mod queue;
mod requests;
mod reset;
mod server;
mod state;
mod statements;
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
    CarriedReset, CopyPhase, Grouping, ParseStep, Proto, Purpose, Response, SimpleQueryMessage,
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

use buffers::{Frame, Incoming, Outgoing};
use delivery::Delivery;
pub(crate) use driver::Driver;
use driver::Role;
use group::Groups;
pub(crate) use queue::{Progress, Submit};
pub(crate) use requests::Req;
use requests::Requests;
use server::ServerSession;
pub(crate) use state::Engine;
use statements::Statements;
pub(crate) use ticket::{Shared, Ticket};
pub(crate) use transport::State;
