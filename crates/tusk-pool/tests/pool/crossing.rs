//! Where this session's driver features meet the pool's session reset:
//! COPY, notification streams and user-defined types as the first use of
//! a connection whose previous holder left session state behind.

use std::time::Duration;

use postgres_types::{FromSql, ToSql};
use tusk::{ErrorKind, Executor};
use tusk_pool::{Pool, PooledConnection, ResetPolicy};
use tusk_testkit::TestDb;

use crate::{bounded, APP};

fn schema(db: &TestDb) {
    crate::app_roles();
    db.psql(&format!(
        "CREATE TABLE t (id int8);
         ALTER TABLE t OWNER TO {APP};"
    ))
    .expect("schema");
}

/// A pool of one connection as the application role.
fn one(db: &TestDb) -> Pool {
    crate::app_pool(db, |b| b.max_size(1).reset(ResetPolicy::default()))
}

/// The session shows nothing a previous holder left behind.
async fn is_clean(c: &impl Executor, what: &str) {
    let seen: String = bounded(
        what,
        c.query_scalar(
            "SELECT coalesce(current_setting('app.tenant', true), '') || '/' \
             || current_setting('work_mem')",
            &[],
        ),
    )
    .await
    .unwrap();
    assert_eq!(seen, "/4MB", "{what}");
}

/// Holds the pool's only connection dirty, has a waiter queue for it, runs
/// `spoil(pid)`, then gives it back: the waiter's first request carries
/// the reset.
async fn hand_over_dirty(pool: &Pool, spoil: impl AsyncFnOnce(i32)) -> PooledConnection {
    let c = bounded("acquire", pool.acquire()).await.unwrap();
    c.execute("SET app.tenant = '42'", &[]).await.unwrap();
    c.execute("SET work_mem = '7MB'", &[]).await.unwrap();
    let pid: i32 = c
        .query_scalar("SELECT pg_backend_pid()", &[])
        .await
        .unwrap();
    let next = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.acquire().await })
    };
    bounded("waiter", async {
        while pool.stats().waiting == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    spoil(pid).await;
    drop(c);
    bounded("next", next).await.unwrap().unwrap()
}

/// Leaves the connection dirty and returns it with nobody waiting: its
/// reset is sent at once, alone.
/// `NOTIFY channel, 'payload'` from another session.
async fn notify(sender: &impl Executor, channel: &str, payload: &str) {
    sender
        .execute(&format!("NOTIFY {channel}, '{payload}'"), &[])
        .await
        .unwrap();
}

async fn return_dirty_idle(pool: &Pool) {
    let c = bounded("acquire", pool.acquire()).await.unwrap();
    c.execute("SET app.tenant = '42'", &[]).await.unwrap();
    c.execute("SET work_mem = '7MB'", &[]).await.unwrap();
    c.execute("LISTEN gone", &[]).await.unwrap();
    c.execute("NOTIFY gone, 'old'", &[]).await.unwrap();
}

async fn copy_three(c: &PooledConnection, what: &str) {
    let mut sink = bounded(what, c.copy_in("COPY t FROM STDIN")).await.unwrap();
    bounded(what, sink.write(b"1\n2\n3\n")).await.unwrap();
    assert_eq!(bounded(what, sink.finish()).await.unwrap(), 3, "{what}");
}

async fn copy_out_count(c: &PooledConnection, what: &str) -> usize {
    let mut out = bounded(what, c.copy_out("COPY t TO STDOUT")).await.unwrap();
    let mut n = 0;
    while let Some(chunk) = bounded(what, out.next_chunk()).await {
        chunk.unwrap();
        n += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_as_the_first_request_behind_a_carried_reset() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    let c = hand_over_dirty(&pool, async |_| {}).await;
    copy_three(&c, "copy_in first").await;
    is_clean(&c, "behind copy_in").await;
    drop(c);
    let c = hand_over_dirty(&pool, async |_| {}).await;
    assert_eq!(copy_out_count(&c, "copy_out first").await, 3);
    is_clean(&c, "behind copy_out").await;
    drop(c);
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_right_after_an_idle_reset() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    return_dirty_idle(&pool).await;
    let c = bounded("acquire", pool.acquire()).await.unwrap();
    copy_three(&c, "copy_in after idle reset").await;
    is_clean(&c, "behind copy_in after idle reset").await;
    drop(c);
    return_dirty_idle(&pool).await;
    let c = bounded("acquire", pool.acquire()).await.unwrap();
    assert_eq!(copy_out_count(&c, "copy_out after idle reset").await, 3);
    is_clean(&c, "behind copy_out after idle reset").await;
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}

/// A COPY as the first use behind a carried reset that fails (the role
/// may no longer run a function the reset calls): the COPY provably never
/// started and no data left, so it starts again on a fresh connection
/// swapped in under the holder and just works, on a clean session; the
/// rows land once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_behind_a_failing_carried_reset_runs_on_a_fresh_connection() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    for (round, out) in [false, true].into_iter().enumerate() {
        let c = hand_over_dirty(&pool, async |_| {
            db.psql("REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() FROM PUBLIC")
                .expect("revoke");
        })
        .await;
        let before = c.id();
        if out {
            assert_eq!(
                copy_out_count(&c, "copy_out behind a failed reset").await,
                3
            );
        } else {
            copy_three(&c, "copy_in behind a failed reset").await;
        }
        db.psql("GRANT EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() TO PUBLIC")
            .expect("grant");
        assert_ne!(c.id(), before, "round {round}: another connection");
        is_clean(&c, "behind the COPY").await;
        drop(c);
    }
    let n: i64 = pool
        .query_scalar("SELECT count(*) FROM t", &[])
        .await
        .unwrap();
    assert_eq!(n, 3, "loaded once");
    assert!(pool.stats().retries_total >= 2, "{:?}", pool.stats());
}

