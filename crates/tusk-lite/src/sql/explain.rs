//! EXPLAIN: a bound plan printed as PostgreSQL prints its plans, one text
//! row per line in a column named "QUERY PLAN" (`Seq Scan on t`,
//! `Index Scan using t_pkey on t` with its `Index Cond`, `Filter`,
//! `Nested Loop`, `Hash Join` with its `Hash Cond`, `Sort`, ...). Costs
//! are never printed (as COSTS OFF); VERBOSE names relations with their
//! schema and shows a scan's output columns. EXPLAIN ANALYZE and formats
//! other than TEXT are 0A000.

use pg_query::protobuf::{self as pb, node::Node as N};

use super::bind::Binder;
use super::plan::*;
use super::statement::Statement;
use crate::catalog::Table;
use crate::error::{Result, SqlError};
use crate::types::{format_value, ColType, Type, Value};

/// A column name as expressions print it: (table, column).
type Name = (String, String);

struct Printer {
    verbose: bool,
    lines: Vec<String>,
}

fn indent(depth: usize) -> String {
    " ".repeat(if depth == 0 { 0 } else { 6 * (depth - 1) + 2 })
}

fn prop_indent(depth: usize) -> String {
    " ".repeat(6 * depth + 2)
}

use super::join::conjuncts;

fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        BinOp::Eq => "=",
        BinOp::Ne => "<>",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::Concat => "||",
    }
}

fn type_label(ty: ColType) -> String {
    match ty.ty {
        Type::Array => crate::types::type_name_of(ty),
        t => t.name().to_string(),
    }
}

impl Printer {
    fn node(&mut self, depth: usize, title: String) {
        let arrow = if depth == 0 { "" } else { "->  " };
        self.lines.push(format!("{}{arrow}{title}", indent(depth)));
    }

    fn prop(&mut self, depth: usize, text: String) {
        self.lines.push(format!("{}{text}", prop_indent(depth)));
    }

    fn rel(&self, t: &Table) -> String {
        if self.verbose {
            format!("{}.{}", t.schema, t.name)
        } else {
            t.name.clone()
        }
    }

