//! `tusk listen` through the built binary, against a real cluster.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Starts `tusk listen ARGS`, waits for "listening" on stderr; returns the
/// child and its stdout lines as they come.
fn start(args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tusk"))
        .arg("listen")
        .args(args)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.starts_with("tusk: listening on"), "{line}");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn next(rx: &mpsc::Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(20))
        .expect("a line from tusk listen")
}

#[test]
fn listen_prints_json_lines_and_topics_and_exits_after_count() {
    let db = tusk_testkit::db();
    let url = db.url();
    let (mut child, rx) = start(&[
        "--json",
        "--count",
        "3",
        "--url",
        &url,
        "jobs",
        "orders.*",
        "Mixed Case",
    ]);
    db.psql(
        "SELECT pg_notify('jobs', 'first \"quoted\" ☃'); \
         SELECT pg_notify('orders', '{\"topic\":\"orders.created\",\"payload\":\"{\\\"id\\\":7}\"}'); \
         SELECT pg_notify('orders', '{\"topic\":\"orders.created.eu\",\"payload\":\"not matched\"}'); \
         SELECT pg_notify('Mixed Case', '');",
    )
    .unwrap();
    let lines: Vec<serde_json::Value> = (0..3)
        .map(|_| serde_json::from_str(&next(&rx)).unwrap())
        .collect();
    assert_eq!(lines[0]["channel"], "jobs");
    assert_eq!(lines[0]["topic"], "jobs");
    assert_eq!(lines[0]["payload"], "first \"quoted\" ☃");
    assert!(lines[0]["process_id"].as_i64().unwrap() > 0);
    assert_eq!(lines[1]["topic"], "orders.created");
    assert_eq!(lines[1]["payload"], "{\"id\":7}");
    assert_eq!(lines[2]["channel"], "Mixed Case");
    assert_eq!(lines[2]["payload"], "");
    let status = child.wait().unwrap();
    assert!(status.success());
}

#[test]
fn listen_survives_a_terminated_connection_and_says_so() {
    let db = tusk_testkit::db();
    let url = db.url();
    // Two subscriptions: the reconnect is still said once.
    let (mut child, rx) = start(&["--count", "2", "--url", &url, "jobs", "orders.*"]);
    db.psql("NOTIFY jobs, 'before'").unwrap();
    assert!(next(&rx).ends_with("): before"));
    db.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .unwrap();
    let resync = next(&rx);
    assert!(
        resync.starts_with("-- reconnected (generation 1)"),
        "{resync}"
    );
    db.psql("NOTIFY jobs, 'after'").unwrap();
    let after = next(&rx);
    assert!(after.starts_with("jobs (pid "), "{after}");
    assert!(after.ends_with("): after"), "{after}");
    assert!(child.wait().unwrap().success());
}

#[test]
fn listen_refuses_a_bad_channel_with_a_clear_error() {
    let db = tusk_testkit::db();
    let long = "x".repeat(64);
    let out = Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args(["listen", "--url", &db.url(), &long])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("tusk: "), "{err}");
    assert!(err.contains("63"), "{err}");
}

// ---- review (issue 16): hostile payloads and channel names keep --json
// output one valid JSON object per line ----

#[test]
fn json_lines_stay_valid_whatever_the_payload() {
    let db = tusk_testkit::db();
    let url = db.url();
    let quoted = "we\"ird 'chan'";
    // 21 three-byte characters: 63 bytes, the longest name there is.
    let widest = "☃".repeat(21);
    let (mut child, rx) = start(&[
        "--json", "--count", "8", "--url", &url, "plain", "orders.*", quoted, &widest,
    ]);
    let big = "x".repeat(7000);
    db.psql(&format!(
        "SELECT pg_notify('plain', E'two\\nlines\\r\\n\\ttab \\\\ back \\x01 ctl'); \
         SELECT pg_notify('plain', '{big}'); \
         SELECT pg_notify('orders', 'not json at all'); \
         SELECT pg_notify('orders', '{{\"topic\": \"orders.x\", \"payload\": '); \
         SELECT pg_notify('orders', '{{\"topic\": \"elsewhere.x\", \"payload\": \"p\"}}'); \
         SELECT pg_notify('orders', '{{\"topic\": \"orders.ok\", \"payload\": \"fine\"}}'); \
         SELECT pg_notify('{q}', 'q'); \
         SELECT pg_notify('{widest}', 'w'); \
         SELECT pg_notify('plain', 'last');",
        q = quoted.replace('\'', "''"),
    ))
    .unwrap();
    let mut seen = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(3)) {
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"));
        if v["payload"].as_str().is_some_and(|p| p.len() > 100) {
            assert_eq!(v["payload"].as_str().unwrap().len(), 7000);
            continue;
        }
        seen.push(v);
    }
    assert!(
        seen.iter()
            .any(|v| v["payload"] == "two\nlines\r\n\ttab \\ back \u{1} ctl"),
        "{seen:?}"
    );
    let payloads: Vec<&str> = seen.iter().filter_map(|v| v["payload"].as_str()).collect();
    assert!(payloads.contains(&"fine"), "{seen:?}");
    assert!(payloads.contains(&"q"), "{seen:?}");
    assert!(payloads.contains(&"w"), "{seen:?}");
    assert!(seen.iter().any(|v| v["channel"] == quoted), "{seen:?}");
    assert!(
        !payloads.contains(&"p"),
        "another topic leaked in: {seen:?}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn notifications_on_several_channels_print_in_the_servers_order() {
    let db = tusk_testkit::db();
    let url = db.url();
    let (mut child, rx) = start(&["--json", "--count", "200", "--url", &url, "a", "b", "c.*"]);
    let mut sql = String::new();
    for i in 1..=200 {
        match i % 3 {
            0 => sql.push_str(&format!("SELECT pg_notify('a', '{i}');")),
            1 => sql.push_str(&format!("SELECT pg_notify('b', '{i}');")),
            _ => sql.push_str(&format!(
                "SELECT pg_notify('c', '{{\"topic\": \"c.x\", \"payload\": \"{i}\"}}');"
            )),
        }
    }
    db.psql(&sql).unwrap();
    let order: Vec<u32> = (0..200)
        .map(|_| {
            let v: serde_json::Value = serde_json::from_str(&next(&rx)).unwrap();
            v["payload"].as_str().unwrap().parse().unwrap()
        })
        .collect();
    let expected: Vec<u32> = (1..=200).collect();
    assert_eq!(
        order, expected,
        "tusk listen reordered the server's notifications"
    );
    assert!(child.wait().unwrap().success());
}
