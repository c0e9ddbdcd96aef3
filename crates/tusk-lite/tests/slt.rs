//! The shared .slt suite: every file in tests/slt runs, by the same
//! runner, against PostgreSQL 15 (a tusk-testkit cluster) and against
//! tusk-lite (in memory, over the PostgreSQL protocol on an in-process
//! socket pair). Both must pass: PostgreSQL is the expected output.

use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};
use std::path::PathBuf;
use tokio_postgres::{NoTls, SimpleQueryMessage};

#[derive(Debug)]
struct DbError {
    code: Option<String>,
    text: String,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for DbError {}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> DbError {
        match e.as_db_error() {
            // The DETAIL is part of the text, so `statement error` can
            // match PostgreSQL's detail line too.
            Some(db) => DbError {
                code: Some(db.code().code().to_string()),
                text: match db.detail() {
                    Some(d) => format!("{}: {} DETAIL: {d}", db.code().code(), db.message()),
                    None => format!("{}: {}", db.code().code(), db.message()),
                },
            },
            None => DbError {
                code: None,
                text: e.to_string(),
            },
        }
    }
}

struct Client(tokio_postgres::Client);

#[async_trait::async_trait]
impl AsyncDB for Client {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        let msgs = self.0.simple_query(sql).await?;
        let mut rows = Vec::new();
        let mut width = None;
        let mut count = 0;
        for m in msgs {
            match m {
                SimpleQueryMessage::RowDescription(cols) => width = Some(cols.len()),
                SimpleQueryMessage::Row(r) => {
                    width = Some(r.len());
                    rows.push(
                        (0..r.len())
                            .map(|i| match r.get(i) {
                                None => "NULL".to_string(),
                                Some("") => "(empty)".to_string(),
                                Some(s) => s.to_string(),
                            })
                            .collect(),
                    );
                }
                SimpleQueryMessage::CommandComplete(n) => count = n,
                _ => {}
            }
        }
        Ok(match width {
            Some(w) => DBOutput::Rows {
                types: vec![DefaultColumnType::Any; w],
                rows,
            },
            None => DBOutput::StatementComplete(count),
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "postgres"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await
    }

    fn error_sql_state(err: &DbError) -> Option<String> {
        err.code.clone()
    }
}

fn slt_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        // TUSK_SLT_ONLY=a,b runs only the files with those stems (while
        // working on one feature); unset, every file runs.
        .filter(|p| match std::env::var("TUSK_SLT_ONLY") {
            Ok(only) => p
                .file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|s| only.split(',').any(|o| o == s)),
            Err(_) => true,
        })
        .collect();
    files.sort();
    files
}

async fn lite_client(db: tusk_lite::Database) -> Result<Client, DbError> {
    let (client, server) = std::os::unix::net::UnixStream::pair().map_err(|e| DbError {
        code: None,
        text: e.to_string(),
    })?;
    db.serve_stream(server);
    client.set_nonblocking(true).map_err(|e| DbError {
        code: None,
        text: e.to_string(),
    })?;
    let stream = tokio::net::UnixStream::from_std(client).map_err(|e| DbError {
        code: None,
        text: e.to_string(),
    })?;
    let mut cfg = tokio_postgres::Config::new();
    cfg.user("tusk").dbname("tusk");
    let (c, conn) = cfg.connect_raw(stream, NoTls).await?;
    tokio::spawn(conn);
    Ok(Client(c))
}

async fn pg_client(url: String) -> Result<Client, DbError> {
    let (c, conn) = tokio_postgres::connect(&url, NoTls).await?;
    tokio::spawn(conn);
    Ok(Client(c))
}

/// Runs every file; returns the failures (file, error).
async fn run_all(engine: &str) -> (usize, Vec<String>) {
    let files = slt_files();
    let mut failures = Vec::new();
    for f in &files {
        let result = if engine == "postgres" {
            let db = tusk_testkit::Cluster::shared()
                .database()
                .expect("a test database");
            let url = db.url();
            let mut runner = Runner::new(move || pg_client(url.clone()));
            runner.add_label("postgres");
            let r = runner.run_file_async(f).await;
            drop(db);
            r
        } else if engine == "tusk-lite-durable" {
            let dir = std::env::temp_dir().join(format!(
                "tusk-lite-slt-{}-{}",
                std::process::id(),
                f.file_stem().and_then(|s| s.to_str()).unwrap_or("x")
            ));
            let _ = std::fs::remove_dir_all(&dir);
            let db = tusk_lite::Database::open(&dir).expect("open a durable database");
            let mut runner = Runner::new(move || lite_client(db.clone()));
            runner.add_label("tusk-lite");
            let r = runner.run_file_async(f).await;
            let _ = std::fs::remove_dir_all(&dir);
            r
        } else {
            let db = tusk_lite::Database::open_in_memory();
            let mut runner = Runner::new(move || lite_client(db.clone()));
            runner.add_label("tusk-lite");
            runner.run_file_async(f).await
        };
        if let Err(e) = result {
            failures.push(format!("{}: {}", f.display(), e.display(true)));
        }
    }
    (files.len(), failures)
}

fn report(engine: &str, total: usize, failures: Vec<String>) {
    println!(
        "{engine}: {} passed, {} failed",
        total - failures.len(),
        failures.len()
    );
    if !failures.is_empty() {
        panic!(
            "{} of {total} .slt files failed on {engine}:\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_on_tusk_lite() {
    let (n, f) = run_all("tusk-lite").await;
    report("tusk-lite", n, f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_on_postgres() {
    let (n, f) = run_all("postgres").await;
    report("postgres", n, f);
}

/// The same files on the durable (fjall) store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_on_tusk_lite_durable() {
    let (n, f) = run_all("tusk-lite-durable").await;
    report("tusk-lite (durable)", n, f);
}
