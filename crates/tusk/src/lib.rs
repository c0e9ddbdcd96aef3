//! tusk: an async, native-protocol PostgreSQL client.
//!
//! ```no_run
//! use tusk::Executor;
//!
//! # async fn run() -> Result<(), tusk::Error> {
//! let conn = tusk::connect("postgresql://postgres@localhost/postgres").await?;
//! let n: i64 = conn.query_scalar("SELECT $1::int8 + 1", &[&41i64]).await?;
//! assert_eq!(n, 42);
//! for row in conn.query("SELECT oid, typname FROM pg_type LIMIT $1", &[&3i64]).await? {
//!     let name: &str = row.get("typname");
//!     println!("{name}");
//! }
//! # Ok(()) }
//! ```
//!
//! # What it does
//!
//! | | |
//! |---|---|
//! | Round trips | one per query, cached or cold (Parse/Describe/Bind/Execute/Sync in one flight); one per batch; [`Batch::atomic`] runs a batch as one transaction with one Sync |
//! | Pipelining | concurrent callers on one connection share writes; each query has its own Sync, so errors stay isolated and every query runs as if sent alone; opt-in *read groups* (`read_groups=on`, see below) |
//! | Statement cache | automatic LRU bounded by count and bytes; only statements the server confirmed parsed are used by other flights; heals a changed result type ("cached plan must not change result type") and a lost statement (`26000`) by re-preparing once, outside a transaction (an atomic batch only when the stale statement is its first: nothing of it ran); DDL, DISCARD and DEALLOCATE invalidate it; `pooler_mode=on` for PgBouncer (nothing named, nothing spanning two flights) |
//! | Rows | zero-copy (`Bytes` into the receive buffer), decoded only when read |
//! | Notifications | [`Connection::notifications`] (a `Stream`, the queue per connection), [`Connection::notices`]; a dispatcher with wildcard topics, reconnect and `Resync` in tusk-listen (`tusk::listen`, feature `listen`), see [`notify`] |
//! | Cancellation | dropped futures leave the connection in step; [`CancelToken`] never hits a later query; per-query timeouts cancel on the server |
//! | Rows as structs | `#[derive(FromRow)]` (by name, `rename`, `rename_all`, `flatten`, `default`, `try_from`, `json`), tuples by position; [`Executor::query_as`] and siblings; typed [`RowError`]s |
//! | COPY | `copy_in` sinks with backpressure and `copy_out` streams with bounded memory; binary rows of `ToSql`/`FromSql` values, text and CSV rows; a bad row's error names its line; through pools and PgBouncer (see [`copy`]) |
//! | Cursors | [`Transaction::query_portal`]: a named portal fetched in batches (`Execute` with a row limit) with [`Portal::next_batch`] or as a `Stream`, several open at once; [`Transaction::declare_cursor`] / [`Connection::declare_cursor`] (`DECLARE ... WITH HOLD`, `FETCH`); both closed when dropped (see [`cursor`]) |
//! | Arrow | feature `arrow`: `Executor::query_arrow` returns Arrow `RecordBatch`es decoded from the binary wire values (see the `arrow` module) |
//! | Types | everything `postgres-types` maps (opt-in `with-*` features); user-defined enums, composites, domains, arrays, ranges, multiranges, `hstore`, `citext` looked up from `pg_type` in one query, cached per database and shared by a pool ([`types::TypeRegistry`]), so `#[derive(ToSql, FromSql)]` works; [`types::Value`] for any column at run time (serializes to JSON); [`types::Numeric`], [`types::RawValue`]; per-column result formats (binary where tusk decodes the type, text otherwise) |
//! | Auth / TLS | trust, cleartext, MD5, SCRAM-SHA-256 and -PLUS; rustls with `sslmode` disable..verify-full, client certificates, `sslcrl`/`sslcrldir`, `sslcertmode`, `ssl_min/max_protocol_version`, `sslnegotiation=direct` (PostgreSQL 17) |
//! | Config | libpq URLs and `key=value`, `PG*` environment, `~/.pgpass`, several hosts, `target_session_attrs`, `load_balance_hosts` |
//!
//! # Parameters
//!
//! Parameters are `&[&(dyn ToSql + Sync)]`. A string parameter is sent as
//! text with its type left to the server, so `&str` works for `uuid`,
//! `jsonb`, enum and date columns alike; other values are sent in binary
//! with their natural type (`i32` as `int4`, `i64` as `int8`, ...), which
//! lets even a never-seen query go out in a single flight. A value of
//! another type (one `ToSql` accepts by name, such as `money`) has its
//! parameter's type described by the server first, in a round trip of its
//! own. User-defined types (a `#[derive(ToSql)]` enum, domain or
//! composite) take that path too: their types are looked up from `pg_type`
//! once (see [`types::TypeRegistry`] and `docs/types.md`).
//!
//! # COPY
//!
//! [`Connection::copy_in`] returns a [`copy::CopyInSink`] (backpressure:
//! writes wait while the socket is full; dropped before `finish`, it sends
//! CopyFail and the connection stays usable), [`Connection::copy_out`] a
//! stream of chunks with bounded memory; [`copy::BinaryCopyInWriter`],
//! [`copy::BinaryCopyOutReader`] and [`copy::TextRowWriter`] speak the
//! formats. A server error mid-COPY names the data line
//! ([`Error::copy_line`]). `COPY ... FROM STDIN` and `COPY ... TO STDOUT`
//! through the query methods fail with a clear error, and the connection
//! stays usable (for concurrent callers too). See the [`copy`] module.
//!
//! # Read groups
//!
//! Off by default (`read_groups=off`): every query has its own Sync and
//! runs exactly as if sent alone. With `read_groups=on` (a per-connection
//! opt-in), plain `SELECT`s (statements that start with `SELECT`, do not
//! mention `set_config`, run from the statement cache, without a timeout,
//! not streamed) that concurrent callers issue while the session is idle
//! and nothing but such reads is in flight may share one Sync: the server
//! then commits and answers once per group instead of once per query
//! (about 5 µs of server CPU per query). The contract: **a group is one
//! read-only implicit transaction.** So its members
//!
//! * share one `now()`, `transaction_timestamp()` and `txid_current()`, and
//!   all see `transaction_read_only = on`;
//! * hold the locks they take until the whole group ends (a deadlock, 40P01,
//!   is possible where one-by-one execution has none);
//! * see transaction-local settings an earlier member made
//!   (`set_config(.., true)` inside a function);
//! * lose effects a rollback undoes (a function's temp-table write,
//!   `pg_notify`, `set_config(.., false)`) when another member fails, even
//!   though they reported success.
//!
//! A member that writes after all (a function, `FOR UPDATE`) fails with
//! `25006` and is sent again alone, and its cached statement is never
//! grouped again; side effects a rollback does not undo (a NOTICE, a
//! dblink call) then happen twice, once. A member the server skipped
//! because another member failed never ran; it is sent again alone, in its
//! place: nothing issued after the group is sent before the group has
//! answered, so a caller's queries still run in the order it issued them.
//! Use read groups for read-only workloads that need none of the above;
//! never in pooler mode.

