//! A database per test, concurrently, and the backend helpers.

use std::process::{Command, Stdio};

use tusk_testkit::Cluster;

use crate::lifecycle::eventually;

#[test]
fn databases_are_isolated_and_dropped() {
    let cluster = Cluster::shared();
    let a = cluster.database().unwrap();
    let b = cluster.database().unwrap();
    assert_ne!(a.name(), b.name());
    a.psql("CREATE TABLE only_in_a (v int)").unwrap();
    assert_eq!(
        a.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'")
            .unwrap()
            .trim(),
        "1"
    );
    assert_eq!(
        b.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'")
            .unwrap()
            .trim(),
        "0"
    );
    assert!(a
        .url()
        .ends_with(&format!(":{}/{}", cluster.port(), a.name())));
    assert_eq!(
        tusk_testkit::psql_conninfo(&b.unix_url(), "SELECT current_database()")
            .unwrap()
            .trim(),
        b.name()
    );

    let name = a.name().to_owned();
    drop(a);
    let exists = format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'");
    assert_eq!(cluster.psql("postgres", &exists).unwrap().trim(), "0");
}

#[test]
fn databases_from_many_threads() {
    let cluster = Cluster::shared();
    let names: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                scope.spawn(move || {
                    let db = cluster.database().unwrap();
                    db.psql(&format!("CREATE TABLE t AS SELECT {i} AS v"))
                        .unwrap();
                    assert_eq!(db.psql("SELECT v FROM t").unwrap().trim(), i.to_string());
                    db.name().to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
}

#[test]
fn database_from_a_prepared_template() {
    let cluster = Cluster::shared();
    let template = cluster.database().unwrap();
    template
        .psql("CREATE TABLE migrated (v int); INSERT INTO migrated VALUES (42)")
        .unwrap();
    let copy = cluster.database_from(template.name()).unwrap();
    assert_eq!(copy.psql("SELECT v FROM migrated").unwrap().trim(), "42");
}

#[test]
fn backend_count_and_terminate() {
    let cluster = Cluster::shared();
    let db = cluster.database().unwrap();
    assert_eq!(cluster.backend_count(db.name()).unwrap(), 0);
    let sleeper = Command::new("psql")
        .args(["-X", "-q", "-c", "SELECT pg_sleep(60)", &db.url()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(eventually(20, || cluster.backend_count(db.name()).unwrap() == 1));
    assert_eq!(cluster.terminate_backends(db.name()).unwrap(), 1);
    let out = sleeper.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("terminat"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(cluster.backend_count(db.name()).unwrap(), 0);
}
