//! The join-value lock plan: what a refresh locks besides the TVIEW keys,
//! so that two concurrent writers whose rows meet only through a join (a
//! `post` inserted by one, a `comment` on it by the other, no foreign key)
//! cannot both miss each other.
//!
//! A join source maps its changed rows to keys by probing each step of its
//! path with values (`post.id = comment.post_id`). The mapper locks every
//! value it probes a step with; the writer of a row of that step's table
//! locks the same value read from its changed rows (old and new). Whichever
//! flushes second waits for the first to commit, and then sees its rows.
//!
//! Values are grouped by **lock group**: one step table occurrence, the
//! columns it is probed on (in attribute order), and the step's **rank**,
//! its depth in the path (0 for a step joined to the changed row itself).
//! A refresh takes its locks rank by rank, computing the probes of rank
//! `r + 1` only after holding those of rank `r` (so the rows it probes
//! through are final), and the keys last: every transaction takes a
//! TVIEW's locks in the same order, so refreshes cannot deadlock.
//!
//! ```
//! use tviews_core::sql::locks::{ColumnId, LockGroup};
//!
//! let g = LockGroup { id: 0, rank: 0, occurrence: 1, columns: vec![ColumnId { relid: 16390, attno: 2 }] };
//! let json = LockGroup::list_to_json(&[g.clone()]);
//! assert_eq!(LockGroup::list_from_json(&json).unwrap(), [g]);
//! ```

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::path::path_sql;
use super::Catalog;
use crate::analyze::{Analysis, ColumnRef, JoinPath, Mapping};
use crate::error::{Error, Result};

/// A column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ColumnId {
    /// `pg_class.oid` of the table.
    pub relid: u32,
    /// Attribute number.
    pub attno: i16,
}

/// The values one step table occurrence is probed with, at one rank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockGroup {
    /// Identifier within the TVIEW (part of every lock it names).
    pub id: i32,
    /// Depth of the step in its join paths (0: joined to the changed row).
    pub rank: u32,
    /// Index of the step's occurrence in [`Analysis::sources`]: its capture
    /// triggers read the group's columns from changed rows.
    pub occurrence: usize,
    /// The columns probed, in attribute order.
    pub columns: Vec<ColumnId>,
}

/// Where a join source's probe values for one step come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeFrom {
    /// Straight from the captured row: these captured columns (rank 0).
    Root(Vec<usize>),
    /// From this SQL over the captured rows (one `text[]` parameter per
    /// captured column), which joins the steps before it.
    Sql(String),
}

/// How a join source computes the values it probes one step with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The lock group of the step.
    pub group: i32,
    /// Its rank.
    pub rank: u32,
    /// The column each probe value is read from (its type hashes it).
    pub columns: Vec<ColumnId>,
    /// Where the values come from.
    pub from: ProbeFrom,
}

/// Every lock group of a TVIEW, and the probes of each join source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockPlan {
    /// The lock groups.
    pub groups: Vec<LockGroup>,
    /// Probes by source index (join sources only), one per path step.
    pub probes: BTreeMap<usize, Vec<Probe>>,
}

impl LockPlan {
    /// The groups whose values changed rows of `occurrence` carry.
    #[must_use]
    pub fn groups_of(&self, occurrence: usize) -> Vec<&LockGroup> {
        self.groups
            .iter()
            .filter(|g| g.occurrence == occurrence)
            .collect()
    }
}

/// Plans the join-value locks of an analysis.
///
/// # Errors
/// When a catalog lookup fails or a column is missing.
pub fn lock_plan(a: &Analysis, cat: &dyn Catalog) -> Result<LockPlan> {
    let mut plan = LockPlan::default();
    for (i, s) in a.sources.iter().enumerate() {
        let Mapping::Join(j) = &s.mapping else {
            continue;
        };
        let mut depth: Vec<u32> = Vec::with_capacity(j.steps.len());
        let mut ancestors: Vec<Vec<usize>> = Vec::with_capacity(j.steps.len());
        let mut probes = Vec::new();
        for (n, step) in j.steps.iter().enumerate() {
            let mut on = step.on.clone();
            on.sort_by_key(|(attno, _)| *attno);
            let mut d = 0;
            let mut anc: Vec<usize> = Vec::new();
            for (_, r) in &on {
                if let ColumnRef::Step(k, _) = r {
                    let k = *k;
                    if k >= n {
                        return Err(Error::Tree(format!(
                            "join path step {n} refers to a later step {k}"
                        )));
                    }
                    d = d.max(depth[k] + 1);
                    anc.push(k);
                    anc.extend(ancestors[k].iter().copied());
                }
            }
            anc.sort_unstable();
            anc.dedup();
            let occ = a.sources[step.occurrence].relid;
            let columns: Vec<ColumnId> = on
                .iter()
                .map(|(attno, _)| ColumnId {
                    relid: occ,
                    attno: *attno,
                })
                .collect();
            let group = group_id(&mut plan.groups, step.occurrence, columns, d)?;
            let refs: Vec<ColumnRef> = on.iter().map(|(_, r)| *r).collect();
            probes.push(Probe {
                group,
                rank: d,
                columns: refs.iter().map(|r| ref_column(a, s.relid, j, *r)).collect(),
                from: root_only(&refs).map_or_else(
                    || path_sql(s, j, a, cat, &anc, &refs).map(ProbeFrom::Sql),
                    |cols| Ok(ProbeFrom::Root(cols)),
                )?,
            });
            depth.push(d);
            ancestors.push(anc);
        }
        plan.probes.insert(i, probes);
    }
    Ok(plan)
}

