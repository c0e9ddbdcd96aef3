//! Seeded differential test for pg_tviews.
//!
//! Creates two schemas of base tables and twenty-two TVIEWs of several shapes
//! (join, left join, aggregate, nested JSONB read model, two-level cascade,
//! composite, text and uuid keys, a full-refresh fallback, joins keyed by
//! both sides, a self-join, a CTE, NOT IN over a nullable column, IN over a
//! LIMIT, a LATERAL LIMIT, DISTINCT, NOT EXISTS, HAVING, a window, UNION
//! ALL), then runs
//! random transactions (INSERT, UPDATE of values, keys and foreign keys,
//! DELETE with cascades, TRUNCATE, ON CONFLICT, MERGE, COPY, savepoints
//! rolled back or released, failing statements, rollbacks, PREPARE
//! TRANSACTION with COMMIT/ROLLBACK PREPARED, mid-transaction flushes, all
//! isolation levels). After every transaction each TVIEW must equal its
//! query (`tviews.verify()`), no flush marker may be left, and no error may
//! come from pg_tviews. The seed is printed first; a failure prints it with
//! the failing transaction.
//!
//! ```text
//! tviews-differential --seed 1 --transactions 250 --dbname tviews_diff [--psql /path/to/psql]
//! ```

mod gen;
mod rng;
mod schema;

use std::io::Write;
use std::process::{Command, ExitCode, Stdio};

/// Printed rows that mean a failure: TVIEWs that differ from their query.
pub const CHECK: &str = "SELECT 'VERIFY|' || tview || '|' || missing || '|' || extra FROM tviews.verify() WHERE NOT ok;\n";

/// Errors the generated SQL provokes on purpose.
const EXPECTED_ERRORS: &[&str] = &[
    "violates foreign key constraint",
    "violates check constraint",
    "violates not-null constraint",
    "current transaction is aborted",
    "division by zero",
    "prepared transaction with identifier",
    "savepoint \"s",
    "MERGE command cannot affect row a second time",
];

struct Args {
    seed: u64,
    transactions: usize,
    dbname: String,
    psql: String,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        seed: 1,
        transactions: 250,
        dbname: "tviews_diff".into(),
        psql: "psql".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seed" => a.seed = value.parse().map_err(|_| "bad --seed")?,
            "--transactions" => a.transactions = value.parse().map_err(|_| "bad --transactions")?,
            "--dbname" => a.dbname = value,
            "--psql" => a.psql = value,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

struct Output {
    stdout: String,
    errors: Vec<String>,
}

fn psql(args: &Args, sql: &str) -> Result<Output, String> {
    let mut child = Command::new(&args.psql)
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=0",
            "-d",
            &args.dbname,
            "-f",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", args.psql))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let input = sql.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().map_err(|e| format!("psql: {e}"))?;
    writer
        .join()
        .map_err(|_| "writer thread panicked".to_string())?
        .map_err(|e| format!("writing to psql: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let errors = stderr
        .lines()
        .filter_map(|l| l.split_once("ERROR:").map(|(_, m)| m.trim().to_owned()))
        .collect();
    Ok(Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        errors,
    })
}

/// An error that the generated SQL does not explain.
fn unexpected(e: &str) -> bool {
    if e.contains("duplicate key value violates unique constraint") {
        // Base-table keys collide on purpose; a TVIEW key must never.
        return e.contains("\"tv_");
    }
    !EXPECTED_ERRORS.iter().any(|x| e.contains(x))
}

fn run(args: &Args) -> Result<(), String> {
    println!(
        "seed={} transactions={} dbname={}",
        args.seed, args.transactions, args.dbname
    );
    let setup = format!(
        "{}{}{}",
        schema::TABLES,
        gen::Gen::initial_data(),
        schema::create_tviews()
    );
    let out = psql(args, &setup)?;
    if !out.errors.is_empty() {
        return Err(format!("setup failed: {:?}", out.errors));
    }
    let out = psql(args, CHECK)?;
    if !out.stdout.trim().is_empty() {
        return Err(format!(
            "TVIEWs differ right after creation:\n{}",
            out.stdout
        ));
    }
    let mut g = gen::Gen::new(args.seed);
    let mut kinds: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let mut expected_errors: std::collections::BTreeMap<&str, usize> =
        std::collections::BTreeMap::new();
    for i in 1..=args.transactions {
        let txn = g.transaction();
        *kinds.entry(txn.kind).or_default() += 1;
        let script = format!(
            "{}{CHECK}SELECT 'PENDING|' || count(*) FROM tviews._pending HAVING count(*) > 0;\n\
             SELECT 'PREPARED|' || gid FROM pg_prepared_xacts WHERE gid LIKE 'tviews_diff_%';\n",
            txn.sql
        );
        let out = psql(args, &script)?;
        let bad: Vec<&String> = out.errors.iter().filter(|e| unexpected(e)).collect();
        for e in &out.errors {
            if let Some(x) = EXPECTED_ERRORS.iter().find(|x| e.contains(*x)) {
                *expected_errors.entry(x).or_default() += 1;
            } else if !unexpected(e) {
                *expected_errors.entry("duplicate key").or_default() += 1;
            }
        }
        let diffs: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        if !bad.is_empty() || !diffs.is_empty() {
            return Err(format!(
                "FAILED seed={} at transaction #{i} ({}):\n{}\nunexpected errors: {bad:#?}\nchecks:\n{}\nreplay: tviews-differential --seed {} --transactions {i}",
                args.seed,
                txn.kind,
                txn.sql,
                diffs.join("\n"),
                args.seed
            ));
        }
        if i % 50 == 0 {
            println!("  {i} transactions, all TVIEWs equal their queries");
        }
    }
    let stats = psql(
        args,
        "SELECT tview || ': ' || refreshes || ' refreshes, ' || keys_refreshed || ' keys, ' || full_refreshes || ' full' FROM tviews.stats ORDER BY tview::text;\n",
    )?;
    print!("{}", stats.stdout);
    println!(
        "seed={} ok: {} transactions {:?}, expected errors {:?}; every TVIEW equalled its query after every transaction",
        args.seed, args.transactions, kinds, expected_errors
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("{e}");
            ExitCode::FAILURE
        }
    }
}
