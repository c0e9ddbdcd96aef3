//! Adversarial review probes (issue 16, Cron): where features meet and
//! where users are hostile or unlucky, against real PostgreSQL.

mod common;

use std::time::Duration;

use common::*;
use tusk_cron::{CronError, Handlers, JobSpec, Options, Schedule, Scheduler};

/// `@every` with an interval whose next fire time lies past chrono's
/// last date: a typed error, never an overflow panic (on add, and in a
/// worker's tick for a job written by hand).
#[test]
fn an_every_interval_past_the_end_of_time_is_an_error_not_a_panic() {
    let s = Schedule::parse("@every 200000000y").unwrap();
    let now = chrono::Utc::now();
    assert!(s.next_after(chrono_tz::UTC, now).is_none());
    assert!(matches!(
        s.validate(chrono_tz::UTC, now),
        Err(CronError::NeverFires { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schedules_and_zones_at_the_edges() {
    let db = database();
    let s = scheduler(&db).await;
    // Leap day: fires (every 4 years) and is accepted.
    let j = s
        .add(&JobSpec::sql("leap", "0 0 29 2 *", "SELECT 1"))
        .await
        .unwrap();
    let next = j.next_run_at.unwrap();
    assert_eq!(next.format("%m-%d %H:%M").to_string(), "02-29 00:00");
    // Seconds field.
    s.add(&JobSpec::sql("secs", "*/10 * * * * *", "SELECT 1"))
        .await
        .unwrap();
    // Etc/GMT-14 exists, Etc/GMT+14 does not.
    s.add(&JobSpec::sql("kiribati", "@daily", "SELECT 1").timezone("Etc/GMT-14"))
        .await
        .unwrap();
    for (name, sched, tz) in [
        ("z", "@daily", "Etc/GMT+14"),
        ("e0", "@every 0s", "UTC"),
        ("eh", "@every 200000000y", "UTC"),
        ("e1ms", "@every 1500ms", "UTC"),
        ("f7", "0 0 0 1 1 * 2030", "UTC"),
    ] {
        let e = s
            .add(&JobSpec::sql(name, sched, "SELECT 1").timezone(tz))
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                CronError::UnknownZone { .. }
                    | CronError::InvalidSchedule { .. }
                    | CronError::NeverFires { .. }
            ),
            "{name}: {e:?}"
        );
    }
    assert_eq!(s.list().await.unwrap().len(), 3);
}

/// A job whose `@every` interval overflows, written into the table by
/// hand: the worker pauses it (as for any broken edit) and keeps running
/// other jobs; it does not panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hand_written_every_interval_past_the_end_of_time_does_not_kill_the_worker() {
    let db = database();
    let s = scheduler(&db).await;
    db.psql("INSERT INTO tusk_cron_jobs (name, schedule, kind, command) VALUES ('huge', '@every 200000000y', 'sql', 'SELECT 1')")
        .unwrap();
    s.add(&JobSpec::sql("fine", "@every 1s", "SELECT 1"))
        .await
        .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    wait_for(30, "runs of the fine job", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE job_name = 'fine' AND status = 'succeeded'",
        ) >= 2
    })
    .await;
    assert!(!w.is_finished(), "the worker died");
    w.stop().await.unwrap();
    assert_eq!(
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE job_name = 'huge' AND status = 'succeeded'"
        ),
        0,
        "a job that never fires ran"
    );
    assert_eq!(
        q(&db, "SELECT paused FROM tusk_cron_jobs WHERE name = 'huge'"),
        "t"
    );
    // Resuming it is refused (it panicked on the overflow) and changes nothing.
    let e = s.resume("huge").await.unwrap_err();
    assert!(matches!(e, CronError::NeverFires { .. }), "{e:?}");
    assert_eq!(
        q(&db, "SELECT paused FROM tusk_cron_jobs WHERE name = 'huge'"),
        "t"
    );
    let msg = q(
        &db,
        "SELECT status || ': ' || message FROM tusk_cron_runs WHERE job_name = 'huge'",
    );
    assert!(
        msg.starts_with("failed: the schedule `@every 200000000y` never fires"),
        "{msg}"
    );
}

