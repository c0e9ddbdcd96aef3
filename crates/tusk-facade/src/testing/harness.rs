//! One test's run: its runtime, its database, its checks at the end.

use std::any::Any;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use driver::{Config, Connection, Executor, Transaction, TransactionStatus};
use tusk_migrate::{MigrateError, Migrations};
use tusk_pool::{Pool, PoolConfig};

use super::{quote_ident, server, template, TestResult};

/// What `#[tusk::test]` knows about a test at compile time. Made by the
/// macro; not meant to be written by hand.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct TestSpec {
    /// `module::path::test_name`.
    pub name: &'static str,
    /// The embedded migrations, if any.
    pub migrations: Option<fn() -> Result<Migrations, MigrateError>>,
    /// `(file name, contents)` of each fixture, in order.
    pub fixtures: &'static [(&'static str, &'static str)],
    /// Transaction mode: one connection, everything rolled back.
    pub transaction: bool,
}

/// How long the end-of-test check waits for pooled connections to come
/// back (a connection is returned by a task after its holder drops it).
const RETURN_GRACE: Duration = Duration::from_secs(2);

/// A connection held longer than this is reported with where it was taken.
const LEAK_THRESHOLD: Duration = Duration::from_millis(500);

/// One test's database and runtime. Made by `#[tusk::test]`.
#[doc(hidden)]
pub struct Harness {
    spec: TestSpec,
    admin: Config,
    /// The database the test runs in (its own, or in transaction mode the
    /// shared one).
    db: String,
    db_config: Config,
    pool: OnceLock<Pool>,
    // Last: dropped after the pool, whose supervisor runs on it.
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("test", &self.spec.name)
            .field("database", &self.db)
            .field("transaction", &self.spec.transaction)
            .finish()
    }
}

impl Harness {
    /// Builds the template if needed and a database for the test; panics
    /// (failing the test) with what went wrong.
    pub fn setup(spec: TestSpec) -> Harness {
        match Harness::try_setup(spec) {
            Ok(h) => h,
            Err(e) => panic!("tusk::test {}: setup failed: {e}", spec.name),
        }
    }

