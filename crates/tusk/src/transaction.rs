//! Transactions and savepoints: commit, rollback, rollback when dropped.

use crate::client::Client;
use crate::error::{Error, ErrorKind};

/// Transaction isolation levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IsolationLevel {
    /// READ UNCOMMITTED (behaves as READ COMMITTED in PostgreSQL).
    ReadUncommitted,
    /// READ COMMITTED, the server's default.
    ReadCommitted,
    /// REPEATABLE READ.
    RepeatableRead,
    /// SERIALIZABLE.
    Serializable,
}

impl IsolationLevel {
    fn sql(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "READ UNCOMMITTED",
            IsolationLevel::ReadCommitted => "READ COMMITTED",
            IsolationLevel::RepeatableRead => "REPEATABLE READ",
            IsolationLevel::Serializable => "SERIALIZABLE",
        }
    }
}

/// Options for `BEGIN`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransactionOptions {
    /// Isolation level (server default when `None`).
    pub isolation: Option<IsolationLevel>,
    /// READ ONLY / READ WRITE.
    pub read_only: Option<bool>,
    /// DEFERRABLE (with SERIALIZABLE READ ONLY).
    pub deferrable: Option<bool>,
}

impl TransactionOptions {
    /// The `BEGIN` statement for these options, as
    /// [`Connection::transaction_with`](crate::Connection::transaction_with)
    /// sends it (for a caller that sends it its own way, then takes the
    /// block with [`Connection::transaction_begun`](crate::Connection::transaction_begun)).
    pub fn begin_sql(&self) -> String {
        let mut s = String::from("BEGIN");
        let mut modes = Vec::new();
        if let Some(i) = self.isolation {
            modes.push(format!("ISOLATION LEVEL {}", i.sql()));
        }
        match self.read_only {
            Some(true) => modes.push("READ ONLY".into()),
            Some(false) => modes.push("READ WRITE".into()),
            None => {}
        }
        match self.deferrable {
            Some(true) => modes.push("DEFERRABLE".into()),
            Some(false) => modes.push("NOT DEFERRABLE".into()),
            None => {}
        }
        if !modes.is_empty() {
            s.push(' ');
            s.push_str(&modes.join(", "));
        }
        s
    }
}

/// A transaction (or, nested, a savepoint).
///
/// Ends with [`commit`](Transaction::commit) or
/// [`rollback`](Transaction::rollback); dropped without either, it rolls
/// back (the ROLLBACK is queued and goes out with the connection's next
/// flight). It borrows its connection mutably, so nothing else can slip
/// statements into it; inside, queries may still run concurrently and are
/// pipelined.
pub struct Transaction<'c> {
    client: &'c Client,
    depth: u32,
    done: bool,
}