/// Transaction control smuggled into a job (past the add-time check, or
/// written by hand): its effects must not commit outside the fenced
/// transaction that records the run's end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transaction_control_in_a_job_cannot_commit_outside_the_fence() {
    let db = database();
    let s = scheduler(&db).await;
    effects_table(&db);
    // The add-time check sees through comments and odd spelling.
    for sql in [
        "/* hi */ COMMIT",
        "SELECT 1;;commit",
        "SELECT 1; -- x\n end",
        "select 1; Commit and chain",
    ] {
        let e = s
            .add(&JobSpec::sql("tc", "@every 1s", sql).check_sql(false))
            .await
            .unwrap_err();
        assert!(matches!(e, CronError::Invalid(_)), "{sql}: {e:?}");
    }
    // Written by hand: the worker must refuse it too.
    db.psql(&format!(
        "INSERT INTO tusk_cron_jobs (name, schedule, kind, command) VALUES ('raw', '@every 1s', 'sql', $q${EFFECT}; COMMIT; SELECT pg_sleep(0.1)$q$)"
    ))
    .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    wait_for(30, "a finished run of the hand-written job", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE job_name = 'raw' AND status IN ('failed', 'succeeded')",
        ) >= 1
    })
    .await;
    w.stop().await.unwrap();
    assert_eq!(
        n(&db, "SELECT count(*) FROM effects"),
        0,
        "a job committed its effects itself, outside the fenced transaction"
    );
    let msg = q(
        &db,
        "SELECT status || ': ' || coalesce(message, '') FROM tusk_cron_runs WHERE job_name = 'raw' ORDER BY id LIMIT 1",
    );
    assert!(
        msg.starts_with("failed: ") && msg.contains("COMMIT"),
        "{msg}"
    );
}

/// Session state a job leaves behind (a setting, a role, a temp table, a
/// session advisory lock, LISTEN) is gone before the next job runs on
/// that connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn session_state_left_by_a_job_does_not_reach_the_next_job() {
    let db = database();
    db.psql(&format!(
        "CREATE ROLE tusk_cron_low NOLOGIN; GRANT tusk_cron_low TO {ROLE}; \
         CREATE TABLE seen (job text, setting text, role text, temp bool, locks bigint, path text); \
         GRANT INSERT ON seen TO {ROLE}, tusk_cron_low"
    ))
    .unwrap();
    // One connection for runs: every job goes through the same session.
    let pool = tusk_pool::Pool::new(
        tusk_pool::PoolConfig::builder()
            .url(&url(&db))
            .unwrap()
            .max_size(3)
            .build(),
    )
    .unwrap();
    let s = Scheduler::new(pool.clone(), &Options::default());
    s.install().await.unwrap();
    let dirty = "SELECT set_config('app.leak', 'yes', false); \
         SET search_path = pg_temp, public; \
         CREATE TEMP TABLE leak_t (x int); \
         SELECT pg_advisory_lock(4242); \
         LISTEN leak_channel; \
         SET ROLE tusk_cron_low";
    let look = "INSERT INTO public.seen SELECT current_setting('tusk_cron.job'), current_setting('app.leak', true), current_user, \
         to_regclass('pg_temp.leak_t') IS NOT NULL, \
         (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()), \
         current_setting('search_path')";
    s.add(&JobSpec::sql("dirty", "@every 1s", dirty).check_sql(false))
        .await
        .unwrap();
    s.add(&JobSpec::sql("look", "@every 1s", look))
        .await
        .unwrap();
    let o = tusk_cron::WorkerOptions {
        concurrency: 1,
        ..opts("w")
    };
    let w = tusk_cron::Worker::new(s.clone(), o, Handlers::new()).spawn();
    wait_for(60, "several runs of both jobs", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE job_name IN ('dirty', 'look') AND status = 'succeeded'",
        ) >= 6
            && n(&db, "SELECT count(*) FROM seen") >= 3
    })
    .await;
    w.stop().await.unwrap();
    let bad = q(
        &db,
        &format!(
            "SELECT coalesce(string_agg(format('%s/%s/%s/%s/%s', setting, role, temp, locks, path), '; '), '') FROM seen \
             WHERE coalesce(setting, '') <> '' OR role <> '{ROLE}' OR temp OR locks > 0 OR path LIKE 'pg_temp%'"
        ),
    );
    assert_eq!(bad, "", "a job saw what an earlier job left in the session");
    // And the worker's own bookkeeping was not done as the low role.
    assert_eq!(
        n(
            &db,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
        ),
        0
    );
}

