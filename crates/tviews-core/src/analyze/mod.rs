//! Analysis of a TVIEW's defining query (its analyzed and rewritten tree, as
//! PostgreSQL's `nodeToString` prints it): which base tables it reads, and for
//! each one how a changed row maps to the TVIEW keys it can affect.
//!
//! Columns that equality conjuncts make equal (`ON c.post_id = p.id`, a
//! correlated `WHERE c.post_id = p.id` in a sublink, `x IN (SELECT y ...)`, a
//! subquery's output and the column it selects) fall into one class. A
//! table whose columns cover every key class maps its rows to keys directly;
//! otherwise the shortest chain of classes through other tables gives a join
//! path; with neither, changes to it refresh the whole TVIEW. Mapping
//! over-approximates (refreshing an unaffected key is harmless), never
//! under-approximates.

pub mod format;
mod plan;
mod uf;
mod walk;

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::node::{Node, Value};

/// The analysis of one defining query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The query's output columns, in order.
    pub columns: Vec<String>,
    /// One entry per base-table occurrence (a table read twice appears twice).
    pub sources: Vec<Source>,
    /// Views the query reads (`pg_class.oid`), expanded into it.
    pub views: Vec<u32>,
}

/// A base-table occurrence and how its changes map to keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `pg_class.oid` of the table.
    pub relid: u32,
    /// `pg_class.relkind` (`r`, `p`, `m`, `f`, ...).
    pub relkind: String,
    /// Column names by attribute number (index 0 is attno 1).
    pub columns: Vec<String>,
    /// How its changed rows map to TVIEW keys.
    pub mapping: Mapping,
}

/// How changed rows of one source map to TVIEW keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// The key is read straight from the changed row: one attno per key column.
    Direct {
        /// Attribute numbers in the changed table, in key-column order.
        key_attnos: Vec<i16>,
    },
    /// The key is found by joining the changed row along equalities.
    Join(JoinPath),
    /// No mapping: a change refreshes the whole TVIEW.
    Full {
        /// Why, for `tviews.dependencies`.
        reason: String,
    },
}

/// A join from a changed row to the TVIEW keys it affects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinPath {
    /// Columns of the changed row that are captured (and later joined on).
    pub root_attnos: Vec<i16>,
    /// Tables joined, each on equalities with the root or an earlier step.
    pub steps: Vec<JoinStep>,
    /// Where each key column is read, in key order.
    pub key: Vec<ColumnRef>,
}

/// One table of a join path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinStep {
    /// Index of the occurrence in [`Analysis::sources`].
    pub occurrence: usize,
    /// `(attno in this table, equal column earlier in the path)`.
    pub on: Vec<(i16, ColumnRef)>,
}

/// A column in a join path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRef {
    /// The i-th captured column of the changed row ([`JoinPath::root_attnos`]).
    Root(usize),
    /// Attribute `attno` of step `i`.
    Step(usize, i16),
}

/// Every operator OID in the tree, so the caller can say which are equality.
#[must_use]
pub fn operators(query: &Node) -> BTreeSet<u32> {
    fn visit(v: &Value, out: &mut BTreeSet<u32>) {
        match v {
            Value::Node(n) => {
                if n.kind == "OPEXPR" {
                    if let Some(o) = n.int("opno").and_then(|o| u32::try_from(o).ok()) {
                        out.insert(o);
                    }
                }
                for (_, f) in &n.fields {
                    visit(f, out);
                }
            }
            Value::List(items) => items.iter().for_each(|i| visit(i, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for (_, f) in &query.fields {
        visit(f, &mut out);
    }
    out
}

/// The output column names of a query (its non-junk target list).
#[must_use]
pub fn output_columns(query: &Node) -> Vec<String> {
    query
        .list("targetList")
        .iter()
        .filter_map(Value::as_node)
        .filter(|te| !te.flag("resjunk"))
        .map(|te| te.text("resname").unwrap_or("?column?").to_owned())
        .collect()
}

/// Analyzes a query for the given key columns; `eq_ops` are the operator
/// OIDs that mean equality.
///
/// # Errors
/// [`Error::MissingKey`] when a key column is not an output column,
/// [`Error::Unsupported`] for queries that are not plain SELECTs, and
/// [`Error::Tree`] for trees this reader does not understand.
pub fn analyze(query: &Node, key: &[String], eq_ops: &BTreeSet<u32>) -> Result<Analysis> {
    let columns = output_columns(query);
    for k in key {
        if !columns.contains(k) {
            return Err(Error::MissingKey {
                column: k.clone(),
                available: columns.join(", "),
            });
        }
    }
    let mut w = walk::Walker::new(eq_ops);
    let top = w.walk(query, None, walk::Kind::Top)?;
    let keys: std::result::Result<Vec<usize>, String> = key
        .iter()
        .map(|k| {
            let te = query
                .list("targetList")
                .iter()
                .filter_map(Value::as_node)
                .find(|te| !te.flag("resjunk") && te.text("resname") == Some(k.as_str()));
            te.and_then(|te| te.get("expr"))
                .and_then(|e| w.var_slot(top, e))
                .map(|s| w.uf.find(s))
                .ok_or_else(|| {
                    format!("key column \"{k}\" is computed, not a plain column of a table")
                })
        })
        .collect();
    let mappings = plan::plan(&mut w, &keys);
    let sources = w
        .occurrences
        .iter()
        .zip(mappings)
        .map(|(o, mapping)| Source {
            relid: o.relid,
            relkind: o.relkind.clone(),
            columns: o.columns.clone(),
            mapping,
        })
        .collect();
    Ok(Analysis {
        columns,
        sources,
        views: w.views.clone(),
    })
}

#[cfg(test)]
mod tests;
