//! bytea and uuid through the tusk driver: parameters sent and results
//! read in the binary format (bytea_send/uuid_send), the same answers from
//! PostgreSQL 15 and tusk-lite; and columns of both types (as keys and
//! indexed) surviving a durable database's reopen.

use std::path::PathBuf;
use std::time::Duration;
use tusk::types::{IsNull, ToSql, Type};
use tusk::{Executor, FromSql};

/// A uuid as the driver sends and reads it in binary: its 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Uuid([u8; 16]);

impl Uuid {
    fn from_u128(v: u128) -> Uuid {
        Uuid(v.to_be_bytes())
    }
    fn nil() -> Uuid {
        Uuid([0; 16])
    }
    fn max() -> Uuid {
        Uuid([0xff; 16])
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl<'a> FromSql<'a> for Uuid {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Uuid, BoxError> {
        Ok(Uuid(raw.try_into()?))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::UUID
    }
}

impl ToSql for Uuid {
    fn to_sql(&self, _: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        out.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::UUID
    }
    tokio_postgres::types::to_sql_checked!();
}

fn blobs() -> Vec<(i32, Vec<u8>, Uuid)> {
    vec![
        (
            1,
            vec![0, 1, 255],
            Uuid::from_u128(0xa0ee_bc99_9c0b_4ef8_bb6d_6bb9_bd38_0a11),
        ),
        (2, Vec::new(), Uuid::nil()),
        (3, b"\\x41'\"".to_vec(), Uuid::max()),
        (
            4,
            (0..=255u8).cycle().take(2_000).collect(),
            Uuid::from_u128(1),
        ),
        (5, vec![0], Uuid::from_u128(u128::MAX / 2)),
    ]
}

type Answer = (
    Vec<(i32, Vec<u8>, Uuid, String, String)>,
    Vec<i32>,
    Vec<u8>,
    Uuid,
    String,
);

/// Stores the blobs with binary parameters and reads them back in binary
/// (and as text, to compare the text forms too).
async fn answers(c: &tusk::Connection) -> Answer {
    c.execute(
        "CREATE TABLE bu (id int PRIMARY KEY, b bytea NOT NULL, u uuid UNIQUE)",
        &[],
    )
    .await
    .expect("create");
    c.execute("CREATE INDEX bu_b ON bu (b)", &[])
        .await
        .expect("index");
    for (id, b, u) in blobs() {
        c.execute("INSERT INTO bu VALUES ($1, $2, $3)", &[&id, &b, &u])
            .await
            .expect("insert");
    }
    let rows = c
        .query(
            "SELECT id, b, u, substr(b::text, 1, 40), u::text FROM bu ORDER BY b, id",
            &[],
        )
        .await
        .expect("select")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let by_key: Vec<i32> = c
        .query(
            "SELECT id FROM bu WHERE u = $1 OR b = $2 ORDER BY id",
            &[&Uuid::max(), &vec![0u8, 1, 255]],
        )
        .await
        .expect("lookup")
        .iter()
        .map(|r| r.get(0))
        .collect();
    // A uuid given as text (tusk leaves a &str's type to the server).
    let by_text: Vec<i32> = c
        .query(
            "SELECT id FROM bu WHERE u = $1 OR u = $2 ORDER BY id",
            &[
                &"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
                &"{00000000000000000000000000000001}",
            ],
        )
        .await
        .expect("uuid parameters as text")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(by_text, vec![3, 4]);
    let cat: Vec<u8> = c
        .query_scalar("SELECT $1::bytea || '\\x00'::bytea", &[&b"ab".to_vec()])
        .await
        .expect("concat");
    let u: Uuid = c
        .query_scalar("SELECT '{A0EEBC99-9C0B4EF8-BB6D6BB9-BD380A11}'::uuid", &[])
        .await
        .expect("uuid literal");
    // A value far larger than any key, through a parameter and back.
    let big: Vec<u8> = (0..100_000u32)
        .map(|i| u8::try_from(i * 7 % 251).unwrap_or(0))
        .collect();
    let echoed: Vec<u8> = c
        .query_scalar("SELECT $1::bytea", &[&big])
        .await
        .expect("big echo");
    assert_eq!(echoed, big);
    let md5: String = c
        .query_scalar("SELECT md5($1::bytea)", &[&big])
        .await
        .expect("md5");
    (rows, by_key, cat, u, md5)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_round_trip_matches_postgres() {
    let pg_db = tusk_testkit::db();
    let pg = tusk::connect(&pg_db.url())
        .await
        .expect("connect to PostgreSQL");
    let lite = tusk_lite::Database::open_in_memory()
        .connect()
        .await
        .expect("connect to tusk-lite");
    let want = answers(&pg).await;
    let got = answers(&lite).await;
    assert_eq!(got, want);
    // The values themselves, not only agreement.
    let mut sorted = blobs();
    sorted.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let ids: Vec<i32> = got.0.iter().map(|r| r.0).collect();
    assert_eq!(ids, sorted.iter().map(|r| r.0).collect::<Vec<_>>());
    assert!(got
        .0
        .iter()
        .zip(&sorted)
        .all(|(g, s)| g.1 == s.1 && g.2 == s.2));
    assert_eq!(got.1, vec![1, 3]);
    assert_eq!(got.2, b"ab\0".to_vec());
    assert_eq!(got.3, blobs()[0].2);
}

fn fresh_dir(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tusk-lite-bytea-uuid-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Opens `dir`, retrying while the last user's threads let go of it.
async fn reopen(dir: &PathBuf) -> tusk_lite::Database {
    let mut r = tusk_lite::Database::open(dir);
    for _ in 0..100 {
        if r.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        r = tusk_lite::Database::open(dir);
    }
    r.expect("reopen")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_survive_reopen() {
    let dir = fresh_dir("reopen");
    let db = tusk_lite::Database::open(&dir).expect("open");
    let c = db.connect().await.expect("connect");
    c.execute(
        "CREATE TABLE k (b bytea PRIMARY KEY, u uuid UNIQUE, g uuid DEFAULT gen_random_uuid())",
        &[],
    )
    .await
    .expect("create");
    c.execute("CREATE INDEX k_g ON k (g)", &[])
        .await
        .expect("index");
    for (_, b, u) in blobs() {
        c.execute("INSERT INTO k (b, u) VALUES ($1, $2)", &[&b, &u])
            .await
            .expect("insert");
    }
    let before: Vec<(Vec<u8>, Uuid, Uuid)> = c
        .query("SELECT b, u, g FROM k ORDER BY b", &[])
        .await
        .expect("select")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    drop(c);
    drop(db);
    let db = reopen(&dir).await;
    let c = db.connect().await.expect("connect");
    let after: Vec<(Vec<u8>, Uuid, Uuid)> = c
        .query("SELECT b, u, g FROM k ORDER BY b", &[])
        .await
        .expect("select after reopen")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(after, before);
    assert_eq!(after.len(), 5);
    // The keys and indexes came back too: point lookups and 23505.
    let g = after[2].2;
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM k WHERE g = $1", &[&g])
        .await
        .expect("lookup by g");
    assert_eq!(n, 1);
    for (sql, what) in [
        ("INSERT INTO k (b) VALUES ('\\x00')", "primary key"),
        (
            "INSERT INTO k (b, u) VALUES ('\\x09', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')",
            "unique",
        ),
    ] {
        let e = c.execute(sql, &[]).await.expect_err(what);
        assert_eq!(
            e.code().map(|s| s.code().to_string()).as_deref(),
            Some("23505"),
            "{what}: {e}"
        );
    }
    // A key too long to store fails as PostgreSQL's over-long btree
    // entries do (54000), without harm to the session.
    let huge: Vec<u8> = (0..40_000u32)
        .map(|i| u8::try_from(i * 7 % 251).unwrap_or(0))
        .collect();
    let e = c
        .execute("INSERT INTO k (b) VALUES ($1)", &[&huge])
        .await
        .expect_err("huge key");
    assert_eq!(
        e.code().map(|s| s.code().to_string()).as_deref(),
        Some("54000"),
        "{e}"
    );
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM k WHERE b = $1", &[&huge])
        .await
        .expect("lookup of a huge key");
    assert_eq!(n, 0);
    drop(c);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
