//! `tusk-testkit-cluster`: a throwaway cluster for test suites that are not
//! Rust (the Python package's pytest fixture). Starts a cluster, prints one
//! line `port <port> url <url>` on stdout, then obeys one command per line
//! on stdin: `db` (a fresh database: prints `url <url>`), `pgbouncer <db>`
//! (PgBouncer in transaction mode in front of the cluster: prints `url
//! <url>`), `terminate <db>`, `restart`, `stop`, `start`, `kill`. Each command answers `ok` or
//! `error <message>`. The cluster is stopped and removed when stdin closes
//! (and by the testkit's watchdog if this process dies).

use std::io::{BufRead, Write};

use tusk_testkit::{Cluster, PgBouncer, PoolMode, TestDb};

fn main() -> std::process::ExitCode {
    let mut builder = Cluster::builder();
    for arg in std::env::args().skip(1) {
        if let Some((k, v)) = arg.split_once('=') {
            builder = builder.setting(k, v);
        }
    }
    let cluster = match builder.start() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tusk-testkit-cluster: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let say = |out: &mut std::io::StdoutLock<'_>, line: &str| {
        // A closed stdout means the caller is gone: stop at the next read.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    say(
        &mut out,
        &format!("port {} url {}", cluster.port(), cluster.url("postgres")),
    );
    let mut dbs: Vec<TestDb> = Vec::new();
    let mut bouncer: Option<PgBouncer> = None;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut words = line.split_whitespace();
        let result: Result<String, String> = match (words.next(), words.next()) {
            (Some("db"), _) => cluster
                .database()
                .map(|db| {
                    let url = db.url();
                    dbs.push(db);
                    format!("url {url}")
                })
                .map_err(|e| e.to_string()),
            (Some("pgbouncer"), Some(db)) => {
                let failed = match bouncer {
                    Some(_) => None,
                    None => PgBouncer::start(&cluster, PoolMode::Transaction)
                        .map(|b| bouncer = Some(b))
                        .err(),
                };
                match (&bouncer, failed) {
                    (Some(b), _) => Ok(format!("url {}", b.url(db))),
                    (None, e) => Err(format!("PgBouncer did not start: {e:?}")),
                }
            }
            (Some("terminate"), Some(db)) => cluster
                .terminate_backends(db)
                .map(|n| format!("ok {n}"))
                .map_err(|e| e.to_string()),
            (Some("restart"), _) => cluster
                .restart()
                .map(|_| "ok".into())
                .map_err(|e| e.to_string()),
            (Some("stop"), _) => cluster
                .stop()
                .map(|_| "ok".into())
                .map_err(|e| e.to_string()),
            (Some("start"), _) => cluster
                .start_again()
                .map(|_| "ok".into())
                .map_err(|e| e.to_string()),
            (Some("kill"), _) => cluster
                .kill()
                .map(|_| "ok".into())
                .map_err(|e| e.to_string()),
            (None, _) => continue,
            (Some(other), _) => Err(format!("unknown command {other}")),
        };
        match result {
            Ok(s) => say(&mut out, &s),
            Err(e) => say(&mut out, &format!("error {}", e.replace('\n', " "))),
        }
    }
    drop(bouncer);
    drop(dbs);
    drop(cluster);
    std::process::ExitCode::SUCCESS
}
