//! Review probes behind a transaction-mode PgBouncer (pool of two server
//! connections): concurrent callers on one pooler-mode connection, atomic
//! batches with looked-up parameter types dropped half-way, and a timed
//! query waiting in PgBouncer's queue.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::future::join_all;
use tusk::types::{IsNull, ToSql, Type};
use tusk::{Batch, Executor, Query};
use tusk_testkit::{Cluster, PgBouncer, PoolMode};

#[derive(Debug, Clone, Copy)]
struct Money(i64);

impl ToSql for Money {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0.to_be_bytes());
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::MONEY
    }
    postgres_types::to_sql_checked!();
}

fn bouncer(pool: u32) -> (tusk_testkit::TestDb, PgBouncer) {
    let cluster = Cluster::shared();
    let db = cluster.database().unwrap();
    let bouncer = PgBouncer::start(cluster, PoolMode::Transaction).unwrap();
    bouncer
        .admin(&format!("SET default_pool_size = {pool}"))
        .unwrap();
    (db, bouncer)
}

/// Several clients, each with many concurrent (pipelined) callers, over two
/// server connections: every caller gets its own answer, every batch lands
/// in its own client's table, and dropped batches leave nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_callers_on_pooler_connections_never_cross() {
    const CLIENTS: i64 = 4;
    let (db, bouncer) = bouncer(2);
    let url = format!("{}?pooler_mode=on", bouncer.url(db.name()));
    let setup = tusk::connect(&url).await.unwrap();
    for t in 0..CLIENTS {
        setup
            .execute_script(&format!(
                "CREATE TABLE t{t} (client int8 NOT NULL, n int8 NOT NULL, amount money NOT NULL)"
            ))
            .await
            .unwrap();
    }
    let clients: Vec<Arc<tusk::Connection>> = join_all((0..CLIENTS).map(|_| tusk::connect(&url)))
        .await
        .into_iter()
        .map(|c| Arc::new(c.unwrap()))
        .collect();
    let work = clients.iter().zip(0_i64..).map(|(c, t)| {
        let c = c.clone();
        async move {
            let insert = format!("INSERT INTO t{t} (client, n, amount) VALUES ($1, $2, $3)");
            let futs = (0..60_i64).map(|i| {
                let c = &c;
                let insert = insert.as_str();
                async move {
                    match i % 4 {
                        0 => {
                            let (m, i2) = (Money(i), i + 1000);
                            let mut b = Batch::atomic();
                            b.push(insert, &[&t, &i, &m]);
                            b.push(insert, &[&t, &i2, &m]);
                            for r in c.batch(&b).await.unwrap() {
                                r.unwrap_or_else(|e| panic!("client {t}: {e}"));
                            }
                            1
                        }
                        1 => {
                            // Dropped somewhere between its describe and
                            // its run: all or nothing.
                            let (m, i2, i3) = (Money(i), i + 2000, i + 3000);
                            let mut b = Batch::atomic();
                            b.push(insert, &[&t, &i2, &m]);
                            b.push(insert, &[&t, &i3, &m]);
                            let _ = tokio::time::timeout(
                                Duration::from_micros(100 * i.unsigned_abs()),
                                c.batch(&b),
                            )
                            .await;
                            0
                        }
                        2 => {
                            let v: i64 = c
                                .query_scalar("SELECT $1::int8 * 1000 + $2::int8", &[&t, &i])
                                .await
                                .unwrap_or_else(|e| panic!("client {t}: {e}"));
                            assert_eq!(v, t * 1000 + i, "client {t} caller {i}");
                            0
                        }
                        _ => {
                            let e = c
                                .query_scalar::<i64>("SELECT 1 / ($1::int8 - $1::int8)", &[&i])
                                .await
                                .unwrap_err();
                            assert_eq!(e.code().unwrap().code(), "22012", "client {t}: {e}");
                            0
                        }
                    }
                }
            });
            join_all(futs).await.into_iter().sum::<i64>()
        }
    });
    let done = tokio::time::timeout(Duration::from_secs(60), join_all(work))
        .await
        .expect("clients finished");
    for (t, batches) in (0..CLIENTS).zip(done) {
        let rows = setup
            .query(
                format!("SELECT client, count(*) FROM t{t} WHERE n < 2000 GROUP BY client")
                    .as_str(),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "table t{t} holds rows of several clients");
        assert_eq!(rows[0].get::<i64>(0), t);
        assert_eq!(rows[0].get::<i64>(1), 2 * batches);
        // The dropped batches: each wholly in or wholly out.
        let halves: i64 = setup
            .query_scalar(
                format!(
                    "SELECT count(*) FROM t{t} a WHERE a.n >= 2000 AND a.n < 3000 AND NOT EXISTS \
                     (SELECT 1 FROM t{t} b WHERE b.n = a.n + 1000)"
                )
                .as_str(),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(halves, 0, "t{t}: half a batch");
        let other: i64 = setup
            .query_scalar(
                format!("SELECT count(*) FROM t{t} WHERE client <> {t}").as_str(),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(other, 0);
    }
    let left: i64 = setup
        .query_scalar("SELECT count(*) FROM pg_prepared_statements", &[])
        .await
        .unwrap();
    assert_eq!(left, 0);
}

/// A timed query that waits in PgBouncer's queue (the only server
/// connection is busy with another client's transaction): it may time out,
/// but only it: an untimed caller behind it on the same connection must get
/// its answer, and the connection must stay usable, as on a direct
/// connection. PgBouncer 1.18 drops a cancel request for a client that is
/// not linked to a server (its log: "closing because: cancel request for
/// idle client"), so every cancel the driver sends within its
/// grace period is lost: the timed query then fails alone (its answer is
/// discarded when it comes) and the connection stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_query_queued_in_the_pooler_leaves_the_connection_usable() {
    let (db, bouncer) = bouncer(1);
    let url = format!("{}?pooler_mode=on", bouncer.url(db.name()));
    let holder = tusk::connect(&url).await.unwrap();
    let c = tusk::connect(&url).await.unwrap();
    let v: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(v, 1);
    let hold = tokio::spawn(async move {
        holder
            .execute_script("BEGIN; SELECT pg_sleep(2); COMMIT")
            .await
            .unwrap_or_else(|e| panic!("the other client, holding the server: {e}"));
        holder
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The timed query, and an untimed caller's query behind it.
    let (r, other) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(
            c.query_scalar::<i32>(
                Query::new("SELECT 2").timeout(Duration::from_millis(100)),
                &[],
            ),
            async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                c.query_scalar::<i32>("SELECT 4", &[]).await
            }
        )
    })
    .await
    .expect("both answered");
    if let Err(e) = &r {
        assert_eq!(e.kind(), tusk::ErrorKind::Timeout, "{e}");
    }
    assert_eq!(
        other.unwrap_or_else(|e| panic!("an untimed caller behind the timed one: {e}")),
        4
    );
    let _holder = hold.await.unwrap();
    let v: i32 = tokio::time::timeout(Duration::from_secs(20), c.query_scalar("SELECT 3", &[]))
        .await
        .expect("next query answered")
        .unwrap_or_else(|e| panic!("after a timed query queued in the pooler: {e}"));
    assert_eq!(v, 3);
}

