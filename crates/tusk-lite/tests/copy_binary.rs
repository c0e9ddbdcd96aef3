//! COPY in the extended query protocol and COPY's binary format, on
//! PostgreSQL 15 and tusk-lite side by side. tokio-postgres sends COPY as
//! Parse/Bind/Execute (so every COPY here is extended protocol); the
//! binary data PostgreSQL writes must be the bytes tusk-lite writes, each
//! engine must read the other's, and bad binary data must fail with the
//! same SQLSTATE and message.

mod common;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio_postgres::Client;

const TABLE: &str = "CREATE TABLE b (i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, \
     n numeric(12,4), t text, v varchar(10), c char(3), ok bool, d date, ts timestamp, tz timestamptz)";

const ROWS: &str = "INSERT INTO b VALUES \
     (1, 2, 3, 1.5, -2.25, 12345.6789, 'text', 'var', 'ab', true, '2024-02-29', '2001-02-03 04:05:06.789', '1999-12-31 23:59:59+00'), \
     (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), \
     (-32768, -2147483648, -9223372036854775808, 'NaN', 'Infinity', -0.0001, '', 'ü', 'xyz', false, '1970-01-01', '1970-01-01 00:00:00', '2038-01-19 03:14:08+00'), \
     (32767, 2147483647, 9223372036854775807, 0, 1e300, 0, E'multi\\nline\\ttab', 'x', 'q', true, '0001-01-01', '2200-06-15 12:00:00', '1900-01-01 00:00:00+00')";

async fn copy_out(c: &Client, sql: &str) -> Vec<u8> {
    let s = c.copy_out(sql).await.expect(sql);
    futures::pin_mut!(s);
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.expect("copy data"));
    }
    out
}

/// Sends `data` in pieces of `piece` bytes; the COPY's row count or its
/// error as "SQLSTATE: message".
async fn copy_in(c: &Client, sql: &str, data: &[u8], piece: usize) -> Result<u64, String> {
    let err = |e: tokio_postgres::Error| match e.as_db_error() {
        Some(db) => format!(
            "{}: {} (CONTEXT: {})",
            db.code().code(),
            db.message(),
            db.where_().unwrap_or("-")
        ),
        None => e.to_string(),
    };
    let sink = c.copy_in::<_, Bytes>(sql).await.map_err(err)?;
    futures::pin_mut!(sink);
    for p in data.chunks(piece.max(1)) {
        if let Err(e) = sink.send(Bytes::copy_from_slice(p)).await {
            return Err(err(e));
        }
    }
    sink.finish().await.map_err(err)
}

async fn rows_as_text(c: &Client, table: &str) -> Vec<String> {
    let out = copy_out(
        c,
        &format!("COPY (SELECT * FROM {table} ORDER BY 1, 2) TO STDOUT"),
    )
    .await;
    String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(str::to_string)
        .collect()
}

