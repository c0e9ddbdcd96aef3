//! `tusk doctor` through the built binary, against a real cluster.

mod common;

#[test]
fn doctor_reports_the_test_clusters_settings() {
    let db = tusk_testkit::db();
    let url = db.url();
    let (code, out, err) = common::binary(&["doctor", "--url", &url], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("PostgreSQL 1"), "{out}");
    // The shared test cluster has TLS, which sslmode=prefer takes.
    assert!(out.contains("\nTLS: TLSv1.3 "), "{out}");
    assert!(
        out.contains("pool: max_size 10 x 1 instance(s); server: max_connections 200"),
        "{out}"
    );
    assert!(
        out.contains("warn  [statement-timeout] statement_timeout = 0 (none)"),
        "{out}"
    );
    assert!(
        out.contains("ALTER ROLE postgres SET statement_timeout = '30s'"),
        "{out}"
    );
    assert!(
        out.contains("info  [shared-buffers-default] shared_buffers = 128MB"),
        "{out}"
    );
    assert!(
        !out.contains("[tls-unverified]"),
        "loopback needs no verification: {out}"
    );

    // Without TLS (sslmode=disable), locally: said, not a finding.
    let plain = format!("{url}?sslmode=disable");
    let (code, out, err) = common::binary(&["doctor", "--url", &plain], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\nTLS: off (local connection)"), "{out}");
    assert!(!out.contains("[tls-off]"), "{out}");

    // Set for the session, the timeouts are no longer findings.
    let tuned = format!(
        "{url}?options=-c%20statement_timeout%3D30s%20-c%20idle_in_transaction_session_timeout%3D1min"
    );
    let (code, out, err) = common::binary(&["doctor", "--url", &tuned], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("statement-timeout"), "{out}");
    assert!(!out.contains("idle-in-transaction-timeout"), "{out}");
}

#[test]
fn doctor_fails_pools_the_server_cannot_hold_and_speaks_json() {
    let db = tusk_testkit::db();
    let url = db.url();
    let (code, out, err) = common::binary(
        &[
            "doctor",
            "--json",
            "--pool-size",
            "150",
            "--instances",
            "2",
            "--url",
            &url,
        ],
        &[],
    );
    assert_eq!(code, 3, "{err}");
    assert_eq!(out.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["server"]["version_num"].as_u64().unwrap() >= 150_000);
    assert_eq!(v["client"]["pool_max_size"], 150);
    assert_eq!(v["client"]["local"], true);
    let first = &v["findings"][0];
    assert_eq!(first["id"], "pool-exceeds-connections");
    assert_eq!(first["severity"], "error");
    assert!(
        first["why"]
            .as_str()
            .unwrap()
            .contains("open 300 connections"),
        "{first}"
    );
    assert!(
        first["fix"].as_str().unwrap().contains("PgBouncer"),
        "{first}"
    );
}

#[test]
fn doctor_reads_a_pool_configuration_file_and_reports_its_corrections() {
    let db = tusk_testkit::db();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("pool.toml");
    std::fs::write(&good, "[pool]\nmax_size = 0\n").unwrap();
    let (code, out, err) = common::binary(
        &[
            "doctor",
            "--pool-config",
            good.to_str().unwrap(),
            "--url",
            &db.url(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("[pool-config] pool = max_size = 0: allows no connection at all"),
        "{out}"
    );
    assert!(out.contains("pool: max_size 1 x 1"), "{out}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[pool]\nmax_size = \"many\"\n").unwrap();
    let (code, _, err) = common::binary(
        &[
            "doctor",
            "--pool-config",
            bad.to_str().unwrap(),
            "--url",
            &db.url(),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.starts_with("tusk: "), "{err}");
    assert!(err.contains("max_size"), "{err}");
}

// ---- review (issue 16) ----

#[test]
fn doctor_as_a_role_without_privileges_says_what_it_could_not_see() {
    // A cluster of its own: the shared one admits only its superuser.
    let cluster = tusk_testkit::Cluster::start().unwrap();
    let role = "doctor_plain";
    cluster
        .psql("postgres", &format!("CREATE ROLE {role} LOGIN"))
        .unwrap();
    let plain = format!(
        "postgresql://{role}@127.0.0.1:{}/postgres?sslmode=disable",
        cluster.port()
    );
    let (code, out, err) = common::binary(&["doctor", "--url", &plain], &[]);
    assert!(code == 0 || code == 3, "exit {code}: {out} {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.contains(&format!("user {role}")), "{out}");
    // What a plain role cannot read is said, not reported as all clear.
    assert!(out.contains("pg_authid"), "{out}");
    assert!(out.contains("pg_read_all_stats"), "{out}");
    let (code, out, err) = common::binary(&["doctor", "--json", "--url", &plain], &[]);
    assert!(code == 0 || code == 3, "exit {code}: {out} {err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["server"]["user"], role);
    assert!(report["server"]["md5_roles"].is_null(), "{report}");
}
