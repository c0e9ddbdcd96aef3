//! Capture: the statement-level triggers on base tables and the SQL they run
//! over their transition tables, plus the flush-time SQL of join mappings.

use super::locks::{lock_plan, LockPlan, Probe};
use super::path::{column, path_sql};
use super::Catalog;
use crate::analyze::{Analysis, JoinPath, Mapping, Source};
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
    /// Join-value lock groups whose values changed rows carry: the group
    /// id and the columns captured for it, after [`SourcePlan::captured`].
    pub values: Vec<(i32, Vec<String>)>,
    /// For `Join`: how the probe values of each path step are found
    /// ([`Probe::list_to_json`]).
    pub probes: Option<String>,
}

impl SourcePlan {
    /// The capture trigger's layout argument: the number of main captured
    /// columns, then `|group:width` per lock group (`"1|0:1"`).
    #[must_use]
    pub fn layout(&self) -> String {
        let mut s = self.captured.len().to_string();
        for (g, cols) in &self.values {
            s.push_str(&format!("|{g}:{}", cols.len()));
        }
        s
    }
}

/// A capture trigger's layout argument, read back: the number of main
/// columns and `(group, width)` of the lock-group values after them.
///
/// # Errors
/// [`Error::Catalog`] when the text is not a layout.
pub fn parse_layout(text: &str) -> Result<(usize, Vec<(i32, usize)>)> {
    let bad = || Error::Catalog(format!("bad capture layout {text:?}; recreate the TVIEW"));
    let mut parts = text.split('|');
    let main = parts.next().and_then(|m| m.parse().ok()).ok_or_else(bad)?;
    let groups = parts
        .map(|p| {
            let (g, w) = p.split_once(':').ok_or_else(bad)?;
            Ok((g.parse().map_err(|_| bad())?, w.parse().map_err(|_| bad())?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((main, groups))
}

/// Plans every source of an analysis.
///
/// # Errors
/// When a catalog lookup fails or a column is missing.
pub fn plan_sources(a: &Analysis, cat: &dyn Catalog) -> Result<Vec<SourcePlan>> {
    let locks = lock_plan(a, cat)?;
    a.sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let idx = i32::try_from(i).map_err(|_| Error::Unsupported("too many tables".into()))?;
            let mut p = plan_source(idx, s, a, cat)?;
            if p.kind != CaptureKind::Full {
                p.values = values(&locks, i, s)?;
                p.probes = locks.probes.get(&i).map(|pr| Probe::list_to_json(pr));
            }
            Ok(p)
        })
        .collect()
}

/// The lock groups whose columns this source's changed rows carry.
fn values(locks: &LockPlan, occurrence: usize, s: &Source) -> Result<Vec<(i32, Vec<String>)>> {
    locks
        .groups_of(occurrence)
        .into_iter()
        .map(|g| {
            let cols = g
                .columns
                .iter()
                .map(|c| column(s, c.attno))
                .collect::<Result<Vec<_>>>()?;
            Ok((g.id, cols))
        })
        .collect()
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
                values: Vec::new(),
                probes: None,
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
                values: Vec::new(),
                probes: None,
            }
        }
        Mapping::Full { reason } => SourcePlan {
            idx,
            relid: s.relid,
            kind: CaptureKind::Full,
            captured: Vec::new(),
            flush_sql: None,
            detail: format!("full refresh: {reason}"),
            values: Vec::new(),
            probes: None,
        },
    })
}

/// `SELECT DISTINCT key::text, ... FROM unnest($1, ...) r JOIN ...`.
fn join_sql(root: &Source, j: &JoinPath, a: &Analysis, cat: &dyn Catalog) -> Result<String> {
    let all: Vec<usize> = (0..j.steps.len()).collect();
    path_sql(root, j, a, cat, &all, &j.key)
}

/// The SQL a capture trigger runs over its transition tables for one event
/// (`INSERT`, `UPDATE` or `DELETE`): the captured columns as text.
#[must_use]
pub fn capture_sql(p: &SourcePlan, event: &str) -> String {
    let not_null = |c: &String| format!("{} IS NOT NULL", quote_ident(c));
    let cols: Vec<String> = p
        .captured
        .iter()
        .chain(p.values.iter().flat_map(|(_, v)| v))
        .map(|c| format!("{}::pg_catalog.text", quote_ident(c)))
        .collect();
    let main = match p.kind {
        CaptureKind::Direct => p
            .captured
            .iter()
            .map(not_null)
            .collect::<Vec<_>>()
            .join(" AND "),
        _ => p
            .captured
            .iter()
            .map(not_null)
            .collect::<Vec<_>>()
            .join(" OR "),
    };
    // A row is kept for its keys (or join columns) or for any complete
    // lock-group value it carries.
    let filter = if p.values.is_empty() {
        main
    } else {
        std::iter::once(main)
            .chain(
                p.values
                    .iter()
                    .map(|(_, v)| v.iter().map(not_null).collect::<Vec<_>>().join(" AND ")),
            )
            .map(|f| format!("({f})"))
            .collect::<Vec<_>>()
            .join(" OR ")
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

/// Name of a capture trigger: `tviews_<tview id>_<source>_<event>`. The
/// TVIEW is named by its stable id (`tviews._tview.id`), which, unlike its
/// oid, survives pg_dump and pg_restore.
#[must_use]
pub fn trigger_name(tview: i64, idx: i32, event: &str) -> String {
    format!("tviews_{tview}_{idx}_{event}")
}

/// `CREATE TRIGGER` statements for one source on `base` (qualified name),
/// for the TVIEW whose stable id is `tview`.
#[must_use]
pub fn trigger_ddl(tview: i64, p: &SourcePlan, base: &str) -> Vec<String> {
    let call = |kind: &str, sql: &str| {
        let layout = if kind == "f" {
            String::new()
        } else {
            format!(", '{}'", p.layout())
        };
        format!(
            "EXECUTE FUNCTION tviews._capture('{tview}', '{}', '{kind}', {}{layout})",
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
