//! `tusk cron ..` through the built binary against a real cluster, as a
//! non-superuser role; worker processes killed for real.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tusk_testkit::TestDb;

const ROLE: &str = "cli_cron";

fn database() -> (TestDb, String) {
    common::role_database(ROLE)
}

/// `tusk cron <args> --url <url>`: (code, stdout, stderr).
fn cron(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tusk"))
        .arg("cron")
        .args(args)
        .args(["--url", url])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn ok(url: &str, args: &[&str]) -> String {
    let (code, out, err) = cron(url, args);
    assert_eq!(code, 0, "tusk cron {args:?}: {err}");
    out
}

fn q(db: &TestDb, sql: &str) -> String {
    db.psql(sql).unwrap().trim().to_string()
}

fn n(db: &TestDb, sql: &str) -> i64 {
    q(db, sql).parse().unwrap()
}

fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "gave up waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn add_list_run_pause_resume_history_remove() {
    let (db, url) = database();
    let out = ok(
        &url,
        &[
            "add",
            "nightly",
            "30 2 * * *",
            "SELECT 1",
            "--tz",
            "Europe/Berlin",
            "--retries",
            "2",
        ],
    );
    assert!(
        out.starts_with("added nightly (30 2 * * * Europe/Berlin), next run "),
        "{out}"
    );
    assert!(out.contains(" 02:30:00 CE"), "{out}");
    ok(
        &url,
        &[
            "add",
            "every",
            "@every 30s",
            "SELECT 2",
            "--overlap",
            "queue",
            "--misfire",
            "catch-up-3",
        ],
    );
    let list = ok(&url, &["list"]);
    assert!(
        list.contains("nightly") && list.contains("overlap skip, misfire run-once, 2 retries"),
        "{list}"
    );
    assert!(list.contains("overlap queue, misfire catch-up-3"), "{list}");
    assert!(list.ends_with("(2 rows)\n"), "{list}");

    let run = ok(&url, &["run", "nightly"]);
    assert!(run.starts_with("run 1 of nightly: succeeded in "), "{run}");
    let json = ok(&url, &["run", "nightly", "--json"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["status"], "succeeded");
    assert_eq!(v["manual"], true);
    assert_eq!(v["fence"], 1);

    let paused = ok(&url, &["pause", "nightly"]);
    assert_eq!(paused, "paused nightly, next run -\n");
    assert!(ok(&url, &["list"]).contains("paused"));
    assert!(ok(&url, &["resume", "nightly"]).starts_with("resumed nightly, next run 20"));

    let history = ok(&url, &["history", "nightly"]);
    assert!(
        history.contains("succeeded") && history.contains("1 (manual)"),
        "{history}"
    );
    assert!(history.ends_with("(2 rows)\n"), "{history}");
    let lines = ok(&url, &["history", "--json", "--limit", "1"]);
    assert_eq!(lines.lines().count(), 1);

    // A failing job: exit code 1, the server's words.
    ok(&url, &["add", "boom", "@daily", "SELECT 1/0", "--no-check"]);
    let (code, out, _) = cron(&url, &["run", "boom"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("failed") && out.contains("division by zero"),
        "{out}"
    );

    assert_eq!(ok(&url, &["remove", "every"]), "removed every\n");
    assert_eq!(n(&db, "SELECT count(*) FROM tusk_cron_jobs"), 2);
    let jobs = ok(&url, &["list", "--json"]);
    let first: serde_json::Value = serde_json::from_str(jobs.lines().next().unwrap()).unwrap();
    assert_eq!(first["name"], "boom");
    assert_eq!(first["kind"], "sql");
    assert_eq!(first["last_status"], "failed");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let (db, url) = database();
    for (args, want) in [
        (
            vec!["add", "feb30", "0 0 30 2 *", "SELECT 1"],
            "never fires",
        ),
        (
            vec!["add", "x", "@daily", "SELECT 1", "--tz", "Mars/Olympus"],
            "unknown time zone",
        ),
        (vec!["add", "x", "* * *", "SELECT 1"], "invalid schedule"),
    ] {
        let (code, _, err) = cron(&url, &args);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // Found before anything is created.
    assert_eq!(q(&db, "SELECT to_regclass('tusk_cron_jobs') IS NULL"), "t");
    ok(&url, &["install"]);
    let (code, _, err) = cron(&url, &["add", "typo", "@daily", "SELEC 1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("refused by the server") && err.contains("syntax error"),
        "{err}"
    );
    for action in ["run", "pause", "resume", "remove", "history"] {
        let (code, _, err) = cron(&url, &[action, "ghost"]);
        assert_eq!(code, 1, "{action}");
        assert!(err.contains("no cron job named `ghost`"), "{action}: {err}");
    }
    let (code, _, err) = cron(
        &url,
        &["add", "x", "@daily", "SELECT 1", "--misfire", "sometimes"],
    );
    assert_eq!(code, 2, "a usage error from the argument parser");
    assert!(err.contains("unknown misfire policy"), "{err}");
    assert_eq!(n(&db, "SELECT count(*) FROM tusk_cron_jobs"), 0);
    assert_eq!(n(&db, "SELECT count(*) FROM tusk_cron_runs"), 0);
}

fn spawn_worker(url: &str, name: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args([
            "cron", "worker", "--name", name, "--lease", "1s", "--poll", "1s", "--url", url,
        ])
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn three_worker_processes_one_killed_mid_run() {
    let (db, url) = database();
    db.psql(&format!(
        "CREATE TABLE effects (at timestamptz, fence bigint); GRANT INSERT ON effects TO {ROLE}"
    ))
    .unwrap();
    ok(
        &url,
        &[
            "add",
            "slow",
            "@every 1s",
            "INSERT INTO effects VALUES (current_setting('tusk_cron.scheduled_at')::timestamptz, \
             current_setting('tusk_cron.fence')::bigint); SELECT pg_sleep(2)",
            "--overlap",
            "allow",
        ],
    );
    let mut workers: Vec<(String, Child)> = (0..3)
        .map(|i| {
            let name = format!("p{i}");
            let child = spawn_worker(&url, &name);
            (name, child)
        })
        .collect();
    // Kill (SIGKILL) the worker holding the oldest running run.
    let mut victim_run = 0;
    let mut victim = String::new();
    wait_for(60, "a running run", || {
        let row = q(&db, "SELECT id || '|' || worker FROM tusk_cron_runs WHERE status = 'running' ORDER BY id LIMIT 1");
        if let Some((id, w)) = row.split_once('|') {
            victim_run = id.parse().unwrap();
            victim = w.to_owned();
            true
        } else {
            false
        }
    });
    let i = workers.iter().position(|(n, _)| *n == victim).unwrap();
    let (_, mut child) = workers.remove(i);
    child.kill().unwrap();
    child.wait().unwrap();
    wait_for(60, "the killed worker's run finished elsewhere", || {
        q(
            &db,
            &format!("SELECT status FROM tusk_cron_runs WHERE id = {victim_run}"),
        ) == "succeeded"
    });
    let row = q(&db, &format!("SELECT worker || ' ' || takeovers || ' ' || fence FROM tusk_cron_runs WHERE id = {victim_run}"));
    assert!(!row.starts_with(&victim) && row.ends_with(" 1 2"), "{row}");
    wait_for(60, "more runs", || {
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'succeeded'",
        ) >= 5
    });
    for (_, child) in &workers {
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
    }
    for (name, child) in workers {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(&format!(
                "tusk_cron_runs_started_total{{worker=\"{name}\"}}"
            )),
            "{text}"
        );
    }
    // Each finished fire time has one succeeded run and one effect, from
    // the fence that finished it.
    assert_eq!(
        q(&db, "SELECT count(*) FROM (SELECT scheduled_at FROM tusk_cron_runs WHERE status = 'succeeded' GROUP BY 1 HAVING count(*) > 1) d"),
        "0"
    );
    assert_eq!(
        q(&db, "SELECT count(*) FROM tusk_cron_runs r FULL JOIN effects e ON e.at = r.scheduled_at AND e.fence = r.fence \
                WHERE r.status = 'succeeded' AND e.at IS NULL OR e.at IS NOT NULL AND r.id IS NULL"),
        "0",
        "an effect without its succeeded run, or the reverse"
    );
    assert_eq!(
        n(&db, "SELECT count(*) FROM effects"),
        n(
            &db,
            "SELECT count(*) FROM tusk_cron_runs WHERE status = 'succeeded'"
        )
    );
}

#[test]
fn next_shows_what_a_dst_night_does_without_a_database() {
    let out = Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args([
            "cron",
            "next",
            "30 2 * * *",
            "--tz",
            "Europe/Berlin",
            "--count",
            "3",
            "--from",
            "2025-03-29T12:00:00Z",
        ])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "2025-03-30 03:00:00 CEST  (2025-03-30T01:00:00Z)\n\
         2025-03-31 02:30:00 CEST  (2025-03-31T00:30:00Z)\n\
         2025-04-01 02:30:00 CEST  (2025-04-01T00:30:00Z)\n"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args([
            "cron",
            "next",
            "30 2 * * *",
            "--tz",
            "Europe/Berlin",
            "--count",
            "2",
            "--from",
            "2025-10-25T12:00:00Z",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "2025-10-26 02:30:00 CEST  (2025-10-26T00:30:00Z)\n\
         2025-10-27 02:30:00 CET  (2025-10-27T01:30:00Z)\n"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args(["cron", "next", "0 0 30 2 *"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("never fires"));
}
