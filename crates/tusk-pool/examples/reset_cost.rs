//! Measures what a session reset costs the server: backend CPU time per
//! checkout (the backend's time on a CPU from `/proc/PID/schedstat`, so the
//! server must run on this machine), one connection, one query at a time,
//! for the point select alone and for the point select behind several
//! resets sent the way the pool sends them (queued, carried by the
//! statement) or the way deadpool-postgres's `RecyclingMethod::Clean`
//! does (a simple Query of its own, a round trip).
//!
//! ```text
//! cargo run --release -p tusk-pool --example reset_cost [URL] [ITERATIONS]
//! ```
//!
//! With no URL, a throwaway cluster (tusk-testkit) with a small
//! `pgbench_accounts` table.

use std::time::Instant;

use tusk::Executor;

/// deadpool-postgres's `RecyclingMethod::Clean`, one simple Query.
const DEADPOOL_CLEAN: &str = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; \
     UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES;";

const SELECT: &str = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";

/// Backend CPU time in nanoseconds (`/proc/PID/schedstat`'s first field:
/// time spent on a CPU, at the scheduler's resolution rather than the
/// clock tick's).
fn backend_ns(pid: i32) -> Result<u64, Box<dyn std::error::Error>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/schedstat"))?;
    Ok(stat.split_whitespace().next().ok_or("schedstat")?.parse()?)
}

fn leak(parts: &[&str]) -> &'static [&'static str] {
    let v: Vec<&'static str> = parts
        .iter()
        .map(|s| &*Box::leak(s.to_string().into_boxed_str()))
        .collect();
    Box::leak(v.into_boxed_slice())
}

enum How {
    Alone,
    Carried(&'static [&'static str]),
    Separate(&'static str),
}

