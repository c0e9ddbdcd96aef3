//! Helpers shared by tusk-lite's integration tests: sessions on tusk-lite
//! (over an in-process socket pair) and on PostgreSQL, through
//! tokio-postgres, so one scenario runs on both.
#![allow(dead_code)]

use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::{Client, Connection, NoTls};

/// A tokio-postgres session on `db` over a Unix socket pair, with its
/// connection not yet driven (the caller spawns it, or reads its
/// messages).
pub async fn lite_raw(
    db: &tusk_lite::Database,
) -> (Client, Connection<tokio::net::UnixStream, NoTlsStream>) {
    let (client, server) = std::os::unix::net::UnixStream::pair().expect("pair");
    db.serve_stream(server);
    client.set_nonblocking(true).expect("nonblocking");
    let stream = tokio::net::UnixStream::from_std(client).expect("tokio stream");
    let mut cfg = tokio_postgres::Config::new();
    cfg.user("tusk").dbname("tusk");
    cfg.connect_raw(stream, NoTls).await.expect("connect")
}

/// A session on `db`, its connection driven by a task of its own.
pub async fn lite_client(db: &tusk_lite::Database) -> Client {
    let (c, conn) = lite_raw(db).await;
    tokio::spawn(conn);
    c
}

/// A session on the PostgreSQL at `url`, its connection driven by a task
/// of its own.
pub async fn pg_client(url: &str) -> Client {
    let (c, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    c
}
