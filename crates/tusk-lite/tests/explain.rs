//! EXPLAIN prints the plan in PostgreSQL's shape, one line per row of a
//! text column named "QUERY PLAN" (tusk-lite's plans differ from
//! PostgreSQL's, so the lines are checked against tusk-lite only): a
//! point query on the primary key is an index scan.

mod common;

async fn explain(c: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    let rows = c
        .query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(rows[0].columns()[0].name(), "QUERY PLAN");
    rows.iter().map(|r| r.get::<_, String>(0)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_prints_postgres_shaped_plans() {
    let db = tusk_lite::Database::open_in_memory();
    let c = common::lite_client(&db).await;
    c.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY, name text, n int);
         CREATE INDEX t_n_idx ON t (n);
         CREATE TABLE u (id int PRIMARY KEY, t_id int);
         INSERT INTO t VALUES (1, 'a', 10), (2, 'b', 20)",
    )
    .await
    .expect("setup");
    assert_eq!(
        explain(&c, "EXPLAIN SELECT * FROM t WHERE id = 1").await,
        ["Index Scan using t_pkey on t", "  Index Cond: (id = 1)"]
    );
    assert_eq!(
        explain(
            &c,
            "EXPLAIN (COSTS OFF) SELECT name FROM t WHERE id = 1 AND name = 'a'"
        )
        .await,
        [
            "Index Scan using t_pkey on t",
            "  Index Cond: (id = 1)",
            "  Filter: (name = 'a'::text)"
        ]
    );
    assert_eq!(
        explain(&c, "EXPLAIN SELECT * FROM t WHERE n = 10").await,
        ["Index Scan using t_n_idx on t", "  Index Cond: (n = 10)"]
    );
    assert_eq!(
        explain(&c, "EXPLAIN SELECT * FROM t WHERE name = 'x'").await,
        ["Seq Scan on t", "  Filter: (name = 'x'::text)"]
    );
    assert_eq!(
        explain(&c, "EXPLAIN SELECT * FROM t ORDER BY name DESC LIMIT 1").await,
        [
            "Limit",
            "  ->  Sort",
            "        Sort Key: name DESC",
            "        ->  Seq Scan on t"
        ]
    );
    assert_eq!(
        explain(&c, "EXPLAIN SELECT n, count(*) FROM t GROUP BY n").await,
        ["HashAggregate", "  Group Key: n", "  ->  Seq Scan on t"]
    );
    assert_eq!(
        explain(&c, "EXPLAIN SELECT * FROM t JOIN u ON u.t_id = t.id").await,
        [
            "Hash Join",
            "  Hash Cond: (t.id = u.t_id)",
            "  ->  Seq Scan on t",
            "  ->  Hash",
            "        ->  Seq Scan on u"
        ]
    );
    assert_eq!(
        explain(&c, "EXPLAIN (VERBOSE) SELECT id FROM t WHERE id = 2").await,
        [
            "Index Scan using t_pkey on public.t",
            "  Output: t.id, t.name, t.n",
            "  Index Cond: (t.id = 2)"
        ]
    );
    assert_eq!(
        explain(&c, "EXPLAIN UPDATE t SET n = 0 WHERE id = 1").await,
        [
            "Update on t",
            "  ->  Index Scan using t_pkey on t",
            "        Index Cond: (id = 1)"
        ]
    );
    assert_eq!(
        explain(&c, "EXPLAIN DELETE FROM t USING u WHERE u.t_id = t.id").await,
        [
            "Delete on t",
            "  ->  Hash Join",
            "        Hash Cond: (t.id = u.t_id)",
            "        ->  Seq Scan on t",
            "        ->  Hash",
            "              ->  Seq Scan on u"
        ]
    );
    assert_eq!(
        explain(&c, "EXPLAIN INSERT INTO t VALUES (3, 'c', 30)").await,
        ["Insert on t", "  ->  Result"]
    );
    // EXPLAIN does not run the statement.
    let n: i64 = c
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 2);
    // A prepared EXPLAIN with a parameter.
    let rows = c
        .query("EXPLAIN SELECT * FROM t WHERE id = $1", &[&1i32])
        .await
        .expect("explain with a parameter");
    assert_eq!(rows[1].get::<_, String>(0), "  Index Cond: (id = $1)");
    for sql in [
        "EXPLAIN ANALYZE SELECT 1",
        "EXPLAIN (FORMAT JSON) SELECT 1",
        "EXPLAIN (SETTINGS) SELECT 1",
    ] {
        let e = c.query(sql, &[]).await.expect_err(sql);
        assert_eq!(
            e.as_db_error().map(|d| d.code().code()),
            Some("0A000"),
            "{sql}: {e}"
        );
    }
}