/// The same when an administrator terminated the backend under the
/// previous holder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_behind_a_terminated_backend_runs_on_a_fresh_connection() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    for out in [false, true] {
        let admin = crate::fresh(&db).await;
        let c = hand_over_dirty(&pool, async |pid| {
            let ok: bool = admin
                .query_scalar("SELECT pg_terminate_backend($1)", &[&pid])
                .await
                .unwrap();
            assert!(ok);
            tokio::time::sleep(Duration::from_millis(50)).await;
        })
        .await;
        if out {
            assert_eq!(
                copy_out_count(&c, "copy_out behind a terminated backend").await,
                3
            );
        } else {
            copy_three(&c, "copy_in behind a terminated backend").await;
        }
        is_clean(&c, "behind the COPY").await;
        drop(c);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_holder_sees_none_of_the_previous_holders_notifications() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    let sender = crate::fresh(&db).await;
    // Carried reset: the previous holder listened, got notifications it
    // never read, and held an unpolled stream.
    let c = hand_over_dirty(&pool, async |_| {}).await;
    c.execute("LISTEN jobs", &[]).await.unwrap();
    let stream = c.notifications();
    sender.execute("NOTIFY jobs, 'one'", &[]).await.unwrap();
    c.query_scalar::<i32>("SELECT 1", &[]).await.unwrap();
    drop(stream);
    drop(c);
    for round in 0..2 {
        let c = bounded("acquire", pool.acquire()).await.unwrap();
        let s = c.notifications();
        is_clean(&c, "after LISTEN").await;
        assert_eq!(
            s.queued(),
            0,
            "round {round}: a previous holder's notification"
        );
        // Not listening any more: a NOTIFY reaches nobody.
        sender.execute("NOTIFY jobs, 'two'", &[]).await.unwrap();
        c.query_scalar::<i32>("SELECT 1", &[]).await.unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(200), c.next_notification())
                .await
                .is_err(),
            "round {round}: still listening"
        );
        // This holder's own LISTEN works, its stream gets its notification.
        c.execute("LISTEN mine", &[]).await.unwrap();
        sender.execute("NOTIFY mine, 'x'", &[]).await.unwrap();
        let n = bounded("own notification", c.next_notification())
            .await
            .unwrap();
        assert_eq!(n.payload, "x");
        sender.execute("NOTIFY mine, 'left'", &[]).await.unwrap();
        c.query_scalar::<i32>("SELECT 1", &[]).await.unwrap();
        drop(s);
        drop(c);
    }
    // Idle reset: returned with nobody waiting, re-acquired at once and
    // a stream opened first thing.
    return_dirty_idle(&pool).await;
    let c = bounded("acquire", pool.acquire()).await.unwrap();
    let s = c.notifications();
    c.execute("LISTEN fresh", &[]).await.unwrap();
    assert_eq!(
        s.queued(),
        0,
        "the previous holder's notification after idle reset"
    );
    sender.execute("NOTIFY fresh, 'y'", &[]).await.unwrap();
    let n = bounded("notification after idle reset", c.next_notification())
        .await
        .unwrap();
    assert_eq!((n.channel.as_str(), n.payload.as_str()), ("fresh", "y"));
    is_clean(&c, "after idle reset").await;
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}

