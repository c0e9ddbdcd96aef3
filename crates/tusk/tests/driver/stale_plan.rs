//! The stale-plan retry happens only for the server's "cached plan must not
//! change result type"; any other 0A000 (feature_not_supported) is the
//! statement's own answer and it runs exactly once.

use tusk::{Batch, Executor};

async fn setup(c: &tusk::Connection) {
    c.execute_script(
        "CREATE SEQUENCE calls;
         CREATE FUNCTION unsupported() RETURNS int8 LANGUAGE plpgsql AS $$
         BEGIN
           PERFORM nextval('calls'); -- not undone by the rollback
           RAISE EXCEPTION 'not here' USING ERRCODE = 'feature_not_supported';
         END $$;",
    )
    .await
    .unwrap();
}

async fn calls(c: &tusk::Connection) -> i64 {
    c.query_scalar(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM calls",
        &[],
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn feature_not_supported_runs_once() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    setup(&c).await;
    let mut expected = 0;
    for round in 0..3 {
        // Cold, then cached.
        let e = c.query("SELECT unsupported()", &[]).await.unwrap_err();
        assert_eq!(e.code().unwrap().code(), "0A000", "{e}");
        expected += 1;
        assert_eq!(calls(&c).await, expected, "query, round {round}");

        let e = c
            .execute("SELECT unsupported() + $1::int8", &[&1_i64])
            .await
            .unwrap_err();
        assert_eq!(e.code().unwrap().code(), "0A000", "{e}");
        expected += 1;
        assert_eq!(calls(&c).await, expected, "execute, round {round}");

        let e = c
            .query_stream("SELECT unsupported()", &[])
            .await
            .err()
            .unwrap();
        assert_eq!(e.code().unwrap().code(), "0A000", "{e}");
        expected += 1;
        assert_eq!(calls(&c).await, expected, "stream, round {round}");

        let mut b = Batch::atomic();
        b.push("SELECT 1", &[]);
        b.push("SELECT unsupported()", &[]);
        let out = c.batch(&b).await.unwrap();
        assert_eq!(out[1].as_ref().unwrap_err().code().unwrap().code(), "0A000");
        expected += 1;
        assert_eq!(calls(&c).await, expected, "atomic batch, round {round}");
    }
}

#[tokio::test]
async fn a_changed_result_type_is_still_retried_everywhere() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let other = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int4, v int4); INSERT INTO t VALUES (1, 10)")
        .await
        .unwrap();
    let sql = "SELECT v FROM t WHERE id = $1";
    let one = 1_i32;
    for (round, ty) in ["int8", "int4", "int8"].into_iter().enumerate() {
        c.query(sql, &[&one]).await.unwrap();
        other
            .execute_script(&format!("ALTER TABLE t ALTER COLUMN v TYPE {ty}"))
            .await
            .unwrap();
        let mut b = Batch::atomic();
        b.push(sql, &[&one]);
        let out = c.batch(&b).await.unwrap();
        let row = &out[0]
            .as_ref()
            .unwrap_or_else(|e| panic!("round {round}: {e}"))
            .rows[0];
        assert_eq!(row.columns()[0].type_().name(), ty);
    }
}
