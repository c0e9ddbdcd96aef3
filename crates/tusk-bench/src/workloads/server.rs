//! `server`: the server alone, the ceiling every driver is measured
//! against. The workload's statement runs in a loop inside the server
//! (PL/pgSQL, or a server-side `COPY ... TO '/dev/null'`), so neither the
//! protocol, nor the network, nor any client's CPU is in the way: what a
//! driver reaches is a fraction of this.
//!
//! Its latency column stays empty (the server loop is timed per call, not
//! per operation) and its client CPU is the harness's few calls.

use std::time::Instant;

use tusk::Executor;

use super::{connect, entry, Bench, BoxFut, Entry, Plan};
use crate::error::Result;
use crate::measure::{histogram, Meter, Sample};

/// The statement a server-side loop runs, and the operations one call does.
#[derive(Debug, Clone, Copy)]
pub struct Loop {
    /// SQL that does `ops` operations inside the server.
    pub sql: &'static str,
    /// Operations per call.
    pub ops: u64,
    /// Full calls per W4-style round (scans) instead of a timed round.
    pub per_scan: bool,
}

/// W1's point select, 2,000 times in a PL/pgSQL loop (a cached plan, as a
/// prepared statement has).
pub const POINT_SELECTS: Loop = Loop {
    sql: "DO $$ DECLARE b int; k int; BEGIN FOR i IN 1..2000 LOOP \
          k := 1 + (random() * 999999)::int; \
          SELECT abalance INTO b FROM pgbench_accounts WHERE aid = k; \
          END LOOP; END $$",
    ops: 2_000,
    per_scan: false,
};

/// W4's scan, every row produced in binary (as the drivers receive it) and
/// thrown away by the server itself.
pub const SCAN: Loop = Loop {
    sql: "COPY (SELECT id, name, score, ts, flag FROM bench_wide) TO '/dev/null' (FORMAT binary)",
    ops: 1_000_000,
    per_scan: true,
};

/// W6's 1,000 single-row INSERTs, in one transaction (one DO block).
pub const INSERTS: Loop = Loop {
    sql: "DO $$ BEGIN FOR i IN 1..1000 LOOP \
          INSERT INTO bench_w6 (id, name, score) VALUES (i, 'row', i * 0.5); \
          END LOOP; END $$",
    ops: 1_000,
    per_scan: false,
};

/// The server-alone entry running W1's (and W2's) point select.
pub fn point_selects() -> Entry {
    entry("server", |t| {
        Box::pin(async move { server(connect::tusk(&t.url).await?, POINT_SELECTS) })
    })
}

/// The server-alone entry running W4's scan.
pub fn scan() -> Entry {
    entry("server", |t| {
        Box::pin(async move { server(connect::tusk(&t.url).await?, SCAN) })
    })
}

/// The server-alone entry running W6's inserts.
pub fn inserts() -> Entry {
    entry("server", |t| {
        Box::pin(async move { server(connect::tusk(&t.url).await?, INSERTS) })
    })
}

fn server(conn: tusk::Connection, what: Loop) -> Result<Box<dyn Bench>> {
    Ok(Box::new(Server { conn, what }))
}

/// Runs a [`Loop`] call after call.
struct Server {
    conn: tusk::Connection,
    what: Loop,
}

impl Bench for Server {
    fn round<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, Sample> {
        Box::pin(async move {
            let mut m = Meter::start();
            let empty = histogram();
            if self.what.per_scan {
                for _ in 0..plan.scans {
                    self.conn.execute_script(self.what.sql).await?;
                    m.merge(self.what.ops, &empty);
                }
            } else {
                let deadline = m.started() + plan.duration();
                while Instant::now() < deadline {
                    self.conn.execute_script(self.what.sql).await?;
                    m.merge(self.what.ops, &empty);
                }
            }
            Ok(m.finish())
        })
    }
}
