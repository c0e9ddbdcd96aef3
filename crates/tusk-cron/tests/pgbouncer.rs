//! Workers through PgBouncer in transaction mode, as a non-superuser:
//! every statement of a claim, a run and its fenced end is in one
//! transaction, so a transaction pooler can move each to any server
//! connection; LISTEN cannot work there, and the workers poll.

mod common;

use std::time::Duration;

use common::*;
use tusk_cron::{Handlers, JobSpec, Options, Overlap, Scheduler, Worker, WorkerOptions};
use tusk_testkit::{PgBouncer, PoolMode};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_through_a_transaction_pooler_run_each_fire_time_once() {
    let db = database();
    db.psql(&format!(
        "CREATE TABLE effects (at timestamptz); GRANT INSERT, SELECT ON effects TO {ROLE}"
    ))
    .unwrap();
    let bouncer =
        PgBouncer::start_forwarding_user(cluster(), PoolMode::Transaction, &[ROLE]).unwrap();
    let url = format!(
        "postgresql://{ROLE}@127.0.0.1:{}/{}?pooler_mode=on",
        bouncer.port(),
        db.name()
    );
    let pool = || {
        tusk_pool::Pool::new(
            tusk_pool::PoolConfig::builder()
                .url(&url)
                .unwrap()
                .max_size(6)
                .build(),
        )
        .unwrap()
    };
    let s = Scheduler::new(pool(), &Options::default());
    s.install().await.unwrap();
    s.add(
        &JobSpec::sql(
            "tick",
            "@every 1s",
            "INSERT INTO effects VALUES (current_setting('tusk_cron.scheduled_at')::timestamptz)",
        )
        .overlap(Overlap::Allow),
    )
    .await
    .unwrap();
    let o = |name: &str| WorkerOptions {
        listen: false,
        poll_interval: Duration::from_millis(500),
        ..opts(name)
    };
    let workers: Vec<_> = ["a", "b"]
        .iter()
        .map(|name| {
            Worker::new(
                Scheduler::new(pool(), &Options::default()),
                o(name),
                Handlers::new(),
            )
            .spawn()
        })
        .collect();
    wait_for(60, "5 succeeded runs", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'succeeded'",
        ) >= 5
    })
    .await;
    for w in workers {
        w.stop().await.unwrap();
    }
    assert_eq!(
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status NOT IN ('succeeded', 'pending')"
        ),
        0
    );
    assert_eq!(
        q(
            &db,
            "SELECT count(*) FROM (SELECT at FROM effects GROUP BY at HAVING count(*) > 1) d"
        ),
        "0"
    );
    assert_eq!(
        n(&db, "SELECT count(*) FROM effects"),
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'succeeded'"
        )
    );
}