/// Joins on key equalities: an index nested loop when the right side is
/// a table whose primary key or index the ON clause pins (PostgreSQL 15
/// prints these plans the same way), a hash join otherwise, a nested loop
/// with the ON clause as its Join Filter for anything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_join_strategies() {
    let db = tusk_lite::Database::open_in_memory();
    let c = common::lite_client(&db).await;
    c.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY, name text, n int);
         CREATE TABLE u (id int PRIMARY KEY, t_id int);
         CREATE INDEX u_t_id ON u (t_id)",
    )
    .await
    .expect("setup");
    assert_eq!(
        explain(
            &c,
            "EXPLAIN (COSTS OFF) SELECT * FROM u JOIN t ON u.t_id = t.id"
        )
        .await,
        [
            "Nested Loop",
            "  ->  Seq Scan on u",
            "  ->  Index Scan using t_pkey on t",
            "        Index Cond: (id = u.t_id)"
        ]
    );
    assert_eq!(
        explain(
            &c,
            "EXPLAIN SELECT * FROM u LEFT JOIN t ON u.t_id = t.id AND t.n > u.id"
        )
        .await,
        [
            "Nested Loop Left Join",
            "  ->  Seq Scan on u",
            "  ->  Index Scan using t_pkey on t",
            "        Index Cond: (id = u.t_id)",
            "        Filter: (n > u.id)"
        ]
    );
    // A secondary index of the right table.
    assert_eq!(
        explain(&c, "EXPLAIN SELECT * FROM t JOIN u ON u.t_id = t.id").await,
        [
            "Nested Loop",
            "  ->  Seq Scan on t",
            "  ->  Index Scan using u_t_id on u",
            "        Index Cond: (t_id = t.id)"
        ]
    );
    assert_eq!(
        explain(
            &c,
            "EXPLAIN SELECT * FROM t FULL JOIN u ON u.t_id = t.id AND u.id > t.n WHERE t.n IS NULL"
        )
        .await,
        [
            "Hash Full Join",
            "  Hash Cond: (t.id = u.t_id)",
            "  Join Filter: (u.id > t.n)",
            "  Filter: (t.n IS NULL)",
            "  ->  Seq Scan on t",
            "  ->  Hash",
            "        ->  Seq Scan on u"
        ]
    );
    assert_eq!(
        explain(&c, "EXPLAIN SELECT * FROM t RIGHT JOIN u ON u.t_id = t.id").await,
        [
            "Hash Right Join",
            "  Hash Cond: (t.id = u.t_id)",
            "  ->  Seq Scan on t",
            "  ->  Hash",
            "        ->  Seq Scan on u"
        ]
    );
    // WHERE conditions move into the join (both sides) and onto the
    // side they read.
    assert_eq!(
        explain(
            &c,
            "EXPLAIN SELECT * FROM t, u WHERE u.t_id = t.n AND t.name = 'x'"
        )
        .await,
        [
            "Nested Loop",
            "  ->  Seq Scan on t",
            "        Filter: (name = 'x'::text)",
            "  ->  Index Scan using u_t_id on u",
            "        Index Cond: (t_id = t.n)"
        ]
    );
    // The left side is the table: each right row looks its matches up.
    assert_eq!(
        explain(
            &c,
            "EXPLAIN SELECT * FROM t JOIN (VALUES (1), (2)) v(x) ON t.id = v.x"
        )
        .await,
        [
            "Nested Loop",
            "  ->  Values Scan on \"*VALUES*\"",
            "  ->  Index Scan using t_pkey on t",
            "        Index Cond: (id = \"*VALUES*\".column1)"
        ]
    );
    assert_eq!(
        explain(
            &c,
            "EXPLAIN SELECT * FROM t RIGHT JOIN (VALUES (1), (2)) v(x) ON t.id = v.x AND t.n > v.x"
        )
        .await,
        [
            "Nested Loop Left Join",
            "  ->  Values Scan on \"*VALUES*\"",
            "  ->  Index Scan using t_pkey on t",
            "        Index Cond: (id = \"*VALUES*\".column1)",
            "        Filter: (n > \"*VALUES*\".column1)"
        ]
    );
    // Not an equality: a nested loop.
    assert_eq!(
        explain(&c, "EXPLAIN SELECT * FROM t JOIN u ON u.t_id < t.id").await,
        [
            "Nested Loop",
            "  Join Filter: (u.t_id < t.id)",
            "  ->  Seq Scan on t",
            "  ->  Seq Scan on u"
        ]
    );
    // Two 20,000-row tables joined on their keys: a nested loop would
    // check the ON clause 400 million times; these finish at once.
    c.batch_execute(
        "CREATE TABLE big1 (id int PRIMARY KEY, g int);
         CREATE TABLE big2 (id int PRIMARY KEY, g int);
         INSERT INTO big1 SELECT i, i % 1000 FROM generate_series(1, 20000) i;
         INSERT INTO big2 SELECT i, i % 1000 FROM generate_series(1, 20000) i",
    )
    .await
    .expect("big tables");
    assert_eq!(
        explain(
            &c,
            "EXPLAIN SELECT count(*) FROM big1 JOIN big2 ON big2.id = big1.id"
        )
        .await,
        [
            "Aggregate",
            "  ->  Nested Loop",
            "        ->  Seq Scan on big1",
            "        ->  Index Scan using big2_pkey on big2",
            "              Index Cond: (id = big1.id)"
        ]
    );
    assert_eq!(
        explain(
            &c,
            "EXPLAIN SELECT count(*) FROM big1 FULL JOIN big2 ON big2.id = big1.id"
        )
        .await,
        [
            "Aggregate",
            "  ->  Hash Full Join",
            "        Hash Cond: (big1.id = big2.id)",
            "        ->  Seq Scan on big1",
            "        ->  Hash",
            "              ->  Seq Scan on big2"
        ]
    );
    // DELETE ... USING several items: their own conditions join them.
    assert_eq!(
        explain(
            &c,
            "EXPLAIN DELETE FROM t USING u, big1 WHERE u.t_id = t.id AND big1.id = u.id"
        )
        .await,
        [
            "Delete on t",
            "  ->  Hash Join",
            "        Hash Cond: (t.id = u.t_id)",
            "        ->  Seq Scan on t",
            "        ->  Hash",
            "              ->  Nested Loop",
            "                    ->  Seq Scan on u",
            "                    ->  Index Scan using big1_pkey on big1",
            "                          Index Cond: (id = u.id)"
        ]
    );
    // Whatever the strategy, rows come in the nested loop's order: the
    // left rows' order, each one's matches in the right side's order,
    // then the unmatched right rows.
    c.batch_execute(
        "INSERT INTO t VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', 10);
         INSERT INTO u VALUES (7, 2), (8, 1), (9, 2), (10, NULL)",
    )
    .await
    .expect("rows");
    for (sql, want) in [
        (
            "SELECT t.id, v.x FROM t RIGHT JOIN (VALUES (2), (1), (5), (1)) v(x) ON t.id = v.x",
            "1:1 1:1 2:2 -:5",
        ),
        (
            "SELECT t.id, u.id FROM t JOIN u ON u.t_id = t.id",
            "1:8 2:7 2:9",
        ),
        (
            "SELECT t.id, u.id FROM t FULL JOIN u ON coalesce(u.t_id, 0) = t.id",
            "1:8 2:7 2:9 3:- -:10",
        ),
        (
            "SELECT t.id, u.id FROM t FULL JOIN u ON u.t_id = t.n - 8",
            "1:7 1:9 2:- 3:7 3:9 -:8 -:10",
        ),
    ] {
        let rows = c.query(sql, &[]).await.expect(sql);
        let got: Vec<String> = rows
            .iter()
            .map(|r| {
                let a: Option<i32> = r.get(0);
                let b: Option<i32> = r.get(1);
                let s = |v: Option<i32>| v.map_or("-".to_string(), |v| v.to_string());
                format!("{}:{}", s(a), s(b))
            })
            .collect();
        assert_eq!(got.join(" "), want, "{sql}");
    }
    for (sql, want) in [
        (
            "SELECT count(*) FROM big1 JOIN big2 ON big2.id = big1.id",
            20000,
        ),
        (
            "SELECT count(*) FROM big1 FULL JOIN big2 ON big2.id = big1.id",
            20000,
        ),
        (
            "SELECT count(*) FROM big1, big2 WHERE big1.id = big2.g AND big2.id <= 20000",
            19980,
        ),
    ] {
        let n: i64 = c.query_one(sql, &[]).await.expect(sql).get(0);
        assert_eq!(n, want, "{sql}");
    }
}