/// The same with a timed stream: its cancels are lost in PgBouncer's
/// queue, so it ends alone with a timeout, and the connection stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_stream_queued_in_the_pooler_leaves_the_connection_usable() {
    use futures_util::StreamExt;
    let (db, bouncer) = bouncer(1);
    let url = format!("{}?pooler_mode=on", bouncer.url(db.name()));
    let holder = tusk::connect(&url).await.unwrap();
    let c = tusk::connect(&url).await.unwrap();
    let v: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(v, 1);
    let hold = tokio::spawn(async move {
        holder
            .execute_script("BEGIN; SELECT pg_sleep(2); COMMIT")
            .await
            .unwrap_or_else(|e| panic!("the other client, holding the server: {e}"));
        holder
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (r, other) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(
            async {
                let mut s = c
                    .query_stream(
                        Query::new("SELECT g FROM generate_series(1, 3) g")
                            .timeout(Duration::from_millis(100)),
                        &[],
                    )
                    .await?;
                let mut n = 0;
                while let Some(r) = s.next().await {
                    r?;
                    n += 1;
                }
                Ok::<i32, tusk::Error>(n)
            },
            async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                c.query_scalar::<i32>("SELECT 4", &[]).await
            }
        )
    })
    .await
    .expect("both answered");
    match &r {
        Err(e) => assert_eq!(e.kind(), tusk::ErrorKind::Timeout, "{e}"),
        Ok(n) => assert_eq!(*n, 3),
    }
    assert_eq!(
        other.unwrap_or_else(|e| panic!("an untimed caller behind the timed stream: {e}")),
        4
    );
    let _holder = hold.await.unwrap();
    let v: i32 = tokio::time::timeout(Duration::from_secs(20), c.query_scalar("SELECT 3", &[]))
        .await
        .expect("next query answered")
        .unwrap_or_else(|e| panic!("after a timed stream queued in the pooler: {e}"));
    assert_eq!(v, 3);
}

