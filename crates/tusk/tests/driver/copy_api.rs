//! COPY through the COPY API: `copy_in` sinks with backpressure, `copy_out`
//! streams, the binary and text helpers, and what happens when a COPY goes
//! wrong (a bad row, a dropped sink, a cancel, a rollback).

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures_util::StreamExt;
use tusk::copy::{BinaryCopyInWriter, BinaryCopyOutReader, TextFormat, TextRowWriter};
use tusk::{ErrorKind, Executor, Type};
use tusk_testkit::{Cluster, PgBouncer, PoolMode};

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer (connection wedged)"))
}

const WIDE: &str = "CREATE TABLE t (id int8, name text, score float8, ts timestamptz)";

fn ts(i: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + i, 0).unwrap()
}

async fn count(c: &tusk::Connection) -> i64 {
    within("count", c.query_scalar("SELECT count(*) FROM t", &[]))
        .await
        .unwrap()
}

#[tokio::test]
async fn binary_rows_in_and_out() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script(WIDE).await.unwrap();
    let types = [Type::INT8, Type::TEXT, Type::FLOAT8, Type::TIMESTAMPTZ];
    let sink = within("copy_in", c.copy_in("COPY t FROM STDIN (FORMAT binary)"))
        .await
        .unwrap();
    let mut w = BinaryCopyInWriter::new(sink, &types);
    const N: i64 = 20_000;
    for i in 0..N {
        let name = format!("name {i}");
        let score = i as f64 / 4.0;
        let name: Option<&str> = (i % 7 != 0).then_some(name.as_str());
        within("write", w.write(&[&i, &name, &score, &ts(i)]))
            .await
            .unwrap();
    }
    assert_eq!(within("finish", w.finish()).await.unwrap(), N as u64);
    assert_eq!(count(&c).await, N);
    let nulls: i64 = c
        .query_scalar("SELECT count(*) FROM t WHERE name IS NULL", &[])
        .await
        .unwrap();
    assert_eq!(nulls, (N + 6) / 7);

    let out = within(
        "copy_out",
        c.copy_out("COPY (SELECT * FROM t ORDER BY id) TO STDOUT (FORMAT binary)"),
    )
    .await
    .unwrap();
    let mut r = BinaryCopyOutReader::new(out, &types);
    let mut i = 0i64;
    while let Some(row) = within("next", r.next()).await {
        let row = row.unwrap();
        assert_eq!(row.get::<i64>(0), i);
        let name: Option<String> = row.get(1);
        assert_eq!(name, (i % 7 != 0).then(|| format!("name {i}")));
        assert_eq!(row.get::<f64>(2), i as f64 / 4.0);
        assert_eq!(row.get::<DateTime<Utc>>(3), ts(i));
        let e = row.try_get::<String>(0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conversion);
        assert!(e.to_string().contains("int8"), "{e}");
        i += 1;
    }
    assert_eq!(i, N);
    assert_eq!(r.rows_affected(), Some(N as u64));
}

/// Rows wider than the columns a `BinaryCopyRow` keeps inline (8), next
/// to narrow ones, with NULLs in each: every value where it belongs.
#[tokio::test]
async fn binary_rows_of_many_columns_and_nulls_out() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    for width in [1usize, 8, 9, 20] {
        // Column k of row i: i * 100 + k, NULL where (i + k) % 5 == 0.
        let cols: Vec<String> = (0..width)
            .map(|k| format!("CASE WHEN (i + {k}) % 5 = 0 THEN NULL ELSE i * 100 + {k} END"))
            .collect();
        let sql = format!(
            "COPY (SELECT {} FROM generate_series(0, 999) i) TO STDOUT (FORMAT binary)",
            cols.join(", ")
        );
        let out = within("copy_out", c.copy_out(&sql)).await.unwrap();
        let types = vec![Type::INT4; width];
        let mut r = BinaryCopyOutReader::new(out, &types);
        let mut i = 0i32;
        while let Some(row) = within("next", r.next()).await {
            let row = row.unwrap();
            assert_eq!(row.len(), width);
            for (k, kk) in (0..width).zip(0i32..) {
                let want = ((i + kk) % 5 != 0).then_some(i * 100 + kk);
                assert_eq!(row.get::<Option<i32>>(k), want, "row {i} column {k}");
            }
            let e = row.try_get::<i32>(width).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Conversion);
            i += 1;
        }
        assert_eq!(i, 1000, "width {width}");
        assert_eq!(r.rows_affected(), Some(1000));
    }
}

