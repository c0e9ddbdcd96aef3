//! Which session state a statement may have changed, and the SQL that
//! resets it. Pure: no I/O, unit-tested below.
//!
//! The rule (docs/pool.md, "Reset on return"): the pool scans the text of
//! every statement a handle runs for the words that change session state and
//! keeps a bit per kind of state. On return, only the kinds that were touched
//! are reset, off the caller's path, before the connection is handed out
//! again. A handle that touched nothing costs nothing.

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
    /// Everything ([`ResetPolicy::Always`](crate::ResetPolicy::Always)).
    pub(crate) const ALL: Dirty = Dirty(63);

    /// True when nothing was touched.
    pub(crate) fn is_clean(self) -> bool {
        self.0 == 0
    }

    /// Both sets of bits.
    pub(crate) fn union(self, other: Dirty) -> Dirty {
        Dirty(self.0 | other.0)
    }

    fn has(self, other: Dirty) -> bool {
        self.0 & other.0 != 0
    }
}

/// Scans SQL text for statements that change session state.
///
/// Conservative: a false positive costs one reset; a false negative would
/// leak state, so anything that looks like it may change the session counts.
/// `SET` counts unless it follows `UPDATE` or `ALTER` in the same statement
/// (`UPDATE t SET ...`, `ALTER TABLE t SET ...`). A backslash and the
/// character after it separate words.
pub(crate) fn scan(sql: &str) -> Dirty {
    let mut dirty = Dirty::default();
    let mut update_or_alter = false;
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\\' {
            i += 2;
            continue;
        }
        if b == b';' {
            update_or_alter = false;
            i += 1;
            continue;
        }
        if !is_word(b) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_word(bytes[i]) {
            i += 1;
        }
        let word = &sql[start..i];
        let eq = |w: &str| word.eq_ignore_ascii_case(w);
        let starts = |p: &str| {
            word.len() >= p.len() && word.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
        };
        if eq("UPDATE") || eq("ALTER") {
            update_or_alter = true;
        } else if eq("SET") {
            if !update_or_alter {
                dirty = dirty.union(Dirty::SETTINGS);
            }
        } else if eq("RESET") || eq("SET_CONFIG") || eq("ROLE") || eq("AUTHORIZATION") {
            dirty = dirty.union(Dirty::SETTINGS);
        } else if eq("LISTEN") {
            dirty = dirty.union(Dirty::LISTEN);
        } else if eq("TEMP") || eq("TEMPORARY") || starts("PG_TEMP") {
            dirty = dirty.union(Dirty::TEMP);
        } else if eq("PREPARE") {
            dirty = dirty.union(Dirty::PREPARE);
        } else if eq("DECLARE") {
            dirty = dirty.union(Dirty::CURSOR);
        } else if starts("PG_ADVISORY_LOCK") || starts("PG_TRY_ADVISORY_LOCK") {
            dirty = dirty.union(Dirty::ADVISORY);
        } else if eq("LOAD") || eq("DISCARD") {
            dirty = dirty.union(Dirty::SETTINGS);
        }
    }
    dirty
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The SQL that undoes the kinds of state in `dirty` (run outside a
/// transaction, after any open one was rolled back).
pub(crate) fn reset_sql(dirty: Dirty) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if dirty.has(Dirty::CURSOR) {
        parts.push("CLOSE ALL");
    }
    if dirty.has(Dirty::SETTINGS) {
        // Role and session authorization are not touched by RESET ALL.
        parts.push("SET SESSION AUTHORIZATION DEFAULT");
        parts.push("RESET ROLE");
        parts.push("RESET ALL");
    }
    if dirty.has(Dirty::LISTEN) {
        parts.push("UNLISTEN *");
    }
    if dirty.has(Dirty::ADVISORY) {
        parts.push("SELECT pg_advisory_unlock_all()");
    }
    if dirty.has(Dirty::TEMP) {
        parts.push("DISCARD TEMP");
    }
    if dirty.has(Dirty::PREPARE) {
        parts.push("DEALLOCATE ALL");
    }
    parts.join("; ")
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
            ("SELECT 'a'\\nSET x = 1", Dirty::SETTINGS),
            ("SELECT offset_setting FROM settings", Dirty(0)),
        ];
        for (sql, want) in cases {
            assert_eq!(scan(sql), *want, "{sql}");
        }
    }

    #[test]
    fn reset_sql_only_what_was_touched() {
        assert_eq!(reset_sql(Dirty::LISTEN), "UNLISTEN *");
        let all = reset_sql(Dirty::ALL);
        for part in [
            "CLOSE ALL",
            "RESET ROLE",
            "RESET ALL",
            "DISCARD TEMP",
            "DEALLOCATE ALL",
        ] {
            assert!(all.contains(part), "{all}");
        }
        assert!(!reset_sql(Dirty(1 | 2 | 16 | 32)).contains("DISCARD"));
    }

    #[test]
    fn operations() {
        assert_eq!(operation("  select 1"), "SELECT");
        assert_eq!(operation("(SELECT 1)"), "SELECT");
        assert_eq!(operation("vacuum"), "OTHER");
        assert_eq!(operation(""), "EMPTY");
    }
}
