//! How a join finds its pairs: from the equalities of its ON clause
//! between the two sides, each left row's matches come from a hash table
//! over the right side's key values (any join kind), or from the right
//! table's primary key or an index (inner and left joins whose right side
//! is a table scan); anything else is a nested loop over every pair.
//!
//! Both strategies give exactly the nested loop's rows, in its order: a
//! candidate pair still passes the whole ON clause, so the keys only have
//! to make equal values meet (`keys::encode` makes `=`'s equal values
//! encode equally: -0 and 0, every NaN, 1.0 and 1.00, '1 day' and
//! '24 hours'); a key is an expression that cannot fail (a column, a cast
//! that cannot fail, a COALESCE of such, ...) of one side's columns, of
//! one value class on both sides, so computing it per row raises no error
//! the nested loop would not.

use std::sync::Arc;

use super::bind::children;
use super::plan::{BinOp, Expr, ExprKind, Func, JoinKind, Lookup, Plan};
use crate::catalog::Table;
use crate::types::{ColType, Type};

/// The AND-ed parts of a condition, nested ANDs flattened.
pub fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::And(parts) => parts.iter().flat_map(conjuncts).collect(),
        _ => vec![e],
    }
}

/// `left = right` of the ON clause, `left` over the left row's columns,
/// `right` over the right row's (numbered from 0).
#[derive(Clone, Debug)]
pub struct EquiKey<'a> {
    /// The conjunct, as bound (over the joined row).
    pub conj: &'a Expr,
    pub left: Expr,
    pub right: Expr,
}

/// How a [`Plan::Join`] runs.
#[derive(Debug)]
pub enum Strategy<'a> {
    /// Every pair of rows is tried.
    NestedLoop,
    /// A hash table over the right rows' key values, probed with each
    /// left row's.
    Hash {
        keys: Vec<EquiKey<'a>>,
        /// The other conjuncts of ON (checked with the keys on each
        /// candidate pair).
        rest: Vec<&'a Expr>,
    },
    /// The right side is a scan of `table` (under `filter`): each left
    /// row's matches are read by `lookup`, whose values are expressions
    /// of the left row.
    Index {
        table: &'a Arc<Table>,
        filter: Option<&'a Expr>,
        lookup: Lookup,
        /// The equalities the lookup uses, and the rest of ON.
        keys: Vec<EquiKey<'a>>,
        rest: Vec<&'a Expr>,
    },
    /// Inner and right joins whose left side is a scan of `table` (under
    /// `filter`) and whose right side is not: each right row's matches
    /// are read by `lookup`, whose values are expressions of the right
    /// row (the keys here have their sides swapped).
    IndexLeft {
        table: &'a Arc<Table>,
        filter: Option<&'a Expr>,
        lookup: Lookup,
        keys: Vec<EquiKey<'a>>,
        rest: Vec<&'a Expr>,
    },
}

/// Which side of a join an expression's columns come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// The side whose columns `e` reads, when `e` is a join key: an
/// expression that cannot fail ([`infallible`]: a column, a cast of one
/// that cannot fail, a COALESCE of such, ...) reading columns of one side
/// only.
fn key_side(e: &Expr, left_width: usize, width: usize) -> Option<Side> {
    if !infallible(e) {
        return None;
    }
    columns_side(e, left_width, width)
}

/// The side whose columns `e` reads (of a row of `width` columns, the
/// left side's `left_width` first), when it reads columns of one side only.
fn columns_side(e: &Expr, left_width: usize, width: usize) -> Option<Side> {
    let (mut left, mut right, mut other) = (false, false, false);
    visit_columns(e, &mut |i| {
        if i < left_width {
            left = true;
        } else if i < width {
            right = true;
        } else {
            other = true;
        }
    });
    match (left, right, other) {
        (true, false, false) => Some(Side::Left),
        (false, true, false) => Some(Side::Right),
        _ => None,
    }
}

