//! W4: large result: all 1,000,000 rows of `bench_wide`, every column
//! decoded into a Rust value.

use std::future::Future;
use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use sqlx::postgres::PgConnection;
use sqlx::Row as _;
use tusk::Executor;

use super::{connect, entry, pgbench, Bench, BoxFut, Plan, Target, Workload};
use crate::error::{BenchError, Result};
use crate::measure::{Meter, Sample};
use crate::rss;

/// The query of W4.
pub const SQL: &str = "SELECT id, name, score, ts, flag FROM bench_wide";

/// Rows in `bench_wide`.
pub const ROWS: u64 = 1_000_000;

/// W4's operation in one driver: read the whole table.
pub trait ScanWide: Send {
    /// Runs [`SQL`], decodes every column of every row, and returns the
    /// number of rows.
    fn scan(&mut self) -> impl Future<Output = Result<u64>> + Send;
}

/// W4.
pub fn workload() -> Workload {
    Workload {
        id: "W4",
        what: "large result (1,000,000 rows x 5 columns, every column decoded)",
        unit: "rows/s",
        latency_of: "scan of 1M rows",
        before_round: None,
        entries: vec![
            entry("tusk", |t| {
                Box::pin(async move { tusk_scan(t, "tusk", Collect, rss::Mode::Query).await })
            }),
            entry("tusk-stream", |t| {
                Box::pin(
                    async move { tusk_scan(t, "tusk-stream", Stream, rss::Mode::Stream).await },
                )
            }),
            entry("tusk-arrow", |t| {
                Box::pin(async move {
                    let conn = connect::tusk(&t.url).await?;
                    scan("tusk-arrow", Arrow(conn), None)
                })
            }),
            entry("tokio-postgres", |t| {
                Box::pin(async move {
                    let client = connect::tokio_postgres(&t.url).await?;
                    let stmt = client.prepare(SQL).await?;
                    scan("tokio-postgres", (client, stmt), None)
                })
            }),
            entry("sqlx", |t| {
                Box::pin(async move { scan("sqlx", connect::sqlx(&t.url).await?, None) })
            }),
            entry("pgbench", |t| {
                Box::pin(async move { pgbench::counted(t, "W4", &format!("{SQL};\n"), ROWS) })
            }),
            super::server::scan(),
        ],
    }
}

/// Uses every decoded value, so that no decoding is optimised away.
#[inline]
pub fn consume(id: i64, name: &str, score: f64, ts: DateTime<Utc>, flag: bool) {
    black_box((id, name, score, ts, flag));
}

/// tusk's `query`: all rows in memory, then decoded.
pub struct Collect(pub tusk::Connection);

/// tusk's `query_stream`: rows decoded as they arrive, bounded memory.
pub struct Stream(pub tusk::Connection);

/// tusk's `query_arrow`: the rows decoded straight into Arrow record
/// batches (columnar buffers), then every value read from them.
pub struct Arrow(pub tusk::Connection);

/// Decodes the five columns of a row and hands them to [`consume`]: one
/// spelling for the three drivers' rows, whose `try_get`s share a shape
/// but no trait.
macro_rules! decode {
    ($row:expr) => {
        consume(
            $row.try_get(0usize)?,
            $row.try_get(1usize)?,
            $row.try_get(2usize)?,
            $row.try_get(3usize)?,
            $row.try_get(4usize)?,
        )
    };
}

/// Decodes one tusk row.
pub fn decode_tusk(row: &tusk::Row) -> Result<()> {
    decode!(row);
    Ok(())
}

impl ScanWide for Collect {
    async fn scan(&mut self) -> Result<u64> {
        let rows = self.0.query(SQL, &[]).await?;
        for row in &rows {
            decode_tusk(row)?;
        }
        Ok(u64::try_from(rows.len()).unwrap_or(u64::MAX))
    }
}

impl ScanWide for Stream {
    async fn scan(&mut self) -> Result<u64> {
        let mut stream = self.0.query_stream(SQL, &[]).await?;
        let mut n = 0u64;
        while let Some(row) = stream.next().await {
            decode_tusk(&row?)?;
            n += 1;
        }
        Ok(n)
    }
}

impl ScanWide for Arrow {
    async fn scan(&mut self) -> Result<u64> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
        let batches = self.0.query_arrow(SQL, &[]).await?;
        let mut n = 0u64;
        for b in &batches {
            let id = b.column(0).as_primitive::<Int64Type>();
            let name = b.column(1).as_string::<i32>();
            let score = b.column(2).as_primitive::<Float64Type>();
            let ts = b.column(3).as_primitive::<TimestampMicrosecondType>();
            let flag = b.column(4).as_boolean();
            for i in 0..b.num_rows() {
                // The timestamp as Arrow holds it (microseconds since the
                // epoch, UTC): the value a columnar consumer reads.
                black_box((
                    id.value(i),
                    name.value(i),
                    score.value(i),
                    ts.value(i),
                    flag.value(i),
                ));
            }
            n += u64::try_from(b.num_rows()).unwrap_or(u64::MAX);
        }
        Ok(n)
    }
}

impl ScanWide for (tokio_postgres::Client, tokio_postgres::Statement) {
    async fn scan(&mut self) -> Result<u64> {
        let rows = self.0.query(&self.1, &[]).await?;
        for row in &rows {
            decode!(row);
        }
        Ok(u64::try_from(rows.len()).unwrap_or(u64::MAX))
    }
}

impl ScanWide for PgConnection {
    async fn scan(&mut self) -> Result<u64> {
        let rows = sqlx::query(SQL).fetch_all(self).await?;
        for row in &rows {
            decode!(row);
        }
        Ok(u64::try_from(rows.len()).unwrap_or(u64::MAX))
    }
}

fn scan<T: ScanWide + 'static>(
    driver: &'static str,
    inner: T,
    rss_probe: Option<(rss::Mode, String)>,
) -> Result<Box<dyn Bench>> {
    Ok(Box::new(Scans {
        driver,
        inner,
        rss_probe,
    }))
}

/// tusk's side of W4 on a connection of its own, `wrap`ped as a
/// [`ScanWide`], with its peak RSS probed in `mode` after the rounds.
async fn tusk_scan<T: ScanWide + 'static>(
    t: &Target,
    driver: &'static str,
    wrap: fn(tusk::Connection) -> T,
    mode: rss::Mode,
) -> Result<Box<dyn Bench>> {
    let conn = connect::tusk(&t.url).await?;
    scan(driver, wrap(conn), Some((mode, t.url.clone())))
}

/// Runs a [`ScanWide`] a number of times per round.
struct Scans<T> {
    driver: &'static str,
    inner: T,
    /// Measure peak RSS in a fresh process doing the same (tusk only).
    rss_probe: Option<(rss::Mode, String)>,
}

impl<T: ScanWide + 'static> Bench for Scans<T> {
    fn round<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, Sample> {
        Box::pin(async move {
            let mut m = Meter::start();
            for _ in 0..plan.scans.max(1) {
                let t = Instant::now();
                let rows = self.inner.scan().await?;
                m.record(t, rows);
                if rows != ROWS {
                    return Err(BenchError::Check {
                        workload: "W4",
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
            let Some((mode, url)) = &self.rss_probe else {
                return Ok(Vec::new());
            };
            let bytes = rss::probe(*mode, url).await?;
            Ok(vec![(
                "peak_rss_mib",
                crate::measure::u64_f64(bytes) / 1_048_576.0,
            )])
        })
    }
}
