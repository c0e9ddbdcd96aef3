//! Seeded worker kills: three worker slots, each a runtime of its own
//! (dropped mid-run to kill it, then replaced), for a dozen rounds; every
//! fire time that ran ran once, its one side effect from the fence that
//! finished it. `TUSK_SEED=<n>` replays a sequence of kills.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::*;
use tusk_cron::{Handlers, JobSpec, Overlap, Scheduler, Worker, WorkerOptions};

/// A worker on a runtime of its own; dropping the sender kills it
/// (the runtime is shut down with its tasks and connections).
struct Slot {
    kill: mpsc::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
}

fn start(url: &str, name: String) -> Slot {
    let url = url.to_owned();
    let (kill, rx) = mpsc::channel::<bool>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let graceful = rt.block_on(async {
            let pool =
                tusk_pool::Pool::new(tusk_pool::PoolConfig::from_url(&url).unwrap()).unwrap();
            let o = WorkerOptions {
                name,
                lease: Duration::from_secs(1),
                poll_interval: Duration::from_millis(500),
                ..WorkerOptions::default()
            };
            let w = Worker::new(
                Scheduler::new(pool, &Default::default()),
                o,
                Handlers::new(),
            )
            .spawn();
            let graceful = tokio::task::spawn_blocking(move || rx.recv().unwrap_or(false))
                .await
                .unwrap();
            if graceful {
                w.stop().await.unwrap();
            }
            graceful
        });
        if !graceful {
            rt.shutdown_background();
        }
    });
    Slot { kill, thread }
}

impl Slot {
    fn end(self, graceful: bool) {
        let _ = self.kill.send(graceful);
        self.thread.join().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seeded_kills_never_run_a_fire_time_twice() {
    let seed: u64 = std::env::var("TUSK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("TUSK_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let db = database();
    effects_table(&db);
    let s = scheduler(&db).await;
    let sql = format!("{EFFECT}; SELECT pg_sleep(0.7)");
    s.add(&JobSpec::sql("chaos", "@every 1s", &sql).overlap(Overlap::Allow))
        .await
        .unwrap();
    let url = url(&db);
    let mut born = 0;
    let mut slots: Vec<Slot> = (0..3)
        .map(|_| {
            born += 1;
            start(&url, format!("w{born}"))
        })
        .collect();
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(rng.u64(200..1200))).await;
        let i = rng.usize(..slots.len());
        let victim = slots.swap_remove(i);
        tokio::task::spawn_blocking(move || victim.end(false))
            .await
            .unwrap();
        born += 1;
        slots.push(start(&url, format!("w{born}")));
    }
    // Stop scheduling; the survivors finish (or take over) what is left.
    s.pause("chaos").await.unwrap();
    wait_for(90, "every run settled", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status IN ('pending', 'running')",
        ) == 0
    })
    .await;
    for slot in slots {
        tokio::task::spawn_blocking(move || slot.end(true))
            .await
            .unwrap();
    }
    eprintln!(
        "runs by status: {}",
        q(
            &db,
            "SELECT string_agg(status || ' ' || c, ', ' ORDER BY status) \
             FROM (SELECT status, count(*) AS c FROM tusk_cron_runs GROUP BY status) s"
        )
    );
    assert_exactly_once(&db, "chaos");
    assert_eq!(
        n(&db, "SELECT count(*) FROM effects e JOIN tusk_cron_runs r ON r.id = e.run WHERE e.fence <> r.fence"),
        0,
        "an effect from a fence that did not finish the run (seed {seed})"
    );
    // A run whose lease expired more than MAX_TAKEOVERS times is failed on
    // purpose (the kills can land on the same run's workers four times in a
    // row, more often on a loaded machine where heartbeats lag); it must have
    // left no effect. Anything else that did not succeed is a bug.
    assert_eq!(
        q(
            &db,
            "SELECT coalesce(string_agg(id || ' ' || status || ': ' || coalesce(message, ''), '; '), '') \
             FROM tusk_cron_runs WHERE status <> 'succeeded' \
             AND NOT (status = 'failed' AND message LIKE 'the lease expired % times%')"
        ),
        "",
        "runs that neither succeeded nor hit the takeover limit (seed {seed})"
    );
    assert_eq!(
        n(
            &db,
            "SELECT count(*) FROM effects e JOIN tusk_cron_runs r ON r.id = e.run WHERE r.status <> 'succeeded'"
        ),
        0,
        "an effect from a run that did not succeed (seed {seed})"
    );
    assert!(
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'succeeded'"
        ) >= 5,
        "seed {seed}"
    );
}
