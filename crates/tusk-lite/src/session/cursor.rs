//! SQL cursors: DECLARE, FETCH, MOVE and CLOSE, with PostgreSQL's
//! semantics for what the statements answer. A cursor's query runs when it
//! is declared (under the snapshot of that moment, as PostgreSQL's
//! cursors read) and its rows are kept; FETCH and MOVE move over them in
//! either direction (backward only when not declared NO SCROLL). A cursor
//! without HOLD ends with its transaction; one WITH HOLD outlives the
//! COMMIT of the transaction that declared it, but not its ROLLBACK.
//! Cursors and the wire protocol's named portals share one namespace:
//! pg_cursors lists both, and a protocol Close of a cursor's name closes
//! it.
//!
//! An error while computing the rows (a division by zero in row 55) is
//! kept with the rows before it: the FETCH or MOVE that reads past them
//! fails with it, as in PostgreSQL, which computes rows as they are
//! fetched (through the wire layer, see `Session::rows_before_errors`).
//!
//! Not done: a ROLLBACK TO SAVEPOINT does not close the cursors declared
//! after the savepoint; the rows are computed at DECLARE, so a volatile
//! function (`nextval`, `clock_timestamp()`) runs for every row then, not
//! as rows are fetched.

use std::collections::BTreeMap;

use super::{Outcome, Session};
use crate::error::{code, Result, SqlError};
use crate::sql::plan::OutColumn;
use crate::sql::statement::{DeclareCursor, Fetch, FetchHow};
use crate::types::Value;

/// A cursor as pg_cursors shows it (SQL cursors and named portals).
#[derive(Clone, Debug)]
pub struct CursorView {
    /// The query text that declared it (for a portal, its statement's).
    pub statement: String,
    pub holdable: bool,
    pub binary: bool,
    pub scrollable: bool,
    /// When it was declared, as timestamptz's microseconds since 2000-01-01.
    pub created: i64,
}

/// A declared cursor.
pub(crate) struct SqlCursor {
    columns: Vec<OutColumn>,
    rows: Vec<Vec<Value>>,
    /// 0: before the first row; n: on row n (1-based); len + 1: after the last.
    pos: usize,
    hold: bool,
    scroll: bool,
    /// Declared in the running transaction (a ROLLBACK closes it even
    /// WITH HOLD).
    new: bool,
    /// The error computing the row after `rows` hit: a read past them
    /// fails with it.
    late_error: Option<SqlError>,
}

/// The session's SQL cursors.
#[derive(Default)]
pub(crate) struct Cursors {
    open: BTreeMap<String, SqlCursor>,
}

/// Microseconds since 2000-01-01 (timestamptz's value) of now.
fn now_micros() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX) - 946_684_800_000_000
}

fn no_cursor(name: &str) -> SqlError {
    SqlError::new(
        code::INVALID_CURSOR_NAME,
        format!("cursor \"{name}\" does not exist"),
    )
}

impl Session {
    /// DECLARE name [BINARY] [NO] SCROLL CURSOR [WITH HOLD] FOR query.
    pub(super) fn declare_cursor(
        &mut self,
        d: &DeclareCursor,
        params: &[Value],
    ) -> Result<Outcome> {
        let in_block = self.txn.as_ref().is_some_and(|t| t.explicit);
        if !d.hold && !in_block {
            return Err(SqlError::new(
                code::NO_ACTIVE_SQL_TRANSACTION,
                "DECLARE CURSOR can only be used in transaction blocks",
            ));
        }
        if self.cursors.open.contains_key(&d.name) || self.portal_names.contains(&d.name) {
            return Err(SqlError::new(
                "42P03",
                format!("cursor \"{}\" already exists", d.name),
            ));
        }
        let stmt = crate::sql::Statement::Query(d.query.clone());
        let out = match self.execute_plan(&stmt, params) {
            Some(r) => r?,
            None => return Err(SqlError::internal("a cursor's query")),
        };
        let view = CursorView {
            statement: std::mem::take(&mut self.statement_text),
            holdable: d.hold,
            binary: d.binary,
            scrollable: d.scroll != Some(false),
            created: now_micros(),
        };
        self.info.cursors.lock().insert(d.name.clone(), view);
        self.cursors.open.insert(
            d.name.clone(),
            SqlCursor {
                columns: d.query.columns.clone(),
                rows: out.rows,
                pos: 0,
                hold: d.hold,
                scroll: d.scroll != Some(false),
                new: true,
                late_error: out.late_error,
            },
        );
        Ok(Outcome::tag("DECLARE CURSOR"))
    }

