//! Binding FROM: tables, subqueries, CTE references, joins (ON, USING,
//! NATURAL) and functions in FROM.

use super::*;

impl Binder<'_> {
    // ---- SELECT ------------------------------------------------------

    pub(in crate::sql) fn bind_from_item(&mut self, node: &pb::Node) -> Result<(Plan, Scope)> {
        match &node.node {
            Some(N::RangeVar(r))
                if r.schemaname.is_empty() && self.ctes.iter().any(|(n, _)| *n == r.relname) =>
            {
                let (_, q) = self
                    .ctes
                    .iter()
                    .rev()
                    .find(|(n, _)| *n == r.relname)
                    .cloned()
                    .ok_or_else(|| SqlError::internal("cte"))?;
                let qual = r
                    .alias
                    .as_ref()
                    .map(|a| a.aliasname.clone())
                    .unwrap_or_else(|| r.relname.clone());
                let alias_cols = r
                    .alias
                    .as_ref()
                    .map(|a| names(&a.colnames))
                    .unwrap_or_default();
                let cols = q
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ScopeCol {
                        qualifier: Some(qual.clone()),
                        name: alias_cols.get(i).cloned().unwrap_or_else(|| c.name.clone()),
                        ty: c.ty,
                        table_oid: 0,
                        attnum: 0,
                        hidden: false,
                    })
                    .collect();
                Ok((q.plan, Scope { cols }))
            }
            Some(N::RangeVar(r)) if self.is_system_relation(r) => self.bind_system_relation(r),
            Some(N::RangeVar(r)) if self.sequence_relation(r).is_some() => {
                let seq = self
                    .sequence_relation(r)
                    .ok_or_else(|| SqlError::internal("sequence"))?;
                Ok(sequence_scan(r, &seq))
            }
            Some(N::RangeVar(r)) => {
                if !r.schemaname.is_empty() && r.schemaname != "public" {
                    if r.schemaname == "information_schema"
                        && !crate::sql::syscat::info_schema::is_postgres_view(&r.relname)
                    {
                        return Err(SqlError::new(
                            code::UNDEFINED_TABLE,
                            format!("relation \"{}.{}\" does not exist", r.schemaname, r.relname),
                        ));
                    }
                    if r.schemaname == "pg_catalog" || r.schemaname == "information_schema" {
                        return Err(SqlError::unsupported(format!(
                            "system catalog {}.{}",
                            r.schemaname, r.relname
                        )));
                    }
                    return Err(SqlError::new(
                        code::UNDEFINED_TABLE,
                        format!("relation \"{}.{}\" does not exist", r.schemaname, r.relname),
                    ));
                }
                let t = self.table(r)?;
                let qual = r
                    .alias
                    .as_ref()
                    .map(|a| a.aliasname.clone())
                    .unwrap_or_else(|| t.name.clone());
                let alias_cols = r
                    .alias
                    .as_ref()
                    .map(|a| names(&a.colnames))
                    .unwrap_or_default();
                let cols = t
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ScopeCol {
                        qualifier: Some(qual.clone()),
                        name: alias_cols.get(i).cloned().unwrap_or_else(|| c.name.clone()),
                        ty: c.ty,
                        table_oid: t.oid,
                        attnum: i16::try_from(i + 1).unwrap_or(0),
                        hidden: false,
                    })
                    .collect();
                Ok((
                    Plan::Scan {
                        table: t,
                        key: None,
                    },
                    Scope { cols },
                ))
            }
            Some(N::JoinExpr(j)) => {
                let (lp, ls) = self.bind_from_item(
                    j.larg
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("join"))?,
                )?;
                let rarg = j
                    .rarg
                    .as_deref()
                    .ok_or_else(|| SqlError::internal("join"))?;
                if let Some(sub) = lateral_subselect(rarg) {
                    return self.bind_lateral_join(j, lp, ls, &sub);
                }
                let (rp, rs) = self.bind_from_item(rarg)?;
                let left_width = ls.cols.len();
                let right_width = rs.cols.len();
                let mut scope = ls;
                scope.cols.extend(rs.cols);
                let kind = match pb::JoinType::try_from(j.jointype) {
                    Ok(pb::JoinType::JoinInner) => JoinKind::Inner,
                    Ok(pb::JoinType::JoinLeft) => JoinKind::Left,
                    Ok(pb::JoinType::JoinRight) => JoinKind::Right,
                    Ok(pb::JoinType::JoinFull) => JoinKind::Full,
                    _ => return Err(SqlError::unsupported("this join type")),
                };
                let on = match j.quals.as_deref() {
                    Some(q) => {
                        self.scopes.push(scope);
                        let e = self.bind_expr(q).and_then(|e| self.to_bool(e, "JOIN/ON"));
                        let scope_back = self.scopes.pop();
                        scope = scope_back.unwrap_or_default();
                        Some(e?)
                    }
                    None => None,
                };
                if j.alias.is_some() || j.join_using_alias.is_some() {
                    return Err(SqlError::unsupported("an alias on a JOIN"));
                }
                if j.is_natural || !j.using_clause.is_empty() {
                    return self.bind_join_using(j, lp, rp, scope, left_width, right_width, kind);
                }
                if kind == JoinKind::Full {
                    if let Some(on) = &on {
                        if !crate::sql::join::full_join_supported(on, left_width, right_width) {
                            return Err(SqlError::new(
                                code::FEATURE_NOT_SUPPORTED,
                                "FULL JOIN is only supported with merge-joinable or hash-joinable join conditions",
                            ));
                        }
                    }
                }
                Ok((
                    Plan::Join {
                        left: Box::new(lp),
                        right: Box::new(rp),
                        kind,
                        on,
                        left_width,
                        right_width,
                    },
                    scope,
                ))
            }
            Some(N::RangeSubselect(s)) => {
                if s.lateral {
                    return Err(SqlError::unsupported("LATERAL"));
                }
                let Some(N::SelectStmt(sel)) = s.subquery.as_deref().and_then(|n| n.node.as_ref())
                else {
                    return Err(SqlError::internal("subquery in FROM"));
                };
                let alias = s.alias.as_ref().ok_or_else(|| {
                    SqlError::new(code::SYNTAX_ERROR, "subquery in FROM must have an alias")
                })?;
                let q = self.bind_select(sel)?;
                let alias_cols = names(&alias.colnames);
                let cols = q
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ScopeCol {
                        qualifier: Some(alias.aliasname.clone()),
                        name: alias_cols.get(i).cloned().unwrap_or_else(|| c.name.clone()),
                        ty: c.ty,
                        table_oid: 0,
                        attnum: 0,
                        hidden: false,
                    })
                    .collect();
                Ok((q.plan, Scope { cols }))
            }
            Some(N::RangeFunction(rf)) => self.bind_range_function(rf),
            _ => Err(unsupported_node(node)),
        }
    }

    /// Whether `r` names one of the virtual `pg_catalog` relations (an
    /// unqualified name only when no table of the search path has it).
    fn is_system_relation(&self, r: &pb::RangeVar) -> bool {
        let known = || {
            r.relname == "pg_prepared_statements"
                || r.relname == "pg_cursors"
                || crate::sql::syscat::relation(&crate::catalog::Catalog::new(), &r.relname, "")
                    .is_some()
        };
        match r.schemaname.as_str() {
            "pg_catalog" => known(),
            "information_schema" => crate::sql::syscat::info_schema::relation(
                &crate::catalog::Catalog::new(),
                &r.relname,
            )
            .is_some(),
            "" => {
                r.relname.starts_with("pg_")
                    && self.catalog.table("public", &r.relname).is_none()
                    && known()
            }
            _ => false,
        }
    }

    /// A `pg_catalog` relation: its rows, generated from the catalog this
    /// statement sees.
    fn bind_system_relation(&mut self, r: &pb::RangeVar) -> Result<(Plan, Scope)> {
        let qual = r
            .alias
            .as_ref()
            .map(|a| a.aliasname.clone())
            .unwrap_or_else(|| r.relname.clone());
        // Column aliases (`pg_cursors AS p(n, s)`) rename the first ones.
        let alias_cols = r
            .alias
            .as_ref()
            .map(|a| names(&a.colnames))
            .unwrap_or_default();
        if r.relname == "pg_prepared_statements" || r.relname == "pg_cursors" {
            let cursors = r.relname == "pg_cursors";
            let cols: &[(&str, Type)] = if cursors {
                &[
                    ("name", Type::Text),
                    ("statement", Type::Text),
                    ("is_holdable", Type::Bool),
                    ("is_binary", Type::Bool),
                    ("is_scrollable", Type::Bool),
                    ("creation_time", Type::Timestamptz),
                ]
            } else {
                &[
                    ("name", Type::Text),
                    ("statement", Type::Text),
                    ("from_sql", Type::Bool),
                ]
            };
            let scope = system_scope(
                &qual,
                &alias_cols,
                cols.iter().map(|&(name, ty)| (name, ColType::plain(ty))),
            );
            let plan = if cursors {
                Plan::Cursors
            } else {
                Plan::PreparedStatements
            };
            return Ok((plan, scope));
        }
        let rel = if r.schemaname == "information_schema" {
            crate::sql::syscat::info_schema::relation(self.catalog, &r.relname)
        } else {
            crate::sql::syscat::relation(self.catalog, &r.relname, "")
        }
        .ok_or_else(|| SqlError::internal("system relation"))?;
        let rows = rel
            .rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .zip(&rel.cols)
                    .map(|(v, (name, ty))| {
                        // pg_database.datname: the database this session
                        // is connected to.
                        use crate::sql::syscat::info_schema::{CURRENT_DATABASE, CURRENT_USER};
                        let session = |f: Func| Expr::new(ExprKind::Func(f, Vec::new()), *ty);
                        if r.relname == "pg_database" && *name == "datname" {
                            session(Func::CurrentDatabase)
                        } else if matches!(&v, Value::Text(s) if s.as_str() == CURRENT_DATABASE) {
                            // information_schema's *_catalog columns.
                            session(Func::CurrentDatabase)
                        } else if matches!(&v, Value::Text(s) if s.as_str() == CURRENT_USER) {
                            session(Func::CurrentUser)
                        } else {
                            Expr::new(ExprKind::Const(v), *ty)
                        }
                    })
                    .collect()
            })
            .collect();
        let scope = system_scope(
            &qual,
            &alias_cols,
            rel.cols.iter().map(|&(name, ty)| (name, ty)),
        );
        Ok((Plan::Values(rows), scope))
    }

    /// JOIN ... USING (cols) and NATURAL JOIN: equality on the named
    /// columns, which then appear once (merged) before the other columns.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::sql) fn bind_join_using(
        &mut self,
        j: &pb::JoinExpr,
        lp: Plan,
        rp: Plan,
        scope: Scope,
        left_width: usize,
        right_width: usize,
        kind: JoinKind,
    ) -> Result<(Plan, Scope)> {
        let (ls, rs) = scope.cols.split_at(left_width);
        let names_used: Vec<String> = if j.is_natural {
            ls.iter()
                .filter(|c| !c.hidden && rs.iter().any(|r| !r.hidden && r.name == c.name))
                .map(|c| c.name.clone())
                .collect()
        } else {
            names(&j.using_clause)
        };
        let find = |cols: &[ScopeCol], n: &str, side: &str| -> Result<usize> {
            let hits: Vec<usize> = cols
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.hidden && c.name == n)
                .map(|(i, _)| i)
                .collect();
            match hits.as_slice() {
                [i] => Ok(*i),
                [] => Err(SqlError::new(
                    code::UNDEFINED_COLUMN,
                    format!(
                        "column \"{n}\" specified in USING clause does not exist in {side} table"
                    ),
                )),
                _ => Err(SqlError::new(
                    code::AMBIGUOUS_COLUMN,
                    format!("common column name \"{n}\" appears more than once in {side} table"),
                )),
            }
        };
        let mut conds = Vec::new();
        let mut merged = Vec::new();
        let mut merged_cols = Vec::new();
        let mut hide_left = Vec::new();
        let mut hide_right = Vec::new();
        for n in &names_used {
            let li = find(ls, n, "left")?;
            let ri = find(rs, n, "right")?;
            let l = Expr::column(li, ls[li].ty);
            let r = Expr::column(left_width + ri, rs[ri].ty);
            let (l, r, t) = self.unify_pair(l, r, "=")?;
            conds.push(Expr::new(
                ExprKind::Binary(BinOp::Eq, Box::new(l.clone()), Box::new(r.clone())),
                ColType::plain(Type::Bool),
            ));
            let ty = if ls[li].ty == rs[ri].ty {
                ls[li].ty
            } else {
                ColType::plain(t)
            };
            // PostgreSQL's buildMergedJoinVar: an inner join's column is
            // the side that needs no conversion, the left one when both
            // or neither do (int4 USING numeric shows the numeric's 1.0).
            let plain = |e: &Expr| matches!(e.kind, ExprKind::Column(_));
            merged.push(match kind {
                JoinKind::Inner if !plain(&l) && plain(&r) => r,
                JoinKind::Inner | JoinKind::Left => l,
                JoinKind::Right => r,
                JoinKind::Full => Expr::new(ExprKind::Coalesce(vec![l, r]), ty),
            });
            merged_cols.push(ScopeCol {
                qualifier: None,
                name: n.clone(),
                ty,
                table_oid: 0,
                attnum: 0,
                hidden: false,
            });
            hide_left.push(li);
            hide_right.push(ri);
        }
        let on = match conds.len() {
            0 => None,
            1 => conds.pop(),
            _ => Some(Expr::new(ExprKind::And(conds), ColType::plain(Type::Bool))),
        };
        let join = Plan::Join {
            left: Box::new(lp),
            right: Box::new(rp),
            kind,
            on,
            left_width,
            right_width,
        };
        let mut exprs = merged;
        let mut cols = merged_cols;
        for (i, c) in ls.iter().enumerate() {
            exprs.push(Expr::column(i, c.ty));
            let mut c = c.clone();
            c.hidden = c.hidden || hide_left.contains(&i);
            cols.push(c);
        }
        for (i, c) in rs.iter().enumerate() {
            exprs.push(Expr::column(left_width + i, c.ty));
            let mut c = c.clone();
            c.hidden = c.hidden || hide_right.contains(&i);
            cols.push(c);
        }
        Ok((Plan::Project(Box::new(join), exprs), Scope { cols }))
    }

    pub(in crate::sql) fn bind_range_function(
        &mut self,
        rf: &pb::RangeFunction,
    ) -> Result<(Plan, Scope)> {
        if rf.lateral {
            return Err(SqlError::unsupported("LATERAL"));
        }
        if rf.is_rowsfrom || rf.functions.len() != 1 {
            return Err(SqlError::unsupported("ROWS FROM"));
        }
        let Some(N::List(l)) = &rf.functions[0].node else {
            return Err(SqlError::internal("function in FROM"));
        };
        let Some(N::FuncCall(f)) = l.items.first().and_then(|n| n.node.as_ref()) else {
            return Err(SqlError::unsupported("this function in FROM"));
        };
        let fname = names(&f.funcname).pop().unwrap_or_default();
        if fname == "pg_sleep" && !rf.ordinality {
            // One row with one void column, as a function in FROM gives.
            let call = pb::Node {
                node: Some(N::FuncCall(Box::new((**f).clone()))),
            };
            let e = self.bind_expr(&call)?;
            let (qual, col) = match &rf.alias {
                Some(al) => {
                    let cols = names(&al.colnames);
                    (
                        al.aliasname.clone(),
                        cols.first()
                            .cloned()
                            .unwrap_or_else(|| al.aliasname.clone()),
                    )
                }
                None => ("pg_sleep".to_string(), "pg_sleep".to_string()),
            };
            let scope = Scope {
                cols: vec![ScopeCol {
                    qualifier: Some(qual),
                    name: col,
                    ty: e.ty,
                    table_oid: 0,
                    attnum: 0,
                    hidden: false,
                }],
            };
            return Ok((Plan::Values(vec![vec![e]]), scope));
        }
        if fname == "pg_partition_ancestors" {
            // No partitioning: the relation is its only ancestor.
            let [arg] = f.args.as_slice() else {
                return Err(SqlError::new(
                    code::UNDEFINED_FUNCTION,
                    "function pg_partition_ancestors() does not exist",
                ));
            };
            let a = self.bind_expr(arg)?;
            let a = self.coerce(a, ColType::plain(Type::Oid), false)?;
            let mut row = vec![a];
            let mut cols = vec![("relid".to_string(), ColType::plain(Type::Oid))];
            if rf.ordinality {
                row.push(Expr::constant(Value::Int(1), Type::Int8));
                cols.push(("ordinality".to_string(), ColType::plain(Type::Int8)));
            }
            let (qual, alias_cols) = match &rf.alias {
                Some(al) => (al.aliasname.clone(), names(&al.colnames)),
                None => ("pg_partition_ancestors".to_string(), Vec::new()),
            };
            let scope = Scope {
                cols: cols
                    .into_iter()
                    .enumerate()
                    .map(|(i, (n, ty))| ScopeCol {
                        qualifier: Some(qual.clone()),
                        name: alias_cols.get(i).cloned().unwrap_or(n),
                        ty,
                        table_oid: 0,
                        attnum: 0,
                        hidden: false,
                    })
                    .collect(),
            };
            return Ok((Plan::Values(vec![row]), scope));
        }
        if rf.ordinality {
            return Err(SqlError::unsupported("WITH ORDINALITY"));
        }
        if let Some(r) = self.bind_json_srf(&fname, f, rf) {
            return r;
        }
        if fname == "pg_listening_channels" {
            if !f.args.is_empty() {
                return Err(SqlError::new(
                    code::UNDEFINED_FUNCTION,
                    "function pg_listening_channels() does not exist",
                ));
            }
            let (qual, col) = match &rf.alias {
                Some(al) => {
                    let cols = names(&al.colnames);
                    (
                        al.aliasname.clone(),
                        cols.first()
                            .cloned()
                            .unwrap_or_else(|| al.aliasname.clone()),
                    )
                }
                None => (fname.clone(), fname.clone()),
            };
            let scope = Scope {
                cols: vec![ScopeCol {
                    qualifier: Some(qual),
                    name: col,
                    ty: ColType::plain(Type::Text),
                    table_oid: 0,
                    attnum: 0,
                    hidden: false,
                }],
            };
            let e = Expr::new(
                ExprKind::Func(Func::ListeningChannels, Vec::new()),
                ColType::array_of(Type::Text),
            );
            return Ok((Plan::Unnest(e), scope));
        }
        if fname == "unnest" {
            let [arg] = f.args.as_slice() else {
                return Err(SqlError::unsupported("unnest() of several arrays"));
            };
            let a = self.bind_expr(arg)?;
            if a.ty.ty != Type::Array {
                return Err(SqlError::new(
                    code::UNDEFINED_FUNCTION,
                    format!("function unnest({}) does not exist", a.ty.ty.name()),
                ));
            }
            let elem = ColType::array_elem(a.ty);
            let (qual, col) = match &rf.alias {
                Some(al) => {
                    let cols = names(&al.colnames);
                    (
                        al.aliasname.clone(),
                        cols.first()
                            .cloned()
                            .unwrap_or_else(|| al.aliasname.clone()),
                    )
                }
                None => ("unnest".to_string(), "unnest".to_string()),
            };
            let scope = Scope {
                cols: vec![ScopeCol {
                    qualifier: Some(qual),
                    name: col,
                    ty: ColType::plain(elem),
                    table_oid: 0,
                    attnum: 0,
                    hidden: false,
                }],
            };
            return Ok((Plan::Unnest(a), scope));
        }
        if fname != "generate_series" {
            return Err(SqlError::unsupported(format!("function {fname}() in FROM")));
        }
        if !(2..=3).contains(&f.args.len()) {
            return Err(SqlError::new(
                code::UNDEFINED_FUNCTION,
                "function generate_series() does not exist",
            ));
        }
        let mut args = self.bind_list(&f.args)?;
        let mut t = Type::Unknown;
        // (A timestamp series' step is an interval, of another type.)
        for a in args
            .iter()
            .take(if args.len() == 3 && args[2].ty.ty == Type::Interval {
                2
            } else {
                3
            })
        {
            t = common_type(t, a.ty.ty).unwrap_or(Type::Text);
        }
        let t = match t {
            Type::Int2 | Type::Int4 | Type::Unknown => Type::Int4,
            Type::Int8 => Type::Int8,
            Type::Timestamp | Type::Timestamptz | Type::Date | Type::Interval
                if args.len() == 3 =>
            {
                // generate_series(timestamp, timestamp, interval).
                let mut ts = Type::Unknown;
                for a in &args[..2] {
                    ts = common_type(ts, a.ty.ty).unwrap_or(Type::Text);
                }
                let ts = match ts {
                    Type::Timestamp => Type::Timestamp,
                    Type::Timestamptz | Type::Date => Type::Timestamptz,
                    other => {
                        return Err(SqlError::unsupported(format!(
                            "generate_series over {}",
                            other.name()
                        )))
                    }
                };
                let step = args.pop().ok_or_else(|| SqlError::internal("series"))?;
                args.push(self.coerce_plain(step, Type::Interval)?);
                let last = args.len() - 1;
                for a in &mut args[..last] {
                    *a = self.coerce_plain(a.clone(), ts)?;
                }
                return self.series_plan(rf, args, ts);
            }
            other => {
                return Err(SqlError::unsupported(format!(
                    "generate_series over {}",
                    other.name()
                )))
            }
        };
        for a in &mut args {
            *a = self.coerce_plain(a.clone(), t)?;
        }
        self.series_plan(rf, args, t)
    }

    fn series_plan(
        &mut self,
        rf: &pb::RangeFunction,
        mut args: Vec<Expr>,
        t: Type,
    ) -> Result<(Plan, Scope)> {
        let step = if args.len() == 3 { args.pop() } else { None };
        let stop = args.pop().ok_or_else(|| SqlError::internal("series"))?;
        let start = args.pop().ok_or_else(|| SqlError::internal("series"))?;
        let (qual, col) = match &rf.alias {
            Some(a) => {
                let cols = names(&a.colnames);
                (
                    a.aliasname.clone(),
                    cols.first().cloned().unwrap_or_else(|| a.aliasname.clone()),
                )
            }
            None => ("generate_series".to_string(), "generate_series".to_string()),
        };
        let scope = Scope {
            cols: vec![ScopeCol {
                qualifier: Some(qual),
                name: col,
                ty: ColType::plain(t),
                table_oid: 0,
                attnum: 0,
                hidden: false,
            }],
        };
        Ok((Plan::Series { start, stop, step }, scope))
    }

    pub(in crate::sql) fn bind_from(&mut self, from: &[pb::Node]) -> Result<(Plan, Scope)> {
        let mut acc: Option<(Plan, Scope)> = None;
        for item in from {
            if let Some(sub) = lateral_subselect(item) {
                if let Some((lp, ls)) = acc.take() {
                    acc = Some(self.bind_lateral(lp, ls, &sub, JoinKind::Inner, None)?);
                    continue;
                }
            }
            let (p, s) = self.bind_from_item(item)?;
            acc = Some(match acc {
                None => (p, s),
                Some((lp, ls)) => {
                    let left_width = ls.cols.len();
                    let right_width = s.cols.len();
                    let mut scope = ls;
                    scope.cols.extend(s.cols);
                    (
                        Plan::Join {
                            left: Box::new(lp),
                            right: Box::new(p),
                            kind: JoinKind::Inner,
                            on: None,
                            left_width,
                            right_width,
                        },
                        scope,
                    )
                }
            });
        }
        Ok(acc.unwrap_or((Plan::OneRow, Scope::default())))
    }
}

