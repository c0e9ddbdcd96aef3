//! Binding operators (arithmetic, comparison, LIKE, IN, BETWEEN, ...)
//! and CASE.

use super::*;

impl Binder<'_> {
    pub(in crate::sql) fn binary(&mut self, op: &str, l: Expr, r: Expr) -> Result<Expr> {
        if matches!(l.ty.ty, Type::Json | Type::Jsonb)
            || matches!(r.ty.ty, Type::Json | Type::Jsonb)
        {
            if let Some(e) = self.json_binary(op, l, r) {
                return e;
            }
            return Err(SqlError::internal("json operator"));
        }
        if let Some(e) = self.array_operator(op, &l, &r)? {
            return Ok(e);
        }
        if matches!(
            op,
            "->" | "->>" | "#>" | "#>>" | "@>" | "<@" | "?" | "?|" | "?&" | "#-"
        ) {
            return Err(operator_error(self.catalog, op, l.ty.ty, r.ty.ty));
        }
        if l.ty.ty == Type::Array || r.ty.ty == Type::Array {
            return self.array_binary(op, l, r);
        }
        if matches!(op, "~" | "!~" | "~*" | "!~*") {
            return self.regex(op, l, r);
        }
        if let Some(e) = self.bind_lib_binary(op, &l, &r)? {
            return Ok(e);
        }
        let bop = match op {
            "+" => BinOp::Add,
            "-" => BinOp::Sub,
            "*" => BinOp::Mul,
            "/" => BinOp::Div,
            "%" => BinOp::Mod,
            "=" => BinOp::Eq,
            "<>" | "!=" => BinOp::Ne,
            "<" => BinOp::Lt,
            "<=" => BinOp::Le,
            ">" => BinOp::Gt,
            ">=" => BinOp::Ge,
            "||" => BinOp::Concat,
            _ => return Err(SqlError::unsupported(format!("operator {op}"))),
        };
        if bop == BinOp::Concat {
            let (lt, rt) = (l.ty.ty, r.ty.ty);
            // bytea || bytea (an unknown literal taking bytea).
            if matches!(
                (lt, rt),
                (Type::Bytea, Type::Bytea | Type::Unknown) | (Type::Unknown, Type::Bytea)
            ) {
                let l = self.coerce(l, ColType::plain(Type::Bytea), false)?;
                let r = self.coerce(r, ColType::plain(Type::Bytea), false)?;
                return Ok(Expr::new(
                    ExprKind::Binary(bop, Box::new(l), Box::new(r)),
                    ColType::plain(Type::Bytea),
                ));
            }
            if !(lt.is_string() || rt.is_string()) {
                return Err(operator_error(self.catalog, op, lt, rt));
            }
            let l = self.coerce(l, ColType::plain(Type::Text), true)?;
            let r = self.coerce(r, ColType::plain(Type::Text), true)?;
            return Ok(Expr::new(
                ExprKind::Binary(bop, Box::new(l), Box::new(r)),
                ColType::plain(Type::Text),
            ));
        }
        if Self::is_dt_binary(bop, l.ty.ty, r.ty.ty) {
            return self.dt_binary(op, bop, l, r);
        }
        let dt = |t: Type| matches!(t, Type::Date | Type::Timestamp | Type::Timestamptz);
        if !bop.is_comparison() && (dt(l.ty.ty) || dt(r.ty.ty)) {
            let (lt, rt) = (l.ty.ty, r.ty.ty);
            let int_like = |t: Type| t.is_integer() || t == Type::Unknown;
            return match (bop, lt, rt) {
                (BinOp::Add | BinOp::Sub, Type::Date, r_t) if int_like(r_t) => {
                    let r = self.coerce_plain(r, Type::Int4)?;
                    Ok(Expr::new(
                        ExprKind::Binary(bop, Box::new(l), Box::new(r)),
                        ColType::plain(Type::Date),
                    ))
                }
                (BinOp::Add, l_t, Type::Date) if int_like(l_t) => {
                    let l = self.coerce_plain(l, Type::Int4)?;
                    Ok(Expr::new(
                        ExprKind::Binary(bop, Box::new(l), Box::new(r)),
                        ColType::plain(Type::Date),
                    ))
                }
                (BinOp::Sub, Type::Date, Type::Date) => Ok(Expr::new(
                    ExprKind::Binary(bop, Box::new(l), Box::new(r)),
                    ColType::plain(Type::Int4),
                )),
                (BinOp::Sub, Type::Timestamp | Type::Timestamptz, _)
                | (_, _, Type::Timestamp | Type::Timestamptz) => {
                    Err(SqlError::unsupported("interval arithmetic"))
                }
                _ => Err(operator_error(self.catalog, op, lt, rt)),
            };
        }
        if bop.is_comparison() && bpchar_comparison(&[l.ty.ty, r.ty.ty]) {
            if bop == BinOp::Eq {
                if let Some(e) = self.bpchar_column_eq(&l, &r)? {
                    return Ok(e);
                }
            }
            let l = self.bpchar_key(l)?;
            let r = self.bpchar_key(r)?;
            return Ok(Expr::new(
                ExprKind::Binary(bop, Box::new(l), Box::new(r)),
                ColType::plain(Type::Bool),
            ));
        }
        let (l, r, t) = self.unify_pair(l, r, op)?;
        if bop.is_comparison() {
            return Ok(Expr::new(
                ExprKind::Binary(bop, Box::new(l), Box::new(r)),
                ColType::plain(Type::Bool),
            ));
        }
        if !t.is_numeric_family() || (bop == BinOp::Mod && matches!(t, Type::Float4 | Type::Float8))
        {
            return Err(operator_error(self.catalog, op, t, t));
        }
        Ok(Expr::new(
            ExprKind::Binary(bop, Box::new(l), Box::new(r)),
            ColType::plain(t),
        ))
    }

    pub(in crate::sql) fn bind_a_expr(&mut self, a: &pb::AExpr) -> Result<Expr> {
        use pb::AExprKind as K;
        let op = a.name.last().and_then(node_str).unwrap_or("").to_string();
        let kind = K::try_from(a.kind).unwrap_or(K::Undefined);
        let lexpr = a.lexpr.as_deref();
        let rexpr = a
            .rexpr
            .as_deref()
            .ok_or_else(|| SqlError::internal("operator without right operand"))?;
        match kind {
            K::AexprOp => {
                let Some(l) = lexpr else {
                    // Prefix operators.
                    let r = self.bind_expr(rexpr)?;
                    return match op.as_str() {
                        "-" => {
                            if let ExprKind::Const(v) = &r.kind {
                                let folded = match v {
                                    Value::Int(i) => Some(Value::Int(-i)),
                                    Value::Numeric(n) => Some(Value::Numeric(n.neg())),
                                    Value::Float(f) => Some(Value::Float(-f)),
                                    _ => None,
                                };
                                if let Some(v) = folded {
                                    // -2147483648 is an integer; -1::bigint
                                    // stays a bigint.
                                    let ty = if r.ty.ty == Type::Int8
                                        && matches!(rexpr.node, Some(N::AConst(_)))
                                        && matches!(v, Value::Int(i) if i32::try_from(i).is_ok())
                                    {
                                        Type::Int4
                                    } else {
                                        r.ty.ty
                                    };
                                    return Ok(Expr::constant(v, ty));
                                }
                            }
                            if r.ty.ty == Type::Interval {
                                return self.dt_neg(r);
                            }
                            if !r.ty.ty.is_numeric_family() {
                                return Err(SqlError::new(
                                    code::UNDEFINED_FUNCTION,
                                    format!("operator does not exist: - {}", r.ty.ty.name()),
                                ));
                            }
                            let ty = r.ty;
                            Ok(Expr::new(ExprKind::Neg(Box::new(r)), ColType::plain(ty.ty)))
                        }
                        "+" => Ok(r),
                        _ => match self.bind_lib_prefix(&op, &r)? {
                            Some(e) => Ok(e),
                            None => Err(SqlError::unsupported(format!("prefix operator {op}"))),
                        },
                    };
                };
                let l = self.bind_expr(l)?;
                let r = self.bind_expr(rexpr)?;
                match op.as_str() {
                    "~~" | "!~~" | "~~*" | "!~~*" => {
                        self.like(l, r, op.contains('*'), op.starts_with('!'))
                    }
                    _ => self.binary(&op, l, r),
                }
            }
            K::AexprLike | K::AexprIlike => {
                let l = self
                    .bind_expr(lexpr.ok_or_else(|| SqlError::internal("LIKE without operand"))?)?;
                let r = self.bind_expr(rexpr)?;
                self.like(l, r, kind == K::AexprIlike, op.starts_with('!'))
            }
            K::AexprDistinct | K::AexprNotDistinct => {
                let l = self.bind_expr(
                    lexpr.ok_or_else(|| SqlError::internal("IS DISTINCT without operand"))?,
                )?;
                let r = self.bind_expr(rexpr)?;
                let (l, r, _) = self.unify_pair(l, r, "=")?;
                Ok(Expr::new(
                    ExprKind::IsDistinct(Box::new(l), Box::new(r), kind == K::AexprNotDistinct),
                    ColType::plain(Type::Bool),
                ))
            }
            K::AexprNullif => {
                let l = self.bind_expr(
                    lexpr.ok_or_else(|| SqlError::internal("NULLIF without operand"))?,
                )?;
                let r = self.bind_expr(rexpr)?;
                if bpchar_comparison(&[l.ty.ty, r.ty.ty]) {
                    // CASE WHEN l = r THEN NULL ELSE l END, with bpchar's
                    // `=` (trailing blanks do not count).
                    let l = self.coerce_plain(l, Type::Bpchar)?;
                    let ty = l.ty;
                    let lk = self.bpchar_key(l.clone())?;
                    let rk = self.bpchar_key(r)?;
                    let eq = Expr::new(
                        ExprKind::Binary(BinOp::Eq, Box::new(lk), Box::new(rk)),
                        ColType::plain(Type::Bool),
                    );
                    return Ok(Expr::new(
                        ExprKind::Case {
                            operand: None,
                            whens: vec![(eq, Expr::new(ExprKind::Const(Value::Null), ty))],
                            default: Some(Box::new(l)),
                        },
                        ty,
                    ));
                }
                let (l, r, _) = self.unify_pair(l, r, "=")?;
                let ty = l.ty;
                Ok(Expr::new(ExprKind::NullIf(Box::new(l), Box::new(r)), ty))
            }
            K::AexprIn => {
                let l =
                    self.bind_expr(lexpr.ok_or_else(|| SqlError::internal("IN without operand"))?)?;
                let Some(N::List(list)) = &rexpr.node else {
                    return Err(SqlError::unsupported("IN with this right operand"));
                };
                let items = self.bind_list(&list.items)?;
                let mut all = vec![l];
                all.extend(items);
                let mut t = Type::Unknown;
                for e in &all {
                    t = common_type(t, e.ty.ty)
                        .ok_or_else(|| operator_error(self.catalog, "=", all[0].ty.ty, e.ty.ty))?;
                }
                if t == Type::Json {
                    let other = all.get(1).map_or(Type::Unknown, |e| e.ty.ty);
                    return Err(operator_error(self.catalog, "=", all[0].ty.ty, other));
                }
                let t = if t == Type::Unknown { Type::Text } else { t };
                let types: Vec<Type> = all.iter().map(|e| e.ty.ty).collect();
                let mut all = if bpchar_comparison(&types) {
                    all.into_iter()
                        .map(|e| self.bpchar_key(e))
                        .collect::<Result<Vec<_>>>()?
                } else {
                    all.into_iter()
                        .map(|e| self.coerce_plain(e, t))
                        .collect::<Result<Vec<_>>>()?
                };
                let l = all.remove(0);
                Ok(Expr::new(
                    ExprKind::InList(Box::new(l), all, op == "<>"),
                    ColType::plain(Type::Bool),
                ))
            }
            K::AexprBetween | K::AexprNotBetween => {
                let l = self.bind_expr(
                    lexpr.ok_or_else(|| SqlError::internal("BETWEEN without operand"))?,
                )?;
                let Some(N::List(list)) = &rexpr.node else {
                    return Err(SqlError::internal("BETWEEN bounds"));
                };
                let lo = self.bind_expr(&list.items[0])?;
                let hi = self.bind_expr(&list.items[1])?;
                let ge = self.binary(">=", l.clone(), lo)?;
                let le = self.binary("<=", l, hi)?;
                let both = Expr::new(ExprKind::And(vec![ge, le]), ColType::plain(Type::Bool));
                Ok(if kind == K::AexprNotBetween {
                    Expr::new(ExprKind::Not(Box::new(both)), ColType::plain(Type::Bool))
                } else {
                    both
                })
            }
            K::AexprOpAny | K::AexprOpAll => {
                let l = self
                    .bind_expr(lexpr.ok_or_else(|| SqlError::internal("ANY without operand"))?)?;
                let r = self.bind_expr(rexpr)?;
                self.bind_any_array(&op, l, r, kind == K::AexprOpAll)
            }
            _ => Err(SqlError::unsupported(format!("operator kind {kind:?}"))),
        }
    }

    pub(in crate::sql) fn like(
        &mut self,
        l: Expr,
        r: Expr,
        ci: bool,
        negated: bool,
    ) -> Result<Expr> {
        // bytea LIKE bytea (byte for byte); there is no bytea ILIKE.
        if l.ty.ty == Type::Bytea && !ci && matches!(r.ty.ty, Type::Bytea | Type::Unknown) {
            let l = self.coerce(l, ColType::plain(Type::Bytea), false)?;
            let r = self.coerce(r, ColType::plain(Type::Bytea), false)?;
            return Ok(Expr::new(
                ExprKind::Like {
                    expr: Box::new(l),
                    pattern: Box::new(r),
                    case_insensitive: false,
                    negated,
                },
                ColType::plain(Type::Bool),
            ));
        }
        if !l.ty.ty.is_string() {
            return Err(operator_error(
                self.catalog,
                if ci { "~~*" } else { "~~" },
                l.ty.ty,
                r.ty.ty,
            ));
        }
        // bpchar LIKE matches the padded value (PostgreSQL's bpcharlike),
        // so its trailing blanks stay.
        let l = if l.ty.ty == Type::Bpchar {
            Expr::new(l.kind, ColType::plain(Type::Text))
        } else {
            self.coerce(l, ColType::plain(Type::Text), false)?
        };
        let r = self.coerce(r, ColType::plain(Type::Text), false)?;
        Ok(Expr::new(
            ExprKind::Like {
                expr: Box::new(l),
                pattern: Box::new(r),
                case_insensitive: ci,
                negated,
            },
            ColType::plain(Type::Bool),
        ))
    }

    pub(in crate::sql) fn bind_case(&mut self, c: &pb::CaseExpr) -> Result<Expr> {
        let operand = match c.arg.as_deref() {
            Some(a) => Some(self.bind_expr(a)?),
            None => None,
        };
        let mut conds = Vec::new();
        let mut results = Vec::new();
        for w in &c.args {
            let Some(N::CaseWhen(cw)) = &w.node else {
                continue;
            };
            let cond = self.bind_expr(
                cw.expr
                    .as_deref()
                    .ok_or_else(|| SqlError::internal("WHEN"))?,
            )?;
            conds.push(cond);
            results.push(
                self.bind_expr(
                    cw.result
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("THEN"))?,
                )?,
            );
        }
        let default = match c.defresult.as_deref() {
            Some(d) => Some(self.bind_expr(d)?),
            None => None,
        };
        // ELSE first, as PostgreSQL's transformCaseExpr lists the
        // results for their common type (the first string type wins).
        let mut all = Vec::with_capacity(results.len() + 1);
        let has_default = default.is_some();
        if let Some(d) = default {
            all.push(d);
        }
        all.extend(results);
        let (mut all, ty) = self.unify_all(all, "CASE")?;
        let default = if has_default {
            Some(all.remove(0))
        } else {
            None
        };
        // Conditions: booleans, or (with an operand) comparable to it.
        let mut operand_b = operand;
        let mut whens = Vec::new();
        for (cond, res) in conds.into_iter().zip(all) {
            let cond = match &mut operand_b {
                Some(op) if bpchar_comparison(&[op.ty.ty, cond.ty.ty]) => {
                    let o = self.bpchar_key(op.clone())?;
                    *op = o;
                    self.bpchar_key(cond)?
                }
                Some(op) => {
                    let (o, cnd, _) = self.unify_pair(op.clone(), cond, "=")?;
                    *op = o;
                    cnd
                }
                None => self.to_bool(cond, "CASE/WHEN")?,
            };
            whens.push((cond, res));
        }
        Ok(Expr::new(
            ExprKind::Case {
                operand: operand_b.map(Box::new),
                whens,
                default: default.map(Box::new),
            },
            ty,
        ))
    }
}

