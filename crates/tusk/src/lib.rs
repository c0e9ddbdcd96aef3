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
//! | Pipelining | concurrent callers on one connection share writes; errors stay isolated; concurrent plain `SELECT`s share one Sync in a read-only *read group* (`read_groups=off` to opt out) |
//! | Statement cache | automatic LRU bounded by count and bytes; heals `0A000`/`26000` by re-preparing once; DDL, DISCARD and DEALLOCATE invalidate it; `pooler_mode=on` for PgBouncer |
//! | Rows | zero-copy (`Bytes` into the receive buffer), decoded only when read |
//! | Cancellation | dropped futures leave the connection in step; [`CancelToken`] never hits a later query; per-query timeouts cancel on the server |
//! | Types | everything `postgres-types` maps (opt-in `with-*` features), [`types::Numeric`], [`types::RawValue`] for any type |
//! | Auth / TLS | trust, cleartext, MD5, SCRAM-SHA-256 and -PLUS; rustls with `sslmode` disable..verify-full, client certificates |
//! | Config | libpq URLs and `key=value`, `PG*` environment, `~/.pgpass`, several hosts, `target_session_attrs`, `load_balance_hosts` |
//!
//! # Parameters
//!
//! Parameters are `&[&(dyn ToSql + Sync)]`. A string parameter is sent as
//! text with its type left to the server, so `&str` works for `uuid`,
//! `jsonb`, enum and date columns alike; other values are sent in binary
//! with their natural type (`i32` as `int4`, `i64` as `int8`, ...), which
//! lets even a never-seen query go out in a single flight.

#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

mod batch;
mod cache;
mod cancel;
mod client;
pub mod config;
mod connect;
mod connection;
mod engine;
pub mod error;
mod executor;
mod io;
mod notify;
mod query;
mod row;
mod statement;
mod stream;
mod transaction;
pub mod types;

pub use batch::{Batch, BatchResult, QueryResult};
pub use cancel::CancelToken;
pub use config::Config;
pub use connect::{connect, connect_in_process, connect_with};
pub use connection::{Connection, TransactionStatus};
pub use engine::response::SimpleQueryMessage;
pub use error::{DbError, Error, ErrorKind, SqlState};
pub use executor::Executor;
pub use notify::{Notice, Notification};
pub use query::{IntoQuery, Query, QueryOptions};
pub use row::{Column, ColumnIndex, Row};
pub use statement::Statement;
pub use stream::RowStream;
pub use transaction::{IsolationLevel, Transaction, TransactionOptions};
pub use types::params::Param;
pub use types::{FromSql, ToSql, Type};
