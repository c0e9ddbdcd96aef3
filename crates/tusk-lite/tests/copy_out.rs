//! COPY ... TO STDOUT prints the same bytes on PostgreSQL 15 and tusk-lite,
//! and a bad row of COPY ... FROM STDIN fails with the same error and
//! CONTEXT line: the real psql runs one script against both and the
//! outputs are compared (the data, the CSV quoting and headers, the
//! `COPY n` tags, the errors).

use std::process::Command;

const SCRIPT: &str = r#"
CREATE TABLE c (id int8 PRIMARY KEY, note text, n numeric(6,2), d date, b bool);
INSERT INTO c VALUES
  (1, E'tab\there, comma, "q"\nnl\\bs', 1.5, '2024-02-29', true),
  (2, NULL, NULL, NULL, NULL),
  (3, '', -0.25, '1999-12-31', false);
COPY c TO STDOUT;
COPY c TO STDOUT (FORMAT csv);
COPY c TO STDOUT (FORMAT csv, HEADER);
COPY c (note, id) TO STDOUT (FORMAT csv, HEADER, DELIMITER ';', NULL 'NULL');
COPY (SELECT id, note FROM c WHERE id >= 2 ORDER BY id) TO STDOUT;
COPY (SELECT id * 2 AS twice, upper(note) AS "Up Note", n, d, b FROM c ORDER BY id DESC) TO STDOUT (FORMAT csv, HEADER);
COPY (SELECT g, g % 2 = 0 AS even FROM generate_series(1, 4) g) TO STDOUT WITH (DELIMITER '|', NULL '-');
COPY (SELECT * FROM c WHERE false) TO STDOUT (FORMAT csv, HEADER);
COPY (VALUES (1, 'a'), (2, NULL)) TO STDOUT;
CREATE TABLE bu (id int PRIMARY KEY, b bytea, u uuid);
INSERT INTO bu VALUES (1, E'\\000a\\\\b', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), (2, NULL, NULL), (3, '', '{00000000-0000-0000-0000-000000000000}');
COPY bu TO STDOUT;
COPY bu TO STDOUT (FORMAT csv, HEADER);
COPY bu FROM STDIN;
4	\\x0102	11111111-2222-3333-4444-555555555555
5	\\001x	\N
\.
COPY bu FROM STDIN (FORMAT csv);
6,\x7f,{66666666-6666-6666-6666-666666666666}
\.
COPY (SELECT id, b, u FROM bu WHERE id > 3 ORDER BY id) TO STDOUT;
"#;

/// Bad values on data line 2 (text) and 3 (CSV, the header is line 1).
const BAD_ROWS: &str = "CREATE TABLE cf (id int8, n int4);
COPY cf FROM STDIN;
1\t10
2\tnope
\\.
COPY cf FROM STDIN (FORMAT csv, HEADER);
id,n
1,10
x,20
\\.
SELECT count(*) FROM cf;
";

fn psql(port: u16, db: &str, script: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new("psql")
        .args([
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            db,
            "-f",
            "-",
        ])
        .env_remove("PGPASSWORD")
        .env_remove("PGOPTIONS")
        .env("PGCLIENTENCODING", "UTF8")
        .env("PGTZ", "UTC")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("psql runs (scripts/setup installs it)");
    child
        .stdin
        .take()
        .expect("psql's stdin")
        .write_all(script.as_bytes())
        .expect("the script goes to psql");
    let out = child.wait_with_output().expect("psql ends");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn copy_to_stdout_matches_postgres() {
    let pg = tusk_testkit::db();
    let lite = tusk_lite::Database::open_in_memory();
    let addr = tusk_lite::serve(&lite, "127.0.0.1:0").expect("listening");
    let (ok, want) = psql(pg.port(), pg.name(), SCRIPT);
    assert!(ok && !want.contains("ERROR"), "PostgreSQL: {want}");
    let (ok, got) = psql(addr.port(), pg.name(), SCRIPT);
    assert!(ok, "tusk-lite: {got}");
    assert_eq!(got, want, "--- tusk-lite\n{got}\n--- PostgreSQL 15\n{want}");
}

#[test]
fn a_bad_copy_row_fails_with_postgres_context_line() {
    let pg = tusk_testkit::db();
    let lite = tusk_lite::Database::open_in_memory();
    let addr = tusk_lite::serve(&lite, "127.0.0.1:0").expect("listening");
    let (_, want) = psql(pg.port(), pg.name(), BAD_ROWS);
    assert!(
        want.contains("CONTEXT:  COPY cf, line 3"),
        "PostgreSQL: {want}"
    );
    let (_, got) = psql(addr.port(), pg.name(), BAD_ROWS);
    assert_eq!(got, want, "--- tusk-lite\n{got}\n--- PostgreSQL 15\n{want}");
}