    fn expr(&self, e: &Expr, names: &[Name], qualify: bool) -> String {
        let sub = |x: &Expr| self.expr(x, names, qualify);
        match &e.kind {
            ExprKind::Const(Value::Null) => "NULL".into(),
            ExprKind::Const(v @ (Value::Int(_) | Value::Numeric(_)))
                if matches!(e.ty.ty, Type::Int4 | Type::Numeric) =>
            {
                format_value(v, e.ty)
            }
            ExprKind::Const(Value::Bool(b)) => b.to_string(),
            ExprKind::Const(v) => format!(
                "'{}'::{}",
                format_value(v, e.ty).replace('\'', "''"),
                type_label(e.ty)
            ),
            ExprKind::Param(i) => format!("${}", i + 1),
            ExprKind::Column(i) => match names.get(*i) {
                Some((t, c)) if (qualify || self.verbose) && !t.is_empty() => format!("{t}.{c}"),
                Some((_, c)) => c.clone(),
                None => "?".into(),
            },
            ExprKind::Outer(..) => "(outer reference)".into(),
            ExprKind::Binary(op, a, b) => format!("({} {} {})", sub(a), op_symbol(*op), sub(b)),
            ExprKind::Neg(a) => format!("(- {})", sub(a)),
            ExprKind::Not(a) => format!("(NOT {})", sub(a)),
            ExprKind::And(parts) | ExprKind::Or(parts) => {
                let sep = if matches!(e.kind, ExprKind::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                format!("({})", parts.iter().map(sub).collect::<Vec<_>>().join(sep))
            }
            ExprKind::IsNull(a, neg) => {
                format!("({} IS {}NULL)", sub(a), if *neg { "NOT " } else { "" })
            }
            ExprKind::Cast(a, _) => format!("({})::{}", sub(a), type_label(e.ty)),
            ExprKind::Func(f, args) => format!(
                "{}({})",
                format!("{f:?}").to_lowercase(),
                args.iter().map(sub).collect::<Vec<_>>().join(", ")
            ),
            ExprKind::AnyArray {
                op,
                left,
                array,
                all,
            } => format!(
                "({} {} {} ({}))",
                sub(left),
                op_symbol(*op),
                if *all { "ALL" } else { "ANY" },
                sub(array)
            ),
            ExprKind::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => format!(
                "({} {}~~{} {})",
                sub(expr),
                if *negated { "!" } else { "" },
                if *case_insensitive { "*" } else { "" },
                sub(pattern)
            ),
            ExprKind::Subquery { .. } => "(SubPlan 1)".into(),
            _ => "(expression)".into(),
        }
    }

    /// Prints `plan` at `depth`, with `quals` (a Filter above it folded
    /// into it, as PostgreSQL shows a qual on the node that checks it).
    /// Returns the names of its output columns.
    fn plan(&mut self, plan: &Plan, depth: usize, quals: Vec<&Expr>) -> Vec<Name> {
        match plan {
            Plan::Filter(input, e) => {
                let mut q = conjuncts(e);
                q.extend(quals);
                self.plan(input, depth, q)
            }
            Plan::Project(input, _) | Plan::Truncate(input, _) => self.plan(input, depth, quals),
            Plan::Scan { table, key } => self.scan(table, key.as_ref(), depth, quals),
            Plan::LockRows {
                table,
                key,
                filter,
                order,
                ..
            } => {
                self.node(depth, "LockRows".into());
                let mut d = depth + 1;
                let names = table_names(table);
                if !order.is_empty() {
                    self.node(d, "Sort".into());
                    self.sort_key(d, order, &names, false);
                    d += 1;
                }
                let mut q: Vec<&Expr> = filter.iter().flat_map(conjuncts).collect();
                q.extend(quals);
                self.scan(table, key.as_ref(), d, q)
            }
            Plan::Join {
                left,
                right,
                kind,
                on,
                left_width,
                right_width,
            } => {
                let strategy =
                    super::join::choose(left, right, *kind, on.as_ref(), *left_width, *right_width);
                let parts = JoinParts {
                    left,
                    right,
                    kind: *kind,
                    on: on.as_ref(),
                    left_width: *left_width,
                    right_width: *right_width,
                };
                self.join(parts, strategy, depth, quals)
            }
            Plan::Lateral { left, right, .. } => {
                self.node(depth, "Nested Loop".into());
                let mut names = self.plan(left, depth + 1, Vec::new());
                names.extend(self.plan(right, depth + 1, Vec::new()));
                names
            }
            Plan::Aggregate {
                input,
                groups,
                aggs,
            } => {
                self.node(
                    depth,
                    if groups.is_empty() {
                        "Aggregate"
                    } else {
                        "HashAggregate"
                    }
                    .into(),
                );
                let at = self.lines.len();
                let names = self.plan(input, depth + 1, Vec::new());
                let qualify = names.iter().any(|n| n.0 != names[0].0);
                if !groups.is_empty() {
                    let keys: Vec<String> = groups
                        .iter()
                        .map(|g| self.expr(g, &names, qualify))
                        .collect();
                    self.lines.insert(
                        at,
                        format!("{}Group Key: {}", prop_indent(depth), keys.join(", ")),
                    );
                }
                let _ = (aggs, quals);
                Vec::new()
            }
            Plan::Sort(input, keys) => {
                self.node(depth, "Sort".into());
                let at = self.lines.len();
                let names = self.plan(input, depth + 1, quals);
                let qualify = names.iter().any(|n| n.0 != names[0].0);
                let mut sub = Printer {
                    verbose: self.verbose,
                    lines: Vec::new(),
                };
                sub.sort_key(depth, keys, &names, qualify);
                for (i, l) in sub.lines.into_iter().enumerate() {
                    self.lines.insert(at + i, l);
                }
                names
            }
            Plan::Distinct(input) => {
                self.node(depth, "HashAggregate".into());
                self.plan(input, depth + 1, quals)
            }
            Plan::Limit { input, .. } => {
                self.node(depth, "Limit".into());
                self.plan(input, depth + 1, quals)
            }
            Plan::SetOp {
                kind,
                all,
                left,
                right,
                ..
            } => {
                let title = match (kind, all) {
                    (SetOpKind::Union, true) => None,
                    (SetOpKind::Union, false) => Some("HashAggregate".to_string()),
                    (SetOpKind::Intersect, a) => Some(format!(
                        "HashSetOp Intersect{}",
                        if *a { " All" } else { "" }
                    )),
                    (SetOpKind::Except, a) => {
                        Some(format!("HashSetOp Except{}", if *a { " All" } else { "" }))
                    }
                };
                let d = match title {
                    Some(t) => {
                        self.node(depth, t);
                        depth + 1
                    }
                    None => depth,
                };
                self.node(d, "Append".into());
                let names = self.plan(left, d + 1, Vec::new());
                self.plan(right, d + 1, Vec::new());
                names
            }
            Plan::RecursiveUnion { base, step, .. } => {
                self.node(depth, "Recursive Union".into());
                let names = self.plan(base, depth + 1, Vec::new());
                self.plan(step, depth + 1, Vec::new());
                names
            }
            Plan::WorkTable(_) => self.leaf(depth, "WorkTable Scan".into(), quals),
            Plan::OneRow => self.leaf(depth, "Result".into(), quals),
            // One row of VALUES is a Result in PostgreSQL's plans.
            Plan::Values(rows) if rows.len() == 1 => self.leaf(depth, "Result".into(), quals),
            Plan::Values(rows) => {
                self.leaf(depth, "Values Scan on \"*VALUES*\"".into(), quals);
                // Its columns as PostgreSQL names them.
                let width = rows.first().map_or(0, Vec::len);
                (1..=width)
                    .map(|i| ("\"*VALUES*\"".to_string(), format!("column{i}")))
                    .collect()
            }
            Plan::Series { .. } => {
                self.leaf(depth, "Function Scan on generate_series".into(), quals)
            }
            Plan::Unnest(_) => self.leaf(depth, "Function Scan on unnest".into(), quals),
            // jsonb_each and friends (which function is not kept).
            Plan::UnnestRows(_) => self.leaf(depth, "Function Scan".into(), quals),
            Plan::PreparedStatements => self.leaf(
                depth,
                "Function Scan on pg_prepared_statement p".into(),
                quals,
            ),
            Plan::Cursors => self.leaf(depth, "Function Scan on pg_cursor c".into(), quals),
        }
    }

    fn quals(&self, quals: &[&Expr], names: &[Name], qualify: bool) -> String {
        if quals.len() == 1 {
            self.expr(quals[0], names, qualify)
        } else {
            format!(
                "({})",
                quals
                    .iter()
                    .map(|q| self.expr(q, names, qualify))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            )
        }
    }

    fn leaf(&mut self, depth: usize, title: String, quals: Vec<&Expr>) -> Vec<Name> {
        self.node(depth, title);
        if !quals.is_empty() {
            let q = self.quals(&quals, &[], false);
            self.prop(depth, format!("Filter: {q}"));
        }
        Vec::new()
    }

    fn sort_key(&mut self, depth: usize, keys: &[SortKey], names: &[Name], qualify: bool) {
        let keys: Vec<String> = keys
            .iter()
            .map(|k| {
                let mut s = self.expr(&k.expr, names, qualify);
                if k.desc {
                    s.push_str(" DESC");
                }
                if k.nulls_first != k.desc {
                    s.push_str(if k.nulls_first {
                        " NULLS FIRST"
                    } else {
                        " NULLS LAST"
                    });
                }
                s
            })
            .collect();
        self.prop(depth, format!("Sort Key: {}", keys.join(", ")));
    }

    fn scan(
        &mut self,
        table: &Table,
        key: Option<&Lookup>,
        depth: usize,
        quals: Vec<&Expr>,
    ) -> Vec<Name> {
        let names = table_names(table);
        if let Some(Lookup::Range(r)) = key {
            return self.range_scan(table, r, depth, quals, names);
        }
        let (index, cols, vals) = match key {
            Some(Lookup::Pk(vals)) => (
                table.pkey_name.clone(),
                table.primary_key.clone().unwrap_or_default(),
                vals.clone(),
            ),
            Some(Lookup::Index(pos, vals)) => match table.indexes.get(*pos) {
                Some(ix) => (Some(ix.name.clone()), ix.columns.clone(), vals.clone()),
                None => (None, Vec::new(), Vec::new()),
            },
            Some(Lookup::Range(_)) | None => (None, Vec::new(), Vec::new()),
        };
        match &index {
            Some(ix) => self.node(
                depth,
                format!("Index Scan using {ix} on {}", self.rel(table)),
            ),
            None => self.node(depth, format!("Seq Scan on {}", self.rel(table))),
        }
        if self.verbose {
            let out: Vec<String> = names.iter().map(|(t, c)| format!("{t}.{c}")).collect();
            self.prop(depth, format!("Output: {}", out.join(", ")));
        }
        if index.is_some() {
            let conds: Vec<String> = cols
                .iter()
                .zip(&vals)
                .map(|(c, v)| {
                    let col = Expr::column(*c, table.columns[*c].ty);
                    let eq = Expr::new(
                        ExprKind::Binary(BinOp::Eq, Box::new(col), Box::new(v.clone())),
                        ColType::plain(Type::Bool),
                    );
                    self.expr(&eq, &names, false)
                })
                .collect();
            let cond = if conds.len() == 1 {
                conds[0].clone()
            } else {
                format!("({})", conds.join(" AND "))
            };
            self.prop(depth, format!("Index Cond: {cond}"));
        }
        // The key's equalities are the index condition, not a filter.
        let rest: Vec<&Expr> = quals
            .into_iter()
            .filter(|q| !is_key_equality(q, &cols))
            .collect();
        if !rest.is_empty() {
            let q = self.quals(&rest, &names, false);
            self.prop(depth, format!("Filter: {q}"));
        }
        names
    }
}

/// A join's parts, for [`Printer::join`].
struct JoinParts<'p> {
    left: &'p Plan,
    right: &'p Plan,
    kind: JoinKind,
    on: Option<&'p Expr>,
    left_width: usize,
    right_width: usize,
}