/// Casts that never fail and never depend on settings: widening an
/// integer, integer to numeric, float4 to float8, a string type to text.
fn infallible_cast(from: ColType, to: ColType) -> bool {
    use Type::*;
    if to.typmod != -1 {
        return false;
    }
    matches!(
        (from.ty, to.ty),
        (Int2, Int2 | Int4 | Int8 | Numeric)
            | (Int4, Int4 | Int8 | Numeric)
            | (Int8, Int8 | Numeric)
            | (Float4, Float4 | Float8)
            | (Float8, Float8)
            | (Text | Varchar | Name | Bpchar, Text)
            | (Text | Varchar | Bpchar, Bpchar)
    )
}

/// The class of values `=` compares a type's values within: two key
/// types of one class compare (and encode) their values alike.
fn value_class(t: ColType) -> Option<(u8, Option<ColType>)> {
    use Type::*;
    Some(match t.ty {
        Int2 | Int4 | Int8 => (1, None),
        Float4 | Float8 => (2, None),
        Numeric => (3, None),
        Text | Varchar | Name => (4, None),
        Bpchar => (5, None),
        Bool | Oid | Date | Timestamp | Timestamptz | Time | Interval | Uuid | Bytea | Jsonb
        | Enum(_) => (6, Some(ColType::plain(t.ty))),
        // Arrays: of one element type (the ColType says which).
        Array => (7, Some(t)),
        Unknown | Char | Json => return None,
    })
}

fn same_class(a: ColType, b: ColType) -> bool {
    matches!((value_class(a), value_class(b)), (Some(x), Some(y)) if x == y)
}

/// Whether evaluating `e` more or fewer times, or on fewer pairs, cannot
/// change a result: no subquery, aggregate or volatile function.
pub fn is_stable(e: &Expr) -> bool {
    let own = match &e.kind {
        ExprKind::Subquery { .. } | ExprKind::Agg(_) => false,
        ExprKind::Func(f, _) => !volatile(*f),
        _ => true,
    };
    own && children(e).into_iter().all(is_stable)
}

fn volatile(f: Func) -> bool {
    match f {
        Func::Random
        | Func::Nextval
        | Func::Currval
        | Func::Setval
        | Func::ClockTimestamp
        | Func::PgSleep
        | Func::PgNotify
        | Func::AdvisoryUnlockAll
        | Func::AdvisoryLock
        | Func::AdvisoryTryLock
        | Func::AdvisoryUnlock
        | Func::SetConfig
        | Func::TerminateBackend => true,
        Func::Lib(l) => l.is_volatile(),
        _ => false,
    }
}

/// Calls `f` with each column of the current row that `e` reads
/// (outside subqueries).
pub fn visit_columns(e: &Expr, f: &mut dyn FnMut(usize)) {
    if let ExprKind::Column(i) = e.kind {
        f(i);
    }
    for k in children(e) {
        visit_columns(k, f);
    }
}

/// The equality `c` as a join key, when it is one.
fn equi_key(c: &Expr, left_width: usize, width: usize) -> Option<EquiKey<'_>> {
    let ExprKind::Binary(BinOp::Eq, a, b) = &c.kind else {
        return None;
    };
    if !same_class(a.ty, b.ty) {
        return None;
    }
    let (l, r) = match (
        key_side(a, left_width, width)?,
        key_side(b, left_width, width)?,
    ) {
        (Side::Left, Side::Right) => (a, b),
        (Side::Right, Side::Left) => (b, a),
        _ => return None,
    };
    Some(EquiKey {
        conj: c,
        left: (**l).clone(),
        right: map_columns((**r).clone(), &|i| i - left_width),
    })
}

/// The table a join's right side scans whole, and the filter over it.
fn table_scan(plan: &Plan) -> Option<(&Arc<Table>, Option<&Expr>)> {
    match plan {
        Plan::Scan { table, key: None } => Some((table, None)),
        Plan::Filter(input, pred) if is_stable(pred) => match input.as_ref() {
            Plan::Scan { table, key: None } => Some((table, Some(pred))),
            _ => None,
        },
        _ => None,
    }
}

