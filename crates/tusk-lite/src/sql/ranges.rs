//! Range lookups: `WHERE` conjuncts like `id >= 10 AND id < 20` (or
//! `a = 1 AND b > 5` over an index on (a, b)) become a [`KeyRange`], read
//! from the store as a range of keys instead of a scan of the table.
//!
//! A range of keys is a range of values only where the memcomparable key
//! order ([`crate::storage::keys`]) is the type's SQL order, as PostgreSQL
//! compares it: integers, floats (-0 keys as 0, NaN above Infinity, as
//! PostgreSQL orders them), bool, text and varchar (byte order, which is
//! the C collation tusk-lite compares text in), bytea and uuid (memcmp),
//! date, time, timestamp(tz), interval (30-day months, as
//! interval_cmp) and enums (their sort order). Not numeric (its key is a
//! canonical text), char(n) (PostgreSQL ignores trailing blanks), name,
//! json/jsonb or arrays: those keep to equality lookups.

use super::plan::{BinOp, Expr, ExprKind, KeyRange, Lookup, Plan, SortKey};
use crate::catalog::Table;
use crate::types::Type;

/// Whether the key order of values of `ty` is their SQL order.
pub fn orders_by_key(ty: Type) -> bool {
    matches!(
        ty,
        Type::Bool
            | Type::Int2
            | Type::Int4
            | Type::Int8
            | Type::Float4
            | Type::Float8
            | Type::Text
            | Type::Varchar
            | Type::Bytea
            | Type::Uuid
            | Type::Date
            | Type::Time
            | Type::Timestamp
            | Type::Timestamptz
            | Type::Interval
            | Type::Enum(_)
    )
}

/// The column of `table` that `e` compares, as its key sees it, and the
/// type the comparison is in: the column itself (of its own type), or a
/// smallint or integer column widened to integer or bigint (as the
/// binder compares it with a wider value): a widening leaves the value,
/// and so its key, as it is.
pub fn key_column(table: &Table, e: &Expr) -> Option<(usize, Type)> {
    match &e.kind {
        ExprKind::Column(i) => (table.columns.get(*i)?.ty.ty == e.ty.ty).then_some((*i, e.ty.ty)),
        ExprKind::Cast(inner, _) => {
            let ExprKind::Column(i) = inner.kind else {
                return None;
            };
            let col = table.columns.get(i)?.ty.ty;
            let widening = matches!(
                (col, e.ty.ty),
                (Type::Int2, Type::Int4 | Type::Int8) | (Type::Int4, Type::Int8)
            );
            (widening && inner.ty.ty == col).then_some((i, e.ty.ty))
        }
        _ => None,
    }
}

/// `e` as `column op value` (the column of `table` on the left, op one of
/// `<`, `<=`, `>`, `>=`, the value not depending on the row and of the
/// type the column is compared in, one whose key order is its SQL order;
/// see [`key_column`]).
pub fn bound_of<'e>(table: &Table, e: &'e Expr) -> Option<(usize, BinOp, &'e Expr)> {
    let ExprKind::Binary(op, a, b) = &e.kind else {
        return None;
    };
    if !matches!(op, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge) {
        return None;
    }
    let ((col, ty), val, op) = match (key_column(table, a), key_column(table, b)) {
        (Some(c), _) => (c, &**b, *op),
        (None, Some(c)) => (c, &**a, commute(*op)),
        _ => return None,
    };
    (val.ty.ty == ty && orders_by_key(ty) && !super::dml::uses_row(val)).then_some((col, op, val))
}

/// `a op b` as `b op' a`.
fn commute(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::Le => BinOp::Ge,
        BinOp::Gt => BinOp::Lt,
        BinOp::Ge => BinOp::Le,
        o => o,
    }
}