#[tokio::test]
async fn text_and_csv_rows_in_and_out() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8, note text)")
        .await
        .unwrap();
    let awkward = "tab\there, comma, \"quote\"\nnewline\\backslash\r";
    for (format, sql) in [
        (TextFormat::Text, "COPY t FROM STDIN"),
        (TextFormat::Csv, "COPY t FROM STDIN (FORMAT csv)"),
    ] {
        let sink = c.copy_in(sql).await.unwrap();
        let mut w = TextRowWriter::new(sink, format);
        w.write(&[Some("1"), Some(awkward)]).await.unwrap();
        w.write(&[Some("2"), None]).await.unwrap();
        w.write(&[Some("3"), Some("")]).await.unwrap();
        assert_eq!(w.finish().await.unwrap(), 3);
    }
    let rows = c
        .query("SELECT note FROM t ORDER BY id, note NULLS FIRST", &[])
        .await
        .unwrap();
    let notes: Vec<Option<String>> = rows.iter().map(|r| r.get(0)).collect();
    let want = |s: &str| Some(s.to_string());
    assert_eq!(
        notes,
        vec![want(awkward), want(awkward), None, None, want(""), want("")]
    );

    // Raw bytes in, CSV chunks out: one row per chunk.
    let mut sink = c.copy_in("COPY t FROM STDIN (FORMAT csv)").await.unwrap();
    sink.write(b"10,a\n11,").await.unwrap();
    sink.write(b"b\n").await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 2);
    let mut out = c
        .copy_out("COPY (SELECT id, note FROM t WHERE id >= 10 ORDER BY id) TO STDOUT (FORMAT csv)")
        .await
        .unwrap();
    let mut chunks = Vec::new();
    while let Some(chunk) = out.next().await {
        chunks.push(String::from_utf8(chunk.unwrap().to_vec()).unwrap());
    }
    assert_eq!(chunks, ["10,a\n", "11,b\n"]);
    assert_eq!(out.rows_affected(), Some(2));
}

#[tokio::test]
async fn a_bad_row_is_a_typed_error_naming_its_line() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    // Found at finish.
    let mut sink = c.copy_in("COPY t FROM STDIN").await.unwrap();
    sink.write(b"1\n2\nnot a number\n4\n").await.unwrap();
    let e = within("finish", sink.finish()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data, "{e}");
    assert_eq!(e.copy_line(), Some(3), "{e}");
    assert!(!e.is_fatal());
    assert_eq!(count(&c).await, 0, "no partial rows");

    // Found while the writer is still writing: a later write reports it.
    let mut sink = c.copy_in("COPY t FROM STDIN").await.unwrap();
    let mut failed = None;
    for i in 1..=2_000_000u64 {
        let line = if i == 50_000 {
            "x\n".to_string()
        } else {
            format!("{i}\n")
        };
        if let Err(e) = within("write", sink.write(line.as_bytes())).await {
            failed = Some(e);
            break;
        }
    }
    let e = failed.expect("a write fails once the server reported the bad row");
    assert_eq!(e.copy_line(), Some(50_000), "{e}");
    let again = within("finish", sink.finish()).await.unwrap_err();
    assert_eq!(again.copy_line(), Some(50_000));
    assert_eq!(count(&c).await, 0);
    let one: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(one, 1);
}