#[derive(Debug, PartialEq, ToSql, FromSql)]
#[postgres(name = "hue")]
enum Hue {
    #[postgres(name = "red")]
    Red,
    #[postgres(name = "blue")]
    Blue,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_created_by_one_holder_is_used_by_the_next_behind_a_reset() {
    let db = crate::db();
    schema(&db);
    db.psql(&format!("GRANT CREATE ON SCHEMA public TO {APP}"))
        .expect("grant");
    let pool = one(&db);
    let c = bounded("acquire", pool.acquire()).await.unwrap();
    c.execute("CREATE TYPE hue AS ENUM ('red', 'blue')", &[])
        .await
        .unwrap();
    c.execute("SET work_mem = '7MB'", &[]).await.unwrap();
    let h: Hue = c
        .query_scalar("SELECT $1::hue", &[&Hue::Blue])
        .await
        .unwrap();
    assert_eq!(h, Hue::Blue);
    let pid: i32 = c
        .query_scalar("SELECT pg_backend_pid()", &[])
        .await
        .unwrap();
    drop(c);
    // Carried reset in front of the first use of the type.
    let c = hand_over_dirty(&pool, async |_| {}).await;
    let h: Hue = bounded("first", c.query_scalar("SELECT $1::hue", &[&Hue::Red]))
        .await
        .unwrap();
    assert_eq!(h, Hue::Red);
    let v: Vec<Hue> = c
        .query_scalar("SELECT ARRAY['blue', 'red']::hue[]", &[])
        .await
        .unwrap();
    assert_eq!(v, vec![Hue::Blue, Hue::Red]);
    is_clean(&c, "behind the enum").await;
    assert_eq!(c.process_id(), pid, "the same connection");
    drop(c);
    // Idle reset, then the type through the pool's own query method.
    return_dirty_idle(&pool).await;
    let h: Hue = bounded("pool.query", pool.query_scalar("SELECT 'blue'::hue", &[]))
        .await
        .unwrap();
    assert_eq!(h, Hue::Blue);
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}

/// A COPY that fails (no such table, not a COPY at all, a sink abandoned
/// midway) as the first request behind the carried reset: the reset
/// stands, the connection stays in the pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_first_copy_does_not_undo_the_carried_reset() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    for sql in [
        "COPY nosuch FROM STDIN",
        "SELECT 1",
        "COPY t FROM STDIN (FORMAT bogus)",
    ] {
        let c = hand_over_dirty(&pool, async |_| {}).await;
        let e = bounded(sql, c.copy_in(sql)).await.map(|_| ()).unwrap_err();
        assert_ne!(e.kind(), ErrorKind::Connection, "{sql}: {e}");
        is_clean(&c, sql).await;
        drop(c);
        let c = hand_over_dirty(&pool, async |_| {}).await;
        let e = bounded(sql, c.copy_out(&sql.replace("FROM STDIN", "TO STDOUT")))
            .await
            .map(|_| ())
            .unwrap_err();
        assert_ne!(e.kind(), ErrorKind::Connection, "{sql}: {e}");
        is_clean(&c, sql).await;
    }
    // A sink abandoned midway as the first request.
    let c = hand_over_dirty(&pool, async |_| {}).await;
    let mut sink = bounded("copy_in", c.copy_in("COPY t FROM STDIN"))
        .await
        .unwrap();
    bounded("write", sink.write(b"1\n2\n")).await.unwrap();
    drop(sink);
    is_clean(&c, "behind an abandoned sink").await;
    drop(c);
    let c = bounded("acquire", pool.acquire()).await.unwrap();
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 0, "the abandoned COPY kept rows");
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}

