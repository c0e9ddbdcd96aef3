//! The fault-injecting proxy, driven by psql and by a raw wire client.

use std::io::{ErrorKind, Read};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use tusk_testkit::{psql_conninfo, Cluster, Proxy};

use crate::lifecycle::eventually;
use crate::wire;

fn proxy() -> Proxy {
    let upstream: SocketAddr = ([127, 0, 0, 1], Cluster::shared().port()).into();
    Proxy::start(upstream).unwrap()
}

fn conninfo(proxy: &Proxy) -> String {
    format!(
        "host=127.0.0.1 port={} dbname=postgres user=postgres sslmode=disable connect_timeout=2",
        proxy.port()
    )
}

#[test]
fn forwards_psql_with_delay() {
    let proxy = proxy();
    assert_eq!(
        psql_conninfo(&proxy.url("postgres"), "SELECT 1")
            .unwrap()
            .trim(),
        "1"
    );
    proxy.set_delay(Duration::from_millis(20));
    assert_eq!(
        psql_conninfo(&conninfo(&proxy), "SELECT 2").unwrap().trim(),
        "2"
    );
    assert!(eventually(10, || proxy.connection_count() == 0));
}

#[test]
fn sever_makes_psql_fail() {
    let proxy = proxy();
    let psql = Command::new("psql")
        .args(["-X", "-c", "SELECT pg_sleep(30)", &conninfo(&proxy)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(eventually(10, || proxy.connection_count() == 1));
    proxy.sever();
    let out = psql.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("reset") || stderr.contains("closed") || stderr.contains("terminated"),
        "{stderr}"
    );
    // New connections work after a sever.
    assert_eq!(
        psql_conninfo(&conninfo(&proxy), "SELECT 1").unwrap().trim(),
        "1"
    );
}

#[test]
fn sever_sends_rst() {
    let proxy = proxy();
    let mut client = wire::connect(proxy.addr());
    proxy.sever();
    let mut buf = [0u8; 16];
    let err = client.read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}

#[test]
fn blackhole_times_out_new_connections() {
    let proxy = proxy();
    proxy.blackhole(true);
    let out = Command::new("timeout")
        .args(["5", "psql", "-X", "-c", "SELECT 1", &conninfo(&proxy)])
        .output()
        .unwrap();
    assert!(!out.status.success());
    proxy.blackhole(false);
    assert_eq!(
        psql_conninfo(&conninfo(&proxy), "SELECT 1").unwrap().trim(),
        "1"
    );
}

#[test]
fn blackhole_holds_an_open_connection_then_delivers() {
    let proxy = proxy();
    let mut client = wire::connect(proxy.addr());
    proxy.blackhole(true);
    wire::send_query(&mut client, "SELECT 1");
    client
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 1];
    let err = client.read(&mut buf).unwrap_err();
    // Neither data, nor EOF, nor a reset: the read just waits.
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    assert_eq!(proxy.connection_count(), 1);
    proxy.blackhole(false);
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let types = wire::read_until_ready(&mut client);
    assert_eq!(types, b"TDCZ");
}

#[test]
fn inject_and_corrupt() {
    let proxy = proxy();
    let mut client = wire::connect(proxy.addr());
    proxy.inject_to_client(b"hello");
    let mut buf = [0u8; 5];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");

    proxy.corrupt_next_server_chunk(|chunk| {
        chunk.truncate(1);
        chunk[0] = b'!';
    });
    wire::send_query(&mut client, "SELECT 1");
    let mut first = [0u8; 1];
    client.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"!");
}
