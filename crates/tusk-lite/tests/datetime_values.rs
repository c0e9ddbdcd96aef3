//! interval and time on the wire through the tusk driver: parameters sent
//! in binary (interval: int64 microseconds, int32 days, int32 months;
//! time: int64 microseconds), stored, and read back in binary, byte for
//! byte as PostgreSQL 15 answers.

use tusk::types::{RawValue, Value};
use tusk::Executor;

/// A parameter's bytes, sent as they are, for one type (the driver
/// declares a parameter's type from what its Rust type accepts).
macro_rules! raw_param {
    ($name:ident, $ty:ident) => {
        #[derive(Debug)]
        struct $name(Vec<u8>);

        impl tokio_postgres::types::ToSql for $name {
            fn to_sql(
                &self,
                _: &tokio_postgres::types::Type,
                out: &mut bytes::BytesMut,
            ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
            {
                out.extend_from_slice(&self.0);
                Ok(tokio_postgres::types::IsNull::No)
            }

            fn accepts(ty: &tokio_postgres::types::Type) -> bool {
                *ty == tokio_postgres::types::Type::$ty
            }

            tokio_postgres::types::to_sql_checked!();
        }
    };
}

raw_param!(IntervalBin, INTERVAL);
raw_param!(TimeBin, TIME);

fn interval(months: i32, days: i32, micros: i64) -> IntervalBin {
    let mut b = micros.to_be_bytes().to_vec();
    b.extend_from_slice(&days.to_be_bytes());
    b.extend_from_slice(&months.to_be_bytes());
    IntervalBin(b)
}

fn time(micros: i64) -> TimeBin {
    TimeBin(micros.to_be_bytes().to_vec())
}

type Answer = Vec<(Vec<u8>, Vec<u8>, String, String, String, String)>;

async fn answers(c: &tusk::Connection) -> Answer {
    c.execute(
        "CREATE TABLE dt (id int PRIMARY KEY, i interval, t time)",
        &[],
    )
    .await
    .expect("create");
    let rows = [
        (1i32, interval(14, 3, -1_500_000), time(45_296_789_000)),
        (2, interval(-1, 0, 86_400_000_000), time(0)),
        (3, interval(0, -2, 1), time(86_400_000_000)),
    ];
    for (id, i, t) in &rows {
        c.execute("INSERT INTO dt VALUES ($1, $2, $3)", &[id, i, t])
            .await
            .unwrap_or_else(|e| panic!("insert {id}: {e}"));
    }
    c.execute(
        "INSERT INTO dt VALUES (4, '1 year 2 mons 3 days 04:05:06.5', '23:59:59.999999')",
        &[],
    )
    .await
    .expect("insert text");
    let out = c
        .query(
            "SELECT i, t, i::text, t::text, i + $1, t - $2 FROM dt ORDER BY 1, id",
            &[&interval(1, 1, 1), &interval(0, 0, 3_600_000_000)],
        )
        .await
        .expect("select");
    out.iter()
        .map(|r| {
            let show = |v: Value| match v {
                Value::Interval(i) => i.to_string(),
                Value::Time(s) => s,
                other => format!("{other:?}"),
            };
            (
                r.get::<RawValue>(0).bytes.to_vec(),
                r.get::<RawValue>(1).bytes.to_vec(),
                r.get::<String>(2),
                r.get::<String>(3),
                show(r.get::<Value>(4)),
                show(r.get::<Value>(5)),
            )
        })
        .collect()
}

/// interval[] in binary (array_send over interval_send).
async fn array_bytes(c: &tusk::Connection) -> Vec<u8> {
    let rows = c
        .query("SELECT ARRAY[interval '1 day', '-2 mons 3 us', NULL]", &[])
        .await
        .expect("array");
    rows[0].get::<RawValue>(0).bytes.to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_and_time_travel_in_binary_as_postgres() {
    let pg_db = tusk_testkit::db();
    let pg = tusk::connect(&pg_db.url()).await.expect("postgres");
    let want = answers(&pg).await;
    let want_array = array_bytes(&pg).await;
    assert_eq!(want.len(), 4);
    assert_eq!(want[3].2, "1 year 2 mons 3 days 04:05:06.5");
    // Read in binary: interval_send's 16 bytes, time_send's 8.
    assert!(
        want.iter().all(|r| r.0.len() == 16 && r.1.len() == 8),
        "{want:?}"
    );
    let dir = std::env::temp_dir().join(format!("tusk-lite-dt-values-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for db in [
        tusk_lite::Database::open_in_memory(),
        tusk_lite::Database::open(&dir).expect("durable"),
    ] {
        let lite = db.connect().await.expect("tusk-lite");
        assert_eq!(answers(&lite).await, want);
        assert_eq!(array_bytes(&lite).await, want_array);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