impl Printer {
    /// An index scan's columns as the conditions checked on it print
    /// them: unqualified.
    fn inner_names(&self, inner: &[Name]) -> Vec<Name> {
        // The inner side's own columns print unqualified.
        inner
            .iter()
            .map(|(t, c)| {
                if self.verbose {
                    (t.clone(), c.clone())
                } else {
                    (String::new(), c.clone())
                }
            })
            .collect()
    }

    /// The index scan on the inner side of an index nested loop: its
    /// `Index Cond` (the key columns equal to expressions of the outer
    /// row, named by `outer`), and as its `Filter` the scan's own filter
    /// and the conditions of `rest` reading the inner row (`inner`: its
    /// columns' place in `joined`, the joined row's names). Returns the
    /// rest (the join's `Join Filter`).
    fn inner_index_scan<'e>(
        &mut self,
        d: usize,
        (table, lookup, filter): (&Table, &Lookup, Option<&Expr>),
        outer: &[Name],
        joined: &[Name],
        inner: std::ops::Range<usize>,
        rest: Vec<&'e Expr>,
    ) -> Vec<&'e Expr> {
        let (ix, cols, vals) = match lookup {
            Lookup::Pk(v) => (
                table.pkey_name.clone().unwrap_or_default(),
                table.primary_key.clone().unwrap_or_default(),
                v.clone(),
            ),
            Lookup::Index(pos, v) => match table.indexes.get(*pos) {
                Some(ix) => (ix.name.clone(), ix.columns.clone(), v.clone()),
                None => (String::new(), Vec::new(), Vec::new()),
            },
            // A join looks rows up by equalities only (sql::join::index_lookup).
            Lookup::Range(_) => (String::new(), Vec::new(), Vec::new()),
        };
        self.node(d, format!("Index Scan using {ix} on {}", self.rel(table)));
        if self.verbose {
            let out: Vec<String> = table_names(table)
                .iter()
                .map(|(t, c)| format!("{t}.{c}"))
                .collect();
            self.prop(d, format!("Output: {}", out.join(", ")));
        }
        let conds: Vec<String> = cols
            .iter()
            .zip(&vals)
            .map(|(c, v)| {
                let col = match joined.get(inner.start + c) {
                    Some((t, n)) if !t.is_empty() => format!("{t}.{n}"),
                    Some((_, n)) => n.clone(),
                    None => "?".into(),
                };
                format!("({col} = {})", self.expr(v, outer, true))
            })
            .collect();
        let cond = if conds.len() == 1 {
            conds[0].clone()
        } else {
            format!("({})", conds.join(" AND "))
        };
        self.prop(d, format!("Index Cond: {cond}"));
        // The scan's own filter, then the conditions of ON that read the
        // inner row (checked on it, as PostgreSQL does).
        let mut filters: Vec<String> = filter
            .into_iter()
            .flat_map(conjuncts)
            .map(|q| self.expr(q, &joined[inner.clone()], false))
            .collect();
        let mut join_filter = Vec::new();
        for q in rest {
            let mut inner_col = false;
            super::join::visit_columns(q, &mut |i| inner_col |= inner.contains(&i));
            if inner_col {
                filters.push(self.expr(q, joined, true));
            } else {
                join_filter.push(q);
            }
        }
        if !filters.is_empty() {
            let f = if filters.len() == 1 {
                filters.remove(0)
            } else {
                format!("({})", filters.join(" AND "))
            };
            self.prop(d, format!("Filter: {f}"));
        }
        join_filter
    }
}