    fn try_setup(spec: TestSpec) -> Result<Harness, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("starting a tokio runtime: {e}"))?;
        let url = server::server_url()?;
        let admin = Config::parse(&url).map_err(|e| format!("{}: {e}", server::DATABASE_URL))?;
        let migrations = match spec.migrations {
            Some(load) => load().map_err(|e| format!("reading the migrations: {e}"))?,
            None => Migrations::default(),
        };
        let db = rt.block_on(async {
            let conn = driver::connect_with(&admin)
                .await
                .map_err(|e| format!("connecting to the server: {e}"))?;
            refuse_a_pooler(&conn, &admin).await?;
            let tpl = template::ensure(&conn, &admin, &migrations).await?;
            if spec.transaction {
                return template::ensure_shared(&conn, &tpl).await;
            }
            let name = format!("tusk_test_{:08x}_{}", fnv32(spec.name), random_hex());
            template::clone(&conn, &name, &tpl).await?;
            // Says whose it is, for someone looking at a kept one.
            conn.simple_query(&format!(
                "COMMENT ON DATABASE {} IS {}",
                quote_ident(&name),
                quote_literal(&format!("tusk::test {}", spec.name)),
            ))
            .await
            .map_err(|e| format!("commenting on the test database {name}: {e}"))?;
            Ok(name)
        })?;
        let mut db_config = admin.clone();
        db_config.set_dbname(&db);
        let h = Harness {
            spec,
            admin,
            db,
            db_config,
            pool: OnceLock::new(),
            rt,
        };
        if !spec.transaction && !spec.fixtures.is_empty() {
            let applied = h.rt.block_on(async {
                let conn = driver::connect_with(&h.db_config)
                    .await
                    .map_err(|e| format!("connecting to {}: {e}", h.db))?;
                apply_fixtures(&conn, spec.fixtures).await
            });
            if let Err(e) = applied {
                h.finish(true);
                return Err(e);
            }
        }
        Ok(h)
    }

    /// The test database's name.
    pub fn database(&self) -> &str {
        &self.db
    }

    /// The connection settings of the test database.
    pub fn config(&self) -> &Config {
        &self.db_config
    }

    /// Whether this is a transaction-mode test.
    pub fn is_transaction(&self) -> bool {
        self.spec.transaction
    }

    /// The test's pool (made on first use; the same pool for every call).
    pub fn pool(&self) -> Pool {
        self.refuse_in_transaction_mode("tusk::Pool");
        // The pool's supervisor is a task of the test's runtime, also when
        // asked for outside `block_on`.
        let _runtime = self.rt.enter();
        self.pool
            .get_or_init(|| {
                let config = PoolConfig {
                    connect: self.db_config.clone(),
                    name: "tusk-test".into(),
                    leak_detection_threshold: Some(LEAK_THRESHOLD),
                    ..PoolConfig::default()
                };
                Pool::new(config).unwrap_or_else(|e| {
                    panic!("tusk::test {}: making the pool: {e}", self.spec.name)
                })
            })
            .clone()
    }

    /// A new connection to the test database.
    pub async fn connect(&self) -> Connection {
        driver::connect_with(&self.db_config)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "tusk::test {}: connecting to {}: {e}",
                    self.spec.name, self.db
                )
            })
    }

    /// Panics in transaction mode, where the test gets one connection.
    pub fn refuse_in_transaction_mode(&self, what: &str) {
        if self.spec.transaction {
            panic!(
                "tusk::test {}: a transaction-mode test gets one connection in a transaction that \
                 is rolled back at the end; take `&mut tusk::Transaction<'_>` or \
                 `&tusk::Connection`, not `{what}` (or drop `transaction` from #[tusk::test] to \
                 get a database of the test's own)",
                self.spec.name
            );
        }
    }

    /// Transaction mode: `BEGIN` on `conn`, then the fixtures in it.
    pub async fn begin<'c>(&self, conn: &'c mut Connection) -> Transaction<'c> {
        let tx = conn
            .transaction()
            .await
            .unwrap_or_else(|e| panic!("tusk::test {}: BEGIN: {e}", self.spec.name));
        if let Err(e) = tx.simple_query(MARK_SQL).await {
            panic!(
                "tusk::test {}: marking the transaction: {e}",
                self.spec.name
            );
        }
        if let Err(e) = apply_fixtures(&tx, self.spec.fixtures).await {
            panic!("tusk::test {}: {e}", self.spec.name);
        }
        tx
    }

    /// Transaction mode: rolls back what the test did.
    pub async fn rollback(&self, tx: Transaction<'_>) {
        if !still_ours(&tx).await {
            // ROLLBACK anyway, so the connection is left idle.
            let _ = tx.rollback().await;
            self.ended_transaction();
        }
        if let Err(e) = tx.rollback().await {
            panic!("tusk::test {}: ROLLBACK: {e}", self.spec.name);
        }
    }

    /// Transaction mode with `&tusk::Connection`: `BEGIN` as a statement,
    /// then the fixtures.
    pub async fn begin_on(&self, conn: &Connection) {
        if let Err(e) = conn.simple_query(&format!("BEGIN; {MARK_SQL}")).await {
            panic!("tusk::test {}: BEGIN: {e}", self.spec.name);
        }
        if let Err(e) = apply_fixtures(conn, self.spec.fixtures).await {
            panic!("tusk::test {}: {e}", self.spec.name);
        }
    }

    /// Transaction mode with `&tusk::Connection`: fails the test if it
    /// ended the harness's transaction (its changes were committed to the
    /// shared database), else rolls back.
    pub async fn rollback_on(&self, conn: &Connection) {
        if conn.transaction_status() == TransactionStatus::Idle || !still_ours(conn).await {
            let _ = conn.simple_query("ROLLBACK").await;
            self.ended_transaction();
        }
        if let Err(e) = conn.simple_query("ROLLBACK").await {
            panic!("tusk::test {}: ROLLBACK: {e}", self.spec.name);
        }
    }

    /// Fails a transaction-mode test that ended the harness's transaction.
    fn ended_transaction(&self) -> ! {
        panic!(
            "tusk::test {}: the test ended the harness's transaction (COMMIT or ROLLBACK, \
             perhaps followed by a new BEGIN), so what it did after that was committed to the \
             shared database {}; use `tx.transaction()` (a savepoint) for nested transactions, \
             or drop `transaction` from #[tusk::test] to get a database of the test's own",
            self.spec.name, self.db
        );
    }

    /// Runs the test's future, then the end-of-test checks; drops the
    /// database after a pass, keeps it (and says where) after a failure,
    /// then passes the failure on.
    pub fn run_test<R: TestResult>(self, body: impl FnOnce(&Harness) -> R) {
        let outcome = catch_unwind(AssertUnwindSafe(|| body(&self)));
        let failure: Option<Failure> = match outcome {
            Ok(r) => r.into_result().err().map(Failure::Returned),
            Err(payload) => Some(Failure::Panicked(payload)),
        };
        let failure =
            failure.or_else(|| self.rt.block_on(self.check_returned()).map(Failure::Leak));
        self.finish(failure.is_some());
        match failure {
            None => {}
            Some(Failure::Panicked(payload)) => resume_unwind(payload),
            Some(Failure::Returned(e)) => panic!(
                "tusk::test {}: the test returned an error: {e}",
                self.spec.name
            ),
            Some(Failure::Leak(e)) => panic!("tusk::test {}: {e}", self.spec.name),
        }
    }

    /// Runs a future on the test's runtime.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    /// `Some(message)` when a pooled connection is still checked out after
    /// the grace period.
    async fn check_returned(&self) -> Option<String> {
        let pool = self.pool.get()?;
        let deadline = Instant::now() + RETURN_GRACE;
        loop {
            let out = pool.stats().in_use;
            if out == 0 {
                return None;
            }
            if Instant::now() >= deadline {
                let mut msg = format!(
                    "{out} pooled connection(s) still checked out {RETURN_GRACE:?} after the test \
                     returned (held in a spawned task, a static, or forgotten with mem::forget?)"
                );
                for leak in pool.leaks() {
                    msg.push_str(&format!("\n  taken at {}", leak.location));
                }
                return Some(msg);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Closes the pool, then drops the database (passed) or keeps it.
    fn finish(&self, failed: bool) {
        if let Some(pool) = self.pool.get() {
            self.rt.block_on(pool.close(Duration::from_millis(200)));
        }
        if self.spec.transaction {
            return;
        }
        if failed {
            eprintln!("{}", self.kept_message());
            return;
        }
        let dropped = self.rt.block_on(async {
            let conn = driver::connect_with(&self.admin).await?;
            conn.simple_query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&self.db)
            ))
            .await
        });
        if let Err(e) = dropped {
            eprintln!(
                "tusk::test {}: the test passed but its database {} could not be dropped: {e}",
                self.spec.name, self.db
            );
        }
    }

    fn kept_message(&self) -> String {
        if server::is_throwaway() {
            format!(
                "tusk::test {}: kept the database {} for inspection, on the throwaway cluster \
                 (gone when the test process exits; set {} to keep it): {}",
                self.spec.name,
                self.db,
                server::DATABASE_URL,
                server::server_url()
                    .map(|u| with_dbname(&u, &self.db))
                    .unwrap_or_default()
            )
        } else {
            format!(
                "tusk::test {}: kept the database {} for inspection on the {} server \
                 (drop it with: DROP DATABASE \"{}\")",
                self.spec.name,
                self.db,
                server::DATABASE_URL,
                self.db
            )
        }
    }
}

