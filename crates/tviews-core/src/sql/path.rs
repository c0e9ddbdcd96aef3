//! SQL that follows a join path from captured rows: to the TVIEW keys (the
//! flush-time mapping of a join source), or to the values one step of the
//! path is probed with (the join-value locks, see [`super::locks`]).

use super::Catalog;
use crate::analyze::{Analysis, ColumnRef, JoinPath, Source};
use crate::error::{Error, Result};
use crate::ident::quote_ident;

/// The name of column `attno` of a source.
pub(crate) fn column(s: &Source, attno: i16) -> Result<String> {
    usize::try_from(attno)
        .ok()
        .and_then(|a| a.checked_sub(1))
        .and_then(|a| s.columns.get(a))
        .filter(|c| !c.is_empty())
        .cloned()
        .ok_or_else(|| Error::Tree(format!("column {attno} of relation {} not found", s.relid)))
}

/// `SELECT DISTINCT out::text, ... FROM unnest($1, ...) AS tviews_r(c1, ...)
/// JOIN ONLY t s0 ON ... WHERE out IS NOT NULL AND ...`: the captured root
/// rows (one `text[]` parameter per captured column) joined with the path
/// steps `steps` (indexes into `j.steps`, each after the steps it refers
/// to; aliases keep the step's index), giving `outputs` as text.
pub(crate) fn path_sql(
    root: &Source,
    j: &JoinPath,
    a: &Analysis,
    cat: &dyn Catalog,
    steps: &[usize],
    outputs: &[ColumnRef],
) -> Result<String> {
    let mut cols = Vec::new();
    let mut args = Vec::new();
    for (i, attno) in j.root_attnos.iter().enumerate() {
        let ty = cat.column_type(root.relid, *attno)?;
        args.push(format!("${}::pg_catalog.text[]::{ty}[]", i + 1));
        cols.push(format!("c{}", i + 1));
    }
    let col_ref = |r: &ColumnRef| -> Result<String> {
        Ok(match r {
            ColumnRef::Root(i) => format!("tviews_r.c{}", i + 1),
            ColumnRef::Step(s, attno) => {
                let src = &a.sources[j.steps[*s].occurrence];
                format!("s{s}.{}", quote_ident(&column(src, *attno)?))
            }
        })
    };
    let mut sql = String::from("SELECT DISTINCT ");
    let outs = outputs.iter().map(&col_ref).collect::<Result<Vec<_>>>()?;
    sql.push_str(
        &outs
            .iter()
            .map(|k| format!("{k}::pg_catalog.text"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let arrays: Vec<String> = args
        .iter()
        .map(|a| format!("pg_catalog.unnest({a})"))
        .collect();
    sql.push_str(&format!(
        " FROM ROWS FROM ({}) AS tviews_r({})",
        arrays.join(", "),
        cols.join(", ")
    ));
    for &n in steps {
        let step = &j.steps[n];
        let src = &a.sources[step.occurrence];
        let on = step
            .on
            .iter()
            .map(|(attno, r)| {
                Ok(format!(
                    "s{n}.{} {} {}",
                    quote_ident(&column(src, *attno)?),
                    cat.eq_operator(src.relid, *attno)?,
                    col_ref(r)?
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        sql.push_str(&format!(
            " JOIN ONLY {} s{n} ON {}",
            cat.relation_ref(src.relid)?,
            on.join(" AND ")
        ));
    }
    let not_null: Vec<String> = outs.iter().map(|k| format!("{k} IS NOT NULL")).collect();
    sql.push_str(&format!(" WHERE {}", not_null.join(" AND ")));
    Ok(sql)
}