impl Printer {
    /// A join as its strategy runs it: `Nested Loop` (with the ON clause
    /// as its `Join Filter`), `Hash Join` (`Hash Cond`, the right side
    /// under `Hash`) or a `Nested Loop` over an `Index Scan` of the right
    /// table whose `Index Cond` reads the left row.
    fn join(
        &mut self,
        j: JoinParts<'_>,
        strategy: super::join::Strategy<'_>,
        depth: usize,
        quals: Vec<&Expr>,
    ) -> Vec<Name> {
        use super::join::Strategy;
        let suffix = match j.kind {
            JoinKind::Inner => "",
            JoinKind::Left => " Left",
            JoinKind::Right => " Right",
            JoinKind::Full => " Full",
        };
        let mut props = Vec::new();
        let at;
        let mut names;
        match strategy {
            Strategy::NestedLoop => {
                self.node(depth, nested_loop_title(suffix));
                at = self.lines.len();
                names = self.plan(j.left, depth + 1, Vec::new());
                names.extend(self.plan(j.right, depth + 1, Vec::new()));
                if let Some(on) = j.on {
                    props.push(format!("Join Filter: {}", self.expr(on, &names, true)));
                }
            }
            Strategy::Hash { keys, rest } => {
                self.node(depth, format!("Hash{suffix} Join"));
                at = self.lines.len();
                names = self.plan(j.left, depth + 1, Vec::new());
                self.node(depth + 1, "Hash".into());
                names.extend(self.plan(j.right, depth + 2, Vec::new()));
                let conds: Vec<Expr> = keys.iter().map(outer_first).collect();
                let conds: Vec<&Expr> = conds.iter().collect();
                props.push(format!("Hash Cond: {}", self.quals(&conds, &names, true)));
                if !rest.is_empty() {
                    props.push(format!("Join Filter: {}", self.quals(&rest, &names, true)));
                }
            }
            Strategy::Index {
                table,
                filter,
                lookup,
                keys: _,
                rest,
            } => {
                self.node(depth, nested_loop_title(suffix));
                at = self.lines.len();
                names = self.plan(j.left, depth + 1, Vec::new());
                names.resize(j.left_width, (String::new(), "?".into()));
                let inner = table_names(table);
                let mut joined = names.clone();
                joined.extend(self.inner_names(&inner));
                let range = j.left_width..j.left_width + inner.len();
                let join_filter = self.inner_index_scan(
                    depth + 1,
                    (table, &lookup, filter),
                    &names,
                    &joined,
                    range,
                    rest,
                );
                names.extend(inner);
                if !join_filter.is_empty() {
                    props.push(format!(
                        "Join Filter: {}",
                        self.quals(&join_filter, &names, true)
                    ));
                }
            }
            Strategy::IndexLeft {
                table,
                filter,
                lookup,
                keys: _,
                rest,
            } => {
                // PostgreSQL's shape: the right side is the outer one
                // (a RIGHT join is its LEFT join the other way round).
                let title = match j.kind {
                    JoinKind::Right => "Nested Loop Left Join",
                    _ => "Nested Loop",
                };
                self.node(depth, title.into());
                at = self.lines.len();
                let mut outer = self.plan(j.right, depth + 1, Vec::new());
                outer.resize(j.right_width, (String::new(), "?".into()));
                let inner = table_names(table);
                let mut joined = self.inner_names(&inner);
                joined.extend(outer.iter().cloned());
                let join_filter = self.inner_index_scan(
                    depth + 1,
                    (table, &lookup, filter),
                    &outer,
                    &joined,
                    0..inner.len(),
                    rest,
                );
                names = inner;
                names.extend(outer);
                if !join_filter.is_empty() {
                    props.push(format!(
                        "Join Filter: {}",
                        self.quals(&join_filter, &names, true)
                    ));
                }
            }
        }
        if !quals.is_empty() {
            props.push(format!("Filter: {}", self.quals(&quals, &names, true)));
        }
        for (i, p) in props.into_iter().enumerate() {
            self.lines
                .insert(at + i, format!("{}{p}", prop_indent(depth)));
        }
        names
    }
}