#[tokio::test]
async fn a_sink_dropped_before_finish_keeps_nothing_and_the_connection() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    for rows in [0usize, 10, 200_000] {
        let mut sink = c.copy_in("COPY t FROM STDIN").await.unwrap();
        let data: String = (0..rows).map(|i| format!("{i}\n")).collect();
        sink.write(data.as_bytes()).await.unwrap();
        drop(sink);
        assert_eq!(count(&c).await, 0, "{rows} rows written then dropped");
    }
    // A binary writer dropped midway too.
    let sink = c
        .copy_in("COPY t FROM STDIN (FORMAT binary)")
        .await
        .unwrap();
    let mut w = BinaryCopyInWriter::new(sink, &[Type::INT8]);
    w.write(&[&1i64]).await.unwrap();
    drop(w);
    assert_eq!(count(&c).await, 0);
    // And the next COPY works.
    let mut sink = c.copy_in("COPY t FROM STDIN").await.unwrap();
    sink.write(b"7\n").await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 1);
    assert_eq!(count(&c).await, 1);
    assert!(!c.is_closed());
}

#[tokio::test]
async fn copy_in_a_transaction_commits_or_rolls_back_with_it() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    let tx = c.transaction().await.unwrap();
    let mut sink = tx.copy_in("COPY t FROM STDIN").await.unwrap();
    sink.write(b"1\n2\n3\n").await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 3);
    let inside: i64 = tx
        .query_scalar("SELECT count(*) FROM t", &[])
        .await
        .unwrap();
    assert_eq!(inside, 3);
    tx.rollback().await.unwrap();
    assert_eq!(count(&c).await, 0, "rolled back: no rows");

    let tx = c.transaction().await.unwrap();
    let mut sink = tx.copy_in("COPY t FROM STDIN").await.unwrap();
    sink.write(b"1\n2\n").await.unwrap();
    sink.finish().await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&c).await, 2);

    // A COPY that fails inside a transaction fails the transaction.
    let tx = c.transaction().await.unwrap();
    let mut sink = tx.copy_in("COPY t FROM STDIN").await.unwrap();
    sink.write(b"oops\n").await.unwrap();
    assert!(sink.finish().await.is_err());
    assert!(tx.commit().await.is_err());
    assert_eq!(count(&c).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_copy_is_canceled_and_the_connection_works() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    let mut sink = c.copy_in("COPY t FROM STDIN").await.unwrap();
    let token = c.cancel_token();
    let mut failed = None;
    let mut i = 0u64;
    let writer = async {
        loop {
            i += 1;
            if let Err(e) = sink.write(format!("{i}\n").as_bytes()).await {
                failed = Some(e);
                break;
            }
            if i.is_multiple_of(100_000) {
                tokio::task::yield_now().await;
            }
        }
    };
    let canceler = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        token.cancel().await.unwrap();
    };
    within("cancel", futures_util::future::join(writer, canceler)).await;
    let e = failed.unwrap();
    assert_eq!(e.kind(), ErrorKind::Canceled, "{e}");
    assert!(within("finish", sink.finish()).await.is_err());
    assert_eq!(count(&c).await, 0);
    let one: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(one, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_queued_behind_a_copy_wait_for_it_then_run() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    let mut sink = c.copy_in("COPY t FROM STDIN").await.unwrap();
    sink.write(b"1\n2\n").await.unwrap();
    let copier = async {
        // The queries below are queued by now; the COPY goes on ahead of them.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let data: String = (3..=100_000).map(|i| format!("{i}\n")).collect();
        sink.write(data.as_bytes()).await.unwrap();
        sink.finish().await.unwrap()
    };
    let queries = futures_util::future::join_all((0..8).map(|_| async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        c.query_scalar::<i64>("SELECT count(*) FROM t", &[]).await
    }));
    let (copied, counts) = within("pipeline", futures_util::future::join(copier, queries)).await;
    assert_eq!(copied, 100_000);
    for n in counts {
        assert_eq!(
            n.unwrap(),
            100_000,
            "a query behind the COPY sees all of it"
        );
    }
}

