//! Binding json/jsonb operators, functions, aggregates and the
//! set-returning functions in FROM, with PostgreSQL's operand types.

use super::*;
use crate::json::ops::JsonFunc;

fn is_json(t: Type) -> bool {
    matches!(t, Type::Json | Type::Jsonb)
}

fn jcall(f: JsonFunc, args: Vec<Expr>, ty: Type) -> Expr {
    Expr::new(ExprKind::Func(Func::Json(f), args), ColType::plain(ty))
}

/// Whether a FROM item calls one of the json set-returning functions.
pub(super) fn is_json_srf(rf: &pb::RangeFunction) -> bool {
    let Some(N::List(l)) = rf.functions.first().and_then(|n| n.node.as_ref()) else {
        return false;
    };
    let Some(N::FuncCall(f)) = l.items.first().and_then(|n| n.node.as_ref()) else {
        return false;
    };
    let name = names(&f.funcname).pop().unwrap_or_default();
    let rest = name
        .strip_prefix("jsonb_")
        .or_else(|| name.strip_prefix("json_"))
        .unwrap_or("");
    rf.functions.len() == 1
        && !rf.is_rowsfrom
        && !rf.ordinality
        && matches!(
            rest,
            "object_keys" | "array_elements" | "array_elements_text" | "each" | "each_text"
        )
}

fn text_array() -> ColType {
    ColType::array_of(Type::Text)
}

