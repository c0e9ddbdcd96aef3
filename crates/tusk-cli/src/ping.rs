//! `tusk ping`: connect, `SELECT 1`, report.

use std::io::Write;
use std::time::{Duration, Instant};

use tusk::Executor;

use crate::error::{write_err, Error};

/// Connects, runs `SELECT 1` and prints one line (one JSON object with
/// `json`): the server version, the time to connect and the round trip of
/// the query.
pub(crate) async fn run(url: &str, json: bool, out: &mut dyn Write) -> Result<(), Error> {
    let start = Instant::now();
    let conn = tusk::connect(url).await?;
    let connected = start.elapsed();
    let start = Instant::now();
    let one: i32 = conn.query_scalar("SELECT 1", &[]).await?;
    let round_trip = start.elapsed();
    let version = conn
        .server_version()
        .unwrap_or_else(|| "(unknown version)".into());
    let _ = conn.close().await;
    if one != 1 {
        return Err(Error::Convert(format!("SELECT 1 returned {one}")));
    }
    if json {
        let line = serde_json::json!({
            "server_version": version,
            "connect_ms": connected.as_secs_f64() * 1000.0,
            "round_trip_ms": round_trip.as_secs_f64() * 1000.0,
        });
        return writeln!(out, "{line}").map_err(write_err);
    }
    writeln!(
        out,
        "PostgreSQL {version}: connected in {}, SELECT 1 round trip {}",
        millis(connected),
        millis(round_trip)
    )
    .map_err(write_err)
}

fn millis(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}
