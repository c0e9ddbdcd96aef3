//! Migrations and seeds for PostgreSQL, on the tusk driver.
//!
//! ```no_run
//! use tusk_migrate::{Migrations, Migrator, Options, LockMode};
//!
//! # async fn run() -> Result<(), tusk_migrate::MigrateError> {
//! let config = tusk::Config::parse("postgresql://deployer@db.internal/app")?;
//! // From disk; in a binary, `tusk::migrate!("migrations")?` embeds the same files.
//! let migrations = Migrations::from_dir("migrations")?;
//! let mut options = Options::default();
//! options.lock_timeout = Some(std::time::Duration::from_secs(2));
//! let migrator = Migrator::with_options(migrations, options);
//! for step in migrator.plan_up(&config, None).await? {
//!     println!("would apply {} {} ({} statements)", step.version, step.name, step.statements);
//! }
//! migrator.up(&config).await?;
//! # Ok(()) }
//! ```
//!
//! | | |
//! |---|---|
//! | Files | `NNNN_name.up.sql`, optional `NNNN_name.down.sql`; a misnamed `.sql` file is an error, not skipped ([`Migrations`]) |
//! | Embedded | `tusk::migrate!("migrations")` includes the files at compile time; the same parser reads them ([`Migrations::from_files`]) |
//! | History | `tusk_migrations` (version, name, checksum, applied_at, duration_ms, applied_by) in a configurable schema ([`Options::schema`]) |
//! | Checksums | SHA-256 with line endings and trailing spaces normalized; a changed applied migration refuses every command until [`Migrator::repair`] |
//! | Locking | one pinned session holding a session advisory lock ([`LockMode::Session`]), checked before every script; a waiting deployer names the holder; refused with a clear error through a transaction-mode pooler, where [`LockMode::Transaction`] works |
//! | Transactions | each script in its own; `-- tusk:no-transaction` as the first line runs it statement by statement, and is required (checked with the driver's lexer) for `CREATE INDEX CONCURRENTLY` and the like |
//! | Timeouts | `lock_timeout` 5 s (a migration that hits it runs again, 3 times) and `statement_timeout` 10 min by default; `client_connection_check_interval` 1 s, so a killed deployer's statement stops ([`Options`]) |
//! | Order | out-of-order versions refused unless [`Options::allow_out_of_order`] |
//! | Errors | a failing statement rolls its script back and is reported with the file, `line:column` of the server's error position, and the statement ([`StatementError`]) |
//! | Dry run | [`Migrator::plan_up`], [`Migrator::plan_down`], [`Migrator::plan_redo`], `repair(.., true)` |
//! | Lint | [`lint::lint`]: DDL hazards with rule ids ([`lint::RULES`]) and `-- tusk:lint-ignore RULE` |
//! | Seeds | [`Seeder`]: `seeds/*.sql` in order, once each, in `tusk_seeds` |
//!
//! `docs/migrations.md` has the command line (`tusk migrate ..`, `tusk seed`) and examples.

#![warn(missing_docs)]

pub mod checksum;
mod error;
mod history;
pub mod lint;
mod migrator;
mod options;
pub mod plan;
mod quote;
mod script;
mod seed;
mod session;
mod source;
pub mod split;

pub use error::{Changed, MigrateError, StatementError};
pub use migrator::{DoneStep, Migrator, PlannedStep};
pub use options::{Event, LockMode, Observer, Options};
pub use plan::{Applied, State, StatusEntry};
pub use script::{Script, NO_TRANSACTION};
pub use seed::{Seed, SeedReport, Seeder};
pub use source::{next_version, valid_name, Migration, Migrations};
