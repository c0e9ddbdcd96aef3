//! The authentication matrix and TLS, checked with real psql logins against
//! the shared cluster (which has both).

use std::process::Command;

use tusk_testkit::auth::*;
use tusk_testkit::{psql_conninfo, Cluster, PasswordEncryption};

fn tcp(user: &str, extra: &str) -> String {
    format!(
        "host=127.0.0.1 port={} dbname=postgres user={user} sslmode=disable {extra}",
        Cluster::shared().port()
    )
}

/// psql with PGPASSWORD in the environment, as a user would run it.
fn psql_with_pgpassword(conninfo: &str, password: &str) -> std::process::Output {
    Command::new("psql")
        .args(["-X", "-A", "-t", "-c", "SELECT current_user", conninfo])
        .env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .unwrap()
}

#[test]
fn md5_user_logs_in_with_md5() {
    let cluster = Cluster::shared();
    let stored = cluster
        .psql(
            "postgres",
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'md5_user'",
        )
        .unwrap();
    assert!(stored.starts_with("md5"), "{stored}");
    let ok = psql_with_pgpassword(&tcp(MD5_USER, ""), MD5_PASSWORD);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), MD5_USER);
    let bad = psql_with_pgpassword(&tcp(MD5_USER, ""), "wrong");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("password authentication failed"));
}

#[test]
fn scram_user_logs_in_with_scram() {
    let cluster = Cluster::shared();
    let stored = cluster
        .psql(
            "postgres",
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'scram_user'",
        )
        .unwrap();
    assert!(stored.starts_with("SCRAM-SHA-256$"), "{stored}");
    let ok = psql_with_pgpassword(&tcp(SCRAM_USER, ""), SCRAM_PASSWORD);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // Over the unix socket too.
    let socket = format!(
        "host={} port={} dbname=postgres user={SCRAM_USER} password={SCRAM_PASSWORD}",
        cluster.socket_dir().display(),
        cluster.port()
    );
    assert_eq!(psql_conninfo(&socket, "SELECT 1").unwrap().trim(), "1");
    let bad = psql_with_pgpassword(&tcp(SCRAM_USER, ""), "wrong");
    assert!(!bad.status.success());
}

#[test]
fn trust_user_needs_no_password() {
    assert_eq!(
        psql_conninfo(&tcp(TRUST_USER, ""), "SELECT current_user")
            .unwrap()
            .trim(),
        TRUST_USER
    );
}

#[test]
fn ssl_user_only_over_tls() {
    let plain = tcp(SSL_USER, &format!("password={SSL_PASSWORD}"));
    let err = psql_conninfo(&plain, "SELECT 1").unwrap_err();
    assert!(err.to_string().contains("no pg_hba.conf entry"), "{err}");
    let tls = plain.replace("sslmode=disable", "sslmode=require");
    assert_eq!(
        psql_conninfo(&tls, "SELECT current_user").unwrap().trim(),
        SSL_USER
    );
}

#[test]
fn tls_verify_full_against_the_ca() {
    let cluster = Cluster::shared();
    let ca = cluster.ca_cert_path().unwrap();
    let conninfo = format!(
        "host=localhost port={} dbname=postgres user=postgres sslmode=verify-full sslrootcert={}",
        cluster.port(),
        ca.display()
    );
    let ssl = psql_conninfo(
        &conninfo,
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .unwrap();
    assert_eq!(ssl.trim(), "t");
    // The certificate names 127.0.0.1 too.
    let by_ip = conninfo.replace("host=localhost", "host=127.0.0.1");
    assert_eq!(psql_conninfo(&by_ip, "SELECT 1").unwrap().trim(), "1");
}

#[test]
fn cert_user_logs_in_with_a_client_certificate() {
    let cluster = Cluster::shared();
    let (cert, key) = cluster.client_cert(CERT_USER).unwrap();
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let base = format!(
        "host=localhost port={} dbname=postgres user={CERT_USER} sslmode=verify-full sslrootcert={}",
        cluster.port(),
        cluster.ca_cert_path().unwrap().display()
    );
    let with_cert = format!("{base} sslcert={} sslkey={}", cert.display(), key.display());
    assert_eq!(
        psql_conninfo(&with_cert, "SELECT current_user")
            .unwrap()
            .trim(),
        CERT_USER
    );
    // A certificate for someone else does not log in as cert_user.
    let (other_cert, other_key) = cluster.client_cert("someone_else").unwrap();
    let wrong = format!(
        "{base} sslcert={} sslkey={}",
        other_cert.display(),
        other_key.display()
    );
    assert!(psql_conninfo(&wrong, "SELECT 1").is_err());
}

#[test]
fn create_user_with_each_encryption() {
    let cluster = Cluster::shared();
    cluster
        .create_user("made_md5", Some("pw1"), PasswordEncryption::Md5)
        .unwrap();
    cluster
        .create_user("made_scram", Some("pw2"), PasswordEncryption::Scram)
        .unwrap();
    // Again: updates rather than failing.
    cluster
        .create_user("made_scram", Some("pw3"), PasswordEncryption::Scram)
        .unwrap();
    let stored = cluster
        .psql(
            "postgres",
            "SELECT rolname, CASE WHEN rolpassword LIKE 'md5%' THEN 'md5' \
             WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram' END \
             FROM pg_authid WHERE rolname LIKE 'made_%' ORDER BY 1",
        )
        .unwrap();
    let lines: Vec<&str> = stored.lines().collect();
    assert_eq!(lines, ["made_md5|md5", "made_scram|scram"]);
}