/// Right after an idle reset, the next holder's very first act is to wait
/// on a notification stream in a task of its own; its LISTEN then runs
/// while the stream drives: it gets its own notification, never the
/// previous holder's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_waiting_first_thing_after_an_idle_reset() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    let sender = crate::fresh(&db).await;
    for round in 0..5 {
        return_dirty_idle(&pool).await;
        let c = bounded("acquire", pool.acquire()).await.unwrap();
        let c = std::sync::Arc::new(c);
        let waiter = {
            let c = c.clone();
            tokio::spawn(async move { c.next_notification().await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        bounded("LISTEN", c.execute("LISTEN mine", &[]))
            .await
            .unwrap();
        notify(&sender, "gone", &format!("stale{round}")).await;
        notify(&sender, "mine", &format!("r{round}")).await;
        let n = bounded("waiter", waiter).await.unwrap().unwrap();
        assert_eq!(
            (n.channel.as_str(), n.payload.as_str()),
            ("mine", format!("r{round}").as_str()),
            "round {round}"
        );
        is_clean(&*c, "after the stream").await;
    }
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}

/// One holder drops and recreates a type another connection of the pool
/// has already looked up (the registry is shared): the next holders, on
/// either connection, behind their resets, use the new type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_recreated_by_one_holder_heals_for_the_other_connections() {
    let db = crate::db();
    schema(&db);
    db.psql(&format!("GRANT CREATE ON SCHEMA public TO {APP}"))
        .expect("grant");
    let pool = crate::app_pool(&db, |b| b.max_size(2).reset(ResetPolicy::default()));
    let a = bounded("acquire", pool.acquire()).await.unwrap();
    let b = bounded("acquire", pool.acquire()).await.unwrap();
    a.execute("CREATE TYPE hue AS ENUM ('red', 'blue')", &[])
        .await
        .unwrap();
    let h: Hue = a
        .query_scalar("SELECT $1::hue", &[&Hue::Red])
        .await
        .unwrap();
    assert_eq!(h, Hue::Red);
    let h: Hue = b
        .query_scalar("SELECT $1::hue", &[&Hue::Blue])
        .await
        .unwrap();
    assert_eq!(h, Hue::Blue);
    a.execute("SET work_mem = '7MB'", &[]).await.unwrap();
    b.execute("SET work_mem = '7MB'", &[]).await.unwrap();
    drop(a);
    // b's holder recreates the type (a new OID).
    b.execute_script("DROP TYPE hue; CREATE TYPE hue AS ENUM ('blue', 'red')")
        .await
        .unwrap();
    drop(b);
    for round in 0..4 {
        // Both connections at once: each is used behind its reset.
        let c1 = bounded("acquire", pool.acquire()).await.unwrap();
        let c2 = bounded("acquire", pool.acquire()).await.unwrap();
        for c in [&c1, &c2] {
            let r = bounded(
                "use the new type",
                c.query_scalar::<Hue>("SELECT $1::hue", &[&Hue::Blue]),
            )
            .await;
            assert_eq!(
                r.unwrap_or_else(|e| panic!("round {round}: {e}")),
                Hue::Blue
            );
            is_clean(c, "after the recreated type").await;
            c.execute("SET work_mem = '7MB'", &[]).await.unwrap();
        }
    }
    assert_eq!(pool.stats().created_total, 2, "no connection was replaced");
}

/// A holder's notification stream outlives its `PooledConnection` (the
/// stream borrows nothing), still waiting in a task of its own when the
/// connection goes to the next holder: that stream ends, the next holder
/// gets its own notifications, and nothing hangs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_outlives_its_pooled_connection_steals_nothing() {
    use futures_util::StreamExt;
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    let sender = crate::fresh(&db).await;
    for round in 0..5 {
        let c = bounded("acquire", pool.acquire()).await.unwrap();
        c.execute("LISTEN old", &[]).await.unwrap();
        let mut held = c.notifications();
        drop(c);
        let c = bounded("acquire", pool.acquire()).await.unwrap();
        // The previous holder's stream, still waiting.
        let orphan = tokio::spawn(async move {
            tokio::time::timeout(Duration::from_secs(5), held.next())
                .await
                .map(|n| n.map(|n| n.map(|n| n.payload)))
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        bounded("LISTEN", c.execute("LISTEN mine", &[]))
            .await
            .unwrap();
        notify(&sender, "mine", &format!("r{round}")).await;
        let n = bounded("own notification", c.next_notification())
            .await
            .unwrap();
        assert_eq!(n.payload, format!("r{round}"), "round {round}");
        let stolen = bounded("orphan", orphan).await.unwrap();
        // The previous holder's stream has ended, having taken nothing.
        assert!(
            matches!(stolen, Ok(None)),
            "round {round}: the previous holder's stream got {stolen:?}"
        );
        is_clean(&c, "after the orphan").await;
    }
}
