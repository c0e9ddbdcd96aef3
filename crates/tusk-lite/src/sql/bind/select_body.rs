//! Binding a SELECT's body: WHERE, the target list, GROUP BY/HAVING with
//! aggregates, DISTINCT; and the expression-tree walkers they use.

use super::*;

impl Binder<'_> {
    pub(in crate::sql) fn bind_select_body(
        &mut self,
        s: &pb::SelectStmt,
        input: Plan,
    ) -> Result<Query> {
        let mut plan = input;
        if let Some(w) = s.where_clause.as_deref() {
            self.no_agg_context = "WHERE";
            let e = self.bind_expr(w)?;
            let e = self.to_bool(e, "WHERE")?;
            if let Plan::Scan { table, key } = &mut plan {
                if key.is_none() {
                    *key = crate::sql::dml::key_lookup(table, Some(&e));
                }
            }
            plan = match plan {
                // Over joins: the conjuncts move down into them.
                p @ (Plan::Join { .. } | Plan::Project(..))
                    if crate::sql::join::pushes_into(&p) =>
                {
                    crate::sql::join::push_where(p, e)
                }
                p => Plan::Filter(Box::new(p), e),
            };
        }
        // Target list (aggregates collected).
        self.aggs = Some(Vec::new());
        let mut targets: Vec<(String, Expr, u32, i16)> = Vec::new();
        for t in &s.target_list {
            let Some(N::ResTarget(rt)) = &t.node else {
                continue;
            };
            let val = rt
                .val
                .as_deref()
                .ok_or_else(|| SqlError::internal("target"))?;
            if let Some(N::ColumnRef(c)) = &val.node {
                if matches!(
                    c.fields.last().and_then(|f| f.node.as_ref()),
                    Some(N::AStar(_))
                ) {
                    let qual = if c.fields.len() > 1 {
                        c.fields.first().and_then(node_str).map(str::to_string)
                    } else {
                        None
                    };
                    let scope = self.scopes.last().cloned().unwrap_or_default();
                    if let Some(q) = &qual {
                        if !scope.has_qualifier(q) {
                            return Err(SqlError::new(
                                code::UNDEFINED_TABLE,
                                format!("missing FROM-clause entry for table \"{q}\""),
                            ));
                        }
                    }
                    if scope.cols.is_empty() && qual.is_none() {
                        return Err(SqlError::new(
                            code::SYNTAX_ERROR,
                            "SELECT * with no tables specified is not valid",
                        ));
                    }
                    for (i, c) in scope.cols.iter().enumerate() {
                        // (A hidden column named as its own qualifier is a
                        // scalar function's whole-row alias, not a column.)
                        let alias_of_self =
                            c.hidden && c.qualifier.as_deref() == Some(c.name.as_str());
                        if ((qual.is_none() && !c.hidden)
                            || (qual.is_some() && c.qualifier == qual))
                            && !alias_of_self
                        {
                            targets.push((
                                c.name.clone(),
                                Expr::column(i, c.ty),
                                c.table_oid,
                                c.attnum,
                            ));
                        }
                    }
                    continue;
                }
            }
            let e = self.bind_expr(val)?;
            let (oid, att) = match (&e.kind, self.scopes.last()) {
                (ExprKind::Column(i), Some(sc)) => (sc.cols[*i].table_oid, sc.cols[*i].attnum),
                _ => (0, 0),
            };
            let name = if rt.name.is_empty() {
                figure_colname(val)
            } else {
                rt.name.clone()
            };
            targets.push((name, e, oid, att));
        }
        let having = match s.having_clause.as_deref() {
            Some(h) => {
                let e = self.bind_expr(h)?;
                Some(self.to_bool(e, "HAVING")?)
            }
            None => None,
        };
        // ORDER BY: output names and positions, else input expressions.
        let mut sort_exprs: Vec<(SortExprRef, bool, bool)> = Vec::new();
        for sb in &s.sort_clause {
            let Some(N::SortBy(sb)) = &sb.node else {
                continue;
            };
            if !sb.use_op.is_empty() {
                return Err(SqlError::unsupported("ORDER BY ... USING"));
            }
            let node = sb
                .node
                .as_deref()
                .ok_or_else(|| SqlError::internal("ORDER BY"))?;
            let (desc, nulls_first) = sort_dir(sb);
            let r = match &node.node {
                Some(N::AConst(c)) if matches!(c.val, Some(pb::a_const::Val::Ival(_))) => {
                    let Some(pb::a_const::Val::Ival(i)) = &c.val else {
                        unreachable!()
                    };
                    let idx = usize::try_from(i.ival - 1)
                        .ok()
                        .filter(|i| *i < targets.len())
                        .ok_or_else(|| {
                            SqlError::new(
                                code::INVALID_COLUMN_REFERENCE,
                                format!("ORDER BY position {} is not in select list", i.ival),
                            )
                        })?;
                    SortExprRef::Output(idx)
                }
                Some(N::ColumnRef(c))
                    if c.fields.len() == 1 && {
                        let n = names(&c.fields).pop().unwrap_or_default();
                        targets.iter().filter(|t| t.0 == n).count() == 1
                    } =>
                {
                    let n = names(&c.fields).pop().unwrap_or_default();
                    SortExprRef::Output(targets.iter().position(|t| t.0 == n).unwrap_or(0))
                }
                _ => {
                    let e = self.bind_expr(node)?;
                    match targets.iter().position(|t| t.1 == e) {
                        Some(i) => SortExprRef::Output(i),
                        None => SortExprRef::Expr(e),
                    }
                }
            };
            sort_exprs.push((r, desc, nulls_first));
        }
        let aggs = self.aggs.take().unwrap_or_default();
        // GROUP BY.
        self.no_agg_context = "GROUP BY";
        let mut groups = Vec::new();
        for g in &s.group_clause {
            let e = match &g.node {
                Some(N::AConst(c)) if matches!(c.val, Some(pb::a_const::Val::Ival(_))) => {
                    let Some(pb::a_const::Val::Ival(i)) = &c.val else {
                        unreachable!()
                    };
                    let idx = usize::try_from(i.ival - 1)
                        .ok()
                        .filter(|i| *i < targets.len())
                        .ok_or_else(|| {
                            SqlError::new(
                                code::INVALID_COLUMN_REFERENCE,
                                format!("GROUP BY position {} is not in select list", i.ival),
                            )
                        })?;
                    targets[idx].1.clone()
                }
                Some(N::ColumnRef(c)) if c.fields.len() == 1 => {
                    // An input column first; an output alias otherwise.
                    match self.bind_expr(g) {
                        Ok(e) => e,
                        Err(err) => {
                            let n = names(&c.fields).pop().unwrap_or_default();
                            match targets.iter().find(|t| t.0 == n) {
                                Some(t) => t.1.clone(),
                                None => return Err(err),
                            }
                        }
                    }
                }
                _ => self.bind_expr(g)?,
            };
            if contains_agg(&e) {
                return Err(SqlError::new(
                    code::GROUPING_ERROR,
                    "aggregate functions are not allowed in GROUP BY",
                ));
            }
            if e.ty.ty == Type::Json {
                return Err(json_no_equality());
            }
            groups.push(e);
        }
        self.no_agg_context = "WHERE";
        let grouped = !groups.is_empty() || !aggs.is_empty() || having.is_some();
        let scope_cols = self
            .scopes
            .last()
            .map(|s| s.cols.clone())
            .unwrap_or_default();
        let mut proj_exprs: Vec<Expr> = Vec::new();
        let mut hidden: Vec<Expr> = Vec::new();
        let rewrite = |e: Expr| -> Result<Expr> {
            if grouped {
                ungroup(e, &groups, &scope_cols)
            } else {
                Ok(e)
            }
        };
        for t in &targets {
            proj_exprs.push(rewrite(t.1.clone())?);
        }
        let mut keys = Vec::new();
        for (r, desc, nulls_first) in sort_exprs {
            let idx = match r {
                SortExprRef::Output(i) => i,
                SortExprRef::Expr(e) => {
                    hidden.push(rewrite(e)?);
                    targets.len() + hidden.len() - 1
                }
            };
            let ty = if idx < proj_exprs.len() {
                proj_exprs[idx].ty
            } else {
                hidden[idx - proj_exprs.len()].ty
            };
            if ty.ty == Type::Json {
                return Err(SqlError::new(
                    code::UNDEFINED_FUNCTION,
                    "could not identify an ordering operator for type json",
                )
                .with_hint("Use an explicit ordering operator or modify the query."));
            }
            keys.push(SortKey {
                expr: Expr::column(idx, ty),
                desc,
                nulls_first,
            });
        }
        // The types of the rows the projection reads.
        let input_types: Vec<ColType> = if grouped {
            groups
                .iter()
                .map(|g| g.ty)
                .chain(aggs.iter().map(|a| a.ty))
                .collect()
        } else {
            scope_cols.iter().map(|c| c.ty).collect()
        };
        if grouped {
            let ngroups = groups.len();
            plan = Plan::Aggregate {
                input: Box::new(plan),
                groups: groups.clone(),
                aggs,
            };
            let _ = ngroups;
            if let Some(h) = having {
                let h = ungroup(h, &groups, &scope_cols)?;
                plan = Plan::Filter(Box::new(plan), h);
            }
        }
        // Unknown-typed outputs become text (but in a set operation's leaf).
        let mut out_exprs = Vec::new();
        for e in proj_exprs {
            out_exprs.push(if e.ty.ty == Type::Unknown && !self.keep_unknown {
                self.coerce(e, ColType::plain(Type::Text), false)?
            } else {
                e
            });
        }
        let width = out_exprs.len();
        let columns: Vec<OutColumn> = targets
            .iter()
            .zip(&out_exprs)
            .map(|(t, e)| OutColumn {
                name: t.0.clone(),
                ty: e.ty,
                table_oid: t.2,
                attnum: t.3,
            })
            .collect();
        let distinct = !s.distinct_clause.is_empty();
        if distinct && s.distinct_clause.iter().any(|n| n.node.is_some()) {
            return Err(SqlError::unsupported("DISTINCT ON"));
        }
        if distinct && !hidden.is_empty() {
            return Err(SqlError::new(
                code::INVALID_COLUMN_REFERENCE,
                "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
            ));
        }
        let mut all = out_exprs;
        all.extend(hidden);
        let has_hidden = all.len() > width;
        if distinct && columns.iter().any(|c| c.ty.ty == Type::Json) {
            return Err(json_no_equality());
        }
        // A volatile output that is not a sort key (nextval(), random(),
        // ...) is computed after the sort, for the rows the limit reads, as
        // PostgreSQL does: `SELECT nextval('s'), id FROM t ORDER BY id LIMIT 2`
        // draws two values, in id order, not one per row of t.
        let postponed: Vec<bool> = (0..width)
            .map(|i| {
                !distinct
                    && !keys.is_empty()
                    && crate::ddl::is_volatile(&all[i])
                    && !keys.iter().any(|k| k.expr.kind == ExprKind::Column(i))
            })
            .collect();
        if postponed.contains(&true)
            && keys
                .iter()
                .all(|k| matches!(k.expr.kind, ExprKind::Column(_)))
        {
            // Below the sort: the input row, then the outputs (a NULL in
            // place of each postponed one); above it, below the limit
            // (rows OFFSET skips are computed too, as in PostgreSQL): the outputs,
            // the postponed ones computed from the input row (still at the
            // same positions, so their column references hold).
            let iw = input_types.len();
            let mut below: Vec<Expr> = input_types
                .iter()
                .enumerate()
                .map(|(i, t)| Expr::column(i, *t))
                .collect();
            let mut above = Vec::with_capacity(width);
            for (i, e) in all.into_iter().enumerate() {
                if postponed.get(i) == Some(&true) {
                    below.push(Expr::new(ExprKind::Const(Value::Null), e.ty));
                    above.push(e);
                } else {
                    if i < width {
                        above.push(Expr::column(iw + i, e.ty));
                    }
                    below.push(e);
                }
            }
            for k in &mut keys {
                if let ExprKind::Column(c) = k.expr.kind {
                    k.expr.kind = ExprKind::Column(iw + c);
                }
            }
            plan = Plan::Project(Box::new(plan), below);
            if !crate::sql::ranges::scan_in_key_order(&mut plan, &keys) {
                plan = Plan::Sort(Box::new(plan), keys);
            }
            plan = Plan::Project(Box::new(plan), above);
            plan = self.bind_limit(plan, s)?;
            return Ok(Query { plan, columns });
        }
        let bpchar_cols = distinct && all.iter().any(|e| e.ty.ty == Type::Bpchar);
        let types: Vec<ColType> = all.iter().map(|e| e.ty).collect();
        plan = Plan::Project(Box::new(plan), all);
        if bpchar_cols {
            // DISTINCT as GROUP BY every column: the grouping knows the
            // types, so a bpchar's trailing blanks do not count (the
            // first row of each group stays, as with Distinct).
            plan = Plan::Aggregate {
                input: Box::new(plan),
                groups: types
                    .iter()
                    .enumerate()
                    .map(|(i, t)| Expr::column(i, *t))
                    .collect(),
                aggs: Vec::new(),
            };
        } else if distinct {
            plan = Plan::Distinct(Box::new(plan));
        }
        // (Rows a scan gives in primary-key order need no sort.)
        if !keys.is_empty()
            && (distinct || !crate::sql::ranges::scan_in_key_order(&mut plan, &keys))
        {
            plan = Plan::Sort(Box::new(plan), keys);
        }
        plan = self.bind_limit(plan, s)?;
        if has_hidden {
            plan = Plan::Truncate(Box::new(plan), width);
        }
        Ok(Query { plan, columns })
    }
}

