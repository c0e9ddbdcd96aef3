//! The support behind `#[tusk::test]` (feature `test`): a fresh database
//! per test, cloned from a template that the migrations built once.
//! `docs/testing.md` has the whole story; in short:
//!
//! ```no_run
//! # mod m {
//! use tusk::Executor;
//!
//! // Its own database, cloned from a template built from ./migrations
//! // (when that directory exists), with tests/fixtures/users.sql applied.
//! #[tusk::test(fixtures = ["users.sql"])]
//! async fn counts_users(pool: tusk::Pool) -> Result<(), tusk::Error> {
//!     let n: i64 = pool.query_scalar("SELECT count(*) FROM users", &[]).await?;
//!     assert_eq!(n, 2);
//!     Ok(())
//! }
//!
//! // One connection in a transaction, rolled back at the end.
//! #[tusk::test(transaction)]
//! async fn in_a_transaction(tx: &mut tusk::Transaction<'_>) -> Result<(), tusk::Error> {
//!     tx.execute("INSERT INTO users (name) VALUES ('eve')", &[]).await?;
//!     Ok(())
//! }
//! # }
//! ```
//!
//! | | |
//! |---|---|
//! | Server | `DATABASE_URL` (any database on the server; the harness creates and drops databases there), else a throwaway cluster of the test process's own ([`tusk_testkit`]) |
//! | Template | `tusk_tpl_<fingerprint of the migrations>_<role>`, built once per `DATABASE_URL` role (its tables are the role's) (each builder builds under a name of its own and renames the finished template into place: no lock), marked `IS_TEMPLATE` only when complete, reused while the migrations are unchanged |
//! | Database | `tusk_test_<hash of the test's path>_<random>` per test (`CREATE DATABASE .. TEMPLATE`), commented with the test's path; dropped after a pass, kept (and named on stderr) after a failure |
//! | Arguments | by type: [`Pool`](crate::Pool), [`Connection`](crate::Connection), [`TestDatabase`]; in transaction mode `&mut tusk::Transaction<'_>` or `&tusk::Connection` |
//! | Transaction mode | `#[tusk::test(transaction)]`: one connection to a database shared by such tests (`tusk_tx_<fingerprint>`), `BEGIN`, fixtures, the test, `ROLLBACK`; the test's own `tx.transaction()` is a savepoint |
//! | Fixtures | `fixtures = ["a.sql", "b.sql"]`: files in `tests/fixtures` (`fixtures_dir = ".."` to change; relative to `Cargo.toml`), embedded at compile time, run in order |
//! | Migrations | `./migrations` when it exists; `migrations = "db/migrations"` to name another, `migrations = false` for none |
//! | Leaks | at the end, every pooled connection must be back within 2 s; else the test fails, saying where the connection was taken |
//! | Results | a test returns `()` or `Result<(), E: Debug>` |
//! | Snapshots | feature `insta`: [`assert_query_snapshot!`](crate::assert_query_snapshot) with insta's redactions |

//! Mistakes are compile errors that say what to write instead (an
//! argument type the harness cannot make too, when the tests are built:
//! "`#[tusk::test]` cannot pass a `i32`"): a
//! reference argument without `transaction`,
//!
//! ```compile_fail
//! #[tusk::test(migrations = false)]
//! async fn t(tx: &mut tusk::Transaction<'_>) {}
//! ```
//!
//! a fixture that is not there,
//!
//! ```compile_fail
//! #[tusk::test(migrations = false, fixtures = ["no_such_file.sql"])]
//! async fn t(pool: tusk::Pool) {}
//! ```
//!
//! or a test that is not `async`:
//!
//! ```compile_fail
//! #[tusk::test(migrations = false)]
//! fn t(pool: tusk::Pool) {}
//! ```

mod harness;
mod server;
mod snapshot;
mod template;

use std::future::Future;

pub use harness::{Harness, TestSpec};
pub use server::{server_url, DATABASE_URL};
pub use snapshot::{snapshot_rows, SnapshotRows};

#[cfg(feature = "insta")]
#[doc(hidden)]
pub use insta;

/// A value a `#[tusk::test]` function can take as an argument (by value).
#[diagnostic::on_unimplemented(
    message = "`#[tusk::test]` cannot pass a `{Self}`",
    note = "take `tusk::Pool`, `tusk::Connection` or `tusk::testing::TestDatabase`; in transaction mode, `&mut tusk::Transaction<'_>` or `&tusk::Connection`"
)]
pub trait TestArg: Sized {
    /// Makes the argument for the test (panics, failing the test, when it
    /// cannot).
    fn test_arg(harness: &Harness) -> impl Future<Output = Self>;
}

impl TestArg for crate::Pool {
    fn test_arg(harness: &Harness) -> impl Future<Output = Self> {
        let pool = harness.pool();
        async move { pool }
    }
}

impl TestArg for crate::Connection {
    async fn test_arg(harness: &Harness) -> Self {
        harness.refuse_in_transaction_mode("tusk::Connection");
        harness.connect().await
    }
}

/// The test's database: its name and connection settings (to hand to the
/// code under test, a subprocess, or a pool configured your way).
#[derive(Debug, Clone)]
pub struct TestDatabase {
    name: String,
    config: crate::Config,
}

impl TestDatabase {
    /// The database's name (`tusk_test_..`, or `tusk_tx_..` in
    /// transaction mode).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connection settings for it.
    pub fn config(&self) -> &crate::Config {
        &self.config
    }
}

impl TestArg for TestDatabase {
    async fn test_arg(harness: &Harness) -> Self {
        TestDatabase {
            name: harness.database().to_owned(),
            config: harness.config().clone(),
        }
    }
}

/// What a `#[tusk::test]` function may return: `()`, or a `Result` whose
/// error fails the test (shown with `Debug`).
pub trait TestResult {
    /// `Err(message)` for a failure.
    fn into_result(self) -> Result<(), String>;
}

impl TestResult for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Debug> TestResult for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|e| format!("{e:?}"))
    }
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}