/// A prefix long enough that PostgreSQL truncates `{prefix}_jobs` and
/// `{prefix}_runs` to the same 63-byte name: refused with a typed error
/// before anything is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_prefix_too_long_for_postgres_identifiers_is_refused() {
    let db = database();
    let long = "p".repeat(63);
    let o = Options {
        prefix: long.clone(),
        ..Options::default()
    };
    let s = Scheduler::new(pool(&db), &o);
    let e = s.install().await.unwrap_err();
    assert!(matches!(e, CronError::Invalid(_)), "{e:?}");
    assert_eq!(
        n(
            &db,
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'ppppp%'"
        ),
        0
    );
    // Quotes and unicode in schema and prefix are quoted, and work.
    let o = Options {
        schema: "Cron \"Ä\" sch'ma".into(),
        prefix: "Jöbs \"x\"".into(),
        channel: "ch'an \"nel\"".into(),
    };
    let s = Scheduler::new(pool(&db), &o);
    s.install().await.unwrap();
    s.install().await.unwrap();
    s.add(&JobSpec::sql("q", "@every 1s", "SELECT 1"))
        .await
        .unwrap();
    let w = tusk_cron::Worker::new(s.clone(), opts("w"), Handlers::new()).spawn();
    let mut ok = false;
    for _ in 0..100 {
        if s.history(Some("q"), 10)
            .await
            .unwrap()
            .iter()
            .any(|r| r.status.as_str() == "succeeded")
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    w.stop().await.unwrap();
    assert!(ok, "no run in the quoted schema");
}

/// A role that may only write the jobs table (granted INSERT, as docs
/// say one might) schedules SQL: it must run with that role's rights,
/// not the worker's (pg_cron runs a job as the user who scheduled it).
// Ignored because it fails today, on purpose kept as the statement of a
// known gap: a job's SQL runs with the worker's role, so a role that may
// INSERT into the jobs table gets the worker's rights. The docs say so
// (grant writes on the jobs table only to roles trusted with the worker's
// rights); the fix is a per-job role run on a connection as that role.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
// Reason: the known gap described above (job SQL runs as the worker's role).
#[ignore = "found by review: a job's SQL runs as the worker's role, so INSERT on the jobs table is the worker's rights (documented, not fixable in the review: needs a per-job role with a connection as that role)"]
async fn a_role_that_can_write_the_jobs_table_does_not_get_the_workers_rights() {
    let db = database();
    let _s = scheduler(&db).await;
    db.psql(&format!(
        "CREATE ROLE tusk_cron_intruder LOGIN; \
         GRANT INSERT, SELECT ON tusk_cron_jobs TO tusk_cron_intruder; \
         CREATE TABLE secrets (s text); INSERT INTO secrets VALUES ('k'); GRANT SELECT ON secrets TO {ROLE}; \
         CREATE TABLE loot (s text); GRANT INSERT ON loot TO {ROLE}, tusk_cron_intruder"
    ))
    .unwrap();
    let intruder = tusk_pool::Pool::new(
        tusk_pool::PoolConfig::builder()
            .url(&format!(
                "postgresql://tusk_cron_intruder@127.0.0.1:{}/{}",
                db.port(),
                db.name()
            ))
            .unwrap()
            .max_size(2)
            .build(),
    )
    .unwrap();
    tusk::Executor::execute(
        &intruder,
        "INSERT INTO tusk_cron_jobs (name, schedule, kind, command) VALUES ('x', '@every 1s', 'sql', 'INSERT INTO loot SELECT s FROM secrets')",
        &[],
    )
    .await
    .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    wait_for(30, "a finished run", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status IN ('failed', 'succeeded')",
        ) >= 1
    })
    .await;
    w.stop().await.unwrap();
    assert_eq!(
        n(&db, "SELECT count(*) FROM loot"),
        0,
        "the intruder read secrets through the worker"
    );
}

