//! Binding SELECT: WITH, locking clauses (FOR UPDATE/SHARE), VALUES,
//! ORDER BY, LIMIT/OFFSET and set operations.

use super::*;

impl Binder<'_> {
    pub fn bind_select(&mut self, s: &pb::SelectStmt) -> Result<Query> {
        // A set operation's own SELECT (a leaf) keeps its unknown-typed
        // outputs (NULL, 'literal') unresolved, for the set operation to
        // give them the other side's type: PostgreSQL answers
        // `SELECT 1 UNION SELECT NULL`. Any other SELECT, subqueries in
        // the leaf included, resolves them to text.
        let keep = std::mem::take(&mut self.set_op_leaf);
        let saved = std::mem::replace(&mut self.keep_unknown, keep);
        let r = self.bind_select_inner(s);
        self.keep_unknown = saved;
        r
    }

    fn bind_select_inner(&mut self, s: &pb::SelectStmt) -> Result<Query> {
        if let Some(w) = &s.with_clause {
            let depth = self.ctes.len();
            for c in &w.ctes {
                let Some(N::CommonTableExpr(cte)) = &c.node else {
                    continue;
                };
                let Some(N::SelectStmt(q)) = cte.ctequery.as_deref().and_then(|n| n.node.as_ref())
                else {
                    self.ctes.truncate(depth);
                    return Err(SqlError::unsupported("data-modifying statements in WITH"));
                };
                if self.ctes[depth..].iter().any(|(n, _)| *n == cte.ctename) {
                    self.ctes.truncate(depth);
                    return Err(SqlError::new(
                        "42712",
                        format!(
                            "WITH query name \"{}\" specified more than once",
                            cte.ctename
                        ),
                    ));
                }
                let bound = if w.recursive {
                    self.bind_recursive(&cte.ctename, &names(&cte.aliascolnames), q)
                } else {
                    self.bind_select(q)
                };
                let mut bound = match bound {
                    Ok(b) => b,
                    Err(e) => {
                        self.ctes.truncate(depth);
                        return Err(e);
                    }
                };
                let cols = names(&cte.aliascolnames);
                if cols.len() > bound.columns.len() {
                    self.ctes.truncate(depth);
                    return Err(SqlError::new(
                        code::INVALID_COLUMN_REFERENCE,
                        format!(
                            "WITH query \"{}\" has {} columns available but {} columns specified",
                            cte.ctename,
                            bound.columns.len(),
                            cols.len()
                        ),
                    ));
                }
                for (c, n) in bound.columns.iter_mut().zip(cols) {
                    c.name = n;
                }
                self.ctes.push((cte.ctename.clone(), bound));
            }
            let mut inner = s.clone();
            inner.with_clause = None;
            self.set_op_leaf = self.keep_unknown;
            let r = self.bind_select(&inner);
            self.ctes.truncate(depth);
            return r;
        }
        if s.into_clause.is_some() {
            return Err(SqlError::unsupported("SELECT INTO"));
        }

        if !s.window_clause.is_empty() {
            return Err(SqlError::unsupported("window functions"));
        }
        let op = pb::SetOperation::try_from(s.op).unwrap_or(pb::SetOperation::SetopNone);
        if op != pb::SetOperation::SetopNone {
            return self.bind_set_op(s, op);
        }
        if !s.values_lists.is_empty() {
            return self.bind_values(s);
        }
        if let Some(moved) = srf_to_from(s) {
            self.set_op_leaf = self.keep_unknown;
            return self.bind_select(&moved);
        }
        let (input, scope) = self.bind_from(&s.from_clause)?;
        self.scopes.push(scope);
        let r = if s.locking_clause.is_empty() {
            self.bind_select_body(s, input)
        } else {
            self.bind_locking_select(s, input)
        };
        self.scopes.pop();
        r
    }

    /// A WITH RECURSIVE query: `base UNION [ALL] step` where `step`
    /// reads `name` (the rows the previous round added); a query that
    /// does not refer to itself binds as in plain WITH.
    fn bind_recursive(
        &mut self,
        name: &str,
        aliases: &[String],
        q: &pb::SelectStmt,
    ) -> Result<Query> {
        let op = pb::SetOperation::try_from(q.op).unwrap_or(pb::SetOperation::SetopNone);
        let (Some(base), Some(step)) = (q.larg.as_deref(), q.rarg.as_deref()) else {
            return self.bind_select(q);
        };
        if op != pb::SetOperation::SetopUnion {
            return self.bind_select(q);
        }
        if !q.sort_clause.is_empty()
            || q.limit_count.is_some()
            || q.limit_offset.is_some()
            || !q.locking_clause.is_empty()
            || q.with_clause.is_some()
        {
            return Err(SqlError::unsupported(
                "ORDER BY, LIMIT, OFFSET, FOR UPDATE or WITH on a recursive query",
            ));
        }
        let mut base = self.bind_select(base)?;
        for (c, n) in base.columns.iter_mut().zip(aliases) {
            c.name = n.clone();
        }
        let work = WorkTable::default();
        let depth = self.ctes.len();
        self.ctes.push((
            name.to_string(),
            Query {
                plan: Plan::WorkTable(work.clone()),
                columns: base.columns.clone(),
            },
        ));
        let step = self.bind_select(step);
        self.ctes.truncate(depth);
        let step = step?;
        if !plan_reads(&step.plan, &work) {
            return self.bind_select(q);
        }
        if step.columns.len() != base.columns.len() {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                "each UNION query must have the same number of columns",
            ));
        }
        for (i, (b, s)) in base.columns.iter().zip(&step.columns).enumerate() {
            if b.ty.ty != s.ty.ty {
                return Err(SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!(
                        "recursive query \"{name}\" column {} has type {} in non-recursive term but type {} overall",
                        i + 1,
                        b.ty.ty.name(),
                        s.ty.ty.name()
                    ),
                ));
            }
        }
        Ok(Query {
            plan: Plan::RecursiveUnion {
                base: Box::new(base.plan),
                step: Box::new(step.plan),
                all: q.all,
                work,
            },
            columns: base.columns,
        })
    }

    /// SELECT ... FOR UPDATE / FOR SHARE over one table.
    pub(in crate::sql) fn bind_locking_select(
        &mut self,
        s: &pb::SelectStmt,
        input: Plan,
    ) -> Result<Query> {
        let mut exclusive = false;
        let mut wait = crate::txn::locks::Wait::Block;
        for lc in &s.locking_clause {
            let Some(N::LockingClause(lc)) = &lc.node else {
                continue;
            };
            match pb::LockClauseStrength::try_from(lc.strength) {
                Ok(pb::LockClauseStrength::LcsForupdate) => exclusive = true,
                Ok(pb::LockClauseStrength::LcsForshare) => {}
                _ => return Err(SqlError::unsupported("FOR NO KEY UPDATE and FOR KEY SHARE")),
            }
            wait = match pb::LockWaitPolicy::try_from(lc.wait_policy) {
                Ok(pb::LockWaitPolicy::LockWaitSkip) => crate::txn::locks::Wait::SkipLocked,
                Ok(pb::LockWaitPolicy::LockWaitError) => crate::txn::locks::Wait::NoWait,
                _ => wait,
            };
            if !lc.locked_rels.is_empty() {
                return Err(SqlError::unsupported("FOR UPDATE OF"));
            }
        }
        let what = if exclusive { "FOR UPDATE" } else { "FOR SHARE" };
        let Plan::Scan { table, .. } = input else {
            return Err(SqlError::unsupported(format!(
                "{what} on joins, subqueries or functions in FROM"
            )));
        };
        if !s.group_clause.is_empty() || s.having_clause.is_some() {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                format!("{what} is not allowed with GROUP BY clause"),
            ));
        }
        if !s.distinct_clause.is_empty() {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                format!("{what} is not allowed with DISTINCT clause"),
            ));
        }
        let filter = self.bind_where(s.where_clause.as_deref())?;
        let key = crate::sql::dml::key_lookup(&table, filter.as_ref());
        let mut targets: Vec<(String, Expr, u32, i16)> = Vec::new();
        let scope = self.scopes.last().cloned().unwrap_or_default();
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
                    for (i, c) in scope.cols.iter().enumerate() {
                        targets.push((
                            c.name.clone(),
                            Expr::column(i, c.ty),
                            c.table_oid,
                            c.attnum,
                        ));
                    }
                    continue;
                }
            }
            let e = self.bind_expr(val)?;
            let e = if e.ty.ty == Type::Unknown && !self.keep_unknown {
                self.coerce(e, ColType::plain(Type::Text), false)?
            } else {
                e
            };
            let (oid, att) = match &e.kind {
                ExprKind::Column(i) => (scope.cols[*i].table_oid, scope.cols[*i].attnum),
                _ => (0, 0),
            };
            let name = if rt.name.is_empty() {
                figure_colname(val)
            } else {
                rt.name.clone()
            };
            targets.push((name, e, oid, att));
        }
        let mut order = Vec::new();
        for sb in &s.sort_clause {
            let Some(N::SortBy(sb)) = &sb.node else {
                continue;
            };
            let node = sb
                .node
                .as_deref()
                .ok_or_else(|| SqlError::internal("ORDER BY"))?;
            let (desc, nulls_first) = sort_dir(sb);
            let expr = match &node.node {
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
                    targets[idx].1.clone()
                }
                Some(N::ColumnRef(c))
                    if c.fields.len() == 1 && {
                        let n = names(&c.fields).pop().unwrap_or_default();
                        targets.iter().filter(|t| t.0 == n).count() == 1
                    } =>
                {
                    let n = names(&c.fields).pop().unwrap_or_default();
                    targets
                        .iter()
                        .find(|t| t.0 == n)
                        .map(|t| t.1.clone())
                        .ok_or_else(|| SqlError::internal("ORDER BY"))?
                }
                _ => self.bind_expr(node)?,
            };
            order.push(SortKey {
                expr,
                desc,
                nulls_first,
            });
        }
        // An empty scope stands in for the query's own, so that a column
        // of an enclosing query is still an outer reference (one level
        // out) and marks a subquery correlated: bound at depth 0 it read
        // the row LIMIT is evaluated against (none: NULL, no limit).
        let saved = self.scopes.pop();
        self.scopes.push(Scope::default());
        let bind_lim = |b: &mut Binder<'_>, n: Option<&pb::Node>| -> Result<Option<Expr>> {
            match n {
                None => Ok(None),
                Some(n) => {
                    let e = b.bind_expr(n)?;
                    if matches!(e.kind, ExprKind::Const(Value::Null)) {
                        return Ok(None);
                    }
                    Ok(Some(b.coerce(e, ColType::plain(Type::Int8), true)?))
                }
            }
        };
        let limit = bind_lim(self, s.limit_count.as_deref());
        let offset = bind_lim(self, s.limit_offset.as_deref());
        self.scopes.pop();
        if let Some(sc) = saved {
            self.scopes.push(sc);
        }
        let (limit, offset) = (limit?, offset?);
        let columns = targets
            .iter()
            .map(|t| OutColumn {
                name: t.0.clone(),
                ty: t.1.ty,
                table_oid: t.2,
                attnum: t.3,
            })
            .collect();
        let locked = Plan::LockRows {
            table,
            key,
            filter,
            order,
            exclusive,
            wait,
            limit: limit.clone(),
            offset: offset.clone(),
        };
        let mut plan = Plan::Project(Box::new(locked), targets.into_iter().map(|t| t.1).collect());
        if offset.is_some() {
            plan = Plan::Limit {
                input: Box::new(plan),
                limit: None,
                offset,
            };
        }
        Ok(Query { plan, columns })
    }

    pub(in crate::sql) fn bind_values(&mut self, s: &pb::SelectStmt) -> Result<Query> {
        let mut rows: Vec<Vec<Expr>> = Vec::new();
        for r in &s.values_lists {
            let Some(N::List(l)) = &r.node else { continue };
            rows.push(self.bind_list(&l.items)?);
        }
        // VALUES has no columns of its own, so a column here is an
        // enclosing query's (a LATERAL's or a subquery's outer row), bound
        // one level short of it: it read NULL. Refuse it until the depths
        // are right.
        let mut outer = false;
        for e in rows.iter().flatten() {
            visit(e, &mut |x| {
                outer |= matches!(x.kind, ExprKind::Column(_) | ExprKind::Outer(..));
            });
        }
        if outer {
            return Err(SqlError::unsupported(
                "a column of an enclosing query inside VALUES",
            ));
        }
        let width = rows.first().map(Vec::len).unwrap_or(0);
        if rows.iter().any(|r| r.len() != width) {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                "VALUES lists must all be the same length",
            ));
        }
        let mut types = Vec::with_capacity(width);
        for c in 0..width {
            let col: Vec<Expr> = rows.iter().map(|r| r[c].clone()).collect();
            let (col, ty) = self.unify_all(col, "VALUES")?;
            for (r, e) in rows.iter_mut().zip(col) {
                r[c] = e;
            }
            types.push(ty);
        }
        let columns = types
            .iter()
            .enumerate()
            .map(|(i, t)| OutColumn {
                name: format!("column{}", i + 1),
                ty: *t,
                table_oid: 0,
                attnum: 0,
            })
            .collect();
        let q = Query {
            plan: Plan::Values(rows),
            columns,
        };
        self.finish_query(q, s)
    }

    /// ORDER BY / LIMIT / OFFSET over a finished query (set operations, VALUES).
    pub(in crate::sql) fn finish_query(&mut self, q: Query, s: &pb::SelectStmt) -> Result<Query> {
        let mut plan = q.plan;
        if !s.sort_clause.is_empty() {
            let mut keys = Vec::new();
            for sb in &s.sort_clause {
                let Some(N::SortBy(sb)) = &sb.node else {
                    continue;
                };
                let node = sb
                    .node
                    .as_deref()
                    .ok_or_else(|| SqlError::internal("ORDER BY"))?;
                let idx = match &node.node {
                    Some(N::AConst(c)) => match &c.val {
                        Some(pb::a_const::Val::Ival(i)) => usize::try_from(i.ival - 1)
                            .ok()
                            .filter(|i| *i < q.columns.len())
                            .ok_or_else(|| {
                                SqlError::new(
                                    code::INVALID_COLUMN_REFERENCE,
                                    format!("ORDER BY position {} is not in select list", i.ival),
                                )
                            })?,
                        _ => return Err(SqlError::unsupported("this ORDER BY item")),
                    },
                    Some(N::ColumnRef(c)) if c.fields.len() == 1 => {
                        let name = names(&c.fields).pop().unwrap_or_default();
                        q.columns
                            .iter()
                            .position(|oc| oc.name == name)
                            .ok_or_else(|| {
                                SqlError::new(
                                    code::UNDEFINED_COLUMN,
                                    format!("column \"{name}\" does not exist"),
                                )
                            })?
                    }
                    _ => {
                        return Err(SqlError::unsupported(
                            "ORDER BY expressions on UNION/INTERSECT/EXCEPT or VALUES",
                        ))
                    }
                };
                let (desc, nulls_first) = sort_dir(sb);
                keys.push(SortKey {
                    expr: Expr::column(idx, q.columns[idx].ty),
                    desc,
                    nulls_first,
                });
            }
            plan = Plan::Sort(Box::new(plan), keys);
        }
        plan = self.bind_limit(plan, s)?;
        Ok(Query {
            plan,
            columns: q.columns,
        })
    }

    pub(in crate::sql) fn bind_limit(&mut self, plan: Plan, s: &pb::SelectStmt) -> Result<Plan> {
        if s.limit_option == pb::LimitOption::WithTies as i32 {
            return Err(SqlError::unsupported("FETCH ... WITH TIES"));
        }
        if s.limit_count.is_none() && s.limit_offset.is_none() {
            return Ok(plan);
        }
        // LIMIT/OFFSET cannot see the query's columns.
        // An empty scope stands in for the query's own, so that a column
        // of an enclosing query is still an outer reference (one level
        // out) and marks a subquery correlated: bound at depth 0 it read
        // the row LIMIT is evaluated against (none: NULL, no limit).
        let saved = self.scopes.pop();
        self.scopes.push(Scope::default());
        let bind = |b: &mut Binder<'_>, n: Option<&pb::Node>, what: &str| -> Result<Option<Expr>> {
            match n {
                None => Ok(None),
                Some(n) => {
                    let e = b.bind_expr(n)?;
                    if matches!(e.kind, ExprKind::Const(Value::Null)) {
                        return Ok(None);
                    }
                    if !e.ty.ty.is_integer()
                        && e.ty.ty != Type::Unknown
                        && !e.ty.ty.is_numeric_family()
                    {
                        return Err(SqlError::new(
                            code::DATATYPE_MISMATCH,
                            format!(
                                "argument of {what} must be type bigint, not type {}",
                                e.ty.ty.name()
                            ),
                        ));
                    }
                    Ok(Some(b.coerce(e, ColType::plain(Type::Int8), true)?))
                }
            }
        };
        let limit = bind(self, s.limit_count.as_deref(), "LIMIT");
        let offset = bind(self, s.limit_offset.as_deref(), "OFFSET");
        self.scopes.pop();
        if let Some(sc) = saved {
            self.scopes.push(sc);
        }
        Ok(Plan::Limit {
            input: Box::new(plan),
            limit: limit?,
            offset: offset?,
        })
    }

    pub(in crate::sql) fn bind_set_op(
        &mut self,
        s: &pb::SelectStmt,
        op: pb::SetOperation,
    ) -> Result<Query> {
        let leaf = |n: Option<&pb::SelectStmt>| {
            n.is_some_and(|n| {
                pb::SetOperation::try_from(n.op).unwrap_or(pb::SetOperation::SetopNone)
                    == pb::SetOperation::SetopNone
            })
        };
        self.set_op_leaf = leaf(s.larg.as_deref());
        let l = self.bind_select(
            s.larg
                .as_deref()
                .ok_or_else(|| SqlError::internal("set operation"))?,
        )?;
        self.set_op_leaf = leaf(s.rarg.as_deref());
        let r = self.bind_select(
            s.rarg
                .as_deref()
                .ok_or_else(|| SqlError::internal("set operation"))?,
        )?;
        let name = match op {
            pb::SetOperation::SetopUnion => "UNION",
            pb::SetOperation::SetopIntersect => "INTERSECT",
            _ => "EXCEPT",
        };
        if l.columns.len() != r.columns.len() {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                format!("each {name} query must have the same number of columns"),
            ));
        }
        let mut lcasts = Vec::new();
        let mut rcasts = Vec::new();
        let mut columns = Vec::new();
        let mut need_l = false;
        let mut need_r = false;
        for (i, (lc, rc)) in l.columns.iter().zip(&r.columns).enumerate() {
            let t = common_type(lc.ty.ty, rc.ty.ty).ok_or_else(|| {
                SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!(
                        "{name} types {} and {} cannot be matched",
                        lc.ty.ty.name(),
                        rc.ty.ty.name()
                    ),
                )
            })?;
            let t = if t == Type::Unknown { Type::Text } else { t };
            // Strings meet in the first one's type, as in unify_all.
            let first = if lc.ty.ty == Type::Unknown {
                rc.ty.ty
            } else {
                lc.ty.ty
            };
            let t = if t == Type::Text && matches!(first, Type::Varchar | Type::Bpchar | Type::Name)
            {
                first
            } else {
                t
            };
            let ct = if lc.ty == rc.ty && lc.ty.ty == t {
                lc.ty
            } else if t == Type::Array {
                // Arrays meet in their elements' common type (int[] and
                // numeric[] in numeric[]); an unknown NULL takes the other's.
                let el =
                    |c: &OutColumn| (c.ty.ty == Type::Array).then(|| ColType::array_elem(c.ty));
                let e = match (el(lc), el(rc)) {
                    (Some(a), Some(b)) => common_type(a, b).ok_or_else(|| {
                        SqlError::new(
                            code::CANNOT_COERCE,
                            format!(
                                "{name} could not convert type {}[] to {}[]",
                                b.name(),
                                a.name()
                            ),
                        )
                    })?,
                    (Some(a), None) | (None, Some(a)) => a,
                    (None, None) => Type::Text,
                };
                ColType::array_of(e)
            } else {
                ColType::plain(t)
            };
            let mk = |c: &OutColumn, need: &mut bool| {
                if c.ty.ty == t && (t != Type::Array || c.ty == ct) {
                    Expr::column(i, c.ty)
                } else {
                    *need = true;
                    let to = if t == Type::Array {
                        ct
                    } else {
                        ColType::plain(t)
                    };
                    Expr::new(ExprKind::Cast(Box::new(Expr::column(i, c.ty)), false), to)
                }
            };
            lcasts.push(mk(lc, &mut need_l));
            rcasts.push(mk(rc, &mut need_r));
            columns.push(OutColumn {
                name: lc.name.clone(),
                ty: ct,
                table_oid: 0,
                attnum: 0,
            });
        }
        let lp = if need_l {
            Plan::Project(Box::new(l.plan), lcasts)
        } else {
            l.plan
        };
        let rp = if need_r {
            Plan::Project(Box::new(r.plan), rcasts)
        } else {
            r.plan
        };
        // Without ALL, rows are compared: json has no equality.
        if !s.all && columns.iter().any(|c| c.ty.ty == Type::Json) {
            return Err(SqlError::new(
                code::UNDEFINED_FUNCTION,
                "could not identify an equality operator for type json",
            ));
        }
        let kind = match op {
            pb::SetOperation::SetopUnion => SetOpKind::Union,
            pb::SetOperation::SetopIntersect => SetOpKind::Intersect,
            _ => SetOpKind::Except,
        };
        let q = Query {
            plan: Plan::SetOp {
                kind,
                all: s.all,
                left: Box::new(lp),
                right: Box::new(rp),
                bpchar: columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.ty.ty == Type::Bpchar)
                    .map(|(i, _)| i)
                    .collect(),
            },
            columns,
        };
        self.finish_query(q, s)
    }
}