/// The lookup of `table` that the keys pin (the primary key whole, else
/// the index with the longest pinned prefix, a unique index pinned whole
/// first), with the keys it uses, in lookup order.
fn index_lookup<'a>(table: &Table, keys: &[EquiKey<'a>]) -> Option<(Lookup, Vec<EquiKey<'a>>)> {
    let mut pinned: Vec<Option<&EquiKey<'a>>> = vec![None; table.columns.len()];
    for k in keys {
        let ExprKind::Column(i) = k.right.kind else {
            continue;
        };
        let Some(col) = table.columns.get(i) else {
            continue;
        };
        let t = col.ty.ty;
        let fits = k.left.ty.ty == t || (k.left.ty.ty.is_integer() && t.is_integer());
        if fits && k.right.ty.ty == t && pinned[i].is_none() {
            pinned[i] = Some(k);
        }
    }
    let take = |cols: &[usize]| -> Vec<EquiKey<'a>> {
        cols.iter()
            .map_while(|c| pinned.get(*c).copied().flatten().cloned())
            .collect()
    };
    if let Some(pk) = &table.primary_key {
        let used = take(pk);
        if !pk.is_empty() && used.len() == pk.len() {
            let vals = used.iter().map(|k| k.left.clone()).collect();
            return Some((Lookup::Pk(vals), used));
        }
    }
    let mut best: Option<(usize, Vec<EquiKey<'a>>, bool)> = None;
    for (pos, idx) in table.indexes.iter().enumerate() {
        let used = take(&idx.columns);
        if used.is_empty() {
            continue;
        }
        let whole_unique = idx.unique && used.len() == idx.columns.len();
        let better = match &best {
            None => true,
            Some((_, b, bu)) => {
                (whole_unique && !bu) || (whole_unique == *bu && used.len() > b.len())
            }
        };
        if better {
            best = Some((pos, used, whole_unique));
        }
    }
    best.map(|(pos, used, _)| {
        let vals = used.iter().map(|k| k.left.clone()).collect();
        (Lookup::Index(pos, vals), used)
    })
}

/// The equalities of `on` (over a left row of `left_width` columns
/// followed by a right row of `right_width`) a hash join can key on;
/// none when `on` is not [`is_stable`].
pub fn hash_keys(on: &Expr, left_width: usize, right_width: usize) -> Vec<EquiKey<'_>> {
    if !is_stable(on) {
        return Vec::new();
    }
    let width = left_width + right_width;
    conjuncts(on)
        .into_iter()
        .filter_map(|c| equi_key(c, left_width, width))
        .collect()
}

/// Whether PostgreSQL plans `FULL JOIN ... ON on`: its merge and hash
/// joins need a merge- or hash-joinable equality between the two sides
/// among the AND-ed conditions (the others may be anything), unless
/// nothing but constants is left of ON. Elsewhere it refuses with 0A000.
pub fn full_join_supported(on: &Expr, left_width: usize, right_width: usize) -> bool {
    let width = left_width + right_width;
    let parts = conjuncts(on);
    let constant = |c: &Expr| {
        let mut cols = false;
        visit_columns(c, &mut |_| cols = true);
        !cols && is_stable(c) && !has_subquery(c)
    };
    // PostgreSQL folds `x OR true` to true and drops `false` from an OR
    // before it looks for a joinable equality: `ON l.a = r.a OR false`
    // is `ON l.a = r.a`.
    let literal = |e: &Expr, b: bool| matches!(&e.kind, ExprKind::Const(crate::types::Value::Bool(x)) if *x == b);
    let folded = |c: &Expr| -> Option<bool> {
        let ExprKind::Or(ors) = &c.kind else {
            return None;
        };
        if ors.iter().any(|o| literal(o, true)) {
            return Some(true);
        }
        let mut rest = ors.iter().filter(|o| !literal(o, false));
        match (rest.next(), rest.next()) {
            (Some(only), None) => Some(joinable_equality(only, left_width, width)),
            _ => None,
        }
    };
    let always_true =
        |c: &Expr| matches!(&c.kind, ExprKind::Or(ors) if ors.iter().any(|o| literal(o, true)));
    if parts.iter().all(|c| constant(c) || always_true(c)) {
        return true;
    }
    parts.iter().any(|c| {
        joinable_equality(c, left_width, width) || (!always_true(c) && folded(c) == Some(true))
    })
}

