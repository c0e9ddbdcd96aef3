//! Bad input: statements from the .slt corpus, mutated with a fixed seed,
//! give results or errors, never a panic or a dropped session, and the
//! data is intact afterwards.

use std::path::PathBuf;
use tokio_postgres::NoTls;

fn corpus() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let mut lines = text.lines();
        while let Some(l) = lines.next() {
            if l.starts_with("statement") || l.starts_with("query") {
                let mut sql = String::new();
                for s in lines.by_ref() {
                    if s.is_empty() || s == "----" {
                        break;
                    }
                    sql.push_str(s);
                    sql.push('\n');
                }
                out.push(sql);
            }
        }
    }
    out
}

const SPLICE: &[&str] = &[
    "'",
    "(",
    ")",
    ",",
    ";",
    "$1",
    "NULL",
    "SELECT",
    " FROM ",
    " WHERE ",
    "*",
    "::int",
    "::text",
    "9999999999999999999999",
    "-",
    "/ 0",
    "''",
    "\\",
    "\u{0}",
    "é",
    " AND ",
    " JOIN t ON ",
    "1e400",
];

fn mutate(rng: &mut fastrand::Rng, sql: &str) -> String {
    let mut s: Vec<char> = sql.chars().collect();
    for _ in 0..rng.usize(1..4) {
        let at = if s.is_empty() {
            0
        } else {
            rng.usize(0..s.len())
        };
        match rng.u8(0..4) {
            0 if !s.is_empty() => {
                let end = (at + rng.usize(1..6)).min(s.len());
                s.drain(at..end);
            }
            1 => {
                let piece = SPLICE[rng.usize(0..SPLICE.len())];
                for (i, c) in piece.chars().enumerate() {
                    s.insert(at + i, c);
                }
            }
            2 if s.len() > 1 => {
                let b = rng.usize(0..s.len());
                s.swap(at, b);
            }
            _ => {
                let end = (at + rng.usize(1..10)).min(s.len());
                let dup: Vec<char> = s[at..end].to_vec();
                for (i, c) in dup.into_iter().enumerate() {
                    s.insert(end + i, c);
                }
            }
        }
    }
    s.into_iter().filter(|c| *c != '\u{0}').collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_mutated_statements() {
    let db = tusk_lite::Database::open_in_memory();
    let port = tusk_lite::serve(&db, "127.0.0.1:0").expect("listen").port();
    let url = format!("host=127.0.0.1 port={port} user=app dbname=app");
    let (c, conn) = tokio_postgres::connect(&url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    c.batch_execute("CREATE TABLE keep (id int PRIMARY KEY, v text); INSERT INTO keep SELECT g, 'v' || g FROM generate_series(1, 100) g")
        .await
        .expect("setup");
    let corpus = corpus();
    assert!(corpus.len() > 100, "corpus has {} statements", corpus.len());
    let mut rng = fastrand::Rng::with_seed(13);
    let (mut ok, mut failed) = (0, 0);
    for i in 0..10_000 {
        let base = &corpus[rng.usize(0..corpus.len())];
        let sql = mutate(&mut rng, base);
        // Keep the fixture: mutations may not drop or change it. A
        // mutated WITH RECURSIVE may never end (`SELECT -n + 1` in its
        // step), as in PostgreSQL: not run.
        let lower = sql.to_ascii_lowercase();
        if lower.contains("keep") || lower.contains("recursive") {
            continue;
        }
        match c.simple_query(&sql).await {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(
                    e.as_db_error().is_some(),
                    "statement {i} broke the session: {e}\n{sql}"
                );
                failed += 1;
            }
        }
        // Leave no transaction open between statements.
        let _ = c.simple_query("ROLLBACK").await;
        if i % 1000 == 0 {
            let _ = c.simple_query("DISCARD ALL").await;
        }
    }
    assert!(ok > 0 && failed > 0, "ok {ok}, failed {failed}");
    // Prepared statements with mutated text: errors, no panic.
    for _ in 0..500 {
        let pick = rng.usize(0..corpus.len());
        let sql = mutate(&mut rng, &corpus[pick]);
        if sql.to_ascii_lowercase().contains("keep") {
            continue;
        }
        if let Err(e) = c.prepare(&sql).await {
            assert!(
                e.as_db_error().is_some(),
                "prepare broke the session: {e}\n{sql}"
            );
        }
        let _ = c.simple_query("ROLLBACK").await;
    }
    let row = c
        .query_one(
            "SELECT count(*), sum(id)::int8, min(v), max(v) FROM keep",
            &[],
        )
        .await
        .expect("the data checks afterwards");
    assert_eq!(row.get::<_, i64>(0), 100);
    assert_eq!(row.get::<_, i64>(1), 5050);
    assert_eq!(row.get::<_, &str>(2), "v1");
    assert_eq!(row.get::<_, &str>(3), "v99");
}
