//! INSERT, UPDATE and DELETE binding, and primary-key lookups.

use pg_query::protobuf::{self as pb, node::Node as N};
use std::sync::Arc;

use super::bind::{figure_colname, Binder};
use super::plan::*;
use super::scope::{Scope, ScopeCol};
use crate::catalog::Table;
use crate::error::{code, Result, SqlError};
use crate::types::{ColType, Type, Value};

pub(super) fn table_scope(t: &Table, qualifier: &str) -> Scope {
    Scope {
        cols: t
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| ScopeCol {
                qualifier: Some(qualifier.to_string()),
                name: c.name.clone(),
                ty: c.ty,
                table_oid: t.oid,
                attnum: i16::try_from(i + 1).unwrap_or(0),
                hidden: false,
            })
            .collect(),
    }
}

/// Whether `e` depends on the current row (so it cannot be a key value).
pub(super) fn uses_row(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Column(_) | ExprKind::Subquery { .. } | ExprKind::Agg(_) => true,
        ExprKind::Const(_) | ExprKind::Param(_) | ExprKind::Outer(..) => false,
        ExprKind::Cast(a, _) | ExprKind::Neg(a) => uses_row(a),
        ExprKind::Binary(_, a, b) => uses_row(a) || uses_row(b),
        ExprKind::Func(f, args) => {
            *f == Func::Random
                || matches!(f, Func::Lib(l) if l.is_volatile())
                || args.iter().any(uses_row)
        }
        _ => true,
    }
}

/// The rows `filter` pins with `col = value` (value not depending on the
/// row, of the column's own type, or of a wider integer type: see
/// [`super::ranges::key_column`]) can be found without a scan: by the
/// primary key when it pins every key column (one point read), else by the
/// secondary index it pins most of (a unique index pinned whole first),
/// or by a range of a key ([`super::ranges`]) when one pins more.
pub fn key_lookup(table: &Table, filter: Option<&Expr>) -> Option<Lookup> {
    if table.primary_key.is_none() && table.indexes.is_empty() {
        return None;
    }
    let filter = filter?;
    let conj = super::ranges::conjuncts(filter);
    let mut pinned: Vec<Option<Expr>> = vec![None; table.columns.len()];
    for &c in &conj {
        let ExprKind::Binary(BinOp::Eq, a, b) = &c.kind else {
            continue;
        };
        for (col, val) in [(a, b), (b, a)] {
            if let Some((i, ty)) = super::ranges::key_column(table, col) {
                if i < pinned.len() && !uses_row(val) && val.ty.ty == ty {
                    pinned[i] = Some((**val).clone());
                }
            }
        }
    }
    if let Some(pk) = &table.primary_key {
        let vals: Option<Vec<Expr>> = pk.iter().map(|c| pinned[*c].clone()).collect();
        if let Some(v) = vals {
            return Some(Lookup::Pk(v));
        }
    }
    let range = super::ranges::best_range(table, &conj, &pinned);
    let mut best: Option<(usize, Vec<Expr>, bool)> = None;
    for (pos, idx) in table.indexes.iter().enumerate() {
        let vals: Vec<Expr> = idx
            .columns
            .iter()
            .map_while(|c| pinned[*c].clone())
            .collect();
        if vals.is_empty() {
            continue;
        }
        let whole_unique = idx.unique && vals.len() == idx.columns.len();
        let better = match &best {
            None => true,
            Some((_, b, bu)) => {
                (whole_unique && !bu) || (whole_unique == *bu && vals.len() > b.len())
            }
        };
        if better {
            best = Some((pos, vals, whole_unique));
        }
    }
    match (best, range) {
        (Some((_, vals, whole_unique)), Some((r, score)))
            if !whole_unique && score > 2 * vals.len() =>
        {
            Some(Lookup::Range(r))
        }
        (Some((pos, vals, _)), _) => Some(Lookup::Index(pos, vals)),
        (None, range) => range.map(|(r, _)| Lookup::Range(r)),
    }
}

