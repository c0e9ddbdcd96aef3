//! Binding the bytea, uuid, string and math library functions
//! ([`crate::sql::libfunc`]) with PostgreSQL's overloads: a bytea first
//! argument picks the bytea form; a numeric one the numeric form (where
//! PostgreSQL has one), anything else numeric the float8 form.

use super::*;
use crate::sql::libfunc::{LibFunc as L, MathFn};

impl Binder<'_> {
    /// The operators this module adds: `^` (power), the integer bitwise
    /// operators `&`, `|`, `#`, `<<`, `>>`; None for any other.
    pub(super) fn bind_lib_binary(&mut self, op: &str, l: &Expr, r: &Expr) -> Result<Option<Expr>> {
        let (lt, rt) = (l.ty.ty, r.ty.ty);
        let no_op = || operator_error(self.catalog, op, lt, rt);
        let num = |t: Type| t.is_numeric_family() || t == Type::Unknown;
        let (f, params, ret) = match op {
            "^" => {
                if !(num(lt) && num(rt)) {
                    return Err(no_op());
                }
                let numeric = (lt == Type::Numeric || rt == Type::Numeric)
                    && !matches!(lt, Type::Float4 | Type::Float8)
                    && !matches!(rt, Type::Float4 | Type::Float8);
                let t = if numeric { Type::Numeric } else { Type::Float8 };
                let f = if numeric {
                    L::NumericPower
                } else {
                    L::FloatPower
                };
                (f, [t, t], t)
            }
            "&" | "|" | "#" => {
                let int = |t: Type| t.is_integer() || t == Type::Unknown;
                if !(int(lt) && int(rt)) {
                    return Err(no_op());
                }
                let t = match common_type(lt, rt) {
                    Some(Type::Text) | None => Type::Int4,
                    Some(t) => t,
                };
                let f = match op {
                    "&" => L::BitAnd,
                    "|" => L::BitOr,
                    _ => L::BitXor,
                };
                (f, [t, t], t)
            }
            "<<" | ">>" => {
                let t = if lt == Type::Unknown { Type::Int4 } else { lt };
                if !t.is_integer() || !(rt.is_integer() || rt == Type::Unknown) || rt == Type::Int8
                {
                    return Err(no_op());
                }
                let f = if op == "<<" {
                    L::ShiftLeft
                } else {
                    L::ShiftRight
                };
                (f, [t, Type::Int4], t)
            }
            _ => return Ok(None),
        };
        let l = self
            .coerce(l.clone(), ColType::plain(params[0]), false)
            .map_err(|_| no_op())?;
        let r = self
            .coerce(r.clone(), ColType::plain(params[1]), false)
            .map_err(|_| no_op())?;
        Ok(Some(Expr::new(
            ExprKind::Func(Func::Lib(f), vec![l, r]),
            ColType::plain(ret),
        )))
    }

    /// The prefix operators `|/` (square root), `||/` (cube root), `@`
    /// (absolute value) and `~` (bitwise not); None for any other.
    pub(super) fn bind_lib_prefix(&mut self, op: &str, r: &Expr) -> Result<Option<Expr>> {
        let t = r.ty.ty;
        let no_op = || {
            SqlError::new(
                code::UNDEFINED_FUNCTION,
                format!("operator does not exist: {op} {}", self.catalog.type_name(t)),
            )
            .with_hint("No operator matches the given name and argument type. You might need to add an explicit type cast.")
        };
        let (func, ty) = match op {
            "|/" | "||/" if t.is_numeric_family() || t == Type::Unknown => {
                let f = if op == "|/" {
                    Func::Sqrt
                } else {
                    Func::Lib(L::Math(MathFn::Cbrt))
                };
                (f, Type::Float8)
            }
            "@" if t.is_numeric_family() && t != Type::Oid => (Func::Abs, t),
            "~" if t.is_integer() || t == Type::Unknown => {
                let t = if t == Type::Unknown { Type::Int4 } else { t };
                (Func::Lib(L::BitNot), t)
            }
            "|/" | "||/" | "@" | "~" => return Err(no_op()),
            _ => return Ok(None),
        };
        let arg = self
            .coerce(r.clone(), ColType::plain(ty), false)
            .map_err(|_| no_op())?;
        Ok(Some(Expr::new(
            ExprKind::Func(func, vec![arg]),
            ColType::plain(ty),
        )))
    }

    fn lib_no_func(&self, name: &str, args: &[Expr]) -> SqlError {
        SqlError::new(
            code::UNDEFINED_FUNCTION,
            format!(
                "function {name}({}) does not exist",
                args.iter()
                    .map(|a| self.catalog.type_name(a.ty.ty))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
    }

    /// Coerces `args` to `params` and builds the call; a mismatch is
    /// PostgreSQL's "function ... does not exist".
    fn lib_call(
        &mut self,
        name: &str,
        f: L,
        args: &[Expr],
        params: &[Type],
        ret: Type,
    ) -> Result<Option<Expr>> {
        if args.len() != params.len() {
            return Err(self.lib_no_func(name, args));
        }
        let mut bound = Vec::with_capacity(args.len());
        for (a, t) in args.iter().zip(params) {
            let ok = a.ty.ty == *t
                || a.ty.ty == Type::Unknown
                || (a.ty.ty.is_string() && t.is_string())
                || (a.ty.ty.is_numeric_family() && t.is_numeric_family());
            if !ok {
                return Err(self.lib_no_func(name, args));
            }
            let e = self
                .coerce(a.clone(), ColType::plain(*t), false)
                .map_err(|e| {
                    if e.code == code::DATATYPE_MISMATCH {
                        self.lib_no_func(name, args)
                    } else {
                        e
                    }
                })?;
            bound.push(e);
        }
        Ok(Some(Expr::new(
            ExprKind::Func(Func::Lib(f), bound),
            ColType::plain(ret),
        )))
    }

    /// Binds `name(args)` when it is a library function (or a bytea form
    /// of a string function); None when it is not.
    pub(super) fn bind_lib_func(&mut self, name: &str, args: &[Expr]) -> Result<Option<Expr>> {
        use Type::{Bool, Bytea, Float8, Int4, Int8, Numeric, Text, Uuid};
        let n = args.len();
        let first = args.first().map(|a| a.ty.ty).unwrap_or(Type::Unknown);
        let bytea_first = first == Bytea;
        // The float8 form unless the argument is numeric.
        let numeric_first = first == Numeric;
        match (name, n) {
            ("length", 1) if bytea_first => {
                self.lib_call(name, L::ByteaLength, args, &[Bytea], Int4)
            }
            ("octet_length", 1) if bytea_first => {
                self.lib_call(name, L::ByteaLength, args, &[Bytea], Int4)
            }
            // bpcharoctetlen counts the padding.
            ("octet_length", 1) if first == Type::Bpchar => {
                let padded: Vec<Expr> = args
                    .iter()
                    .map(|a| Expr::new(a.kind.clone(), ColType::plain(Text)))
                    .collect();
                self.lib_call(name, L::OctetLength, &padded, &[Text], Int4)
            }
            ("octet_length", 1) => self.lib_call(name, L::OctetLength, args, &[Text], Int4),
            ("md5", 1) if bytea_first => self.lib_call(name, L::Md5, args, &[Bytea], Text),
            ("md5", 1) => self.lib_call(name, L::Md5, args, &[Text], Text),
            ("sha224" | "sha256" | "sha384" | "sha512", 1) => {
                let bits = name[3..].parse().unwrap_or(256);
                self.lib_call(name, L::Sha(bits), args, &[Bytea], Bytea)
            }
            ("encode", 2) => self.lib_call(name, L::Encode, args, &[Bytea, Text], Text),
            ("decode", 2) => self.lib_call(name, L::Decode, args, &[Text, Text], Bytea),
            ("get_byte", 2) => self.lib_call(name, L::GetByte, args, &[Bytea, Int4], Int4),
            ("set_byte", 3) => self.lib_call(name, L::SetByte, args, &[Bytea, Int4, Int4], Bytea),
            ("substr" | "substring", 2 | 3) if bytea_first => {
                self.lib_call(name, L::ByteaSubstr, args, &[Bytea, Int4, Int4][..n], Bytea)
            }
            ("position", 2) if bytea_first || args[1].ty.ty == Bytea => {
                self.lib_call(name, L::ByteaPosition, args, &[Bytea, Bytea], Int4)
            }
            ("btrim" | "ltrim" | "rtrim", 2) if bytea_first => {
                let k = match name {
                    "btrim" => 0,
                    "ltrim" => 1,
                    _ => 2,
                };
                self.lib_call(name, L::ByteaTrim(k), args, &[Bytea, Bytea], Bytea)
            }
            ("convert_to", 2) => self.lib_call(name, L::ConvertTo, args, &[Text, Text], Bytea),
            ("convert_from", 2) => self.lib_call(name, L::ConvertFrom, args, &[Bytea, Text], Text),
            ("gen_random_uuid", 0) => self.lib_call(name, L::GenRandomUuid, args, &[], Uuid),
            ("concat_ws", _) if n >= 2 => {
                let mut bound = Vec::with_capacity(n);
                for (i, a) in args.iter().enumerate() {
                    if i == 0 || a.ty.ty == Type::Unknown {
                        bound.push(self.coerce(a.clone(), ColType::plain(Text), false)?);
                    } else {
                        bound.push(a.clone());
                    }
                }
                if !(bound[0].ty.ty.is_string()) {
                    return Err(self.lib_no_func(name, args));
                }
                Ok(Some(Expr::new(
                    ExprKind::Func(Func::Lib(L::ConcatWs), bound),
                    ColType::plain(Text),
                )))
            }
            ("format", _) if n >= 1 => {
                if !first.is_string() {
                    return Err(self.lib_no_func(name, args));
                }
                // format(text, VARIADIC "any"): the format string is text;
                // the other arguments print as their type prints them, so
                // a char(n) keeps its trailing blanks (as in concat).
                let mut bound = Vec::with_capacity(n);
                for (i, a) in args.iter().enumerate() {
                    if a.ty.ty == Type::Unknown || (i == 0 && a.ty.ty.is_string()) {
                        bound.push(self.coerce(a.clone(), ColType::plain(Text), false)?);
                    } else {
                        bound.push(a.clone());
                    }
                }
                Ok(Some(Expr::new(
                    ExprKind::Func(Func::Lib(L::Format), bound),
                    ColType::plain(Text),
                )))
            }
            ("split_part", 3) => self.lib_call(name, L::SplitPart, args, &[Text, Text, Int4], Text),
            ("lpad" | "rpad", 2 | 3) => {
                let f = if name == "lpad" { L::Lpad } else { L::Rpad };
                self.lib_call(name, f, args, &[Text, Int4, Text][..n], Text)
            }
            ("initcap", 1) => self.lib_call(name, L::Initcap, args, &[Text], Text),
            ("reverse", 1) => self.lib_call(name, L::Reverse, args, &[Text], Text),
            ("translate", 3) => self.lib_call(name, L::Translate, args, &[Text, Text, Text], Text),
            ("to_hex", 1) if matches!(first, Type::Int2 | Type::Unknown) => Err(SqlError::new(
                "42725",
                format!("function to_hex({}) is not unique", self.catalog.type_name(first)),
            )
            .with_hint("Could not choose a best candidate function. You might need to add explicit type casts.")),
            ("to_hex", 1) => {
                let t = if first == Int8 { Int8 } else { Int4 };
                if first.is_numeric_family() && !first.is_integer() {
                    return Err(self.lib_no_func(name, args));
                }
                self.lib_call(name, L::ToHex, args, &[t], Text)
            }
            ("starts_with", 2) => self.lib_call(name, L::StartsWith, args, &[Text, Text], Bool),
            ("regexp_replace", 3 | 4) => self.lib_call(
                name,
                L::RegexpReplace,
                args,
                &[Text, Text, Text, Text][..n],
                Text,
            ),
            ("chr", 1) => self.lib_call(name, L::Chr, args, &[Int4], Text),
            ("ascii", 1) => self.lib_call(name, L::Ascii, args, &[Text], Int4),
            ("quote_literal", 1) => {
                let a = if args[0].ty.ty.is_string() {
                    args.to_vec()
                } else {
                    vec![self.coerce(args[0].clone(), ColType::plain(Text), true)?]
                };
                self.lib_call(name, L::QuoteLiteral, &a, &[Text], Text)
            }
            ("quote_nullable", 1) => {
                let a = if args[0].ty.ty.is_string() {
                    args.to_vec()
                } else {
                    vec![self.coerce(args[0].clone(), ColType::plain(Text), true)?]
                };
                self.lib_call(name, L::QuoteNullable, &a, &[Text], Text)
            }
            ("exp" | "ln" | "log" | "log10", 1) if numeric_first => {
                let f = match name {
                    "exp" => L::NumericExp,
                    "ln" => L::NumericLn,
                    _ => L::NumericLog10,
                };
                self.lib_call(name, f, args, &[Numeric], Numeric)
            }
            ("sqrt", 1) if numeric_first => {
                self.lib_call(name, L::NumericSqrt, args, &[Numeric], Numeric)
            }
            // The numeric form when an argument is numeric and none is a
            // float (PostgreSQL's exact-match count decides).
            ("power" | "pow", 2)
                if args.iter().any(|a| a.ty.ty == Numeric)
                    && !args
                        .iter()
                        .any(|a| matches!(a.ty.ty, Type::Float4 | Type::Float8)) =>
            {
                self.lib_call(name, L::NumericPower, args, &[Numeric, Numeric], Numeric)
            }
            ("power" | "pow", 2) => {
                self.lib_call(name, L::FloatPower, args, &[Float8, Float8], Float8)
            }
            ("scale", 1) => self.lib_call(name, L::Scale, args, &[Numeric], Int4),
            ("min_scale", 1) => self.lib_call(name, L::MinScale, args, &[Numeric], Int4),
            ("trim_scale", 1) => self.lib_call(name, L::TrimScale, args, &[Numeric], Numeric),
            ("factorial", 1) => self.lib_call(name, L::Factorial, args, &[Int8], Numeric),
            ("overlay", 3 | 4) if !bytea_first => {
                self.lib_call(name, L::Overlay, args, &[Text, Text, Int4, Int4][..n], Text)
            }
            ("substring", 2)
                if !bytea_first && (args[1].ty.ty.is_string() || args[1].ty.ty == Type::Unknown) =>
            {
                self.lib_call(name, L::RegexSubstring, args, &[Text, Text], Text)
            }
            ("substring", 3) if args[1].ty.ty.is_string() => {
                Err(SqlError::unsupported("substring(... SIMILAR ... ESCAPE ...)"))
            }
            ("regexp_substr", 2..=6) => self.lib_call(
                name,
                L::RegexpSubstr,
                args,
                &[Text, Text, Int4, Int4, Text, Int4][..n],
                Text,
            ),
            ("regexp_instr", 2..=7) => self.lib_call(
                name,
                L::RegexpInstr,
                args,
                &[Text, Text, Int4, Int4, Int4, Text, Int4][..n],
                Int4,
            ),
            ("regexp_like", 2 | 3) => {
                self.lib_call(name, L::RegexpLike, args, &[Text, Text, Text][..n], Bool)
            }
            ("regexp_count", 2..=4) => self.lib_call(
                name,
                L::RegexpCount,
                args,
                &[Text, Text, Int4, Text][..n],
                Int4,
            ),
            ("bit_length", 1) if bytea_first => {
                self.lib_call(name, L::BitLength, args, &[Bytea], Int4)
            }
            ("bit_length", 1) => self.lib_call(name, L::BitLength, args, &[Text], Int4),
            ("num_nulls" | "num_nonnulls", _) if n >= 1 => {
                let mut bound = Vec::with_capacity(n);
                for a in args {
                    if a.ty.ty == Type::Unknown {
                        bound.push(self.coerce(a.clone(), ColType::plain(Text), false)?);
                    } else {
                        bound.push(a.clone());
                    }
                }
                Ok(Some(Expr::new(
                    ExprKind::Func(Func::Lib(L::NumNulls(name == "num_nonnulls")), bound),
                    ColType::plain(Int4),
                )))
            }
            ("log", 2) => self.lib_call(name, L::NumericLog, args, &[Numeric, Numeric], Numeric),
            (
                "exp" | "ln" | "log" | "log10" | "cbrt" | "degrees" | "radians" | "sin" | "cos"
                | "tan" | "cot" | "asin" | "acos" | "atan" | "sinh" | "cosh" | "tanh" | "asinh"
                | "acosh" | "atanh" | "sind" | "cosd" | "tand" | "cotd" | "asind" | "acosd"
                | "atand",
                1,
            ) => {
                let m = match name {
                    "exp" => MathFn::Exp,
                    "ln" => MathFn::Ln,
                    "log" | "log10" => MathFn::Log10,
                    "cbrt" => MathFn::Cbrt,
                    "degrees" => MathFn::Degrees,
                    "radians" => MathFn::Radians,
                    "sin" => MathFn::Sin,
                    "cos" => MathFn::Cos,
                    "tan" => MathFn::Tan,
                    "cot" => MathFn::Cot,
                    "asin" => MathFn::Asin,
                    "acos" => MathFn::Acos,
                    "sinh" => MathFn::Sinh,
                    "cosh" => MathFn::Cosh,
                    "tanh" => MathFn::Tanh,
                    "asinh" => MathFn::Asinh,
                    "acosh" => MathFn::Acosh,
                    "atanh" => MathFn::Atanh,
                    "sind" => MathFn::Sind,
                    "cosd" => MathFn::Cosd,
                    "tand" => MathFn::Tand,
                    "cotd" => MathFn::Cotd,
                    "asind" => MathFn::Asind,
                    "acosd" => MathFn::Acosd,
                    "atand" => MathFn::Atand,
                    _ => MathFn::Atan,
                };
                self.lib_call(name, L::Math(m), args, &[Float8], Float8)
            }
            ("atan2", 2) => self.lib_call(name, L::Atan2, args, &[Float8, Float8], Float8),
            ("atan2d", 2) => self.lib_call(name, L::Atan2d, args, &[Float8, Float8], Float8),
            ("pi", 0) => self.lib_call(name, L::Pi, args, &[], Float8),
            ("div", 2) => self.lib_call(name, L::Div, args, &[Numeric, Numeric], Numeric),
            ("gcd" | "lcm", 2) => {
                let t = match common_type(first, args[1].ty.ty) {
                    Some(Type::Int2 | Type::Int4 | Type::Unknown) => Int4,
                    Some(Int8) => Int8,
                    Some(Numeric) => Numeric,
                    _ => return Err(self.lib_no_func(name, args)),
                };
                let f = if name == "gcd" { L::Gcd } else { L::Lcm };
                self.lib_call(name, f, args, &[t, t], t)
            }
            ("width_bucket", 4) => {
                let t = if args[..3].iter().any(|a| a.ty.ty == Numeric)
                    && args[..3]
                        .iter()
                        .all(|a| a.ty.ty.is_integer() || matches!(a.ty.ty, Numeric | Type::Unknown))
                {
                    Numeric
                } else {
                    Float8
                };
                self.lib_call(name, L::WidthBucket, args, &[t, t, t, Int4], Int4)
            }
            _ => Ok(None),
        }
    }
}