#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

#[cfg(feature = "arrow")]
pub mod arrow;
mod batch;
mod cache;
mod cancel;
mod client;
pub mod config;
mod connect;
mod connection;
pub mod copy;
pub mod cursor;
mod engine;
pub mod error;
pub mod executor;
pub mod from_row;
mod io;
pub mod notify;
mod query;
mod row;
mod session;
pub mod sql;
mod sql_text;
mod statement;
mod stream;
mod transaction;
pub mod types;

pub use batch::{Batch, BatchResult, QueryResult};
pub use cancel::CancelToken;
pub use config::Config;
pub use connect::{connect, connect_in_process, connect_with, register_embedded, EmbeddedServe};
pub use connection::{Connection, TransactionStatus};
/// Reads waited for by a foreign event loop instead of tokio's reactor
/// (the Python module's asyncio loop): [`poll_with_external_reads`].
pub mod external_reads {
    pub use crate::io::external::poll_with_external_reads;
}
pub use cursor::{Cursor, Portal};
pub use engine::response::SimpleQueryMessage;
pub use error::{DbError, Error, ErrorKind, SqlState};
pub use executor::{Executor, Prepare};
pub use from_row::{FromRow, RowError, RowStreamAs};
pub use notify::{Notice, Notices, Notification, Notifications};
pub use query::{IntoQuery, Query, QueryOptions};
pub use row::{Column, ColumnIndex, Row};
pub use statement::Statement;
pub use stream::RowStream;
pub use transaction::{IsolationLevel, Transaction, TransactionOptions};
/// `#[derive(FromRow)]`: see [`FromRow`](trait@FromRow) for its attributes.
pub use tusk_macros::FromRow;
pub use types::params::Param;
pub use types::{FromSql, ToSql, Type};
