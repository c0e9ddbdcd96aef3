//! One SQL script (an up or down migration, a seed): its text, checksum,
//! and the checks made before anything runs.
//!
//! A script runs in one transaction unless its **first line** is
//! `-- tusk:no-transaction`. The marker is required for statements that
//! PostgreSQL refuses inside a transaction block (`CREATE INDEX
//! CONCURRENTLY` and the others in [`needs_no_transaction`]), and a
//! transactional script may not manage its own transaction (`BEGIN`,
//! `COMMIT`, `ROLLBACK`): both are found with the driver's lexer, so a
//! keyword in a string, a comment or a function body never counts.

use crate::error::MigrateError;
use crate::split::{line_col, statements, Statement};

/// The marker that makes a script run outside a transaction.
pub const NO_TRANSACTION: &str = "-- tusk:no-transaction";

/// A script, checked.
#[derive(Debug, Clone)]
pub struct Script {
    /// The file it came from (a path, or a bare name when embedded).
    pub path: String,
    /// Its text, as written.
    pub text: String,
    /// [`checksum`](crate::checksum::checksum) of the text.
    pub checksum: String,
    /// Whether it runs outside a transaction (first line `-- tusk:no-transaction`).
    pub no_transaction: bool,
}

/// Why a statement cannot run in a transaction block, or `None`.
pub fn needs_no_transaction(s: &Statement<'_>) -> Option<&'static str> {
    let w0 = s.word(0).unwrap_or_default();
    let w1 = s.word(1).unwrap_or_default();
    match (w0.as_str(), w1.as_str()) {
        ("CREATE", "INDEX") | ("CREATE", "UNIQUE") if s.has_keyword("CONCURRENTLY") => {
            Some("CREATE INDEX CONCURRENTLY")
        }
        ("DROP", "INDEX") if s.starts_with(&["DROP", "INDEX", "CONCURRENTLY"]) => {
            Some("DROP INDEX CONCURRENTLY")
        }
        ("REINDEX", _)
            if s.has_keyword("CONCURRENTLY") || matches!(w1.as_str(), "SYSTEM" | "DATABASE") =>
        {
            Some("REINDEX CONCURRENTLY (and REINDEX SYSTEM/DATABASE)")
        }
        ("ALTER", "TABLE")
            if s.contains_seq(&["DETACH", "PARTITION"]) && s.has_keyword("CONCURRENTLY") =>
        {
            Some("ALTER TABLE .. DETACH PARTITION .. CONCURRENTLY")
        }
        ("CREATE", "DATABASE") => Some("CREATE DATABASE"),
        ("DROP", "DATABASE") => Some("DROP DATABASE"),
        ("ALTER", "DATABASE") if s.contains_seq(&["SET", "TABLESPACE"]) => {
            Some("ALTER DATABASE .. SET TABLESPACE")
        }
        ("CREATE", "TABLESPACE") => Some("CREATE TABLESPACE"),
        ("DROP", "TABLESPACE") => Some("DROP TABLESPACE"),
        ("ALTER", "SYSTEM") => Some("ALTER SYSTEM"),
        ("VACUUM", _) => Some("VACUUM"),
        ("DISCARD", "ALL") => Some("DISCARD ALL"),
        ("CREATE", "SUBSCRIPTION") => Some("CREATE SUBSCRIPTION"),
        ("DROP", "SUBSCRIPTION") => Some("DROP SUBSCRIPTION"),
        ("COMMIT", "PREPARED") | ("ROLLBACK", "PREPARED") => Some("COMMIT/ROLLBACK PREPARED"),
        ("CLUSTER", _) if s.tokens.len() == 1 || (s.tokens.len() == 2 && w1 == "VERBOSE") => {
            Some("CLUSTER without a table")
        }
        _ => None,
    }
}

/// True for a statement that ends or starts a transaction.
pub fn is_transaction_control(s: &Statement<'_>) -> bool {
    let w0 = s.word(0).unwrap_or_default();
    let w1 = s.word(1).unwrap_or_default();
    match w0.as_str() {
        "BEGIN" | "START" | "COMMIT" | "END" | "ABORT" => w1 != "PREPARED",
        "ROLLBACK" => w1 != "TO" && w1 != "PREPARED",
        "PREPARE" => w1 == "TRANSACTION",
        _ => false,
    }
}

impl Script {
    /// Reads and checks a script; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<Script, MigrateError> {
        let first_line = text
            .strip_prefix('\u{feff}')
            .unwrap_or(text)
            .lines()
            .next()
            .unwrap_or("")
            .trim();
        let no_transaction = first_line.eq_ignore_ascii_case(NO_TRANSACTION);
        let bad = |offset: usize, why: String| {
            let (line, column) = line_col(text, offset);
            MigrateError::BadScript {
                file: path.to_string(),
                line,
                column,
                why,
            }
        };
        if !no_transaction {
            // The marker anywhere but the first line is a mistake to point at.
            if let Some(t) = tusk::sql::tokens(text).find(|t| {
                t.kind == tusk::sql::TokenKind::Comment
                    && t.text.trim().eq_ignore_ascii_case(NO_TRANSACTION)
            }) {
                return Err(bad(
                    t.start,
                    format!("`{NO_TRANSACTION}` must be the script's first line to take effect"),
                ));
            }
        }
        for s in statements(text) {
            if no_transaction {
                continue;
            }
            if let Some(what) = needs_no_transaction(&s) {
                return Err(bad(
                    s.start,
                    format!(
                        "{what} cannot run inside a transaction block; make `{NO_TRANSACTION}` \
                         the first line of the file (and keep the file to such statements: each \
                         then runs on its own, and a failure leaves the earlier ones applied)"
                    ),
                ));
            }
            if is_transaction_control(&s) {
                return Err(bad(
                    s.start,
                    format!(
                        "`{}` manages the transaction, which tusk does: each script runs in its own \
                         transaction. Remove it, or make `{NO_TRANSACTION}` the first line to manage \
                         transactions yourself",
                        s.tokens[0].text
                    ),
                ));
            }
        }
        Ok(Script {
            path: path.to_string(),
            text: text.to_string(),
            checksum: crate::checksum::checksum(text),
            no_transaction,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrently_needs_the_marker_on_the_first_line() {
        let e = Script::parse(
            "a.up.sql",
            "CREATE TABLE t (x int);\nCREATE INDEX CONCURRENTLY i ON t (x);",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("a.up.sql:2:1: CREATE INDEX CONCURRENTLY"),
            "{e}"
        );
        let ok = Script::parse(
            "a.up.sql",
            "-- tusk:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY i ON t (x);",
        )
        .unwrap();
        assert!(ok.no_transaction);
        let late = Script::parse("a.up.sql", "SELECT 1;\n-- tusk:no-transaction\n")
            .unwrap_err()
            .to_string();
        assert!(
            late.contains("a.up.sql:2:1") && late.contains("first line"),
            "{late}"
        );
        // In a string, a comment or a function body it is not a statement.
        Script::parse(
            "a.up.sql",
            "SELECT 'CREATE INDEX CONCURRENTLY'; /* VACUUM; */ DO $$ BEGIN PERFORM 1; END $$; -- COMMIT;",
        )
        .unwrap();
    }

    #[test]
    fn transaction_control_is_refused_in_a_transaction() {
        for sql in [
            "BEGIN; SELECT 1;",
            "SELECT 1; COMMIT",
            "end;",
            "ROLLBACK;",
            "START TRANSACTION",
        ] {
            let e = Script::parse("x.sql", sql).unwrap_err().to_string();
            assert!(e.contains("manages the transaction"), "{sql}: {e}");
        }
        Script::parse("x.sql", "SAVEPOINT a; ROLLBACK TO SAVEPOINT a; RELEASE a;").unwrap();
        Script::parse("x.sql", "-- tusk:no-transaction\nBEGIN; SELECT 1; COMMIT;").unwrap();
    }

    #[test]
    fn other_statements_that_refuse_a_transaction() {
        for sql in [
            "VACUUM t",
            "DROP INDEX CONCURRENTLY i",
            "REINDEX TABLE CONCURRENTLY t",
            "CREATE DATABASE d",
            "ALTER SYSTEM SET work_mem = '1MB'",
            "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
            "DISCARD ALL",
        ] {
            assert!(Script::parse("x.sql", sql).is_err(), "{sql}");
        }
        Script::parse(
            "x.sql",
            "DROP INDEX i; REINDEX TABLE t; ALTER TABLE p DETACH PARTITION c",
        )
        .unwrap();
    }
}
