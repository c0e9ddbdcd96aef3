//! Authentication, TLS and connection options against the testkit's shared
//! cluster, which has TLS (a private CA; the server certificate names
//! `localhost`, 127.0.0.1 and ::1) and the auth matrix of `tusk_testkit::auth`.
//!
//! Connections are made with `connect_with(Config::parse(..))`, not
//! `connect`, so that no `PG*` variable of the caller's shell can change
//! what is tested; `passfile` points nowhere so that no `~/.pgpass` can
//! supply a password either.

use tusk::config::{Config, ConfigError};
use tusk::{Connection, Error, ErrorKind, Executor};
use tusk_testkit::auth::{
    CERT_USER, MD5_PASSWORD, MD5_USER, SCRAM_PASSWORD, SCRAM_USER, SSL_PASSWORD, SSL_USER,
    TRUST_USER,
};
use tusk_testkit::Cluster;

fn cluster() -> &'static Cluster {
    Cluster::shared()
}

/// The CA that signed the server certificate, quoted for a conninfo string.
fn ca() -> String {
    let path = cluster()
        .ca_cert_path()
        .expect("the shared cluster has TLS");
    format!("'{}'", path.display())
}

/// A `key=value` string for the shared cluster over TCP, plus `extra`.
fn tcp(extra: &str) -> String {
    format!(
        "host=127.0.0.1 port={} dbname=postgres passfile=/nonexistent/pgpass {extra}",
        cluster().port()
    )
}

