//! L1-L3: tusk-lite beside PostgreSQL, on the same machine, in one run.
//!
//! - L1: pgbench TPC-B-like (`-b tpcb-like -M prepared -c 10 -j 2`) over
//!   TCP, durable on both sides: tusk-lite on its fjall store, which syncs
//!   its journal (fdatasync) before a COMMIT returns, and PostgreSQL with
//!   `fsync` and `synchronous_commit` on for its rounds (the harness's
//!   cluster runs with both off; see [`Durable`]). `full_page_writes`
//!   stays off, as the harness runs it, which only spares PostgreSQL work.
//! - L1c1: L1 with one client (`-c 1 -j 1`), where group commit cannot
//!   help: every COMMIT waits for its own sync on both sides.
//! - L2: pgbench select-only (`-b select-only -c 10 -j 2`).
//! - L3: one point select at a time through the tusk driver: PostgreSQL
//!   over loopback TCP against tusk-lite embedded in the process (the
//!   in-process socket pair of `Database::connect`).
//!
//! Every round, on both sides, starts after a `CHECKPOINT` ([`Settled`]).
//!
//! tusk-lite's database lives in the harness's work directory and is
//! loaded once per run with `pgbench -i -s 10` (the harness's own scale),
//! on first use; its server runs on a thread of this process until it ends.

use std::sync::OnceLock;
use std::time::Duration;

use tusk::{Executor, SimpleQueryMessage};

use super::pgbench::{self, Clients};
use super::{connect, entry, Bench, BoxFut, Plan, Target, Workload};
use crate::error::{BenchError, Result};
use crate::measure::Sample;

/// pgbench's clients and threads in L1 and L2 (`-c 10 -j 2`).
const CLIENTS: Clients = Clients {
    clients: 10,
    threads: 2,
};

/// The tusk-lite database of this run and the URL of its TCP server.
struct Lite {
    db: tusk_lite::Database,
    url: String,
}

static LITE: OnceLock<std::result::Result<Lite, String>> = OnceLock::new();

/// Opens, serves and loads (`pgbench -i -s 10`) tusk-lite, once.
fn lite(t: &Target) -> Result<&'static Lite> {
    LITE.get_or_init(|| start(t).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| BenchError::process("tusk-lite", e.clone()))
}

