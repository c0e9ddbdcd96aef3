//! Which session state a statement may have changed, and the SQL that
//! resets it. Pure: no I/O, unit-tested below.
//!
//! The default policy ([`ResetPolicy::Full`](crate::ResetPolicy::Full))
//! resets everything `DISCARD ALL` does except the driver's cached prepared
//! statements, after every checkout that sent anything: a text scan cannot
//! know what a function did. The opt-in
//! [`ResetPolicy::Tracked`](crate::ResetPolicy::Tracked) reads the text of
//! every statement a handle ran (with the driver's lexer, so comments and
//! literals never hide or fake a keyword) and resets only the kinds of state
//! it names.
//!
//! Either reset is a list of statements inside `BEGIN; ..; COMMIT` that the
//! driver sends (Parse/Bind/Execute, unnamed) in the next holder's
//! first request's Sync group (`tusk::Connection::queue_session_reset`):
//! committed before that request runs, and if any part fails the request
//! does not run and the driver closes the connection.

/// Kinds of session state, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Dirty(pub(crate) u8);

impl Dirty {
    /// Settings, role, session authorization (`SET`, `RESET`, `set_config`).
    pub(crate) const SETTINGS: Dirty = Dirty(1);
    /// `LISTEN`.
    pub(crate) const LISTEN: Dirty = Dirty(2);
    /// Temporary tables (`CREATE TEMP`, `pg_temp`).
    pub(crate) const TEMP: Dirty = Dirty(4);
    /// SQL-level prepared statements (`PREPARE`).
    pub(crate) const PREPARE: Dirty = Dirty(8);
    /// Cursors `WITH HOLD` (`DECLARE`).
    pub(crate) const CURSOR: Dirty = Dirty(16);
    /// Session-level advisory locks.
    pub(crate) const ADVISORY: Dirty = Dirty(32);
    /// Sequence state (`lastval()`, `currval()`).
    pub(crate) const SEQUENCES: Dirty = Dirty(64);
    /// Everything.
    pub(crate) const ALL: Dirty = Dirty(127);

    /// True when nothing was touched.
    pub(crate) fn is_clean(self) -> bool {
        self.0 == 0
    }

    /// Both sets of bits.
    pub(crate) fn union(self, other: Dirty) -> Dirty {
        Dirty(self.0 | other.0)
    }

    /// Whether any kind in `other` is set.
    pub(crate) fn has(self, other: Dirty) -> bool {
        self.0 & other.0 != 0
    }
}

