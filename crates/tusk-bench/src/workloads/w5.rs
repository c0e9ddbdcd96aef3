//! W5: bulk load and bulk read with binary COPY. `W5` loads 1,000,000 rows
//! of `(int8, text, float8, timestamptz)` from Rust values; `W5o` reads the
//! same four columns of `bench_wide` back, every value decoded.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::OnceLock;
use std::time::Instant;

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt;
use sqlx::postgres::PgConnection;
use tusk::types::{ToSql, Type};
use tusk::Executor;

use super::{connect, entry, Bench, BoxFut, Plan, Target, Workload};
use crate::error::{BenchError, Result};
use crate::measure::{histogram, Meter, Sample};
use crate::rss;

/// Rows loaded by one W5 load (and read by one W5o read).
pub const ROWS: u64 = 1_000_000;

/// The table W5 loads (created and emptied before every round).
const TABLE: &str =
    "CREATE UNLOGGED TABLE IF NOT EXISTS bench_w5 (id int8, name text, score float8, ts timestamptz); \
     TRUNCATE bench_w5";

/// W5's COPY statement.
pub const COPY_IN: &str = "COPY bench_w5 (id, name, score, ts) FROM STDIN (FORMAT binary)";

/// W5o's COPY statement.
pub const COPY_OUT: &str = "COPY bench_wide (id, name, score, ts) TO STDOUT (FORMAT binary)";

/// The column types of both.
pub const TYPES: [Type; 4] = [Type::INT8, Type::TEXT, Type::FLOAT8, Type::TIMESTAMPTZ];

/// The names of the rows (made once: every driver loads the same values,
/// and nobody's load pays for formatting them).
fn names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| (0..ROWS).map(|i| format!("name {i}")).collect())
}

/// Row `i`'s score and timestamp.
fn score_ts(i: u64) -> (f64, DateTime<Utc>) {
    let i = i64::try_from(i).unwrap_or(0);
    let ts = Utc
        .timestamp_opt(1_700_000_000 + i, 0)
        .single()
        .unwrap_or_default();
    (crate::measure::u64_f64(i.unsigned_abs()) * 0.5, ts)
}

/// W5.
pub fn copy_in() -> Workload {
    Workload {
        id: "W5",
        what: "bulk load, binary COPY IN of 1,000,000 rows (int8, text, float8, timestamptz) from Rust values",
        unit: "rows/s",
        latency_of: "load of 1M rows",
        before_round: Some(TABLE),
        entries: vec![
            entry("tusk", |t| {
                Box::pin(async move {
                    let c = connect::tusk(&t.url).await?;
                    loads("tusk", TuskIn(c), Some(t.url.clone()))
                })
            }),
            entry("tokio-postgres", |t| {
                Box::pin(async move {
                    loads("tokio-postgres", TokioIn(connect::tokio_postgres(&t.url).await?), None)
                })
            }),
            entry("sqlx", |t| {
                Box::pin(async move { loads("sqlx", connect::sqlx(&t.url).await?, None) })
            }),
            entry("server", |t| Box::pin(async move { server_load(t).await })),
        ],
    }
}

/// W5o.
pub fn copy_out() -> Workload {
    Workload {
        id: "W5o",
        what: "bulk read, binary COPY OUT of bench_wide's 1,000,000 rows (int8, text, float8, timestamptz), every value decoded",
        unit: "rows/s",
        latency_of: "read of 1M rows",
        before_round: None,
        entries: vec![
            entry("tusk", |t| {
                Box::pin(async move {
                    let c = connect::tusk(&t.url).await?;
                    loads("tusk", TuskOut(c), Some(t.url.clone()))
                })
            }),
            entry("tokio-postgres", |t| {
                Box::pin(async move {
                    loads("tokio-postgres", TokioOut(connect::tokio_postgres(&t.url).await?), None)
                })
            }),
            entry("server", |t| {
                Box::pin(async move {
                    let c = connect::tusk(&t.url).await?;
                    loads("server", ServerOut(c), None)
                })
            }),
        ],
    }
}

/// One driver's operation in W5 or W5o: load (or read) all rows once.
pub trait Load: Send {
    /// Whether this is W5o.
    const OUT: bool = false;
    /// Does it; returns the rows.
    fn load(&mut self) -> impl Future<Output = Result<u64>> + Send;
}