/// Ranges of the primary key and of indexes are index scans with
/// PostgreSQL's `Index Cond` (as it prints them with enable_seqscan off):
/// the pinned columns' equalities, then the next column's bounds in the
/// WHERE's order, the column on the left; the rest is the filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_prints_range_scans() {
    let db = tusk_lite::Database::open_in_memory();
    let c = common::lite_client(&db).await;
    c.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY, a int, b int, c text, n numeric);
         CREATE INDEX t_ab ON t (a, b);
         CREATE UNIQUE INDEX t_c ON t (c);
         CREATE INDEX t_n ON t (n);
         CREATE TABLE m (x int, y int, z int, PRIMARY KEY (x, y, z))",
    )
    .await
    .expect("setup");
    let cases: &[(&str, &[&str])] = &[
        (
            "EXPLAIN SELECT * FROM t WHERE id >= 10 AND id < 20",
            &[
                "Index Scan using t_pkey on t",
                "  Index Cond: ((id >= 10) AND (id < 20))",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE id < 20 AND id >= 10",
            &[
                "Index Scan using t_pkey on t",
                "  Index Cond: ((id < 20) AND (id >= 10))",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE 10 < id",
            &["Index Scan using t_pkey on t", "  Index Cond: (id > 10)"],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE id BETWEEN 1 AND 5",
            &[
                "Index Scan using t_pkey on t",
                "  Index Cond: ((id >= 1) AND (id <= 5))",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE id > 5 AND id > 7 AND id <= 100 AND b = 3",
            &[
                "Index Scan using t_pkey on t",
                "  Index Cond: ((id > 5) AND (id > 7) AND (id <= 100))",
                "  Filter: (b = 3)",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE a = 1 AND b > 5",
            &[
                "Index Scan using t_ab on t",
                "  Index Cond: ((a = 1) AND (b > 5))",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE a > 1",
            &["Index Scan using t_ab on t", "  Index Cond: (a > 1)"],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE a = 1 AND b > 5 AND b < 10",
            &[
                "Index Scan using t_ab on t",
                "  Index Cond: ((a = 1) AND (b > 5) AND (b < 10))",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE c > 'x'",
            &["Index Scan using t_c on t", "  Index Cond: (c > 'x'::text)"],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE id > 5 AND id < 3",
            &[
                "Index Scan using t_pkey on t",
                "  Index Cond: ((id > 5) AND (id < 3))",
            ],
        ),
        (
            "EXPLAIN UPDATE t SET b = 1 WHERE id > 5 AND id < 8",
            &[
                "Update on t",
                "  ->  Index Scan using t_pkey on t",
                "        Index Cond: ((id > 5) AND (id < 8))",
            ],
        ),
        (
            "EXPLAIN DELETE FROM t WHERE id > 5 RETURNING *",
            &[
                "Delete on t",
                "  ->  Index Scan using t_pkey on t",
                "        Index Cond: (id > 5)",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE id > 5 FOR UPDATE",
            &[
                "LockRows",
                "  ->  Index Scan using t_pkey on t",
                "        Index Cond: (id > 5)",
            ],
        ),
        // A prefix of a primary key, and a prefix with a range.
        (
            "EXPLAIN SELECT * FROM m WHERE x = 1",
            &["Index Scan using m_pkey on m", "  Index Cond: (x = 1)"],
        ),
        (
            "EXPLAIN SELECT * FROM m WHERE x = 1 AND y = 2 AND z <= 3",
            &[
                "Index Scan using m_pkey on m",
                "  Index Cond: ((x = 1) AND (y = 2) AND (z <= 3))",
            ],
        ),
        // ORDER BY a primary-key prefix: the scan's key order, no sort.
        (
            "EXPLAIN SELECT * FROM t ORDER BY id LIMIT 3",
            &["Limit", "  ->  Index Scan using t_pkey on t"],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE id > 5 AND c LIKE 'x%' ORDER BY id LIMIT 3",
            &[
                "Limit",
                "  ->  Index Scan using t_pkey on t",
                "        Index Cond: (id > 5)",
                "        Filter: (c ~~ 'x%'::text)",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM m WHERE x = 1 ORDER BY x, y",
            &["Index Scan using m_pkey on m", "  Index Cond: (x = 1)"],
        ),
        (
            "EXPLAIN SELECT * FROM t ORDER BY id DESC LIMIT 3",
            &["Limit", "  ->  Index Scan Backward using t_pkey on t"],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE id < 10 ORDER BY id DESC",
            &[
                "Index Scan Backward using t_pkey on t",
                "  Index Cond: (id < 10)",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM m WHERE x = 1 ORDER BY x DESC, y DESC LIMIT 1",
            &[
                "Limit",
                "  ->  Index Scan Backward using m_pkey on m",
                "        Index Cond: (x = 1)",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM m ORDER BY x DESC, y",
            &["Sort", "  Sort Key: x DESC, y", "  ->  Seq Scan on m"],
        ),
        (
            "EXPLAIN SELECT * FROM t ORDER BY id DESC NULLS LAST",
            &[
                "Sort",
                "  Sort Key: id DESC NULLS LAST",
                "  ->  Seq Scan on t",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM m ORDER BY y",
            &["Sort", "  Sort Key: y", "  ->  Seq Scan on m"],
        ),
        // ORDER BY an index's columns after the pinned ones.
        (
            "EXPLAIN SELECT * FROM t WHERE a = 1 ORDER BY b LIMIT 2",
            &[
                "Limit",
                "  ->  Index Scan using t_ab on t",
                "        Index Cond: (a = 1)",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE a = 1 AND b > 2 ORDER BY a, b DESC LIMIT 2",
            &[
                "Limit",
                "  ->  Index Scan Backward using t_ab on t",
                "        Index Cond: ((a = 1) AND (b > 2))",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE a > 1 ORDER BY a",
            &["Index Scan using t_ab on t", "  Index Cond: (a > 1)"],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE a = 1 ORDER BY id",
            &[
                "Sort",
                "  Sort Key: id",
                "  ->  Index Scan using t_ab on t",
                "        Index Cond: (a = 1)",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM m WHERE x = 1 ORDER BY y DESC",
            &[
                "Index Scan Backward using m_pkey on m",
                "  Index Cond: (x = 1)",
            ],
        ),
        // Equality on every key column stays a point lookup.
        (
            "EXPLAIN SELECT * FROM t WHERE a = 1 AND b > 5 AND id = 3",
            &[
                "Index Scan using t_pkey on t",
                "  Index Cond: (id = 3)",
                "  Filter: ((a = 1) AND (b > 5))",
            ],
        ),
        // An integer column compared as a bigint: widening keeps keys.
        (
            "EXPLAIN SELECT * FROM t WHERE id > 5::bigint",
            &[
                "Index Scan using t_pkey on t",
                "  Index Cond: (id > '5'::bigint)",
            ],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE id = 5::bigint",
            &[
                "Index Scan using t_pkey on t",
                "  Index Cond: (id = '5'::bigint)",
            ],
        ),
        // Not a range: a column of another type than the bound's, a
        // numeric key (its key order is not its order), a column without
        // leading columns pinned.
        (
            "EXPLAIN SELECT * FROM t WHERE id > 5.5",
            &["Seq Scan on t", "  Filter: ((id)::numeric > 5.5)"],
        ),
        (
            "EXPLAIN SELECT * FROM t WHERE n > 5.5",
            &["Seq Scan on t", "  Filter: (n > 5.5)"],
        ),
        (
            "EXPLAIN SELECT * FROM m WHERE y > 1",
            &["Seq Scan on m", "  Filter: (y > 1)"],
        ),
    ];
    for (sql, want) in cases {
        assert_eq!(explain(&c, sql).await, *want, "{sql}");
    }
    // Every type whose key order is its SQL order gets a range.
    c.batch_execute(
        "CREATE TYPE rm AS ENUM ('a', 'b');
         CREATE TABLE ty (i2 int2, i8 int8, f4 real, f8 float8, b bool, v varchar(9),
           by bytea, u uuid, d date, tm time, ts timestamp, tz timestamptz, iv interval,
           e rm, n numeric, ch char(3), j jsonb)",
    )
    .await
    .expect("types");
    for (col, bound) in [
        ("i2", "1::int2"),
        ("i8", "1::int8"),
        ("f4", "1::real"),
        ("f8", "'NaN'"),
        ("b", "false"),
        ("v", "'x'"),
        ("v", "'x'::varchar"),
        ("by", "'\\x00'"),
        ("u", "'00000000-0000-0000-0000-000000000000'"),
        ("d", "'2000-01-01'"),
        ("tm", "'12:00'"),
        ("ts", "'2000-01-01'"),
        ("tz", "'2000-01-01 00:00+00'"),
        ("iv", "'1 day'"),
        ("e", "'a'"),
    ] {
        c.batch_execute(&format!("CREATE INDEX ty_{col} ON ty ({col})"))
            .await
            .ok();
        let sql = format!("EXPLAIN SELECT * FROM ty WHERE {col} > {bound}");
        let plan = explain(&c, &sql).await;
        assert_eq!(plan[0], format!("Index Scan using ty_{col} on ty"), "{sql}");
    }
    for (col, bound) in [("n", "1"), ("ch", "'x'"), ("j", "'1'")] {
        c.batch_execute(&format!("CREATE INDEX ty_{col} ON ty ({col})"))
            .await
            .expect("index");
        let sql = format!("EXPLAIN SELECT * FROM ty WHERE {col} > {bound}");
        assert_eq!(explain(&c, &sql).await[0], "Seq Scan on ty", "{sql}");
    }
    let rows = c
        .query(
            "EXPLAIN SELECT * FROM t WHERE id > $1 AND id <= $2",
            &[&1i32, &2i32],
        )
        .await
        .expect("explain with parameters");
    assert_eq!(
        rows[1].get::<_, String>(0),
        "  Index Cond: ((id > $1) AND (id <= $2))"
    );
}