fn starts_with_ci(word: &str, prefix: &str) -> bool {
    word.len() >= prefix.len()
        && word.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Scans SQL text for statements that change session state, with the
/// driver's lexer: a keyword inside a string, an identifier or a comment
/// does not count, and a comment never hides one. A `DO` block or `CALL`
/// counts as everything. Only for [`ResetPolicy::Tracked`](crate::ResetPolicy::Tracked)
/// (and the full reset's `PREPARE` check): a function that changes state
/// out of sight is not seen. Allocates nothing.
pub(crate) fn scan(sql: &str) -> Dirty {
    use tusk::sql::TokenKind;
    let mut d = Dirty::default();
    let mut at_head = true;
    for t in tusk::sql::tokens(sql) {
        match t.kind {
            TokenKind::Comment => continue,
            TokenKind::Semicolon => {
                at_head = true;
                continue;
            }
            _ => {}
        }
        let head = std::mem::replace(&mut at_head, false);
        if t.kind != TokenKind::Word {
            continue;
        }
        let w = t.text;
        let is = |k: &str| w.eq_ignore_ascii_case(k);
        if head {
            if is("SET") || is("RESET") || is("DISCARD") || is("LOAD") {
                d = d.union(Dirty::SETTINGS);
            } else if is("LISTEN") {
                d = d.union(Dirty::LISTEN);
            } else if is("PREPARE") {
                d = d.union(Dirty::PREPARE);
            } else if is("DECLARE") {
                d = d.union(Dirty::CURSOR);
            } else if is("DO") || is("CALL") {
                // Its body is a string: what it runs cannot be read.
                return Dirty::ALL;
            }
            continue;
        }
        if is("set_config") || is("role") || is("authorization") {
            d = d.union(Dirty::SETTINGS);
        } else if is("temp") || is("temporary") || starts_with_ci(w, "pg_temp") {
            d = d.union(Dirty::TEMP);
        } else if starts_with_ci(w, "pg_advisory_lock") || starts_with_ci(w, "pg_try_advisory_lock")
        {
            d = d.union(Dirty::ADVISORY);
        } else if is("nextval") || is("setval") {
            d = d.union(Dirty::SEQUENCES);
        }
    }
    d
}

/// Deallocates the SQL-level prepared statements (`PREPARE`) and keeps the
/// driver's own (protocol-level, `from_sql` false), which `DEALLOCATE ALL`
/// would drop from under its statement cache.
const DEALLOCATE_SQL_PREPARED: &str = "DO $tusk_reset$ DECLARE r record; BEGIN \
     FOR r IN SELECT name FROM pg_catalog.pg_prepared_statements WHERE from_sql LOOP \
     EXECUTE pg_catalog.format('DEALLOCATE %I', r.name); END LOOP; END $tusk_reset$";

/// Fails the reset when a SQL-level prepared statement exists that the
/// holder's text did not show (a `PREPARE` inside a function, or one of
/// the driver's cached statements replaced by `DEALLOCATE` and `PREPARE`
/// under its name): the server skips the rest of the Sync group, so the
/// next holder's statement never runs on that session; the connection is
/// closed and the pool's query methods run the statement again on another
/// ([`tusk::Error::not_run`]). Deallocating them instead needs the
/// PL/pgSQL block of [`DEALLOCATE_SQL_PREPARED`], which costs more than
/// the rest of the reset together; it runs only when the text showed a
/// `PREPARE`. Nothing in it resolves through `search_path` (no operator,
/// no unqualified function; a failing cast, not a division).
///
/// A scan of the function itself, one row per SQL-level statement, each
/// failing its cast: no view to expand and no sublink to plan, which cost
/// the server about 40% more per checkout in the `EXISTS` over the view
/// it replaced (`examples/reset_cost.rs`). The function materializes every
/// prepared statement of the session, the driver's included, so its cost
/// grows with the driver's statement cache (about 0.2 µs a statement).
///
/// It releases the session's advisory locks too: `ROWS FROM` runs
/// `pg_advisory_unlock_all()` once, whatever number of rows the other
/// function returns (none: one row of nulls, which the `WHERE` drops),
/// which saves the reset a statement of its own (parsed, planned and run
/// every checkout: about a tenth of the reset's server time in
/// `examples/reset_cost.rs`).
const NO_SQL_PREPARED: &str = "SELECT pg_catalog.concat('a SQL-level prepared statement made out \
     of the pool''s sight survived the session reset: ', s.name)::pg_catalog.int4 \
     FROM ROWS FROM (pg_catalog.pg_prepared_statement(), pg_catalog.pg_advisory_unlock_all()) s \
     WHERE s.from_sql";

/// Releases the session's advisory locks (in [`NO_SQL_PREPARED`] when
/// the full reset checks for SQL-level prepared statements).
const UNLOCK_ALL: &str = "SELECT pg_catalog.pg_advisory_unlock_all()";

/// The reset's own transaction: `READ COMMITTED` whatever defaults the
/// previous holder left (a `SERIALIZABLE READ ONLY DEFERRABLE` default
/// made its first snapshot wait behind other sessions' serializable
/// transactions, and `SERIALIZABLE` fails on a hot standby).
const BEGIN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

/// The full reset, one statement each (the driver sends the first and the
/// last, `COMMIT`, as unnamed Parse/Bind/Execute and the others as one
/// simple Query between them in the next request's Sync group, with
/// `DISCARD SEQUENCES` as the unnamed statement in front of `COMMIT`,
/// which makes the server skip the request behind it when any part
/// failed; see `tusk::Connection::queue_session_reset`). `RESET ALL`
/// first: the previous holder's `statement_timeout` is gone for the
/// statements after it.
const FULL: [&str; 8] = [
    BEGIN,
    "RESET ALL",
    "SET SESSION AUTHORIZATION DEFAULT",
    "CLOSE ALL",
    "UNLISTEN *",
    "DISCARD TEMP",
    // And the advisory locks.
    NO_SQL_PREPARED,
    "COMMIT",
];

/// [`FULL`] with the SQL `PREPARE`d statements deallocated instead of
/// refused.
const FULL_AND_PREPARED: [&str; 9] = [
    BEGIN,
    "RESET ALL",
    "SET SESSION AUTHORIZATION DEFAULT",
    "CLOSE ALL",
    "UNLISTEN *",
    "DISCARD TEMP",
    UNLOCK_ALL,
    DEALLOCATE_SQL_PREPARED,
    "COMMIT",
];

/// The full reset: everything `DISCARD ALL` resets except the driver's
/// cached prepared statements, in one transaction. `prepared` (the
/// holder's text showed a `PREPARE`): the SQL `PREPARE`d statements are
/// deallocated (it needs PL/pgSQL, and costs more); otherwise any that
/// exists fails the reset ([`NO_SQL_PREPARED`]).
pub(crate) fn full_reset(prepared: bool) -> &'static [&'static str] {
    if prepared {
        &FULL_AND_PREPARED
    } else {
        &FULL
    }
}

