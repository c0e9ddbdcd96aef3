//! Binding the catalog functions, `::regclass`-style casts and the array
//! operators psql's describe queries use (see [`crate::sql::syscat`]).

use std::collections::HashMap;

use super::*;
use crate::sql::syscat::Snapshot;

/// The reg* types a cast may name.
pub(super) fn reg_type(name: &str) -> bool {
    matches!(
        name,
        "regclass" | "regtype" | "regnamespace" | "regproc" | "regprocedure" | "regrole"
    )
}

impl Binder<'_> {
    fn lookup(
        &self,
        map: HashMap<i64, Value>,
        arg: Expr,
        missing: Option<Value>,
        ty: Type,
    ) -> Expr {
        Expr::new(
            ExprKind::Lookup {
                map: Arc::new(map),
                arg: Box::new(arg),
                missing,
            },
            ColType::plain(ty),
        )
    }

    /// Binds `name(args)` when it is one of the catalog functions; None
    /// when it is not.
    pub(super) fn bind_catalog_func(&mut self, name: &str, args: &[Expr]) -> Result<Option<Expr>> {
        let n = args.len();
        let arity_ok = match name {
            "pg_get_userbyid"
            | "pg_table_is_visible"
            | "pg_encoding_to_char"
            | "pg_partition_ancestors"
            | "pg_relation_is_publishable"
            | "pg_get_statisticsobjdef_columns"
            | "quote_ident"
            | "pg_size_pretty"
            | "pg_table_size"
            | "pg_total_relation_size"
            | "pg_relation_size"
            | "pg_indexes_size" => n == 1,
            "format_type"
            | "array_to_string"
            | "array_upper"
            | "col_description"
            | "pg_get_serial_sequence" => n == 2,
            "pg_get_expr" => n == 2 || n == 3,
            "current_schemas" => n == 1,
            "pg_get_indexdef" => n == 1 || n == 3,
            "pg_get_constraintdef" | "pg_get_triggerdef" | "obj_description" => n == 1 || n == 2,
            _ => return Ok(None),
        };
        let types: Vec<&str> = args.iter().map(|a| a.ty.ty.name()).collect();
        let no_func = || {
            SqlError::new(
                code::UNDEFINED_FUNCTION,
                format!("function {name}({}) does not exist", types.join(", ")),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
        };
        if !arity_ok {
            return Err(no_func());
        }
        let mut args = args.to_vec();
        // OID arguments: integers and unknown literals become oid.
        let oid_arg = |b: &mut Self, e: Expr| -> Result<Expr> {
            if e.ty.ty == Type::Oid || e.ty.ty.is_integer() || e.ty.ty == Type::Unknown {
                b.coerce(e, ColType::plain(Type::Oid), false)
            } else {
                Err(no_func())
            }
        };
        let first = args.remove(0);
        let e = match name {
            "pg_get_userbyid" => {
                let a = oid_arg(self, first)?;
                Expr::new(
                    ExprKind::Func(Func::PgGetUserbyid, vec![a]),
                    ColType::plain(Type::Name),
                )
            }
            "pg_table_is_visible" => {
                let a = oid_arg(self, first)?;
                let map = Snapshot::new(self.catalog).visible();
                self.lookup(map, a, Some(Value::Bool(false)), Type::Bool)
            }
            "pg_relation_is_publishable" => {
                let a = oid_arg(self, first)?;
                let map = Snapshot::new(self.catalog)
                    .rels
                    .iter()
                    .map(|r| (r.oid, Value::Bool(r.kind == 'r')))
                    .collect();
                self.lookup(map, a, Some(Value::Bool(false)), Type::Bool)
            }
            "pg_get_indexdef" if n == 3 => {
                // (index, column, pretty): column 0 is the whole
                // definition (pretty: the table unqualified when
                // visible), column k the k-th key column's name.
                let a = oid_arg(self, first)?;
                let col = self.coerce(args.remove(0), ColType::plain(Type::Int4), false)?;
                let pretty = self.coerce(args.remove(0), ColType::plain(Type::Bool), false)?;
                let map = Snapshot::new(self.catalog).indexdef_columns();
                let parts = Expr::new(
                    ExprKind::Lookup {
                        map: Arc::new(map),
                        arg: Box::new(a),
                        missing: Some(Value::Null),
                    },
                    ColType::array_of(Type::Text),
                );
                Expr::new(
                    ExprKind::Func(Func::IndexDefColumn, vec![parts, col, pretty]),
                    ColType::plain(Type::Text),
                )
            }
            "pg_get_indexdef" => {
                let a = oid_arg(self, first)?;
                let map = Snapshot::new(self.catalog).indexdefs();
                self.lookup(map, a, Some(Value::Null), Type::Text)
            }
            "quote_ident" => {
                if !(first.ty.ty.is_string() || first.ty.ty == Type::Unknown) {
                    return Err(no_func());
                }
                let a = self.coerce(first, ColType::plain(Type::Text), false)?;
                Expr::new(
                    ExprKind::Func(Func::QuoteIdent, vec![a]),
                    ColType::plain(Type::Text),
                )
            }
            "pg_size_pretty" => {
                let to = match first.ty.ty {
                    Type::Numeric => Type::Numeric,
                    t if t.is_integer() || t == Type::Unknown => Type::Int8,
                    _ => return Err(no_func()),
                };
                let a = self.coerce(first, ColType::plain(to), false)?;
                Expr::new(
                    ExprKind::Func(Func::SizePretty, vec![a]),
                    ColType::plain(Type::Text),
                )
            }
            "pg_table_size" | "pg_total_relation_size" | "pg_relation_size" | "pg_indexes_size" => {
                // The argument is a regclass: a name or an OID.
                let a = if first.ty.ty == Type::Unknown || first.ty.ty.is_string() {
                    self.bind_reg_cast(first, "regclass")?
                } else {
                    oid_arg(self, first)?
                };
                let of = match name {
                    "pg_table_size" => SizeOf::Table,
                    "pg_total_relation_size" => SizeOf::Total,
                    "pg_indexes_size" => SizeOf::Indexes,
                    _ => SizeOf::Relation,
                };
                Expr::new(
                    ExprKind::Func(Func::RelSize(of), vec![a]),
                    ColType::plain(Type::Int8),
                )
            }
            "pg_get_constraintdef" => {
                let a = oid_arg(self, first)?;
                // (raw, pretty) by OID; the pretty flag picks one.
                let pretty = match args.pop() {
                    Some(p) => self.coerce(p, ColType::plain(Type::Bool), false)?,
                    None => Expr::new(
                        ExprKind::Const(Value::Bool(false)),
                        ColType::plain(Type::Bool),
                    ),
                };
                let map = Snapshot::new(self.catalog).constraintdefs();
                let defs = Expr::new(
                    ExprKind::Lookup {
                        map: Arc::new(map),
                        arg: Box::new(a),
                        missing: Some(Value::Null),
                    },
                    ColType::array_of(Type::Text),
                );
                let col = Expr::new(ExprKind::Const(Value::Int(0)), ColType::plain(Type::Int4));
                Expr::new(
                    ExprKind::Func(Func::IndexDefColumn, vec![defs, col, pretty]),
                    ColType::plain(Type::Text),
                )
            }
            "pg_partition_ancestors" => {
                // tusk-lite has no partitioning: a relation's only
                // ancestor is itself.
                let a = oid_arg(self, first)?;
                Expr::new(
                    ExprKind::Func(Func::Identity, vec![a]),
                    ColType::plain(Type::Oid),
                )
            }
            "format_type" => {
                let a = oid_arg(self, first)?;
                let m = self.coerce(args.remove(0), ColType::plain(Type::Int4), false)?;
                Expr::new(
                    ExprKind::Func(Func::FormatType, vec![a, m]),
                    ColType::plain(Type::Text),
                )
            }
            "pg_encoding_to_char" => {
                let a = self.coerce(first, ColType::plain(Type::Int4), false)?;
                Expr::new(
                    ExprKind::Func(Func::EncodingToChar, vec![a]),
                    ColType::plain(Type::Name),
                )
            }
            "current_schemas" => {
                // The search path tusk-lite resolves names with (its
                // current_schema() is always public), with pg_catalog
                // first when implicit schemas are asked for.
                let implicit = self.coerce(first, ColType::plain(Type::Bool), false)?;
                let schemas = |implicit: bool| {
                    let mut v = vec![Value::Text("public".into())];
                    if implicit {
                        v.insert(0, Value::Text("pg_catalog".into()));
                    }
                    Expr::new(
                        ExprKind::Const(Value::Array(v)),
                        ColType::array_of(Type::Name),
                    )
                };
                match &implicit.kind {
                    ExprKind::Const(Value::Bool(b)) => schemas(*b),
                    ExprKind::Const(Value::Null) => {
                        Expr::new(ExprKind::Const(Value::Null), ColType::array_of(Type::Name))
                    }
                    _ => Expr::new(
                        ExprKind::Case {
                            operand: None,
                            whens: vec![(implicit, schemas(true))],
                            default: Some(Box::new(schemas(false))),
                        },
                        ColType::array_of(Type::Name),
                    ),
                }
            }
            "pg_get_expr" => {
                // pg_node_tree columns hold the expression's SQL text.
                if !first.ty.ty.is_string() {
                    return Err(no_func());
                }
                let a = self.coerce(first, ColType::plain(Type::Text), false)?;
                Expr::new(
                    ExprKind::Func(Func::Identity, vec![a]),
                    ColType::plain(Type::Text),
                )
            }
            "col_description"
            | "obj_description"
            | "pg_get_statisticsobjdef_columns"
            | "pg_get_triggerdef" => {
                // tusk-lite has no comments (COMMENT is not supported), no
                // extended statistics and no triggers: always NULL.
                oid_arg(self, first)?;
                Expr::constant(Value::Null, Type::Text)
            }
            "array_to_string" => {
                if first.ty.ty != Type::Array {
                    return Err(no_func());
                }
                let sep = self.coerce(args.remove(0), ColType::plain(Type::Text), false)?;
                Expr::new(
                    ExprKind::Func(Func::ArrayToString, vec![first, sep]),
                    ColType::plain(Type::Text),
                )
            }
            "pg_get_serial_sequence" => {
                let (ExprKind::Const(t), ExprKind::Const(c)) = (&first.kind, &args[0].kind) else {
                    return Err(SqlError::unsupported(
                        "pg_get_serial_sequence of values other than constants",
                    ));
                };
                match (t, c) {
                    (Value::Text(t), Value::Text(c)) => self.serial_sequence(t, c)?,
                    _ => Expr::constant(Value::Null, Type::Text),
                }
            }
            "array_upper" => {
                if first.ty.ty != Type::Array {
                    return Err(no_func());
                }
                let dim = self.coerce(args.remove(0), ColType::plain(Type::Int4), false)?;
                Expr::new(
                    ExprKind::Func(Func::ArrayUpper, vec![first, dim]),
                    ColType::plain(Type::Int4),
                )
            }
            _ => return Ok(None),
        };
        Ok(Some(e))
    }

    /// pg_get_serial_sequence(table, column): the sequence a serial or
    /// identity column owns, schema-qualified, or NULL. The table name is
    /// parsed as SQL (folded unless quoted), the column name is not.
    fn serial_sequence(&self, table: &str, column: &str) -> Result<Expr> {
        let mut parts = Vec::new();
        for p in table.split('.') {
            let p = p.trim();
            parts.push(
                match p.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
                    Some(q) => q.replace("\"\"", "\""),
                    None => p.to_lowercase(),
                },
            );
        }
        let (schema, name) = match parts.as_slice() {
            [n] => ("public".to_string(), n.clone()),
            [s, n] => (s.clone(), n.clone()),
            _ => {
                return Err(SqlError::unsupported(
                    "a table name with more than two parts",
                ))
            }
        };
        let tb = self.catalog.table(&schema, &name).ok_or_else(|| {
            SqlError::new(
                code::UNDEFINED_TABLE,
                format!("relation \"{table}\" does not exist"),
            )
        })?;
        let col = tb
            .columns
            .iter()
            .find(|c| c.name == column)
            .ok_or_else(|| {
                SqlError::new(
                    code::UNDEFINED_COLUMN,
                    format!(
                        "column \"{column}\" of relation \"{}\" does not exist",
                        tb.name
                    ),
                )
            })?;
        let seq = self.catalog.sequences.iter().find(|s| {
            s.owned_by == Some(tb.oid)
                && col.default.as_deref().is_some_and(|d| {
                    d == format!("SELECT {}", crate::catalog::nextval_call(&s.name))
                })
        });
        Ok(match seq {
            Some(s) => Expr::constant(
                Value::Text(format!(
                    "{}.{}",
                    crate::sql::syscat::quote_ident(&s.schema),
                    crate::sql::syscat::quote_ident(&s.name)
                )),
                Type::Text,
            ),
            None => Expr::constant(Value::Null, Type::Text),
        })
    }

    /// `expr::regclass` (and the other reg* types). A constant becomes the
    /// OID it names (an unknown name fails as PostgreSQL's input function
    /// does); any other expression becomes its object's name, as reg*
    /// output prints it.
    pub(super) fn bind_reg_cast(&mut self, inner: Expr, to: &str) -> Result<Expr> {
        let snap = Snapshot::new(self.catalog);
        if let ExprKind::Const(v) = &inner.kind {
            if inner.ty.ty == Type::Unknown || inner.ty.ty.is_string() {
                let Value::Text(s) = v else {
                    return Ok(Expr::constant(Value::Null, Type::Oid));
                };
                if let Ok(n) = s.trim().parse::<u32>() {
                    return Ok(Expr::constant(Value::Int(i64::from(n)), Type::Oid));
                }
                if to == "regproc" || to == "regprocedure" {
                    // The input functions pg_type.typinput names (pgjdbc
                    // compares typinput with 'pg_catalog.array_in'::regproc).
                    let name = s.trim();
                    let name = name.strip_prefix("pg_catalog.").unwrap_or(name);
                    let name = name.strip_suffix("(cstring)").unwrap_or(name);
                    return crate::sql::syscat::INPUT_FUNCTIONS
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, oid)| Expr::constant(Value::Int(*oid), Type::Oid))
                        .ok_or_else(|| SqlError::unsupported(format!("{to} input of \"{s}\"")));
                }
                if to != "regclass" {
                    return Err(SqlError::unsupported(format!("{to} input by name")));
                }
                let (schema, rel) = match s.split_once('.') {
                    Some((a, b)) => (a.to_string(), b.to_string()),
                    None => ("public".to_string(), s.clone()),
                };
                let unquote = |x: &str| match x.strip_prefix('"').and_then(|y| y.strip_suffix('"'))
                {
                    Some(q) => q.to_string(),
                    None => x.to_lowercase(),
                };
                let (schema, rel) = (unquote(&schema), unquote(&rel));
                // A system catalog (pg_catalog comes first on the search
                // path, so an unqualified name finds it too).
                if schema == "pg_catalog" || !s.contains('.') {
                    if let Some((_, oid)) = crate::sql::syscat::CATALOG_OIDS
                        .iter()
                        .find(|(n, _)| *n == rel)
                    {
                        return Ok(Expr::constant(Value::Int(*oid), Type::Oid));
                    }
                }
                return snap
                    .rels
                    .iter()
                    .find(|r| r.schema == schema && r.name == rel)
                    .map(|r| Expr::constant(Value::Int(r.oid), Type::Oid))
                    .ok_or_else(|| {
                        SqlError::new(
                            code::UNDEFINED_TABLE,
                            format!("relation \"{s}\" does not exist"),
                        )
                    });
            }
        }
        if !(inner.ty.ty == Type::Oid || inner.ty.ty.is_integer()) {
            return Err(SqlError::new(
                code::CANNOT_COERCE,
                format!("cannot cast type {} to {to}", inner.ty.ty.name()),
            ));
        }
        let inner = self.coerce(inner, ColType::plain(Type::Oid), false)?;
        let map = match to {
            "regclass" => {
                let mut names = snap.regclass_names();
                for (n, oid) in crate::sql::syscat::CATALOG_OIDS {
                    names.insert(*oid, Value::Text((*n).to_string()));
                }
                names
            }
            "regnamespace" => [
                (
                    crate::sql::syscat::oids::PG_CATALOG,
                    Value::Text("pg_catalog".into()),
                ),
                (
                    crate::sql::syscat::oids::PUBLIC,
                    Value::Text("public".into()),
                ),
            ]
            .into_iter()
            .collect(),
            "regtype" => {
                let mut names: HashMap<i64, Value> = crate::types::BUILT_IN
                    .into_iter()
                    // ("char" prints quoted as a regtype; not named here yet.)
                    .filter(|t| *t != Type::Char)
                    .flat_map(|t| {
                        // The array types pg_type lists, as `integer[]`.
                        let array = crate::types::array_type_oid(t)
                            .map(|a| (i64::from(a), Value::Text(format!("{}[]", t.name()))));
                        std::iter::once((i64::from(t.oid()), Value::Text(t.name().to_string())))
                            .chain(array)
                    })
                    .collect();
                for e in &self.catalog.enums {
                    let n = crate::sql::syscat::quote_ident(&e.name);
                    let n = if e.schema == "public" || e.schema == "pg_catalog" {
                        n
                    } else {
                        format!("{}.{n}", crate::sql::syscat::quote_ident(&e.schema))
                    };
                    names.insert(i64::from(e.array_oid), Value::Text(format!("{n}[]")));
                    names.insert(i64::from(e.oid), Value::Text(n));
                }
                names
            }
            "regproc" => crate::sql::syscat::INPUT_FUNCTIONS
                .iter()
                .map(|(n, oid)| (*oid, Value::Text((*n).to_string())))
                .collect(),
            _ => HashMap::new(),
        };
        // OID 0 prints as "-", as reg* output does.
        let mut map = map;
        map.insert(0, Value::Text("-".into()));
        Ok(self.lookup(map, inner, None, Type::Name))
    }

    /// An operator with an array operand: `||` concatenates, comparisons
    /// compare element-wise; an unknown literal on the other side is read
    /// as the array's type.
    pub(super) fn array_binary(&mut self, op: &str, l: Expr, r: Expr) -> Result<Expr> {
        let (l, r) = match (l.ty.ty, r.ty.ty) {
            (Type::Array, Type::Unknown) => {
                let to = l.ty;
                (l, self.coerce(r, to, false)?)
            }
            (Type::Unknown, Type::Array) => {
                let to = r.ty;
                (self.coerce(l, to, false)?, r)
            }
            (Type::Array, Type::Array) => (l, r),
            _ => return Err(self.array_op_error(op, l.ty, r.ty)),
        };
        if ColType::array_elem(l.ty) != ColType::array_elem(r.ty) {
            return Err(self.array_op_error(op, l.ty, r.ty));
        }
        let ty = l.ty;
        let bop = match op {
            "||" => {
                return Ok(Expr::new(ExprKind::Func(Func::ArrayCat, vec![l, r]), ty));
            }
            "=" => BinOp::Eq,
            "<>" | "!=" => BinOp::Ne,
            "<" => BinOp::Lt,
            "<=" => BinOp::Le,
            ">" => BinOp::Gt,
            ">=" => BinOp::Ge,
            _ => return Err(self.array_op_error(op, ty, ty)),
        };
        Ok(Expr::new(
            ExprKind::Binary(bop, Box::new(l), Box::new(r)),
            ColType::plain(Type::Bool),
        ))
    }

    /// `left op ANY/ALL (array expression)`.
    pub(super) fn bind_any_array(
        &mut self,
        op: &str,
        l: Expr,
        arr: Expr,
        all: bool,
    ) -> Result<Expr> {
        // `x = ANY ('{1,2}')`: the literal is an array of x's type.
        let arr = match (arr.ty.ty, l.ty.ty) {
            (Type::Unknown, t) => {
                let elem = if t == Type::Unknown { Type::Text } else { t };
                if matches!(elem, Type::Enum(_)) || types::array_type_oid(elem).is_none() {
                    arr
                } else {
                    self.coerce(arr, ColType::array_of(elem), false)?
                }
            }
            _ => arr,
        };
        if arr.ty.ty != Type::Array {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                "op ANY/ALL (array) requires array on right side",
            ));
        }
        let elem = ColType::array_elem(arr.ty);
        let cmp = self.binary(op, l, Expr::constant(Value::Null, elem))?;
        let ExprKind::Binary(bop, l, _) = cmp.kind else {
            return Err(SqlError::unsupported(format!("operator {op} with ANY/ALL")));
        };
        if !bop.is_comparison() {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                "op ANY/ALL (array) requires operator to yield boolean",
            ));
        }
        Ok(Expr::new(
            ExprKind::AnyArray {
                op: bop,
                left: l,
                array: Box::new(arr),
                all,
            },
            ColType::plain(Type::Bool),
        ))
    }

    /// `expr ~ pattern` and its negated and case-insensitive forms.
    pub(super) fn regex(&mut self, op: &str, l: Expr, r: Expr) -> Result<Expr> {
        if !(l.ty.ty.is_string() && r.ty.ty.is_string()) {
            return Err(operator_error(self.catalog, op, l.ty.ty, r.ty.ty));
        }
        // bpchar ~ text matches the padded value (PostgreSQL's
        // bpcharregexeq), so its trailing blanks stay, as in LIKE.
        let l = if l.ty.ty == Type::Bpchar {
            Expr::new(l.kind, ColType::plain(Type::Text))
        } else {
            self.coerce(l, ColType::plain(Type::Text), false)?
        };
        let r = self.coerce(r, ColType::plain(Type::Text), false)?;
        Ok(Expr::new(
            ExprKind::Regex {
                expr: Box::new(l),
                pattern: Box::new(r),
                case_insensitive: op.contains('*'),
                negated: op.starts_with('!'),
            },
            ColType::plain(Type::Bool),
        ))
    }
}
