//! The PostgreSQL-free half of `pg_tviews`: everything that can be decided
//! without a running server, so it is unit-tested in microseconds.
//!
//! - [`node`] reads PostgreSQL's node text (`nodeToString`) into a tree;
//! - [`analyze`] finds a defining query's base tables and, for each, how a
//!   changed row maps to the TVIEW keys it affects;
//! - [`graph`] orders TVIEWs that read other TVIEWs and refuses cycles;
//! - [`options`] parses the `options` argument of `tviews.create`;
//! - [`sql`] writes the capture, refresh and verification statements;
//! - [`queue`] is the per-transaction set of pending keys.
//!
//! The query trees it reads are PostgreSQL 15's, the only version whose
//! trees are captured as fixtures and tested; what differs in 16 and later
//! is confined to [`analyze::format`].
//!
//! ```
//! use tviews_core::options::TviewOptions;
//! use tviews_core::sql::refresh::RefreshSql;
//!
//! let opts = TviewOptions::parse("{}", "tv_post").unwrap();
//! assert_eq!(opts.key, ["pk_post"]);
//! let sql = RefreshSql {
//!     table: "public.tv_post".into(),
//!     view: "tviews.q_16384".into(),
//!     columns: vec!["pk_post".into(), "data".into()],
//!     key: vec![("pk_post".into(), "bigint".into())],
//!     key_eq: Vec::new(),
//! };
//! assert!(sql.keys().contains("DELETE FROM ONLY public.tv_post"));
//! ```
#![warn(missing_docs)]

pub mod analyze;
pub mod error;
#[cfg(test)]
mod fixtures;
pub mod graph;
pub mod ident;
pub mod node;
pub mod options;
pub mod queue;
pub mod sql;

pub use error::{Error, Result};
