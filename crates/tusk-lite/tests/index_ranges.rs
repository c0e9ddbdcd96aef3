//! Range lookups on primary keys and indexes: a narrow range of a large
//! table reads few rows from the store (counted by a store wrapper), and
//! ranges with parameters sent in binary give PostgreSQL 15's rows.
//! (tests/slt/index_ranges.slt has the bound forms and types.)

mod common;

use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tusk_lite::storage::{memory::MemoryStore, Commit, Row, Store, Ts};

/// A memory store that counts the rows (and index entries) it hands out.
struct Counting {
    inner: MemoryStore,
    read: Arc<AtomicUsize>,
}

impl Counting {
    fn count(&self, rows: Vec<(Vec<u8>, Row)>) -> Vec<(Vec<u8>, Row)> {
        self.read.fetch_add(rows.len(), Ordering::Relaxed);
        rows
    }
}

impl Store for Counting {
    fn get(&self, table: u32, key: &[u8], snapshot: Ts) -> Option<(Ts, Option<Row>)> {
        self.read.fetch_add(1, Ordering::Relaxed);
        self.inner.get(table, key, snapshot)
    }

    fn scan(&self, table: u32, snapshot: Ts) -> Vec<(Vec<u8>, Row)> {
        self.count(self.inner.scan(table, snapshot))
    }

    fn scan_prefix(&self, table: u32, prefix: &[u8], snapshot: Ts) -> Vec<(Vec<u8>, Row)> {
        self.count(self.inner.scan_prefix(table, prefix, snapshot))
    }

    fn scan_page(
        &self,
        table: u32,
        snapshot: Ts,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Row)> {
        self.count(self.inner.scan_page(table, snapshot, after, limit))
    }

    fn scan_range(
        &self,
        table: u32,
        snapshot: Ts,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Row)> {
        self.count(self.inner.scan_range(table, snapshot, from, to, limit))
    }

    fn scan_range_rev(
        &self,
        table: u32,
        snapshot: Ts,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Row)> {
        self.count(self.inner.scan_range_rev(table, snapshot, from, to, limit))
    }