async fn both() -> (Client, Client, tusk_testkit::TestDb) {
    let pg_db = tusk_testkit::db();
    let pg = common::pg_client(&pg_db.url()).await;
    let lite = common::lite_client(&tusk_lite::Database::open_in_memory()).await;
    for c in [&pg, &lite] {
        c.batch_execute("SET TimeZone = 'UTC'")
            .await
            .expect("timezone");
        c.batch_execute(TABLE).await.expect("table");
        c.batch_execute(ROWS).await.expect("rows");
    }
    (pg, lite, pg_db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_copy_out_is_postgres_bytes() {
    let (pg, lite, _db) = both().await;
    for sql in [
        "COPY b TO STDOUT (FORMAT binary)",
        "COPY b (t, i4, tz) TO STDOUT (FORMAT binary)",
        "COPY (SELECT i2 * 2, t || '!', n FROM b ORDER BY i8 NULLS LAST) TO STDOUT (FORMAT binary)",
        "COPY (SELECT * FROM b WHERE false) TO STDOUT (FORMAT binary)",
        "COPY (SELECT ARRAY[i4, 7], ARRAY[t, NULL], ARRAY[]::numeric[] FROM b ORDER BY 1) TO STDOUT (FORMAT binary)",
    ] {
        let want = copy_out(&pg, sql).await;
        let got = copy_out(&lite, sql).await;
        assert_eq!(got, want, "{sql}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_copy_in_reads_what_either_engine_writes() {
    let (pg, lite, _db) = both().await;
    let data = copy_out(&pg, "COPY b TO STDOUT (FORMAT binary)").await;
    let want = rows_as_text(&pg, "b").await;
    for c in [&pg, &lite] {
        c.batch_execute(&TABLE.replace("TABLE b ", "TABLE b2 "))
            .await
            .expect("b2");
    }
    for c in [&pg, &lite] {
        // Whole, and in pieces that cut the header, lengths and values.
        for piece in [1 << 20, 7, 1] {
            c.batch_execute("TRUNCATE b2").await.expect("truncate");
            let n = copy_in(c, "COPY b2 FROM STDIN (FORMAT binary)", &data, piece).await;
            assert_eq!(n, Ok(4), "piece {piece}");
            assert_eq!(rows_as_text(c, "b2").await, want, "piece {piece}");
        }
    }
    // tusk-lite's bytes read back on PostgreSQL.
    let from_lite = copy_out(&lite, "COPY b TO STDOUT (FORMAT binary)").await;
    pg.batch_execute("TRUNCATE b2").await.expect("truncate");
    let n = copy_in(
        &pg,
        "COPY b2 FROM STDIN (FORMAT binary)",
        &from_lite,
        1 << 20,
    )
    .await;
    assert_eq!(n, Ok(4));
    assert_eq!(rows_as_text(&pg, "b2").await, want);
    // A column list.
    let part = copy_out(&pg, "COPY b (t, i4) TO STDOUT (FORMAT binary)").await;
    for c in [&pg, &lite] {
        c.batch_execute("TRUNCATE b2").await.expect("truncate");
        let n = copy_in(c, "COPY b2 (t, i4) FROM STDIN (FORMAT binary)", &part, 5).await;
        assert_eq!(n, Ok(4));
    }
    let q = "SELECT coalesce(t, '-') || '/' || coalesce(i4::text, '-') FROM b2 ORDER BY 1";
    let texts =
        |rows: Vec<tokio_postgres::Row>| -> Vec<String> { rows.iter().map(|r| r.get(0)).collect() };
    assert_eq!(
        texts(lite.query(q, &[]).await.expect("lite")),
        texts(pg.query(q, &[]).await.expect("pg"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_binary_copy_data_fails_as_on_postgres() {
    let (pg, lite, _db) = both().await;
    let good = copy_out(&pg, "COPY b (i4, t) TO STDOUT (FORMAT binary)").await;
    let mut flags_oids = good.clone();
    flags_oids[13] = 1; // bit 16 of the flags: WITH OIDS
    let mut flags_unknown = good.clone();
    flags_unknown[12] = 1; // bit 24: an unknown critical flag
    let mut after_trailer = good.clone();
    after_trailer.push(0);
    // The first row's first field (an int4) is three bytes long.
    let mut short_int = good[..19].to_vec();
    short_int.extend_from_slice(&[0, 2, 0, 0, 0, 3, 1, 2, 3, 255, 255, 255, 255, 255, 255]);
    // A field length of -2; an int4 five bytes long.
    let mut bad_size = good[..19].to_vec();
    bad_size.extend_from_slice(&[0, 2, 255, 255, 255, 254]);
    let mut long_int = good[..19].to_vec();
    long_int.extend_from_slice(&[
        0, 2, 0, 0, 0, 5, 0, 0, 0, 0, 1, 255, 255, 255, 255, 255, 255,
    ]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("bad field size", bad_size),
        ("long int4", long_int),
        ("empty", Vec::new()),
        (
            "bad signature",
            b"PGCOPY\n\xff\r\n\x01\0\0\0\0\0\0\0\0".to_vec(),
        ),
        ("signature only", good[..11].to_vec()),
        ("cut header", good[..17].to_vec()),
        ("with oids", flags_oids),
        ("unknown flag", flags_unknown),
        ("cut row", good[..good.len() - 4].to_vec()),
        ("no trailer", good[..good.len() - 2].to_vec()),
        ("after trailer", after_trailer),
        ("short int4", short_int),
    ];
    for (what, data) in &cases {
        let want = copy_in(
            &pg,
            "COPY b (i4, t) FROM STDIN (FORMAT binary)",
            data,
            1 << 20,
        )
        .await;
        let got = copy_in(
            &lite,
            "COPY b (i4, t) FROM STDIN (FORMAT binary)",
            data,
            1 << 20,
        )
        .await;
        assert_eq!(got, want, "{what}");
    }
    // Three columns expected, two sent.
    let sql = "COPY b (i4, t, i8) FROM STDIN (FORMAT binary)";
    assert_eq!(
        copy_in(&lite, sql, &good, 1 << 20).await,
        copy_in(&pg, sql, &good, 1 << 20).await
    );
    // Options binary does not take.
    for sql in [
        "COPY b FROM STDIN (FORMAT binary, DELIMITER ',')",
        "COPY b FROM STDIN (FORMAT binary, NULL 'x')",
        "COPY b TO STDOUT (FORMAT binary, HEADER)",
        "COPY b TO STDOUT (QUOTE '\"')",
    ] {
        let code = |e: tokio_postgres::Error| {
            e.as_db_error()
                .map(|d| format!("{}: {}", d.code().code(), d.message()))
        };
        let want = pg.batch_execute(sql).await.map_err(code);
        let got = lite.batch_execute(sql).await.map_err(code);
        assert_eq!(got, want, "{sql}");
    }
    // Both engines still answer, and the table is unchanged.
    assert_eq!(rows_as_text(&lite, "b").await, rows_as_text(&pg, "b").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_copy_in_the_extended_protocol() {
    let (pg, lite, _db) = both().await;
    for c in [&pg, &lite] {
        c.batch_execute("CREATE TABLE tx (id int8, note text)")
            .await
            .expect("table");
        let n = copy_in(c, "COPY tx FROM STDIN", b"1\tone\n2\t\\N\n3\tthree\n", 4).await;
        assert_eq!(n, Ok(3));
        let n = copy_in(c, "COPY tx FROM STDIN (FORMAT csv)", b"4,\"fo,ur\"\n", 3).await;
        assert_eq!(n, Ok(1));
        let e = copy_in(c, "COPY tx FROM STDIN", b"5\tfive\nx\tbad\n", 100).await;
        assert_eq!(
            e,
            Err("22P02: invalid input syntax for type bigint: \"x\" (CONTEXT: COPY tx, line 2, column id: \"x\")".to_string())
        );
        // Still usable afterwards, with a prepared statement of its own.
        let n: i64 = c
            .query_one("SELECT count(*) FROM tx WHERE id > $1", &[&0i64])
            .await
            .expect("count")
            .get(0);
        assert_eq!(n, 4);
    }
    assert_eq!(
        rows_as_text(&lite, "tx").await,
        rows_as_text(&pg, "tx").await
    );
    let sql = "COPY (SELECT id, note FROM tx ORDER BY id) TO STDOUT (FORMAT csv, HEADER)";
    assert_eq!(copy_out(&lite, sql).await, copy_out(&pg, sql).await);
}

/// bytea and uuid in binary COPY: the bytes PostgreSQL writes, read back
/// by either engine; a uuid field of the wrong length fails as there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_copy_of_bytea_and_uuid() {
    let pg_db = tusk_testkit::db();
    let pg = common::pg_client(&pg_db.url()).await;
    let lite = common::lite_client(&tusk_lite::Database::open_in_memory()).await;
    let setup = "CREATE TABLE bu (id int, b bytea, u uuid);
        INSERT INTO bu VALUES (1, '\\x00ff5c', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
          (2, NULL, NULL), (3, '', '00000000-0000-0000-0000-000000000001');
        CREATE TABLE bu2 (id int, b bytea, u uuid)";
    for c in [&pg, &lite] {
        c.batch_execute(setup).await.expect("setup");
    }
    let sql = "COPY bu TO STDOUT (FORMAT binary)";
    let want = copy_out(&pg, sql).await;
    assert_eq!(copy_out(&lite, sql).await, want, "{sql}");
    for c in [&pg, &lite] {
        let n = copy_in(c, "COPY bu2 FROM STDIN (FORMAT binary)", &want, 7).await;
        assert_eq!(n, Ok(3));
    }
    assert_eq!(
        rows_as_text(&lite, "bu2").await,
        rows_as_text(&pg, "bu2").await
    );
    // One row whose uuid field is 15, then 17, bytes long.
    for n in [15u8, 17] {
        let mut data = want[..19].to_vec();
        data.extend_from_slice(&[0, 3, 0, 0, 0, 4, 0, 0, 0, 9, 255, 255, 255, 255]);
        data.extend_from_slice(&[0, 0, 0, n]);
        data.extend(std::iter::repeat_n(7u8, usize::from(n)));
        data.extend_from_slice(&[255, 255]);
        let sql = "COPY bu2 FROM STDIN (FORMAT binary)";
        let want = copy_in(&pg, sql, &data, 1 << 20).await;
        assert!(want.is_err(), "{want:?}");
        assert_eq!(
            copy_in(&lite, sql, &data, 1 << 20).await,
            want,
            "uuid of {n} bytes"
        );
    }
}

/// COPY FROM fills an identity column it is not given from the column's
/// sequence, and takes the values given to one (even GENERATED ALWAYS:
/// COPY is not INSERT), on both engines alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_fills_identity_columns() {
    let (pg, lite, _db) = both().await;
    for c in [&pg, &lite] {
        c.batch_execute(
            "CREATE TABLE ti (id int GENERATED ALWAYS AS IDENTITY, note text);
             INSERT INTO ti (note) VALUES ('first')",
        )
        .await
        .expect("table");
        let n = copy_in(c, "COPY ti (note) FROM STDIN", b"two\nthree\n", 3).await;
        assert_eq!(n, Ok(2));
        let n = copy_in(c, "COPY ti FROM STDIN (FORMAT csv)", b"40,forty\n", 4).await;
        assert_eq!(n, Ok(1));
        let n = copy_in(c, "COPY ti (note) FROM STDIN", b"five\n", 4).await;
        assert_eq!(n, Ok(1));
    }
    assert_eq!(
        rows_as_text(&lite, "ti").await,
        rows_as_text(&pg, "ti").await
    );
}