/// `SELECT generate_series(a, b) [AS x]` (or `unnest(array)`), without
/// FROM, GROUP BY or HAVING and with that one set-returning call in its
/// target list, is `SELECT generate_series [AS x] FROM generate_series(a,
/// b)`: one row per value, the column named as PostgreSQL names it.
/// Other set-returning calls in a select list stay unsupported.
fn srf_to_from(s: &pb::SelectStmt) -> Option<pb::SelectStmt> {
    if !s.from_clause.is_empty() || !s.group_clause.is_empty() || s.having_clause.is_some() {
        return None;
    }
    // The set-returning function called in the target list, by name.
    let srf = |n: &pb::Node| -> Option<&'static str> {
        let Some(N::ResTarget(rt)) = &n.node else {
            return None;
        };
        let Some(N::FuncCall(f)) = rt.val.as_deref().and_then(|v| v.node.as_ref()) else {
            return None;
        };
        if f.agg_filter.is_some() || f.over.is_some() || f.agg_star {
            return None;
        }
        let name = names(&f.funcname);
        match name
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["generate_series"] | ["pg_catalog", "generate_series"] => Some("generate_series"),
            ["unnest"] | ["pg_catalog", "unnest"] => Some("unnest"),
            ["jsonb_array_elements"] => Some("jsonb_array_elements"),
            ["jsonb_array_elements_text"] => Some("jsonb_array_elements_text"),
            ["json_array_elements"] => Some("json_array_elements"),
            ["json_array_elements_text"] => Some("json_array_elements_text"),
            ["jsonb_object_keys"] => Some("jsonb_object_keys"),
            ["json_object_keys"] => Some("json_object_keys"),
            _ => None,
        }
    };
    let mut found = s
        .target_list
        .iter()
        .enumerate()
        .filter_map(|(i, n)| srf(n).map(|f| (i, f)));
    let (i, fname) = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let Some(N::ResTarget(rt)) = &s.target_list[i].node else {
        return None;
    };
    let call = rt.val.as_deref()?.clone();
    let alias = fname.to_string();
    let mut out = s.clone();
    out.from_clause = vec![pb::Node {
        node: Some(N::RangeFunction(pb::RangeFunction {
            functions: vec![pb::Node {
                node: Some(N::List(pb::List {
                    items: vec![call, pb::Node { node: None }],
                })),
            }],
            alias: Some(pb::Alias {
                aliasname: alias.clone(),
                colnames: vec![pb::Node {
                    node: Some(N::String(pb::String {
                        sval: alias.clone(),
                    })),
                }],
            }),
            ..Default::default()
        })),
    }];
    let mut target = (**rt).clone();
    target.val = Some(Box::new(pb::Node {
        node: Some(N::ColumnRef(pb::ColumnRef {
            fields: vec![
                pb::Node {
                    node: Some(N::String(pb::String {
                        sval: alias.clone(),
                    })),
                },
                pb::Node {
                    node: Some(N::String(pb::String { sval: alias })),
                },
            ],
            location: rt.location,
        })),
    }));
    if target.name.is_empty() {
        target.name = fname.to_string();
    }
    out.target_list[i] = pb::Node {
        node: Some(N::ResTarget(Box::new(target))),
    };
    Some(out)
}

/// Whether `plan` reads the working table `work` (outside expressions:
/// a recursive reference in a subquery expression is not supported).
fn plan_reads(plan: &Plan, work: &WorkTable) -> bool {
    match plan {
        Plan::WorkTable(w) => w == work,
        Plan::Filter(p, _)
        | Plan::Project(p, _)
        | Plan::Sort(p, _)
        | Plan::Distinct(p)
        | Plan::Truncate(p, _) => plan_reads(p, work),
        Plan::Aggregate { input, .. } | Plan::Limit { input, .. } => plan_reads(input, work),
        Plan::Join { left, right, .. }
        | Plan::Lateral { left, right, .. }
        | Plan::SetOp { left, right, .. } => plan_reads(left, work) || plan_reads(right, work),
        Plan::RecursiveUnion { base, step, .. } => plan_reads(base, work) || plan_reads(step, work),
        _ => false,
    }
}
