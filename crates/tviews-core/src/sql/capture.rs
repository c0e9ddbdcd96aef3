//! Capture: the statement-level triggers on base tables and the SQL they run
//! over their transition tables, plus the flush-time SQL of join mappings.

use super::Catalog;
use crate::analyze::{Analysis, ColumnRef, JoinPath, Mapping, Source};
use crate::error::{Error, Result};
use crate::ident::{quote_ident, quote_literal};

/// Name of the NEW transition table in capture triggers.
pub const NEW_TABLE: &str = "tviews_new";
/// Name of the OLD transition table in capture triggers.
pub const OLD_TABLE: &str = "tviews_old";

/// What a capture trigger does with its statement's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureKind {
    /// Rows are keys (`'d'`).
    Direct,
    /// Rows are join-path starts, mapped at flush (`'j'`).
    Join,
    /// Any change refreshes the whole TVIEW (`'f'`).
    Full,
}

impl CaptureKind {
    /// The one-letter code passed as a trigger argument.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            CaptureKind::Direct => "d",
            CaptureKind::Join => "j",
            CaptureKind::Full => "f",
        }
    }
}

/// Everything stored for one source of one TVIEW.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePlan {
    /// Index of the source within its TVIEW.
    pub idx: i32,
    /// Base table.
    pub relid: u32,
    /// Capture kind.
    pub kind: CaptureKind,
    /// Columns captured from changed rows (names).
    pub captured: Vec<String>,
    /// For `Join`: maps captured rows (one `text[]` parameter per captured
    /// column) to keys as text.
    pub flush_sql: Option<String>,
    /// Human-readable description for `tviews.dependencies`.
    pub detail: String,
}

/// Plans every source of an analysis.
///
/// # Errors
/// When a catalog lookup fails or a column is missing.
pub fn plan_sources(a: &Analysis, cat: &dyn Catalog) -> Result<Vec<SourcePlan>> {
    a.sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let idx = i32::try_from(i).map_err(|_| Error::Unsupported("too many tables".into()))?;
            plan_source(idx, s, a, cat)
        })
        .collect()
}

fn column(s: &Source, attno: i16) -> Result<String> {
    usize::try_from(attno)
        .ok()
        .and_then(|a| a.checked_sub(1))
        .and_then(|a| s.columns.get(a))
        .filter(|c| !c.is_empty())
        .cloned()
        .ok_or_else(|| Error::Tree(format!("column {attno} of relation {} not found", s.relid)))
}

fn plan_source(idx: i32, s: &Source, a: &Analysis, cat: &dyn Catalog) -> Result<SourcePlan> {
    Ok(match &s.mapping {
        Mapping::Direct { key_attnos } => {
            let captured = key_attnos
                .iter()
                .map(|n| column(s, *n))
                .collect::<Result<Vec<_>>>()?;
            SourcePlan {
                idx,
                relid: s.relid,
                kind: CaptureKind::Direct,
                detail: format!("key from ({})", captured.join(", ")),
                captured,
                flush_sql: None,
            }
        }
        Mapping::Join(j) => {
            let captured = j
                .root_attnos
                .iter()
                .map(|n| column(s, *n))
                .collect::<Result<Vec<_>>>()?;
            let sql = join_sql(s, j, a, cat)?;
            let path: Vec<String> = j
                .steps
                .iter()
                .map(|st| cat.relation(a.sources[st.occurrence].relid))
                .collect::<Result<_>>()?;
            SourcePlan {
                idx,
                relid: s.relid,
                kind: CaptureKind::Join,
                detail: format!("via {} on ({})", path.join(" -> "), captured.join(", ")),
                captured,
                flush_sql: Some(sql),
            }
        }
        Mapping::Full { reason } => SourcePlan {
            idx,
            relid: s.relid,
            kind: CaptureKind::Full,
            captured: Vec::new(),
            flush_sql: None,
            detail: format!("full refresh: {reason}"),
        },
    })
}

