//! Binding expressions: column references, casts, boolean contexts and
//! the type unification of operands.

use super::*;

impl Binder<'_> {
    // ---- expressions -------------------------------------------------

    /// Records a column reference `depth` scopes out (for correlation).
    fn note_outer(&self, depth: usize) {
        if depth > 0 {
            let reach = self.scopes.len().saturating_sub(1 + depth);
            self.outer_reach.set(self.outer_reach.get().min(reach));
        }
    }

    pub(in crate::sql) fn lookup_column(&self, fields: &[pb::Node]) -> Result<Expr> {
        let parts = names(fields);
        let (qual, name) = match parts.as_slice() {
            [c] => (None, c.as_str()),
            [t, c] => (Some(t.as_str()), c.as_str()),
            [_, t, c] => (Some(t.as_str()), c.as_str()),
            _ => return Err(SqlError::unsupported("this column reference")),
        };
        for (depth, scope) in self.scopes.iter().rev().enumerate() {
            match scope.lookup(qual, name) {
                Lookup::Found(i) => {
                    let c = &scope.cols[i];
                    self.note_outer(depth);
                    return Ok(if depth == 0 {
                        Expr::column(i, c.ty)
                    } else {
                        Expr::new(ExprKind::Outer(depth, i), c.ty)
                    });
                }
                Lookup::Ambiguous => {
                    return Err(SqlError::new(
                        code::AMBIGUOUS_COLUMN,
                        format!("column reference \"{name}\" is ambiguous"),
                    ))
                }
                Lookup::NotFound => {}
            }
        }
        // A scalar set-returning function's alias names its value (PG's
        // whole-row reference to a function returning a base type).
        if qual.is_none() {
            for (depth, scope) in self.scopes.iter().rev().enumerate() {
                if let Some(i) = scope.cols.iter().position(|c| {
                    c.hidden && c.name == name && c.qualifier.as_deref() == Some(name)
                }) {
                    let ty = scope.cols[i].ty;
                    self.note_outer(depth);
                    return Ok(if depth == 0 {
                        Expr::column(i, ty)
                    } else {
                        Expr::new(ExprKind::Outer(depth, i), ty)
                    });
                }
            }
        }
        if let Some(q) = qual {
            if !self.scopes.iter().any(|s| s.has_qualifier(q)) {
                return Err(SqlError::new(
                    code::UNDEFINED_TABLE,
                    format!("missing FROM-clause entry for table \"{q}\""),
                ));
            }
            return Err(SqlError::new(
                code::UNDEFINED_COLUMN,
                format!("column {q}.{name} does not exist"),
            ));
        }
        // PostgreSQL reads a bare relation name as a whole-row reference
        // (a value of the row's composite type): tusk-lite has no
        // composite values, so say so instead of "column does not exist".
        if self.scopes.iter().any(|s| s.has_qualifier(name)) {
            return Err(SqlError::unsupported(format!(
                "the whole-row reference \"{name}\" (a row as a composite value)"
            )));
        }
        Err(SqlError::new(
            code::UNDEFINED_COLUMN,
            format!("column \"{name}\" does not exist"),
        ))
    }

    pub fn bind_expr(&mut self, node: &pb::Node) -> Result<Expr> {
        let Some(n) = &node.node else {
            return Err(SqlError::new(code::SYNTAX_ERROR, "empty expression"));
        };
        match n {
            N::ColumnRef(c) => {
                if c.fields.iter().any(|f| matches!(f.node, Some(N::AStar(_)))) {
                    return Err(SqlError::unsupported("* in this position"));
                }
                self.lookup_column(&c.fields)
            }
            N::AConst(c) => Ok(a_const_value(c)),
            N::ParamRef(p) => {
                let i = usize::try_from(p.number - 1).map_err(|_| {
                    SqlError::new(code::UNDEFINED_PARAMETER, "there is no parameter $0")
                })?;
                if self.params.len() <= i {
                    self.params.resize(i + 1, Type::Unknown);
                }
                // A parameter declared as an array by its OID: its element
                // type is known from that OID (Binder::param_oids) or from
                // a cast to the array type.
                if self.params[i] == Type::Array && !self.array_param_cast {
                    if let Some(elem) = self.param_array_elem(i) {
                        return Ok(Expr::new(ExprKind::Param(i), ColType::array_of(elem)));
                    }
                    return Err(SqlError::unsupported(format!(
                        "a parameter declared as an array type outside a cast to it (${}::type[])",
                        i + 1
                    )));
                }
                Ok(Expr::new(
                    ExprKind::Param(i),
                    ColType::plain(self.params[i]),
                ))
            }
            N::TypeCast(tc) => {
                let tn = tc
                    .type_name
                    .as_ref()
                    .ok_or_else(|| SqlError::internal("cast without type"))?;
                // ARRAY[...]::t[]: the elements are cast to t (so an empty
                // ARRAY[] gets its type), as PostgreSQL's transformArrayExpr.
                if let (false, Some(N::AArrayExpr(a))) = (
                    tn.array_bounds.is_empty(),
                    tc.arg.as_deref().and_then(|n| n.node.as_ref()),
                ) {
                    let mut elem_name = tn.clone();
                    elem_name.array_bounds.clear();
                    let elem = resolve_type(self.catalog, &elem_name)?;
                    return self.bind_array_ctor(a, Some(elem));
                }
                let arg = tc
                    .arg
                    .as_deref()
                    .ok_or_else(|| SqlError::internal("cast without argument"))?;
                self.array_param_cast =
                    !tn.array_bounds.is_empty() && matches!(arg.node, Some(N::ParamRef(_)));
                let inner = self.bind_expr(arg);
                self.array_param_cast = false;
                let inner = inner?;
                let last = names(&tn.names).pop().unwrap_or_default();
                if tn.array_bounds.is_empty() && catalog_funcs::reg_type(&last) {
                    return self.bind_reg_cast(inner, &last);
                }
                if !tn.array_bounds.is_empty() {
                    let mut elem_name = tn.clone();
                    elem_name.array_bounds.clear();
                    let elem = if last == "int2vector" {
                        ColType::plain(Type::Int2)
                    } else {
                        resolve_type(self.catalog, &elem_name)?
                    };
                    if let Type::Enum(_) = elem.ty {
                        return Err(SqlError::unsupported("arrays of enum types"));
                    }
                    return self.array_cast(inner, ColType::array_of(elem.ty));
                }
                let to = resolve_type(self.catalog, tn)?;
                self.explicit_cast(inner, to)
            }
            N::CollateClause(c) => {
                let coll = names(&c.collname).pop().unwrap_or_default();
                if !matches!(coll.as_str(), "default" | "C" | "POSIX") {
                    return Err(SqlError::unsupported(format!("collation \"{coll}\"")));
                }
                let e = self.bind_expr(
                    c.arg
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("COLLATE without argument"))?,
                )?;
                if !e.ty.ty.is_string() {
                    return Err(SqlError::new(
                        code::DATATYPE_MISMATCH,
                        format!("collations are not supported by type {}", e.ty.ty.name()),
                    ));
                }
                Ok(e)
            }
            N::AIndirection(ind) => {
                let base = self.bind_expr(
                    ind.arg
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("subscript without argument"))?,
                )?;
                if matches!(base.ty.ty, Type::Json | Type::Jsonb) {
                    return self.json_subscript(base, &ind.indirection);
                }
                let [sub] = ind.indirection.as_slice() else {
                    return Err(SqlError::unsupported("this subscript or field selection"));
                };
                let Some(N::AIndices(ix)) = &sub.node else {
                    return Err(SqlError::unsupported("field selection"));
                };
                if ix.is_slice && base.ty.ty == Type::Array {
                    return self.array_slice(base, ix);
                }
                if ix.is_slice || base.ty.ty != Type::Array {
                    return Err(SqlError::unsupported("this subscript"));
                }
                let i = self.bind_expr(
                    ix.uidx
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("subscript"))?,
                )?;
                let i = self.coerce(i, ColType::plain(Type::Int4), false)?;
                let elem = ColType::array_elem(base.ty);
                // int2vector/oidvector subscripts count from 0.
                let f = if base.ty.is_vector() {
                    Func::VectorSubscript
                } else {
                    Func::ArraySubscript
                };
                Ok(Expr::new(
                    ExprKind::Func(f, vec![base, i]),
                    ColType::plain(elem),
                ))
            }
            N::AExpr(a) => self.bind_a_expr(a),
            N::BoolExpr(b) => {
                let mut args = Vec::with_capacity(b.args.len());
                let label = match pb::BoolExprType::try_from(b.boolop) {
                    Ok(pb::BoolExprType::AndExpr) => "AND",
                    Ok(pb::BoolExprType::OrExpr) => "OR",
                    _ => "NOT",
                };
                for a in &b.args {
                    let e = self.bind_expr(a)?;
                    args.push(self.to_bool(e, label)?);
                }
                Ok(match pb::BoolExprType::try_from(b.boolop) {
                    Ok(pb::BoolExprType::AndExpr) => {
                        Expr::new(ExprKind::And(args), ColType::plain(Type::Bool))
                    }
                    Ok(pb::BoolExprType::OrExpr) => {
                        Expr::new(ExprKind::Or(args), ColType::plain(Type::Bool))
                    }
                    _ => Expr::new(
                        ExprKind::Not(Box::new(
                            args.into_iter()
                                .next()
                                .ok_or_else(|| SqlError::internal("NOT without argument"))?,
                        )),
                        ColType::plain(Type::Bool),
                    ),
                })
            }
            N::NullTest(t) => {
                let e = self.bind_expr(
                    t.arg
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("IS NULL without argument"))?,
                )?;
                let e = if e.ty.ty == Type::Unknown {
                    self.coerce(e, ColType::plain(Type::Text), false)?
                } else {
                    e
                };
                Ok(Expr::new(
                    ExprKind::IsNull(
                        Box::new(e),
                        t.nulltesttype == pb::NullTestType::IsNotNull as i32,
                    ),
                    ColType::plain(Type::Bool),
                ))
            }
            N::BooleanTest(t) => {
                let e = self.bind_expr(
                    t.arg
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("IS TRUE without argument"))?,
                )?;
                use pb::BoolTestType as B;
                let (test, what) = match B::try_from(t.booltesttype) {
                    Ok(B::IsTrue) => (BoolTest::IsTrue, "IS TRUE"),
                    Ok(B::IsNotTrue) => (BoolTest::IsNotTrue, "IS NOT TRUE"),
                    Ok(B::IsFalse) => (BoolTest::IsFalse, "IS FALSE"),
                    Ok(B::IsNotFalse) => (BoolTest::IsNotFalse, "IS NOT FALSE"),
                    Ok(B::IsUnknown) => (BoolTest::IsUnknown, "IS UNKNOWN"),
                    _ => (BoolTest::IsNotUnknown, "IS NOT UNKNOWN"),
                };
                // PostgreSQL's message names the test written.
                let e = self.to_bool(e, what)?;
                Ok(Expr::new(
                    ExprKind::BoolTest(Box::new(e), test),
                    ColType::plain(Type::Bool),
                ))
            }
            N::FuncCall(f) => self.bind_func(f),
            N::CaseExpr(c) => self.bind_case(c),
            N::AArrayExpr(a) => self.bind_array_ctor(a, None),
            N::CoalesceExpr(c) => {
                let args = self.bind_list(&c.args)?;
                let (args, ty) = self.unify_all(args, "COALESCE")?;
                Ok(Expr::new(ExprKind::Coalesce(args), ty))
            }
            N::MinMaxExpr(m) => {
                let args = self.bind_list(&m.args)?;
                let greatest = m.op == pb::MinMaxOp::IsGreatest as i32;
                let (args, ty) =
                    self.unify_all(args, if greatest { "GREATEST" } else { "LEAST" })?;
                Ok(Expr::new(ExprKind::Greatest(args, greatest), ty))
            }
            N::SubLink(s) => self.bind_sublink(s),
            N::SqlvalueFunction(f) => {
                use pb::SqlValueFunctionOp as O;
                let (func, ty) = match O::try_from(f.op) {
                    Ok(O::SvfopCurrentUser)
                    | Ok(O::SvfopUser)
                    | Ok(O::SvfopSessionUser)
                    | Ok(O::SvfopCurrentRole) => (Func::CurrentUser, Type::Name),
                    Ok(O::SvfopCurrentCatalog) => (Func::CurrentDatabase, Type::Name),
                    Ok(O::SvfopCurrentSchema) => (Func::CurrentSchema, Type::Name),
                    Ok(O::SvfopCurrentTimestamp) | Ok(O::SvfopCurrentTimestampN) => {
                        (Func::Now, Type::Timestamptz)
                    }
                    Ok(O::SvfopLocaltimestamp) | Ok(O::SvfopLocaltimestampN) => {
                        (Func::LocalTimestamp, Type::Timestamp)
                    }
                    Ok(O::SvfopCurrentDate) => (Func::CurrentDate, Type::Date),
                    Ok(O::SvfopLocaltime) | Ok(O::SvfopLocaltimeN) => {
                        (Func::Dt(crate::dtfuncs::DtFunc::LocalTime), Type::Time)
                    }
                    _ => {
                        return Err(SqlError::unsupported(
                            "CURRENT_TIME (type time with time zone)",
                        ))
                    }
                };
                let e = Expr::new(ExprKind::Func(func, Vec::new()), ColType::plain(ty));
                // CURRENT_TIMESTAMP(p), LOCALTIMESTAMP(p), LOCALTIME(p):
                // rounded to p fractional digits.
                Ok(if f.typmod >= 0 {
                    Expr::new(
                        ExprKind::Cast(Box::new(e), false),
                        ColType {
                            ty,
                            typmod: f.typmod,
                        },
                    )
                } else {
                    e
                })
            }
            N::SetToDefault(_) => Err(SqlError::new(
                code::SYNTAX_ERROR,
                "DEFAULT is not allowed in this context",
            )),
            _ => Err(unsupported_node(node)),
        }
    }

    pub(in crate::sql) fn bind_list(&mut self, list: &[pb::Node]) -> Result<Vec<Expr>> {
        list.iter().map(|n| self.bind_expr(n)).collect()
    }

    pub(in crate::sql) fn explicit_cast(&mut self, inner: Expr, to: ColType) -> Result<Expr> {
        if inner.ty.is_vector() && to != inner.ty {
            // PostgreSQL's int2[] of an int2vector keeps lower bound 0
            // ([0:1]={3,2}): tusk-lite's arrays start at 1.
            return Err(SqlError::unsupported("casting int2vector or oidvector"));
        }
        match &inner.kind {
            ExprKind::Const(Value::Text(s)) if inner.ty.ty == Type::Unknown => {
                // An interval's field qualifier also says how it is read.
                let read_as = if to.ty == Type::Interval {
                    to
                } else {
                    ColType::plain(to.ty)
                };
                let v = self.catalog.parse_text(s, read_as)?;
                let v = types::coerce_typmod(v, to, true)?;
                return Ok(Expr::new(ExprKind::Const(v), to));
            }
            ExprKind::Const(Value::Null) => return Ok(Expr::new(ExprKind::Const(Value::Null), to)),
            ExprKind::Param(i) if inner.ty.ty == Type::Unknown => {
                let i = *i;
                self.set_param_type(i, to.ty);
                let p = Expr::new(ExprKind::Param(i), ColType::plain(to.ty));
                return Ok(if to.typmod >= 0 {
                    Expr::new(ExprKind::Cast(Box::new(p), true), to)
                } else {
                    p
                });
            }
            _ => {}
        }
        let from = inner.ty.ty;
        let allowed = from == to.ty
            || (from.is_numeric_family() && to.ty.is_numeric_family())
            || from.is_string()
            || to.ty.is_string()
            || (matches!(from, Type::Date | Type::Timestamp | Type::Timestamptz)
                && matches!(to.ty, Type::Date | Type::Timestamp | Type::Timestamptz))
            || (matches!(
                from,
                Type::Timestamp | Type::Timestamptz | Type::Interval | Type::Time
            ) && to.ty == Type::Time)
            || (from == Type::Time && to.ty == Type::Interval)
            || (from == Type::Bool && to.ty == Type::Int4)
            || (from == Type::Int4 && to.ty == Type::Bool)
            || crate::json::ops::explicit_cast_ok(from, to.ty);
        if !allowed {
            return Err(SqlError::new(
                code::CANNOT_COERCE,
                format!(
                    "cannot cast type {} to {}",
                    self.catalog.type_name(from),
                    self.catalog.type_name(to.ty)
                ),
            ));
        }
        // A cast of a constant folds now, as PostgreSQL's planner does.
        if let (ExprKind::Const(v @ Value::Text(_)), Type::Enum(_)) = (&inner.kind, to.ty) {
            let s = types::cast(v.clone(), from, ColType::plain(Type::Text), true)?;
            let v = self
                .catalog
                .parse_text(&types::format_text(&s, Type::Text), to)?;
            return Ok(Expr::new(ExprKind::Const(v), to));
        }
        if let ExprKind::Const(v) = &inner.kind {
            let v = types::cast(v.clone(), from, to, true)?;
            return Ok(Expr::new(ExprKind::Const(v), to));
        }
        Ok(Expr::new(ExprKind::Cast(Box::new(inner), true), to))
    }

    /// `expr::elem[]`: an unknown literal is read as the array; an array
    /// of the same element type passes (int2vector is int2[] here).
    /// ARRAY[a, b, ...]: a one-dimensional array of the elements' common
    /// type (or of `cast_to`, for ARRAY[...]::t[]).
    fn bind_array_ctor(&mut self, a: &pb::AArrayExpr, cast_to: Option<ColType>) -> Result<Expr> {
        let items = self.bind_list(&a.elements)?;
        if items.iter().any(|e| e.ty.ty == Type::Array) {
            return Err(SqlError::unsupported("a multidimensional ARRAY[...]"));
        }
        let (items, elem) = match cast_to {
            Some(t) => (
                items
                    .into_iter()
                    .map(|e| self.explicit_cast(e, t))
                    .collect::<Result<Vec<_>>>()?,
                t,
            ),
            None if items.is_empty() => {
                return Err(SqlError::new(
                    code::INDETERMINATE_DATATYPE,
                    "cannot determine type of empty array",
                )
                .with_hint("Explicitly cast to the desired type, for example ARRAY[]::integer[]."))
            }
            None => self.unify_all(items, "ARRAY")?,
        };
        // Arrays of the built-in types that have array types (printed
        // by their element type: types::format_value).
        if matches!(elem.ty, Type::Enum(_)) || types::array_type_oid(elem.ty).is_none() {
            return Err(SqlError::unsupported(format!(
                "ARRAY[...] of type {}",
                elem.ty.name()
            )));
        }
        Ok(Expr::new(
            ExprKind::Func(Func::MakeArray, items),
            ColType::array_of(elem.ty),
        ))
    }

    fn array_cast(&mut self, inner: Expr, to: ColType) -> Result<Expr> {
        match (&inner.kind, inner.ty.ty) {
            (ExprKind::Const(Value::Text(_)), Type::Unknown)
            | (ExprKind::Const(Value::Null), _) => self.coerce(inner, to, false),
            (_, Type::Array) if ColType::array_elem(inner.ty) == ColType::array_elem(to) => {
                Ok(Expr::new(inner.kind, to))
            }
            // A parameter declared as an array (its elements arrive typed
            // in binary, as text in text format): converted element-wise.
            (ExprKind::Param(_), Type::Array) => {
                Ok(Expr::new(ExprKind::Cast(Box::new(inner), true), to))
            }
            // An array of numbers to another number type, or of strings
            // to any type: element by element (types::cast_elements).
            (_, Type::Array)
                if inner.ty.typmod >= 0 && {
                    let (f, t) = (ColType::array_elem(inner.ty), ColType::array_elem(to));
                    (f.is_numeric_family() && t.is_numeric_family())
                        || (f.is_string() && !matches!(t, Type::Enum(_)))
                } =>
            {
                Ok(Expr::new(ExprKind::Cast(Box::new(inner), true), to))
            }
            (_, from) => Err(SqlError::unsupported(format!(
                "a cast from {} to an array type",
                from.name()
            ))),
        }
    }

    pub fn to_bool(&mut self, e: Expr, context: &str) -> Result<Expr> {
        match e.ty.ty {
            Type::Bool => Ok(e),
            Type::Unknown => self.coerce(e, ColType::plain(Type::Bool), false),
            other => Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "argument of {context} must be type boolean, not type {}",
                    other.name()
                ),
            )),
        }
    }

    /// Brings both operands to their common type.
    pub(in crate::sql) fn unify_pair(
        &mut self,
        a: Expr,
        b: Expr,
        op: &str,
    ) -> Result<(Expr, Expr, Type)> {
        let t = common_type(a.ty.ty, b.ty.ty)
            .ok_or_else(|| operator_error(self.catalog, op, a.ty.ty, b.ty.ty))?;
        // json has no comparison operators (jsonb has).
        if t == Type::Json {
            return Err(operator_error(self.catalog, op, a.ty.ty, b.ty.ty));
        }
        let a = self.coerce_plain(a, t)?;
        let b = self.coerce_plain(b, t)?;
        Ok((a, b, t))
    }

    pub(in crate::sql) fn coerce_plain(&mut self, e: Expr, t: Type) -> Result<Expr> {
        if e.ty.ty == t {
            return Ok(e);
        }
        self.coerce(e, ColType::plain(t), false)
    }

    pub(in crate::sql) fn unify_all(
        &mut self,
        args: Vec<Expr>,
        what: &str,
    ) -> Result<(Vec<Expr>, ColType)> {
        let mut t = Type::Unknown;
        // Unknown literals (and NULL) take the others' type, as
        // PostgreSQL's select_common_type skips them.
        for a in args.iter().filter(|a| a.ty.ty != Type::Unknown) {
            t = common_type(t, a.ty.ty).ok_or_else(|| {
                SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!(
                        "{what} types {} and {} cannot be matched",
                        t.name(),
                        a.ty.ty.name()
                    ),
                )
            })?;
        }
        if t == Type::Unknown {
            t = Type::Text;
        }
        // Strings meet in the first one's type (PostgreSQL's
        // select_common_type keeps it, as text, varchar, bpchar and name
        // cast to one another implicitly): COALESCE(char, text) is bpchar.
        if t == Type::Text {
            if let Some(first) = args.iter().map(|a| a.ty.ty).find(|t| *t != Type::Unknown) {
                if matches!(first, Type::Varchar | Type::Bpchar | Type::Name) {
                    t = first;
                }
            }
        }
        // Arrays meet in their elements' common type (VALUES
        // (ARRAY[1.5]), (ARRAY[1]) is numeric[], not text[]).
        if t == Type::Array {
            let mut elem = Type::Unknown;
            for a in args.iter().filter(|a| a.ty.ty == Type::Array) {
                let e = ColType::array_elem(a.ty);
                elem = common_type(elem, e).ok_or_else(|| {
                    SqlError::new(
                        code::CANNOT_COERCE,
                        format!(
                            "{what} could not convert type {}[] to {}[]",
                            e.name(),
                            elem.name()
                        ),
                    )
                })?;
            }
            let want = ColType::array_of(elem);
            let out = args
                .into_iter()
                .map(|a| {
                    if a.ty.ty == Type::Array && ColType::array_elem(a.ty) == elem {
                        Ok(a)
                    } else {
                        self.coerce(a, want, false)
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            return Ok((out, want));
        }
        let same_typmod = args
            .first()
            .map(|a| a.ty)
            .filter(|f| args.iter().all(|a| a.ty == *f));
        let out = args
            .into_iter()
            .map(|a| self.coerce_plain(a, t))
            .collect::<Result<Vec<_>>>()?;
        Ok((
            out,
            same_typmod
                .filter(|c| c.ty == t)
                .unwrap_or(ColType::plain(t)),
        ))
    }
}
