//! The little the driver reads of SQL text: a statement's first words
//! (past whitespace and comments), to recognize what the extended protocol
//! cannot carry safely in a pipeline (COPY, transaction control). Read
//! with the driver's one lexer ([`crate::sql::lexer`]), so quoting and
//! comment rules are the same everywhere.

use crate::error::{Error, ErrorKind};
use crate::sql::{tokens, TokenKind};

/// The first `n` words of `sql`, uppercased, skipping comments before and
/// between them, and the empty statements before the first (the grammar
/// drops them, so `; COMMIT` is one statement, a COMMIT, even when sent as
/// one extended-protocol statement). Stops at anything else (a quote, a
/// parenthesis, a `;`).
pub(crate) fn first_words(sql: &str, n: usize) -> Vec<String> {
    tokens(sql)
        .filter(|t| t.is_significant())
        .skip_while(|t| t.kind == TokenKind::Semicolon)
        .take_while(|t| t.kind == TokenKind::Word)
        .take(n)
        .map(|t| t.text.to_ascii_uppercase())
        .collect()
}

/// Whether a statement sent with the extended protocol is a COPY (which
/// may switch the connection into COPY mode).
pub(crate) fn is_copy(sql: &str) -> bool {
    first_words(sql, 1).first().is_some_and(|w| w == "COPY")
}

/// Whether a simple-protocol query string may contain a COPY (any of its
/// statements): a conservative test (a false yes only costs a write
/// barrier). Any word `COPY` counts, wherever it stands; and where a
/// string has a backslash (with `standard_conforming_strings` off the
/// server reads it as an escape, and may end the string elsewhere than
/// the lexer), any `copy` in the text.
pub(crate) fn may_copy(sql: &str) -> bool {
    let mut backslash = false;
    for t in tokens(sql) {
        if t.is_keyword("copy") {
            return true;
        }
        backslash |= t.kind == TokenKind::String && t.text.contains('\\');
    }
    backslash
        && sql
            .as_bytes()
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"copy"))
}

/// The transaction-control command `sql` starts with, if any (`COMMIT`,
/// `ROLLBACK TO SAVEPOINT`, ...).
pub(crate) fn transaction_control(sql: &str) -> Option<String> {
    let w = first_words(sql, 2);
    let first = w.first()?.as_str();
    match first {
        "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE" => {
            Some(first.to_string())
        }
        "PREPARE" if w.get(1).is_some_and(|x| x == "TRANSACTION") => {
            Some("PREPARE TRANSACTION".to_string())
        }
        _ => None,
    }
}

/// Why `sql` may not be a statement of an atomic batch, if it may not.
pub(crate) fn refused_in_atomic_batch(sql: &str) -> Option<Error> {
    if let Some(cmd) = transaction_control(sql) {
        return Some(Error::new(
            ErrorKind::Other,
            format!(
                "transaction control ({cmd}) cannot be a statement of an atomic batch: the \
                 batch is one transaction, which the server would end or change midway, so \
                 its results could not say what was committed; nothing of the batch was sent"
            ),
        ));
    }
    if is_copy(sql) {
        return Some(Error::new(
            ErrorKind::Other,
            "COPY cannot be a statement of an atomic batch; nothing of the batch was sent",
        ));
    }
    if let Some(cmd) = non_atomic_block(sql) {
        return Some(Error::new(
            ErrorKind::Other,
            format!(
                "{cmd} cannot be a statement of an atomic batch: a procedure or DO block may \
                 COMMIT or ROLLBACK, ending the batch's transaction midway, so its results \
                 could not say what was committed; run it on its own or inside a \
                 transaction; nothing of the batch was sent"
            ),
        ));
    }
    None
}

/// `CALL` or `DO`, when `sql` starts with one: at the top level of an
/// implicit transaction the server runs them non-atomically, so the code
/// they run may end the transaction (which no text check can see).
pub(crate) fn non_atomic_block(sql: &str) -> Option<&'static str> {
    match first_words(sql, 1).first()?.as_str() {
        "CALL" => Some("CALL"),
        "DO" => Some("DO"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_words_skip_comments() {
        assert_eq!(first_words("  commit work", 2), ["COMMIT", "WORK"]);
        assert_eq!(first_words("-- x\n/* a /* b */ */ END;", 2), ["END"]);
        assert_eq!(first_words("(SELECT 1)", 1), Vec::<String>::new());
        assert_eq!(first_words("", 1), Vec::<String>::new());
    }

    #[test]
    fn recognizes_copy_and_transaction_control() {
        assert!(is_copy("/* load */ copy t FROM STDIN"));
        assert!(is_copy("-- load\rCOPY t FROM STDIN"));
        assert!(transaction_control("-- x\rCOMMIT").is_some());
        assert!(is_copy(";; /* x */ ; COPY t FROM STDIN"));
        assert!(transaction_control("; COMMIT").is_some());
        assert!(!is_copy("SELECT 'copy'"));
        assert!(!is_copy("COPYRIGHT"));
        assert!(may_copy("SELECT 1; Copy t TO STDOUT"));
        assert!(may_copy("SELECT 1;;/* x */COPY t TO STDOUT"));
        assert!(may_copy("SELECT 'a\\'; COPY t TO STDOUT; --'"));
        assert!(!may_copy("SELECT 1"));
        assert!(!may_copy("SELECT 'copy' -- copy\n, \"copy\""));
        for sql in [
            "COMMIT",
            "commit prepared 'x'",
            "END",
            "ROLLBACK TO SAVEPOINT s",
            "abort",
            "BEGIN",
            "start transaction",
            "SAVEPOINT s",
            "RELEASE s",
            "PREPARE TRANSACTION 'x'",
        ] {
            assert!(transaction_control(sql).is_some(), "{sql}");
        }
        for sql in [
            "CALL p()",
            "/* x */ call p()",
            "; DO 'BEGIN COMMIT; END'",
            "do $$ $$",
        ] {
            assert!(refused_in_atomic_batch(sql).is_some(), "{sql}");
        }
        for sql in ["SELECT 'call'", "DOMAIN", "CALLS", "SELECT do_it()"] {
            assert!(non_atomic_block(sql).is_none(), "{sql}");
        }
        for sql in [
            "PREPARE p AS SELECT 1",
            "SELECT 'commit'",
            "COMMITTED",
            "INSERT INTO begin VALUES (1)",
        ] {
            assert!(transaction_control(sql).is_none(), "{sql}");
        }
    }
}