impl Binder<'_> {
    /// A json/jsonb operator, or None when `op` on these operands is not one.
    pub(in crate::sql) fn json_binary(
        &mut self,
        op: &str,
        l: Expr,
        r: Expr,
    ) -> Option<Result<Expr>> {
        let (lt, rt) = (l.ty.ty, r.ty.ty);
        if !is_json(lt) && !is_json(rt) {
            return None;
        }
        Some(self.json_binary_inner(op, l, r))
    }

    /// The right operand of `#> #>> ?| ?& #-`: a text[] (or a string
    /// array, converted), or an unknown literal read as text[], which
    /// fails with its own 22P02 when it is not one, as PostgreSQL's
    /// array_in says. Anything else is `no_op`'s error.
    fn text_array_operand(
        &mut self,
        r: Expr,
        no_op: &dyn Fn(&Binder<'_>) -> SqlError,
    ) -> Result<Expr> {
        let rt = r.ty.ty;
        if !(rt == Type::Unknown || rt == Type::Array && ColType::array_elem(r.ty).is_string()) {
            return Err(no_op(self));
        }
        self.coerce(r, text_array(), false).map_err(|e| {
            if rt == Type::Unknown {
                e
            } else {
                no_op(self)
            }
        })
    }

    fn json_binary_inner(&mut self, op: &str, l: Expr, r: Expr) -> Result<Expr> {
        let (lt, rt) = (l.ty.ty, r.ty.ty);
        let no_op = |b: &Binder<'_>| operator_error(b.catalog, op, lt, rt);
        let jsonb = lt == Type::Jsonb;
        match op {
            "@?" | "@@" => Err(SqlError::unsupported(format!("jsonpath operator {op}"))),
            "->" | "->>" | "#>" | "#>>" if is_json(lt) => {
                let text = op.ends_with(">>");
                let r = if op.starts_with('#') {
                    self.text_array_operand(r, &no_op)?
                } else if rt.is_integer() {
                    self.coerce_plain(r, Type::Int4)?
                } else if rt.is_string() {
                    self.coerce_plain(r, Type::Text)?
                } else {
                    return Err(no_op(self));
                };
                let f = if op.starts_with('#') {
                    JsonFunc::GetPath { jsonb, text }
                } else {
                    JsonFunc::Get { jsonb, text }
                };
                let ty = if text { Type::Text } else { lt };
                Ok(jcall(f, vec![l, r], ty))
            }
            "@>" | "<@" => {
                if !(matches!(lt, Type::Jsonb | Type::Unknown)
                    && matches!(rt, Type::Jsonb | Type::Unknown))
                {
                    return Err(no_op(self));
                }
                let l = self.coerce_plain(l, Type::Jsonb)?;
                let r = self.coerce_plain(r, Type::Jsonb)?;
                Ok(jcall(
                    JsonFunc::Contains {
                        reversed: op == "<@",
                    },
                    vec![l, r],
                    Type::Bool,
                ))
            }
            "?" | "?|" | "?&" if lt == Type::Jsonb => {
                let r = if op == "?" {
                    if !rt.is_string() {
                        return Err(no_op(self));
                    }
                    self.coerce_plain(r, Type::Text)?
                } else {
                    self.text_array_operand(r, &no_op)?
                };
                let f = match op {
                    "?" => JsonFunc::Exists,
                    "?|" => JsonFunc::ExistsAny,
                    _ => JsonFunc::ExistsAll,
                };
                Ok(jcall(f, vec![l, r], Type::Bool))
            }
            "||" if matches!(
                (lt, rt),
                (Type::Jsonb, Type::Jsonb | Type::Unknown) | (Type::Unknown, Type::Jsonb)
            ) =>
            {
                let l = self.coerce_plain(l, Type::Jsonb)?;
                let r = self.coerce_plain(r, Type::Jsonb)?;
                Ok(jcall(JsonFunc::Concat, vec![l, r], Type::Jsonb))
            }
            "||" if lt.is_string() || rt.is_string() => {
                let l = self.coerce(l, ColType::plain(Type::Text), true)?;
                let r = self.coerce(r, ColType::plain(Type::Text), true)?;
                Ok(Expr::new(
                    ExprKind::Binary(BinOp::Concat, Box::new(l), Box::new(r)),
                    ColType::plain(Type::Text),
                ))
            }
            "-" if lt == Type::Jsonb => {
                let r = if rt.is_integer() {
                    self.coerce_plain(r, Type::Int4)?
                } else if rt.is_string() {
                    self.coerce_plain(r, Type::Text)?
                } else if rt == Type::Array && ColType::array_elem(r.ty).is_string() {
                    self.coerce(r, text_array(), false)?
                } else {
                    return Err(no_op(self));
                };
                Ok(jcall(JsonFunc::Delete, vec![l, r], Type::Jsonb))
            }
            "#-" if lt == Type::Jsonb => {
                let r = self.text_array_operand(r, &no_op)?;
                Ok(jcall(JsonFunc::DeletePath, vec![l, r], Type::Jsonb))
            }
            "=" | "<>" | "!=" | "<" | "<=" | ">" | ">="
                if matches!(
                    (lt, rt),
                    (Type::Jsonb, Type::Jsonb | Type::Unknown) | (Type::Unknown, Type::Jsonb)
                ) =>
            {
                let l = self.coerce_plain(l, Type::Jsonb)?;
                let r = self.coerce_plain(r, Type::Jsonb)?;
                let bop = match op {
                    "=" => BinOp::Eq,
                    "<>" | "!=" => BinOp::Ne,
                    "<" => BinOp::Lt,
                    "<=" => BinOp::Le,
                    ">" => BinOp::Gt,
                    _ => BinOp::Ge,
                };
                Ok(Expr::new(
                    ExprKind::Binary(bop, Box::new(l), Box::new(r)),
                    ColType::plain(Type::Bool),
                ))
            }
            _ => Err(no_op(self)),
        }
    }

    /// A value converted to json (`jsonb` false) or jsonb, as to_json does.
    fn json_conv_expr(&mut self, e: Expr, jsonb: bool) -> Result<Expr> {
        let e = if e.ty.ty == Type::Unknown {
            self.coerce_plain(e, Type::Text)?
        } else {
            e
        };
        let from = e.ty;
        Ok(jcall(
            JsonFunc::To { from, jsonb },
            vec![e],
            if jsonb { Type::Jsonb } else { Type::Json },
        ))
    }

    fn json_key_expr(&mut self, e: Expr) -> Result<Expr> {
        if matches!(e.ty.ty, Type::Array | Type::Json | Type::Jsonb) {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                "key value must be scalar, not array, composite, or json",
            ));
        }
        self.coerce(e, ColType::plain(Type::Text), true)
    }

    /// `t` or `t.*` naming a relation of this query (not a column): its
    /// row as a json object (row_to_json's form) or a jsonb one. None
    /// when `n` is something else.
    pub(in crate::sql) fn whole_row(&mut self, n: &pb::Node, jsonb: bool) -> Option<Result<Expr>> {
        let Some(N::ColumnRef(c)) = &n.node else {
            return None;
        };
        let rel = match c.fields.as_slice() {
            [a] => node_str(a)?.to_string(),
            [a, b] if matches!(b.node, Some(N::AStar(_))) => node_str(a)?.to_string(),
            _ => return None,
        };
        if c.fields.len() == 1
            && self
                .scopes
                .iter()
                .any(|s| !matches!(s.lookup(None, &rel), Lookup::NotFound))
        {
            return None;
        }
        let scope = self.scopes.last()?;
        let cols: Vec<(String, Expr)> = scope
            .cols
            .iter()
            .enumerate()
            .filter(|(_, col)| !col.hidden && col.qualifier.as_deref() == Some(rel.as_str()))
            .map(|(i, col)| (col.name.clone(), Expr::column(i, col.ty)))
            .collect();
        if cols.is_empty() {
            return None;
        }
        Some((|| {
            let mut args = Vec::with_capacity(cols.len() * 2);
            for (name, e) in cols {
                args.push(Expr::constant(Value::Text(name), Type::Text));
                args.push(self.json_conv_expr(e, jsonb)?);
            }
            Ok(if jsonb {
                jcall(JsonFunc::BuildObject { jsonb: true }, args, Type::Jsonb)
            } else {
                jcall(JsonFunc::Row, args, Type::Json)
            })
        })())
    }

    /// `jsonb[a][b]...`: the value at that path, as `#>` finds it (text
    /// and integer subscripts alike). json cannot be subscripted.
    pub(in crate::sql) fn json_subscript(&mut self, base: Expr, ind: &[pb::Node]) -> Result<Expr> {
        if base.ty.ty == Type::Json {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                "cannot subscript type json because it does not support subscripting",
            ));
        }
        let mut path = Vec::with_capacity(ind.len());
        for sub in ind {
            let Some(N::AIndices(ix)) = &sub.node else {
                return Err(SqlError::unsupported("field selection"));
            };
            if ix.is_slice {
                return Err(SqlError::new(
                    code::DATATYPE_MISMATCH,
                    "jsonb subscript does not support slices",
                ));
            }
            let i = self.bind_expr(
                ix.uidx
                    .as_deref()
                    .ok_or_else(|| SqlError::internal("subscript"))?,
            )?;
            // Integer subscripts are those with an implicit cast to int4
            // (int2, int4): bigint is 42804 in PostgreSQL.
            let i = if matches!(i.ty.ty, Type::Int2 | Type::Int4) || i.ty.ty.is_string() {
                self.coerce(i, ColType::plain(Type::Text), true)?
            } else {
                return Err(SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!(
                        "subscript type {} is not supported",
                        self.catalog.type_name(i.ty.ty)
                    ),
                )
                .with_hint("jsonb subscript must be coercible to either integer or text."));
            };
            path.push(i);
        }
        let path = Expr::new(ExprKind::Func(Func::MakeArray, path), text_array());
        Ok(jcall(
            JsonFunc::GetPath {
                jsonb: true,
                text: false,
            },
            vec![base, path],
            Type::Jsonb,
        ))
    }

    /// A json/jsonb function call, or None when `name` is not one.
    pub(in crate::sql) fn bind_json_func(
        &mut self,
        name: &str,
        args: &[Expr],
    ) -> Option<Result<Expr>> {
        let flavour = if let Some(rest) = name.strip_prefix("jsonb_") {
            Some((true, rest))
        } else {
            name.strip_prefix("json_").map(|rest| (false, rest))
        };
        let known = matches!(name, "to_json" | "to_jsonb" | "row_to_json")
            || flavour.is_some_and(|(_, rest)| {
                matches!(
                    rest,
                    "build_object"
                        | "build_array"
                        | "typeof"
                        | "array_length"
                        | "set"
                        | "insert"
                        | "strip_nulls"
                        | "pretty"
                        | "object_keys"
                        | "array_elements"
                        | "array_elements_text"
                        | "each"
                        | "each_text"
                        | "extract_path"
                        | "extract_path_text"
                        | "object"
                        | "populate_record"
                        | "populate_recordset"
                        | "to_record"
                        | "to_recordset"
                        | "set_lax"
                        | "object_field"
                        | "object_field_text"
                        | "array_element"
                        | "array_element_text"
                        | "contains"
                        | "exists"
                        | "concat"
                        | "path_exists"
                        | "path_match"
                        | "path_query"
                        | "path_query_array"
                        | "path_query_first"
                        | "path_exists_tz"
                        | "path_match_tz"
                        | "path_query_tz"
                        | "path_query_array_tz"
                        | "path_query_first_tz"
                )
            });
        if !known {
            return None;
        }
        Some(self.bind_json_func_inner(name, flavour, args.to_vec()))
    }

    fn bind_json_func_inner(
        &mut self,
        name: &str,
        flavour: Option<(bool, &str)>,
        args: Vec<Expr>,
    ) -> Result<Expr> {
        let arg_types: Vec<Type> = args.iter().map(|a| a.ty.ty).collect();
        let no_func = |b: &Binder<'_>| {
            SqlError::new(
                code::UNDEFINED_FUNCTION,
                format!(
                    "function {name}({}) does not exist",
                    arg_types
                        .iter()
                        .map(|t| b.catalog.type_name(*t))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
        };
        let n = args.len();
        match (name, n) {
            ("to_json" | "to_jsonb", 1) => {
                let mut args = args;
                let a = args.remove(0);
                return self.json_conv_expr(a, name == "to_jsonb");
            }
            ("to_json" | "to_jsonb", _) => return Err(no_func(self)),
            ("row_to_json", _) => return Err(SqlError::unsupported("function row_to_json()")),
            _ => {}
        }
        let Some((jsonb, rest)) = flavour else {
            return Err(no_func(self));
        };
        let jt = if jsonb { Type::Jsonb } else { Type::Json };
        // The first argument as json(b).
        let first = |b: &mut Binder<'_>, args: &mut Vec<Expr>| -> Result<()> {
            let a = args.remove(0);
            if !matches!(a.ty.ty, Type::Unknown) && a.ty.ty != jt {
                return Err(no_func(b));
            }
            let a = b.coerce_plain(a, jt)?;
            args.insert(0, a);
            Ok(())
        };
        let mut args = args;
        match (rest, n) {
            ("build_object", _) => {
                let mut out = Vec::with_capacity(n);
                for (i, a) in args.into_iter().enumerate() {
                    out.push(if i % 2 == 0 && n.is_multiple_of(2) {
                        self.json_key_expr(a)?
                    } else {
                        self.json_conv_expr(a, jsonb)?
                    });
                }
                Ok(jcall(JsonFunc::BuildObject { jsonb }, out, jt))
            }
            ("build_array", _) => {
                let out = args
                    .into_iter()
                    .map(|a| self.json_conv_expr(a, jsonb))
                    .collect::<Result<Vec<_>>>()?;
                Ok(jcall(JsonFunc::BuildArray { jsonb }, out, jt))
            }
            ("typeof", 1) => {
                first(self, &mut args)?;
                Ok(jcall(JsonFunc::Typeof { jsonb }, args, Type::Text))
            }
            ("array_length", 1) => {
                first(self, &mut args)?;
                Ok(jcall(JsonFunc::ArrayLength { jsonb }, args, Type::Int4))
            }
            ("strip_nulls", 1) => {
                first(self, &mut args)?;
                Ok(jcall(JsonFunc::StripNulls { jsonb }, args, jt))
            }
            ("pretty", 1) if jsonb => {
                first(self, &mut args)?;
                Ok(jcall(JsonFunc::Pretty, args, Type::Text))
            }
            ("set" | "insert", 3 | 4) if jsonb => {
                first(self, &mut args)?;
                let mut out = vec![args.remove(0)];
                let path = args.remove(0);
                if !matches!(path.ty.ty, Type::Unknown | Type::Array) {
                    return Err(no_func(self));
                }
                out.push(self.coerce(path, text_array(), false)?);
                let v = args.remove(0);
                if !matches!(v.ty.ty, Type::Unknown | Type::Jsonb) {
                    return Err(no_func(self));
                }
                out.push(self.coerce_plain(v, Type::Jsonb)?);
                if let Some(flag) = args.pop() {
                    out.push(
                        self.coerce_plain(flag, Type::Bool)
                            .map_err(|_| no_func(self))?,
                    );
                }
                let f = if rest == "set" {
                    JsonFunc::Set
                } else {
                    JsonFunc::Insert
                };
                Ok(jcall(f, out, Type::Jsonb))
            }
            ("extract_path" | "extract_path_text", _) if n >= 2 => {
                // f(j, VARIADIC path text[]) is j #> ARRAY[path...].
                first(self, &mut args)?;
                let j = args.remove(0);
                let mut path = Vec::with_capacity(args.len());
                for a in args {
                    if !a.ty.ty.is_string() {
                        return Err(no_func(self));
                    }
                    path.push(self.coerce_plain(a, Type::Text)?);
                }
                let path = Expr::new(ExprKind::Func(Func::MakeArray, path), text_array());
                let text = rest.ends_with("_text");
                Ok(jcall(
                    JsonFunc::GetPath { jsonb, text },
                    vec![j, path],
                    if text { Type::Text } else { jt },
                ))
            }
            (
                "object_keys" | "array_elements" | "array_elements_text" | "each" | "each_text",
                _,
            ) => Err(SqlError::unsupported(format!(
                "function {name}() outside FROM (call it in FROM)"
            ))),
            (
                "typeof" | "array_length" | "strip_nulls" | "pretty" | "set" | "insert"
                | "extract_path" | "extract_path_text",
                _,
            ) => Err(no_func(self)),
            _ => Err(SqlError::unsupported(format!("function {name}()"))),
        }
    }

    /// json(b)_agg and json(b)_object_agg: arguments converted as
    /// to_json does (the key to text).
    pub(in crate::sql) fn json_agg_args(
        &mut self,
        func: AggFunc,
        args: Vec<Expr>,
    ) -> Result<Vec<Expr>> {
        match func {
            AggFunc::JsonAgg { jsonb, .. } => args
                .into_iter()
                .map(|a| self.json_conv_expr(a, jsonb))
                .collect(),
            AggFunc::JsonObjectAgg { jsonb } => {
                let mut it = args.into_iter();
                let (Some(k), Some(v)) = (it.next(), it.next()) else {
                    return Err(SqlError::internal("json_object_agg arguments"));
                };
                let k = self.json_key_expr(k)?;
                Ok(vec![k, self.json_conv_expr(v, jsonb)?])
            }
            _ => Ok(args),
        }
    }

    /// A json set-returning function in FROM, or None for another name.
    pub(in crate::sql) fn bind_json_srf(
        &mut self,
        fname: &str,
        f: &pb::FuncCall,
        rf: &pb::RangeFunction,
    ) -> Option<Result<(Plan, Scope)>> {
        let (jsonb, rest) = if let Some(r) = fname.strip_prefix("jsonb_") {
            (true, r)
        } else {
            (false, fname.strip_prefix("json_")?)
        };
        let (func, cols): (JsonFunc, Vec<(&str, Type)>) = match rest {
            "object_keys" => (JsonFunc::ObjectKeys { jsonb }, vec![(fname, Type::Text)]),
            "array_elements" | "array_elements_text" => {
                let text = rest.ends_with("_text");
                (
                    JsonFunc::ArrayElements { jsonb, text },
                    vec![(
                        "value",
                        if text {
                            Type::Text
                        } else if jsonb {
                            Type::Jsonb
                        } else {
                            Type::Json
                        },
                    )],
                )
            }
            "each" | "each_text" => {
                let text = rest.ends_with("_text");
                (
                    JsonFunc::Each { jsonb, text },
                    vec![
                        ("key", Type::Text),
                        (
                            "value",
                            if text {
                                Type::Text
                            } else if jsonb {
                                Type::Jsonb
                            } else {
                                Type::Json
                            },
                        ),
                    ],
                )
            }
            _ => return None,
        };
        Some((|| {
            let jt = if jsonb { Type::Jsonb } else { Type::Json };
            let args = self.bind_list(&f.args)?;
            let [a] = args.as_slice() else {
                return Err(SqlError::new(
                    code::UNDEFINED_FUNCTION,
                    format!("function {fname}() does not exist"),
                ));
            };
            if !matches!(a.ty.ty, Type::Unknown) && a.ty.ty != jt {
                return Err(SqlError::new(
                    code::UNDEFINED_FUNCTION,
                    format!(
                        "function {fname}({}) does not exist",
                        self.catalog.type_name(a.ty.ty)
                    ),
                )
                .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."));
            }
            let a = self.coerce_plain(a.clone(), jt)?;
            let (qual, alias_cols) = match &rf.alias {
                Some(al) => (al.aliasname.clone(), names(&al.colnames)),
                None => (fname.to_string(), Vec::new()),
            };
            let single_named_by_alias = rest == "object_keys" && rf.alias.is_some();
            let scope = Scope {
                cols: cols
                    .iter()
                    .enumerate()
                    .map(|(i, (n, ty))| ScopeCol {
                        qualifier: Some(qual.clone()),
                        name: alias_cols.get(i).cloned().unwrap_or_else(|| {
                            if single_named_by_alias {
                                qual.clone()
                            } else {
                                (*n).to_string()
                            }
                        }),
                        ty: ColType::plain(*ty),
                        table_oid: 0,
                        attnum: 0,
                        hidden: false,
                    })
                    .collect(),
            };
            let e = Expr::new(ExprKind::Func(Func::Json(func), vec![a]), text_array());
            let mut scope = scope;
            let plan = if cols.len() == 1 {
                // `FROM jsonb_array_elements(...) e`: `e` is the value too.
                if rf.alias.is_some() && alias_cols.is_empty() && !single_named_by_alias {
                    let ty = scope.cols[0].ty;
                    scope.cols.push(ScopeCol {
                        qualifier: Some(qual.clone()),
                        name: qual.clone(),
                        ty,
                        table_oid: 0,
                        attnum: 0,
                        hidden: true,
                    });
                    Plan::Project(
                        Box::new(Plan::Unnest(e)),
                        vec![Expr::column(0, ty), Expr::column(0, ty)],
                    )
                } else {
                    Plan::Unnest(e)
                }
            } else {
                Plan::UnnestRows(e)
            };
            Ok((plan, scope))
        })())
    }
}