async fn try_connect(conninfo: &str) -> Result<Connection, Error> {
    let config = Config::parse(conninfo).unwrap_or_else(|e| panic!("{conninfo}: {e}"));
    tusk::connect_with(&config).await
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

async fn current_user(c: &Connection) -> String {
    c.query_scalar("SELECT current_user::text", &[])
        .await
        .unwrap()
}

/// Whether this session's connection is encrypted, per the server.
async fn server_sees_tls(c: &Connection) -> bool {
    c.query_scalar(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        &[],
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn trust_user_needs_no_password() {
    let c = connect(&tcp(&format!("user={TRUST_USER}"))).await;
    assert_eq!(current_user(&c).await, TRUST_USER);
    let c = connect(&tcp(&format!("user={TRUST_USER} sslmode=disable"))).await;
    assert_eq!(current_user(&c).await, TRUST_USER);
    assert!(!server_sees_tls(&c).await);
}

#[tokio::test]
async fn md5_and_scram_with_the_right_password() {
    for (user, password) in [(MD5_USER, MD5_PASSWORD), (SCRAM_USER, SCRAM_PASSWORD)] {
        for ssl in ["disable", "prefer", "require"] {
            let c = connect(&tcp(&format!(
                "user={user} password={password} sslmode={ssl}"
            )))
            .await;
            assert_eq!(current_user(&c).await, user);
            assert_eq!(server_sees_tls(&c).await, ssl != "disable", "{user} {ssl}");
        }
    }
}

#[tokio::test]
async fn wrong_password_is_28p01() {
    for user in [MD5_USER, SCRAM_USER, SSL_USER] {
        for ssl in ["disable", "require"] {
            if user == SSL_USER && ssl == "disable" {
                continue;
            }
            let e = connect_err(&tcp(&format!("user={user} password=wrong sslmode={ssl}"))).await;
            assert_eq!(e.kind(), ErrorKind::Permission, "{user} {ssl}: {e}");
            assert_eq!(
                e.code().map(|c| c.code().to_string()).as_deref(),
                Some("28P01"),
                "{user} {ssl}: {e}"
            );
            assert!(e.to_string().contains(user), "{e}");
        }
    }
}

#[tokio::test]
async fn missing_password_is_a_permission_error() {
    for user in [MD5_USER, SCRAM_USER] {
        let e = connect_err(&tcp(&format!("user={user}"))).await;
        assert_eq!(e.kind(), ErrorKind::Permission, "{user}: {e}");
        assert!(e.code().is_none(), "tusk, not the server, refuses: {e}");
        assert!(e.to_string().contains("password"), "{e}");
    }
}

#[tokio::test]
async fn verify_full_with_the_cluster_ca() {
    for host in ["localhost", "127.0.0.1"] {
        let c = connect(&format!(
            "host={host} port={} dbname=postgres user={SSL_USER} password={SSL_PASSWORD} \
             sslmode=verify-full sslrootcert={}",
            cluster().port(),
            ca()
        ))
        .await;
        assert_eq!(current_user(&c).await, SSL_USER);
        let (ssl, version): (bool, String) = {
            let row = c
                .query_one(
                    "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await
                .unwrap();
            (row.get(0usize), row.get(1usize))
        };
        assert!(ssl);
        assert!(version.starts_with("TLSv1."), "{version}");
    }
}

#[tokio::test]
async fn verify_full_refuses_a_host_name_the_certificate_does_not_name() {
    // The server's certificate names localhost, 127.0.0.1 and ::1; reach the
    // same server under another name with hostaddr.
    let wrong = format!(
        "host=wrong-name.test hostaddr=127.0.0.1 user={SSL_USER} password={SSL_PASSWORD} sslrootcert={}",
        ca()
    );
    let e = connect_err(&tcp(&format!("{wrong} sslmode=verify-full"))).await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("TLS handshake"), "{msg}");
    assert!(msg.to_lowercase().contains("certificate"), "{msg}");
    // verify-ca checks the chain only, so the name does not matter.
    let c = connect(&tcp(&format!("{wrong} sslmode=verify-ca"))).await;
    assert_eq!(current_user(&c).await, SSL_USER);
}

#[tokio::test]
async fn verify_full_without_the_ca_fails() {
    // No sslrootcert: the cluster's private CA is in no trust store.
    let e = connect_err(&tcp(&format!(
        "host=localhost user={SSL_USER} password={SSL_PASSWORD} sslmode=verify-full"
    )))
    .await;
    assert!(
        matches!(e.kind(), ErrorKind::Connection | ErrorKind::Configuration),
        "{e}"
    );
    let msg = e.to_string().to_lowercase();
    assert!(
        msg.contains("certificate") || msg.contains("issuer"),
        "{msg}"
    );
    // A root certificate file that does not exist is a configuration error naming it.
    let e = connect_err(&tcp(&format!(
        "host=localhost user={SSL_USER} password={SSL_PASSWORD} sslmode=verify-full \
         sslrootcert=/nonexistent/root.crt"
    )))
    .await;
    assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
    assert!(e.to_string().contains("/nonexistent/root.crt"), "{e}");
}

#[tokio::test]
async fn require_encrypts_without_verifying() {
    let c = connect(&tcp(&format!(
        "user={SSL_USER} password={SSL_PASSWORD} sslmode=require"
    )))
    .await;
    assert_eq!(current_user(&c).await, SSL_USER);
    assert!(server_sees_tls(&c).await);
    // The default, prefer, also encrypts when the server offers TLS.
    let c = connect(&tcp(&format!(
        "user={SCRAM_USER} password={SCRAM_PASSWORD}"
    )))
    .await;
    assert!(server_sees_tls(&c).await);
}

#[tokio::test]
async fn scram_plus_binds_the_tls_channel() {
    // channel_binding=require succeeds only with SCRAM-SHA-256-PLUS, whose
    // binding data (the server certificate's hash) the server checks.
    for user_pw in [
        format!("user={SSL_USER} password={SSL_PASSWORD}"),
        format!("user={SCRAM_USER} password={SCRAM_PASSWORD}"),
    ] {
        let c = connect(&tcp(&format!(
            "{user_pw} sslmode=require channel_binding=require"
        )))
        .await;
        assert!(server_sees_tls(&c).await);
        let c = connect(&format!(
            "host=localhost port={} dbname=postgres {user_pw} sslmode=verify-full \
             sslrootcert={} channel_binding=require",
            cluster().port(),
            ca()
        ))
        .await;
        assert!(server_sees_tls(&c).await);
    }
    // Without TLS there is nothing to bind to.
    let e = connect_err(&tcp(&format!(
        "user={SCRAM_USER} password={SCRAM_PASSWORD} sslmode=disable channel_binding=require"
    )))
    .await;
    assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
    assert!(e.to_string().contains("channel_binding"), "{e}");
    // Nor with methods that are not SCRAM, even over TLS.
    for user_pw in [
        format!("user={MD5_USER} password={MD5_PASSWORD}"),
        format!("user={TRUST_USER}"),
    ] {
        let e = connect_err(&tcp(&format!(
            "{user_pw} sslmode=require channel_binding=require"
        )))
        .await;
        assert_eq!(e.kind(), ErrorKind::Permission, "{user_pw}: {e}");
    }
}

/// With `channel_binding=disable` over TLS, libpq answers SCRAM with the
/// GS2 flag `n` (no binding). tusk sends `y` ("the client supports binding
/// but thinks the server does not"), and a server that offered
/// SCRAM-SHA-256-PLUS rightly refuses that as a downgrade: 28000 "SCRAM
/// channel binding negotiation error".
#[tokio::test]
async fn channel_binding_disable_over_tls() {
    for user_pw in [
        format!("user={SSL_USER} password={SSL_PASSWORD}"),
        format!("user={SCRAM_USER} password={SCRAM_PASSWORD}"),
    ] {
        let c = connect(&tcp(&format!(
            "{user_pw} sslmode=require channel_binding=disable"
        )))
        .await;
        assert!(server_sees_tls(&c).await);
    }
}

/// `require_auth` is parsed and documented, and libpq refuses a server
/// that authenticates with a method not listed; tusk logs in anyway.
#[tokio::test]
async fn require_auth_refuses_other_methods() {
    let md5 = format!("user={MD5_USER} password={MD5_PASSWORD}");
    let scram = format!("user={SCRAM_USER} password={SCRAM_PASSWORD}");
    connect(&tcp(&format!("{scram} require_auth=scram-sha-256"))).await;
    connect(&tcp(&format!("{md5} require_auth=md5"))).await;
    for refused in [
        format!("{md5} require_auth=scram-sha-256"),
        format!("{md5} require_auth=!md5"),
        format!("{scram} require_auth=md5,password"),
        format!("user={TRUST_USER} require_auth=scram-sha-256"),
    ] {
        let e = connect_err(&tcp(&refused)).await;
        assert_eq!(e.kind(), ErrorKind::Permission, "{refused}: {e}");
    }
}

/// `requirepeer` names the OS user the unix-socket server must run as
/// (`postgres` here); libpq refuses any other, tusk ignores the option.
#[tokio::test]
async fn requirepeer_checks_the_server_user() {
    let dir = cluster().socket_dir().display().to_string();
    let port = cluster().port();
    let base = format!("host='{dir}' port={port} dbname=postgres user=postgres");
    connect(&format!("{base} requirepeer=postgres")).await;
    let e = connect_err(&format!("{base} requirepeer=not_the_server_user")).await;
    assert!(e.to_string().contains("requirepeer"), "{e}");
}

/// libpq's `sslmode=allow` tries without TLS first and, when the server
/// refuses that, again with TLS: a `hostssl`-only role still logs in.
#[tokio::test]
async fn allow_retries_with_tls_when_the_server_insists() {
    let c = connect(&tcp(&format!(
        "user={SSL_USER} password={SSL_PASSWORD} sslmode=allow"
    )))
    .await;
    assert!(server_sees_tls(&c).await);
    // Where plain text is accepted, allow stays plain.
    let c = connect(&tcp(&format!(
        "user={SCRAM_USER} password={SCRAM_PASSWORD} sslmode=allow"
    )))
    .await;
    assert!(!server_sees_tls(&c).await);
}

/// libpq: "if a root CA file exists, sslmode=require behaves like
/// verify-ca". Given a root file that did not sign the server certificate
/// (here a client certificate), require must fail; with the right CA it works.
#[tokio::test]
async fn require_with_a_root_certificate_verifies_the_chain() {
    let user_pw = format!("user={SSL_USER} password={SSL_PASSWORD}");
    connect(&tcp(&format!(
        "{user_pw} sslmode=require sslrootcert={}",
        ca()
    )))
    .await;
    let (not_a_ca, _) = cluster().client_cert("not_a_ca").unwrap();
    let e = connect_err(&tcp(&format!(
        "{user_pw} sslmode=require sslrootcert='{}'",
        not_a_ca.display()
    )))
    .await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
}

#[tokio::test]
async fn client_certificate_logs_in_cert_user() {
    let (cert, key) = cluster().client_cert(CERT_USER).unwrap();
    let files = format!("sslcert='{}' sslkey='{}'", cert.display(), key.display());
    for tls in [
        format!("host=localhost sslmode=verify-full sslrootcert={}", ca()),
        "sslmode=require".to_string(),
    ] {
        let c = connect(&tcp(&format!("user={CERT_USER} {tls} {files}"))).await;
        assert_eq!(current_user(&c).await, CERT_USER);
        let dn: String = c
            .query_scalar(
                "SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(dn, format!("/CN={CERT_USER}"));
    }
    // Without a certificate the server refuses.
    let e = connect_err(&tcp(&format!("user={CERT_USER} sslmode=require"))).await;
    assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
    assert_eq!(e.code().unwrap().code(), "28000", "{e}");
    // A certificate for another name does not log in cert_user.
    let (other_cert, other_key) = cluster().client_cert("someone_else").unwrap();
    let e = connect_err(&tcp(&format!(
        "user={CERT_USER} sslmode=require sslcert='{}' sslkey='{}'",
        other_cert.display(),
        other_key.display()
    )))
    .await;
    assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
    // A certificate without its key is a configuration error.
    let e = connect_err(&tcp(&format!(
        "user={CERT_USER} sslmode=require sslcert='{}'",
        cert.display()
    )))
    .await;
    assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
}

#[tokio::test]
async fn hostssl_roles_cannot_log_in_without_tls() {
    for user_pw in [
        format!("user={SSL_USER} password={SSL_PASSWORD}"),
        format!("user={CERT_USER}"),
    ] {
        let e = connect_err(&tcp(&format!("{user_pw} sslmode=disable"))).await;
        assert_eq!(e.kind(), ErrorKind::Permission, "{user_pw}: {e}");
        assert_eq!(e.code().unwrap().code(), "28000", "{e}");
        assert!(e.to_string().contains("pg_hba.conf"), "{e}");
    }
}

#[tokio::test]
async fn unix_socket_connections() {
    let c = connect(&cluster().unix_url("postgres")).await;
    let addr: Option<String> = c
        .query_scalar("SELECT inet_client_addr()::text", &[])
        .await
        .unwrap();
    assert_eq!(addr, None, "a unix socket has no client address");
    let dir = cluster().socket_dir().display().to_string();
    let port = cluster().port();
    // Passwords work there too; sslmode does not apply to a socket.
    for (user, password) in [(MD5_USER, MD5_PASSWORD), (SCRAM_USER, SCRAM_PASSWORD)] {
        let c = connect(&format!(
            "host='{dir}' port={port} dbname=postgres user={user} password={password} sslmode=require"
        ))
        .await;
        assert_eq!(current_user(&c).await, user);
        assert!(!server_sees_tls(&c).await);
    }
    let e = connect_err(&format!(
        "host='{dir}' port={port} dbname=postgres user={SCRAM_USER} password=wrong"
    ))
    .await;
    assert_eq!(e.code().unwrap().code(), "28P01", "{e}");
}

/// The `ConfigError` behind a configuration error.
fn config_error(e: &Error) -> &ConfigError {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<ConfigError>())
        .unwrap_or_else(|| panic!("no ConfigError behind {e:?}"))
}

#[tokio::test]
async fn a_bad_connection_string_names_the_key() {
    let port = cluster().port();
    for (conninfo, key) in [
        ("host=127.0.0.1 port=abc".to_string(), "port"),
        (format!("host=127.0.0.1 port={port} colour=blue"), "colour"),
        (
            format!("host=127.0.0.1 port={port} sslmode=sometimes"),
            "sslmode",
        ),
        (
            format!("postgresql://postgres@127.0.0.1:{port}/postgres?connect_timeout=soon"),
            "connect_timeout",
        ),
        (
            format!("host=127.0.0.1 port={port} dbname='unterminated"),
            "dbname",
        ),
    ] {
        let e = tusk::connect(&conninfo).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Configuration, "{conninfo}: {e}");
        assert!(e.to_string().contains(key), "{conninfo}: {e}");
        assert_eq!(config_error(&e).key(), Some(key), "{conninfo}: {e}");
    }
}

#[tokio::test]
async fn application_name_and_options_take_effect() {
    let c = connect(&tcp(
        "user=postgres application_name=tusk_auth_test options='-c search_path=foo -c statement_timeout=1234'",
    ))
    .await;
    let row = c
        .query_one(
            "SELECT current_setting('application_name'), current_setting('search_path'), \
             current_setting('statement_timeout'), \
             (SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid())",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<&str>(0usize), "tusk_auth_test");
    assert_eq!(row.get::<&str>(1usize), "foo");
    assert_eq!(row.get::<&str>(2usize), "1234ms");
    assert_eq!(row.get::<&str>(3usize), "tusk_auth_test");
    assert_eq!(
        c.parameter("application_name").as_deref(),
        Some("tusk_auth_test")
    );
    // The same through a URL, percent-encoded.
    let c = connect(&format!(
        "postgresql://postgres@127.0.0.1:{}/postgres?application_name=from%20url&options=-c%20search_path%3Dbar",
        cluster().port()
    ))
    .await;
    let (app, path): (String, String) = {
        let row = c
            .query_one(
                "SELECT current_setting('application_name'), current_setting('search_path')",
                &[],
            )
            .await
            .unwrap();
        (row.get(0usize), row.get(1usize))
    };
    assert_eq!(app, "from url");
    assert_eq!(path, "bar");
    // fallback_application_name applies only when application_name is unset.
    let c = connect(&tcp("user=postgres fallback_application_name=fallback")).await;
    assert_eq!(c.parameter("application_name").as_deref(), Some("fallback"));
}

/// A local TCP port with nothing listening on it.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_closed_first_host_falls_through_to_the_second() {
    let closed = closed_port();
    let port = cluster().port();
    let c = connect(&format!(
        "host=127.0.0.1,127.0.0.1 port={closed},{port} dbname=postgres user=postgres"
    ))
    .await;
    assert_eq!(current_user(&c).await, "postgres");
    let c = connect(&format!(
        "postgresql://postgres@127.0.0.1:{closed},127.0.0.1:{port}/postgres"
    ))
    .await;
    assert_eq!(current_user(&c).await, "postgres");
    // When every host fails, the error names each of them.
    let e = connect_err(&format!(
        "host=127.0.0.1,127.0.0.1 port={closed},{closed} dbname=postgres user=postgres"
    ))
    .await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(
        e.to_string().starts_with("could not connect to any host"),
        "{e}"
    );
    let msg = e.to_string();
    let per_host: Vec<&str> = msg.split("; ").collect();
    assert_eq!(per_host.len(), 2, "{msg}");
    let closed_addr = format!("127.0.0.1:{closed}");
    assert!(per_host.iter().all(|m| m.contains(&closed_addr)), "{msg}");
}

#[tokio::test]
async fn target_session_attrs_checks_read_only() {
    let read_only_on = "options='-c default_transaction_read_only=on'";
    // A primary with read-only off is not read-only...
    let e = connect_err(&tcp("user=postgres target_session_attrs=read-only")).await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    // ...but the same server is when its sessions default to read-only.
    let c = connect(&tcp(&format!(
        "user=postgres target_session_attrs=read-only {read_only_on}"
    )))
    .await;
    let ro: String = c
        .query_scalar("SELECT current_setting('transaction_read_only')", &[])
        .await
        .unwrap();
    assert_eq!(ro, "on");
    // read-write is the mirror image.
    connect(&tcp("user=postgres target_session_attrs=read-write")).await;
    let e = connect_err(&tcp(&format!(
        "user=postgres target_session_attrs=read-write {read_only_on}"
    )))
    .await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    // A primary is a primary whatever its read-only default; never a standby.
    connect(&tcp(&format!(
        "user=postgres target_session_attrs=primary {read_only_on}"
    )))
    .await;
    connect(&tcp("user=postgres target_session_attrs=prefer-standby")).await;
    let e = connect_err(&tcp("user=postgres target_session_attrs=standby")).await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
}
