//! `tusk query`: runs one statement and prints its rows as a table or as
//! JSON lines.
//!
//! JSON comes from the binary wire format whenever every column has a
//! mapped type (rows are then streamed). A statement with any other column
//! runs in text format (the driver asks for one format for all columns);
//! columns whose text is not yet the mapped value are then turned back
//! into binary by the server in one extra query per column (see
//! [`convert`]), so that the JSON is the same either way.

mod convert;

use std::future::poll_fn;
use std::io::Write;
use std::pin::Pin;

use futures_core::Stream;
use tusk::{Connection, Executor, Param, Prepare, Query, Row, SimpleQueryMessage};

use crate::error::{write_err, Error};
use crate::json::{self, binary, Json};
use crate::table::Table;
use crate::QueryArgs;

/// Connects and runs `tusk query`.
pub(crate) async fn run(url: &str, args: &QueryArgs, out: &mut dyn Write) -> Result<(), Error> {
    let conn = tusk::connect(url).await?;
    let result = run_on(&conn, args, out).await;
    // Best effort: a polite goodbye; the result is what counts.
    let _ = conn.close().await;
    result
}

/// Runs `tusk query` on an open connection.
pub(crate) async fn run_on(
    conn: &Connection,
    args: &QueryArgs,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let values: Vec<&str> = args.params.iter().map(String::as_str).collect();
    let params: Vec<Param<'_>> = values
        .iter()
        .map(|v| v as &(dyn tusk::ToSql + Sync))
        .collect();
    let sql = args.sql.as_str();

    // Learn the result's columns first: they decide the wire format.
    let stmt = conn.prepare(sql).await?;
    let expected = stmt.params().len();
    if expected != params.len() {
        return Err(Error::Usage(format!(
            "the statement has {expected} parameter{} but {} value{} given; pass one PARAM per $n",
            if expected == 1 { "" } else { "s" },
            params.len(),
            if params.len() == 1 { " was" } else { "s were" },
        )));
    }
    let all_mapped = stmt.columns().iter().all(|c| binary::is_mapped(c.type_()));
    let columns = stmt.columns().to_vec();
    drop(stmt);

    if columns.is_empty() {
        return run_command(conn, sql, &params, args.json, out).await;
    }
    if !args.json {
        let rows = conn.query(Query::new(sql).text(), &params).await?;
        let table = Table::from_text_rows(&columns, &rows)?;
        return out.write_all(table.render().as_bytes()).map_err(write_err);
    }
    if all_mapped {
        let mut rows = conn.query_stream(sql, &params).await?;
        while let Some(row) = next(&mut rows).await? {
            let values = decode_row(&row)?;
            write_object(&row, &values, out)?;
        }
        return Ok(());
    }
    let rows = conn.query(Query::new(sql).text(), &params).await?;
    let values = convert::text_rows(conn, &rows).await?;
    for (row, values) in rows.iter().zip(&values) {
        write_object(row, values, out)?;
    }
    Ok(())
}

/// A statement without result columns (INSERT, CREATE, SET...): run it;
/// the table output shows its command tag (or, with parameters, the rows
/// it affected), the JSON output nothing.
async fn run_command(
    conn: &Connection,
    sql: &str,
    params: &[Param<'_>],
    json: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let line = if params.is_empty() {
        // The simple protocol reports the command tag ("INSERT 0 3").
        let messages = conn.simple_query(sql).await?;
        messages.iter().rev().find_map(|m| match m {
            SimpleQueryMessage::CommandComplete { tag, .. } => Some(tag.clone()),
            _ => None,
        })
    } else {
        let n = conn.execute(sql, params).await?;
        Some(format!(
            "({n} row{} affected)",
            if n == 1 { "" } else { "s" }
        ))
    };
    match line {
        Some(line) if !json => writeln!(out, "{line}").map_err(write_err),
        _ => Ok(()),
    }
}

async fn next(rows: &mut tusk::RowStream) -> Result<Option<Row>, Error> {
    poll_fn(|cx| Pin::new(&mut *rows).poll_next(cx))
        .await
        .transpose()
        .map_err(Error::from)
}

/// The JSON values of a binary row whose columns all have mapped types.
pub(crate) fn decode_row(row: &Row) -> Result<Vec<Json>, Error> {
    row.columns()
        .iter()
        .enumerate()
        .map(|(i, c)| binary::decode(c.type_(), row.raw(i)).map_err(Error::from))
        .collect()
}

fn write_object(row: &Row, values: &[Json], out: &mut dyn Write) -> Result<(), Error> {
    let mut line = json::object(row.columns().iter().map(|c| c.name()).zip(values));
    line.push('\n');
    out.write_all(line.as_bytes()).map_err(write_err)
}