    fn commit(&self, group: &[Commit<'_>]) -> tusk_lite::error::Result<()> {
        self.inner.commit(group)
    }

    fn put_sequence(&self, oid: u32, value: i64) -> tusk_lite::error::Result<()> {
        self.inner.put_sequence(oid, value)
    }

    fn sequence_values(&self) -> Vec<(u32, i64)> {
        self.inner.sequence_values()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrow_range_reads_few_rows() {
    let read = Arc::new(AtomicUsize::new(0));
    let db = tusk_lite::Database::open_with_store(Box::new(Counting {
        inner: MemoryStore::new(),
        read: read.clone(),
    }));
    let c = common::lite_client(&db).await;
    c.batch_execute(
        "CREATE TABLE big (id int PRIMARY KEY, a int, b int);
         INSERT INTO big SELECT g, g % 100, g FROM generate_series(1, 100000) g;
         CREATE INDEX big_a_b ON big (a, b)",
    )
    .await
    .expect("setup");
    let reads = |sql: &'static str| {
        let c = &c;
        let read = read.clone();
        async move {
            read.store(0, Ordering::Relaxed);
            let rows = c
                .query(sql, &[])
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            let n: i64 = rows[0].get(0);
            (n, read.load(Ordering::Relaxed))
        }
    };
    // A whole scan reads every row (the counter works).
    let (n, r) = reads("SELECT count(*) FROM big WHERE b + 0 > 50000").await;
    assert_eq!(n, 50000);
    assert!(r >= 100_000, "a scan read {r} rows");
    for (sql, want) in [
        ("SELECT count(*) FROM big WHERE id >= 500 AND id < 510", 10),
        (
            "SELECT count(*) FROM big WHERE id BETWEEN 99990 AND 200000",
            11,
        ),
        ("SELECT count(*) FROM big WHERE id > 99995", 5),
        ("SELECT count(*) FROM big WHERE id < 4", 3),
        // Compared as bigint (the column widened): the same keys.
        (
            "SELECT count(*) FROM big WHERE id BETWEEN 500::int8 AND 509::int8",
            10,
        ),
        ("SELECT count(*) FROM big WHERE id = 77::int8", 1),
        // An index: an equality prefix, then a range (entries, then rows).
        ("SELECT count(*) FROM big WHERE a = 7 AND b > 99000", 10),
        (
            "SELECT count(*) FROM big WHERE a = 7 AND b BETWEEN 1 AND 1000",
            10,
        ),
        ("SELECT count(*) FROM big WHERE a > 98", 1000),
    ] {
        let (n, r) = reads(sql).await;
        assert_eq!(usize::try_from(n).ok(), Some(want), "{sql}");
        assert!(r <= 2 * want + 10, "{sql} read {r} rows");
    }
    // LIMIT stops a range early, a page in.
    read.store(0, Ordering::Relaxed);
    let rows = c
        .query("SELECT id FROM big WHERE id > 10 LIMIT 3", &[])
        .await
        .expect("limit");
    assert_eq!(rows.len(), 3);
    assert!(read.load(Ordering::Relaxed) <= 4096);
    // ORDER BY the primary key: the scan's order, stopped by the LIMIT.
    for (sql, first) in [
        ("SELECT id FROM big ORDER BY id LIMIT 5", 1),
        (
            "SELECT id FROM big WHERE id > 50000 ORDER BY id LIMIT 5",
            50001,
        ),
        ("SELECT id FROM big WHERE b % 2 = 0 ORDER BY id LIMIT 5", 2),
        ("SELECT id FROM big ORDER BY id DESC LIMIT 5", 100000),
        (
            "SELECT id FROM big WHERE id < 500 ORDER BY id DESC LIMIT 5",
            499,
        ),
    ] {
        read.store(0, Ordering::Relaxed);
        let rows = c.query(sql, &[]).await.expect(sql);
        let ids: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(ids.len(), 5, "{sql}");
        assert_eq!(ids[0], first, "{sql}");
        let desc = sql.contains("DESC");
        assert!(
            ids.windows(2).all(|w| (w[0] < w[1]) != desc),
            "{sql}: {ids:?}"
        );
        let r = read.load(Ordering::Relaxed);
        assert!(r <= 4096, "{sql} read {r} rows");
    }
    // UPDATE and DELETE find their rows by the range too.
    read.store(0, Ordering::Relaxed);
    let n = c
        .execute(
            "UPDATE big SET b = b + 1 WHERE id > 1000 AND id <= 1020",
            &[],
        )
        .await
        .expect("update");
    assert_eq!(n, 20);
    let r = read.load(Ordering::Relaxed);
    assert!(r < 1000, "the update read {r} rows");
    read.store(0, Ordering::Relaxed);
    let n = c
        .execute("DELETE FROM big WHERE a = 3 AND b < 1000", &[])
        .await
        .expect("delete");
    assert_eq!(n, 10);
    let r = read.load(Ordering::Relaxed);
    assert!(r < 1000, "the delete read {r} rows");
}

/// The same ranges with binary parameters on PostgreSQL and tusk-lite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_with_binary_parameters_match_postgres() {
    let db = tusk_lite::Database::open_in_memory();
    let lite = common::lite_client(&db).await;
    let pg_db = tusk_testkit::Cluster::shared()
        .database()
        .expect("database");
    let pg = common::pg_client(&pg_db.url()).await;
    for c in [&lite, &pg] {
        c.batch_execute(
            "CREATE TABLE pr (id int PRIMARY KEY, f float8, s text, t timestamp);
             CREATE INDEX pr_f ON pr (f);
             CREATE INDEX pr_s ON pr (s);
             CREATE INDEX pr_t ON pr (t);
             INSERT INTO pr VALUES
               (1, '-Infinity', '', '2000-01-01'),
               (2, '-0', 'a', '2000-01-01 00:00:01'),
               (3, 1.5, 'ab', '1999-12-31 23:59:59.999999'),
               (4, 'NaN', 'é', '2024-02-29 12:00'),
               (5, 'Infinity', 'b', '0001-01-01 00:00 BC'),
               (6, NULL, NULL, NULL)",
        )
        .await
        .expect("setup");
    }
    async fn ids(
        c: &tokio_postgres::Client,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Vec<i32> {
        c.query(sql, params)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
    // 2000-01-01 00:00:00 is 946684800 s after the Unix epoch.
    let ts = |micros: i64| {
        std::time::UNIX_EPOCH
            + std::time::Duration::from_micros((946_684_800_000_000 + micros).cast_unsigned())
    };
    let null_i: Option<i32> = None;
    let null_f: Option<f64> = None;
    let cases: Vec<(&str, Vec<Box<dyn tokio_postgres::types::ToSql + Sync>>)> = vec![
        (
            "SELECT id FROM pr WHERE id > $1 AND id <= $2 ORDER BY id",
            vec![Box::new(1i32), Box::new(4i32)],
        ),
        (
            "SELECT id FROM pr WHERE id BETWEEN $1 AND $2 ORDER BY id",
            vec![Box::new(4i32), Box::new(1i32)],
        ),
        (
            "SELECT id FROM pr WHERE id > $1 ORDER BY id",
            vec![Box::new(null_i)],
        ),
        (
            "SELECT id FROM pr WHERE id >= $1::int8 ORDER BY id",
            vec![Box::new(5i64)],
        ),
        (
            "SELECT id FROM pr WHERE f >= $1 ORDER BY id",
            vec![Box::new(0.0f64)],
        ),
        (
            "SELECT id FROM pr WHERE f > $1 ORDER BY id",
            vec![Box::new(-0.0f64)],
        ),
        (
            "SELECT id FROM pr WHERE f < $1 ORDER BY id",
            vec![Box::new(f64::NAN)],
        ),
        (
            "SELECT id FROM pr WHERE f >= $1 ORDER BY id",
            vec![Box::new(f64::INFINITY)],
        ),
        (
            "SELECT id FROM pr WHERE f <= $1 ORDER BY id",
            vec![Box::new(null_f)],
        ),
        (
            "SELECT id FROM pr WHERE s > $1 AND s < $2 ORDER BY id",
            vec![Box::new(""), Box::new("b")],
        ),
        (
            "SELECT id FROM pr WHERE s >= $1 ORDER BY id",
            vec![Box::new("b")],
        ),
        (
            "SELECT id FROM pr WHERE t > $1 ORDER BY id",
            vec![Box::new(ts(-1))],
        ),
        (
            "SELECT id FROM pr WHERE t <= $1 ORDER BY id",
            vec![Box::new(ts(0))],
        ),
    ];
    for (sql, params) in &cases {
        let p: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            params.iter().map(|b| &**b).collect();
        let want = ids(&pg, sql, &p).await;
        let got = ids(&lite, sql, &p).await;
        assert_eq!(got, want, "{sql}");
    }
}

/// Backwards over the durable store: each key's newest version the
/// snapshot sees, none of the deleted ones, pages past the first; an
/// older snapshot still reads the versions it saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backward_ranges_on_the_durable_store_see_their_snapshot() {
    let dir = std::env::temp_dir().join(format!("tusk-lite-ranges-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = tusk_lite::Database::open(&dir).expect("open");
    let c = common::lite_client(&db).await;
    let old = common::lite_client(&db).await;
    c.batch_execute(
        "CREATE TABLE v (id int PRIMARY KEY, n int);
         INSERT INTO v SELECT g, 0 FROM generate_series(1, 10000) g;
         UPDATE v SET n = 1 WHERE id % 3 = 0;
         UPDATE v SET n = 2 WHERE id % 3 = 0 AND id > 5000;
         DELETE FROM v WHERE id % 7 = 0;
         CHECKPOINT",
    )
    .await
    .expect("setup");
    old.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")
        .await
        .expect("snapshot");
    // (Versions in the store's files and in its memtable both.)
    c.batch_execute("UPDATE v SET n = 9 WHERE id > 9000; DELETE FROM v WHERE id < 100; CHECKPOINT; UPDATE v SET n = 8 WHERE id = 9999")
        .await
        .expect("later writes");
    async fn rows(c: &tokio_postgres::Client, sql: &str) -> Vec<(i32, i32)> {
        c.query(sql, &[])
            .await
            .expect(sql)
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }
    for s in [&c, &old] {
        let mut fwd = rows(s, "SELECT id, n FROM v ORDER BY id").await;
        let back = rows(s, "SELECT id, n FROM v ORDER BY id DESC").await;
        let sorted = rows(s, "SELECT id, n FROM v ORDER BY id + 0 DESC").await;
        fwd.reverse();
        assert_eq!(back, fwd);
        assert_eq!(back, sorted);
        let part = rows(
            s,
            "SELECT id, n FROM v WHERE id BETWEEN 4990 AND 5010 ORDER BY id DESC",
        )
        .await;
        let want: Vec<_> = sorted
            .iter()
            .copied()
            .filter(|(id, _)| (4990..=5010).contains(id))
            .collect();
        assert_eq!(part, want);
    }
    let newest = rows(&c, "SELECT id, n FROM v ORDER BY id DESC LIMIT 2").await;
    assert_eq!(newest, [(10000, 9), (9999, 8)]);
    let seen = rows(&old, "SELECT id, n FROM v ORDER BY id DESC LIMIT 2").await;
    assert_eq!(seen, [(10000, 0), (9999, 2)]);
    let low = rows(&old, "SELECT id, n FROM v WHERE id < 4 ORDER BY id DESC").await;
    assert_eq!(low, [(3, 1), (2, 0), (1, 0)]);
    old.batch_execute("COMMIT").await.expect("commit");
    drop((c, old));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A snapshot older than an index (or than the primary key's keys) reads
/// the whole table for a range, still in the key's order when the sort
/// was left to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_in_snapshots_older_than_the_key_keep_its_order() {
    let db = tusk_lite::Database::open_in_memory();
    let c = common::lite_client(&db).await;
    let old = common::lite_client(&db).await;
    c.batch_execute(
        "CREATE TABLE o (id int PRIMARY KEY, x int, y int);
         INSERT INTO o VALUES (1, 30, 1), (2, 10, 1), (3, 20, 1), (4, NULL, 1), (5, 15, 2);
         CREATE TABLE p (id int, v int);
         INSERT INTO p VALUES (3, 0), (1, 0), (2, 0)",
    )
    .await
    .expect("setup");
    old.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")
        .await
        .expect("snapshot");
    c.batch_execute(
        "CREATE INDEX o_yx ON o (y, x); INSERT INTO o VALUES (6, 25, 1);
         ALTER TABLE p ADD PRIMARY KEY (id); INSERT INTO p VALUES (4, 0)",
    )
    .await
    .expect("index and key");
    async fn ids(c: &tokio_postgres::Client, sql: &str) -> Vec<i32> {
        c.query(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
    for (sql, now, then) in [
        (
            "SELECT id FROM o WHERE y = 1 ORDER BY x",
            vec![2, 3, 6, 1, 4],
            vec![2, 3, 1, 4],
        ),
        (
            "SELECT id FROM o WHERE y = 1 AND x > 12 ORDER BY x DESC",
            vec![1, 6, 3],
            vec![1, 3],
        ),
        (
            "SELECT id FROM p ORDER BY id DESC LIMIT 3",
            vec![4, 3, 2],
            vec![3, 2, 1],
        ),
        (
            "SELECT id FROM p WHERE id > 1 ORDER BY id",
            vec![2, 3, 4],
            vec![2, 3],
        ),
    ] {
        assert_eq!(ids(&c, sql).await, now, "{sql}");
        assert_eq!(ids(&old, sql).await, then, "{sql} (older snapshot)");
    }
    old.batch_execute("COMMIT").await.expect("commit");
}
