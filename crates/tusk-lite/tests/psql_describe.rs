//! psql's describe commands print byte-identical output on PostgreSQL 15
//! and tusk-lite: the real psql runs each command against both (same
//! user, same settings) and the outputs are compared. psql 15 sends its
//! own catalog queries (`psql -E` shows them); tusk-lite answers them from
//! its virtual `pg_catalog`.
//!
//! `KNOWN_GAPS` lists the commands whose output still differs, each with
//! its reason; the test fails if one of them starts to match (so the list
//! stays honest) as well as when any other command differs.

use std::process::Command;

/// One table with every type tusk-lite supports, a primary key, a unique
/// constraint, a foreign key, a check, defaults, a serial and an index.
const SCHEMA: &str = "
CREATE TABLE parent (id int PRIMARY KEY, label text);
CREATE TABLE t (
  id serial PRIMARY KEY,
  code varchar(10) NOT NULL UNIQUE,
  small int2 CHECK (small > 0),
  big int8 DEFAULT 42,
  r float4,
  d float8,
  n numeric(10,2),
  n2 numeric,
  flag bool NOT NULL DEFAULT true,
  body text,
  c char(3),
  born date,
  at timestamp,
  atz timestamptz,
  doc jsonb,
  raw json,
  blob bytea,
  uid uuid UNIQUE DEFAULT gen_random_uuid(),
  starts time,
  t3 time(3),
  span interval,
  q interval hour to minute,
  ints int[],
  tags text[],
  parent_id int REFERENCES parent(id) ON DELETE CASCADE
);
CREATE INDEX t_born_idx ON t (born);
CREATE INDEX t_blob_idx ON t (blob);
CREATE TABLE \"Mixed Case\" (k int8 PRIMARY KEY, v text DEFAULT 'x');
CREATE SEQUENCE counter_seq AS smallint INCREMENT 5 START 10 CYCLE;
INSERT INTO parent VALUES (1, 'one'), (2, repeat('x', 300));
INSERT INTO t (code, parent_id, body) VALUES ('a', 1, 'first'), ('b', 2, NULL);
";

/// Commands that must print the same on both.
const COMMANDS: &[&str] = &[
    "\\dt",
    "\\d t",
    "\\d+ t",
    "\\di",
    "\\dn",
    "\\d parent",
    "\\d+ parent",
    "\\d",
    "\\ds",
    "\\dt t*",
    "\\d nope",
    "\\d t_pkey",
    "\\d t_code_key",
    "\\d t_born_idx",
    "\\d t_uid_key",
    "\\d \"Mixed Case_pkey\"",
    "\\d t_id_seq",
    "\\d counter_seq",
];

/// Commands whose output matches except for the sizes: tusk-lite counts
/// the bytes it stores for a relation (see `tusk_lite`'s size functions),
/// PostgreSQL its 8 kB pages, so the two never agree. Their "Size" column
/// is compared for its format only (what `pg_size_pretty` prints: digits
/// and a unit), every other cell and line byte for byte once the column
/// widths the sizes change are taken out.
const SIZED_COMMANDS: &[&str] = &["\\dt+", "\\di+", "\\dt+ t*"];

/// Commands whose output still differs, and why.
const KNOWN_GAPS: &[(&str, &str)] = &[(
    "\\l",
    "tusk-lite serves one database; PostgreSQL also lists postgres, template0, template1 and the \\
         test kit's other databases (`\\l <name>` of the one database matches: see the test)",
)];

/// psql's aligned output as cells: each line split at " | " (a line
/// without one is a single cell), every cell trimmed.
fn cells(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| {
            if l.chars().all(|c| c == '-' || c == '+') {
                // The rule under the header: its width follows the cells.
                vec!["<rule>".to_string()]
            } else {
                l.split('|').map(|c| c.trim().to_string()).collect()
            }
        })
        .collect()
}