/// A `LATERAL (subquery)` item, as a node binding it without LATERAL.
fn lateral_subselect(n: &pb::Node) -> Option<pb::Node> {
    match &n.node {
        Some(N::RangeSubselect(s)) if s.lateral => {
            let mut plain = (**s).clone();
            plain.lateral = false;
            Some(pb::Node {
                node: Some(N::RangeSubselect(Box::new(plain))),
            })
        }
        // A json set-returning function after other FROM items may read
        // their columns (a function in FROM is implicitly LATERAL).
        Some(N::RangeFunction(f)) if super::json::is_json_srf(f) => {
            let mut plain = f.clone();
            plain.lateral = false;
            Some(pb::Node {
                node: Some(N::RangeFunction(plain)),
            })
        }
        _ => None,
    }
}

impl Binder<'_> {
    /// `left [CROSS|INNER|LEFT] JOIN LATERAL (subquery) alias [ON ...]`.
    fn bind_lateral_join(
        &mut self,
        j: &pb::JoinExpr,
        lp: Plan,
        ls: Scope,
        sub: &pb::Node,
    ) -> Result<(Plan, Scope)> {
        let kind = match pb::JoinType::try_from(j.jointype) {
            Ok(pb::JoinType::JoinInner) => JoinKind::Inner,
            Ok(pb::JoinType::JoinLeft) => JoinKind::Left,
            _ => {
                return Err(SqlError::new(
                    code::INVALID_COLUMN_REFERENCE,
                    "The combining JOIN type must be INNER or LEFT for a LATERAL reference.",
                ))
            }
        };
        if j.is_natural || !j.using_clause.is_empty() || j.alias.is_some() {
            return Err(SqlError::unsupported(
                "NATURAL, USING or an alias with LATERAL",
            ));
        }
        self.bind_lateral(lp, ls, sub, kind, j.quals.as_deref())
    }

    /// The subquery `sub` bound with the columns of the items left of it
    /// in scope (one level out, as a correlated subquery sees its
    /// query's row), run once per left row.
    fn bind_lateral(
        &mut self,
        lp: Plan,
        ls: Scope,
        sub: &pb::Node,
        kind: JoinKind,
        quals: Option<&pb::Node>,
    ) -> Result<(Plan, Scope)> {
        self.scopes.push(ls.clone());
        // A function's arguments see the left row one level out, as a
        // subquery's expressions do.
        let func = matches!(sub.node, Some(N::RangeFunction(_)));
        if func {
            self.scopes.push(Scope::default());
        }
        let right = self.bind_from_item(sub);
        if func {
            self.scopes.pop();
        }
        self.scopes.pop();
        let (rp, rs) = right?;
        let right_width = rs.cols.len();
        let mut scope = ls;
        scope.cols.extend(rs.cols);
        let on = match quals {
            Some(q) => {
                self.scopes.push(scope);
                let e = self.bind_expr(q).and_then(|e| self.to_bool(e, "JOIN/ON"));
                scope = self.scopes.pop().unwrap_or_default();
                Some(e?)
            }
            None => None,
        };
        Ok((
            Plan::Lateral {
                left: Box::new(lp),
                right: Box::new(rp),
                outer_join: kind == JoinKind::Left,
                on,
                right_width,
            },
            scope,
        ))
    }
}