/// Streams (some dropped half-way, some failing) among concurrent callers
/// on one pooler-mode connection behind PgBouncer: every caller gets its
/// own rows and the connection stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_among_callers_on_a_pooler_connection() {
    use futures_util::StreamExt;
    let (db, bouncer) = bouncer(2);
    let url = format!("{}?pooler_mode=on", bouncer.url(db.name()));
    let c = tusk::connect(&url).await.unwrap();
    let other = tusk::connect(&url).await.unwrap();
    for round in 0..3_i64 {
        let futs = (0..24_i64).map(|i| {
            let (c, other) = (&c, &other);
            async move {
                match i % 4 {
                    0 => {
                        let n = 2000 + i;
                        let mut s = c
                            .query_stream(
                                "SELECT g::int8 FROM generate_series(1, $1::int8) g",
                                &[&n],
                            )
                            .await
                            .unwrap();
                        let mut k = 0_i64;
                        while let Some(r) = s.next().await {
                            k += 1;
                            assert_eq!(r.unwrap().get::<i64>(0), k);
                        }
                        assert_eq!(k, n);
                    }
                    1 => {
                        let mut s = c
                            .query_stream("SELECT g FROM generate_series(1, 50000) g", &[])
                            .await
                            .unwrap();
                        s.next().await.unwrap().unwrap();
                    }
                    2 => {
                        let mut s = c
                            .query_stream(
                                "SELECT 1 / (g - 1500) FROM generate_series(1, 2000) g",
                                &[],
                            )
                            .await
                            .unwrap();
                        let mut failed = false;
                        while let Some(r) = s.next().await {
                            failed |= r.is_err();
                        }
                        assert!(failed);
                    }
                    _ => {
                        let v: i64 = other
                            .query_scalar("SELECT $1::int8 * 3", &[&(round * 100 + i)])
                            .await
                            .unwrap();
                        assert_eq!(v, (round * 100 + i) * 3);
                        let v: i64 = c.query_scalar("SELECT $1::int8", &[&i]).await.unwrap();
                        assert_eq!(v, i);
                    }
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(30), join_all(futs))
            .await
            .expect("round finished");
    }
    assert!(!c.is_closed());
}

/// `read_groups=on` with `pooler_mode=on` behind PgBouncer: groups need a
/// named prefix statement, so they must stay off; concurrent reads from
/// several clients give their own answers and nothing stays prepared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_groups_requested_in_pooler_mode_stay_off() {
    let (db, bouncer) = bouncer(2);
    let url = format!("{}?pooler_mode=on&read_groups=on", bouncer.url(db.name()));
    let clients: Vec<tusk::Connection> = join_all((0..4).map(|_| tusk::connect(&url)))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let work = clients.iter().zip(0_i64..).map(|(c, t)| async move {
        for round in 0..5_i64 {
            let futs = (0..30_i64).map(|i| async move {
                if i % 9 == 4 {
                    c.query_scalar::<i64>("SELECT 1 / ($1::int8 - $1::int8)", &[&i])
                        .await
                        .unwrap_err();
                } else {
                    let v: i64 = c
                        .query_scalar(
                            "SELECT $1::int8 * 1000 + $2::int8",
                            &[&t, &(round * 100 + i)],
                        )
                        .await
                        .unwrap_or_else(|e| panic!("client {t}: {e}"));
                    assert_eq!(v, t * 1000 + round * 100 + i);
                }
            });
            join_all(futs).await;
        }
    });
    tokio::time::timeout(Duration::from_secs(60), join_all(work))
        .await
        .expect("clients finished");
    let left: i64 = clients[0]
        .query_scalar("SELECT count(*) FROM pg_prepared_statements", &[])
        .await
        .unwrap();
    assert_eq!(left, 0);
}
