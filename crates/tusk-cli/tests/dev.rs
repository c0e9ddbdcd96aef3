//! `tusk dev start|status|stop` in throwaway directories, through the
//! library and through the binary, and the development cluster as the
//! default database when there is no URL.

mod common;

use std::path::{Path, PathBuf};

use tusk_cli::dev::{self, DevCluster, Status};
use tusk_cli::DevAction;

/// A development directory under /tmp (the `postgres` user can reach it
/// when the tests run as root), stopped and removed at the end.
struct TempDev(PathBuf);

impl TempDev {
    fn new(name: &str) -> TempDev {
        let dir = PathBuf::from(format!("/tmp/tusk-cli-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDev(dir)
    }
}

impl Drop for TempDev {
    fn drop(&mut self) {
        if let Ok(cluster) = DevCluster::new(&self.0) {
            let _ = cluster.stop();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dev(action: DevAction, dir: &Path) -> (u8, String) {
    let mut out = Vec::new();
    let code = dev::command(action, dir, &mut out).unwrap();
    (code, String::from_utf8(out).unwrap())
}

#[test]
fn start_status_stop_keep_data_and_port() {
    let tmp = TempDev::new("lib");
    let cluster = DevCluster::new(&tmp.0).unwrap();
    assert_eq!(cluster.status(), Status::Absent);
    let (code, out) = dev(DevAction::Status { json: false }, &tmp.0);
    assert_eq!(code, 3);
    assert!(out.starts_with("not created yet"), "{out}");

    let (code, out) = dev(DevAction::Start, &tmp.0);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(
            "created and started the development cluster: postgresql://postgres@127.0.0.1:"
        ),
        "{out}"
    );
    let url = cluster.url().unwrap();
    let port = cluster.port().unwrap();
    assert!(matches!(cluster.status(), Status::Running(r) if r.status == "ready"));

    // Idempotent.
    let (code, out) = dev(DevAction::Start, &tmp.0);
    assert_eq!((code, out), (0, format!("already running: {url}\n")));
    let (code, out) = dev(DevAction::Status { json: false }, &tmp.0);
    assert_eq!(code, 0);
    assert!(out.starts_with(&format!("running: {url}\n")), "{out}");

    let (code, _, err) = common::tusk(&["query", "--url", &url, "CREATE TABLE kept (v text)"]);
    assert_eq!(code, 0, "{err}");
    common::tusk(&[
        "query",
        "--url",
        &url,
        "INSERT INTO kept VALUES ($1)",
        "still here",
    ]);

    let (code, out) = dev(DevAction::Stop, &tmp.0);
    assert_eq!(code, 0);
    assert!(out.starts_with("stopped the development cluster"), "{out}");
    assert_eq!(cluster.status(), Status::Stopped);
    let (code, out) = dev(DevAction::Status { json: false }, &tmp.0);
    assert_eq!(code, 3);
    assert!(out.starts_with("stopped"), "{out}");
    let (code, out) = dev(DevAction::Status { json: true }, &tmp.0);
    assert_eq!(code, 3);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["state"], "stopped", "{out}");
    let (code, out) = dev(DevAction::Stop, &tmp.0);
    assert_eq!(code, 0);
    assert!(out.starts_with("not running"), "{out}");

    // Started again: same port, same data.
    let (_, out) = dev(DevAction::Start, &tmp.0);
    assert!(out.starts_with("started the development cluster"), "{out}");
    assert_eq!(cluster.port().unwrap(), port);
    let lines = common::json_lines(&url, "SELECT v FROM kept", &[]);
    assert_eq!(lines, [r#"{"v":"still here"}"#]);
}

/// The built binary, with the development directory in `dir` and no
/// DATABASE_URL.
fn binary(dir: &Path, port: &str, args: &[&str]) -> (i32, String, String) {
    let dir = dir.to_str().expect("a UTF-8 temporary directory");
    common::binary(args, &[(dev::DIR_ENV, dir), (dev::PORT_ENV, port)])
}

#[test]
fn with_no_url_the_binary_starts_the_dev_cluster_which_outlives_it() {
    let tmp = TempDev::new("bin");
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();

    let (code, out, err) = binary(&tmp.0, &port, &["query", "--json", "SELECT 1 AS one"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "{\"one\":1}\n");
    assert!(
        err.contains("created and started the development cluster"),
        "{err}"
    );
    assert!(err.contains(&format!("127.0.0.1:{port}/")), "{err}");

    // The process that started it has exited; the server still runs.
    let (code, out, _) = binary(&tmp.0, &port, &["dev", "status"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with(&format!(
        "running: postgresql://postgres@127.0.0.1:{port}/postgres"
    )));

    // Later commands use it quietly.
    let (code, out, err) = binary(&tmp.0, &port, &["ping"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("PostgreSQL "), "{out}");
    assert_eq!(err, "");

    let (code, out, _) = binary(&tmp.0, &port, &["dev", "stop"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("stopped"), "{out}");
    let (code, _, _) = binary(&tmp.0, &port, &["dev", "status"]);
    assert_eq!(code, 3);
}