/// Compares two outputs of a sized command: the "Size" column's cells
/// must look like pg_size_pretty's output, everything else must match.
fn compare_sized(want: &str, got: &str) -> Result<(), String> {
    let (mut w, mut g) = (cells(want), cells(got));
    if w.len() != g.len() {
        return Err("line counts differ".into());
    }
    let header = w.iter().position(|r| r.len() > 1).ok_or("no header")?;
    let col = w[header]
        .iter()
        .position(|c| c == "Size")
        .ok_or("no Size column")?;
    let pretty = |c: &str| {
        c.split_once(' ').is_some_and(|(n, unit)| {
            n.parse::<i64>().is_ok() && ["bytes", "kB", "MB", "GB", "TB", "PB"].contains(&unit)
        })
    };
    for (wr, gr) in w.iter_mut().zip(g.iter_mut()).skip(header + 2) {
        if wr.len() > col && gr.len() > col {
            if !pretty(&wr[col]) || !pretty(&gr[col]) {
                return Err(format!("sizes {:?} / {:?}", wr[col], gr[col]));
            }
            wr[col] = String::new();
            gr[col] = String::new();
        }
    }
    // The title is centred over the table, whose width the sizes change.
    w[0] = vec![w[0].concat().trim().to_string()];
    g[0] = vec![g[0].concat().trim().to_string()];
    if w == g {
        Ok(())
    } else {
        Err("cells differ".into())
    }
}

fn psql(port: u16, db: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("psql")
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
        ])
        .args(args)
        .env_remove("PGPASSWORD")
        .env_remove("PGOPTIONS")
        .env("PGCLIENTENCODING", "UTF8")
        .env("PGTZ", "UTC")
        .env("COLUMNS", "200")
        .output()
        .expect("psql runs (scripts/setup installs it)");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn describe_commands_match_postgres() {
    let pg = tusk_testkit::db();
    let lite = tusk_lite::Database::open_in_memory();
    let addr = tusk_lite::serve(&lite, "127.0.0.1:0").expect("listening");
    // tusk-lite serves any database name: connecting with PostgreSQL's
    // makes `\l <name>` comparable.
    let targets = [
        (pg.port(), pg.name().to_string()),
        (addr.port(), pg.name().to_string()),
    ];
    for (port, db) in &targets {
        let (ok, text) = psql(*port, db, &["-q", "-v", "ON_ERROR_STOP=1", "-c", SCHEMA]);
        assert!(ok, "schema on port {port}: {text}");
    }
    let mut failures = Vec::new();
    let list_db = format!("\\l {}", pg.name());
    for cmd in COMMANDS.iter().copied().chain([list_db.as_str()]) {
        let (_, want) = psql(targets[0].0, &targets[0].1, &["-c", cmd]);
        let (_, got) = psql(targets[1].0, &targets[1].1, &["-c", cmd]);
        if want != got {
            failures.push(format!(
                "{cmd} differs\n--- PostgreSQL 15\n{want}\n--- tusk-lite\n{got}"
            ));
        }
    }
    for cmd in SIZED_COMMANDS {
        let (_, want) = psql(targets[0].0, &targets[0].1, &["-c", cmd]);
        let (_, got) = psql(targets[1].0, &targets[1].1, &["-c", cmd]);
        if let Err(why) = compare_sized(&want, &got) {
            failures.push(format!(
                "{cmd} differs ({why})\n--- PostgreSQL 15\n{want}\n--- tusk-lite\n{got}"
            ));
        }
    }
    for (cmd, why) in KNOWN_GAPS {
        let (_, want) = psql(targets[0].0, &targets[0].1, &["-c", cmd]);
        let (_, got) = psql(targets[1].0, &targets[1].1, &["-c", cmd]);
        if want == got {
            failures.push(format!(
                "{cmd} now matches PostgreSQL: remove it from KNOWN_GAPS ({why})"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The catalog follows DDL inside a transaction, as psql sees it.
#[test]
fn describe_sees_uncommitted_ddl_of_its_own_transaction() {
    let lite = tusk_lite::Database::open_in_memory();
    let addr = tusk_lite::serve(&lite, "127.0.0.1:0").expect("listening");
    let (ok, text) = psql(
        addr.port(),
        "app",
        &[
            "-c",
            "BEGIN",
            "-c",
            "CREATE TABLE inner_t (a int PRIMARY KEY)",
            "-c",
            "\\dt",
            "-c",
            "ROLLBACK",
            "-c",
            "\\dt",
        ],
    );
    assert!(ok, "{text}");
    assert!(text.contains("inner_t"), "{text}");
    assert!(text.ends_with("Did not find any relations.\n"), "{text}");
}