/// `l = r` (or `NOT l <> r`, `l IN (r)`) with `l` over one side's columns
/// and `r` over the other's, both of a type with a hashable `=`, nothing
/// volatile in either.
fn joinable_equality(c: &Expr, left_width: usize, width: usize) -> bool {
    let (a, b) = match &c.kind {
        ExprKind::Binary(BinOp::Eq, a, b) => (a.as_ref(), b.as_ref()),
        ExprKind::Not(n) => match &n.kind {
            ExprKind::Binary(BinOp::Ne, a, b) => (a.as_ref(), b.as_ref()),
            _ => return false,
        },
        ExprKind::InList(a, v, false) if v.len() == 1 => (a.as_ref(), &v[0]),
        _ => return false,
    };
    if value_class(a.ty).is_none() || value_class(b.ty).is_none() {
        return false;
    }
    let side = |e: &Expr| -> Option<Side> {
        if !is_stable(e) || has_subquery(e) {
            return None;
        }
        columns_side(e, left_width, width)
    };
    matches!(
        (side(a), side(b)),
        (Some(Side::Left), Some(Side::Right)) | (Some(Side::Right), Some(Side::Left))
    )
}

fn has_subquery(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Subquery { .. }) || children(e).into_iter().any(has_subquery)
}

/// The strategy for `left JOIN right ON on`.
pub fn choose<'a>(
    left: &'a Plan,
    right: &'a Plan,
    kind: JoinKind,
    on: Option<&'a Expr>,
    left_width: usize,
    right_width: usize,
) -> Strategy<'a> {
    let Some(on) = on else {
        return Strategy::NestedLoop;
    };
    if !is_stable(on) {
        return Strategy::NestedLoop;
    }
    let parts = conjuncts(on);
    let keys = hash_keys(on, left_width, right_width);
    if keys.is_empty() {
        return Strategy::NestedLoop;
    }
    let rest_of = |used: &[EquiKey<'a>]| -> Vec<&'a Expr> {
        parts
            .iter()
            .filter(|c| !used.iter().any(|k| std::ptr::eq(k.conj, **c)))
            .copied()
            .collect()
    };
    if matches!(kind, JoinKind::Inner | JoinKind::Left) {
        if let Some((table, filter)) = table_scan(right) {
            if let Some((lookup, used)) = index_lookup(table, &keys) {
                let rest = rest_of(&used);
                return Strategy::Index {
                    table,
                    filter,
                    lookup,
                    keys: used,
                    rest,
                };
            }
        }
    }
    if matches!(kind, JoinKind::Inner | JoinKind::Right) && table_scan(right).is_none() {
        if let Some((table, filter)) = table_scan(left) {
            // The keys seen from the right side: the left table's columns
            // are pinned by expressions of the right row.
            let swapped: Vec<EquiKey<'a>> = keys
                .iter()
                .map(|k| EquiKey {
                    conj: k.conj,
                    left: k.right.clone(),
                    right: k.left.clone(),
                })
                .collect();
            if let Some((lookup, used)) = index_lookup(table, &swapped) {
                let rest = rest_of(&used);
                return Strategy::IndexLeft {
                    table,
                    filter,
                    lookup,
                    keys: used,
                    rest,
                };
            }
        }
    }
    let rest = rest_of(&keys);
    Strategy::Hash { keys, rest }
}

