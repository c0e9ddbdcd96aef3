//! N1: notifications dispatched on one listener. A sender commits
//! `pg_notify` 10,000 times in one statement; the listener's consumer takes
//! all 10,000, checking they come in order; repeated. Throughput is
//! notifications taken by the consumer per second (the server's cost of
//! queueing them is in every driver's figure alike). Each driver listens
//! on a channel of its own, since all drivers are connected at once.

use std::future::Future;
use std::time::Instant;

use futures::StreamExt;
use tusk::Executor;

use super::{connect, entry, Bench, BoxFut, Plan, Workload};
use crate::error::{BenchError, Result};
use crate::measure::{Meter, Sample};

/// Notifications per batch (one statement, one commit).
pub const BATCH: u32 = 10_000;

/// N1.
pub fn workload() -> Workload {
    Workload {
        id: "N1",
        what: "notifications dispatched on one listener (batches of 10,000 pg_notify)",
        unit: "notifications/s",
        latency_of: "batch of 10,000",
        before_round: None,
        entries: vec![
            entry("tusk-listen", |t| {
                Box::pin(async move {
                    let channel = "bench_n1_listen";
                    let listener = tusk_listen::Listener::builder(&t.url)
                        .queue_capacity(usize::try_from(2 * BATCH).unwrap_or(usize::MAX))
                        .connect()
                        .await?;
                    let sub = listener.listen(channel).await?;
                    rounds(
                        "tusk-listen",
                        t,
                        channel,
                        ListenerSide {
                            _listener: listener,
                            sub,
                        },
                    )
                    .await
                })
            }),
            entry("tusk", |t| {
                Box::pin(async move {
                    let channel = "bench_n1_tusk";
                    let conn = connect::tusk(&t.url).await?;
                    conn.execute_script(&format!("LISTEN {channel}")).await?;
                    let stream = conn.notifications();
                    rounds(
                        "tusk",
                        t,
                        channel,
                        StreamSide {
                            _conn: conn,
                            stream,
                        },
                    )
                    .await
                })
            }),
            entry("tokio-postgres", |t| {
                Box::pin(async move {
                    let channel = "bench_n1_tokio_postgres";
                    let side = tokio_postgres_side(&t.url, channel).await?;
                    rounds("tokio-postgres", t, channel, side).await
                })
            }),
            entry("sqlx", |t| {
                Box::pin(async move {
                    let channel = "bench_n1_sqlx";
                    let mut l = sqlx::postgres::PgListener::connect(&t.url).await?;
                    l.listen(channel).await?;
                    rounds("sqlx", t, channel, l).await
                })
            }),
        ],
    }
}

/// One driver's receiving side: the next notification's payload.
pub trait Receive: Send {
    /// Waits for the next notification and returns its payload.
    fn next_payload(&mut self) -> impl Future<Output = Result<String>> + Send;
}

/// tusk-listen: a `Listener` and one subscription (the whole dispatcher:
/// envelope check, routing, the bounded queue, counters).
struct ListenerSide {
    _listener: tusk_listen::Listener,
    sub: tusk_listen::Subscription,
}

impl Receive for ListenerSide {
    async fn next_payload(&mut self) -> Result<String> {
        match self.sub.recv().await {
            // The only subscriber: the payload without a copy.
            Some(tusk_listen::Event::Notify(m)) => {
                Ok(std::sync::Arc::try_unwrap(m).map_or_else(|m| m.payload.clone(), |m| m.payload))
            }
            Some(other) => Err(check("tusk-listen", format!("unexpected {other:?}"))),
            None => Err(check("tusk-listen", "the listener closed".into())),
        }
    }
}

/// tusk: the driver's own `Connection::notifications()` stream.
struct StreamSide {
    _conn: tusk::Connection,
    stream: tusk::Notifications,
}

impl Receive for StreamSide {
    async fn next_payload(&mut self) -> Result<String> {
        match self.stream.next().await {
            Some(n) => Ok(n?.payload),
            None => Err(check("tusk", "the stream ended".into())),
        }
    }
}

/// tokio-postgres: its connection polled for `AsyncMessage`s in a task of
/// its own, notifications forwarded over a channel (the crate's documented
/// way).
struct TokioPostgresSide {
    _client: tokio_postgres::Client,
    rx: tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>,
}

async fn tokio_postgres_side(url: &str, channel: &str) -> Result<TokioPostgresSide> {
    let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(m) = messages.next().await {
            match m {
                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                    if tx.send(n).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("tusk-bench: tokio-postgres connection ended: {e}");
                    break;
                }
            }
        }
    });
    client.batch_execute(&format!("LISTEN {channel}")).await?;
    Ok(TokioPostgresSide {
        _client: client,
        rx,
    })
}

impl Receive for TokioPostgresSide {
    async fn next_payload(&mut self) -> Result<String> {
        match self.rx.recv().await {
            Some(n) => Ok(n.payload().to_owned()),
            None => Err(check("tokio-postgres", "the connection ended".into())),
        }
    }
}

/// sqlx: its `PgListener`.
impl Receive for sqlx::postgres::PgListener {
    async fn next_payload(&mut self) -> Result<String> {
        Ok(self.recv().await?.payload().to_owned())
    }
}

fn check(driver: &'static str, detail: String) -> BenchError {
    BenchError::Check {
        workload: "N1",
        driver,
        detail,
    }
}

async fn rounds<R: Receive + 'static>(
    driver: &'static str,
    t: &super::Target,
    channel: &'static str,
    side: R,
) -> Result<Box<dyn Bench>> {
    // The sender is the same for every driver: a tusk connection.
    let sender = connect::tusk(&t.url).await?;
    Ok(Box::new(Notifications {
        driver,
        channel,
        sender,
        side,
    }))
}

/// Runs batches for a round.
struct Notifications<R> {
    driver: &'static str,
    channel: &'static str,
    sender: tusk::Connection,
    side: R,
}

impl<R: Receive + 'static> Bench for Notifications<R> {
    fn round<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, Sample> {
        Box::pin(async move {
            let mut m = Meter::start();
            let deadline = m.started() + plan.duration();
            let sql = format!(
                "SELECT count(pg_notify('{}', i::text)) FROM generate_series(1, {BATCH}) i",
                self.channel
            );
            while m.before(deadline) {
                let t0 = Instant::now();
                self.sender.execute_script(&sql).await?;
                for want in 1..=BATCH {
                    let got = self.side.next_payload().await?;
                    if got.parse::<u32>().ok() != Some(want) {
                        return Err(check(
                            self.driver,
                            format!("notification {want} came as {got:?}: out of order"),
                        ));
                    }
                }
                m.record(t0, u64::from(BATCH));
            }
            Ok(m.finish())
        })
    }
}
