//! From SQL text to bound statements: PostgreSQL's own grammar
//! (pg_query), then name and type resolution against the catalog.

pub mod bind;
mod constraints;
mod ddl;
mod dml;
mod explain;
pub mod join;
pub mod libfunc;
pub mod plan;
mod ranges;
mod scope;
pub mod statement;
pub mod syscat;
mod typing;

pub use statement::Statement;

use crate::error::{code, Result, SqlError};

/// Parses `sql` into raw statements (with their source text).
pub fn parse(sql: &str) -> Result<Vec<(pg_query::protobuf::Node, String)>> {
    let parsed = pg_query::parse(sql, 0).map_err(|e| {
        let msg = match e {
            pg_query::Error::Parse(m) => m,
            other => other.to_string(),
        };
        let position = syntax_error_position(sql, &msg);
        SqlError {
            position,
            ..SqlError::new(code::SYNTAX_ERROR, msg)
        }
    })?;
    let mut out = Vec::new();
    for raw in parsed.protobuf.stmts {
        let Some(stmt) = raw.stmt else { continue };
        let start = usize::try_from(raw.stmt_location).unwrap_or(0);
        let text = if raw.stmt_len > 0 {
            let end = start + usize::try_from(raw.stmt_len).unwrap_or(0);
            sql.get(start..end).unwrap_or(sql).to_string()
        } else {
            sql.get(start..).unwrap_or(sql).to_string()
        };
        out.push((*stmt, text));
    }
    Ok(out)
}

/// The cursor position (1-based, in characters) PostgreSQL sends with a
/// syntax error: where the token the grammar could not take starts, or
/// just past the end for "at end of input". pg_query's Rust API drops
/// the position its C library reports, so it is found again: the error
/// token is the first one whose prefix of the text (up to and including
/// it) already fails with an error other than "at end of input"; the
/// parser reads tokens left to right, so that is monotone and a binary
/// search over the scanner's tokens finds it in a few parses. None for
/// errors without a location.
fn syntax_error_position(sql: &str, msg: &str) -> Option<u32> {
    let chars = |bytes: usize| {
        let n = sql.get(..bytes).map_or(0, |p| p.chars().count());
        u32::try_from(n + 1).ok()
    };
    if msg.ends_with(" at end of input") {
        return chars(sql.len());
    }
    if !msg.contains(" at or near ") {
        return None;
    }
    let fails_inside = |end: usize| match sql.get(..end).map(|p| pg_query::parse(p, 0)) {
        Some(Err(pg_query::Error::Parse(m))) => !m.ends_with(" at end of input"),
        _ => false,
    };
    let Ok(scanned) = pg_query::scan(sql) else {
        // A scanner error (an unterminated quoted string or comment):
        // its "at or near" text runs from the error to the end.
        let near = msg.split_once(" at or near \"")?.1.strip_suffix('"')?;
        return sql.strip_suffix(near).and_then(|head| chars(head.len()));
    };
    let bounds: Vec<(usize, usize)> = scanned
        .tokens
        .iter()
        .filter_map(|t| Some((usize::try_from(t.start).ok()?, usize::try_from(t.end).ok()?)))
        .collect();
    let (mut lo, mut hi) = (0, bounds.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fails_inside(bounds[mid].1) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    bounds.get(lo).and_then(|&(start, _)| chars(start))
}