/// Whether values of these types compare as bpchar (PostgreSQL's
/// `bpchar = bpchar`, which a varchar or an unknown literal meets by a
/// cast to bpchar): trailing blanks do not count. Against text, a bpchar
/// is cast to text instead (losing its trailing blanks, the text keeping
/// its own).
pub(super) fn bpchar_comparison(types: &[Type]) -> bool {
    types.contains(&Type::Bpchar)
        && types
            .iter()
            .all(|t| matches!(t, Type::Bpchar | Type::Varchar | Type::Unknown))
}

impl Binder<'_> {
    /// `col = 'literal'` for a char(n) column, as the column's values are
    /// stored (padded to n): the literal padded likewise, so the primary
    /// key or an index still finds the rows. Equal to comparing both
    /// without their trailing blanks, as long as the literal fits in n.
    fn bpchar_column_eq(&mut self, l: &Expr, r: &Expr) -> Result<Option<Expr>> {
        for (col, lit) in [(l, r), (r, l)] {
            let (ExprKind::Column(_), ExprKind::Const(Value::Text(s))) = (&col.kind, &lit.kind)
            else {
                continue;
            };
            if col.ty.ty != Type::Bpchar || col.ty.typmod < 4 {
                continue;
            }
            let n = usize::try_from(col.ty.typmod - 4).unwrap_or(0);
            let s = s.trim_end_matches(' ');
            let len = s.chars().count();
            if len > n {
                continue;
            }
            let padded = format!("{s}{}", " ".repeat(n - len));
            let lit = Expr::new(ExprKind::Const(Value::Text(padded)), col.ty);
            return Ok(Some(Expr::new(
                ExprKind::Binary(BinOp::Eq, Box::new(col.clone()), Box::new(lit)),
                ColType::plain(Type::Bool),
            )));
        }
        Ok(None)
    }

    /// `e` as bpchar compares it: cast to bpchar, then to text, which
    /// strips the trailing blanks (a cast that cannot fail, so a join can
    /// still hash on it).
    pub(super) fn bpchar_key(&mut self, e: Expr) -> Result<Expr> {
        let e = self.coerce_plain(e, Type::Bpchar)?;
        Ok(Expr::new(
            ExprKind::Cast(Box::new(e), false),
            ColType::plain(Type::Text),
        ))
    }
}
