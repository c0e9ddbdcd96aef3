//! From SQL text to bound statements: PostgreSQL's own grammar
//! (pg_query), then name and type resolution against the catalog.

pub mod bind;
mod constraints;
mod ddl;
mod dml;
pub mod plan;
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
        SqlError::new(code::SYNTAX_ERROR, msg)
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