impl<'c> Transaction<'c> {
    pub(crate) async fn begin(
        client: &'c Client,
        opts: TransactionOptions,
    ) -> Result<Transaction<'c>, Error> {
        let mut tx = Transaction {
            client,
            depth: 0,
            done: false,
        };
        // If this future is dropped after BEGIN was queued, `tx` drops and
        // queues a ROLLBACK behind it: a half-begun transaction never leaks.
        client
            .simple_query(&opts.begin_sql())
            .await
            .inspect_err(|_| tx.done = true)?;
        Ok(tx)
    }

    pub(crate) fn client(&self) -> &Client {
        self.client
    }

    fn savepoint_name(&self) -> String {
        format!("tusk_sp_{}", self.depth)
    }

    /// Starts a nested transaction (a savepoint).
    pub async fn transaction(&mut self) -> Result<Transaction<'_>, Error> {
        let mut sp = Transaction {
            client: self.client,
            depth: self.depth + 1,
            done: false,
        };
        let sql = format!("SAVEPOINT {}", sp.savepoint_name());
        self.client
            .simple_query(&sql)
            .await
            .inspect_err(|_| sp.done = true)?;
        Ok(sp)
    }

    /// Starts a `COPY ... FROM STDIN` in this transaction (see
    /// [`crate::copy`]); rolled back with it.
    pub async fn copy_in(&self, sql: &str) -> Result<crate::copy::CopyInSink<'_>, Error> {
        self.client.copy_in(sql).await
    }

    /// Starts a `COPY ... TO STDOUT` in this transaction (see [`crate::copy`]).
    pub async fn copy_out(&self, sql: &str) -> Result<crate::copy::CopyOutStream<'_>, Error> {
        self.client.copy_out(sql).await
    }

    /// Opens a portal for `query` inside this transaction and fetches its
    /// first batch of at most `fetch_size` rows; the next batches come one
    /// round trip each, on demand (see [`Portal`](crate::Portal)). The
    /// portal borrows the connection, not the transaction: it may be open
    /// when the transaction commits or rolls back (it then ends).
    ///
    /// ```no_run
    /// # async fn run(conn: &mut tusk::Connection) -> Result<(), tusk::Error> {
    /// use futures_util::StreamExt;
    /// let tx = conn.transaction().await?;
    /// let mut rows = tx.query_portal("SELECT generate_series(1, $1)", &[&1_000_000i32], 500).await?;
    /// while let Some(row) = rows.next().await {
    ///     let n: i32 = row?.get(0);
    /// #   let _ = n;
    /// }
    /// drop(rows);
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn query_portal<'a>(
        &'a self,
        query: impl crate::IntoQuery<'a>,
        params: &'a [crate::Param<'a>],
        fetch_size: u32,
    ) -> Result<crate::Portal<'c>, Error> {
        self.client
            .query_portal(&query.into_query(), params, fetch_size)
            .await
    }

    /// `DECLARE`s a cursor named `name` (quoted: used as given) for `sql`
    /// with `params` in this transaction; `hold`: `WITH HOLD`, so that it
    /// outlives the transaction (see [`Cursor`](crate::Cursor)).
    pub async fn declare_cursor(
        &self,
        name: &str,
        sql: &str,
        params: &[crate::Param<'_>],
        hold: bool,
    ) -> Result<crate::Cursor<'c>, Error> {
        self.client.declare_cursor(name, sql, params, hold).await
    }

    /// Commits (or releases the savepoint).
    pub async fn commit(mut self) -> Result<(), Error> {
        self.done = true;
        if self.depth == 0 {
            let msgs = self.client.simple_query("COMMIT").await?;
            // COMMIT of a failed transaction answers ROLLBACK: say so.
            let rolled_back = msgs.iter().any(|m| {
                matches!(m, crate::engine::SimpleQueryMessage::CommandComplete { tag, .. } if tag == "ROLLBACK")
            });
            if rolled_back {
                return Err(Error::new(
                    ErrorKind::Database,
                    "COMMIT rolled the transaction back because a statement in it had failed",
                ));
            }
            Ok(())
        } else {
            let sql = format!("RELEASE SAVEPOINT {}", self.savepoint_name());
            self.client.simple_query(&sql).await.map(|_| ())
        }
    }

    /// Rolls back (to the savepoint, for a nested transaction).
    pub async fn rollback(mut self) -> Result<(), Error> {
        self.done = true;
        let sql = self.rollback_sql();
        self.client.simple_query(&sql).await.map(|_| ())
    }

    fn rollback_sql(&self) -> String {
        if self.depth == 0 {
            "ROLLBACK".into()
        } else {
            let n = self.savepoint_name();
            format!("ROLLBACK TO SAVEPOINT {n}; RELEASE SAVEPOINT {n}")
        }
    }
}

impl crate::Connection {
    /// A [`Transaction`] for the transaction block this connection is in,
    /// opened by a `BEGIN` sent as a plain statement (by a pool that runs
    /// the `BEGIN` through its own path, which may run it again on another
    /// connection): it ends with [`commit`](Transaction::commit) or
    /// [`rollback`](Transaction::rollback), and rolls back when dropped,
    /// as one from [`transaction`](crate::Connection::transaction) does.
    /// With no transaction block open (the status of the last answer is
    /// idle) it fails with
    /// [`ErrorKind::NotInTransaction`](crate::ErrorKind::NotInTransaction)
    /// and nothing is sent.
    pub fn transaction_begun(&mut self) -> Result<Transaction<'_>, Error> {
        if self.transaction_status() == crate::TransactionStatus::Idle {
            return Err(Error::new(
                crate::ErrorKind::NotInTransaction,
                "no transaction block is open on this connection (send BEGIN first)",
            ));
        }
        Ok(Transaction {
            client: self.client(),
            depth: 0,
            done: false,
        })
    }

    /// Queues a `ROLLBACK` that nobody waits for: it goes out with the
    /// next write. For a caller that sent a `BEGIN` itself and gave up on
    /// it before taking the block with
    /// [`transaction_begun`](crate::Connection::transaction_begun) (its
    /// future dropped before the answer came): what runs next on the
    /// connection then runs outside that block. With no block open the
    /// server only warns.
    pub fn queue_rollback(&self) {
        self.client().fire_and_forget("ROLLBACK");
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done {
            let sql = self.rollback_sql();
            self.client.fire_and_forget(&sql);
        }
    }
}

impl crate::Executor for Transaction<'_> {
    fn run<'a>(
        &'a self,
        request: crate::executor::Request<'a>,
    ) -> impl std::future::Future<Output = Result<crate::executor::Reply, Error>> + Send + 'a {
        crate::executor::run_on(self.client(), request)
    }
}

impl crate::Prepare for Transaction<'_> {
    fn prepare_typed<'a>(
        &'a self,
        sql: &'a str,
        types: &'a [crate::Type],
    ) -> impl std::future::Future<Output = Result<crate::Statement, Error>> + Send + 'a {
        self.client().prepare(sql, types)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn begin_sql() {
        assert_eq!(TransactionOptions::default().begin_sql(), "BEGIN");
        let o = TransactionOptions {
            isolation: Some(IsolationLevel::Serializable),
            read_only: Some(true),
            deferrable: Some(true),
        };
        assert_eq!(
            o.begin_sql(),
            "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE"
        );
    }
}
