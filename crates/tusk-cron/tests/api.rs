//! The scheduler's API against a real cluster, as a non-superuser role:
//! install, add/put/get/list/pause/resume/remove/trigger/history/prune,
//! and bad input that changes nothing.

mod common;

use std::time::Duration;

use common::*;
use tusk_cron::{CronError, JobSpec, Misfire, Options, Overlap, RunStatus, Scheduler};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn install_is_idempotent_under_concurrent_callers() {
    let db = database();
    let s = Scheduler::new(pool(&db), &Options::default().with_schema("jobs"));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { s.install().await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    s.install().await.unwrap();
    assert_eq!(
        q(&db, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'jobs'"),
        "tusk_cron_jobs,tusk_cron_runs"
    );
    assert_eq!(
        q(
            &db,
            "SELECT tableowner FROM pg_tables WHERE tablename = 'tusk_cron_jobs'"
        ),
        ROLE
    );
    // Another schema's tables are not there yet: a typed error.
    let other = Scheduler::new(pool(&db), &Options::default().with_schema("elsewhere"));
    assert!(matches!(
        other.list().await,
        Err(CronError::NotInstalled { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_are_added_listed_paused_resumed_and_removed() {
    let db = database();
    let s = scheduler(&db).await;
    let job = s
        .add(
            &JobSpec::sql("nightly", "30 2 * * *", "SELECT 1")
                .timezone("Europe/Berlin")
                .overlap(Overlap::Queue)
                .misfire(Misfire::CatchUp(3))
                .retries(2, Duration::from_secs(5))
                .statement_timeout(Duration::from_secs(60))
                .max_duration(Duration::from_secs(600)),
        )
        .await
        .unwrap();
    assert_eq!(job.name, "nightly");
    assert_eq!(job.timezone, "Europe/Berlin");
    assert_eq!(job.overlap, Overlap::Queue);
    assert_eq!(job.misfire, Misfire::CatchUp(3));
    assert_eq!(job.retry.retries, 2);
    assert_eq!(job.statement_timeout, Some(Duration::from_secs(60)));
    let next = job.next_run_at.unwrap();
    let local = next.with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(local.format("%H:%M").to_string(), "02:30");
    s.add(&JobSpec::handler("digest", "@every 30s", "send_digest"))
        .await
        .unwrap();
    let names: Vec<String> = s
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.name)
        .collect();
    assert_eq!(names, ["digest", "nightly"]);

    let paused = s.pause("nightly").await.unwrap();
    assert!(paused.paused && paused.next_run_at.is_none());
    let resumed = s.resume("nightly").await.unwrap();
    assert!(!resumed.paused);
    assert_eq!(resumed.next_run_at, Some(next));

    // put replaces, add refuses a taken name.
    let e = s
        .add(&JobSpec::sql("nightly", "@hourly", "SELECT 2"))
        .await
        .unwrap_err();
    assert!(matches!(e, CronError::DuplicateJob { .. }), "{e}");
    let replaced = s
        .put(&JobSpec::sql("nightly", "@hourly", "SELECT 2"))
        .await
        .unwrap();
    assert_eq!(replaced.id, job.id);
    assert_eq!(replaced.schedule, "@hourly");

    let id = s.trigger("nightly").await.unwrap();
    let run = s.run(id).await.unwrap().unwrap();
    assert_eq!(
        (run.status, run.manual, run.attempt),
        (RunStatus::Pending, true, 1)
    );
    assert_eq!(s.history(Some("nightly"), 10).await.unwrap().len(), 1);

    s.remove("nightly").await.unwrap();
    assert_eq!(s.list().await.unwrap().len(), 1);
    assert_eq!(
        n(&db, "SELECT count(*) FROM tusk_cron_runs"),
        0,
        "its history went with it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_is_a_typed_error_and_changes_nothing() {
    let db = database();
    db.psql("CREATE TABLE t (id int)").unwrap();
    let s = scheduler(&db).await;
    s.add(&JobSpec::sql("keep", "@daily", "SELECT 1"))
        .await
        .unwrap();
    let before = q(&db, "SELECT updated_at::text FROM tusk_cron_jobs");
    let cases: Vec<(JobSpec, &str)> = vec![
        (JobSpec::sql("feb30", "0 0 30 2 *", "SELECT 1"), "never"),
        (
            JobSpec::sql("six", "* * * *", "SELECT 1"),
            "invalid schedule",
        ),
        (
            JobSpec::sql("zone", "@daily", "SELECT 1").timezone("Mars/Olympus"),
            "unknown time zone",
        ),
        (
            JobSpec::sql("syntax", "@daily", "SELEC 1"),
            "refused by the server",
        ),
        (
            JobSpec::sql("missing", "@daily", "INSERT INTO nope VALUES (1)"),
            "refused by the server",
        ),
        (
            JobSpec::sql("second", "@daily", "SELECT 1; SELECT nope FROM t"),
            "refused by the server",
        ),
        (
            JobSpec::sql("vacuum", "@daily", "VACUUM t"),
            "cannot run inside a transaction",
        ),
        (
            JobSpec::sql("cic", "@daily", "CREATE INDEX CONCURRENTLY i ON t (id)"),
            "cannot run inside a transaction",
        ),
        (JobSpec::sql("empty", "@daily", " ; -- nothing"), "empty"),
        (
            JobSpec::sql("bad name!", "@daily", "SELECT 1"),
            "not a job name",
        ),
        (
            JobSpec::sql("zero", "@daily", "SELECT 1").max_duration(Duration::ZERO),
            "more than 0",
        ),
        (
            JobSpec::sql("keep", "@hourly", "SELECT 2"),
            "exists already",
        ),
        (
            JobSpec::handler("h", "@daily", " "),
            "handler name is empty",
        ),
    ];
    for (spec, want) in cases {
        let e = s.add(&spec).await.unwrap_err();
        assert!(e.to_string().contains(want), "{}: {e}", spec.name);
    }
    let e = s
        .add(&JobSpec::sql("feb30", "0 0 30 2 *", "SELECT 1"))
        .await
        .unwrap_err();
    assert!(matches!(e, CronError::NeverFires { .. }));
    let e = s
        .add(&JobSpec::sql("syntax", "@daily", "SELEC 1"))
        .await
        .unwrap_err();
    assert_eq!(
        e.as_db()
            .and_then(|d| d.code())
            .map(|c| c.code().to_owned())
            .as_deref(),
        Some("42601")
    );
    for name in ["ghost"] {
        assert!(matches!(
            s.pause(name).await,
            Err(CronError::UnknownJob { .. })
        ));
        assert!(matches!(
            s.resume(name).await,
            Err(CronError::UnknownJob { .. })
        ));
        assert!(matches!(
            s.remove(name).await,
            Err(CronError::UnknownJob { .. })
        ));
        assert!(matches!(
            s.trigger(name).await,
            Err(CronError::UnknownJob { .. })
        ));
        assert!(matches!(
            s.history(Some(name), 5).await,
            Err(CronError::UnknownJob { .. })
        ));
    }
    assert_eq!(n(&db, "SELECT count(*) FROM tusk_cron_jobs"), 1);
    assert_eq!(
        q(&db, "SELECT updated_at::text FROM tusk_cron_jobs"),
        before
    );
    assert_eq!(n(&db, "SELECT count(*) FROM tusk_cron_runs"), 0);
    // A multi-statement script whose later statements need the earlier
    // ones: refused by the check, accepted with the check off.
    let script = JobSpec::sql(
        "script",
        "@daily",
        "CREATE TEMP TABLE x (i int); INSERT INTO x VALUES (1)",
    );
    assert!(s.add(&script).await.is_err());
    s.add(&script.check_sql(false)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prune_deletes_old_finished_runs_only() {
    let db = database();
    let s = scheduler(&db).await;
    s.add(&JobSpec::sql("j", "@daily", "SELECT 1"))
        .await
        .unwrap();
    for _ in 0..3 {
        s.trigger("j").await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    db.psql(
        "UPDATE tusk_cron_runs SET status = 'succeeded', finished_at = now() - interval '8 days' \
         WHERE id = (SELECT min(id) FROM tusk_cron_runs); \
         UPDATE tusk_cron_runs SET status = 'failed', finished_at = now() - interval '1 day' \
         WHERE id = (SELECT max(id) FROM tusk_cron_runs)",
    )
    .unwrap();
    assert_eq!(s.prune(Duration::from_secs(7 * 86_400)).await.unwrap(), 1);
    assert_eq!(n(&db, "SELECT count(*) FROM tusk_cron_runs"), 2);
    assert_eq!(s.prune(Duration::from_secs(3600)).await.unwrap(), 1);
    assert_eq!(
        q(&db, "SELECT status FROM tusk_cron_runs"),
        "pending",
        "a pending run is never pruned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_role_with_only_dml_rights_installs_nothing_and_runs_jobs() {
    let db = database();
    let s = scheduler(&db).await;
    cluster()
        .psql(
            "postgres",
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cron_dml') \
             THEN CREATE ROLE cron_dml LOGIN NOSUPERUSER; END IF; END $$",
        )
        .unwrap();
    db.psql("GRANT SELECT, INSERT, UPDATE, DELETE ON tusk_cron_jobs, tusk_cron_runs TO cron_dml; CREATE TABLE hits (n int); GRANT INSERT, SELECT ON hits TO cron_dml")
        .unwrap();
    let url = format!(
        "postgresql://cron_dml@127.0.0.1:{}/{}",
        db.port(),
        db.name()
    );
    let pool = tusk_pool::Pool::new(tusk_pool::PoolConfig::from_url(&url).unwrap()).unwrap();
    let dml = Scheduler::new(pool, &Options::default());
    dml.install().await.unwrap();
    dml.add(&JobSpec::sql(
        "hit",
        "@daily",
        "INSERT INTO hits VALUES (1)",
    ))
    .await
    .unwrap();
    let w = tusk_cron::Worker::new(dml.clone(), opts("dml"), tusk_cron::Handlers::new());
    let run = w.run_now("hit").await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.message);
    assert_eq!(n(&db, "SELECT count(*) FROM hits"), 1);
    assert_eq!(s.list().await.unwrap().len(), 1);
}