impl Binder<'_> {
    /// A `WHERE` clause bound as a boolean condition (`None` when absent).
    pub(super) fn bind_where(&mut self, w: Option<&pb::Node>) -> Result<Option<Expr>> {
        match w {
            Some(w) => {
                let e = self.bind_expr(w)?;
                Ok(Some(self.to_bool(e, "WHERE")?))
            }
            None => Ok(None),
        }
    }

    /// The value of `SET col = val` (UPDATE, ON CONFLICT DO UPDATE):
    /// `DEFAULT` is the column's default (NULL without one), anything else
    /// is assigned with the column's assignment cast.
    fn bind_assignment(&mut self, val: &pb::Node, col: &crate::catalog::Column) -> Result<Expr> {
        if matches!(val.node, Some(N::SetToDefault(_))) {
            return Ok(match &col.default {
                Some(d) => self.bind_default(&d.clone(), col.ty, &col.name)?,
                None => Expr::new(ExprKind::Const(Value::Null), col.ty),
            });
        }
        let e = self.bind_expr(val)?;
        let e = self.assign(e, col.ty, &col.name)?;
        if col.identity == Some(crate::catalog::Identity::Always) {
            return Err(col.always_identity_error(true));
        }
        Ok(e)
    }

    /// `SET col[i] = value`: the column's array with element i set.
    fn bind_element_assignment(
        &mut self,
        indirection: &[pb::Node],
        val: &pb::Node,
        col: &crate::catalog::Column,
        i: usize,
    ) -> Result<Expr> {
        let [ind] = indirection else {
            return Err(SqlError::unsupported(
                "assigning to nested subscripts or fields",
            ));
        };
        let Some(N::AIndices(ix)) = &ind.node else {
            return Err(SqlError::unsupported("assigning to fields"));
        };
        if col.ty.ty != Type::Array {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "cannot subscript type {} because it does not support subscripting",
                    self.col_type_name(col.ty)
                ),
            ));
        }
        if ix.is_slice {
            return Err(SqlError::unsupported("assigning to an array slice"));
        }
        let idx = self.bind_expr(
            ix.uidx
                .as_deref()
                .ok_or_else(|| SqlError::internal("subscript"))?,
        )?;
        let idx = self.coerce(idx, ColType::plain(Type::Int4), false)?;
        let elem = ColType::plain(ColType::array_elem(col.ty));
        let v = self.bind_expr(val)?;
        let v = self.assign(v, elem, &col.name)?;
        Ok(Expr::new(
            ExprKind::Func(Func::ArraySet, vec![Expr::column(i, col.ty), idx, v]),
            col.ty,
        ))
    }

    fn returning(
        &mut self,
        table: &Table,
        r: Option<&pb::ReturningClause>,
    ) -> Result<(Option<Vec<Expr>>, Vec<OutColumn>)> {
        let Some(r) = r else {
            return Ok((None, Vec::new()));
        };
        if r.exprs.is_empty() {
            return Ok((None, Vec::new()));
        }
        let mut exprs = Vec::new();
        let mut cols = Vec::new();
        for t in &r.exprs {
            let Some(N::ResTarget(rt)) = &t.node else {
                continue;
            };
            let val = rt
                .val
                .as_deref()
                .ok_or_else(|| SqlError::internal("RETURNING"))?;
            if let Some(N::ColumnRef(c)) = &val.node {
                if matches!(
                    c.fields.last().and_then(|f| f.node.as_ref()),
                    Some(N::AStar(_))
                ) && self.scopes.last().map_or(0, |s| s.cols.len()) > table.columns.len()
                {
                    // UPDATE ... FROM / DELETE ... USING: `*` is every
                    // table's columns, the target's first; `x.*` those of x.
                    let scope = self.scopes.last().cloned().unwrap_or_default();
                    let q = (c.fields.len() > 1)
                        .then(|| c.fields.first().and_then(super::bind::node_str))
                        .flatten();
                    if q.is_some_and(|q| !scope.has_qualifier(q)) {
                        return Err(SqlError::new(
                            code::UNDEFINED_TABLE,
                            format!(
                                "missing FROM-clause entry for table \"{}\"",
                                q.unwrap_or_default()
                            ),
                        ));
                    }
                    for (i, sc) in scope.cols.iter().enumerate().filter(|(_, c)| match q {
                        Some(q) => c.qualifier.as_deref() == Some(q),
                        None => !c.hidden,
                    }) {
                        exprs.push(Expr::column(i, sc.ty));
                        cols.push(OutColumn {
                            name: sc.name.clone(),
                            ty: sc.ty,
                            table_oid: sc.table_oid,
                            attnum: sc.attnum,
                        });
                    }
                    continue;
                }
                if matches!(
                    c.fields.last().and_then(|f| f.node.as_ref()),
                    Some(N::AStar(_))
                ) {
                    for (i, col) in table.columns.iter().enumerate() {
                        exprs.push(Expr::column(i, col.ty));
                        cols.push(OutColumn {
                            name: col.name.clone(),
                            ty: col.ty,
                            table_oid: table.oid,
                            attnum: i16::try_from(i + 1).unwrap_or(0),
                        });
                    }
                    continue;
                }
            }
            let e = self.bind_expr(val)?;
            let e = if e.ty.ty == Type::Unknown {
                self.coerce(e, ColType::plain(Type::Text), false)?
            } else {
                e
            };
            let (oid, att) = match e.kind {
                ExprKind::Column(i) if i < table.columns.len() => {
                    (table.oid, i16::try_from(i + 1).unwrap_or(0))
                }
                // A column of a FROM / USING table.
                ExprKind::Column(i) => self
                    .scopes
                    .last()
                    .and_then(|s| s.cols.get(i))
                    .map_or((0, 0), |c| (c.table_oid, c.attnum)),
                _ => (0, 0),
            };
            let name = if rt.name.is_empty() {
                figure_colname(val)
            } else {
                rt.name.clone()
            };
            cols.push(OutColumn {
                name,
                ty: e.ty,
                table_oid: oid,
                attnum: att,
            });
            exprs.push(e);
        }
        Ok((Some(exprs), cols))
    }

    fn dml_table(&self, rel: Option<&pb::RangeVar>) -> Result<(Arc<Table>, String)> {
        let rel = rel.ok_or_else(|| SqlError::internal("statement without table"))?;
        let t = self.table(rel).map_err(|e| {
            let (schema, name) = super::bind::range_var_name(rel);
            match self.catalog.sequence(&schema, &name) {
                Some(_) => SqlError::new(
                    code::WRONG_OBJECT_TYPE,
                    format!("cannot change sequence \"{name}\""),
                ),
                None => e,
            }
        })?;
        let q = rel
            .alias
            .as_ref()
            .map(|a| a.aliasname.clone())
            .unwrap_or_else(|| t.name.clone());
        Ok((t, q))
    }

    pub fn bind_insert(&mut self, s: &pb::InsertStmt) -> Result<Insert> {
        if s.with_clause.is_some() {
            return Err(SqlError::unsupported("WITH"));
        }
        let (table, qual) = self.dml_table(s.relation.as_ref())?;
        let mut targets = Vec::new();
        if s.cols.is_empty() {
            targets = (0..table.columns.len()).collect();
        } else {
            for c in &s.cols {
                let Some(N::ResTarget(rt)) = &c.node else {
                    continue;
                };
                if !rt.indirection.is_empty() {
                    return Err(SqlError::unsupported(
                        "INSERT into array elements or fields",
                    ));
                }
                let i = table.column_index(&rt.name).ok_or_else(|| {
                    SqlError::new(
                        code::UNDEFINED_COLUMN,
                        format!(
                            "column \"{}\" of relation \"{}\" does not exist",
                            rt.name, table.name
                        ),
                    )
                })?;
                if targets.contains(&i) {
                    return Err(SqlError::new(
                        code::DUPLICATE_COLUMN,
                        format!("column \"{}\" specified more than once", rt.name),
                    ));
                }
                targets.push(i);
            }
        }
        // Identity columns: OVERRIDING USER VALUE puts the sequence's
        // value in place of any given; a GENERATED ALWAYS column takes a
        // given value only under OVERRIDING SYSTEM VALUE.
        let user_value = s.r#override == pb::OverridingKind::OverridingUserValue as i32;
        let system_value = s.r#override == pb::OverridingKind::OverridingSystemValue as i32;
        let identity = |t: usize| table.columns[t].identity;
        let always_error = |t: usize| -> Result<()> {
            if identity(t) == Some(crate::catalog::Identity::Always) && !user_value && !system_value
            {
                return Err(table.columns[t].always_identity_error(false));
            }
            Ok(())
        };
        let mut defaults = Vec::with_capacity(table.columns.len());
        for c in &table.columns {
            defaults.push(match &c.default {
                Some(d) => Some(self.bind_default(d, c.ty, &c.name)?),
                None => None,
            });
        }
        let source = match s.select_stmt.as_deref().and_then(|n| n.node.as_ref()) {
            None => Plan::OneRow,
            Some(N::SelectStmt(sel))
                if !sel.values_lists.is_empty()
                    && sel.sort_clause.is_empty()
                    && sel.limit_count.is_none() =>
            {
                // PostgreSQL's transformInsertStmt: every row must have
                // the first row's length; a row may be shorter than the
                // target list only without an explicit column list (the
                // trailing columns take their defaults).
                let mut rows = Vec::new();
                let mut width = None;
                for r in &sel.values_lists {
                    let Some(N::List(l)) = &r.node else { continue };
                    let mut bound = Vec::with_capacity(l.items.len());
                    for item in &l.items {
                        bound.push(if matches!(item.node, Some(N::SetToDefault(_))) {
                            None
                        } else {
                            Some(self.bind_expr(item)?)
                        });
                    }
                    match width {
                        None => width = Some(bound.len()),
                        Some(w) if w != bound.len() => {
                            return Err(SqlError::new(
                                code::SYNTAX_ERROR,
                                "VALUES lists must all be the same length",
                            ));
                        }
                        Some(_) => {}
                    }
                    if bound.len() > targets.len() {
                        return Err(SqlError::new(
                            code::SYNTAX_ERROR,
                            "INSERT has more expressions than target columns",
                        ));
                    }
                    if !s.cols.is_empty() && bound.len() < targets.len() {
                        return Err(SqlError::new(
                            code::SYNTAX_ERROR,
                            "INSERT has more target columns than expressions",
                        ));
                    }
                    let mut row = Vec::new();
                    for (e, &t) in bound.into_iter().zip(&targets) {
                        let col = &table.columns[t];
                        let e = match e {
                            Some(_) if user_value && identity(t).is_some() => None,
                            Some(e) => {
                                always_error(t)?;
                                Some(e)
                            }
                            None => None,
                        };
                        row.push(match e {
                            None => match &defaults[t] {
                                Some(d) => d.clone(),
                                None => Expr::new(ExprKind::Const(Value::Null), col.ty),
                            },
                            Some(e) => self.assign(e, col.ty, &col.name)?,
                        });
                    }
                    rows.push(row);
                }
                targets.truncate(width.unwrap_or(0));
                Plan::Values(rows)
            }
            Some(N::SelectStmt(sel)) => {
                let q = self.bind_select(sel)?;
                if q.columns.len() > targets.len() {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        "INSERT has more expressions than target columns",
                    ));
                }
                if !s.cols.is_empty() && q.columns.len() < targets.len() {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        "INSERT has more target columns than expressions",
                    ));
                }
                let mut casts = Vec::new();
                for (i, (c, &t)) in q.columns.iter().zip(&targets).enumerate() {
                    let col = &table.columns[t];
                    let e = self.assign(Expr::column(i, c.ty), col.ty, &col.name)?;
                    always_error(t)?;
                    casts.push(match &defaults[t] {
                        Some(d) if user_value && identity(t).is_some() => d.clone(),
                        _ => e,
                    });
                }
                targets.truncate(q.columns.len());
                Plan::Project(Box::new(q.plan), casts)
            }
            Some(_) => return Err(SqlError::unsupported("this INSERT source")),
        };
        let source = if s.select_stmt.is_none() {
            // INSERT ... DEFAULT VALUES
            targets.clear();
            source
        } else {
            source
        };
        let mut upsert = None;
        let mut arbiter = Arbiter::Any;
        let on_conflict_nothing = match s.on_conflict_clause.as_deref() {
            None => false,
            Some(oc) => {
                let no_match = || {
                    SqlError::new(
                        code::INVALID_COLUMN_REFERENCE,
                        "there is no unique or exclusion constraint matching the ON CONFLICT specification",
                    )
                };
                if let Some(inf) = oc.infer.as_deref() {
                    if !inf.conname.is_empty() {
                        if let Some(p) = table
                            .indexes
                            .iter()
                            .position(|i| i.constraint && i.name == inf.conname)
                        {
                            arbiter = Arbiter::Index(p);
                        } else if table.pkey_name.as_deref() != Some(inf.conname.as_str()) {
                            return Err(SqlError::new(
                                code::UNDEFINED_OBJECT,
                                format!(
                                    "constraint \"{}\" for table \"{}\" does not exist",
                                    inf.conname, table.name
                                ),
                            ));
                        } else {
                            arbiter = Arbiter::Pk;
                        }
                    } else {
                        if inf.where_clause.is_some() {
                            return Err(SqlError::unsupported(
                                "ON CONFLICT with a WHERE on the inference",
                            ));
                        }
                        let mut cols: Vec<usize> = Vec::new();
                        for e in &inf.index_elems {
                            let Some(N::IndexElem(ie)) = &e.node else {
                                return Err(no_match());
                            };
                            cols.push(table.column_index(&ie.name).ok_or_else(|| {
                                SqlError::new(
                                    code::UNDEFINED_COLUMN,
                                    format!("column \"{}\" does not exist", ie.name),
                                )
                            })?);
                        }
                        cols.sort_unstable();
                        cols.dedup();
                        let sorted = |c: &[usize]| {
                            let mut c = c.to_vec();
                            c.sort_unstable();
                            c
                        };
                        if table.primary_key.as_deref().map(sorted) == Some(cols.clone()) {
                            arbiter = Arbiter::Pk;
                        } else {
                            let p = table
                                .indexes
                                .iter()
                                .position(|i| i.unique && sorted(&i.columns) == cols)
                                .ok_or_else(no_match)?;
                            arbiter = Arbiter::Index(p);
                        }
                    }
                }
                if oc.action == pb::OnConflictAction::OnconflictUpdate as i32 {
                    if oc.infer.is_none() {
                        return Err(SqlError::new(
                            code::SYNTAX_ERROR,
                            "ON CONFLICT DO UPDATE requires inference specification or constraint name",
                        ));
                    }
                    let mut both = table_scope(&table, &qual);
                    both.cols.extend(table_scope(&table, "excluded").cols);
                    self.scopes.push(both);
                    let r = (|| -> Result<Upsert> {
                        let mut sets: Vec<(usize, Expr)> = Vec::new();
                        for t in &oc.target_list {
                            let Some(N::ResTarget(rt)) = &t.node else {
                                continue;
                            };
                            if !rt.indirection.is_empty() {
                                return Err(SqlError::unsupported(
                                    "assigning to array elements or fields",
                                ));
                            }
                            let i = table.column_index(&rt.name).ok_or_else(|| {
                                SqlError::new(
                                    code::UNDEFINED_COLUMN,
                                    format!(
                                        "column \"{}\" of relation \"{}\" does not exist",
                                        rt.name, table.name
                                    ),
                                )
                            })?;
                            let val = rt.val.as_deref().ok_or_else(|| SqlError::internal("SET"))?;
                            if matches!(val.node, Some(N::MultiAssignRef(_))) {
                                return Err(SqlError::unsupported("SET (a, b) = ..."));
                            }
                            let col = &table.columns[i];
                            sets.push((i, self.bind_assignment(val, col)?));
                        }
                        let filter = self.bind_where(oc.where_clause.as_deref())?;
                        Ok(Upsert { sets, filter })
                    })();
                    self.scopes.pop();
                    upsert = Some(r?);
                    false
                } else {
                    true
                }
            }
        };
        self.scopes.push(table_scope(&table, &qual));
        let ret = self.returning(&table, s.returning_clause.as_ref());
        self.scopes.pop();
        let (returning, returning_cols) = ret?;
        let checks = self.bind_checks(&table)?;
        Ok(Insert {
            checks,
            table,
            targets,
            source,
            defaults,
            on_conflict_nothing,
            arbiter,
            upsert,
            returning,
            returning_cols,
        })
    }

    pub fn bind_update(&mut self, s: &pb::UpdateStmt) -> Result<Update> {
        if s.with_clause.is_some() {
            return Err(SqlError::unsupported("WITH"));
        }
        let (table, qual) = self.dml_table(s.relation.as_ref())?;
        let (from, scope) = self.dml_from(&table, &qual, &s.from_clause)?;
        self.scopes.push(scope);
        let r = self.bind_update_body(s, &table, from);
        self.scopes.pop();
        r
    }

    /// The target's scope, followed by the columns of an UPDATE's FROM
    /// or a DELETE's USING items (bound as a FROM clause, not seeing the
    /// target), and the plan of those items.
    fn dml_from(
        &mut self,
        table: &Table,
        qual: &str,
        items: &[pb::Node],
    ) -> Result<(Option<Plan>, super::scope::Scope)> {
        let mut scope = table_scope(table, qual);
        if items.is_empty() {
            return Ok((None, scope));
        }
        for item in items {
            self.refuse_locked_sequences(item)?;
        }
        let (plan, from_scope) = self.bind_from(items)?;
        if from_scope.has_qualifier(qual) {
            return Err(SqlError::new(
                "42712",
                format!("table name \"{qual}\" specified more than once"),
            ));
        }
        scope.cols.extend(from_scope.cols);
        Ok((Some(plan), scope))
    }

    fn bind_update_body(
        &mut self,
        s: &pb::UpdateStmt,
        table: &Arc<Table>,
        from: Option<Plan>,
    ) -> Result<Update> {
        let mut sets: Vec<(usize, Expr)> = Vec::new();
        for t in &s.target_list {
            let Some(N::ResTarget(rt)) = &t.node else {
                continue;
            };
            let i = table.column_index(&rt.name).ok_or_else(|| {
                SqlError::new(
                    code::UNDEFINED_COLUMN,
                    format!(
                        "column \"{}\" of relation \"{}\" does not exist",
                        rt.name, table.name
                    ),
                )
            })?;
            if sets.iter().any(|(c, _)| *c == i) {
                return Err(SqlError::new(
                    code::SYNTAX_ERROR,
                    format!("multiple assignments to same column \"{}\"", rt.name),
                ));
            }
            let val = rt.val.as_deref().ok_or_else(|| SqlError::internal("SET"))?;
            if matches!(val.node, Some(N::MultiAssignRef(_))) {
                return Err(SqlError::unsupported("UPDATE ... SET (a, b) = ..."));
            }
            let col = &table.columns[i];
            if !rt.indirection.is_empty() {
                let e = self.bind_element_assignment(&rt.indirection, val, col, i)?;
                sets.push((i, e));
                continue;
            }
            sets.push((i, self.bind_assignment(val, col)?));
        }
        let filter = self.bind_where(s.where_clause.as_deref())?;
        let from =
            from.map(|p| super::join::push_into_from(p, filter.as_ref(), table.columns.len()));
        // With FROM, the filter joins: the target is scanned (see
        // exec::dml_from).
        let key = match from {
            None => key_lookup(table, filter.as_ref()),
            Some(_) => None,
        };
        let (returning, returning_cols) = self.returning(table, s.returning_clause.as_ref())?;
        let checks = self.bind_checks(table)?;
        Ok(Update {
            checks,
            table: table.clone(),
            key,
            filter,
            sets,
            returning,
            returning_cols,
            from,
        })
    }

    pub fn bind_delete(&mut self, s: &pb::DeleteStmt) -> Result<Delete> {
        if s.with_clause.is_some() {
            return Err(SqlError::unsupported("WITH"));
        }
        let (table, qual) = self.dml_table(s.relation.as_ref())?;
        let (using, scope) = self.dml_from(&table, &qual, &s.using_clause)?;
        self.scopes.push(scope);
        let r = (|| {
            let filter = self.bind_where(s.where_clause.as_deref())?;
            let using =
                using.map(|p| super::join::push_into_from(p, filter.as_ref(), table.columns.len()));
            let key = match using {
                None => key_lookup(&table, filter.as_ref()),
                Some(_) => None,
            };
            let (returning, returning_cols) =
                self.returning(&table, s.returning_clause.as_ref())?;
            Ok(Delete {
                table: table.clone(),
                key,
                filter,
                returning,
                returning_cols,
                using,
            })
        })();
        self.scopes.pop();
        r
    }
}