/// The full reset as the server runs it, the driver's `DISCARD SEQUENCES`
/// (in front of `COMMIT`) included: for running the same work elsewhere.
pub(crate) fn full_reset_as_run() -> &'static [&'static str] {
    static AS_RUN: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    AS_RUN.get_or_init(|| {
        let mut v = FULL.to_vec();
        v.insert(FULL.len() - 1, "DISCARD SEQUENCES");
        v
    })
}

/// The statements that undo the kinds of state in `dirty`, in one
/// transaction (run after any open one was rolled back). The sequence
/// state goes with every reset (the driver's `DISCARD SEQUENCES` in front
/// of its `COMMIT`); [`Dirty::SEQUENCES`] only asks for one.
pub(crate) fn tracked_reset(dirty: Dirty) -> Vec<&'static str> {
    let mut parts: Vec<&'static str> = vec![BEGIN];
    if dirty.has(Dirty::SETTINGS) {
        // Role and session authorization are not touched by RESET ALL;
        // SET SESSION AUTHORIZATION DEFAULT resets both.
        parts.push("RESET ALL");
        parts.push("SET SESSION AUTHORIZATION DEFAULT");
    }
    if dirty.has(Dirty::CURSOR) {
        parts.push("CLOSE ALL");
    }
    if dirty.has(Dirty::LISTEN) {
        parts.push("UNLISTEN *");
    }
    if dirty.has(Dirty::ADVISORY) {
        parts.push(UNLOCK_ALL);
    }
    if dirty.has(Dirty::TEMP) {
        parts.push("DISCARD TEMP");
    }
    if dirty.has(Dirty::PREPARE) {
        parts.push(DEALLOCATE_SQL_PREPARED);
    }
    parts.push("COMMIT");
    parts
}

/// Every operation label: a statement's first keyword from a fixed list
/// (bounded label cardinality), and the pool's own labels.
pub(crate) const OPERATIONS: [&str; 26] = [
    "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK", "SET", "RESET",
    "CREATE", "DROP", "ALTER", "TRUNCATE", "COPY", "CALL", "VALUES", "EXPLAIN", "SHOW", "LISTEN",
    "NOTIFY", "MERGE", "OTHER", "EMPTY", "EXECUTE", "BATCH",
];

/// Keywords recognised as a statement's operation (the head of [`OPERATIONS`]).
const KEYWORDS: usize = 22;

