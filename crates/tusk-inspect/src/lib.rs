//! A model of a PostgreSQL database, read from `pg_catalog` in **one round
//! trip**: one statement builds the whole model as JSON on the server
//! (never `information_schema`, which is slow on large schemas and hides
//! what the role cannot see), and [`inspect`] assembles it.
//!
//! ```no_run
//! # async fn run() -> Result<(), tusk::Error> {
//! let conn = tusk::connect("postgresql://app@localhost/app").await?;
//! let db = tusk_inspect::inspect(&conn).await?;
//! for table in &db.schema("public").unwrap().tables {
//!     println!("{} ({} columns)", table.name, table.columns.len());
//! }
//! # Ok(()) }
//! ```
//!
//! | object | what the model has |
//! |---|---|
//! | schemas | name, owner, comment |
//! | tables | ordinary, partitioned (key), partitions (parent, bound), foreign; unlogged; RLS on/forced; owner, comment |
//! | columns | type with modifiers, NOT NULL, default, identity, generated expression, collation, comment |
//! | indexes | definition, unique, primary, valid, method, partial predicate, keys (expressions too), INCLUDE |
//! | constraints | primary, foreign (table, columns, ON UPDATE/DELETE), unique, check, exclusion; deferrable, initially deferred, validated |
//! | views | views and materialized views with their definitions, columns, indexes |
//! | types | sequences (owned by), enums, composites, domains (checks) |
//! | others | functions and procedures (definitions), triggers, RLS policies, extensions |
//!
//! [`ddl::statements`] renders the model as DDL that rebuilds it in an
//! empty database (tested by a round trip). [`rust::structs`] writes a `#[derive(tusk::FromRow)]` struct per table
//! and view. [`diff()`] compares two models (drift between environments, or between a
//! database and what its migrations should have made).
//!
//! Objects that belong to an extension are left out (they are the
//! extension's, recreated by `CREATE EXTENSION`).

#![warn(missing_docs)]

mod assemble;
pub mod ddl;
pub mod diff;
pub mod model;
pub mod rust;

pub use diff::{diff, Change, Difference};
pub use model::*;
use tusk::{Executor, SimpleQueryMessage};

/// The statement that reads the whole model (one round trip).
pub const CATALOG_SQL: &str = include_str!("catalog.sql");

/// Reads the model of the database `db` is connected to.
pub async fn inspect(db: &impl Executor) -> Result<Database, tusk::Error> {
    let msgs = db.simple_query(CATALOG_SQL).await?;
    let json = msgs
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get_text(0usize).ok().flatten().map(str::to_owned),
            _ => None,
        })
        .ok_or_else(|| {
            tusk::Error::new(
                tusk::ErrorKind::Protocol,
                "the catalog query returned no row",
            )
        })?;
    assemble::from_json(&json)
}