/// `SELECT DISTINCT key::text, ... FROM unnest($1, ...) r JOIN ...`.
fn join_sql(root: &Source, j: &JoinPath, a: &Analysis, cat: &dyn Catalog) -> Result<String> {
    let mut cols = Vec::new();
    let mut args = Vec::new();
    for (i, attno) in j.root_attnos.iter().enumerate() {
        let ty = cat.column_type(root.relid, *attno)?;
        args.push(format!("${}::text[]::{ty}[]", i + 1));
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
    let keys = j.key.iter().map(&col_ref).collect::<Result<Vec<_>>>()?;
    sql.push_str(
        &keys
            .iter()
            .map(|k| format!("{k}::text"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    sql.push_str(&format!(
        " FROM unnest({}) AS tviews_r({})",
        args.join(", "),
        cols.join(", ")
    ));
    for (n, step) in j.steps.iter().enumerate() {
        let src = &a.sources[step.occurrence];
        let on = step
            .on
            .iter()
            .map(|(attno, r)| {
                Ok(format!(
                    "s{n}.{} = {}",
                    quote_ident(&column(src, *attno)?),
                    col_ref(r)?
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        sql.push_str(&format!(
            " JOIN ONLY {} s{n} ON {}",
            cat.relation(src.relid)?,
            on.join(" AND ")
        ));
    }
    let not_null: Vec<String> = keys.iter().map(|k| format!("{k} IS NOT NULL")).collect();
    sql.push_str(&format!(" WHERE {}", not_null.join(" AND ")));
    Ok(sql)
}

/// The SQL a capture trigger runs over its transition tables for one event
/// (`INSERT`, `UPDATE` or `DELETE`): the captured columns as text.
#[must_use]
pub fn capture_sql(p: &SourcePlan, event: &str) -> String {
    let cols: Vec<String> = p
        .captured
        .iter()
        .map(|c| format!("{}::text", quote_ident(c)))
        .collect();
    let filter = match p.kind {
        CaptureKind::Direct => p
            .captured
            .iter()
            .map(|c| format!("{} IS NOT NULL", quote_ident(c)))
            .collect::<Vec<_>>()
            .join(" AND "),
        _ => p
            .captured
            .iter()
            .map(|c| format!("{} IS NOT NULL", quote_ident(c)))
            .collect::<Vec<_>>()
            .join(" OR "),
    };
    let one = |t: &str| format!("SELECT {} FROM {t} WHERE {filter}", cols.join(", "));
    match event {
        "INSERT" => format!("{} GROUP BY {}", one(NEW_TABLE), group_by(cols.len())),
        "DELETE" => format!("{} GROUP BY {}", one(OLD_TABLE), group_by(cols.len())),
        _ => format!("{} UNION {}", one(OLD_TABLE), one(NEW_TABLE)),
    }
}

fn group_by(n: usize) -> String {
    (1..=n)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Name of a capture trigger: `tviews_<tview>_<source>_<event>`.
#[must_use]
pub fn trigger_name(tview: u32, idx: i32, event: &str) -> String {
    format!("tviews_{tview}_{idx}_{event}")
}

/// `CREATE TRIGGER` statements for one source on `base` (qualified name).
#[must_use]
pub fn trigger_ddl(tview: u32, p: &SourcePlan, base: &str) -> Vec<String> {
    let call = |kind: &str, sql: &str| {
        format!(
            "EXECUTE FUNCTION tviews._capture('{tview}', '{}', '{kind}', {})",
            p.idx,
            quote_literal(sql)
        )
    };
    if p.kind == CaptureKind::Full {
        return vec![format!(
            "CREATE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {base} FOR EACH STATEMENT {}",
            quote_ident(&trigger_name(tview, p.idx, "all")),
            call("f", "")
        )];
    }
    let code = p.kind.code();
    vec![
        format!(
            "CREATE TRIGGER {} AFTER INSERT ON {base} REFERENCING NEW TABLE AS {NEW_TABLE} FOR EACH STATEMENT {}",
            quote_ident(&trigger_name(tview, p.idx, "ins")),
            call(code, &capture_sql(p, "INSERT"))
        ),
        format!(
            "CREATE TRIGGER {} AFTER UPDATE ON {base} REFERENCING OLD TABLE AS {OLD_TABLE} NEW TABLE AS {NEW_TABLE} FOR EACH STATEMENT {}",
            quote_ident(&trigger_name(tview, p.idx, "upd")),
            call(code, &capture_sql(p, "UPDATE"))
        ),
        format!(
            "CREATE TRIGGER {} AFTER DELETE ON {base} REFERENCING OLD TABLE AS {OLD_TABLE} FOR EACH STATEMENT {}",
            quote_ident(&trigger_name(tview, p.idx, "del")),
            call(code, &capture_sql(p, "DELETE"))
        ),
        format!(
            "CREATE TRIGGER {} AFTER TRUNCATE ON {base} FOR EACH STATEMENT {}",
            quote_ident(&trigger_name(tview, p.idx, "trunc")),
            call("f", "")
        ),
    ]
}

#[cfg(test)]
mod tests;
