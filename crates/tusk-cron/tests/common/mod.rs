//! Helpers for the cron tests: a database a non-superuser role owns
//! nothing in but may create objects in, pools as that role, waiting.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use tusk_cron::{Options, Scheduler, Worker, WorkerHandle, WorkerOptions};
use tusk_testkit::{Cluster, TestDb};

/// The role every test schedules and works as: no superuser, no
/// CREATEDB, only CREATE on its test database and `public`.
pub const ROLE: &str = "tusk_cron_user";

pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let c = Cluster::builder().start().expect("a PostgreSQL cluster");
        c.psql(
            "postgres",
            &format!("CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"),
        )
        .unwrap();
        c
    })
}

/// A fresh database [`ROLE`] may create objects in.
pub fn database() -> TestDb {
    let db = cluster().database().unwrap();
    db.psql(&format!(
        "GRANT CREATE ON DATABASE \"{}\" TO {ROLE}; GRANT CREATE ON SCHEMA public TO {ROLE};",
        db.name()
    ))
    .unwrap();
    db
}

/// `postgresql://tusk_cron_user@127.0.0.1:<port>/<db>`.
pub fn url(db: &TestDb) -> String {
    format!("postgresql://{ROLE}@127.0.0.1:{}/{}", db.port(), db.name())
}

/// A pool as [`ROLE`].
pub fn pool(db: &TestDb) -> tusk_pool::Pool {
    tusk_pool::Pool::new(
        tusk_pool::PoolConfig::builder()
            .url(&url(db))
            .unwrap()
            .max_size(12)
            .build(),
    )
    .unwrap()
}

/// The scheduler on the default tables, installed.
pub async fn scheduler(db: &TestDb) -> Scheduler {
    let s = Scheduler::new(pool(db), &Options::default());
    s.install().await.unwrap();
    s
}

/// Worker options for tests: short lease and poll, named.
pub fn opts(name: &str) -> WorkerOptions {
    WorkerOptions {
        name: name.into(),
        concurrency: 4,
        lease: Duration::from_secs(2),
        poll_interval: Duration::from_secs(1),
        ..WorkerOptions::default()
    }
}

/// A worker on a pool of its own.
pub fn worker(db: &TestDb, o: WorkerOptions, handlers: tusk_cron::Handlers) -> WorkerHandle {
    Worker::new(Scheduler::new(pool(db), &Options::default()), o, handlers).spawn()
}

/// `psql` as the superuser, trimmed.
pub fn q(db: &TestDb, sql: &str) -> String {
    db.psql(sql).unwrap().trim().to_string()
}

/// Polls `f` every 100 ms until it is true; panics with `what` after
/// `secs` seconds (a liveness bound, not a speed assertion).
pub async fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            std::time::Instant::now() < end,
            "gave up waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A number from psql.
pub fn n(db: &TestDb, sql: &str) -> i64 {
    q(db, sql).parse().unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every succeeded SQL run left exactly one side effect, keyed by its
/// fire time, and no fire time has two succeeded runs.
pub fn assert_exactly_once(db: &tusk_testkit::TestDb, job: &str) {
    let bad = q(
        db,
        &format!(
            "SELECT coalesce(string_agg(r.scheduled_at::text || ' runs=' || r.c || ' effects=' || coalesce(e.c, 0), '; '), '') \
             FROM (SELECT scheduled_at, count(*) AS c FROM tusk_cron_runs WHERE job_name = '{job}' AND status = 'succeeded' GROUP BY 1) r \
             FULL JOIN (SELECT at AS scheduled_at, count(*) AS c FROM effects WHERE job = '{job}' GROUP BY 1) e USING (scheduled_at) \
             WHERE r.c IS DISTINCT FROM 1 OR e.c IS DISTINCT FROM 1"
        ),
    );
    assert_eq!(bad, "", "runs and side effects of {job} disagree");
}

pub fn effects_table(db: &tusk_testkit::TestDb) {
    db.psql(&format!(
        "CREATE TABLE effects (job text, at timestamptz, run bigint, fence bigint, attempt int); \
         GRANT INSERT, SELECT ON effects TO {ROLE}"
    ))
    .unwrap();
}

pub const EFFECT: &str = "INSERT INTO effects VALUES (current_setting('tusk_cron.job'), \
     current_setting('tusk_cron.scheduled_at')::timestamptz, current_setting('tusk_cron.run_id')::bigint, \
     current_setting('tusk_cron.fence')::bigint, current_setting('tusk_cron.attempt')::int)";
