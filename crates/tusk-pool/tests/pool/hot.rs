//! Hot statements: prepared on every new connection before its first use,
//! so their first run sends no Parse.

use tusk::{Executor, SimpleQueryMessage};
use tusk_pool::Pool;

const HOT_A: &str = "SELECT $1::int8 + 1";
const HOT_B: &str = "SELECT count(*) FROM pg_class WHERE relname = $1";

/// The server's prepared statements on this connection, read with the
/// simple protocol (which prepares nothing itself).
async fn server_prepared(c: &impl Executor) -> Vec<String> {
    c.simple_query("SELECT statement FROM pg_prepared_statements")
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get_text(0).unwrap().map(str::to_string),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn hot_count(prepared: &[String]) -> usize {
    prepared
        .iter()
        .filter(|s| *s == HOT_A || *s == HOT_B)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_statements_are_prepared_before_first_use() {
    let db = crate::db();
    let pool = Pool::new(
        crate::config(&db)
            .max_size(2)
            // One without parameters (prepared like the others) and one
            // that fails to parse (logged, and it does not stop the others).
            .hot_statements([HOT_A, HOT_B, "SELECT 1", "SELEC oops $1"])
            .build(),
    )
    .unwrap();
    let c = pool.acquire().await.unwrap();
    let prepared = server_prepared(&c).await;
    let mut want = vec![HOT_A.to_string(), HOT_B.to_string(), "SELECT 1".to_string()];
    want.sort();
    assert_eq!(prepared, want);
    assert_eq!(c.cached_statements(), 3);

    // First runs with real values: answered from the cache (no new
    // statement prepared on the server or in the driver), nothing of the
    // warm-up was executed.
    let n: i64 = c.query_scalar(HOT_A, &[&41i64]).await.unwrap();
    assert_eq!(n, 42);
    let n: i64 = c.query_scalar(HOT_B, &[&"pg_class"]).await.unwrap();
    assert_eq!(n, 1);
    assert_eq!(c.cached_statements(), 3);
    // Each hot text is prepared once on the server (the driver may have
    // prepared statements of its own, e.g. for read groups).
    let now = server_prepared(&c).await;
    assert_eq!(hot_count(&now), 2, "{now:?}");
    drop(c);

    // Through the pool's own methods too. The reset on return deallocates
    // the holder's own SQL-level PREPAREd statements and keeps the driver's
    // (the hot ones included): the next holder finds them prepared.
    let n: i64 = pool.query_scalar(HOT_A, &[&1i64]).await.unwrap();
    assert_eq!(n, 2);
    let c = pool.acquire().await.unwrap();
    c.execute("PREPARE mine AS SELECT 1", &[]).await.unwrap();
    drop(c);
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    let mine: i64 = c
        .query_scalar(
            "SELECT count(*) FROM pg_prepared_statements WHERE from_sql",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(mine, 0);
    assert_eq!(hot_count(&server_prepared(&c).await), 2);
    let n: i64 = c.query_scalar(HOT_A, &[&2i64]).await.unwrap();
    assert_eq!(n, 3);
    assert!(c.cached_statements() >= 3);
}
