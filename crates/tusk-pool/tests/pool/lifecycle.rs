//! Lifecycle and policy (issue 11, items 6-8 and 10): shrinking under
//! load, read-only errors, close during a connect, SQL text in spans.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tusk::{ErrorKind, Executor};
use tusk_pool::{Pool, PoolConfig};
use tusk_testkit::{Cluster, Proxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shrinking_max_size_under_load_closes_the_excess_on_return() {
    let db = crate::db();
    let pool = crate::app_pool(&db, |b| b.max_size(4));
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(pool.acquire().await.unwrap());
    }
    // Four callers queue for a connection.
    let mut waiters = Vec::new();
    for _ in 0..4 {
        let p = pool.clone();
        waiters.push(tokio::spawn(async move {
            let c = p.acquire().await.unwrap();
            c.query("SELECT pg_sleep(0.3)", &[]).await.unwrap();
            drop(c);
        }));
    }
    while pool.stats().waiting < 4 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    pool.reconfigure(PoolConfig {
        max_size: 2,
        ..pool.config()
    });
    drop(held);
    // The waiters run two at a time on what is left.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let s = pool.stats();
    assert!(s.size <= 2, "{s:?}");
    for w in waiters {
        crate::bounded("waiter", w).await.unwrap();
    }
    let s = pool.stats();
    assert!(s.size <= 2, "{s:?}");
    assert!(s.closed_total.contains(&("reconfigured", 2)), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_own_read_only_transaction_retires_nothing() {
    let db = crate::db();
    crate::app_roles();
    db.psql(&format!(
        "CREATE TABLE t (id int); GRANT INSERT ON t TO {}",
        crate::APP
    ))
    .unwrap();
    let pool = crate::app_pool(&db, |b| b.max_size(3));
    let a = pool.acquire().await.unwrap();
    let b = pool.acquire().await.unwrap();
    let pids = [a.process_id(), b.process_id()];
    drop(b);
    a.execute_script("BEGIN READ ONLY").await.unwrap();
    let e = a
        .execute("INSERT INTO t VALUES (1)", &[])
        .await
        .unwrap_err();
    assert_eq!(
        e.code().map(|c| c.code().to_string()).as_deref(),
        Some("25006"),
        "{e}"
    );
    drop(a);
    // Both connections are kept (once rolled back): the server accepts writes.
    let t0 = std::time::Instant::now();
    while pool.stats().idle < 2 {
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", pool.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let c1 = crate::bounded("acquire", pool.acquire()).await.unwrap();
    let c2 = crate::bounded("acquire", pool.acquire()).await.unwrap();
    let mut now = [c1.process_id(), c2.process_id()];
    now.sort();
    let mut was = pids;
    was.sort();
    assert_eq!(now, was, "{:?}", pool.stats());
    c1.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
    assert_eq!(pool.stats().created_total, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_server_retires_every_connection() {
    let db = crate::db();
    crate::app_roles();
    db.psql(&format!(
        "CREATE TABLE t (id int); GRANT INSERT ON t TO {app};
         ALTER ROLE {app} IN DATABASE {db} SET default_transaction_read_only = on;",
        app = crate::APP,
        db = db.name()
    ))
    .unwrap();
    // The server refuses writes for this role and database by its own
    // settings (what a demoted primary looks like to a session).
    let pool = crate::app_pool(&db, |b| b.max_size(3));
    let a = pool.acquire().await.unwrap();
    let b = pool.acquire().await.unwrap();
    let b_pid = b.process_id();
    drop(b);
    let e = a
        .execute("INSERT INTO t VALUES (1)", &[])
        .await
        .unwrap_err();
    assert_eq!(
        e.code().map(|c| c.code().to_string()).as_deref(),
        Some("25006"),
        "{e}"
    );
    drop(a);
    let t0 = std::time::Instant::now();
    while !pool.stats().evicted_total.contains(&("25", 1)) && pool.stats().size > 0 {
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", pool.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    assert_ne!(c.process_id(), b_pid, "the idle connection was not retired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_catches_a_connect_in_progress() {
    let cluster = Cluster::shared();
    let db = crate::db();
    let proxy = Proxy::start(([127, 0, 0, 1], cluster.port()).into()).unwrap();
    proxy.set_delay(Duration::from_millis(150));
    let url = format!(
        "postgresql://{}@127.0.0.1:{}/{}?sslmode=disable",
        crate::APP,
        proxy.port(),
        db.name()
    );
    crate::app_roles();
    let pool = Pool::new(
        PoolConfig::builder()
            .url(&url)
            .unwrap()
            .max_size(1)
            .acquire_timeout(Duration::from_secs(10))
            .build(),
    )
    .unwrap();
    let p = pool.clone();
    let acquiring = tokio::spawn(async move { p.acquire().await.map(|c| c.process_id()) });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let left = crate::bounded("close", pool.close(Duration::from_millis(10))).await;
    let got = crate::bounded("acquire", acquiring).await.unwrap();
    let e = got.expect_err("an acquire mid-connect returned a live connection after close");
    assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
    let t0 = std::time::Instant::now();
    while pool.stats().size != 0 {
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", pool.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(left <= 1);
}

/// Records every `db.query.text` recorded on a span.
struct Texts(Arc<Mutex<Vec<String>>>);

struct Visit<'a>(&'a Mutex<Vec<String>>);

impl tracing::field::Visit for Visit<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "db.query.text" {
            self.0.lock().push(value.to_string());
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "db.query.text" {
            self.0.lock().push(format!("{value:?}"));
        }
    }
}

impl tracing::Subscriber for Texts {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut Visit(&self.0));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Visit(&self.0));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Every `db.query.text` any test in this binary records.
///
/// The recorder is the binary's global subscriber, installed once: a
/// thread-local `set_default` subscriber raced with other test threads
/// registering the same span callsite first (tracing caches a callsite's
/// interest across dispatchers), so the span was sometimes never recorded.
fn recorded_texts() -> Arc<Mutex<Vec<String>>> {
    static TEXTS: std::sync::OnceLock<Arc<Mutex<Vec<String>>>> = std::sync::OnceLock::new();
    TEXTS
        .get_or_init(|| {
            let texts = Arc::new(Mutex::new(Vec::new()));
            tracing::subscriber::set_global_default(Texts(texts.clone()))
                .expect("no other global subscriber in the pool tests");
            tracing::callsite::rebuild_interest_cache();
            texts
        })
        .clone()
}

#[tokio::test(flavor = "current_thread")]
async fn spans_record_no_literals() {
    let db = crate::db();
    let texts = recorded_texts();
    let pool = crate::app_pool(&db, |b| b.max_size(1));
    let _: Option<String> = pool
        .query_scalar(
            "SELECT current_setting('app.secret', true) AS spans_marker \
             WHERE 'hunter2' <> $1 AND 4111 > 0",
            &[&"x"],
        )
        .await
        .unwrap();
    // Other tests record their own statements beside this one's.
    let seen: Vec<String> = texts
        .lock()
        .iter()
        .filter(|t| t.contains("spans_marker"))
        .cloned()
        .collect();
    assert!(!seen.is_empty(), "no db.query.text recorded");
    for t in &seen {
        assert!(!t.contains("hunter2") && !t.contains("4111"), "{t}");
        assert!(t.contains("current_setting") && t.contains("$1"), "{t}");
    }
    // No statement of any test in this binary was recorded with literals.
    for t in texts.lock().iter() {
        assert!(!t.contains("hunter2"), "{t}");
    }
}
