//! Pooler mode behind a real PgBouncer in transaction mode: several clients
//! share two server connections, so anything named on the server, or any
//! statement that spans two flights, would reach another client's session.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::future::join_all;
use tusk::types::{IsNull, ToSql, Type};
use tusk::{Batch, Executor, Prepare};
use tusk_testkit::{Cluster, PgBouncer, PoolMode};

/// A value of type `money` (cents): a type outside tusk's table of natural
/// parameter types, so its statement's parameter types are looked up first.
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

/// A transaction-mode PgBouncer whose pool has two server connections.
fn bouncer() -> (tusk_testkit::TestDb, PgBouncer) {
    let cluster = Cluster::shared();
    let db = cluster.database().unwrap();
    let bouncer = PgBouncer::start(cluster, PoolMode::Transaction).unwrap();
    bouncer.admin("SET default_pool_size = 2").unwrap();
    (db, bouncer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_clients_over_two_server_connections_never_cross() {
    const CLIENTS: i64 = 6;
    const ROUNDS: i64 = 25;
    let (db, bouncer) = bouncer();
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
            let sum = format!("SELECT count(*) FROM t{t} WHERE amount >= $1 AND client = $2");
            for r in 0..ROUNDS {
                // An atomic batch whose money parameter must be looked up.
                let (a, b) = (r * 2, r * 2 + 1);
                let (m1, m2) = (Money(100 * a), Money(100 * b));
                let mut batch = Batch::atomic();
                batch.push(insert.as_str(), &[&t, &a, &m1]);
                batch.push(insert.as_str(), &[&t, &b, &m2]);
                for res in c.batch(&batch).await.unwrap() {
                    res.unwrap_or_else(|e| panic!("client {t} round {r}: {e}"));
                }
                // A plain query with a looked-up parameter type.
                let zero = Money(0);
                let n: i64 = c
                    .query_scalar(sum.as_str(), &[&zero, &t])
                    .await
                    .unwrap_or_else(|e| panic!("client {t} round {r}: {e}"));
                assert_eq!(n, 2 * (r + 1), "client {t} round {r}");
            }
            // An explicitly prepared statement, and one with a looked-up
            // parameter type, run many times.
            let explicit = c
                .prepare(&format!("SELECT count(*) FROM t{t} WHERE client = $1"))
                .await
                .unwrap_or_else(|e| panic!("client {t}: {e}"));
            let typed = c
                .prepare(&format!("SELECT count(*) FROM t{t} WHERE amount >= $1"))
                .await
                .unwrap_or_else(|e| panic!("client {t}: {e}"));
            for r in 0..ROUNDS {
                let n: i64 = c
                    .query_scalar(&explicit, &[&t])
                    .await
                    .unwrap_or_else(|e| panic!("client {t} round {r}: {e}"));
                assert_eq!(n, 2 * ROUNDS, "client {t} round {r}");
                let n: i64 = c
                    .query_scalar(&typed, &[&Money(100 * (2 * ROUNDS - 1))])
                    .await
                    .unwrap_or_else(|e| panic!("client {t} round {r}: {e}"));
                assert_eq!(n, 1, "client {t} round {r}");
            }
            assert_eq!(c.cached_statements(), 0);
        }
    });
    tokio::time::timeout(Duration::from_secs(60), join_all(work))
        .await
        .expect("clients finished");
    for t in 0..CLIENTS {
        let rows = setup
            .query(
                format!("SELECT client, count(*) FROM t{t} GROUP BY client").as_str(),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "table t{t} holds rows of several clients");
        assert_eq!(rows[0].get::<i64>(0), t);
        assert_eq!(rows[0].get::<i64>(1), 2 * ROUNDS);
    }
    // Two server connections served all six clients.
    let servers = bouncer.admin("SHOW SERVERS").unwrap();
    let n = servers.lines().filter(|l| l.contains(db.name())).count();
    assert!(n <= 2, "{n} server connections:\n{servers}");
    // Nothing was left prepared on the servers.
    let left: i64 = setup
        .query_scalar("SELECT count(*) FROM pg_prepared_statements", &[])
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_session_reset_names_nothing_on_the_server() {
    let (db, bouncer) = bouncer();
    let url = format!("{}?pooler_mode=on", bouncer.url(db.name()));
    let c = tusk::connect(&url).await.unwrap();
    let reset: &[&str] = &["BEGIN", "RESET ALL", "UNLISTEN *", "COMMIT"];
    for _ in 0..5 {
        c.queue_session_reset(reset).unwrap();
        let n: i64 = c
            .query_scalar(
                "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'tusk_reset%'",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(
            n, 0,
            "a named reset statement on a pooler's server connection"
        );
        c.queue_session_reset(reset).unwrap();
        c.execute_script("SELECT 1; SELECT 2").await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_with_a_queued_reset_says_goodbye() {
    let (db, bouncer) = bouncer();
    let url = format!("{}?pooler_mode=on", bouncer.url(db.name()));
    let c = tusk::connect(&url).await.unwrap();
    c.execute("SELECT 1", &[]).await.unwrap();
    c.queue_session_reset(&["BEGIN", "RESET ALL", "COMMIT"])
        .unwrap();
    drop(c);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(bouncer.log_path()).unwrap();
    assert!(log.contains("client close request"), "{log}");
    assert!(!log.contains("client unexpected eof"), "{log}");
}