/// Waits until a run of `job` is running (a backend is in its command).
async fn wait_running(db: &tusk_testkit::TestDb, job: &str) {
    wait_for(30, "the run running", || {
        n(
            db,
            &format!("SELECT count(*) FROM tusk_cron_runs WHERE job_name = '{job}' AND status = 'running'"),
        ) == 1
            && n(
                db,
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(2.5)%' AND query NOT LIKE '%pg_stat_activity%'",
            ) == 1
    })
    .await;
}

const SLOW: &str = "SELECT pg_sleep(2.5)";

/// The connection of a running SQL job terminated by the server: the run
/// fails, its retry runs, the effect happens once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_whose_backend_is_terminated_is_retried_and_takes_effect_once() {
    let db = database();
    let s = scheduler(&db).await;
    effects_table(&db);
    s.add(
        &JobSpec::sql("t", "@yearly", &format!("{SLOW}; {EFFECT}"))
            .retries(2, Duration::from_millis(100)),
    )
    .await
    .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    s.trigger("t").await.unwrap();
    wait_running(&db, "t").await;
    db.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(2.5)%' AND pid <> pg_backend_pid()")
        .unwrap();
    wait_for(60, "a succeeded run", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'succeeded'",
        ) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!w.is_finished());
    w.stop().await.unwrap();
    assert_eq!(n(&db, "SELECT count(*) FROM effects"), 1);
    assert_eq!(
        q(
            &db,
            "SELECT string_agg(attempt || ':' || status, ',' ORDER BY attempt) FROM tusk_cron_runs"
        ),
        "1:failed,2:succeeded"
    );
}

/// A job removed while its run is going on: the run's effects roll back,
/// the worker goes on, a new job of that name runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_removed_mid_run_leaves_no_effect_and_the_worker_goes_on() {
    let db = database();
    let s = scheduler(&db).await;
    effects_table(&db);
    s.add(&JobSpec::sql(
        "gone",
        "@yearly",
        &format!("{SLOW}; {EFFECT}"),
    ))
    .await
    .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    s.trigger("gone").await.unwrap();
    wait_running(&db, "gone").await;
    s.remove("gone").await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(n(&db, "SELECT count(*) FROM effects"), 0);
    s.add(&JobSpec::sql("gone", "@every 1s", EFFECT))
        .await
        .unwrap();
    wait_for(30, "the new job's effect", || {
        n(&db, "SELECT count(*) FROM effects") >= 1
    })
    .await;
    w.stop().await.unwrap();
}

/// Runs queued (pending) when the job is paused do not run while it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queued_runs_of_a_paused_job_wait() {
    let db = database();
    let s = scheduler(&db).await;
    effects_table(&db);
    s.add(&JobSpec::sql("p", "@yearly", EFFECT)).await.unwrap();
    db.psql("INSERT INTO tusk_cron_runs (job_id, job_name, scheduled_at, attempt, status, due_at) \
             SELECT id, name, now() - interval '1 second', 1, 'pending', now() - interval '1 second' FROM tusk_cron_jobs")
        .unwrap();
    s.pause("p").await.unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(n(&db, "SELECT count(*) FROM effects"), 0);
    w.stop().await.unwrap();
}

/// A job that runs longer than the lease keeps it by heartbeats: one run,
/// no takeover, one effect.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_longer_than_the_lease_is_not_taken_over() {
    let db = database();
    let s = scheduler(&db).await;
    effects_table(&db);
    s.add(&JobSpec::sql(
        "long",
        "@yearly",
        &format!("SELECT pg_sleep(5); {EFFECT}"),
    ))
    .await
    .unwrap();
    let a = worker(&db, opts("a"), Handlers::new());
    let b = worker(&db, opts("b"), Handlers::new());
    s.trigger("long").await.unwrap();
    wait_for(60, "the run's end", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status IN ('succeeded', 'failed')",
        ) == 1
    })
    .await;
    a.stop().await.unwrap();
    b.stop().await.unwrap();
    assert_eq!(n(&db, "SELECT count(*) FROM effects"), 1);
    assert_eq!(
        q(&db, "SELECT status || ' ' || takeovers FROM tusk_cron_runs"),
        "succeeded 0"
    );
}

