//! The one error type of this crate.

use thiserror::Error;

/// Everything that can go wrong while planning a TVIEW.
///
/// Each message says what the user can do about it; the extension turns it
/// into a PostgreSQL `ERROR` with that text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The text produced by PostgreSQL's `nodeToString` could not be read.
    #[error("could not read the analyzed query tree at byte {offset}: {message} (this is a pg_tviews bug: please report the query)")]
    NodeText {
        /// Byte offset in the node text.
        offset: usize,
        /// What was expected.
        message: String,
    },
    /// The query tree is not shaped as expected.
    #[error("unexpected query tree: {0} (this is a pg_tviews bug: please report the query)")]
    Tree(String),
    /// The defining query is not something a TVIEW can maintain.
    #[error("{0}")]
    Unsupported(String),
    /// The `options` argument is malformed.
    #[error("invalid TVIEW options: {0}")]
    Options(String),
    /// A key column named by the options (or the default `pk_<name>`) is not
    /// an output column of the query.
    #[error("key column \"{column}\" is not an output column of the query (output columns: {available}); name the key with options => '{{\"key\": [\"col\"]}}' or add a column named \"{column}\"")]
    MissingKey {
        /// The missing column.
        column: String,
        /// The columns the query does produce.
        available: String,
    },
    /// Creating the TVIEW would make the dependency graph cyclic.
    #[error(
        "TVIEW dependency cycle: {0}; a TVIEW cannot read itself, directly or through other TVIEWs"
    )]
    Cycle(String),
    /// What the extension stored for a TVIEW cannot be read back.
    #[error("{0}")]
    Catalog(String),
    /// A key value passed to `tviews.refresh_keys` has the wrong shape.
    #[error("invalid keys: {0}")]
    Keys(String),
}

/// Shorthand for this crate's results.
pub type Result<T> = std::result::Result<T, Error>;