/// The group for `(occurrence, columns, rank)`, added if new.
fn group_id(
    groups: &mut Vec<LockGroup>,
    occurrence: usize,
    columns: Vec<ColumnId>,
    rank: u32,
) -> Result<i32> {
    if let Some(g) = groups
        .iter()
        .find(|g| g.occurrence == occurrence && g.rank == rank && g.columns == columns)
    {
        return Ok(g.id);
    }
    let id = i32::try_from(groups.len())
        .map_err(|_| Error::Unsupported("too many join steps".into()))?;
    groups.push(LockGroup {
        id,
        rank,
        occurrence,
        columns,
    });
    Ok(id)
}

/// The captured-column indexes, when every reference is to the root.
fn root_only(refs: &[ColumnRef]) -> Option<Vec<usize>> {
    refs.iter()
        .map(|r| match r {
            ColumnRef::Root(i) => Some(*i),
            ColumnRef::Step(..) => None,
        })
        .collect()
}

fn ref_column(a: &Analysis, root: u32, j: &JoinPath, r: ColumnRef) -> ColumnId {
    match r {
        ColumnRef::Root(i) => ColumnId {
            relid: root,
            attno: j.root_attnos.get(i).copied().unwrap_or(0),
        },
        ColumnRef::Step(s, attno) => ColumnId {
            relid: a.sources[j.steps[s].occurrence].relid,
            attno,
        },
    }
}

fn columns_json(cols: &[ColumnId]) -> Value {
    Value::Array(cols.iter().map(|c| json!([c.relid, c.attno])).collect())
}

fn bad(what: &str) -> Error {
    Error::Catalog(format!(
        "the stored lock plan is unreadable ({what}); recreate the TVIEW"
    ))
}

fn parse_columns(v: &Value) -> Result<Vec<ColumnId>> {
    v.as_array()
        .ok_or_else(|| bad("cols"))?
        .iter()
        .map(|c| {
            let relid = c
                .get(0)
                .and_then(Value::as_u64)
                .and_then(|r| u32::try_from(r).ok());
            let attno = c
                .get(1)
                .and_then(Value::as_i64)
                .and_then(|a| i16::try_from(a).ok());
            match (relid, attno) {
                (Some(relid), Some(attno)) => Ok(ColumnId { relid, attno }),
                _ => Err(bad("column")),
            }
        })
        .collect()
}

fn int<T: TryFrom<i64>>(v: &Value, field: &str) -> Result<T> {
    v.get(field)
        .and_then(Value::as_i64)
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| bad(field))
}

fn parse_list(text: &str) -> Result<Vec<Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => Ok(items),
        _ => Err(bad("not a JSON array")),
    }
}

impl LockGroup {
    /// The groups as stored in the catalog (a JSON array).
    #[must_use]
    pub fn list_to_json(groups: &[LockGroup]) -> String {
        Value::Array(
            groups
                .iter()
                .map(|g| {
                    json!({"id": g.id, "rank": g.rank, "occ": g.occurrence, "cols": columns_json(&g.columns)})
                })
                .collect(),
        )
        .to_string()
    }

    /// Reads [`LockGroup::list_to_json`]'s text.
    ///
    /// # Errors
    /// [`Error::Catalog`] when the text is not such a list.
    pub fn list_from_json(text: &str) -> Result<Vec<LockGroup>> {
        parse_list(text)?
            .iter()
            .map(|g| {
                Ok(LockGroup {
                    id: int(g, "id")?,
                    rank: int(g, "rank")?,
                    occurrence: int(g, "occ")?,
                    columns: parse_columns(g.get("cols").ok_or_else(|| bad("cols"))?)?,
                })
            })
            .collect()
    }
}

impl Probe {
    /// A join source's probes as stored in the catalog (a JSON array).
    #[must_use]
    pub fn list_to_json(probes: &[Probe]) -> String {
        Value::Array(
            probes
                .iter()
                .map(|p| {
                    let mut v =
                        json!({"group": p.group, "rank": p.rank, "cols": columns_json(&p.columns)});
                    match &p.from {
                        ProbeFrom::Root(cols) => v["root"] = json!(cols),
                        ProbeFrom::Sql(sql) => v["sql"] = json!(sql),
                    }
                    v
                })
                .collect(),
        )
        .to_string()
    }

    /// Reads [`Probe::list_to_json`]'s text.
    ///
    /// # Errors
    /// [`Error::Catalog`] when the text is not such a list.
    pub fn list_from_json(text: &str) -> Result<Vec<Probe>> {
        parse_list(text)?
            .iter()
            .map(|p| {
                let from = if let Some(sql) = p.get("sql").and_then(Value::as_str) {
                    ProbeFrom::Sql(sql.to_owned())
                } else {
                    ProbeFrom::Root(
                        p.get("root")
                            .and_then(Value::as_array)
                            .ok_or_else(|| bad("root"))?
                            .iter()
                            .map(|i| {
                                i.as_u64()
                                    .and_then(|i| usize::try_from(i).ok())
                                    .ok_or_else(|| bad("root"))
                            })
                            .collect::<Result<_>>()?,
                    )
                };
                Ok(Probe {
                    group: int(p, "group")?,
                    rank: int(p, "rank")?,
                    columns: parse_columns(p.get("cols").ok_or_else(|| bad("cols"))?)?,
                    from,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
