//! PgBouncer in front of the shared cluster.

use tusk_testkit::{psql_conninfo, Cluster, PgBouncer, PoolMode};

#[test]
fn transaction_mode_forwards_queries() {
    let cluster = Cluster::shared();
    let bouncer = PgBouncer::start(cluster, PoolMode::Transaction).unwrap();
    assert_eq!(
        psql_conninfo(&bouncer.url("postgres"), "SELECT 1")
            .unwrap()
            .trim(),
        "1"
    );
    // Any database of the cluster, and over PgBouncer's own unix socket.
    let db = cluster.database().unwrap();
    let unix = format!(
        "host={} port={} dbname={} user=postgres",
        bouncer.socket_dir().display(),
        bouncer.port(),
        db.name()
    );
    assert_eq!(
        psql_conninfo(&unix, "SELECT current_database()")
            .unwrap()
            .trim(),
        db.name()
    );
    let mode = bouncer.admin("SHOW CONFIG").unwrap();
    assert!(
        mode.lines().any(|l| l.starts_with("pool_mode|transaction")),
        "{mode}"
    );
    let dir = bouncer.socket_dir().to_owned();
    let port = bouncer.port();
    drop(bouncer);
    assert!(!dir.exists());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