fn start(t: &Target) -> Result<Lite> {
    let dir = t.work_dir.join("tusk-lite-data");
    let _ = std::fs::remove_dir_all(&dir);
    // Opened and served from a thread on the server's CPU (`--pin`), so
    // that the store's background threads, the listener and the session
    // threads it starts run where PostgreSQL's server runs, not beside
    // pgbench.
    let cpu = t.server_cpu;
    let opened = std::thread::scope(|s| {
        s.spawn(|| -> Result<(tusk_lite::Database, std::net::SocketAddr)> {
            if let Some(cpu) = cpu {
                crate::pin::this_thread(cpu)?;
            }
            let db = tusk_lite::Database::open(&dir)
                .map_err(|e| BenchError::process("tusk-lite", e.to_string()))?;
            let addr =
                tusk_lite::serve(&db, "127.0.0.1:0").map_err(|e| BenchError::file(&dir, e))?;
            Ok((db, addr))
        })
        .join()
    });
    let (db, addr) =
        opened.map_err(|_| BenchError::process("tusk-lite", "opening the database panicked"))??;
    let url = format!("postgresql://bench@127.0.0.1:{}/bench", addr.port());
    eprintln!("tusk-bench: loading pgbench -i -s 10 into tusk-lite ...");
    let out = std::process::Command::new(&t.pgbench)
        .args(["-i", "-s", "10", "-q"])
        .arg(&url)
        .output()
        .map_err(|e| BenchError::process(t.pgbench.display().to_string(), e.to_string()))?;
    if !out.status.success() {
        return Err(BenchError::process(
            "pgbench -i (tusk-lite)",
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    Ok(Lite { db, url })
}

/// The settings that make PostgreSQL's commits durable, which the
/// harness's cluster runs without.
const DURABLE: &[(&str, &str)] = &[("fsync", "on"), ("synchronous_commit", "on")];

/// PostgreSQL's side of a durable workload: every round runs with
/// [`DURABLE`] set (`ALTER SYSTEM`, reloaded, and seen by a new session
/// before the round starts) and reset afterwards, so the other workloads
/// keep the harness's settings.
struct Durable {
    url: String,
    inner: Box<dyn Bench>,
}

/// Sets (`on`) or resets [`DURABLE`] on the server at `url` and waits
/// until a new session sees it.
async fn durable(url: &str, on: bool) -> Result<()> {
    let admin = connect::tusk(url).await?;
    for (key, value) in DURABLE {
        let sql = if on {
            format!("ALTER SYSTEM SET {key} = {value}")
        } else {
            format!("ALTER SYSTEM RESET {key}")
        };
        admin.simple_query(&sql).await?;
    }
    admin.simple_query("SELECT pg_reload_conf()").await?;
    drop(admin);
    // The postmaster applies the reload a moment later; sessions it
    // starts from then on have the new settings.
    for _ in 0..200 {
        let probe = connect::tusk(url).await?;
        let messages = probe.simple_query("SHOW fsync").await?;
        let fsync = messages.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get_text(0usize).ok().flatten().map(str::to_owned),
            _ => None,
        });
        if (fsync.as_deref() == Some("on")) == on {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(BenchError::process(
        "postgres",
        format!(
            "fsync did not turn {} after pg_reload_conf()",
            if on { "on" } else { "off" }
        ),
    ))
}

impl Durable {
    async fn run(&mut self, plan: &Plan) -> Result<Sample> {
        durable(&self.url, true).await?;
        let sample = self.inner.round(plan).await;
        durable(&self.url, false).await?;
        sample
    }
}

impl Bench for Durable {
    fn round<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, Sample> {
        Box::pin(self.run(plan))
    }

    fn warmup<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, u64> {
        self.inner.warmup(plan)
    }
}

/// Runs `CHECKPOINT` on the server at `url` before every round (warm-up
/// included), outside the measurement: each round starts with the
/// server's earlier writes (the load, the previous rounds' TPC-B) on disk
/// and compacted, on both sides, instead of tusk-lite's store compacting
/// them in the background of the round (in L3, in the measuring process
/// itself).
struct Settled {
    url: String,
    inner: Box<dyn Bench>,
}

async fn checkpoint(url: &str) -> Result<()> {
    let conn = connect::tusk(url).await?;
    conn.simple_query("CHECKPOINT").await?;
    Ok(())
}

impl Settled {
    fn wrap(url: &str, inner: Box<dyn Bench>) -> Box<dyn Bench> {
        Box::new(Settled {
            url: url.to_owned(),
            inner,
        })
    }
}

impl Bench for Settled {
    fn round<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, Sample> {
        Box::pin(async move {
            checkpoint(&self.url).await?;
            self.inner.round(plan).await
        })
    }

    fn warmup<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, u64> {
        Box::pin(async move {
            checkpoint(&self.url).await?;
            self.inner.warmup(plan).await
        })
    }
}

/// pgbench's built-in `script` against PostgreSQL or tusk-lite, with
/// `clients`; PostgreSQL durable for TPC-B (see [`Durable`]).
fn builtin(
    t: &Target,
    id: &str,
    script: &'static str,
    name: &'static str,
    on_lite: bool,
    clients: Clients,
) -> Result<Box<dyn Bench>> {
    let target = if on_lite {
        let lite = lite(t)?;
        Target {
            url: lite.url.clone(),
            pgbench: t.pgbench.clone(),
            work_dir: t.work_dir.join("tusk-lite"),
            server_cpu: t.server_cpu,
        }
    } else {
        t.clone()
    };
    let bench = pgbench::builtin(&target, &format!("{id}-{name}"), script, Some(0.1), clients)?;
    let bench = if on_lite || script != "tpcb-like" {
        bench
    } else {
        Box::new(Durable {
            url: t.url.clone(),
            inner: bench,
        })
    };
    Ok(Settled::wrap(&target.url, bench))
}

/// L1.
pub fn l1() -> Workload {
    Workload {
        id: "L1",
        what: "tusk-lite vs PostgreSQL: pgbench TPC-B-like, durable, -c 10 -j 2 over TCP",
        unit: "transactions/s",
        latency_of: "transaction",
        before_round: None,
        entries: vec![
            entry("postgres", |t| {
                Box::pin(async move { builtin(t, "L1", "tpcb-like", "postgres", false, CLIENTS) })
            }),
            entry("tusk-lite", |t| {
                Box::pin(async move { builtin(t, "L1", "tpcb-like", "tusk-lite", true, CLIENTS) })
            }),
        ],
    }
}

/// L1c1: L1 with one client.
pub fn l1c1() -> Workload {
    Workload {
        id: "L1c1",
        what: "tusk-lite vs PostgreSQL: pgbench TPC-B-like, durable, -c 1 over TCP",
        unit: "transactions/s",
        latency_of: "transaction",
        before_round: None,
        entries: vec![
            entry("postgres", |t| {
                Box::pin(
                    async move { builtin(t, "L1c1", "tpcb-like", "postgres", false, Clients::ONE) },
                )
            }),
            entry("tusk-lite", |t| {
                Box::pin(
                    async move { builtin(t, "L1c1", "tpcb-like", "tusk-lite", true, Clients::ONE) },
                )
            }),
        ],
    }
}

/// L2.
pub fn l2() -> Workload {
    Workload {
        id: "L2",
        what: "tusk-lite vs PostgreSQL: pgbench select-only, -c 10 -j 2 over TCP",
        unit: "transactions/s",
        latency_of: "transaction",
        before_round: None,
        entries: vec![
            entry("postgres", |t| {
                Box::pin(async move { builtin(t, "L2", "select-only", "postgres", false, CLIENTS) })
            }),
            entry("tusk-lite", |t| {
                Box::pin(async move { builtin(t, "L2", "select-only", "tusk-lite", true, CLIENTS) })
            }),
        ],
    }
}

/// L3.
pub fn l3() -> Workload {
    Workload {
        id: "L3",
        what: "point select through tusk: PostgreSQL over loopback TCP vs tusk-lite embedded",
        unit: "queries/s",
        latency_of: "query",
        before_round: None,
        entries: vec![
            entry("postgres", |t| {
                Box::pin(async move {
                    let conn = connect::tusk(&t.url).await?;
                    Ok(Settled::wrap(&t.url, super::w1::sequential(conn)?))
                })
            }),
            entry("tusk-lite", |t| {
                Box::pin(async move {
                    let lite = lite(t)?;
                    let conn = lite.db.connect().await?;
                    Ok(Settled::wrap(&lite.url, super::w1::sequential(conn)?))
                })
            }),
        ],
    }
}
