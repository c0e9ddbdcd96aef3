//! The `tusk` command line, as a library: the binary parses its arguments
//! into a [`Cli`] and calls [`run`]; tests call it the same way.
//!
//! ```no_run
//! use clap::Parser;
//!
//! # fn main() -> Result<(), tusk_cli::Error> {
//! // With no --url and no DATABASE_URL this starts the development cluster.
//! let cli = tusk_cli::Cli::parse_from(["tusk", "query", "--json", "SELECT $1::int + 1 AS n", "41"]);
//! let mut out = Vec::new();
//! let code = tusk_cli::run(cli, &mut out, &mut std::io::sink())?;
//! assert_eq!(code, 0);
//! assert_eq!(String::from_utf8_lossy(&out), "{\"n\":42}\n");
//! # Ok(()) }
//! ```
//!
//! | command | what it does |
//! |---|---|
//! | `tusk query SQL [PARAM...]` | runs one statement; rows as an aligned table, or with `--json` one JSON object per row ([`json`] has the mapping) |
//! | `tusk ping` | connects, runs `SELECT 1`, prints the server version and the timings |
//! | `tusk dev start\|stop\|status` | a persistent local PostgreSQL for development ([`dev`]) |
//! | `tusk metrics --serve ADDR` | a connection pool's Prometheus metrics on `/metrics` and its health on `/health`, over HTTP ([`metrics`]) |
//! | `tusk migrate new\|up\|down\|status\|redo\|repair\|lint` | versioned SQL migrations: a checksummed history, one locked session, a transaction per script, `--dry-run`, a DDL linter ([`migrate`], `docs/migrations.md`) |
//! | `tusk seed` | applies `seeds/*.sql` in order, once each ([`migrate`]) |
//! | `tusk cron add\|list\|run\|pause\|resume\|remove\|history\|prune\|worker\|next` | jobs in a table on a cron schedule, run by any number of workers ([`cron`], `docs/cron.md`) |
//! | `tusk inspect [--json] [--schema NAME] [--diff URL_A URL_B]` | what a database holds, read from pg_catalog in one round trip, or the drift between two ([`inspect`]) |
//! | `tusk listen CHANNEL... [--json] [--count N]` | notifications as they arrive, one per line (JSON lines with `--json`), surviving reconnects ([`listen`]) |
//! | `tusk copy in TABLE \| copy out (TABLE \| --query SQL)` | COPY with a file or stdin/stdout, text/csv/binary, a progress line on a terminal ([`copy`]) |
//! | `tusk doctor [--json] [--pool-size N] [--instances N]` | the server's version and the settings that matter (timeouts, connections against the pools, TLS, password hashing, memory), each finding with why and what to do ([`doctor`]) |
//! | `tusk completions bash\|zsh\|fish\|elvish\|powershell` | a shell completion script on stdout (clap_complete) |
//! | `tusk lite serve --data DIR --listen ADDR [--password-file FILE]` | serves the embedded engine tusk-lite over TCP, trusting every client or requiring SCRAM-SHA-256 passwords (built with `--features lite`; [`lite`]) |
//!
//! The connection URL comes from `--url`, else `DATABASE_URL`, else the
//! development cluster, started on demand; with the `lite` feature,
//! `lite:memory` and `lite:///path/to/dir` open an embedded tusk-lite
//! database in the process. `docs/cli.md` has the details.

#![warn(missing_docs)]

pub mod copy;
pub mod cron;
pub mod dev;
pub mod doctor;
mod error;
pub mod inspect;
pub mod json;
pub mod listen;
pub mod lite;
pub mod metrics;
pub mod migrate;
mod ping;
mod query;
pub mod table;

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use error::Error;