/// Whether UPDATE ... FROM / DELETE ... USING joins its target to the
/// FROM rows by a hash (as exec::dml_from does).
fn hashes(table: &Table, filter: Option<&Expr>, from: &Plan) -> bool {
    let _ = from;
    filter
        .is_some_and(|f| !super::join::hash_keys(f, table.columns.len(), usize::MAX / 2).is_empty())
}

fn nested_loop_title(suffix: &str) -> String {
    if suffix.is_empty() {
        "Nested Loop".into()
    } else {
        format!("Nested Loop{suffix} Join")
    }
}

/// A hash key's equality with the left (outer) side's expression first,
/// as PostgreSQL prints a Hash Cond.
fn outer_first(k: &super::join::EquiKey<'_>) -> Expr {
    match &k.conj.kind {
        ExprKind::Binary(op, a, b) if **a != k.left && **b == k.left => {
            Expr::new(ExprKind::Binary(*op, b.clone(), a.clone()), k.conj.ty)
        }
        _ => k.conj.clone(),
    }
}

impl Printer {
    /// An index scan of a key range: `Index Cond` holds the pinned
    /// columns' equalities, then the next column's bounds, as PostgreSQL
    /// prints a btree's index quals; they leave the filter.
    fn range_scan(
        &mut self,
        table: &Table,
        r: &KeyRange,
        depth: usize,
        quals: Vec<&Expr>,
        names: Vec<Name>,
    ) -> Vec<Name> {
        let (ix, cols) = match r.index {
            None => (
                table.pkey_name.clone().unwrap_or_default(),
                table.primary_key.clone().unwrap_or_default(),
            ),
            Some(pos) => match table.indexes.get(pos) {
                Some(x) => (x.name.clone(), x.columns.clone()),
                None => (String::new(), Vec::new()),
            },
        };
        let backward = if r.backward { " Backward" } else { "" };
        self.node(
            depth,
            format!("Index Scan{backward} using {ix} on {}", self.rel(table)),
        );
        if self.verbose {
            let out: Vec<String> = names.iter().map(|(t, c)| format!("{t}.{c}")).collect();
            self.prop(depth, format!("Output: {}", out.join(", ")));
        }
        let bool_ty = ColType::plain(Type::Bool);
        let mut conds: Vec<Expr> = cols
            .iter()
            .zip(&r.eq)
            .map(|(c, v)| {
                let col = Expr::column(*c, table.columns[*c].ty);
                Expr::new(
                    ExprKind::Binary(BinOp::Eq, Box::new(col), Box::new(v.clone())),
                    bool_ty,
                )
            })
            .collect();
        let next = cols.get(r.eq.len()).copied();
        if let Some(c) = next {
            for (op, v) in &r.bounds {
                let col = Expr::column(c, table.columns[c].ty);
                conds.push(Expr::new(
                    ExprKind::Binary(*op, Box::new(col), Box::new(v.clone())),
                    bool_ty,
                ));
            }
        }
        let conds: Vec<String> = conds.iter().map(|e| self.expr(e, &names, false)).collect();
        let cond = if conds.len() == 1 {
            conds[0].clone()
        } else {
            format!("({})", conds.join(" AND "))
        };
        if !conds.is_empty() {
            self.prop(depth, format!("Index Cond: {cond}"));
        }
        let eq_cols = &cols[..r.eq.len().min(cols.len())];
        let rest: Vec<&Expr> = quals
            .into_iter()
            .filter(|q| !is_key_equality(q, eq_cols))
            .filter(|q| {
                !super::ranges::bound_of(table, q).is_some_and(|(c, op, v)| {
                    Some(c) == next && r.bounds.iter().any(|(o, b)| *o == op && b == v)
                })
            })
            .collect();
        if !rest.is_empty() {
            let q = self.quals(&rest, &names, false);
            self.prop(depth, format!("Filter: {q}"));
        }
        names
    }
}