/// The best range of the primary key or of an index that the conjuncts
/// `conj` give, with its score (two per pinned column, one more when the
/// next column is bounded): the key with the highest score, the primary
/// key first on a tie. `pinned` holds the values `=` pins per column.
pub(super) fn best_range(
    table: &Table,
    conj: &[&Expr],
    pinned: &[Option<Expr>],
) -> Option<(KeyRange, usize)> {
    let keys = table
        .primary_key
        .iter()
        .map(|pk| (None, pk.as_slice()))
        .chain(
            table
                .indexes
                .iter()
                .enumerate()
                .map(|(i, x)| (Some(i), x.columns.as_slice())),
        );
    let mut best: Option<(KeyRange, usize)> = None;
    for (index, cols) in keys {
        let eq: Vec<Expr> = cols.iter().map_while(|c| pinned[*c].clone()).collect();
        let Some(&next) = cols.get(eq.len()) else {
            continue; // every column pinned: an equality lookup
        };
        let bounds: Vec<(BinOp, Expr)> = conj
            .iter()
            .filter_map(|c| bound_of(table, c))
            .filter(|(col, _, _)| *col == next)
            .map(|(_, op, v)| (op, v.clone()))
            .collect();
        // A prefix alone is an index's equality lookup already; the
        // primary key has none for a part of it.
        if bounds.is_empty() && (eq.is_empty() || index.is_some()) {
            continue;
        }
        let score = 2 * eq.len() + usize::from(!bounds.is_empty());
        if best.as_ref().is_none_or(|(_, s)| score > *s) {
            best = Some((
                KeyRange {
                    index,
                    eq,
                    bounds,
                    backward: false,
                },
                score,
            ));
        }
    }
    best
}

/// The conjuncts of `e` (nested ANDs, as BETWEEN binds, flattened).
pub(super) fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::And(parts) => parts.iter().flat_map(conjuncts).collect(),
        _ => vec![e],
    }
}

/// Whether the rows of `plan`, a projection over a filtered scan of a
/// table in the order of a key (the whole table in its primary key's
/// order, or a range or prefix of the primary key or of an index), come
/// out already sorted by `keys`, the key read forwards or backwards: the
/// keys (less any of the columns `=` pins, constant here) are the
/// projections of the key's next columns in order, all ascending with
/// NULLs last or all descending with NULLs first (as the key orders
/// NULLs), of types whose key order is their SQL order. Then the sort can
/// go, and a LIMIT stops the scan early; the scan becomes a key range
/// (EXPLAIN: an index scan, as PostgreSQL's).
pub(super) fn scan_in_key_order(plan: &mut Plan, keys: &[SortKey]) -> bool {
    let Plan::Project(input, exprs) = plan else {
        return false;
    };
    let mut scan = &mut **input;
    while let Plan::Filter(inner, _) = scan {
        scan = inner;
    }
    let Plan::Scan { table, key } = scan else {
        return false;
    };
    let (index, pinned) = match key {
        None => (None, 0),
        Some(Lookup::Range(r)) => (r.index, r.eq.len()),
        Some(Lookup::Index(pos, vals)) => (Some(*pos), vals.len()),
        Some(Lookup::Pk(_)) => return false,
    };
    let cols = match index {
        None => match &table.primary_key {
            Some(pk) => pk,
            None => return false,
        },
        Some(pos) => match table.indexes.get(pos) {
            Some(x) => &x.columns,
            None => return false,
        },
    };
    let mut next = pinned;
    let mut backward = None;
    for k in keys {
        let c = match k.expr.kind {
            ExprKind::Column(o) => match exprs.get(o) {
                Some(Expr {
                    kind: ExprKind::Column(c),
                    ..
                }) => *c,
                _ => return false,
            },
            _ => return false,
        };
        if cols[..pinned.min(cols.len())].contains(&c) {
            continue;
        }
        let dir = *backward.get_or_insert(k.desc);
        if cols.get(next) != Some(&c)
            || k.desc != dir
            || k.nulls_first != dir
            || !orders_by_key(table.columns[c].ty.ty)
        {
            return false;
        }
        next += 1;
    }
    let backward = backward.unwrap_or(false);
    match key {
        Some(Lookup::Range(r)) => r.backward = backward,
        Some(Lookup::Index(pos, vals)) => {
            *key = Some(Lookup::Range(KeyRange {
                index: Some(*pos),
                eq: std::mem::take(vals),
                bounds: Vec::new(),
                backward,
            }))
        }
        _ => {
            *key = Some(Lookup::Range(KeyRange {
                index: None,
                eq: Vec::new(),
                bounds: Vec::new(),
                backward,
            }))
        }
    }
    true
}
