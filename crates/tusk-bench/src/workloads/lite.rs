//! L1-L3: tusk-lite beside PostgreSQL, on the same machine, in one run.
//!
//! - L1: pgbench TPC-B-like (`-b tpcb-like -M prepared -c 10 -j 2`) over
//!   TCP, durable on both sides (PostgreSQL with fsync and synchronous
//!   commit as the harness runs it; tusk-lite on its fjall store, which
//!   syncs its journal before a COMMIT returns).
//! - L2: pgbench select-only (`-b select-only -c 10 -j 2`).
//! - L3: one point select at a time through the tusk driver: PostgreSQL
//!   over loopback TCP against tusk-lite embedded in the process (the
//!   in-process socket pair of `Database::connect`).
//!
//! tusk-lite's database lives in the harness's work directory and is
//! loaded once per run with `pgbench -i -s 10` (the harness's own scale),
//! on first use; its server runs on a thread of this process until it ends.

use std::sync::OnceLock;

use super::pgbench::{self, Clients};
use super::{connect, entry, Bench, Target, Workload};
use crate::error::{BenchError, Result};

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
    let db = tusk_lite::Database::open(&dir)
        .map_err(|e| BenchError::process("tusk-lite", e.to_string()))?;
    let addr = tusk_lite::serve(&db, "127.0.0.1:0").map_err(|e| BenchError::file(&dir, e))?;
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

/// pgbench's built-in `script` against PostgreSQL or tusk-lite.
fn builtin(
    t: &Target,
    id: &str,
    script: &'static str,
    name: &'static str,
    on_lite: bool,
) -> Result<Box<dyn Bench>> {
    let target = if on_lite {
        let lite = lite(t)?;
        Target {
            url: lite.url.clone(),
            pgbench: t.pgbench.clone(),
            work_dir: t.work_dir.join("tusk-lite"),
        }
    } else {
        t.clone()
    };
    pgbench::builtin(&target, &format!("{id}-{name}"), script, Some(0.1), CLIENTS)
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
                Box::pin(async move { builtin(t, "L1", "tpcb-like", "postgres", false) })
            }),
            entry("tusk-lite", |t| {
                Box::pin(async move { builtin(t, "L1", "tpcb-like", "tusk-lite", true) })
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
                Box::pin(async move { builtin(t, "L2", "select-only", "postgres", false) })
            }),
            entry("tusk-lite", |t| {
                Box::pin(async move { builtin(t, "L2", "select-only", "tusk-lite", true) })
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
                    super::w1::sequential(conn)
                })
            }),
            entry("tusk-lite", |t| {
                Box::pin(async move {
                    let conn = lite(t)?.db.connect().await?;
                    super::w1::sequential(conn)
                })
            }),
        ],
    }
}