/// A system relation's columns under `qual`, the first ones renamed by
/// the alias's column names (`pg_cursors AS p(n, s)`).
fn system_scope<'n>(
    qual: &str,
    alias_cols: &[String],
    cols: impl Iterator<Item = (&'n str, ColType)>,
) -> Scope {
    let cols = cols
        .enumerate()
        .map(|(i, (name, ty))| ScopeCol {
            qualifier: Some(qual.to_owned()),
            name: alias_cols
                .get(i)
                .cloned()
                .unwrap_or_else(|| name.to_owned()),
            ty,
            table_oid: 0,
            attnum: 0,
            hidden: false,
        })
        .collect();
    Scope { cols }
}

impl Binder<'_> {
    /// UPDATE ... FROM / DELETE ... USING lock the rows of the relations
    /// they list (directly or in joins; a subquery's rows are copied, not
    /// locked): a sequence there is PostgreSQL's 42809.
    pub(in crate::sql) fn refuse_locked_sequences(&self, node: &pb::Node) -> Result<()> {
        match &node.node {
            Some(N::RangeVar(r))
                if !(r.schemaname.is_empty() && self.ctes.iter().any(|(n, _)| *n == r.relname)) =>
            {
                if let Some(seq) = self.sequence_relation(r) {
                    return Err(SqlError::new(
                        code::WRONG_OBJECT_TYPE,
                        format!("cannot lock rows in sequence \"{}\"", seq.name),
                    ));
                }
                Ok(())
            }
            Some(N::JoinExpr(j)) => {
                for side in [&j.larg, &j.rarg].into_iter().flatten() {
                    self.refuse_locked_sequences(side)?;
                }
                Ok(())
            }
            // A subquery PostgreSQL pulls up into the statement (plain
            // columns of its FROM, nothing that needs it kept apart) locks
            // its relations too.
            Some(N::RangeSubselect(rs)) => {
                let Some(N::SelectStmt(q)) = rs.subquery.as_ref().and_then(|n| n.node.as_ref())
                else {
                    return Ok(());
                };
                // (No function call or subquery anywhere in its select
                // list: no aggregate, set-returning or volatile function.)
                let targets = format!("{:?}", q.target_list);
                let plain_targets = !targets.contains("FuncCall") && !targets.contains("SubLink");
                let simple = plain_targets
                    && q.op == pb::SetOperation::SetopNone as i32
                    && q.with_clause.is_none()
                    && q.limit_count.is_none()
                    && q.limit_offset.is_none()
                    && q.group_clause.is_empty()
                    && q.having_clause.is_none()
                    && q.distinct_clause.is_empty()
                    && q.sort_clause.is_empty()
                    && q.locking_clause.is_empty()
                    && q.values_lists.is_empty();
                if simple {
                    for item in &q.from_clause {
                        self.refuse_locked_sequences(item)?;
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The sequence a FROM item names, when no table has that name.
    fn sequence_relation(&self, r: &pb::RangeVar) -> Option<Arc<crate::catalog::Sequence>> {
        let (schema, name) = range_var_name(r);
        if self.catalog.table(&schema, &name).is_some() {
            return None;
        }
        self.catalog.sequence(&schema, &name).cloned()
    }
}

/// A sequence read as a relation: its one row (last_value, log_cnt,
/// is_called), read when the statement runs, as PostgreSQL's sequence
/// relation shows it.
fn sequence_scan(r: &pb::RangeVar, seq: &crate::catalog::Sequence) -> (Plan, Scope) {
    let qual = r
        .alias
        .as_ref()
        .map(|a| a.aliasname.clone())
        .unwrap_or_else(|| seq.name.clone());
    let alias_cols = r
        .alias
        .as_ref()
        .map(|a| names(&a.colnames))
        .unwrap_or_default();
    let fields = [
        ("last_value", Type::Int8),
        ("log_cnt", Type::Int8),
        ("is_called", Type::Bool),
    ];
    let oid = Expr::constant(Value::Int(i64::from(seq.oid)), Type::Int8);
    let row = (0u8..)
        .zip(fields)
        .map(|(i, (_, ty))| {
            Expr::new(
                ExprKind::Func(Func::SequenceField(i), vec![oid.clone()]),
                ColType::plain(ty),
            )
        })
        .collect();
    let cols = fields
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| ScopeCol {
            qualifier: Some(qual.clone()),
            name: alias_cols
                .get(i)
                .cloned()
                .unwrap_or_else(|| (*name).to_string()),
            ty: ColType::plain(*ty),
            table_oid: seq.oid,
            attnum: i16::try_from(i + 1).unwrap_or(0),
            hidden: false,
        })
        .collect();
    (Plan::Values(vec![row]), Scope { cols })
}