    /// The query text the next DECLARE CURSOR came in (pg_cursors'
    /// `statement`): the whole text of a simple Query, as PostgreSQL keeps.
    pub fn set_statement_text(&mut self, text: &str) {
        self.statement_text = text.to_string();
    }

    /// The result columns FETCH from cursor `name` gives (Describe).
    pub(super) fn cursor_columns(&self, name: &str) -> Option<Vec<OutColumn>> {
        self.cursors.open.get(name).map(|c| c.columns.clone())
    }

    /// FETCH or MOVE.
    pub(super) fn fetch(&mut self, f: &Fetch) -> Result<Outcome> {
        let Some(c) = self.cursors.open.get_mut(&f.name) else {
            return Err(no_cursor(&f.name));
        };
        let len = c.rows.len();
        let end = len + 1;
        let clamp = |p: i128| -> usize { usize::try_from(p.clamp(0, end as i128)).unwrap_or(end) };
        let backward_error = || {
            SqlError::new("55000", "cursor can only scan forward")
                .with_hint("Declare it with SCROLL option to enable backward scan.")
        };
        // The positions whose rows the statement returns, in order, and
        // where the cursor ends.
        let mut picked: Vec<usize> = Vec::new();
        // FORWARD -n is BACKWARD n, and the other way round.
        let how = match f.how {
            FetchHow::Forward(n) if n < 0 => FetchHow::Backward(n.saturating_neg()),
            FetchHow::Backward(n) if n < 0 => FetchHow::Forward(n.saturating_neg()),
            h => h,
        };
        // A NO SCROLL cursor refuses whatever PostgreSQL would run
        // backward: re-fetching the current row (FETCH 0 or RELATIVE 0 on
        // a row; BACKWARD 0 anywhere; MOVE 0 only counts), a rewind
        // (ABSOLUTE 0 or n not ahead of the cursor, except at the start),
        // and ABSOLUTE -n or LAST (which read to the end, then back).
        let on_row = (1..=len).contains(&c.pos);
        let backward = match how {
            FetchHow::Forward(0) | FetchHow::Relative(0) => on_row && !f.is_move,
            FetchHow::Backward(0) => !f.is_move,
            FetchHow::Backward(_) => true,
            FetchHow::Relative(n) => n < 0,
            FetchHow::Absolute(n) => {
                n < 0 || (n <= i64::try_from(c.pos).unwrap_or(i64::MAX) && !(n == 0 && c.pos == 0))
            }
            FetchHow::Forward(_) => false,
        };
        if backward && !c.scroll {
            return Err(backward_error());
        }
        // Reading past the rows computed before an error reaches it.
        let past = |n: i64, from: usize| (from as i128).saturating_add(i128::from(n)) > len as i128;
        let reads_past = match how {
            FetchHow::Forward(n) => n > 0 && past(n, c.pos),
            FetchHow::Absolute(n) => n < 0 || past(n, 0),
            FetchHow::Relative(n) => n > 0 && past(n, c.pos),
            FetchHow::Backward(_) => false,
        };
        if reads_past {
            if let Some(e) = &c.late_error {
                return Err(e.clone());
            }
        }
        match how {
            FetchHow::Forward(0) | FetchHow::Backward(0) => {
                if on_row {
                    picked.push(c.pos);
                }
            }
            FetchHow::Forward(n) => {
                let mut p = c.pos;
                let mut k = 0i64;
                while k < n && p < len {
                    p += 1;
                    picked.push(p);
                    k += 1;
                }
                c.pos = if k < n { end } else { p };
            }
            FetchHow::Backward(n) => {
                let mut p = c.pos.min(end);
                let mut k = 0i64;
                while k < n && p > 1 {
                    p -= 1;
                    picked.push(p);
                    k += 1;
                }
                c.pos = if k < n { 0 } else { p };
            }
            FetchHow::Absolute(n) => {
                let target = if n >= 0 {
                    i128::from(n)
                } else {
                    len as i128 + 1 + i128::from(n)
                };
                c.pos = clamp(target);
                if (1..=len).contains(&c.pos) {
                    picked.push(c.pos);
                }
            }
            FetchHow::Relative(n) => {
                if n != 0 {
                    c.pos = clamp(c.pos as i128 + i128::from(n));
                }
                if (1..=len).contains(&c.pos) {
                    picked.push(c.pos);
                }
            }
        }
        if f.is_move {
            return Ok(Outcome::tag(format!("MOVE {}", picked.len())));
        }
        Ok(Outcome {
            columns: Some(c.columns.clone()),
            tag: format!("FETCH {}", picked.len()),
            rows: picked.into_iter().map(|p| c.rows[p - 1].clone()).collect(),
            ..Outcome::default()
        })
    }