pub(super) enum SortExprRef {
    Output(usize),
    Expr(Expr),
}

pub(super) fn sort_dir(sb: &pb::SortBy) -> (bool, bool) {
    let desc = sb.sortby_dir == pb::SortByDir::SortbyDesc as i32;
    let nulls_first = match pb::SortByNulls::try_from(sb.sortby_nulls) {
        Ok(pb::SortByNulls::SortbyNullsFirst) => true,
        Ok(pb::SortByNulls::SortbyNullsLast) => false,
        _ => desc,
    };
    (desc, nulls_first)
}

pub(super) fn contains_agg(e: &Expr) -> bool {
    let mut found = false;
    visit(e, &mut |x| {
        if matches!(x.kind, ExprKind::Agg(_)) {
            found = true;
        }
    });
    found
}

pub(crate) fn visit(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    for c in children(e) {
        visit(c, f);
    }
}

/// Every sub-expression of `e` (not those inside a subquery's plan).
pub(crate) fn children(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::Binary(_, a, b) | ExprKind::IsDistinct(a, b, _) | ExprKind::NullIf(a, b) => {
            vec![a, b]
        }
        ExprKind::Neg(a)
        | ExprKind::Not(a)
        | ExprKind::IsNull(a, _)
        | ExprKind::BoolTest(a, _)
        | ExprKind::Cast(a, _) => vec![a],
        ExprKind::And(v)
        | ExprKind::Or(v)
        | ExprKind::Func(_, v)
        | ExprKind::Coalesce(v)
        | ExprKind::Greatest(v, _) => v.iter().collect(),
        ExprKind::InList(a, v, _) => std::iter::once(a.as_ref()).chain(v.iter()).collect(),
        ExprKind::Like { expr, pattern, .. } | ExprKind::Regex { expr, pattern, .. } => {
            vec![expr, pattern]
        }
        ExprKind::AnyArray { left, array, .. } => vec![left, array],
        ExprKind::Lookup { arg, .. } => vec![arg],
        ExprKind::Case {
            operand,
            whens,
            default,
        } => {
            let mut v: Vec<&Expr> = operand.iter().map(|b| b.as_ref()).collect();
            for (w, r) in whens {
                v.push(w);
                v.push(r);
            }
            v.extend(default.iter().map(|b| b.as_ref()));
            v
        }
        ExprKind::Subquery { left, .. } => left.iter().map(|b| b.as_ref()).collect(),
        ExprKind::Const(_)
        | ExprKind::Param(_)
        | ExprKind::Column(_)
        | ExprKind::Outer(..)
        | ExprKind::Agg(_) => Vec::new(),
    }
}

