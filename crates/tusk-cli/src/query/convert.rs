//! Text rows to JSON, for statements with a column of an unmapped type
//! (which ran in text format).
//!
//! Per column: an unmapped type keeps its text as a string; a type whose
//! text is the mapped value is mapped from the text; every other mapped
//! type (dates, intervals, floats, arrays...) is cast back by the server,
//! `SELECT x::<type> FROM unnest($1::text[]) WITH ORDINALITY ...`, and the
//! binary result goes through the same decoder as a binary query. An array
//! of an unmapped type comes back as `text[]`, so it is still a JSON
//! array (of the elements' text forms). Text output and input round-trip
//! exactly in one session, so the JSON does not depend on the path taken.

use tusk::{Connection, Executor, Query, Row, Type};

use crate::error::Error;
use crate::json::{binary, text, Json};

/// How a column's text becomes JSON.
enum Plan {
    /// Its text is the value (or is kept as a string).
    Text,
    /// The server casts the text to this SQL type (then binary decoding).
    Cast(String),
}

/// The JSON values of text-format rows, row by row.
pub(crate) async fn text_rows(conn: &Connection, rows: &[Row]) -> Result<Vec<Vec<Json>>, Error> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns = first.columns();
    let mut out: Vec<Vec<Json>> = rows
        .iter()
        .map(|_| Vec::with_capacity(columns.len()))
        .collect();
    for (i, col) in columns.iter().enumerate() {
        let ty = col.type_();
        let texts = rows
            .iter()
            .map(|r| r.get_text(i).map_err(Error::from))
            .collect::<Result<Vec<Option<&str>>, Error>>()?;
        let values = match plan(conn, ty, col.type_modifier()).await? {
            Plan::Text => texts.iter().map(|t| text::from_text(ty, *t)).collect(),
            Plan::Cast(sql_type) => cast(conn, &sql_type, &texts).await?,
        };
        for (row, value) in out.iter_mut().zip(values) {
            row.push(value);
        }
    }
    Ok(out)
}

async fn plan(conn: &Connection, ty: &Type, typmod: i32) -> Result<Plan, Error> {
    if text::is_direct(ty) {
        return Ok(Plan::Text);
    }
    let mapped = binary::is_mapped(ty);
    let known_array = binary::array_element(ty).is_some();
    // A type tusk does not know by OID (an enum's array, an extension's
    // type) may still be an array: the catalog says.
    let unknown = Type::from_oid(ty.oid()).is_none();
    if !mapped && !known_array && !unknown {
        return Ok(Plan::Text);
    }
    // The column's own type modifier, so the cast changes nothing
    // (`character(4)[]`; with -1, `bpchar`, where NULL would give
    // `character`, which is char(1) and would truncate).
    let row = conn
        .query_one(
            Query::new(
                "SELECT format_type(t.oid, $2), t.typcategory = 'A' AND t.typelem <> 0 \
                 FROM pg_type t WHERE t.oid = $1::int8::oid",
            ),
            &[&i64::from(ty.oid()), &typmod],
        )
        .await?;
    let name: String = row.try_get(0usize)?;
    let is_array: bool = row.try_get(1usize)?;
    Ok(if mapped {
        Plan::Cast(name)
    } else if is_array {
        // An array of an unmapped type: a JSON array of the elements' text.
        Plan::Cast(format!("{name}::text[]"))
    } else {
        Plan::Text
    })
}

/// Casts every text to `sql_type` on the server, in one query, and decodes
/// the binary results.
async fn cast(
    conn: &Connection,
    sql_type: &str,
    texts: &[Option<&str>],
) -> Result<Vec<Json>, Error> {
    let sql = format!(
        "SELECT x::{sql_type} FROM unnest($1::text[]) WITH ORDINALITY AS u(x, n) ORDER BY n"
    );
    let param: Vec<Option<&str>> = texts.to_vec();
    let rows = conn.query(Query::new(&sql).uncached(), &[&param]).await?;
    if rows.len() != texts.len() {
        return Err(Error::Convert(format!(
            "converting {} values to {sql_type} returned {} rows",
            texts.len(),
            rows.len()
        )));
    }
    rows.iter()
        .map(|row| {
            let ty = row
                .columns()
                .first()
                .map(|c| c.type_().clone())
                .unwrap_or(Type::TEXT);
            binary::decode(&ty, row.raw(0)).map_err(Error::from)
        })
        .collect()
}
