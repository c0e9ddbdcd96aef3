//! `tusk copy in|out` through the built binary, against a real cluster.

mod common;

use std::process::{Command, Stdio};

fn table(db: &tusk_testkit::TestDb) {
    db.psql(
        "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric, tags text[], at timestamptz)",
    )
    .unwrap();
}

fn count(db: &tusk_testkit::TestDb) -> String {
    db.psql("SELECT count(*) FROM items")
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn csv_in_from_a_file_then_out_to_stdout_round_trips() {
    let db = tusk_testkit::db();
    table(&db);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("items.csv");
    let data = "id,name,price,tags,at\n\
                1,\"comma, and \"\"quotes\"\"\",1.50,\"{a,b}\",2024-01-02 03:04:05+00\n\
                2,,0,{},\n\
                3,naïve ☃,-7.25,{x},2024-02-29 00:00:00+00\n";
    std::fs::write(&csv, data).unwrap();
    let url = db.url();
    let (code, out, err) = common::binary(
        &[
            "copy",
            "in",
            "items",
            "--format",
            "csv",
            "--header",
            "--file",
            csv.to_str().unwrap(),
            "--url",
            &url,
        ],
        &[("TZ", "UTC")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("COPY 3 rows ("), "{out}");
    assert!(
        !err.contains('\r'),
        "no progress line off a terminal: {err:?}"
    );
    assert_eq!(count(&db), "3");

    let (code, out, err) = common::binary(
        &[
            "copy",
            "out",
            "items",
            "--format",
            "csv",
            "--header",
            "--url",
            &format!("{url}?options=-c%20TimeZone%3DUTC"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, data);
    assert!(
        err.starts_with("COPY 3 rows"),
        "the summary goes to stderr: {err}"
    );
}

#[test]
fn binary_out_to_a_file_and_back_in() {
    let db = tusk_testkit::db();
    table(&db);
    db.psql("INSERT INTO items SELECT g, 'n' || g, g / 3.0, ARRAY['t' || g], now() FROM generate_series(1, 5000) g")
        .unwrap();
    let before = db
        .psql("SELECT md5(string_agg(i::text, ',' ORDER BY id)) FROM items i")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("items.bin");
    let url = db.url();
    let (code, out, err) = common::binary(
        &[
            "copy",
            "out",
            "items",
            "--format",
            "binary",
            "--file",
            file.to_str().unwrap(),
            "--json",
            "--url",
            &url,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["direction"], "out");
    assert_eq!(summary["rows"], 5000);
    assert_eq!(summary["bytes"], std::fs::metadata(&file).unwrap().len());
    db.psql("TRUNCATE items").unwrap();
    let (code, out, err) = common::binary(
        &[
            "copy",
            "in",
            "items",
            "--format",
            "binary",
            "-f",
            file.to_str().unwrap(),
            "--json",
            "--url",
            &url,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["rows"], 5000);
    let after = db
        .psql("SELECT md5(string_agg(i::text, ',' ORDER BY id)) FROM items i")
        .unwrap();
    assert_eq!(before, after);
}

#[test]
fn text_in_from_stdin_with_columns_and_a_query_out() {
    let db = tusk_testkit::db();
    table(&db);
    let (code, _, err) = common::binary_with_stdin(
        &[
            "copy",
            "in",
            "public.items",
            "--columns",
            "name,id",
            "--url",
            &db.url(),
        ],
        b"tab\\there\t1\n\\N\t2\n",
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = common::binary(
        &[
            "copy",
            "out",
            "--query",
            "SELECT id, name FROM items ORDER BY id;",
            "--null",
            "NULL",
            "--url",
            &db.url(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1\ttab\\there\n2\tNULL\n");
}

#[test]
fn a_bad_row_names_its_line_and_keeps_nothing() {
    let db = tusk_testkit::db();
    table(&db);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, "1,a\n2,b\nthree,c\n4,d\n").unwrap();
    let (code, _, err) = common::binary(
        &[
            "copy",
            "in",
            "items",
            "--columns",
            "id,name",
            "--format",
            "csv",
            "--file",
            csv.to_str().unwrap(),
            "--url",
            &db.url(),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.starts_with("tusk: "), "{err}");
    assert!(err.contains("three"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert_eq!(count(&db), "0");
}

#[test]
fn bad_input_gets_a_clear_error() {
    let db = tusk_testkit::db();
    table(&db);
    let url = db.url();
    // A file that is not there: nothing connects, nothing changes.
    let (code, _, err) = common::binary(
        &[
            "copy",
            "in",
            "items",
            "--file",
            "/nonexistent/x.csv",
            "--url",
            &url,
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.contains("opening /nonexistent/x.csv"), "{err}");
    // A table that is not there.
    let (code, _, err) = common::binary(&["copy", "out", "nope", "--url", &url], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("\"nope\" does not exist"), "{err}");
    // Options that do not fit the format.
    let (code, _, err) = common::binary(
        &[
            "copy", "out", "items", "--format", "binary", "--header", "--url", &url,
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.contains("do not apply to --format binary"), "{err}");
    // A query that is not a query.
    let (code, _, err) = common::binary(
        &["copy", "out", "--query", "DELETE FROM items", "--url", &url],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.starts_with("tusk: "), "{err}");
}

/// Runs `tusk ARGS` on a pseudo-terminal (util-linux `script`); returns
/// what the terminal showed (stdout and stderr together).
fn on_a_terminal(args: &[&str]) -> String {
    let mut command = String::from(env!("CARGO_BIN_EXE_tusk"));
    for a in args {
        command.push_str(&format!(" '{}'", a.replace('\'', "'\\''")));
    }
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("util-linux script");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_progress_line_shows_on_a_terminal_only_and_not_with_quiet() {
    let db = tusk_testkit::db();
    table(&db);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("many.csv");
    let rows: String = (1..=50_000).map(|i| format!("{i},name {i}\n")).collect();
    std::fs::write(&csv, rows).unwrap();
    let url = db.url();
    let file = csv.to_str().unwrap();
    let shown = on_a_terminal(&[
        "copy",
        "in",
        "items",
        "--columns",
        "id,name",
        "--format",
        "csv",
        "-f",
        file,
        "--url",
        &url,
    ]);
    assert!(
        shown.contains("\r\x1b[2K["),
        "a bar with a total: {shown:?}"
    );
    assert!(shown.contains("100%") || shown.contains("%  "), "{shown:?}");
    assert!(shown.contains("COPY 50000 rows"), "{shown:?}");
    db.psql("TRUNCATE items").unwrap();
    let quiet = on_a_terminal(&[
        "copy",
        "in",
        "items",
        "--columns",
        "id,name",
        "--format",
        "csv",
        "-f",
        file,
        "--quiet",
        "--url",
        &url,
    ]);
    assert!(!quiet.contains('\x1b'), "--quiet draws nothing: {quiet:?}");
    assert!(quiet.contains("COPY 50000 rows"), "{quiet:?}");
}

// ---- review (issue 16): hostile and unlucky users ----

#[test]
fn copy_out_to_a_file_leaves_an_existing_file_alone_when_it_fails() {
    let db = tusk_testkit::db();
    table(&db);
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("precious.csv");
    std::fs::write(&file, "precious data\n").unwrap();
    // A table that is not there: nothing is written.
    let (code, _, err) = common::binary(
        &[
            "copy",
            "out",
            "nope",
            "-f",
            file.to_str().unwrap(),
            "--url",
            &url,
        ],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("\"nope\" does not exist"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "precious data\n",
        "a failed copy out must not truncate the file"
    );
    // A query that fails after some rows were sent: nothing is written.
    let (code, _, err) = common::binary(
        &[
            "copy",
            "out",
            "--query",
            "SELECT 1 / (20000 - g) FROM generate_series(1, 30000) g",
            "-f",
            file.to_str().unwrap(),
            "--url",
            &url,
        ],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("division by zero"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious data\n");
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // A good copy replaces it.
    db.psql("INSERT INTO items (id, name) VALUES (1, 'a')")
        .unwrap();
    let (code, _, err) = common::binary(
        &[
            "copy",
            "out",
            "items",
            "--columns",
            "id,name",
            "-f",
            file.to_str().unwrap(),
            "--url",
            &url,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "1\ta\n");
}

#[test]
fn copy_out_never_writes_to_the_database() {
    let db = tusk_testkit::db();
    table(&db);
    db.psql("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b')")
        .unwrap();
    let url = db.url();
    for query in [
        "DELETE FROM items RETURNING *",
        "WITH d AS (DELETE FROM items RETURNING *) SELECT * FROM d",
        "INSERT INTO items (id) VALUES (3) RETURNING *",
        // An attempt to smuggle a second statement past the parentheses.
        "SELECT 1) TO STDOUT; DELETE FROM items; COPY (SELECT 1",
    ] {
        let (code, out, err) =
            common::binary(&["copy", "out", "--query", query, "--url", &url], &[]);
        assert_eq!(code, 1, "{query}: exit {code}, out {out:?}, err {err}");
        assert!(err.starts_with("tusk: "), "{query}: {err}");
        assert_eq!(count(&db), "2", "{query} changed the table");
    }
}

#[test]
fn hostile_names_are_quoted_not_run() {
    let db = tusk_testkit::db();
    db.psql("CREATE SCHEMA \"Odd Schema\"; CREATE TABLE \"Odd Schema\".\"we\"\"ird; t\" (\"a b\" int, \"c\"\"d\" text); CREATE TABLE victim (x int); INSERT INTO victim VALUES (1)")
        .unwrap();
    let url = db.url();
    let (code, out, err) = common::binary_with_stdin(
        &[
            "copy",
            "in",
            "Odd Schema.we\"ird; t",
            "--columns",
            "c\"d,a b",
            "--format",
            "csv",
            "--url",
            &url,
        ],
        b"x,1\ny,2\n",
    );
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(
        db.psql("SELECT string_agg(\"a b\" || '=' || \"c\"\"d\", ',' ORDER BY 1) FROM \"Odd Schema\".\"we\"\"ird; t\"")
            .unwrap()
            .trim(),
        "1=x,2=y"
    );
    // Injection attempts in the table and the columns reach the server as names.
    for args in [
        vec!["copy", "out", "victim; DROP TABLE victim; --"],
        vec![
            "copy",
            "out",
            "victim",
            "--columns",
            "x) TO STDOUT; DROP TABLE victim; --",
        ],
        vec![
            "copy",
            "out",
            "victim",
            "--delimiter",
            "'; DROP TABLE victim; --",
        ],
        vec![
            "copy",
            "out",
            "victim",
            "--null",
            "\\'; DROP TABLE victim; --",
        ],
    ] {
        let mut a = args.clone();
        a.extend_from_slice(&["--url", &url]);
        // (A --null string is any string: that one is legal, and harmless.)
        let (_, _, err) = common::binary(&a, &[]);
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            db.psql("SELECT count(*) FROM victim").unwrap().trim(),
            "1",
            "{args:?}"
        );
    }
}

#[test]
fn a_reader_that_goes_away_mid_copy_out_is_no_panic() {
    let db = tusk_testkit::db();
    let url = db.url();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args([
            "copy",
            "out",
            "--query",
            "SELECT g, repeat('x', 100) FROM generate_series(1, 2000000) g",
            "--url",
            &url,
        ])
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 4096];
    std::io::Read::read_exact(&mut stdout, &mut buf).unwrap();
    drop(stdout);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    // Like `tusk query | head`: quiet, an exit code rather than a signal.
    assert!(
        o.status.code().is_some(),
        "killed by a signal: {:?}",
        o.status
    );
    assert!(!err.contains("writing the output"), "{err}");
}

#[test]
fn copy_out_of_a_table_works_through_pgbouncer_in_statement_mode() {
    use tusk_testkit::{Cluster, PgBouncer, PoolMode};
    let cluster = Cluster::start().unwrap();
    cluster
        .psql(
            "postgres",
            "CREATE TABLE items (id int, name text); INSERT INTO items VALUES (1, 'a')",
        )
        .unwrap();
    let bouncer = PgBouncer::start(&cluster, PoolMode::Statement).unwrap();
    let url = bouncer.url("postgres");
    // A table needs no transaction block (statement pooling refuses them).
    let (code, out, err) = common::binary(&["copy", "out", "items", "--url", &url], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1\ta\n");
    // A --query runs READ ONLY: refused there, with PgBouncer's reason.
    let (code, _, err) = common::binary(
        &[
            "copy",
            "out",
            "--query",
            "SELECT * FROM items",
            "--url",
            &url,
        ],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.starts_with("tusk: "), "{err}");
}