/// tusk's `copy_in` with its `BinaryCopyInWriter`.
pub struct TuskIn(pub tusk::Connection);

/// tusk's `copy_out` with its `BinaryCopyOutReader`.
pub struct TuskOut(pub tusk::Connection);

struct TokioIn(tokio_postgres::Client);
struct TokioOut(tokio_postgres::Client);
struct ServerOut(tusk::Connection);

impl Load for TuskIn {
    async fn load(&mut self) -> Result<u64> {
        tusk_load(&self.0, ROWS, true, "bench_w5").await
    }
}

/// Loads `rows` rows into `table` through tusk (`shared`: with the names made once,
/// else formatted row by row, as the RSS probe does so that only the
/// driver's memory counts).
pub async fn tusk_load(c: &tusk::Connection, rows: u64, shared: bool, table: &str) -> Result<u64> {
    let sql = COPY_IN.replace("bench_w5", table);
    let sink = c.copy_in(&sql).await?;
    let mut w = tusk::copy::BinaryCopyInWriter::new(sink, &TYPES);
    // (The probe must not build the shared names: they would be counted.)
    let names: &[String] = if shared { names() } else { &[] };
    let mut own = String::new();
    for i in 0..rows {
        let (score, ts) = score_ts(i);
        let id = i64::try_from(i).unwrap_or(0);
        let name: &str = if shared {
            &names[usize::try_from(i).unwrap_or(0) % names.len()]
        } else {
            own.clear();
            use std::fmt::Write;
            let _ = write!(own, "name {i}");
            &own
        };
        w.write(&[&id, &name, &score, &ts]).await?;
    }
    Ok(w.finish().await?)
}

impl Load for TokioIn {
    async fn load(&mut self) -> Result<u64> {
        let sink = self.0.copy_in(COPY_IN).await?;
        let w = tokio_postgres::binary_copy::BinaryCopyInWriter::new(sink, &TYPES);
        let mut w = pin!(w);
        for (i, name) in (0..ROWS).zip(names()) {
            let (score, ts) = score_ts(i);
            let id = i64::try_from(i).unwrap_or(0);
            w.as_mut()
                .write(&[&id, &name.as_str(), &score, &ts])
                .await?;
        }
        Ok(w.finish().await?)
    }
}

