use std::time::Duration;
use tusk::{ErrorKind, Executor, Query};
use tusk_testkit::{Cluster, Proxy};

fn proxy_url(p: &Proxy, db: &str) -> String {
    format!(
        "postgresql://postgres@127.0.0.1:{}/{db}?sslmode=disable",
        p.port()
    )
}

#[tokio::test]
async fn terminated_backend_gives_a_connection_error() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let killer = crate::conn(&db).await;
    let pid = c.process_id();
    let (r, _) = tokio::join!(c.query("SELECT pg_sleep(30)", &[]), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        killer
            .query("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .unwrap();
    });
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(c.is_closed());
    let e = c.query("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
}

#[tokio::test]
async fn malformed_server_bytes_are_a_protocol_error() {
    let cluster = Cluster::shared();
    let db = cluster.database().unwrap();
    // One proxy per case, so that a fault meant for one connection cannot
    // land on another's traffic.
    let proxy = || Proxy::start(([127, 0, 0, 1], cluster.port()).into()).unwrap();

    // A DataRow with an absurd length, injected while idle.
    let p1 = proxy();
    let c = tusk::connect(&proxy_url(&p1, db.name())).await.unwrap();
    p1.inject_to_client(&[b'D', 0x7f, 0xff, 0xff, 0xff, 0, 1]);
    let e = c.query("SELECT 1", &[]).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Protocol), "{e}");
    drop(c);

    // A message length below 4 in the answer.
    let p2 = proxy();
    let c = tusk::connect(&proxy_url(&p2, db.name())).await.unwrap();
    p2.corrupt_next_server_chunk(|b| {
        if b.len() >= 5 {
            b[1..5].copy_from_slice(&1u32.to_be_bytes());
        }
    });
    let e = c.query("SELECT 'hello'", &[]).await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Connection),
        "{e}"
    );
    drop(c);

    // Truncated mid-message then severed: an error, not a hang.
    let p3 = proxy();
    let c = tusk::connect(&proxy_url(&p3, db.name())).await.unwrap();
    p3.corrupt_next_server_chunk(|b| b.truncate(3));
    let r = tokio::time::timeout(Duration::from_secs(2), c.query("SELECT 'x'", &[])).await;
    if let Ok(r) = r {
        let _ = r.unwrap_err();
    }
    p3.sever();
    let e = tokio::time::timeout(Duration::from_secs(10), c.query("SELECT 1", &[]))
        .await
        .expect("no hang")
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Connection),
        "{e}"
    );
}

#[tokio::test]
async fn black_holed_connection_times_out() {
    let cluster = Cluster::shared();
    let db = cluster.database().unwrap();
    let proxy = Proxy::start(([127, 0, 0, 1], cluster.port()).into()).unwrap();
    let c = tusk::connect(&proxy_url(&proxy, db.name())).await.unwrap();
    proxy.blackhole(true);
    let q = Query::new("SELECT 1").timeout(Duration::from_millis(300));
    let e = tokio::time::timeout(Duration::from_secs(30), c.query(q, &[]))
        .await
        .expect("no hang")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    // Connecting through the black hole times out too.
    let url = format!("{}&connect_timeout=1", proxy_url(&proxy, db.name()));
    let e = tokio::time::timeout(Duration::from_secs(30), tusk::connect(&url))
        .await
        .expect("no hang")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    proxy.blackhole(false);
}

#[tokio::test]
async fn server_restart_gives_typed_errors_then_reconnects() {
    let cluster = Cluster::builder().start().unwrap();
    let url = cluster.url("postgres");
    let c = tusk::connect(&url).await.unwrap();
    cluster.restart().unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), c.query("SELECT 1", &[]))
        .await
        .expect("no hang")
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Connection), "{e}");
    let c = tusk::connect(&url).await.unwrap();
    let v: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(v, 1);
    cluster.stop().unwrap();
    let e = tusk::connect(&url).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
}
