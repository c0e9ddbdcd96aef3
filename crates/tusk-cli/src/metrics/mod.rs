//! `tusk metrics --serve ADDR`: a tusk-pool [`Pool`] for the database, its
//! Prometheus metrics on `GET /metrics` and its health on `GET /health`,
//! served by hyper (HTTP/1.1 with keep-alive).
//!
//! ```no_run
//! # async fn f() -> Result<(), tusk_cli::Error> {
//! use tusk_cli::metrics::{self, http};
//! let pool = tusk_pool::Pool::new(metrics::pool_config("postgresql://app@localhost/app", 2, "app")?)?;
//! let route = http::route(&hyper::Method::GET, "/health");
//! let response = metrics::respond(&pool, metrics::Request { route }).await;
//! assert!(response.status == 200 || response.status == 503);
//! # Ok(()) }
//! ```
//!
//! | request | response |
//! |---|---|
//! | `GET /metrics` | 200, `text/plain; version=0.0.4`: [`Pool::metrics_prometheus`] |
//! | `GET /health` | a `SELECT 1` probe through the pool, then JSON: status (`ok`, `degraded`, `down`), reasons, the probe, the pool's gauges; 200, or 503 when down |
//! | `HEAD` of either | the same headers, no body |
//! | another method on either path | 405 |
//! | any other path | 404 |
//! | anything that is not an HTTP/1.x request (hyper) | 400 |
//! | a request head over 8 KiB (hyper) | 431 |
//! | no whole request head within 5 s (hyper) | the connection is closed |

pub mod http;

use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tusk::Executor;
use tusk_pool::{Health, HealthStatus, Pool, PoolConfig, PoolStats};

use crate::error::{write_err, Error};
use crate::MetricsArgs;
use http::{Response, Route};

/// How long `/health`'s `SELECT 1` may take before it counts as failed.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a client may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once; further ones wait to be accepted.
pub const MAX_CONCURRENT: usize = 64;

/// The pool `tusk metrics` opens: `max_size` connections at most, one kept
/// open (so `/health` sees a lost server), named `name` in every series.
pub fn pool_config(url: &str, max_size: usize, name: &str) -> Result<PoolConfig, Error> {
    Ok(PoolConfig::builder()
        .url(url)?
        .name(name.to_owned())
        .max_size(max_size.max(1))
        .min_idle(1)
        .build())
}

/// Opens the pool, checks that it can connect, listens on `args.serve`,
/// prints the bound address on `out` (one line, flushed), and serves
/// until Ctrl-C.
pub(crate) async fn run(
    url: &str,
    args: &MetricsArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let config = pool_config(url, args.max_size, &args.name)?;
    // Fail now, with the server's words, rather than serve "down" forever
    // for a URL that was wrong from the start (one plain connection: the
    // pool would retry until its acquire timeout).
    let _ = tusk::connect_with(&config.connect).await?.close().await;
    let pool = Pool::new(config)?;
    let listener = TcpListener::bind(&args.serve)
        .await
        .map_err(|e| Error::io(format!("listening on {}", args.serve), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io(format!("listening on {}", args.serve), e))?;
    writeln!(out, "{addr}").map_err(write_err)?;
    out.flush().map_err(write_err)?;
    writeln!(
        err,
        "tusk: serving http://{addr}/metrics and http://{addr}/health; Ctrl-C stops"
    )
    .map_err(write_err)?;
    tokio::select! {
        () = serve(pool.clone(), listener) => {}
        stop = tokio::signal::ctrl_c() => {
            stop.map_err(|e| Error::io("waiting for Ctrl-C", e))?;
        }
    }
    pool.close(Duration::from_secs(2)).await;
    Ok(())
}

/// Accepts connections on `listener` forever, each served by hyper in a
/// task of its own (at most [`MAX_CONCURRENT`] at once; keep-alive, request
/// heads bounded by [`http::MAX_HEAD`] and [`READ_TIMEOUT`]). Errors of one
/// connection end that connection only.
pub async fn serve(pool: Pool, listener: TcpListener) {
    let slots = Arc::new(Semaphore::new(MAX_CONCURRENT));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors, or a connection reset before it
                // was accepted: wait a moment rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let pool = pool.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<Incoming>| {
                let pool = pool.clone();
                async move {
                    let route = http::route(request.method(), request.uri().path());
                    Ok::<_, Infallible>(respond(&pool, Request { route }).await.into_hyper())
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT)
                .max_buf_size(http::MAX_HEAD)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

/// A routed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Where it goes.
    pub route: Route,
}

/// The response to a parsed request.
pub async fn respond(pool: &Pool, request: Request) -> Response {
    if let Some(r) = Response::for_error(request.route) {
        return r;
    }
    match request.route {
        Route::Metrics => Response {
            status: 200,
            content_type: http::PROMETHEUS,
            body: pool.metrics_prometheus(),
        },
        _ => {
            let probe = probe(pool).await;
            let health = with_probe(pool.health(), &probe);
            Response {
                status: if health.status == HealthStatus::Down {
                    503
                } else {
                    200
                },
                content_type: http::JSON,
                body: health_json(&health, &probe, &pool.stats()),
            }
        }
    }
}

/// The outcome of `/health`'s `SELECT 1` through the pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Whether it answered within [`PROBE_TIMEOUT`].
    pub ok: bool,
    /// How long it took (or waited), in seconds.
    pub seconds: f64,
    /// Why it failed.
    pub error: Option<String>,
}

/// Runs `SELECT 1` through the pool, bounded by [`PROBE_TIMEOUT`]. A
/// connection error it meets also feeds the pool's eviction policy.
pub async fn probe(pool: &Pool) -> Probe {
    let t0 = Instant::now();
    let outcome = tokio::time::timeout(PROBE_TIMEOUT, pool.execute("SELECT 1", &[])).await;
    let seconds = t0.elapsed().as_secs_f64();
    let error = match outcome {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!(
            "no answer within {} s",
            PROBE_TIMEOUT.as_secs_f64()
        )),
    };
    Probe {
        ok: error.is_none(),
        seconds,
        error,
    }
}

/// The pool's health with the probe folded in: a failed probe means the
/// database is not serving this pool, so the status is `down`.
pub fn with_probe(mut health: Health, probe: &Probe) -> Health {
    if let Some(e) = &probe.error {
        health.status = HealthStatus::Down;
        health.reasons.push(format!("probe SELECT 1 failed: {e}"));
    }
    health
}

fn status_name(s: HealthStatus) -> &'static str {
    match s {
        HealthStatus::Ok => "ok",
        HealthStatus::Degraded => "degraded",
        HealthStatus::Down => "down",
    }
}

/// `/health`'s body: one JSON object.
///
/// ```text
/// {"status":"ok","reasons":[],"probe":{"ok":true,"seconds":0.000412},
///  "pool":{"name":"tusk","size":1,"idle":1,"in_use":0,"waiting":0,"min_idle":1,"max_size":2}}
/// ```
pub fn health_json(health: &Health, probe: &Probe, stats: &PoolStats) -> String {
    let mut probe_json = serde_json::json!({ "ok": probe.ok, "seconds": probe.seconds });
    if let Some(e) = &probe.error {
        probe_json["error"] = e.as_str().into();
    }
    serde_json::json!({
        "status": status_name(health.status),
        "reasons": health.reasons,
        "probe": probe_json,
        "pool": {
            "name": stats.name,
            "size": stats.size,
            "idle": stats.idle,
            "in_use": stats.in_use,
            "waiting": stats.waiting,
            "min_idle": stats.min_idle,
            "max_size": stats.max_size,
        },
    })
    .to_string()
}