/// A job that lowers its own rights (`SET ROLE` / `SET LOCAL ROLE` to a
/// role that may not touch the cron tables) still has its end recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_that_sets_a_lower_role_still_has_its_end_recorded() {
    let db = database();
    let s = scheduler(&db).await;
    db.psql(&format!(
        "CREATE ROLE tusk_cron_lower NOLOGIN; GRANT tusk_cron_lower TO {ROLE}; \
         CREATE TABLE seen (job text, who text); GRANT INSERT ON seen TO tusk_cron_lower"
    ))
    .unwrap();
    let look = "INSERT INTO seen VALUES (current_setting('tusk_cron.job'), current_user)";
    s.add(
        &JobSpec::sql(
            "local",
            "@yearly",
            &format!("SET LOCAL ROLE tusk_cron_lower; {look}"),
        )
        .check_sql(false),
    )
    .await
    .unwrap();
    s.add(
        &JobSpec::sql(
            "session",
            "@yearly",
            &format!("SET ROLE tusk_cron_lower; {look}"),
        )
        .check_sql(false),
    )
    .await
    .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    s.trigger("local").await.unwrap();
    s.trigger("session").await.unwrap();
    wait_for(30, "both runs ended", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status IN ('succeeded', 'failed')",
        ) == 2
    })
    .await;
    w.stop().await.unwrap();
    assert_eq!(
        q(&db, "SELECT string_agg(job_name || ' ' || status || coalesce(' ' || message, ''), '; ' ORDER BY job_name) FROM tusk_cron_runs"),
        "local succeeded; session succeeded"
    );
    assert_eq!(
        q(
            &db,
            "SELECT string_agg(job || ' ' || who, '; ' ORDER BY job) FROM seen"
        ),
        "local tusk_cron_lower; session tusk_cron_lower"
    );
}