// ---- WHERE over joins ------------------------------------------------

/// `pred` (a WHERE over `plan`'s rows) with its conjuncts moved down
/// into the joins under it, as PostgreSQL's planner moves quals: one that
/// reads both sides of an inner join joins them (its ON, where a hash or
/// index can use it); one that reads one side of an inner join, or the
/// preserved side of an outer join, filters that side. What stays (a
/// condition that could fail, a constant one, one reading a column of
/// an outer join's nullable side) filters the joined rows as before.
pub fn push_where(plan: Plan, pred: Expr) -> Plan {
    if !pushes_into(&plan) {
        return Plan::Filter(Box::new(plan), pred);
    }
    let mut plan = plan;
    let mut keep = Vec::new();
    for c in owned_conjuncts(pred) {
        match push_conjunct(plan, c) {
            Push::Moved(p) => plan = p,
            Push::Kept(p, c) => {
                plan = p;
                keep.push(c);
            }
        }
    }
    add_filter(plan, keep)
}

/// Whether [`push_where`] can move conditions into `plan`: a join, or
/// a projection of one (JOIN ... USING, a subquery) by stable
/// expressions.
pub fn pushes_into(plan: &Plan) -> bool {
    match plan {
        Plan::Join { .. } => true,
        Plan::Project(input, exprs) => {
            matches!(input.as_ref(), Plan::Join { .. }) && exprs.iter().all(is_stable)
        }
        _ => false,
    }
}

/// UPDATE ... FROM / DELETE ... USING: `from` (the FROM items' rows)
/// with the WHERE's conditions on them alone moved in (a copy: `filter`
/// still checks them), so FROM items listed with commas join by their
/// keys instead of as a cross product. Which FROM row a target row meets
/// first is unchanged: the rows dropped could not pass `filter`, and the
/// joins keep the nested loop's order.
pub fn push_into_from(from: Plan, filter: Option<&Expr>, target_width: usize) -> Plan {
    let Some(f) = filter else {
        return from;
    };
    let parts: Vec<Expr> = conjuncts(f)
        .into_iter()
        .filter(|c| {
            let mut cols = Vec::new();
            visit_columns(c, &mut |i| cols.push(i));
            infallible(c) && !cols.is_empty() && cols.iter().all(|&i| i >= target_width)
        })
        .map(|c| map_columns(c.clone(), &|i| i - target_width))
        .collect();
    match and_all(parts) {
        Some(pred) => push_where(from, pred),
        None => from,
    }
}

/// Whether `e` can neither fail nor change with how often it runs:
/// comparisons, AND/OR/NOT and NULL tests of columns, constants,
/// parameters and casts that cannot fail. Only such conditions move: a
/// WHERE checked lazily (under a LIMIT, say) must not start failing on
/// rows it never reached before.
fn infallible(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Column(_) | ExprKind::Const(_) | ExprKind::Param(_) | ExprKind::Outer(..) => true,
        ExprKind::Binary(op, a, b) => op.is_comparison() && infallible(a) && infallible(b),
        ExprKind::IsDistinct(a, b, _) => infallible(a) && infallible(b),
        ExprKind::Not(a) | ExprKind::IsNull(a, _) | ExprKind::BoolTest(a, _) => infallible(a),
        ExprKind::Cast(a, _) => infallible_cast(a.ty, e.ty) && infallible(a),
        ExprKind::And(v) | ExprKind::Or(v) | ExprKind::Coalesce(v) => v.iter().all(infallible),
        ExprKind::InList(a, v, _) => infallible(a) && v.iter().all(infallible),
        _ => false,
    }
}

/// What [`push_conjunct`] did.
enum Push {
    /// The plan with the conjunct inside it.
    Moved(Plan),
    /// The plan unchanged and the conjunct, which stays above it.
    Kept(Plan, Expr),
}

