//! Table output, `ping`, statements without rows and errors, through the
//! library entry point and through the built `tusk` binary.

mod common;

use common::tusk;
use tusk_testkit::Cluster;

/// Runs the built binary with `args`, no DATABASE_URL; (code, stdout, stderr).
fn binary(args: &[&str]) -> (i32, String, String) {
    common::binary(args, &[])
}

#[test]
fn table_output_is_aligned_with_a_footer() {
    let db = Cluster::shared().database().unwrap();
    db.psql(
        "CREATE TABLE people (id int, name text, score numeric); \
         INSERT INTO people VALUES (1, 'alice', 3.5), (22, NULL, -10), (3, 'bob', NULL)",
    )
    .unwrap();
    let (code, out, err) = tusk(&[
        "query",
        "--url",
        &db.url(),
        "SELECT id, name, score FROM people ORDER BY id",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        concat!(
            " id | name  | score\n",
            "----+-------+-------\n",
            "  1 | alice |   3.5\n",
            "  3 | bob   |\n",
            " 22 |       |   -10\n",
            "(3 rows)\n",
        )
    );
    let (_, out, _) = tusk(&["query", "--url", &db.url(), "SELECT 1 AS x WHERE false"]);
    assert_eq!(out, " x\n---\n(0 rows)\n");
    let (_, out, _) = tusk(&["query", "--url", &db.url(), "SELECT E'a\\nbb' AS t, 1 AS n"]);
    assert_eq!(out, " t  | n\n----+---\n a +| 1\n bb |\n(1 row)\n");
}

#[test]
fn statements_without_rows_print_their_tag() {
    let db = Cluster::shared().database().unwrap();
    let url = db.url();
    let (code, out, _) = tusk(&["query", "--url", &url, "CREATE TABLE t (id int)"]);
    assert_eq!((code, out.as_str()), (0, "CREATE TABLE\n"));
    let (_, out, _) = tusk(&["query", "--url", &url, "INSERT INTO t VALUES (1), (2)"]);
    assert_eq!(out, "INSERT 0 2\n");
    let (_, out, _) = tusk(&["query", "--url", &url, "UPDATE t SET id = id + $1", "10"]);
    assert_eq!(out, "(2 rows affected)\n");
    let (_, out, _) = tusk(&["query", "--json", "--url", &url, "DELETE FROM t"]);
    assert_eq!(out, "");
    let (_, out, _) = tusk(&[
        "query",
        "--json",
        "--url",
        &url,
        "SELECT count(*) AS n FROM t",
    ]);
    assert_eq!(out, "{\"n\":0}\n");
}

#[test]
fn parameters_may_look_like_options() {
    let db = Cluster::shared().database().unwrap();
    let lines = common::json_lines(&db.url(), "SELECT $1::int AS n, $2 AS s", &["-5", "--json"]);
    assert_eq!(lines, [r#"{"n":-5,"s":"--json"}"#]);
}

#[test]
fn errors_say_what_went_wrong() {
    let db = Cluster::shared().database().unwrap();
    let url = db.url();
    let (code, _, err) = tusk(&["query", "--url", &url, "SELECT $1::int", "x"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("invalid input syntax for type integer"),
        "{err}"
    );
    let (code, _, err) = tusk(&["query", "--url", &url, "SELECT $1::int, $2::int", "1"]);
    assert_eq!(code, 1);
    assert!(err.contains("2 parameters but 1 value was given"), "{err}");
    let (code, _, err) = tusk(&["query", "--url", &url, "SELEC 1"]);
    assert_eq!(code, 1);
    assert!(err.contains("syntax error"), "{err}");
}

#[test]
fn ping_reports_version_and_round_trip() {
    let db = Cluster::shared().database().unwrap();
    let (code, out, err) = tusk(&["ping", "--url", &db.url()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("PostgreSQL 1"), "{out}");
    assert!(out.contains("SELECT 1 round trip"), "{out}");
}

#[test]
fn the_binary_prints_json_tables_and_pings() {
    let db = Cluster::shared().database().unwrap();
    let url = db.url();
    let (code, out, err) = binary(&[
        "query",
        "--json",
        "--url",
        &url,
        "SELECT $1::int + 1 AS n, ARRAY[[1,NULL],[3,4]] AS a, '1 day -1 s'::interval AS i, \
         'NaN'::float8 AS f, '\\x0A'::bytea AS b, point(1,2) AS p",
        "41",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "{\"n\":42,\"a\":[[1,null],[3,4]],\"i\":\"P1DT-1S\",\"f\":\"NaN\",\"b\":\"\\\\x0a\",\"p\":\"(1,2)\"}\n"
    );
    let (code, out, _) = binary(&["query", "--url", &url, "SELECT 1 AS one"]);
    assert_eq!((code, out.as_str()), (0, " one\n-----\n   1\n(1 row)\n"));
    let (code, out, _) = binary(&["ping", "--url", &url]);
    assert_eq!(code, 0);
    assert!(out.starts_with("PostgreSQL "), "{out}");
    let (code, _, err) = binary(&["query", "--url", &url, "SELECT 1/0"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("tusk: ") && err.contains("division by zero"),
        "{err}"
    );
    let (code, _, _) = binary(&["query"]);
    assert_eq!(code, 2, "a usage error");
}

#[test]
fn database_url_is_used_when_there_is_no_flag() {
    let db = Cluster::shared().database().unwrap();
    let (code, out, err) = common::binary(
        &["query", "--json", "SELECT current_database() AS d"],
        &[("DATABASE_URL", &db.url())],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("{{\"d\":\"{}\"}}\n", db.name()));
}

// ---- review (issue 16): `--json` wherever a command prints data ----

#[test]
fn ping_speaks_json_too() {
    let db = Cluster::shared().database().unwrap();
    let (code, out, err) = binary(&["ping", "--json", "--url", &db.url()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out}: {e}"));
    assert!(
        v["server_version"].as_str().unwrap().starts_with("1"),
        "{v}"
    );
    assert!(v["connect_ms"].as_f64().unwrap() >= 0.0, "{v}");
    assert!(v["round_trip_ms"].as_f64().unwrap() >= 0.0, "{v}");
}