enum Failure {
    Panicked(Box<dyn Any + Send>),
    Returned(String),
    Leak(String),
}

/// Refuses a server reached through a transaction- or statement-mode
/// pooler (PgBouncer): the harness migrates and clones databases, which
/// needs sessions of its own (the migrations' lock; no other session on a
/// template while it is cloned), and such a pooler keeps server sessions
/// open on them. Found when a second connection is served by the same
/// server process as the first, idle one; checked once per process.
async fn refuse_a_pooler(conn: &Connection, admin: &Config) -> Result<(), String> {
    static CHECKED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    if *CHECKED.lock().unwrap_or_else(|p| p.into_inner()) {
        return Ok(());
    }
    // The simple protocol: a pooler's server connections may already hold
    // another client's named prepared statements.
    async fn backend_pid(c: &Connection) -> Result<Option<String>, String> {
        let msgs = c
            .simple_query("SELECT pg_backend_pid()")
            .await
            .map_err(|e| format!("asking the server for its process id: {e}"))?;
        Ok(msgs.iter().find_map(|m| match m {
            driver::SimpleQueryMessage::Row(r) => {
                r.get_text(0usize).ok().flatten().map(str::to_owned)
            }
            _ => None,
        }))
    }
    let first = backend_pid(conn).await?;
    let other = driver::connect_with(admin)
        .await
        .map_err(|e| format!("connecting to the server: {e}"))?;
    let second = backend_pid(&other).await?;
    let _ = other.close().await;
    if first == second {
        return Err(format!(
            "{} reaches PostgreSQL through a transaction- or statement-mode pooler (two \
             connections were served by the same server process, {}): #[tusk::test] \
             migrates and clones databases, which needs sessions such a pooler does not keep; \
             point {} at PostgreSQL directly or at a session-mode pool",
            server::DATABASE_URL,
            first.unwrap_or_default(),
            server::DATABASE_URL
        ));
    }
    *CHECKED.lock().unwrap_or_else(|p| p.into_inner()) = true;
    Ok(())
}

