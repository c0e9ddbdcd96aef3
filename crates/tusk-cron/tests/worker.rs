//! Workers against a real cluster, in real time (`@every 1s` schedules),
//! as a non-superuser role. Waits are liveness bounds, never speed
//! assertions.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use tusk_cron::{Handlers, JobSpec, Misfire, Overlap, Scheduler, Worker, WorkerOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_every_second_sql_job_runs_once_per_fire_time_across_three_workers() {
    let db = database();
    effects_table(&db);
    let s = scheduler(&db).await;
    s.add(&JobSpec::sql("tick", "@every 1s", EFFECT).overlap(Overlap::Allow))
        .await
        .unwrap();
    let workers: Vec<_> = (0..3)
        .map(|i| worker(&db, opts(&format!("w{i}")), Handlers::new()))
        .collect();
    wait_for(60, "6 succeeded runs", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'succeeded'",
        ) >= 6
    })
    .await;
    let mut started = 0;
    for w in workers {
        let st = w.stats();
        started += st.runs_started;
        assert!(w
            .stats()
            .prometheus(w.name())
            .contains("tusk_cron_runs_started_total"));
        w.stop().await.unwrap();
    }
    assert_exactly_once(&db, "tick");
    assert_eq!(
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status NOT IN ('succeeded', 'pending')"
        ),
        0
    );
    let succeeded = n(
        &db,
        "SELECT count(*) FROM tusk_cron_runs WHERE status = 'succeeded'",
    );
    assert_eq!(started, u64::try_from(succeeded).unwrap());
    // The effects saw their run's id, fence and attempt.
    assert_eq!(
        n(&db, "SELECT count(*) FROM effects e JOIN tusk_cron_runs r ON r.id = e.run AND r.fence = e.fence AND e.attempt = 1"),
        succeeded
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_dropped_mid_run_loses_its_lease_and_another_finishes_the_run_once() {
    let db = database();
    effects_table(&db);
    let s = scheduler(&db).await;
    // Each run takes 3 s; the lease is 1 s, renewed every 1/3 s.
    let sql = format!("{EFFECT}; SELECT pg_sleep(3)");
    s.add(&JobSpec::sql("slow", "@every 1s", &sql).overlap(Overlap::Skip))
        .await
        .unwrap();
    let o = |name: &str| WorkerOptions {
        lease: Duration::from_secs(1),
        ..opts(name)
    };
    // The victim runs alone on a runtime of its own until it holds a run.
    let url = url(&db);
    let (kill_tx, kill_rx) = std::sync::mpsc::channel::<()>();
    let victim = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let pool =
                tusk_pool::Pool::new(tusk_pool::PoolConfig::from_url(&url).unwrap()).unwrap();
            let w = Worker::new(
                Scheduler::new(pool, &Default::default()),
                o("victim"),
                Handlers::new(),
            );
            let _h = w.spawn();
            tokio::task::spawn_blocking(move || kill_rx.recv())
                .await
                .unwrap()
                .unwrap();
        });
        // Killed: every task and connection of the runtime dropped mid-run.
        rt.shutdown_background();
    });
    wait_for(60, "the victim holds a run", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'running' AND worker = 'victim'",
        ) == 1
    })
    .await;
    let victim_run = n(
        &db,
        "SELECT id FROM tusk_cron_runs WHERE status = 'running' AND worker = 'victim'",
    );
    let others: Vec<_> = ["a", "b"]
        .iter()
        .map(|name| worker(&db, o(name), Handlers::new()))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill_tx.send(()).unwrap();
    victim.join().unwrap();
    wait_for(60, "the victim's run finished by another worker", || {
        q(&db, &format!("SELECT status || ' ' || worker || ' ' || takeovers FROM tusk_cron_runs WHERE id = {victim_run}"))
            .starts_with("succeeded ")
    })
    .await;
    wait_for(60, "3 more succeeded runs", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'succeeded'",
        ) >= 4
    })
    .await;
    let mut taken = 0;
    for w in others {
        taken += w.stats().runs_taken_over;
        w.stop().await.unwrap();
    }
    let row = q(
        &db,
        &format!("SELECT worker, takeovers, fence FROM tusk_cron_runs WHERE id = {victim_run}"),
    );
    let parts: Vec<&str> = row.split('|').collect();
    assert_ne!(parts[0], "victim");
    assert_eq!(parts[1], "1", "{row}");
    assert_eq!(parts[2], "2", "claimed twice: the fence moved on ({row})");
    assert_eq!(taken, 1);
    assert_exactly_once(&db, "slow");
    // The victim's effect was rolled back with its connection: the only
    // effect of that fire time carries the second fence.
    assert_eq!(
        n(
            &db,
            &format!("SELECT fence FROM effects WHERE run = {victim_run}")
        ),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn misfire_policies_after_ten_minutes_without_workers() {
    let db = database();
    effects_table(&db);
    let s = scheduler(&db).await;
    for (name, m) in [
        ("skip", Misfire::Skip),
        ("once", Misfire::RunOnce),
        ("catch3", Misfire::CatchUp(3)),
    ] {
        s.add(
            &JobSpec::sql(name, "@every 60s", EFFECT)
                .misfire(m)
                .overlap(Overlap::Allow),
        )
        .await
        .unwrap();
    }
    // Due since 10 min 0.5 s ago: fire times -600.5 s .. -60.5 s are
    // missed (10), -0.5 s is on time (the grace is 60 s).
    db.psql("UPDATE tusk_cron_jobs SET next_run_at = clock_timestamp() - interval '600.5 seconds'")
        .unwrap();
    // And one with nothing on time: due 5 min 30 s ago, every 10 min.
    s.add(&JobSpec::sql("once-late", "@every 600s", EFFECT))
        .await
        .unwrap();
    db.psql("UPDATE tusk_cron_jobs SET next_run_at = clock_timestamp() - interval '330 seconds' WHERE name = 'once-late'")
        .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    wait_for(60, "every job planned", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_jobs WHERE next_run_at > clock_timestamp()",
        ) == 4
    })
    .await;
    wait_for(60, "no pending runs", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status IN ('pending', 'running')",
        ) == 0
    })
    .await;
    let stats = w.stats();
    w.stop().await.unwrap();
    let runs = |job: &str| {
        n(
            &db,
            &format!("SELECT count(*) FROM effects WHERE job = '{job}'"),
        )
    };
    let skipped = |job: &str| {
        q(&db, &format!("SELECT message FROM tusk_cron_runs WHERE job_name = '{job}' AND status = 'skipped'"))
    };
    assert_eq!(runs("skip"), 1, "only the on-time fire time");
    assert!(
        skipped("skip").starts_with("10 fire time(s)"),
        "{}",
        skipped("skip")
    );
    assert_eq!(runs("once"), 1, "coalesced into the on-time run");
    assert!(skipped("once").starts_with("10 fire time(s)"));
    assert_eq!(runs("catch3"), 4, "the latest 3 missed and the on-time one");
    assert!(
        skipped("catch3").starts_with("7 fire time(s)"),
        "{}",
        skipped("catch3")
    );
    assert_eq!(runs("once-late"), 1, "the latest missed fire time, once");
    assert_eq!(skipped("once-late"), "");
    assert_eq!(stats.runs_skipped, 10 + 10 + 7);
    for job in ["skip", "once", "catch3", "once-late"] {
        assert_exactly_once(&db, job);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlap_policies_skip_queue_and_allow() {
    let db = database();
    let s = scheduler(&db).await;
    for (name, o) in [
        ("skip", Overlap::Skip),
        ("queue", Overlap::Queue),
        ("allow", Overlap::Allow),
    ] {
        s.add(&JobSpec::sql(name, "@every 1s", "SELECT pg_sleep(2.5)").overlap(o))
            .await
            .unwrap();
    }
    let o = WorkerOptions {
        concurrency: 5,
        ..opts("w")
    };
    let w1 = worker(&db, o.clone(), Handlers::new());
    let w2 = worker(
        &db,
        WorkerOptions {
            name: "w2".into(),
            ..o
        },
        Handlers::new(),
    );
    wait_for(90, "two finished runs of each job", || {
        ["skip", "queue", "allow"].iter().all(|j| {
            n(&db, &format!("SELECT count(*) FROM tusk_cron_runs WHERE job_name = '{j}' AND status = 'succeeded'")) >= 2
        })
    })
    .await;
    s.pause("skip").await.unwrap();
    s.pause("queue").await.unwrap();
    s.pause("allow").await.unwrap();
    w1.stop().await.unwrap();
    w2.stop().await.unwrap();
    // Pairs of runs of one job whose run times overlap.
    let overlapping = |job: &str| {
        n(
            &db,
            &format!(
                "SELECT count(*) FROM tusk_cron_runs a JOIN tusk_cron_runs b ON a.job_name = b.job_name AND a.id < b.id \
                 WHERE a.job_name = '{job}' AND a.started_at IS NOT NULL AND b.started_at IS NOT NULL \
                 AND a.status <> 'skipped' AND b.status <> 'skipped' \
                 AND tstzrange(a.started_at, a.finished_at) && tstzrange(b.started_at, b.finished_at)"
            ),
        )
    };
    let count = |job: &str, status: &str| {
        n(&db, &format!("SELECT count(*) FROM tusk_cron_runs WHERE job_name = '{job}' AND status = '{status}'"))
    };
    assert_eq!(overlapping("skip"), 0);
    assert!(count("skip", "skipped") >= 1);
    assert_eq!(
        q(&db, "SELECT DISTINCT message FROM tusk_cron_runs WHERE job_name = 'skip' AND status = 'skipped'"),
        "an earlier run was still running (overlap skip)"
    );
    assert_eq!(overlapping("queue"), 0);
    assert_eq!(count("queue", "skipped"), 0);
    assert!(count("queue", "pending") >= 1, "the queue waits its turn");
    assert!(overlapping("allow") >= 1);
    assert_eq!(count("allow", "skipped"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_runs_are_retried_with_backoff_then_give_up() {
    let db = database();
    db.psql(&format!(
        "CREATE SEQUENCE flaky; GRANT USAGE ON SEQUENCE flaky TO {ROLE}"
    ))
    .unwrap();
    let s = scheduler(&db).await;
    // Fails twice (sequences are not rolled back), then succeeds. (Not
    // `CASE WHEN .. THEN 1/0 END`: the planner folds 1/0 and fails every time.)
    s.add(
        &JobSpec::sql(
            "flaky",
            "@yearly",
            "SELECT 1 / CASE WHEN nextval('flaky') < 3 THEN 0 ELSE 1 END",
        )
        .retries(3, Duration::from_millis(200)),
    )
    .await
    .unwrap();
    s.add(&JobSpec::sql("broken", "@yearly", "SELECT 1/0").retries(2, Duration::from_millis(100)))
        .await
        .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    s.trigger("flaky").await.unwrap();
    s.trigger("broken").await.unwrap();
    wait_for(60, "both settled", || {
        n(&db, "SELECT count(*) FROM tusk_cron_runs WHERE status = 'succeeded' AND job_name = 'flaky'") == 1
            && n(&db, "SELECT count(*) FROM tusk_cron_runs WHERE status = 'failed' AND job_name = 'broken'") == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats = w.stats();
    w.stop().await.unwrap();
    assert_eq!(
        q(&db, "SELECT string_agg(attempt || ':' || status, ',' ORDER BY attempt) FROM tusk_cron_runs WHERE job_name = 'flaky'"),
        "1:failed,2:failed,3:succeeded"
    );
    assert_eq!(
        q(&db, "SELECT string_agg(attempt || ':' || status, ',' ORDER BY attempt) FROM tusk_cron_runs WHERE job_name = 'broken'"),
        "1:failed,2:failed,3:failed",
        "two retries, then it stays failed"
    );
    assert_eq!(
        q(
            &db,
            "SELECT DISTINCT message FROM tusk_cron_runs WHERE job_name = 'broken'"
        ),
        "ERROR 22012: division by zero",
        "the server's words"
    );
    // Each retry was due a backoff (less at most a quarter of jitter)
    // after the failure before it: 200 ms, then 400 ms.
    assert_eq!(
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs a JOIN tusk_cron_runs b ON a.job_name = b.job_name AND b.attempt = a.attempt + 1 \
             WHERE a.job_name = 'flaky' AND b.due_at - a.finished_at >= (150 * 2 ^ (a.attempt - 1)) * interval '1 ms'"
        ),
        2
    );
    assert_eq!(
        (stats.runs_failed, stats.runs_retried, stats.runs_succeeded),
        (5, 4, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn statement_timeout_and_max_duration_end_a_run() {
    let db = database();
    let s = scheduler(&db).await;
    s.add(
        &JobSpec::sql("slow-stmt", "@yearly", "SELECT pg_sleep(30)")
            .statement_timeout(Duration::from_millis(300)),
    )
    .await
    .unwrap();
    s.add(
        &JobSpec::sql(
            "slow-run",
            "@yearly",
            "SELECT pg_sleep(0.2); SELECT pg_sleep(30)",
        )
        .max_duration(Duration::from_secs(1)),
    )
    .await
    .unwrap();
    let mut handlers = Handlers::new();
    handlers.register("forever", |_| async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(())
    });
    s.add(
        &JobSpec::handler("slow-handler", "@yearly", "forever")
            .max_duration(Duration::from_secs(1)),
    )
    .await
    .unwrap();
    let w = worker(&db, opts("w"), handlers);
    for j in ["slow-stmt", "slow-run", "slow-handler"] {
        s.trigger(j).await.unwrap();
    }
    wait_for(60, "three failed runs", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'failed'",
        ) == 3
    })
    .await;
    w.stop().await.unwrap();
    let msg = |j: &str| {
        q(
            &db,
            &format!("SELECT message FROM tusk_cron_runs WHERE job_name = '{j}'"),
        )
    };
    assert!(
        msg("slow-stmt").contains("statement timeout"),
        "{}",
        msg("slow-stmt")
    );
    assert_eq!(
        msg("slow-run"),
        "exceeded its max duration of 1s (canceled)"
    );
    assert_eq!(
        msg("slow-handler"),
        "exceeded its max duration of 1s (aborted)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sleeping_worker_wakes_on_notify_and_only_then() {
    let db = database();
    let s = scheduler(&db).await;
    s.add(&JobSpec::sql("idle", "@yearly", "SELECT 1"))
        .await
        .unwrap();
    let sleepy = |name: &str, listen: bool| WorkerOptions {
        poll_interval: Duration::from_secs(3600),
        listen,
        ..opts(name)
    };
    let deaf = worker(&db, sleepy("deaf", false), Handlers::new());
    let listening = worker(&db, sleepy("listening", true), Handlers::new());
    // Both are asleep until next year (or the fallback poll in an hour).
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.add(&JobSpec::sql("now", "@every 1s", "SELECT 1"))
        .await
        .unwrap();
    wait_for(60, "a run of the new job", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE job_name = 'now' AND status = 'succeeded'",
        ) >= 2
    })
    .await;
    assert_eq!(
        q(&db, "SELECT DISTINCT worker FROM tusk_cron_runs WHERE job_name = 'now' AND status = 'succeeded'"),
        "listening",
        "the worker without LISTEN slept on"
    );
    assert!(listening.stats().notifications >= 1);
    assert_eq!(deaf.stats().runs_started, 0);
    // Pausing is a change too: the listening worker stops queuing runs.
    s.pause("now").await.unwrap();
    let after = n(
        &db,
        "SELECT count(*) FROM tusk_cron_runs WHERE job_name = 'now'",
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE job_name = 'now'"
        ),
        after
    );
    deaf.stop().await.unwrap();
    listening.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn handler_jobs_run_only_where_the_handler_is_registered() {
    let db = database();
    let s = scheduler(&db).await;
    s.add(&JobSpec::handler("count", "@every 1s", "counter"))
        .await
        .unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    let mut handlers = Handlers::new();
    let c = Arc::clone(&seen);
    handlers.register("counter", move |ctx| {
        let c = Arc::clone(&c);
        async move {
            assert_eq!(ctx.job, "count");
            assert!(ctx.fence >= 1);
            let one: i32 = tusk::Executor::query_scalar(&ctx.pool, "SELECT 1", &[]).await?;
            c.fetch_add(u64::try_from(one)?, Ordering::SeqCst);
            Ok(())
        }
    });
    let without = worker(&db, opts("without"), Handlers::new());
    let with = worker(&db, opts("with"), handlers);
    wait_for(60, "3 handler runs", || seen.load(Ordering::SeqCst) >= 3).await;
    without.stop().await.unwrap();
    with.stop().await.unwrap();
    assert_eq!(
        q(&db, "SELECT string_agg(DISTINCT worker, ',') FROM tusk_cron_runs WHERE status = 'succeeded'"),
        "with"
    );
    assert_eq!(
        u64::try_from(n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'succeeded'"
        ))
        .unwrap(),
        seen.load(Ordering::SeqCst)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_refuses_to_start_without_the_tables() {
    let db = database();
    let w = Worker::new(
        Scheduler::new(pool(&db), &Default::default()),
        opts("w"),
        Handlers::new(),
    );
    let e = w.run(std::future::pending()).await.unwrap_err();
    assert!(
        matches!(e, tusk_cron::CronError::NotInstalled { .. }),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_worker_cannot_record_the_end_of_a_run_it_lost() {
    let db = database();
    effects_table(&db);
    let s = scheduler(&db).await;
    let sql = format!("{EFFECT}; SELECT pg_sleep(3)");
    s.add(&JobSpec::sql("once", "@yearly", &sql)).await.unwrap();
    let o = |name: &str| WorkerOptions {
        lease: Duration::from_secs(1),
        ..opts(name)
    };
    // The victim's runtime has one thread: blocking it stalls every task
    // of the worker (heartbeats included) while its statement goes on in
    // the server, as a stopped process or a long GC pause would.
    let url = url(&db);
    let (stall_tx, stall_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<tusk_cron::CronStats>();
    let victim = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let pool =
                tusk_pool::Pool::new(tusk_pool::PoolConfig::from_url(&url).unwrap()).unwrap();
            let w = Worker::new(
                Scheduler::new(pool, &Default::default()),
                o("victim"),
                Handlers::new(),
            )
            .spawn();
            while stall_rx.try_recv().is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            std::thread::sleep(Duration::from_millis(3500));
            // Awake: it tries to record the end (or renew the lease).
            tokio::time::sleep(Duration::from_secs(2)).await;
            let stats = w.stats();
            w.stop().await.unwrap();
            done_tx.send(stats).unwrap();
        });
    });
    s.trigger("once").await.unwrap();
    wait_for(60, "the victim holds the run", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'running' AND worker = 'victim'",
        ) == 1
    })
    .await;
    stall_tx.send(()).unwrap();
    let taker = worker(&db, o("taker"), Handlers::new());
    let victim_stats = tokio::task::spawn_blocking(move || done_rx.recv().unwrap())
        .await
        .unwrap();
    victim.join().unwrap();
    wait_for(60, "the run finished", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'succeeded'",
        ) == 1
    })
    .await;
    let taker_stats = taker.stats();
    taker.stop().await.unwrap();
    assert_eq!(
        q(
            &db,
            "SELECT worker || ' ' || fence || ' ' || takeovers FROM tusk_cron_runs"
        ),
        "taker 2 1"
    );
    assert_exactly_once(&db, "once");
    assert_eq!(
        n(&db, "SELECT fence FROM effects"),
        2,
        "the stale holder's effect rolled back with its refused end"
    );
    assert_eq!(victim_stats.leases_lost, 1, "{victim_stats:?}");
    assert_eq!(victim_stats.runs_succeeded, 0);
    assert_eq!(taker_stats.runs_taken_over, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_written_with_plain_sql_are_planned_and_a_broken_edit_pauses_the_job() {
    let db = database();
    let s = scheduler(&db).await;
    // Inserted by hand, no next_run_at: the next tick plans it.
    db.psql("INSERT INTO tusk_cron_jobs (name, schedule, kind, command) VALUES ('raw', '@every 1s', 'sql', 'SELECT 1')")
        .unwrap();
    s.add(&JobSpec::sql("edited", "@every 1s", "SELECT 1"))
        .await
        .unwrap();
    db.psql("UPDATE tusk_cron_jobs SET schedule = '0 0 30 2 * * * *' WHERE name = 'edited'")
        .unwrap();
    let w = worker(&db, opts("w"), Handlers::new());
    wait_for(60, "runs of the raw job, the edited job paused", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE job_name = 'raw' AND status = 'succeeded'",
        ) >= 2
            && q(
                &db,
                "SELECT paused FROM tusk_cron_jobs WHERE name = 'edited'",
            ) == "t"
    })
    .await;
    w.stop().await.unwrap();
    let msg = q(
        &db,
        "SELECT status || ': ' || message FROM tusk_cron_runs WHERE job_name = 'edited'",
    );
    assert!(
        msg.starts_with("failed: invalid schedule `0 0 30 2 * * * *`")
            && msg.ends_with("the job is paused until fixed"),
        "{msg}"
    );
    assert!(s.get("edited").await.unwrap().next_run_at.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_a_worker_cannot_take_do_not_keep_it_awake() {
    let db = database();
    let s = scheduler(&db).await;
    s.add(&JobSpec::handler("elsewhere", "@yearly", "not-here"))
        .await
        .unwrap();
    // A due pending run and a run whose (dead) worker's lease expired,
    // both of a handler this worker does not have.
    db.psql(
        "INSERT INTO tusk_cron_runs (job_id, job_name, scheduled_at, attempt, status, due_at, worker, lease_until, fence) \
         SELECT id, name, now() - interval '1 hour', 1, 'pending', now() - interval '1 hour', NULL, NULL, 0 FROM tusk_cron_jobs; \
         INSERT INTO tusk_cron_runs (job_id, job_name, scheduled_at, attempt, status, due_at, worker, lease_until, fence) \
         SELECT id, name, now() - interval '2 hours', 1, 'running', now() - interval '2 hours', 'dead', now() - interval '1 hour', 1 FROM tusk_cron_jobs",
    )
    .unwrap();
    let w = worker(
        &db,
        WorkerOptions {
            poll_interval: Duration::from_secs(3600),
            listen: false,
            ..opts("w")
        },
        Handlers::new(),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let loops = w.stats().loops;
    w.stop().await.unwrap();
    // Asleep until next year's fire time, not spinning on what it cannot
    // run (20 ms sleeps would make about 100 loops).
    assert!(loops <= 3, "{loops} loops");
    assert_eq!(
        q(
            &db,
            "SELECT string_agg(status, ',' ORDER BY id) FROM tusk_cron_runs"
        ),
        "pending,running"
    );
}
