//! What a query method takes: SQL text or a prepared statement, with
//! per-query options.

use std::time::Duration;

use crate::statement::Statement;

/// Per-query options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOptions {
    /// Use the statement cache (default: yes, unless the connection is in
    /// pooler mode or its cache capacity is 0).
    pub cache: Option<bool>,
    /// Ask for every column in text format (read with [`Row::get_text`](crate::Row::get_text)).
    pub text: bool,
    /// Cancel the query on the server if it runs longer than this.
    pub timeout: Option<Duration>,
}

/// A query: SQL text or a prepared statement, plus options.
///
/// Every query method takes `impl IntoQuery`: a `&str`, a `&String`, a
/// `&Statement`, or a `Query` built with options:
///
/// ```
/// use std::time::Duration;
/// let q = tusk::Query::new("SELECT pg_sleep(1)")
///     .timeout(Duration::from_millis(100))
///     .uncached();
/// ```
#[derive(Debug, Clone)]
pub struct Query<'a> {
    pub(crate) sql: &'a str,
    pub(crate) stmt: Option<&'a Statement>,
    pub(crate) opts: QueryOptions,
    /// Bind into this named portal and Execute at most this many rows (a
    /// [`Portal`](crate::Portal)); `None`: the unnamed portal, all rows.
    pub(crate) portal: Option<(&'a str, i32)>,
    /// A `DECLARE` whose caller may go away before its answer: it gets a
    /// barrier and a bare Sync behind it, where the engine closes the
    /// cursor if it was declared (see `engine::guard`).
    pub(crate) declare_guard: bool,
}

impl<'a> Query<'a> {
    /// A query from SQL text.
    pub fn new(sql: &'a str) -> Query<'a> {
        Query {
            sql,
            stmt: None,
            opts: QueryOptions::default(),
            portal: None,
            declare_guard: false,
        }
    }

    /// A query from a prepared statement.
    pub fn statement(stmt: &'a Statement) -> Query<'a> {
        Query {
            sql: "",
            stmt: Some(stmt),
            opts: QueryOptions::default(),
            portal: None,
            declare_guard: false,
        }
    }

    /// The SQL text; `None` for a query made from a prepared [`Statement`].
    pub fn sql(&self) -> Option<&'a str> {
        self.stmt.is_none().then_some(self.sql)
    }

    /// The options set on this query.
    pub fn query_options(&self) -> &QueryOptions {
        &self.opts
    }

    /// Skips the statement cache: an unnamed statement, still one round trip.
    pub fn uncached(mut self) -> Self {
        self.opts.cache = Some(false);
        self
    }

    /// Asks for text-format results.
    pub fn text(mut self) -> Self {
        self.opts.text = true;
        self
    }

    /// Cancels the query on the server after `d` (the error's kind is
    /// `Timeout`). The timeout is this query's alone: queued behind another
    /// caller's query on the same connection, it waits for that query
    /// (never canceling or failing it) and is canceled as soon as it
    /// starts if its time is up by then. When its cancel does not take
    /// effect within a grace period (behind a transaction pooler that
    /// still queues the query, say), it fails alone with a `Timeout` error
    /// saying the statement may still run, and its answer is discarded
    /// when it comes; inside a transaction block the connection is closed
    /// instead (the server rolls the transaction back), so that a later
    /// COMMIT cannot commit a statement reported failed.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.opts.timeout = Some(d);
        self
    }

    /// The portal its Bind names ("": the unnamed one).
    pub(crate) fn portal_name(&self) -> &'a str {
        self.portal.map_or("", |(name, _)| name)
    }

    /// The row limit of its Execute (0: all rows).
    pub(crate) fn max_rows(&self) -> i32 {
        self.portal.map_or(0, |(_, n)| n)
    }

    /// Replaces all options.
    pub fn options(mut self, opts: QueryOptions) -> Self {
        self.opts = opts;
        self
    }
}

/// Anything a query method accepts as its query.
pub trait IntoQuery<'a> {
    /// Converts into a [`Query`].
    fn into_query(self) -> Query<'a>;
}

impl<'a> IntoQuery<'a> for &'a str {
    fn into_query(self) -> Query<'a> {
        Query::new(self)
    }
}

impl<'a> IntoQuery<'a> for &'a String {
    fn into_query(self) -> Query<'a> {
        Query::new(self)
    }
}

impl<'a> IntoQuery<'a> for &'a Statement {
    fn into_query(self) -> Query<'a> {
        Query::statement(self)
    }
}

impl<'a> IntoQuery<'a> for Query<'a> {
    fn into_query(self) -> Query<'a> {
        self
    }
}

impl<'a> IntoQuery<'a> for &Query<'a> {
    fn into_query(self) -> Query<'a> {
        self.clone()
    }
}