/// `tusk`: PostgreSQL from the command line.
#[derive(Debug, Parser)]
#[command(name = "tusk", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one SQL statement and print its rows
    Query(QueryArgs),
    /// Connect, run SELECT 1, print the server version and round-trip time
    Ping(PingArgs),
    /// Serve a connection pool's Prometheus metrics (/metrics) and health
    /// (/health) over HTTP
    Metrics(MetricsArgs),
    /// Versioned SQL migrations: new, up, down, status, redo, repair, lint
    Migrate(migrate::MigrateArgs),
    /// Apply seeds/*.sql in order, once each
    Seed(migrate::SeedArgs),
    /// Cron jobs in a table: add, list, run, pause, resume, remove,
    /// history, prune, worker
    Cron(cron::CronArgs),
    /// Show what a database holds (schemas, tables, columns, indexes,
    /// constraints, views, types, triggers, policies), from pg_catalog
    Inspect(inspect::InspectArgs),
    /// Print notifications (LISTEN) as they arrive, one per line
    Listen(listen::ListenArgs),
    /// COPY rows in or out: a table or a query, a file or stdin/stdout,
    /// text, csv or binary
    Copy {
        /// in or out
        #[command(subcommand)]
        action: copy::CopyAction,
    },
    /// Check the server's settings that matter to an application, TLS and
    /// the pool's size: each finding says why and what to do (exit code 3
    /// on an error)
    Doctor(doctor::DoctorArgs),
    /// Print a shell completion script: `tusk completions bash >
    /// ~/.local/share/bash-completion/completions/tusk`, `tusk completions
    /// zsh > ~/.zfunc/_tusk`, `tusk completions fish >
    /// ~/.config/fish/completions/tusk.fish`
    Completions {
        /// bash, zsh, fish, elvish or powershell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Manage the local development cluster (the default database)
    Dev {
        /// start, stop or status
        #[command(subcommand)]
        action: DevAction,
    },
    /// Run tusk-lite, the embedded PostgreSQL-compatible engine (needs a
    /// tusk built with --features lite)
    Lite {
        /// serve
        #[command(subcommand)]
        action: LiteAction,
    },
}

/// `tusk lite` actions.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum LiteAction {
    /// Serve a tusk-lite database to PostgreSQL clients over TCP; prints
    /// the bound address, then serves until stopped
    Serve {
        /// The database directory (created when missing), or `memory`
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Listen on this host:port (port 0 picks a free one)
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5432")]
        listen: String,
        /// Require SCRAM-SHA-256 passwords: FILE holds one `user:password`
        /// a line (`#` starts a comment); other users are refused.
        /// Without it every client is trusted
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

/// Where to connect.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnArgs {
    /// Connection URL or key=value string [default: $DATABASE_URL, else the
    /// development cluster, started on demand]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

/// `tusk ping`.
#[derive(Debug, Clone, Args)]
pub struct PingArgs {
    /// Print one JSON object: {"server_version", "connect_ms", "round_trip_ms"}
    #[arg(long)]
    pub json: bool,
    /// Where to connect.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `tusk query`.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// One SQL statement; $1, $2, ... stand for the PARAMs
    pub sql: String,
    /// Parameter values, sent as text: the server gives them their types
    /// (`tusk query 'SELECT $1::int + 1' 41`); values may start with `-`
    #[arg(allow_hyphen_values = true)]
    pub params: Vec<String>,
    /// Print one JSON object per row (column name to value) instead of a table
    #[arg(long)]
    pub json: bool,
    /// Where to connect.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `tusk metrics`.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// Listen on this host:port (port 0 picks a free one); the bound
    /// address is printed on stdout
    #[arg(long, value_name = "ADDR")]
    pub serve: String,
    /// Most connections the pool opens (one is kept open)
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub max_size: usize,
    /// The pool's name: the `pool` label of every series
    #[arg(long, value_name = "NAME", default_value = "tusk")]
    pub name: String,
    /// Where to connect.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `tusk dev` actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum DevAction {
    /// Create (on first use) and start the development cluster; a no-op if it runs
    Start,
    /// Stop the development cluster (its data stays)
    Stop,
    /// Say whether the development cluster runs, and where (exit code 3 if not)
    Status {
        /// One JSON object: `state` (running, stopped, absent), `url`,
        /// `pid`, `server_state`, `data`, `log` (those known)
        #[arg(long)]
        json: bool,
    },
}

/// What [`run_with`] takes from the environment, so that tests can give
/// it explicitly.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `DATABASE_URL`: used when there is no `--url`.
    pub database_url: Option<String>,
    /// The development cluster's directory (default: [`dev::default_dir`]).
    pub dev_dir: Option<PathBuf>,
}