#[tokio::test]
async fn copy_out_of_a_large_table_keeps_memory_bounded() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script(
        "CREATE TABLE t (id int8, pad text); \
         INSERT INTO t SELECT i, repeat('x', 200) FROM generate_series(1, 250000) i",
    )
    .await
    .unwrap();
    let before = c.bytes_received();
    let mut out = c.copy_out("COPY t TO STDOUT").await.unwrap();
    let first = out.next().await.unwrap().unwrap();
    assert!(first.ends_with(b"\n"));
    // The reader pauses: the connection stops reading once its buffer is
    // full, and TCP holds the server back (the table is ~50 MB of text).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = c.bytes_received() - before;
    assert!(held < 16 << 20, "{held} bytes read while the reader paused");
    let mut rows = 1u64;
    let mut bytes = first.len() as u64;
    while let Some(chunk) = out.next().await {
        let chunk = chunk.unwrap();
        bytes += chunk.len() as u64;
        rows += 1;
    }
    assert_eq!(rows, 250_000);
    assert!(bytes > 50_000_000, "{bytes}");
    assert_eq!(out.rows_affected(), Some(250_000));
    // Dropped midway: the rest is discarded, the connection stays usable.
    let mut out = c.copy_out("COPY t TO STDOUT").await.unwrap();
    out.next().await.unwrap().unwrap();
    drop(out);
    assert_eq!(count(&c).await, 250_000);
}

#[tokio::test]
async fn the_wrong_statement_for_a_copy_method_is_a_clear_error() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8); INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let e = within("copy_in select", c.copy_in("SELECT 1"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not a COPY"), "{e}");
    let e = within("copy_in of copy out", c.copy_in("COPY t TO STDOUT"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("COPY"), "{e}");
    let e = within("copy_out of copy in", c.copy_out("COPY t FROM STDIN"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("COPY"), "{e}");
    // The query methods refuse a COPY and say which method to use.
    let e = within("execute", c.execute("COPY t FROM STDIN", &[]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("use copy_in"), "{e}");
    let e = within("query", c.query("COPY t TO STDOUT", &[]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("use copy_out"), "{e}");
    let e = within("missing table", c.copy_in("COPY nope FROM STDIN"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Syntax, "{e}");
    assert_eq!(count(&c).await, 1);
    assert!(!c.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_through_pgbouncer_in_transaction_mode() {
    let cluster = Cluster::shared();
    let db = cluster.database().unwrap();
    let bouncer = PgBouncer::start(cluster, PoolMode::Transaction).unwrap();
    let url = format!("{}?pooler_mode=on", bouncer.url(db.name()));
    let c = tusk::connect(&url).await.unwrap();
    c.execute_script("CREATE TABLE t (id int8, name text)")
        .await
        .unwrap();
    let sink = c
        .copy_in("COPY t FROM STDIN (FORMAT binary)")
        .await
        .unwrap();
    let mut w = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::TEXT]);
    for i in 0..10_000i64 {
        w.write(&[&i, &format!("n{i}")]).await.unwrap();
    }
    assert_eq!(within("finish", w.finish()).await.unwrap(), 10_000);
    let mut out = c.copy_out("COPY t TO STDOUT (FORMAT csv)").await.unwrap();
    let mut n = 0;
    while let Some(chunk) = within("next", out.next()).await {
        chunk.unwrap();
        n += 1;
    }
    assert_eq!(n, 10_000);
    // A dropped sink behind the bouncer: the server connection goes back
    // to its pool clean.
    let mut sink = c.copy_in("COPY t FROM STDIN").await.unwrap();
    sink.write(b"1\tx\n").await.unwrap();
    drop(sink);
    assert_eq!(count(&c).await, 10_000);
}