impl Load for PgConnection {
    async fn load(&mut self) -> Result<u64> {
        // sqlx has no binary writer: the rows are encoded here (with the
        // same postgres-types encoders as the others) and sent raw.
        let mut copy = self.copy_in_raw(COPY_IN).await?;
        let mut buf = BytesMut::with_capacity(80 * 1024);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0");
        for (i, name) in (0..ROWS).zip(names()) {
            let (score, ts) = score_ts(i);
            let id = i64::try_from(i).unwrap_or(0);
            buf.put_i16(4);
            let values: [(&(dyn ToSql + Sync), &Type); 4] = [
                (&id, &TYPES[0]),
                (&name.as_str(), &TYPES[1]),
                (&score, &TYPES[2]),
                (&ts, &TYPES[3]),
            ];
            for (v, ty) in values {
                let at = buf.len();
                buf.put_i32(0);
                v.to_sql_checked(ty, &mut buf)
                    .map_err(|e| BenchError::process("W5 sqlx encoding", e.to_string()))?;
                let len = i32::try_from(buf.len() - at - 4).unwrap_or(i32::MAX);
                buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
            if buf.len() >= 64 * 1024 {
                copy.send(buf.split().freeze()).await?;
            }
        }
        buf.put_i16(-1);
        copy.send(buf.freeze()).await?;
        Ok(copy.finish().await?)
    }
}

impl Load for TuskOut {
    const OUT: bool = true;
    async fn load(&mut self) -> Result<u64> {
        tusk_read(&self.0).await
    }
}

/// Reads W5o's rows through tusk, every value decoded.
pub async fn tusk_read(c: &tusk::Connection) -> Result<u64> {
    tusk_read_from(c, "bench_wide").await
}

/// Reads the four columns of `table` (`bench_wide`'s shape) through tusk,
/// every value decoded.
pub async fn tusk_read_from(c: &tusk::Connection, table: &str) -> Result<u64> {
    let sql = COPY_OUT.replace("bench_wide", table);
    let out = c.copy_out(&sql).await?;
    let mut r = tusk::copy::BinaryCopyOutReader::new(out, &TYPES);
    let mut n = 0u64;
    while let Some(row) = r.next().await {
        let row = row?;
        consume(
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
        n += 1;
    }
    Ok(n)
}

impl Load for TokioOut {
    const OUT: bool = true;
    async fn load(&mut self) -> Result<u64> {
        let out = self.0.copy_out(COPY_OUT).await?;
        let rows = tokio_postgres::binary_copy::BinaryCopyOutStream::new(out, &TYPES);
        let mut rows = pin!(rows);
        let mut n = 0u64;
        while let Some(row) = rows.next().await {
            let row = row?;
            consume(
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
            );
            n += 1;
        }
        Ok(n)
    }
}

impl Load for ServerOut {
    const OUT: bool = true;
    async fn load(&mut self) -> Result<u64> {
        // The limit: the server produces the same binary rows and throws
        // them away itself.
        self.0
            .execute_script("COPY bench_wide (id, name, score, ts) TO '/dev/null' (FORMAT binary)")
            .await?;
        Ok(ROWS)
    }
}

/// Uses every decoded value.
#[inline]
fn consume(id: i64, name: &str, score: f64, ts: DateTime<Utc>) {
    black_box((id, name, score, ts));
}

/// The server loading the same rows from a file of its own with `COPY
/// FROM` (the limit: no client at all). The file is written once, by the
/// server, into its data directory.
async fn server_load(t: &Target) -> Result<Box<dyn Bench>> {
    let c = connect::tusk(&t.url).await?;
    let dir: String = c
        .query_scalar("SELECT current_setting('data_directory')", &[])
        .await?;
    let path = format!("{dir}/tusk_bench_w5.bin");
    c.execute_script(&format!(
        "COPY (SELECT i::int8, 'name ' || i, i * 0.5::float8, \
         to_timestamp(1700000000 + i) FROM generate_series(0, {}) i) \
         TO '{path}' (FORMAT binary)",
        ROWS - 1
    ))
    .await?;
    loads("server", ServerIn { c, path }, None)
}

struct ServerIn {
    c: tusk::Connection,
    path: String,
}

impl Load for ServerIn {
    async fn load(&mut self) -> Result<u64> {
        let sql = format!("COPY bench_w5 FROM '{}' (FORMAT binary)", self.path);
        Ok(self.c.execute(sql.as_str(), &[]).await?)
    }
}

fn loads<T: Load + 'static>(
    driver: &'static str,
    inner: T,
    rss_url: Option<String>,
) -> Result<Box<dyn Bench>> {
    Ok(Box::new(Loads {
        driver,
        inner,
        rss_url,
    }))
}

/// Runs a [`Load`] `scans` times per round.
struct Loads<T> {
    driver: &'static str,
    inner: T,
    /// Probe tusk's RSS growth in a fresh process (tusk only).
    rss_url: Option<String>,
}

impl<T: Load + 'static> Bench for Loads<T> {
    fn round<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, Sample> {
        Box::pin(async move {
            let mut m = Meter::start();
            for _ in 0..plan.scans.max(1) {
                let t = Instant::now();
                let rows = self.inner.load().await?;
                if self.driver == "server" {
                    m.merge(rows, &histogram());
                } else {
                    m.record(t, rows);
                }
                if rows != ROWS {
                    return Err(BenchError::Check {
                        workload: if T::OUT { "W5o" } else { "W5" },
                        driver: self.driver,
                        detail: format!("expected {ROWS} rows, got {rows}"),
                    });
                }
            }
            Ok(m.finish())
        })
    }

    fn extras(&mut self) -> BoxFut<'_, Vec<(&'static str, f64)>> {
        Box::pin(async move {
            let Some(url) = &self.rss_url else {
                return Ok(Vec::new());
            };
            let mode = if T::OUT {
                rss::Mode::CopyOut
            } else {
                rss::Mode::CopyIn
            };
            let bytes = rss::probe(mode, url).await?;
            Ok(vec![
                (
                    "rss_growth_mib",
                    crate::measure::u64_f64(bytes) / 1_048_576.0,
                ),
                ("rss_probe_rows", crate::measure::u64_f64(rss::copy_rows())),
            ])
        })
    }
}