fn table_names(t: &Table) -> Vec<Name> {
    t.columns
        .iter()
        .map(|c| (t.name.clone(), c.name.clone()))
        .collect()
}

/// `col = value` for one of the key's columns (or the column widened).
fn is_key_equality(e: &Expr, key_cols: &[usize]) -> bool {
    let col = |x: &Expr| match &x.kind {
        ExprKind::Cast(inner, _) => match inner.kind {
            ExprKind::Column(c) => Some(c),
            _ => None,
        },
        ExprKind::Column(c) => Some(*c),
        _ => None,
    };
    match &e.kind {
        ExprKind::Binary(BinOp::Eq, a, b) => [a, b]
            .iter()
            .any(|x| col(x).is_some_and(|c| key_cols.contains(&c))),
        _ => false,
    }
}

impl Binder<'_> {
    /// EXPLAIN [ (options) ] statement: the plan's lines as a query.
    pub fn bind_explain(&mut self, e: &pb::ExplainStmt) -> Result<Statement> {
        let mut verbose = false;
        for o in &e.options {
            let Some(N::DefElem(d)) = &o.node else {
                continue;
            };
            let on = d
                .arg
                .as_deref()
                .map_or(Some(true), super::bind::bool_literal);
            let text = d.arg.as_deref().and_then(|a| match &a.node {
                Some(N::String(s)) => Some(s.sval.to_ascii_lowercase()),
                _ => None,
            });
            match (d.defname.as_str(), on) {
                ("verbose", Some(v)) => verbose = v,
                ("costs", Some(_)) | ("summary", Some(false)) | ("timing", Some(_)) => {}
                ("analyze", Some(false)) | ("buffers", Some(false)) => {}
                ("format", _) if text.as_deref() == Some("text") => {}
                ("analyze", _) => return Err(SqlError::unsupported("EXPLAIN ANALYZE")),
                (other, _) => return Err(SqlError::unsupported(format!("EXPLAIN option {other}"))),
            }
        }
        let inner = e
            .query
            .as_deref()
            .ok_or_else(|| SqlError::internal("EXPLAIN without a statement"))?;
        let stmt = self.bind_statement(inner)?;
        let mut p = Printer {
            verbose,
            lines: Vec::new(),
        };
        match &stmt {
            Statement::Query(q) => {
                p.plan(&q.plan, 0, Vec::new());
            }
            Statement::Insert(i) => {
                p.node(0, format!("Insert on {}", p.rel(&i.table)));
                p.plan(&i.source, 1, Vec::new());
            }
            Statement::Update(u) => {
                p.node(0, format!("Update on {}", p.rel(&u.table)));
                write_targets(
                    &mut p,
                    &u.table,
                    u.key.as_ref(),
                    u.filter.as_ref(),
                    u.from.as_ref(),
                );
            }
            Statement::Delete(d) => {
                p.node(0, format!("Delete on {}", p.rel(&d.table)));
                write_targets(
                    &mut p,
                    &d.table,
                    d.key.as_ref(),
                    d.filter.as_ref(),
                    d.using.as_ref(),
                );
            }
            _ => return Err(SqlError::unsupported("EXPLAIN of this statement")),
        }
        let rows = p
            .lines
            .into_iter()
            .map(|l| vec![Expr::constant(Value::Text(l), Type::Text)])
            .collect();
        Ok(Statement::Query(Box::new(Query {
            plan: Plan::Values(rows),
            columns: vec![OutColumn {
                name: "QUERY PLAN".into(),
                ty: ColType::plain(Type::Text),
                table_oid: 0,
                attnum: 0,
            }],
        })))
    }
}