/// Functions planted in `public` by another role under the names the
/// worker's queries call unqualified: never run by the worker. (A
/// `public.unnest(timestamptz[])` is a closer match than
/// `pg_catalog.unnest(anyarray)`: it ran as the worker at every tick, and
/// queued no runs; `hashtextextended(text, integer)` likewise in install.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn functions_planted_on_the_search_path_do_not_run_as_the_worker() {
    let db = database();
    db.psql(
        "CREATE ROLE tusk_cron_planter NOLOGIN; GRANT CREATE ON SCHEMA public TO tusk_cron_planter; \
         CREATE TABLE trap (who text, what text); GRANT INSERT ON trap TO PUBLIC; \
         SET ROLE tusk_cron_planter; \
         CREATE FUNCTION public.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS \
           $$BEGIN INSERT INTO public.trap VALUES (current_user, 'clock_timestamp'); RETURN pg_catalog.clock_timestamp(); END$$; \
         CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS \
           $$BEGIN INSERT INTO public.trap VALUES (current_user, 'now'); RETURN pg_catalog.now(); END$$; \
         CREATE FUNCTION public.pg_notify(text, text) RETURNS void LANGUAGE plpgsql AS \
           $$BEGIN INSERT INTO public.trap VALUES (current_user, 'pg_notify'); END$$; \
         CREATE FUNCTION public.pg_notify(varchar, varchar) RETURNS void LANGUAGE plpgsql AS \
           $$BEGIN INSERT INTO public.trap VALUES (current_user, 'pg_notify_v'); END$$; \
         CREATE FUNCTION public.set_config(text, text, boolean) RETURNS text LANGUAGE plpgsql AS \
           $$BEGIN INSERT INTO public.trap VALUES (current_user, 'set_config'); RETURN ''; END$$; \
         CREATE FUNCTION public.make_interval(secs double precision) RETURNS interval LANGUAGE plpgsql AS \
           $$BEGIN INSERT INTO public.trap VALUES (current_user, 'make_interval'); RETURN interval '1 s'; END$$; \
         CREATE FUNCTION public.hashtextextended(text, bigint) RETURNS bigint LANGUAGE plpgsql AS \
           $$BEGIN INSERT INTO public.trap VALUES (current_user, 'hash'); RETURN 1; END$$; \
         CREATE FUNCTION public.hashtextextended(text, integer) RETURNS bigint LANGUAGE plpgsql AS \
           $$BEGIN INSERT INTO public.trap VALUES (current_user, 'hash_int4'); RETURN 1; END$$; \
         CREATE FUNCTION public.to_regclass(text) RETURNS regclass LANGUAGE plpgsql AS \
           $$BEGIN INSERT INTO public.trap VALUES (current_user, 'to_regclass'); RETURN NULL; END$$; \
         CREATE FUNCTION public.unnest(timestamptz[]) RETURNS SETOF timestamptz LANGUAGE plpgsql AS \
           $$BEGIN INSERT INTO public.trap VALUES (current_user, 'unnest'); END$$; \
         RESET ROLE",
    )
    .unwrap();
    let s = scheduler(&db).await;
    effects_table(&db);
    s.add(&JobSpec::sql("j", "@every 1s", EFFECT).retries(1, Duration::from_millis(10)))
        .await
        .unwrap();
    s.add(&JobSpec::sql("f", "@every 1s", "SELECT 1/0").retries(1, Duration::from_millis(10)))
        .await
        .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    wait_for(30, "runs", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'succeeded'",
        ) >= 3
            && n(&db, "SELECT count(*) FROM tusk_cron_runs WHERE attempt = 2") >= 1
    })
    .await;
    s.pause("j").await.unwrap();
    s.resume("j").await.unwrap();
    s.prune(Duration::from_secs(3600)).await.unwrap();
    w.stop().await.unwrap();
    assert_eq!(
        q(
            &db,
            "SELECT coalesce(string_agg(who || ':' || what, ', '), '') FROM trap"
        ),
        ""
    );
}

/// The server restarted while a run is going on: the worker survives, and
/// the run takes effect at most once, and only if it is recorded succeeded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_restart_mid_run_takes_effect_once() {
    let cluster = tusk_testkit::Cluster::builder().start().unwrap();
    cluster
        .psql("postgres", &format!("CREATE ROLE {ROLE} LOGIN"))
        .unwrap();
    let db = cluster.database().unwrap();
    db.psql(&format!(
        "GRANT CREATE ON DATABASE \"{}\" TO {ROLE}; GRANT CREATE ON SCHEMA public TO {ROLE};",
        db.name()
    ))
    .unwrap();
    let s = scheduler(&db).await;
    effects_table(&db);
    s.add(&JobSpec::sql("r", "@yearly", &format!("{SLOW}; {EFFECT}")))
        .await
        .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    s.trigger("r").await.unwrap();
    wait_running(&db, "r").await;
    cluster.restart().unwrap();
    wait_for(90, "the run's end", || {
        db.psql("SELECT count(*) FROM tusk_cron_runs WHERE status IN ('succeeded', 'failed')")
            .map(|o| o.trim() == "1")
            .unwrap_or(false)
    })
    .await;
    assert!(!w.is_finished(), "the worker died with the server");
    w.stop().await.unwrap();
    // The restart ends the run's statement, so its effect is rolled back:
    // the run is either recorded failed (the worker reconnected in time to
    // record the error; no retries are set) or taken over when its lease
    // ends and succeeds. Never an effect without a success, never two.
    let status = q(&db, "SELECT status FROM tusk_cron_runs");
    let effects = n(&db, "SELECT count(*) FROM effects");
    match status.as_str() {
        "succeeded" => assert_eq!(effects, 1),
        "failed" => assert_eq!(effects, 0),
        other => panic!("the run ended {other}"),
    }
}