/// The operation name for metrics and spans: the statement's first keyword
/// if it is one of [`OPERATIONS`], else `"OTHER"` (`"EMPTY"` for no text).
pub(crate) fn operation(sql: &str) -> &'static str {
    let t = sql.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
    let end = t
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(t.len());
    let w = &t[..end];
    OPERATIONS[..KEYWORDS]
        .iter()
        .find(|o| o.eq_ignore_ascii_case(w))
        .copied()
        .unwrap_or(if w.is_empty() { "EMPTY" } else { "OTHER" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_table() {
        let cases: &[(&str, Dirty)] = &[
            ("SELECT 1", Dirty(0)),
            ("UPDATE t SET a = 1 WHERE id = $1", Dirty(0)),
            (
                "INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 2",
                Dirty(0),
            ),
            ("ALTER TABLE t ALTER c SET DEFAULT 1", Dirty(0)),
            ("SET search_path = app", Dirty::SETTINGS),
            ("set role alice", Dirty::SETTINGS),
            ("UPDATE t SET a = 1; SET work_mem = '1MB'", Dirty::SETTINGS),
            ("SELECT set_config('a.b', 'c', false)", Dirty::SETTINGS),
            ("RESET ALL", Dirty::SETTINGS),
            ("LISTEN jobs", Dirty::LISTEN),
            ("CREATE TEMP TABLE x (a int)", Dirty::TEMP),
            ("create temporary table x (a int)", Dirty::TEMP),
            ("CREATE TABLE pg_temp.x (a int)", Dirty::TEMP),
            ("PREPARE p AS SELECT 1", Dirty::PREPARE),
            ("DECLARE c CURSOR WITH HOLD FOR SELECT 1", Dirty::CURSOR),
            ("SELECT pg_advisory_lock(1)", Dirty::ADVISORY),
            ("SELECT pg_try_advisory_lock_shared(1)", Dirty::ADVISORY),
            ("SELECT offset_setting FROM settings", Dirty(0)),
            // A comment neither hides a keyword nor makes one.
            (
                "-- update the tenant\nSET app.tenant = '42'",
                Dirty::SETTINGS,
            ),
            ("/* UPDATE */ SET app.tenant = '42'", Dirty::SETTINGS),
            ("SELECT 'SET x = 1', $$LISTEN a$$ -- SET", Dirty(0)),
            ("SELECT \"set\" FROM t", Dirty(0)),
            // What a DO block or a procedure runs cannot be read.
            ("DO E'BEGIN EXECUTE ''S\\x45T ROLE x''; END'", Dirty::ALL),
            ("CALL p()", Dirty::ALL),
            ("INSERT INTO t VALUES (nextval('s'))", Dirty::SEQUENCES),
        ];
        for (sql, want) in cases {
            assert_eq!(scan(sql), *want, "{sql}");
        }
    }

    #[test]
    fn reset_only_what_was_touched() {
        assert_eq!(
            tracked_reset(Dirty::LISTEN),
            [BEGIN, "UNLISTEN *", "COMMIT"]
        );
        let all = tracked_reset(Dirty::ALL).join("; ");
        for part in [
            "CLOSE ALL",
            "SET SESSION AUTHORIZATION DEFAULT",
            "RESET ALL",
            "DISCARD TEMP",
            "from_sql",
        ] {
            assert!(all.contains(part), "{all}");
        }
        assert!(!all.contains("DEALLOCATE ALL"), "{all}");
        assert!(!tracked_reset(Dirty(1 | 2 | 16 | 32))
            .join("; ")
            .contains("DISCARD"));
        let full = full_reset(false);
        assert_eq!(full.first(), Some(&BEGIN));
        assert_eq!(full.last(), Some(&"COMMIT"));
        let text = full.join("; ");
        for part in [
            "SET SESSION AUTHORIZATION DEFAULT",
            "RESET ALL",
            "CLOSE ALL",
            "UNLISTEN *",
            "pg_advisory_unlock_all()",
            "DISCARD TEMP",
        ] {
            assert!(text.contains(part), "{text}");
        }
        // (The driver sends `DISCARD SEQUENCES` in front of every reset's
        // `COMMIT`.)
        let run = full_reset_as_run();
        assert_eq!(run[run.len() - 2..], ["DISCARD SEQUENCES", "COMMIT"]);
        assert_eq!(run[..full.len() - 1], full[..full.len() - 1]);
        // Without a PREPARE in the text: the guard, not the PL/pgSQL block.
        assert!(text.contains(NO_SQL_PREPARED), "{text}");
        assert!(!text.contains("DEALLOCATE"), "{text}");
        assert!(full_reset(true).join("; ").contains("DEALLOCATE"));
        assert_eq!(full_reset(true).last(), Some(&"COMMIT"));
    }

    #[test]
    fn operations() {
        assert_eq!(operation("  select 1"), "SELECT");
        assert_eq!(operation("(SELECT 1)"), "SELECT");
        assert_eq!(operation("vacuum"), "OTHER");
        assert_eq!(operation(""), "EMPTY");
    }
}