fn owned_conjuncts(e: Expr) -> Vec<Expr> {
    match e.kind {
        ExprKind::And(parts) => parts.into_iter().flat_map(owned_conjuncts).collect(),
        _ => vec![e],
    }
}

fn and_all(mut parts: Vec<Expr>) -> Option<Expr> {
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Expr::new(ExprKind::And(parts), ColType::plain(Type::Bool))),
    }
}

/// `plan` under a Filter of `parts` (none: `plan`).
fn add_filter(plan: Plan, parts: Vec<Expr>) -> Plan {
    match and_all(parts) {
        Some(p) => Plan::Filter(Box::new(plan), p),
        None => plan,
    }
}

/// Moves `c` into `plan` (a join, or a projection of one), or gives both
/// back when it cannot move.
fn push_conjunct(plan: Plan, c: Expr) -> Push {
    if !infallible(&c) {
        return Push::Kept(plan, c);
    }
    let mut cols = Vec::new();
    visit_columns(&c, &mut |i| cols.push(i));
    if cols.is_empty() {
        return Push::Kept(plan, c);
    }
    match plan {
        Plan::Join {
            left,
            right,
            kind,
            on,
            left_width,
            right_width,
        } => {
            let all_left = cols.iter().all(|&i| i < left_width);
            let all_right = cols.iter().all(|&i| i >= left_width);
            let rebuild = |left: Box<Plan>, right: Box<Plan>, on: Option<Expr>| Plan::Join {
                left,
                right,
                kind,
                on,
                left_width,
                right_width,
            };
            match kind {
                JoinKind::Inner | JoinKind::Left if all_left => {
                    Push::Moved(rebuild(Box::new(filter_side(*left, c)), right, on))
                }
                JoinKind::Inner | JoinKind::Right if all_right => {
                    let c = map_columns(c, &|i| i - left_width);
                    Push::Moved(rebuild(left, Box::new(filter_side(*right, c)), on))
                }
                JoinKind::Inner if !all_left && !all_right => {
                    let mut parts: Vec<Expr> = on.map(owned_conjuncts).unwrap_or_default();
                    parts.push(c);
                    Push::Moved(rebuild(left, right, and_all(parts)))
                }
                _ => Push::Kept(rebuild(left, right, on), c),
            }
        }
        // JOIN ... USING: through the projection that merges the
        // columns, when the conjunct reads plain columns of the join.
        Plan::Project(input, exprs)
            if matches!(input.as_ref(), Plan::Join { .. })
                && exprs.iter().all(is_stable)
                && cols.iter().all(|&i| {
                    matches!(exprs.get(i).map(|e| &e.kind), Some(ExprKind::Column(_)))
                }) =>
        {
            let to: Vec<usize> = exprs
                .iter()
                .map(|e| match e.kind {
                    ExprKind::Column(j) => j,
                    _ => usize::MAX,
                })
                .collect();
            let moved = map_columns(c.clone(), &|i| to[i]);
            match push_conjunct(*input, moved) {
                Push::Moved(p) => Push::Moved(Plan::Project(Box::new(p), exprs)),
                Push::Kept(p, _) => Push::Kept(Plan::Project(Box::new(p), exprs), c),
            }
        }
        other => Push::Kept(other, c),
    }
}

/// `side` (one input of a join) filtered by `c` too: a join takes it in,
/// a filter adds it, a table scan uses it for a key lookup when it pins
/// one.
fn filter_side(side: Plan, c: Expr) -> Plan {
    let (plan, c) = match push_conjunct(side, c) {
        Push::Moved(p) => return p,
        Push::Kept(p, c) => (p, c),
    };
    let (input, parts) = match plan {
        Plan::Filter(input, p) => {
            let mut parts = owned_conjuncts(p);
            parts.push(c);
            (*input, parts)
        }
        other => (other, vec![c]),
    };
    let pred = and_all(parts)
        .unwrap_or_else(|| Expr::constant(crate::types::Value::Bool(true), Type::Bool));
    let input = match input {
        Plan::Scan { table, key: None } => {
            let key = super::dml::key_lookup(&table, Some(&pred));
            Plan::Scan { table, key }
        }
        other => other,
    };
    Plan::Filter(Box::new(input), pred)
}