    /// CLOSE name, or CLOSE ALL (None).
    pub(super) fn close_cursor(&mut self, name: Option<&str>) -> Result<Outcome> {
        match name {
            None => {
                for n in std::mem::take(&mut self.cursors.open).into_keys() {
                    self.info.cursors.lock().remove(&n);
                }
                Ok(Outcome::tag("CLOSE CURSOR ALL"))
            }
            Some(n) => {
                if self.cursors.open.remove(n).is_none() {
                    return Err(no_cursor(n));
                }
                self.info.cursors.lock().remove(n);
                Ok(Outcome::tag("CLOSE CURSOR"))
            }
        }
    }

    /// A protocol Close of portal `name`: closes the cursor of that name,
    /// if there is one (a Close of nothing is no error).
    pub fn close_portal(&mut self, name: &str) {
        if self.cursors.open.remove(name).is_some() {
            self.info.cursors.lock().remove(name);
        }
    }

    /// Whether named protocol portals were open at the last `set_portals`.
    pub fn has_portals(&self) -> bool {
        !self.portal_names.is_empty()
    }

    /// The wire protocol's named portals now open, for pg_cursors and the
    /// shared namespace.
    pub fn set_portals<'a>(&mut self, portals: impl Iterator<Item = (&'a String, &'a str)>) {
        let texts: BTreeMap<&String, &str> = portals.filter(|(n, _)| !n.is_empty()).collect();
        let names: std::collections::BTreeSet<String> =
            texts.keys().map(|n| (*n).clone()).collect();
        if names == self.portal_names {
            return;
        }
        let mut view = self.info.cursors.lock();
        for gone in self.portal_names.difference(&names) {
            if !self.cursors.open.contains_key(gone) {
                view.remove(gone);
            }
        }
        for new in names.difference(&self.portal_names) {
            view.entry(new.clone()).or_insert(CursorView {
                statement: texts.get(new).map(|t| t.to_string()).unwrap_or_default(),
                holdable: false,
                binary: false,
                scrollable: false,
                created: now_micros(),
            });
        }
        drop(view);
        self.portal_names = names;
    }

    /// The error a cursor WITH HOLD declared in this transaction hit after
    /// its rows: PostgreSQL reads such a cursor to its end at COMMIT, so
    /// the COMMIT fails with it (and rolls back).
    pub(super) fn held_cursor_error(&self) -> Option<SqlError> {
        self.cursors
            .open
            .values()
            .find(|c| c.hold && c.new && c.late_error.is_some())
            .and_then(|c| c.late_error.clone())
    }

    /// The end of a transaction: a COMMIT keeps the cursors declared WITH
    /// HOLD, a ROLLBACK only those declared before the transaction.
    pub(super) fn cursors_at_end(&mut self, committed: bool) {
        if self.cursors.open.is_empty() {
            return;
        }
        let mut view = self.info.cursors.lock();
        self.cursors.open.retain(|name, c| {
            let keep = c.hold && (committed || !c.new);
            c.new = false;
            if !keep {
                view.remove(name);
            }
            keep
        });
    }
}