/// Timeouts and backoffs past PostgreSQL's ranges: refused on add
/// (statement_timeout) or clamped at run time (written by hand), never a
/// run that fails to be recorded and is rerun by worker after worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn timeouts_and_backoffs_past_postgres_ranges() {
    let db = database();
    let s = scheduler(&db).await;
    let e = s
        .add(
            &JobSpec::sql("st", "@yearly", "SELECT 1")
                .statement_timeout(Duration::from_secs(30 * 86_400)),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, CronError::Invalid(_)), "{e:?}");
    assert!(s.list().await.unwrap().is_empty());
    s.add(
        &JobSpec::sql("backoff", "@yearly", "SELECT 1/0")
            .retries(1, Duration::from_secs(9_000_000_000_000_000)),
    )
    .await
    .unwrap();
    s.add(&JobSpec::sql("huge", "@yearly", "SELECT 1"))
        .await
        .unwrap();
    db.psql(
        "UPDATE tusk_cron_jobs SET statement_timeout_ms = 9223372036854775807, \
         max_duration_ms = 9223372036854775807, retry_max_backoff_ms = 9223372036854775807 WHERE name IN ('huge', 'backoff')",
    )
    .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    s.trigger("backoff").await.unwrap();
    s.trigger("huge").await.unwrap();
    wait_for(30, "both runs recorded", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status IN ('succeeded', 'failed')",
        ) == 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!w.is_finished());
    w.stop().await.unwrap();
    assert_eq!(
        q(
            &db,
            "SELECT string_agg(job_name || ' ' || attempt || ' ' || status || ' ' || takeovers, '; ' ORDER BY job_name, attempt) FROM tusk_cron_runs"
        ),
        "backoff 1 failed 0; backoff 2 pending 0; huge 1 succeeded 0"
    );
}

fn fire_times(expr: &str, zone: &str, from: &str, n: usize) -> Vec<String> {
    let s = Schedule::parse(expr).unwrap();
    let tz = tusk_cron::parse_zone(zone).unwrap();
    let mut t = chrono::DateTime::parse_from_rfc3339(from)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut out = Vec::new();
    for _ in 0..n {
        t = s.next_after(tz, t).unwrap();
        out.push(t.to_rfc3339());
    }
    out
}

/// cronie's rule is by field: a job with `*` (or `*/n`) in its minute or
/// hour field is a wildcard job (follows the wall clock); only jobs fixed
/// in both are moved out of the gap / run once in the repeated hour.
#[test]
fn dst_hour_wildcard_and_minute_step_jobs_follow_cronie() {
    // `30 * * * *` is a wildcard job: nothing at the missing 02:30...
    assert_eq!(
        fire_times("30 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", 2),
        ["2026-03-29T00:30:00+00:00", "2026-03-29T01:30:00+00:00"] // 01:30 CET, 03:30 CEST
    );
    // ... and both 02:30s in the repeated hour.
    assert_eq!(
        fire_times("30 * * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", 3),
        [
            "2026-10-25T00:30:00+00:00", // 02:30 CEST
            "2026-10-25T01:30:00+00:00", // 02:30 CET
            "2026-10-25T02:30:00+00:00", // 03:30 CET
        ]
    );
    // `*/30 2 * * *` (a step in the minute field) is a wildcard job too:
    // nothing on the spring-forward night.
    assert_eq!(
        fire_times("*/30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 3),
        [
            "2026-03-30T00:00:00+00:00", // 02:00 CEST the next day
            "2026-03-30T00:30:00+00:00",
            "2026-03-31T00:00:00+00:00",
        ]
    );
}

/// A DBA made the worker role's transactions SERIALIZABLE and gave it a
/// short statement_timeout and idle_in_transaction_session_timeout: three
/// workers still run every fire time once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn role_settings_serializable_and_timeouts_keep_exactly_once() {
    let db = database();
    db.psql(&format!(
        "ALTER ROLE {ROLE} IN DATABASE \"{0}\" SET default_transaction_isolation = 'serializable'; \
         ALTER ROLE {ROLE} IN DATABASE \"{0}\" SET statement_timeout = '1500ms'; \
         ALTER ROLE {ROLE} IN DATABASE \"{0}\" SET idle_in_transaction_session_timeout = '1s'",
        db.name()
    ))
    .unwrap();
    let s = scheduler(&db).await;
    effects_table(&db);
    s.add(&JobSpec::sql("ser", "@every 1s", EFFECT))
        .await
        .unwrap();
    let ws: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|name| worker(&db, opts(name), Handlers::new()))
        .collect();
    wait_for(60, "8 runs", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE job_name = 'ser' AND status = 'succeeded'",
        ) >= 8
    })
    .await;
    for w in ws {
        w.stop().await.unwrap();
    }
    assert_exactly_once(&db, "ser");
    assert_eq!(
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'failed'"
        ),
        0
    );
}