/// `e` with each column `i` it reads renumbered `f(i)`. Only for
/// [`is_stable`] expressions (no subquery to look into).
fn map_columns(mut e: Expr, f: &dyn Fn(usize) -> usize) -> Expr {
    fn walk(e: &mut Expr, f: &dyn Fn(usize) -> usize) {
        match &mut e.kind {
            ExprKind::Column(i) => *i = f(*i),
            ExprKind::Binary(_, a, b) | ExprKind::IsDistinct(a, b, _) | ExprKind::NullIf(a, b) => {
                walk(a, f);
                walk(b, f);
            }
            ExprKind::Neg(a)
            | ExprKind::Not(a)
            | ExprKind::IsNull(a, _)
            | ExprKind::BoolTest(a, _)
            | ExprKind::Cast(a, _)
            | ExprKind::Lookup { arg: a, .. } => walk(a, f),
            ExprKind::And(v)
            | ExprKind::Or(v)
            | ExprKind::Func(_, v)
            | ExprKind::Coalesce(v)
            | ExprKind::Greatest(v, _) => v.iter_mut().for_each(|x| walk(x, f)),
            ExprKind::InList(a, v, _) => {
                walk(a, f);
                v.iter_mut().for_each(|x| walk(x, f));
            }
            ExprKind::Like { expr, pattern, .. } | ExprKind::Regex { expr, pattern, .. } => {
                walk(expr, f);
                walk(pattern, f);
            }
            ExprKind::AnyArray { left, array, .. } => {
                walk(left, f);
                walk(array, f);
            }
            ExprKind::Case {
                operand,
                whens,
                default,
            } => {
                if let Some(o) = operand {
                    walk(o, f);
                }
                for (w, r) in whens {
                    walk(w, f);
                    walk(r, f);
                }
                if let Some(d) = default {
                    walk(d, f);
                }
            }
            ExprKind::Subquery { left, .. } => {
                if let Some(l) = left {
                    walk(l, f);
                }
            }
            ExprKind::Const(_) | ExprKind::Param(_) | ExprKind::Outer(..) | ExprKind::Agg(_) => {}
        }
    }
    walk(&mut e, f);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Value;

    fn col(i: usize, ty: Type) -> Expr {
        Expr::column(i, ColType::plain(ty))
    }

    fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
        Expr::new(
            ExprKind::Binary(op, Box::new(a), Box::new(b)),
            ColType::plain(Type::Bool),
        )
    }

    fn and(parts: Vec<Expr>) -> Expr {
        Expr::new(ExprKind::And(parts), ColType::plain(Type::Bool))
    }

    fn values(width: usize) -> Plan {
        Plan::Values(vec![(0..width)
            .map(|i| Expr::constant(Value::Int(i64::try_from(i).unwrap_or(0)), Type::Int4))
            .collect()])
    }

    fn join(kind: JoinKind, on: Option<Expr>) -> Plan {
        Plan::Join {
            left: Box::new(values(2)),
            right: Box::new(values(2)),
            kind,
            on,
            left_width: 2,
            right_width: 2,
        }
    }

    #[test]
    fn equalities_across_the_sides_are_keys() {
        // c2 = c0 AND c1 < c3: one key, its right side renumbered.
        let on = and(vec![
            bin(BinOp::Eq, col(2, Type::Int8), col(0, Type::Int4)),
            bin(BinOp::Lt, col(1, Type::Int4), col(3, Type::Int4)),
        ]);
        let keys = hash_keys(&on, 2, 2);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].left, col(0, Type::Int4));
        assert_eq!(keys[0].right, col(0, Type::Int8));
        let (l, r) = (values(2), values(2));
        let Strategy::Hash { rest, .. } = choose(&l, &r, JoinKind::Full, Some(&on), 2, 2) else {
            panic!("a hash join");
        };
        assert_eq!(rest.len(), 1);
    }

    #[test]
    fn no_key_across_value_classes_or_within_a_side() {
        for on in [
            bin(BinOp::Eq, col(0, Type::Int4), col(2, Type::Numeric)),
            bin(BinOp::Eq, col(0, Type::Int4), col(2, Type::Float8)),
            bin(BinOp::Eq, col(0, Type::Text), col(2, Type::Bpchar)),
            bin(BinOp::Eq, col(0, Type::Int4), col(1, Type::Int4)),
            bin(BinOp::Lt, col(0, Type::Int4), col(2, Type::Int4)),
        ] {
            assert!(hash_keys(&on, 2, 2).is_empty(), "{on:?}");
            assert!(matches!(
                choose(&values(2), &values(2), JoinKind::Inner, Some(&on), 2, 2),
                Strategy::NestedLoop
            ));
        }
        // A volatile ON keeps the nested loop.
        let on = and(vec![
            bin(BinOp::Eq, col(0, Type::Int4), col(2, Type::Int4)),
            bin(
                BinOp::Lt,
                Expr::new(
                    ExprKind::Func(Func::Random, Vec::new()),
                    ColType::plain(Type::Float8),
                ),
                Expr::constant(Value::Float(0.5), Type::Float8),
            ),
        ]);
        assert!(hash_keys(&on, 2, 2).is_empty());
    }

    #[test]
    fn where_moves_into_inner_joins_and_onto_sides() {
        let five = Expr::constant(Value::Int(5), Type::Int4);
        let pred = and(vec![
            bin(BinOp::Eq, col(0, Type::Int4), col(2, Type::Int4)),
            bin(BinOp::Eq, col(3, Type::Int4), five.clone()),
            // Could fail (division by zero): stays above.
            bin(
                BinOp::Gt,
                Expr::new(
                    ExprKind::Binary(
                        BinOp::Div,
                        Box::new(col(1, Type::Int4)),
                        Box::new(col(1, Type::Int4)),
                    ),
                    ColType::plain(Type::Int4),
                ),
                five.clone(),
            ),
        ]);
        let Plan::Filter(input, kept) = push_where(join(JoinKind::Inner, None), pred) else {
            panic!("the failing condition stays above");
        };
        assert!(matches!(kept.kind, ExprKind::Binary(BinOp::Gt, ..)));
        let Plan::Join {
            on: Some(on),
            right,
            ..
        } = *input
        else {
            panic!("a join");
        };
        assert_eq!(on, bin(BinOp::Eq, col(0, Type::Int4), col(2, Type::Int4)));
        // c3 of the join is c1 of its right side.
        assert_eq!(
            *right,
            Plan::Filter(
                Box::new(values(2)),
                bin(BinOp::Eq, col(1, Type::Int4), five)
            )
        );
    }

    #[test]
    fn where_never_filters_an_outer_joins_nullable_side() {
        let pred = bin(BinOp::Eq, col(3, Type::Int4), col(2, Type::Int4));
        let Plan::Filter(input, _) = push_where(join(JoinKind::Left, None), pred.clone()) else {
            panic!("stays above a left join");
        };
        assert!(matches!(*input, Plan::Join { on: None, .. }));
        // The preserved side is filtered.
        let pred = bin(BinOp::Eq, col(0, Type::Int4), col(1, Type::Int4));
        let Plan::Join { left, .. } = push_where(join(JoinKind::Left, None), pred) else {
            panic!("moves onto the left side");
        };
        assert!(matches!(*left, Plan::Filter(..)));
        let pred = bin(BinOp::Eq, col(0, Type::Int4), col(2, Type::Int4));
        assert!(matches!(
            push_where(join(JoinKind::Full, None), pred),
            Plan::Filter(..)
        ));
    }
}