async fn measure(
    conn: &tusk::Connection,
    how: &How,
    n: u64,
    rows: i32,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let pid = conn.process_id();
    let mut aid = 1i32;
    let mut once = async || -> Result<(), Box<dyn std::error::Error>> {
        aid = aid % rows + 1;
        match how {
            How::Alone => {}
            How::Carried(parts) => conn.queue_session_reset(parts)?,
            How::Separate(sql) => {
                conn.simple_query(sql).await?;
            }
        }
        let _: i32 = conn.query_scalar(SELECT, &[&aid]).await?;
        Ok(())
    };
    for _ in 0..n / 10 {
        once().await?;
    }
    let t0 = backend_ns(pid)?;
    let w0 = Instant::now();
    for _ in 0..n {
        once().await?;
    }
    let wall = w0.elapsed().as_secs_f64() / n as f64 * 1e6;
    let ns = backend_ns(pid)? - t0;
    Ok((ns as f64 / 1_000.0 / n as f64, wall))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next();
    let n: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20_000);
    let db;
    let url = match url {
        Some(u) if u != "-" => u,
        _ => {
            db = tusk_testkit::Cluster::shared().database()?;
            db.url()
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let conn = tusk::connect(&url).await?;
        let rows: i32 = match conn
            .query_scalar::<i64>("SELECT count(*) FROM pgbench_accounts", &[])
            .await
        {
            Ok(r) => i32::try_from(r)?.max(1),
            Err(_) => {
                conn.simple_query(
                    "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, abalance int); \
                     INSERT INTO pgbench_accounts SELECT g, 0 FROM generate_series(1, 100000) g",
                )
                .await?;
                100_000
            }
        };
        let cached: usize = std::env::var("RESET_COST_CACHED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        for i in 0..cached {
            let sql = format!("SELECT abalance + {i} FROM pgbench_accounts WHERE aid = $1");
            let _: Option<i32> = conn.query_opt(&sql, &[&1i32]).await?.map(|r| r.get(0));
        }
        let guard = "SELECT (CASE WHEN EXISTS (SELECT FROM \
             pg_catalog.pg_prepared_statements WHERE from_sql) THEN 'a SQL-level prepared statement \
             made out of the pool''s sight survived the session reset' ELSE '0' END)::pg_catalog.int4";
        let begin = "BEGIN ISOLATION LEVEL READ COMMITTED";
        let body = [
            "RESET ALL",
            "SET SESSION AUTHORIZATION DEFAULT",
            "CLOSE ALL",
            "UNLISTEN *",
            "SELECT pg_catalog.pg_advisory_unlock_all()",
            "DISCARD TEMP",
            "DISCARD SEQUENCES",
        ];
        let mut full = vec![begin];
        full.extend(body);
        full.push(guard);
        full.push("COMMIT");
        // The pool's own reset as it queues it (the driver sends its
        // `DISCARD SEQUENCES` in front of its `COMMIT`).
        let pool_full: Vec<&'static str> = tusk_pool::ResetPolicy::full_reset_statements()
            .iter()
            .copied()
            .filter(|s| *s != "DISCARD SEQUENCES")
            .collect();
        let pool_full = leak(&pool_full);
        let mut cases: Vec<(String, How)> = vec![
            ("select alone".into(), How::Alone),
            ("the pool's full reset (carried)".into(), How::Carried(pool_full)),
            ("pool full reset (carried)".into(), How::Carried(leak(&full))),
            (
                "deadpool Clean (own round trip)".into(),
                How::Separate(DEADPOOL_CLEAN),
            ),
            (
                "BEGIN; COMMIT (carried)".into(),
                How::Carried(leak(&[begin, "COMMIT"])),
            ),
        ];
        for s in body.iter().chain([&guard]) {
            cases.push((
                format!("BEGIN; {}; COMMIT", &s[..s.len().min(40)]),
                How::Carried(leak(&[begin, s, "COMMIT"])),
            ));
        }
        let guards = [
            (
                "guard: function, not the view",
                "SELECT (CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_prepared_statement() s \
                 WHERE s.from_sql) THEN 'x' ELSE '0' END)::pg_catalog.int4",
            ),
            (
                "guard: a row per statement, no sublink",
                "SELECT pg_catalog.concat('a SQL-level prepared statement survived: ', s.name)::pg_catalog.int4 \
                 FROM pg_catalog.pg_prepared_statement() s WHERE s.from_sql",
            ),
            (
                "guard: bare srf scan",
                "SELECT FROM pg_catalog.pg_prepared_statement() s WHERE s.from_sql",
            ),
            (
                "guard + unlock_all, ROWS FROM",
                "SELECT pg_catalog.concat('a SQL-level prepared statement survived: ', s.name)::pg_catalog.int4 \
                 FROM ROWS FROM (pg_catalog.pg_prepared_statement(), pg_catalog.pg_advisory_unlock_all()) s \
                 WHERE s.from_sql",
            ),
            (
                "guard: srf in the target list, a division",
                "SELECT pg_catalog.int4div(1, pg_catalog.int4mi(1, pg_catalog.int4((pg_catalog.pg_prepared_statement()).from_sql)))",
            ),
            (
                "guard: srf in the target list, bare",
                "SELECT (pg_catalog.pg_prepared_statement()).from_sql",
            ),
            (
                "trivial select",
                "SELECT 1",
            ),
            (
                "guard + unlock_all, one SELECT",
                "SELECT pg_catalog.pg_advisory_unlock_all(), (SELECT pg_catalog.concat('x', s.name)::pg_catalog.int4 \
                 FROM pg_catalog.pg_prepared_statement() s WHERE s.from_sql LIMIT 1)",
            ),
        ];
        for (name, g) in guards {
            cases.push((
                format!("BEGIN; {name}; COMMIT"),
                How::Carried(leak(&[begin, g, "COMMIT"])),
            ));
        }
        let mut no_guard = vec![begin];
        no_guard.extend(body);
        no_guard.push("COMMIT");
        cases.push(("full reset without guard".into(), How::Carried(leak(&no_guard))));
        let mut row_guard = vec![begin];
        row_guard.extend(body);
        // The guard the pool sends (`NO_SQL_PREPARED` in src/reset.rs).
        row_guard.push(guards[1].1);
        row_guard.push("COMMIT");
        cases.push((
            "pool full reset, row guard".into(),
            How::Carried(leak(&row_guard)),
        ));
        // The unlock folded into the guard's scan (ROWS FROM runs it
        // once, whatever the number of prepared statements).
        let mut folded = vec![begin];
        folded.extend(body.iter().filter(|s| !s.contains("unlock_all")));
        folded.push(guards[3].1);
        folded.push("COMMIT");
        cases.push((
            "pool full reset, unlock folded into the guard".into(),
            How::Carried(leak(&folded)),
        ));
        // The guard as a set-returning function in the target list (no
        // function scan to plan), failing a cast with a message when a
        // SQL-level statement exists; the unlock back as a statement.
        let mut target_list = vec![begin];
        target_list.extend(body);
        target_list.push(
            "SELECT pg_catalog.int4(pg_catalog.substr('0a SQL-level prepared statement made out \
             of the pool''s sight survived the session reset', 1, pg_catalog.int4pl(1, \
             pg_catalog.int4mul(200, pg_catalog.int4((pg_catalog.pg_prepared_statement()).from_sql)))))",
        );
        target_list.push("COMMIT");
        cases.push((
            "pool full reset, target-list guard".into(),
            How::Carried(leak(&target_list)),
        ));
        let only = std::env::var("RESET_COST_ONLY").ok();
        if let Some(o) = &only {
            cases.retain(|(name, how)| matches!(how, How::Alone) || name.contains(o.as_str()));
        }
        let mut base = 0.0;
        for (name, how) in &cases {
            let (cpu, wall) = measure(&conn, how, n, rows).await?;
            if matches!(how, How::Alone) {
                base = cpu;
            }
            println!(
                "{name:<55} backend {cpu:>6.1} us/checkout (+{:>5.1})  wall {wall:>6.1} us",
                cpu - base
            );
        }
        Ok(())
    })
}