/// Marks the harness's transaction with a transaction-local setting: a
/// COMMIT or ROLLBACK by the test (even followed by a new BEGIN) clears it.
const MARK_SQL: &str = "SELECT set_config('tusk.test_transaction', 'open', true)";

/// Whether the transaction `db` is in is still the harness's (its mark is
/// set; an aborted one cannot be asked, and was not ended).
async fn still_ours(db: &impl Executor) -> bool {
    match db
        .query_scalar::<bool>(
            "SELECT coalesce(current_setting('tusk.test_transaction', true), '') = 'open'",
            &[],
        )
        .await
    {
        Ok(ours) => ours,
        Err(e) => e.code() == Some(driver::SqlState::IN_FAILED_SQL_TRANSACTION),
    }
}

/// Runs each fixture as one simple-query script.
async fn apply_fixtures(
    db: &impl Executor,
    fixtures: &[(&'static str, &'static str)],
) -> Result<(), String> {
    for (name, sql) in fixtures {
        db.simple_query(sql)
            .await
            .map_err(|e| match error_line(&e, sql) {
                Some(line) => format!("fixture {name}, line {line}: {e}"),
                None => format!("fixture {name}: {e}"),
            })?;
    }
    Ok(())
}

/// The 1-based line of `sql` the server's error position points at.
fn error_line(e: &driver::Error, sql: &str) -> Option<usize> {
    let Some(driver::error::ErrorPosition::Original(at)) = e.as_db_error()?.position else {
        return None;
    };
    // The position counts characters, from 1.
    let before = usize::try_from(at).ok()?.checked_sub(1)?;
    Some(sql.chars().take(before).filter(|&c| c == '\n').count() + 1)
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// 32-bit FNV-1a of the test's name, to spot its databases (and of the
/// role, in template names).
pub(crate) fn fnv32(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Twelve random hex digits.
pub(crate) fn random_hex() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// `url` with its database replaced (URL form), or `dbname=` appended
/// (key=value form).
fn with_dbname(url: &str, db: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let query = rest.find('?').map_or("", |q| &rest[q..]);
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        format!("{}{authority}/{db}{query}", &url[..scheme_end + 3])
    } else {
        format!("{url} dbname={db}")
    }
}
