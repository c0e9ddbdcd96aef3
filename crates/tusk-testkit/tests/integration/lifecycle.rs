//! Starting, stopping, crashing and cleaning up clusters.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tusk_testkit::{Cluster, Error};

/// Polls `check` every 50 ms for up to `secs` seconds.
pub fn eventually(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        sleep(Duration::from_millis(50));
    }
    check()
}

#[test]
fn start_stop_restart_keep_data() {
    let cluster = Cluster::start().unwrap();
    assert!(cluster.is_running());
    assert!(cluster
        .socket_dir()
        .join(format!(".s.PGSQL.{}", cluster.port()))
        .exists());
    cluster
        .psql(
            "postgres",
            "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)",
        )
        .unwrap();
    let port = cluster.port();

    cluster.restart().unwrap();
    assert_eq!(cluster.port(), port);
    assert_eq!(
        cluster
            .psql("postgres", "SELECT v FROM kept")
            .unwrap()
            .trim(),
        "7"
    );

    cluster.stop().unwrap();
    assert!(!cluster.is_running());
    assert!(matches!(
        cluster.psql("postgres", "SELECT 1"),
        Err(Error::NotRunning)
    ));
    cluster.stop().unwrap(); // stopping twice is fine

    cluster.start_again().unwrap();
    assert_eq!(
        cluster
            .psql("postgres", "SELECT v FROM kept")
            .unwrap()
            .trim(),
        "7"
    );
}

#[test]
fn kill_then_recover() {
    let cluster = Cluster::start().unwrap();
    // synchronous_commit is off: a commit may sit in WAL buffers when the
    // server dies, so make it durable first (in a transaction of its own).
    cluster
        .psql("postgres", "CREATE TABLE before_crash (v int)")
        .unwrap();
    cluster.psql("postgres", "CHECKPOINT").unwrap();
    cluster.kill().unwrap();
    assert!(!cluster.is_running());
    // Nothing listens any more.
    assert!(std::net::TcpStream::connect(("127.0.0.1", cluster.port())).is_err());

    cluster.start_again().unwrap();
    let log = std::fs::read_to_string(cluster.log_path()).unwrap();
    assert!(
        log.contains("not properly shut down") || log.contains("interrupted"),
        "expected crash recovery in the log:\n{log}"
    );
    assert_eq!(
        cluster
            .psql("postgres", "SELECT count(*) FROM before_crash")
            .unwrap()
            .trim(),
        "0"
    );
}

#[test]
fn settings_and_urls() {
    let cluster = Cluster::builder()
        .setting("work_mem", "7MB")
        .setting("application_name", "it's quoted")
        .start()
        .unwrap();
    assert_eq!(
        cluster.psql("postgres", "SHOW work_mem").unwrap().trim(),
        "7MB"
    );
    assert_eq!(
        cluster.psql("postgres", "SHOW fsync").unwrap().trim(),
        "off"
    );
    assert_eq!(
        cluster
            .psql("postgres", "SHOW max_connections")
            .unwrap()
            .trim(),
        "200"
    );
    assert_eq!(
        cluster.url("db"),
        format!("postgresql://postgres@127.0.0.1:{}/db", cluster.port())
    );
    for url in [cluster.url("postgres"), cluster.unix_url("postgres")] {
        assert_eq!(
            tusk_testkit::psql_conninfo(&url, "SELECT 1")
                .unwrap()
                .trim(),
            "1"
        );
    }
    assert!(Cluster::builder().setting("a\nb", "x").start().is_err());
    assert!(matches!(
        cluster.client_cert("x"),
        Err(Error::TlsNotEnabled)
    ));
}

#[test]
fn custom_hba_replaces_the_default() {
    let cluster = Cluster::builder()
        .hba(&[
            "local all postgres trust",
            "host all all 127.0.0.1/32 reject",
        ])
        .start()
        .unwrap();
    assert_eq!(cluster.psql("postgres", "SELECT 1").unwrap().trim(), "1");
    let err = tusk_testkit::psql_conninfo(&cluster.url("postgres"), "SELECT 1").unwrap_err();
    assert!(err.to_string().contains("rejects connection"), "{err}");
}

#[test]
fn drop_removes_the_directory() {
    let cluster = Cluster::start().unwrap();
    let data = cluster.data_dir().to_owned();
    assert!(data.join("PG_VERSION").exists());
    drop(cluster);
    assert!(!data.exists());
}

#[test]
fn persistent_data_dir_survives_drop() {
    let dir = std::env::temp_dir().join(format!("tusk-persist-{}", std::process::id()));
    let dir = if dir.starts_with("/root") {
        PathBuf::from("/tmp").join(dir.file_name().unwrap())
    } else {
        dir
    };
    let cluster = Cluster::builder().data_dir(dir.clone()).start().unwrap();
    assert!(cluster.is_persistent());
    assert_eq!(cluster.data_dir(), dir);
    cluster
        .psql("postgres", "CREATE TABLE lasting (v int)")
        .unwrap();
    drop(cluster);
    assert!(dir.join("PG_VERSION").exists());

    let again = Cluster::builder().data_dir(dir.clone()).start().unwrap();
    assert_eq!(
        again
            .psql("postgres", "SELECT count(*) FROM lasting")
            .unwrap()
            .trim(),
        "0"
    );
    drop(again);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Run as a child process by `watchdog_cleans_up_after_sigkill` (with
/// `TUSK_TESTKIT_WATCHDOG_HELPER` set): starts a cluster, prints its
/// directory, and waits to be killed. In a plain test run it returns at once.
#[test]
fn watchdog_helper() {
    if std::env::var_os("TUSK_TESTKIT_WATCHDOG_HELPER").is_none() {
        return;
    }
    let cluster = Cluster::start().unwrap();
    println!("DATA {}", cluster.data_dir().display());
    println!("PORT {}", cluster.port());
    sleep(Duration::from_secs(120));
}

#[test]
fn watchdog_cleans_up_after_sigkill() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "lifecycle::watchdog_helper", "--nocapture"])
        .env("TUSK_TESTKIT_WATCHDOG_HELPER", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut data = None;
    let mut port = None;
    while data.is_none() || port.is_none() {
        let line = lines.next().expect("helper ended early").unwrap();
        if let Some(rest) = line.strip_prefix("DATA ") {
            data = Some(PathBuf::from(rest));
        }
        if let Some(rest) = line.strip_prefix("PORT ") {
            port = Some(rest.parse::<u16>().unwrap());
        }
    }
    let (data, port) = (data.unwrap(), port.unwrap());
    assert!(data.join("PG_VERSION").exists());
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    assert!(
        eventually(20, || !data.exists()),
        "the watchdog did not remove {}",
        data.display()
    );
    assert!(eventually(20, || std::net::TcpStream::connect((
        "127.0.0.1",
        port
    ))
    .is_err()));
}
