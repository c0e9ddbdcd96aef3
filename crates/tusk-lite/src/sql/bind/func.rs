//! Binding function calls, aggregates and subqueries (sublinks).

use super::*;

impl Binder<'_> {
    pub(in crate::sql) fn bind_func(&mut self, f: &pb::FuncCall) -> Result<Expr> {
        let parts = names(&f.funcname);
        let name = parts
            .last()
            .cloned()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if parts.len() > 1 && parts[0] != "pg_catalog" {
            return Err(SqlError::new(
                code::UNDEFINED_FUNCTION,
                format!("function {}() does not exist", parts.join(".")),
            ));
        }
        if f.over.is_some() {
            return Err(SqlError::unsupported("window functions"));
        }
        if let Some(agg) = agg_func(&name) {
            return self.bind_agg(agg, f, &name);
        }
        if f.agg_star {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                format!("{name} is not an aggregate function"),
            ));
        }
        let clause = if f.agg_distinct {
            Some("DISTINCT")
        } else if !f.agg_order.is_empty() {
            Some("ORDER BY")
        } else if f.agg_filter.is_some() {
            Some("FILTER")
        } else {
            None
        };
        if let Some(clause) = clause {
            return Err(SqlError::new(
                code::WRONG_OBJECT_TYPE,
                format!("{clause} specified, but {name} is not an aggregate function"),
            ));
        }
        if let (Some(jsonb), [a]) = (
            match name.as_str() {
                "to_json" | "row_to_json" => Some(false),
                "to_jsonb" => Some(true),
                _ => None,
            },
            f.args.as_slice(),
        ) {
            if let Some(e) = self.whole_row(a, jsonb) {
                return e;
            }
        }
        if let Some(e) = self.bind_dt_func(&name, f)? {
            return Ok(e);
        }
        let args = self.bind_list(&f.args)?;
        let n = args.len();
        let text = ColType::plain(Type::Text);
        let arg_types: Vec<Type> = args.iter().map(|a| a.ty.ty).collect();
        let no_func = || {
            SqlError::new(
                code::UNDEFINED_FUNCTION,
                format!(
                    "function {name}({}) does not exist",
                    arg_types.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
                ),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
        };
        if let Some(e) = self.bind_catalog_func(&name, &args)? {
            return Ok(e);
        }
        if let Some(e) = self.bind_json_func(&name, &args) {
            return e;
        }
        if let Some(e) = self.bind_lib_func(&name, &args)? {
            return Ok(e);
        }
        if let Some(e) = self.bind_array_func(&name, &args)? {
            return Ok(e);
        }
        let mut args = args;
        let (func, ty): (Func, ColType) = match (name.as_str(), n) {
            ("lower", 1)
            | ("upper", 1)
            | ("btrim", 1 | 2)
            | ("ltrim", 1 | 2)
            | ("rtrim", 1 | 2) => {
                if !arg_types.iter().all(|t| t.is_string()) {
                    return Err(no_func());
                }
                let func = match name.as_str() {
                    "lower" => Func::Lower,
                    "upper" => Func::Upper,
                    "btrim" => Func::Btrim,
                    "ltrim" => Func::Ltrim,
                    _ => Func::Rtrim,
                };
                (func, text)
            }
            ("length" | "char_length" | "character_length", 1) => {
                if !arg_types[0].is_string() {
                    return Err(no_func());
                }
                (Func::Length, ColType::plain(Type::Int4))
            }
            ("abs", 1) | ("sign", 1) | ("floor", 1) | ("ceil", 1) | ("ceiling", 1) => {
                let t = if arg_types[0] == Type::Unknown {
                    Type::Float8
                } else {
                    arg_types[0]
                };
                if !t.is_numeric_family() {
                    return Err(no_func());
                }
                let func = match name.as_str() {
                    "abs" => Func::Abs,
                    "sign" => Func::Sign,
                    "floor" => Func::Floor,
                    _ => Func::Ceil,
                };
                let t = if func != Func::Abs && t.is_integer() {
                    Type::Float8
                } else {
                    t
                };
                let t = if func != Func::Abs && t == Type::Float4 {
                    Type::Float8
                } else {
                    t
                };
                let t = if func != Func::Abs && t == Type::Numeric {
                    Type::Numeric
                } else {
                    t
                };
                (func, ColType::plain(t))
            }
            ("round" | "trunc", 1 | 2) => {
                let func = if name == "round" {
                    Func::Round
                } else {
                    Func::Trunc
                };
                let t = if n == 2 || arg_types[0] == Type::Numeric || arg_types[0].is_integer() {
                    if n == 1 && arg_types[0].is_integer() {
                        Type::Float8
                    } else {
                        Type::Numeric
                    }
                } else {
                    Type::Float8
                };
                if !arg_types[0].is_numeric_family() && arg_types[0] != Type::Unknown {
                    return Err(no_func());
                }
                (func, ColType::plain(t))
            }
            ("sqrt", 1) => (Func::Sqrt, ColType::plain(Type::Float8)),
            ("power" | "pow", 2) => (Func::Power, ColType::plain(Type::Float8)),
            ("mod", 2) => {
                let t = common_type(arg_types[0], arg_types[1]).ok_or_else(no_func)?;
                if !t.is_numeric_family() || matches!(t, Type::Float4 | Type::Float8) {
                    return Err(no_func());
                }
                (Func::Mod, ColType::plain(t))
            }
            ("concat", _) => {
                for a in &mut args {
                    if a.ty.ty == Type::Unknown {
                        *a = self.coerce(a.clone(), text, false)?;
                    }
                }
                return Ok(Expr::new(ExprKind::Func(Func::Concat, args), text));
            }
            ("substr" | "substring", 2 | 3) => (Func::Substr, text),
            ("replace", 3) => (Func::Replace, text),
            // position(a IN b) arrives as position(b, a): strpos's order.
            ("strpos" | "position", 2) => {
                args.swap(0, 1);
                (Func::Position, ColType::plain(Type::Int4))
            }
            ("left", 2) => (Func::Left, text),
            ("right", 2) => (Func::Right, text),
            ("repeat", 2) => (Func::Repeat, text),
            ("version", 0) => (Func::Version, text),
            ("current_database", 0) => (Func::CurrentDatabase, ColType::plain(Type::Name)),
            ("current_schema", 0) => (Func::CurrentSchema, ColType::plain(Type::Name)),
            ("pg_typeof", 1) => (Func::PgTypeof, text),
            ("random", 0) => (Func::Random, ColType::plain(Type::Float8)),
            ("nextval", 1) | ("currval", 1) => {
                let f = if name == "nextval" {
                    Func::Nextval
                } else {
                    Func::Currval
                };
                (f, ColType::plain(Type::Int8))
            }
            ("setval", 2 | 3) => (Func::Setval, ColType::plain(Type::Int8)),
            ("pg_sleep", 1) => (Func::PgSleep, text),
            ("pg_notify", 2) => (Func::PgNotify, text),
            ("pg_advisory_unlock_all", 0) => (Func::AdvisoryUnlockAll, text),
            ("pg_advisory_lock", 1) => (Func::AdvisoryLock, text),
            ("pg_try_advisory_lock", 1) => (Func::AdvisoryTryLock, ColType::plain(Type::Bool)),
            ("pg_advisory_unlock", 1) => (Func::AdvisoryUnlock, ColType::plain(Type::Bool)),
            ("current_setting", 1 | 2) => (Func::CurrentSetting, text),
            ("set_config", 3) => (Func::SetConfig, text),
            ("pg_backend_pid", 0) => (Func::BackendPid, ColType::plain(Type::Int4)),
            ("pg_terminate_backend", 1 | 2) => (Func::TerminateBackend, ColType::plain(Type::Bool)),
            ("now" | "transaction_timestamp", 0) => (Func::Now, ColType::plain(Type::Timestamptz)),
            ("clock_timestamp", 0) => (Func::ClockTimestamp, ColType::plain(Type::Timestamptz)),
            (
                "statement_timestamp"
                | "generate_series"
                | "to_char"
                | "date_trunc"
                | "extract"
                | "date_part"
                | "array_agg"
                | "json_build_object"
                | "jsonb_build_object",
                _,
            ) => return Err(SqlError::unsupported(format!("function {name}()"))),
            _ => return Err(no_func()),
        };
        // Argument types each function takes.
        let want: Vec<Type> = match func {
            Func::Lower
            | Func::Upper
            | Func::Length
            | Func::Btrim
            | Func::Ltrim
            | Func::Rtrim
            | Func::Replace
            | Func::Position => vec![Type::Text; n],
            Func::Substr => vec![Type::Text, Type::Int4, Type::Int4],
            Func::Nextval | Func::Currval => vec![Type::Text],
            Func::Setval => vec![Type::Text, Type::Int8, Type::Bool],
            Func::Left | Func::Right | Func::Repeat => vec![Type::Text, Type::Int4],
            Func::Round | Func::Trunc => vec![ty.ty, Type::Int4],
            Func::Sqrt | Func::Power => vec![Type::Float8, Type::Float8],
            Func::PgSleep => vec![Type::Float8],
            Func::TerminateBackend => vec![Type::Int4, Type::Int8],
            Func::AdvisoryLock | Func::AdvisoryTryLock | Func::AdvisoryUnlock => {
                vec![Type::Int8]
            }
            Func::PgNotify => vec![Type::Text, Type::Text],
            Func::CurrentSetting => vec![Type::Text, Type::Bool],
            Func::SetConfig => vec![Type::Text, Type::Text, Type::Bool],
            Func::Abs | Func::Sign | Func::Floor | Func::Ceil | Func::Mod => vec![ty.ty; n],
            _ => Vec::new(),
        };
        let mut bound = Vec::with_capacity(args.len());
        for (i, a) in args.into_iter().enumerate() {
            let t = want.get(i).copied().unwrap_or(a.ty.ty);
            let a = if func == Func::PgTypeof || (func == Func::Length && a.ty.ty == Type::Bpchar) {
                a
            } else if a.ty.ty.is_string() && t.is_string() {
                self.coerce(a, ColType::plain(Type::Text), false)?
            } else {
                self.coerce(a, ColType::plain(t), false)
                    .map_err(|_| no_func())?
            };
            bound.push(a);
        }
        Ok(Expr::new(ExprKind::Func(func, bound), ty))
    }

    pub(in crate::sql) fn bind_agg(
        &mut self,
        agg: AggFunc,
        f: &pb::FuncCall,
        name: &str,
    ) -> Result<Expr> {
        if self.aggs.is_none() {
            return Err(SqlError::new(
                code::GROUPING_ERROR,
                format!(
                    "aggregate functions are not allowed in {}",
                    self.no_agg_context
                ),
            ));
        }
        if f.agg_within_group {
            return Err(SqlError::unsupported("WITHIN GROUP"));
        }
        // Arguments, ORDER BY and FILTER are bound in the input scope,
        // with aggregates forbidden.
        let saved = self.aggs.take();
        let saved_ctx = self.no_agg_context;
        self.no_agg_context = "aggregate function calls";
        // json(b)_agg(t): a row of the relation t, as an object.
        let row = match (agg, f.args.as_slice()) {
            (AggFunc::JsonAgg { jsonb, .. }, [a]) => self.whole_row(a, jsonb),
            _ => None,
        };
        let whole_row = row.is_some();
        let args = (|| -> Result<(Vec<Expr>, Vec<SortKey>, Option<Expr>)> {
            let args = if f.agg_star {
                Vec::new()
            } else if let Some(r) = row {
                vec![r?]
            } else {
                self.bind_list(&f.args)?
            };
            let mut order = Vec::new();
            for sb in &f.agg_order {
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
                let (desc, nulls_first) = super::select_body::sort_dir(sb);
                let expr = self.bind_expr(node)?;
                let expr = if expr.ty.ty == Type::Unknown {
                    self.coerce(expr, ColType::plain(Type::Text), false)?
                } else {
                    expr
                };
                order.push(SortKey {
                    expr,
                    desc,
                    nulls_first,
                });
            }
            self.no_agg_context = "FILTER";
            let filter = match f.agg_filter.as_deref() {
                Some(w) => {
                    let e = self.bind_expr(w)?;
                    Some(self.to_bool(e, "FILTER")?)
                }
                None => None,
            };
            Ok((args, order, filter))
        })();
        self.aggs = saved;
        self.no_agg_context = saved_ctx;
        let (mut args, order, filter) = args.map_err(|e| {
            if e.code == code::GROUPING_ERROR && e.message.ends_with("aggregate function calls") {
                SqlError::new(
                    code::GROUPING_ERROR,
                    "aggregate function calls cannot be nested",
                )
            } else {
                e
            }
        })?;
        if f.agg_distinct && args.iter().any(|a| a.ty.ty == Type::Json) {
            return Err(SqlError::new(
                code::UNDEFINED_FUNCTION,
                "could not identify an equality operator for type json",
            ));
        }
        let func = if f.agg_star { AggFunc::CountStar } else { agg };
        let arity_ok = match func {
            AggFunc::CountStar => args.is_empty(),
            AggFunc::StringAgg | AggFunc::JsonObjectAgg { .. } => args.len() == 2,
            _ => args.len() == 1,
        };
        let types: Vec<String> = args
            .iter()
            .map(|a| self.catalog.type_name(a.ty.ty))
            .collect();
        let no_func = SqlError::new(
            code::UNDEFINED_FUNCTION,
            format!("function {name}({}) does not exist", types.join(", ")),
        )
        .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.");
        if !arity_ok {
            return Err(no_func);
        }
        let at = args.first().map(|a| a.ty.ty).unwrap_or(Type::Unknown);
        let ty = match func {
            AggFunc::CountStar | AggFunc::Count => Type::Int8,
            AggFunc::Sum => match at {
                Type::Int2 | Type::Int4 => Type::Int8,
                Type::Int8 | Type::Numeric => Type::Numeric,
                Type::Float4 => Type::Float4,
                Type::Float8 | Type::Unknown => Type::Float8,
                Type::Interval => Type::Interval,
                _ => return Err(no_func),
            },
            AggFunc::Avg => match at {
                Type::Interval => Type::Interval,
                Type::Int2 | Type::Int4 | Type::Int8 | Type::Numeric => Type::Numeric,
                Type::Float4 | Type::Float8 | Type::Unknown => Type::Float8,
                _ => return Err(no_func),
            },
            // PostgreSQL 15 has no min/max of bytea or uuid.
            AggFunc::Min | AggFunc::Max if matches!(at, Type::Bytea | Type::Uuid) => {
                return Err(no_func)
            }
            AggFunc::Min | AggFunc::Max => {
                if matches!(at, Type::Json | Type::Jsonb) {
                    return Err(no_func);
                }
                if at == Type::Unknown {
                    Type::Text
                } else {
                    at
                }
            }
            AggFunc::BoolAnd | AggFunc::BoolOr => {
                if at != Type::Bool && at != Type::Unknown {
                    return Err(no_func);
                }
                Type::Bool
            }
            AggFunc::StringAgg if at == Type::Bytea => Type::Bytea,
            AggFunc::StringAgg => Type::Text,
            AggFunc::JsonAgg { jsonb, .. } | AggFunc::JsonObjectAgg { jsonb } => {
                if jsonb {
                    Type::Jsonb
                } else {
                    Type::Json
                }
            }
            AggFunc::ArrayAgg => match at {
                Type::Unknown => {
                    return Err(SqlError::new(
                        code::DATATYPE_MISMATCH,
                        "could not determine polymorphic type because input has type unknown",
                    ))
                }
                t if matches!(t, Type::Enum(_)) || types::array_type_oid(t).is_none() => {
                    return Err(SqlError::unsupported(format!(
                        "array_agg of type {}",
                        self.col_type_name(args[0].ty)
                    )))
                }
                _ => Type::Array,
            },
        };
        let raw_args = args.clone();
        let func = match func {
            AggFunc::JsonAgg { jsonb, .. } => AggFunc::JsonAgg {
                jsonb,
                structured: whole_row || at == Type::Array,
            },
            other => other,
        };
        if matches!(
            func,
            AggFunc::JsonAgg { .. } | AggFunc::JsonObjectAgg { .. }
        ) && !whole_row
        {
            args = self.json_agg_args(func, args)?;
        }
        // Coerce arguments to the aggregate's input type.
        for (i, a) in args.iter_mut().enumerate() {
            let want = match func {
                AggFunc::StringAgg if at == Type::Bytea => Type::Bytea,
                AggFunc::StringAgg => Type::Text,
                AggFunc::BoolAnd | AggFunc::BoolOr => Type::Bool,
                AggFunc::Sum | AggFunc::Avg if a.ty.ty == Type::Unknown => Type::Float8,
                AggFunc::Min | AggFunc::Max if a.ty.ty == Type::Unknown => Type::Text,
                AggFunc::JsonAgg { .. } | AggFunc::JsonObjectAgg { .. } => continue,
                _ => a.ty.ty,
            };
            if a.ty.ty != want || i > 0 {
                *a = self.coerce(a.clone(), ColType::plain(want), false)?;
            }
        }
        let ty = if matches!(func, AggFunc::Min | AggFunc::Max) {
            args[0].ty
        } else if func == AggFunc::ArrayAgg {
            ColType::array_of(at)
        } else {
            ColType::plain(ty)
        };
        // PostgreSQL's rule: with DISTINCT, what the rows are ordered by
        // must be among what is aggregated.
        if f.agg_distinct
            && order
                .iter()
                .any(|k| !args.contains(&k.expr) && !raw_args.contains(&k.expr))
        {
            return Err(SqlError::new(
                code::INVALID_COLUMN_REFERENCE,
                "in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list",
            ));
        }
        let call = AggCall {
            func,
            args,
            distinct: f.agg_distinct,
            ty,
            filter,
            order,
        };
        let list = self
            .aggs
            .as_mut()
            .ok_or_else(|| SqlError::internal("aggregate context"))?;
        let idx = match list.iter().position(|c| *c == call) {
            Some(i) => i,
            None => {
                list.push(call);
                list.len() - 1
            }
        };
        Ok(Expr::new(ExprKind::Agg(idx), ty))
    }

    pub(in crate::sql) fn bind_sublink(&mut self, s: &pb::SubLink) -> Result<Expr> {
        use pb::SubLinkType as K;
        let Some(N::SelectStmt(sel)) = s.subselect.as_deref().and_then(|n| n.node.as_ref()) else {
            return Err(SqlError::internal("subquery without SELECT"));
        };
        let kind = K::try_from(s.sub_link_type).unwrap_or(K::Undefined);
        // The subquery sees this query's columns as outer references.
        let saved_aggs = self.aggs.take();
        let base = self.scopes.len();
        let saved_reach = self.outer_reach.replace(usize::MAX);
        let q = self.bind_select(sel);
        let reach = self.outer_reach.get();
        self.outer_reach.set(saved_reach.min(reach));
        // Numbers for uncorrelated subqueries (see ExprKind::Subquery).
        static NEXT_INITPLAN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let initplan = (reach >= base)
            .then(|| NEXT_INITPLAN.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        self.aggs = saved_aggs;
        let q = q?;
        match kind {
            K::ArraySublink => {
                if q.columns.len() != 1 {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        "subquery must return only one column",
                    ));
                }
                let elem = q.columns[0].ty.ty;
                let elem = if elem == Type::Unknown {
                    Type::Text
                } else {
                    elem
                };
                if elem == Type::Array {
                    return Err(SqlError::unsupported("ARRAY() of arrays"));
                }
                Ok(Expr::new(
                    ExprKind::Subquery {
                        plan: Box::new(q.plan),
                        kind: SubqueryKind::Array,
                        left: None,
                        initplan,
                    },
                    ColType::array_of(elem),
                ))
            }
            K::ExistsSublink => Ok(Expr::new(
                ExprKind::Subquery {
                    plan: Box::new(q.plan),
                    kind: SubqueryKind::Exists,
                    left: None,
                    initplan,
                },
                ColType::plain(Type::Bool),
            )),
            K::ExprSublink => {
                if q.columns.len() != 1 {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        "subquery must return only one column",
                    ));
                }
                let ty = q.columns[0].ty;
                Ok(Expr::new(
                    ExprKind::Subquery {
                        plan: Box::new(q.plan),
                        kind: SubqueryKind::Scalar,
                        left: None,
                        initplan,
                    },
                    ty,
                ))
            }
            K::AnySublink | K::AllSublink => {
                if q.columns.len() != 1 {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        "subquery has too many columns",
                    ));
                }
                let op = s
                    .oper_name
                    .last()
                    .and_then(node_str)
                    .unwrap_or("=")
                    .to_string();
                let left = self.bind_expr(
                    s.testexpr
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("IN without operand"))?,
                )?;
                let sub_ty = q.columns[0].ty.ty;
                let mut plan = q.plan;
                let (left, sub_ty) = if super::operators::bpchar_comparison(&[left.ty.ty, sub_ty]) {
                    // bpchar against bpchar or varchar: both sides
                    // without their trailing blanks.
                    let col = self.bpchar_key(Expr::column(0, q.columns[0].ty))?;
                    plan = Plan::Project(Box::new(plan), vec![col]);
                    (self.bpchar_key(left)?, Type::Text)
                } else {
                    (left, sub_ty)
                };
                let t = common_type(left.ty.ty, sub_ty)
                    .ok_or_else(|| operator_error(self.catalog, &op, left.ty.ty, sub_ty))?;
                let left = self.coerce_plain(left, t)?;
                if sub_ty != t {
                    let col = Expr::column(0, ColType::plain(sub_ty));
                    let cast = Expr::new(ExprKind::Cast(Box::new(col), false), ColType::plain(t));
                    plan = Plan::Project(Box::new(plan), vec![cast]);
                }
                let bop = match op.as_str() {
                    "=" => BinOp::Eq,
                    "<>" => BinOp::Ne,
                    "<" => BinOp::Lt,
                    "<=" => BinOp::Le,
                    ">" => BinOp::Gt,
                    ">=" => BinOp::Ge,
                    _ => return Err(SqlError::unsupported(format!("operator {op} with ANY/ALL"))),
                };
                let kind = if kind == K::AnySublink {
                    SubqueryKind::Any(bop)
                } else {
                    SubqueryKind::All(bop)
                };
                Ok(Expr::new(
                    ExprKind::Subquery {
                        plan: Box::new(plan),
                        kind,
                        left: Some(Box::new(left)),
                        initplan,
                    },
                    ColType::plain(Type::Bool),
                ))
            }
            _ => Err(SqlError::unsupported("this kind of subquery")),
        }
    }
}