impl Context {
    /// The context from the process environment (`DATABASE_URL`,
    /// `TUSK_DEV_DIR`).
    pub fn from_env() -> Context {
        Context {
            database_url: std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()),
            dev_dir: None,
        }
    }

    fn dev_dir(&self) -> Result<PathBuf, Error> {
        match &self.dev_dir {
            Some(dir) => Ok(dir.clone()),
            None => dev::default_dir(),
        }
    }
}

/// Runs a command with the process environment; see [`run_with`].
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, Error> {
    run_with(cli, &Context::from_env(), out, err)
}

/// Runs a command, writing its result to `out` and notes (such as "started
/// the development cluster") to `err`. Returns the exit code: 0, or 3 for
/// `tusk dev status` when the cluster is not running.
pub fn run_with(
    cli: Cli,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    lite::register();
    match cli.command {
        Command::Query(args) => {
            let url = resolve_url(&args.conn, ctx, err)?;
            block_on(query::run(&url, &args, out))?;
            Ok(0)
        }
        Command::Ping(args) => {
            let url = resolve_url(&args.conn, ctx, err)?;
            block_on(ping::run(&url, args.json, out))?;
            Ok(0)
        }
        Command::Metrics(args) => {
            let url = resolve_url(&args.conn, ctx, err)?;
            block_on(metrics::run(&url, &args, out, err))?;
            Ok(0)
        }
        Command::Migrate(args) => migrate::command(&args, ctx, out, err),
        Command::Seed(args) => migrate::seed(&args, ctx, out, err),
        Command::Cron(args) => cron::command(&args, ctx, out, err),
        Command::Inspect(args) => {
            if let Some([a, b]) = args.diff.as_deref() {
                return block_on(inspect::diff(a, b, &args, out));
            }
            let url = resolve_url(&args.conn, ctx, err)?;
            block_on(inspect::run(&url, &args, out))?;
            Ok(0)
        }
        Command::Listen(args) => {
            let url = resolve_url(&args.conn, ctx, err)?;
            block_on(listen::run(&url, &args, out, err))?;
            Ok(0)
        }
        Command::Copy { action } => {
            let conn = match &action {
                copy::CopyAction::In(a) => &a.common.conn,
                copy::CopyAction::Out(a) => &a.common.conn,
            };
            let url = resolve_url(conn, ctx, err)?;
            match &action {
                copy::CopyAction::In(a) => block_on(copy::copy_in(&url, a, out, err))?,
                copy::CopyAction::Out(a) => block_on(copy::copy_out(&url, a, out, err))?,
            }
            Ok(0)
        }
        Command::Doctor(args) => {
            let url = resolve_url(&args.conn, ctx, err)?;
            block_on(doctor::run(&url, &args, out))
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            // Into memory first: clap_complete panics on a failed write
            // (`tusk completions bash | head` closes the pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "tusk", &mut script);
            out.write_all(&script).map_err(error::write_err)?;
            Ok(0)
        }
        Command::Dev { action } => dev::command(action, &ctx.dev_dir()?, out),
        Command::Lite { action } => lite::command(&action, out),
    }
}

/// `--url`, else `DATABASE_URL`, else the development cluster (started if
/// it is not running).
fn resolve_url(conn: &ConnArgs, ctx: &Context, err: &mut dyn Write) -> Result<String, Error> {
    if let Some(url) = &conn.url {
        return Ok(url.clone());
    }
    if let Some(url) = &ctx.database_url {
        return Ok(url.clone());
    }
    let cluster = dev::DevCluster::new(&ctx.dev_dir()?)?;
    let started = cluster.ensure_running()?;
    if let Some(note) = started {
        writeln!(err, "tusk: {note}").map_err(error::write_err)?;
    }
    cluster.url()
}

/// Runs a future on a single-threaded runtime (the CLI does one thing at
/// a time).
fn block_on<T>(fut: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the async runtime", e))?
        .block_on(fut)
}