/// Rewrites an expression over the input rows into one over the
/// Aggregate node's output (group values, then aggregate results).
pub(super) fn ungroup(e: Expr, groups: &[Expr], scope: &[ScopeCol]) -> Result<Expr> {
    if let Some(i) = groups.iter().position(|g| *g == e) {
        return Ok(Expr::column(i, e.ty));
    }
    let ty = e.ty;
    let map = |x: Box<Expr>| -> Result<Box<Expr>> { Ok(Box::new(ungroup(*x, groups, scope)?)) };
    let map_v = |v: Vec<Expr>| -> Result<Vec<Expr>> {
        v.into_iter().map(|x| ungroup(x, groups, scope)).collect()
    };
    let kind = match e.kind {
        ExprKind::Column(i) => {
            let c = &scope[i];
            let q = c.qualifier.clone().unwrap_or_default();
            return Err(SqlError::new(
                code::GROUPING_ERROR,
                format!("column \"{q}.{}\" must appear in the GROUP BY clause or be used in an aggregate function", c.name),
            ));
        }
        ExprKind::Agg(i) => ExprKind::Column(groups.len() + i),
        ExprKind::Binary(op, a, b) => ExprKind::Binary(op, map(a)?, map(b)?),
        ExprKind::IsDistinct(a, b, n) => ExprKind::IsDistinct(map(a)?, map(b)?, n),
        ExprKind::NullIf(a, b) => ExprKind::NullIf(map(a)?, map(b)?),
        ExprKind::Neg(a) => ExprKind::Neg(map(a)?),
        ExprKind::Not(a) => ExprKind::Not(map(a)?),
        ExprKind::IsNull(a, n) => ExprKind::IsNull(map(a)?, n),
        ExprKind::BoolTest(a, t) => ExprKind::BoolTest(map(a)?, t),
        ExprKind::Cast(a, x) => ExprKind::Cast(map(a)?, x),
        ExprKind::And(v) => ExprKind::And(map_v(v)?),
        ExprKind::Or(v) => ExprKind::Or(map_v(v)?),
        ExprKind::Func(f, v) => ExprKind::Func(f, map_v(v)?),
        ExprKind::Coalesce(v) => ExprKind::Coalesce(map_v(v)?),
        ExprKind::Greatest(v, g) => ExprKind::Greatest(map_v(v)?, g),
        ExprKind::InList(a, v, n) => ExprKind::InList(map(a)?, map_v(v)?, n),
        ExprKind::Like {
            expr,
            pattern,
            case_insensitive,
            negated,
        } => ExprKind::Like {
            expr: map(expr)?,
            pattern: map(pattern)?,
            case_insensitive,
            negated,
        },
        ExprKind::Case {
            operand,
            whens,
            default,
        } => ExprKind::Case {
            operand: operand.map(map).transpose()?,
            whens: whens
                .into_iter()
                .map(|(w, r)| Ok((ungroup(w, groups, scope)?, ungroup(r, groups, scope)?)))
                .collect::<Result<Vec<_>>>()?,
            default: default.map(map).transpose()?,
        },
        ExprKind::Subquery {
            plan,
            kind,
            left,
            initplan,
        } => {
            // A correlated subquery would read the grouped query's input
            // columns from the Aggregate's output row (group values, then
            // aggregates), which has other columns: refuse it rather than
            // answer wrongly (it answered NULL).
            if initplan.is_none() {
                return Err(SqlError::unsupported(
                    "a correlated subquery in a query with GROUP BY, HAVING or aggregates",
                ));
            }
            ExprKind::Subquery {
                plan,
                kind,
                left: left.map(map).transpose()?,
                initplan,
            }
        }
        k => k,
    };
    Ok(Expr::new(kind, ty))
}

/// json has no equality operator (GROUP BY, DISTINCT, UNION of json).
fn json_no_equality() -> SqlError {
    SqlError::new(
        code::UNDEFINED_FUNCTION,
        "could not identify an equality operator for type json",
    )
}
