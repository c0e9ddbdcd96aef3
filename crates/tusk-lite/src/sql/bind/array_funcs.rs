//! Binding the array functions (array_length, cardinality, array_append,
//! array_prepend, array_cat, array_position, array_remove, array_lower,
//! array_ndims), the containment operators (`@>`, `<@`, `&&`), `||` with
//! an element, and slices.

use super::*;

impl Binder<'_> {
    /// The element type of an array argument; the error PostgreSQL gives
    /// when the argument is not an array.
    fn array_arg(&self, name: &str, args: &[Expr], i: usize) -> Result<Type> {
        match args.get(i) {
            Some(a) if a.ty.ty == Type::Array => Ok(ColType::array_elem(a.ty)),
            _ => Err(self.no_array_func(name, args)),
        }
    }

    fn no_array_func(&self, name: &str, args: &[Expr]) -> SqlError {
        SqlError::new(
            code::UNDEFINED_FUNCTION,
            format!(
                "function {name}({}) does not exist",
                args.iter()
                    .map(|a| self.col_type_name(a.ty))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
    }

    /// An unknown literal read as the array type of `like`.
    fn as_array_like(&mut self, e: Expr, like: ColType) -> Result<Expr> {
        if e.ty.ty == Type::Unknown {
            self.coerce(e, like, false)
        } else {
            Ok(e)
        }
    }

    /// Binds `name(args)` when it is an array function; None when not.
    pub(super) fn bind_array_func(&mut self, name: &str, args: &[Expr]) -> Result<Option<Expr>> {
        let n = args.len();
        let int4 = ColType::plain(Type::Int4);
        let e = match (name, n) {
            ("array_length" | "array_lower", 2) => {
                self.array_arg(name, args, 0)?;
                let dim = self.coerce(args[1].clone(), int4, false)?;
                let f = if name == "array_length" {
                    Func::ArrayLength
                } else {
                    Func::ArrayLower
                };
                Expr::new(ExprKind::Func(f, vec![args[0].clone(), dim]), int4)
            }
            ("cardinality" | "array_ndims", 1) => {
                self.array_arg(name, args, 0)?;
                let f = if name == "cardinality" {
                    Func::Cardinality
                } else {
                    Func::ArrayNdims
                };
                Expr::new(ExprKind::Func(f, vec![args[0].clone()]), int4)
            }
            ("array_append" | "array_position" | "array_remove", 2) | ("array_position", 3) => {
                let elem = self.array_arg(name, args, 0)?;
                let arr = args[0].clone();
                let x = self
                    .coerce(args[1].clone(), ColType::plain(elem), false)
                    .map_err(|e| {
                        // A literal that does not read as an element keeps
                        // its input error.
                        if args[1].ty.ty == Type::Unknown {
                            e
                        } else {
                            self.no_array_func(name, args)
                        }
                    })?;
                let mut v = vec![arr.clone(), x];
                let (f, ty) = match name {
                    "array_append" => (Func::ArrayAppend, arr.ty),
                    "array_remove" => (Func::ArrayRemove, arr.ty),
                    _ => {
                        if n == 3 {
                            v.push(self.coerce(args[2].clone(), int4, false)?);
                        }
                        (Func::ArrayPosition, int4)
                    }
                };
                Expr::new(ExprKind::Func(f, v), ty)
            }
            ("array_prepend", 2) => {
                let elem = self.array_arg(name, args, 1)?;
                let x = self.coerce(args[0].clone(), ColType::plain(elem), false)?;
                Expr::new(
                    ExprKind::Func(Func::ArrayPrepend, vec![x, args[1].clone()]),
                    args[1].ty,
                )
            }
            ("array_cat", 2) => {
                let (l, r) = (args[0].clone(), args[1].clone());
                let like = if l.ty.ty == Type::Array { l.ty } else { r.ty };
                let l = self.as_array_like(l, like)?;
                let r = self.as_array_like(r, like)?;
                self.array_arg(name, std::slice::from_ref(&l), 0)?;
                self.array_arg(name, std::slice::from_ref(&r), 0)?;
                return self.array_binary("||", l, r).map(Some);
            }
            _ => return Ok(None),
        };
        Ok(Some(e))
    }

    /// `array @> array`, `<@` and `&&`; `array || element` and
    /// `element || array`. None for another operator.
    pub(super) fn array_operator(&mut self, op: &str, l: &Expr, r: &Expr) -> Result<Option<Expr>> {
        let (lt, rt) = (l.ty.ty, r.ty.ty);
        if lt != Type::Array && rt != Type::Array {
            return Ok(None);
        }
        if op == "||" && lt == Type::Array && !matches!(rt, Type::Array | Type::Unknown) {
            let elem = ColType::array_elem(l.ty);
            let x = self.coerce(r.clone(), ColType::plain(elem), false)?;
            return Ok(Some(Expr::new(
                ExprKind::Func(Func::ArrayAppend, vec![l.clone(), x]),
                l.ty,
            )));
        }
        if op == "||" && rt == Type::Array && !matches!(lt, Type::Array | Type::Unknown) {
            let elem = ColType::array_elem(r.ty);
            let x = self.coerce(l.clone(), ColType::plain(elem), false)?;
            return Ok(Some(Expr::new(
                ExprKind::Func(Func::ArrayPrepend, vec![x, r.clone()]),
                r.ty,
            )));
        }
        let f = match op {
            "@>" => Func::ArrayContains,
            "<@" => Func::ArrayContained,
            "&&" => Func::ArrayOverlap,
            _ => return Ok(None),
        };
        let like = if lt == Type::Array { l.ty } else { r.ty };
        let l = self.as_array_like(l.clone(), like)?;
        let r = self.as_array_like(r.clone(), like)?;
        if l.ty.ty != Type::Array
            || r.ty.ty != Type::Array
            || ColType::array_elem(l.ty) != ColType::array_elem(r.ty)
        {
            return Err(self.array_op_error(op, l.ty, r.ty));
        }
        Ok(Some(Expr::new(
            ExprKind::Func(f, vec![l, r]),
            ColType::plain(Type::Bool),
        )))
    }

    /// "operator does not exist", with array types named as `integer[]`.
    pub(super) fn array_op_error(&self, op: &str, l: ColType, r: ColType) -> SqlError {
        SqlError::new(
            code::UNDEFINED_FUNCTION,
            format!(
                "operator does not exist: {} {op} {}",
                self.col_type_name(l),
                self.col_type_name(r)
            ),
        )
        .with_hint("No operator matches the given name and argument types. You might need to add explicit type casts.")
    }

    /// `array[lower:upper]` (either bound may be left out).
    pub(super) fn array_slice(&mut self, base: Expr, ix: &pb::AIndices) -> Result<Expr> {
        let mut bound = |n: &Option<Box<pb::Node>>| -> Result<Expr> {
            match n.as_deref() {
                Some(n) => {
                    let e = self.bind_expr(n)?;
                    self.coerce(e, ColType::plain(Type::Int4), false)
                }
                None => Ok(Expr::constant(Value::Null, Type::Int4)),
            }
        };
        let lo = bound(&ix.lidx)?;
        let hi = bound(&ix.uidx)?;
        let lo_open = ix.lidx.is_none();
        let hi_open = ix.uidx.is_none();
        let ty = base.ty;
        Ok(Expr::new(
            ExprKind::Func(Func::ArraySlice { lo_open, hi_open }, vec![base, lo, hi]),
            ty,
        ))
    }
}