/// The rows an UPDATE or DELETE reads: its table's scan, joined to the
/// FROM / USING items' plan when it has them.
fn write_targets(
    p: &mut Printer,
    table: &std::sync::Arc<Table>,
    key: Option<&Lookup>,
    filter: Option<&Expr>,
    from: Option<&Plan>,
) {
    let quals: Vec<&Expr> = filter.into_iter().flat_map(conjuncts).collect();
    match from {
        None => {
            p.scan(table, key, 1, quals);
        }
        Some(from) if hashes(table, filter, from) => {
            let Some(f) = filter else { return };
            // (Every column the WHERE reads is the target's or a FROM
            // item's: the FROM rows' width need not be known.)
            let keys = super::join::hash_keys(f, table.columns.len(), usize::MAX / 2);
            // (Conditions on the FROM rows alone were moved into them:
            // they show there.)
            let width = table.columns.len();
            let rest: Vec<&Expr> = conjuncts(f)
                .into_iter()
                .filter(|c| !keys.iter().any(|k| std::ptr::eq(k.conj, *c)))
                .filter(|c| {
                    let (mut target, mut any) = (false, false);
                    super::join::visit_columns(c, &mut |i| {
                        any = true;
                        target |= i < width;
                    });
                    target || !any
                })
                .collect();
            p.node(1, "Hash Join".into());
            let at = p.lines.len();
            let mut names = p.scan(table, None, 2, Vec::new());
            p.node(2, "Hash".into());
            names.extend(p.plan(from, 3, Vec::new()));
            let conds: Vec<Expr> = keys.iter().map(outer_first).collect();
            let conds: Vec<&Expr> = conds.iter().collect();
            let mut props = vec![format!("Hash Cond: {}", p.quals(&conds, &names, true))];
            if !rest.is_empty() {
                props.push(format!("Join Filter: {}", p.quals(&rest, &names, true)));
            }
            for (i, l) in props.into_iter().enumerate() {
                p.lines.insert(at + i, format!("{}{l}", prop_indent(1)));
            }
        }
        Some(from) => {
            p.node(1, "Nested Loop".into());
            let at = p.lines.len();
            let mut names = p.scan(table, None, 2, Vec::new());
            names.extend(p.plan(from, 2, Vec::new()));
            if !quals.is_empty() {
                let q = p.quals(&quals, &names, true);
                p.lines
                    .insert(at, format!("{}Join Filter: {q}", prop_indent(1)));
            }
        }
    }
}
