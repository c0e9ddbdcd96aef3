//! TLS options applied, not only parsed: `sslcrl`/`sslcrldir`,
//! `sslcertmode`, `ssl_min_protocol_version`/`ssl_max_protocol_version`
//! and `sslnegotiation=direct`, against the testkit's shared TLS cluster
//! (PostgreSQL 15: it requests client certificates, as its `ssl_ca_file`
//! is set, and knows nothing of direct TLS negotiation).

use std::time::Duration;
use tusk::config::Config;
use tusk::{Connection, Error, ErrorKind, Executor};
use tusk_testkit::auth::{CERT_USER, SSL_PASSWORD, SSL_USER};
use tusk_testkit::Cluster;

fn cluster() -> &'static Cluster {
    Cluster::shared()
}

fn tcp(extra: &str) -> String {
    format!(
        "host=localhost hostaddr=127.0.0.1 port={} dbname=postgres passfile=/nonexistent/pgpass {extra}",
        cluster().port()
    )
}

fn verified(extra: &str) -> String {
    let ca = cluster()
        .ca_cert_path()
        .expect("the shared cluster has TLS");
    tcp(&format!(
        "user={SSL_USER} password={SSL_PASSWORD} sslmode=verify-full sslrootcert='{}' {extra}",
        ca.display()
    ))
}

async fn try_connect(conninfo: &str) -> Result<Connection, Error> {
    let config = Config::parse(conninfo).unwrap_or_else(|e| panic!("{conninfo}: {e}"));
    tokio::time::timeout(Duration::from_secs(20), tusk::connect_with(&config))
        .await
        .unwrap_or_else(|_| panic!("{conninfo}: connecting hung"))
}

async fn connect(conninfo: &str) -> Connection {
    try_connect(conninfo)
        .await
        .unwrap_or_else(|e| panic!("{conninfo}: {e}"))
}

async fn connect_err(conninfo: &str) -> Error {
    match try_connect(conninfo).await {
        Ok(_) => panic!("{conninfo}: connected, but should have failed"),
        Err(e) => e,
    }
}

async fn tls_version(c: &Connection) -> String {
    c.query_scalar(
        "SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        &[],
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn protocol_versions_bound_the_handshake() {
    let c = connect(&verified("ssl_min_protocol_version=TLSv1.3")).await;
    assert_eq!(tls_version(&c).await, "TLSv1.3");
    let c = connect(&verified("ssl_max_protocol_version=TLSv1.2")).await;
    assert_eq!(tls_version(&c).await, "TLSv1.2");
    let c = connect(&verified(
        "ssl_min_protocol_version=TLSv1 ssl_max_protocol_version=TLSv1.2",
    ))
    .await;
    assert_eq!(tls_version(&c).await, "TLSv1.2");
    // Nothing rustls speaks is in the range: a configuration error, at once.
    let e = connect_err(&verified("ssl_max_protocol_version=TLSv1.1")).await;
    assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
    assert!(e.to_string().contains("TLSv1.2 and TLSv1.3"), "{e}");
}

#[tokio::test]
async fn a_crl_that_revokes_the_server_certificate_refuses_it() {
    let revoked = cluster().crl(true).unwrap();
    let clean = cluster().crl(false).unwrap();
    let e = connect_err(&verified(&format!("sslcrl='{}'", revoked.display()))).await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    let chain = format!("{e} {:?}", std::error::Error::source(&e));
    assert!(chain.to_lowercase().contains("revoked"), "{chain}");
    let c = connect(&verified(&format!("sslcrl='{}'", clean.display()))).await;
    assert!(tls_version(&c).await.starts_with("TLS"));
    // verify-ca checks revocation too.
    let e = connect_err(&verified(&format!(
        "sslmode=verify-ca sslcrl='{}'",
        revoked.display()
    )))
    .await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    // A directory of CRLs.
    let dir = std::env::temp_dir().join(format!("tusk-crldir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&revoked, dir.join("revoked.pem")).unwrap();
    let e = connect_err(&verified(&format!("sslcrldir='{}'", dir.display()))).await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    std::fs::remove_file(dir.join("revoked.pem")).unwrap();
    std::fs::copy(&clean, dir.join("clean.pem")).unwrap();
    connect(&verified(&format!("sslcrldir='{}'", dir.display()))).await;
    let _ = std::fs::remove_dir_all(&dir);
    // A CRL file that is not one is a configuration error.
    let e = connect_err(&verified("sslcrl=/nonexistent/crl.pem")).await;
    assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
}

#[tokio::test]
async fn sslcertmode_is_applied() {
    let (cert, key) = cluster().client_cert(CERT_USER).unwrap();
    let files = format!("sslcert='{}' sslkey='{}'", cert.display(), key.display());
    let user = format!("user={CERT_USER} sslmode=require {files}");
    // allow (the default) and require send it: the server asks.
    for mode in ["allow", "require"] {
        let c = connect(&tcp(&format!("{user} sslcertmode={mode}"))).await;
        let who: String = c
            .query_scalar("SELECT current_user::text", &[])
            .await
            .unwrap();
        assert_eq!(who, CERT_USER);
    }
    // disable never sends it, so certificate authentication fails.
    let e = connect_err(&tcp(&format!("{user} sslcertmode=disable"))).await;
    assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
    // require without a certificate to send.
    let e = connect_err(&tcp(&format!(
        "user={SSL_USER} password={SSL_PASSWORD} sslmode=require sslcertmode=require"
    )))
    .await;
    assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
    assert!(e.to_string().contains("sslcertmode=require"), "{e}");
}

/// PostgreSQL 15 does not know direct TLS negotiation (PostgreSQL 17): the
/// connection fails at once with an error that says so.
#[tokio::test]
async fn direct_negotiation_against_postgres_15_fails_clearly() {
    let e = connect_err(&verified("sslnegotiation=direct")).await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    let s = e.to_string();
    assert!(
        s.contains("sslnegotiation=direct") && s.contains("PostgreSQL 17"),
        "{s}"
    );
    // It needs TLS required: refused by the configuration itself.
    let e = Config::parse(&tcp("sslmode=prefer sslnegotiation=direct")).unwrap_err();
    assert!(e.to_string().contains("sslnegotiation"), "{e}");
    // The server is fine afterwards.
    connect(&verified("")).await;
}