/// A job's next fire time edited by hand to `-infinity`: that job is
/// planned from now and the others go on (the tick failed on the row, and
/// no job ran); infinities in the jobs table do not break `list`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn infinite_times_written_by_hand_do_not_stop_the_worker() {
    let db = database();
    let s = scheduler(&db).await;
    s.add(&JobSpec::sql("inf", "@every 1s", "SELECT 1"))
        .await
        .unwrap();
    s.add(&JobSpec::sql("fine", "@every 1s", "SELECT 1"))
        .await
        .unwrap();
    db.psql("UPDATE tusk_cron_jobs SET next_run_at = '-infinity' WHERE name = 'inf'")
        .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    wait_for(30, "runs of both jobs", || {
        n(
            &db,
            "SELECT count(DISTINCT job_name) FROM tusk_cron_runs WHERE status = 'succeeded'",
        ) == 2
    })
    .await;
    w.stop().await.unwrap();
    db.psql("UPDATE tusk_cron_jobs SET created_at = '-infinity', updated_at = 'infinity'")
        .unwrap();
    db.psql("UPDATE tusk_cron_jobs SET next_run_at = 'infinity' WHERE name = 'inf'")
        .unwrap();
    let jobs = s.list().await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(jobs[1].next_run_at.is_none(), "{:?}", jobs[1]);
}

/// A schedule (or zone) changed with plain SQL takes effect at once, as
/// `put` does: the stored next fire time of the old schedule is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_schedule_edited_by_hand_takes_effect() {
    let db = database();
    let s = scheduler(&db).await;
    s.add(&JobSpec::sql("edit", "@yearly", "SELECT 1"))
        .await
        .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    tokio::time::sleep(Duration::from_millis(500)).await;
    db.psql("UPDATE tusk_cron_jobs SET schedule = '@every 1s' WHERE name = 'edit'")
        .unwrap();
    wait_for(30, "runs on the new schedule", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE job_name = 'edit' AND status = 'succeeded'",
        ) >= 2
    })
    .await;
    w.stop().await.unwrap();
    // `put` still sets its own next fire time.
    let j = s
        .put(&JobSpec::sql("edit", "0 3 * * *", "SELECT 1").timezone("Asia/Tokyo"))
        .await
        .unwrap();
    assert_eq!(
        j.next_run_at
            .unwrap()
            .with_timezone(&chrono_tz::Asia::Tokyo)
            .format("%H:%M")
            .to_string(),
        "03:00"
    );
}

/// NOTIFY wake-ups on a channel (and tables) whose names need quoting: a
/// worker that would otherwise sleep a minute runs a job added after it
/// fell asleep.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn notify_wakes_workers_on_a_channel_that_needs_quoting() {
    let db = database();
    let o = Options {
        schema: "Sch \"q\"".into(),
        prefix: "P'x".into(),
        channel: "Wake \"me\" 'up'".into(),
    };
    let s = Scheduler::new(pool(&db), &o);
    s.install().await.unwrap();
    let wo = tusk_cron::WorkerOptions {
        poll_interval: Duration::from_secs(60),
        ..opts("w")
    };
    let w = tusk_cron::Worker::new(Scheduler::new(pool(&db), &o), wo, Handlers::new()).spawn();
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.add(&JobSpec::sql("late", "@every 1s", "SELECT 1"))
        .await
        .unwrap();
    let mut ran = false;
    for _ in 0..100 {
        if !s.history(Some("late"), 1).await.unwrap().is_empty() {
            ran = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stats = w.stats();
    w.stop().await.unwrap();
    assert!(ran && stats.notifications > 0, "{stats:?}");
}
