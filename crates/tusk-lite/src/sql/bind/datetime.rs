//! Binding the date/time operators (timestamp ± interval, interval
//! arithmetic, time ± interval, timestamp - timestamp) and functions
//! (extract, date_part, date_trunc, to_char, age, justify_*, make_*).

use super::*;
use crate::dtfuncs::DtFunc;

fn dt(f: DtFunc, args: Vec<Expr>, ty: Type) -> Expr {
    Expr::new(ExprKind::Func(Func::Dt(f), args), ColType::plain(ty))
}

fn is_ts(t: Type) -> bool {
    matches!(t, Type::Timestamp | Type::Timestamptz)
}

impl Binder<'_> {
    /// Whether `l op r` is one of the date/time operators bound here.
    pub(in crate::sql) fn is_dt_binary(bop: BinOp, lt: Type, rt: Type) -> bool {
        if bop.is_comparison() {
            return false;
        }
        let special = |t: Type| matches!(t, Type::Interval | Type::Time);
        special(lt)
            || special(rt)
            || (bop == BinOp::Sub && is_ts(lt) && (is_ts(rt) || rt == Type::Date))
            || (bop == BinOp::Sub && lt == Type::Date && is_ts(rt))
            || (matches!(bop, BinOp::Add | BinOp::Sub) && is_ts(lt) && rt == Type::Unknown)
    }

    pub(in crate::sql) fn dt_binary(
        &mut self,
        op: &str,
        bop: BinOp,
        l: Expr,
        r: Expr,
    ) -> Result<Expr> {
        let (lt, rt) = (l.ty.ty, r.ty.ty);
        let num = |t: Type| t.is_numeric_family() || t == Type::Unknown;
        let err = || operator_error(self.catalog, op, lt, rt);
        match (bop, lt, rt) {
            (BinOp::Add | BinOp::Sub, Type::Interval, Type::Interval | Type::Unknown)
            | (BinOp::Add | BinOp::Sub, Type::Unknown, Type::Interval) => {
                let l = self.coerce_plain(l, Type::Interval)?;
                let r = self.coerce_plain(r, Type::Interval)?;
                let f = if bop == BinOp::Add {
                    DtFunc::IntervalAdd
                } else {
                    DtFunc::IntervalSub
                };
                Ok(dt(f, vec![l, r], Type::Interval))
            }
            (BinOp::Sub, t, Type::Unknown) if is_ts(t) => {
                // timestamp - unknown reads the literal as a timestamp.
                let r = self.coerce_plain(r, t)?;
                Ok(dt(DtFunc::TsMinusTs, vec![l, r], Type::Interval))
            }
            (BinOp::Add | BinOp::Sub, t, Type::Interval | Type::Unknown | Type::Time)
                if is_ts(t) || t == Type::Date =>
            {
                let t = if t == Type::Date { Type::Timestamp } else { t };
                let l = self.coerce_plain(l, t)?;
                let r = self.coerce_plain(r, Type::Interval)?;
                let f = if bop == BinOp::Add {
                    DtFunc::TsPlusIv
                } else {
                    DtFunc::TsMinusIv
                };
                Ok(dt(f, vec![l, r], t))
            }
            (BinOp::Add, Type::Interval, t) if is_ts(t) || t == Type::Date => {
                let t = if t == Type::Date { Type::Timestamp } else { t };
                let r = self.coerce_plain(r, t)?;
                Ok(dt(DtFunc::TsPlusIv, vec![r, l], t))
            }
            (BinOp::Sub, a, b)
                if (is_ts(a) || a == Type::Date) && (is_ts(b) || b == Type::Date) =>
            {
                let t = common_type(a, b).ok_or_else(err)?;
                let l = self.coerce_plain(l, t)?;
                let r = self.coerce_plain(r, t)?;
                Ok(dt(DtFunc::TsMinusTs, vec![l, r], Type::Interval))
            }
            (BinOp::Mul, Type::Interval, n) if num(n) => {
                let r = self.coerce_plain(r, Type::Float8)?;
                Ok(dt(DtFunc::IntervalMul, vec![l, r], Type::Interval))
            }
            (BinOp::Mul, n, Type::Interval) if num(n) => {
                let l = self.coerce_plain(l, Type::Float8)?;
                Ok(dt(DtFunc::IntervalMul, vec![r, l], Type::Interval))
            }
            (BinOp::Div, Type::Interval, n) if num(n) => {
                let r = self.coerce_plain(r, Type::Float8)?;
                Ok(dt(DtFunc::IntervalDiv, vec![l, r], Type::Interval))
            }
            (BinOp::Add | BinOp::Sub, Type::Time, Type::Interval) => {
                let f = if bop == BinOp::Add {
                    DtFunc::TimePlusIv
                } else {
                    DtFunc::TimeMinusIv
                };
                Ok(dt(f, vec![l, r], Type::Time))
            }
            (BinOp::Add, Type::Interval, Type::Time) => {
                Ok(dt(DtFunc::TimePlusIv, vec![r, l], Type::Time))
            }
            (BinOp::Sub, Type::Time, Type::Time | Type::Unknown) => {
                let r = self.coerce_plain(r, Type::Time)?;
                Ok(dt(DtFunc::TimeMinusTime, vec![l, r], Type::Interval))
            }
            (BinOp::Add, Type::Date, Type::Time) => {
                Ok(dt(DtFunc::DatePlusTime, vec![l, r], Type::Timestamp))
            }
            (BinOp::Add, Type::Time, Type::Date) => {
                Ok(dt(DtFunc::DatePlusTime, vec![r, l], Type::Timestamp))
            }
            (BinOp::Add, Type::Time, Type::Unknown) => {
                let r = self.coerce_plain(r, Type::Interval)?;
                Ok(dt(DtFunc::TimePlusIv, vec![l, r], Type::Time))
            }
            _ => Err(err()),
        }
    }

    /// `- interval`.
    pub(in crate::sql) fn dt_neg(&mut self, r: Expr) -> Result<Expr> {
        if let ExprKind::Const(Value::Interval(i)) = &r.kind {
            return Ok(Expr::constant(
                Value::Interval(i.checked_neg()?),
                Type::Interval,
            ));
        }
        Ok(dt(DtFunc::IntervalNeg, vec![r], Type::Interval))
    }

    /// The date/time functions; None when `name` is not one of them.
    pub(in crate::sql) fn bind_dt_func(
        &mut self,
        name: &str,
        f: &pb::FuncCall,
    ) -> Result<Option<Expr>> {
        let known = matches!(
            name,
            "justify_days"
                | "justify_hours"
                | "justify_interval"
                | "make_interval"
                | "make_date"
                | "make_time"
                | "make_timestamp"
                | "make_timestamptz"
                | "age"
                | "extract"
                | "date_part"
                | "date_trunc"
                | "to_char"
                | "to_timestamp"
                | "to_date"
                | "statement_timestamp"
                | "isfinite"
                | "timezone"
                | "date_bin"
        );
        if !known {
            return Ok(None);
        }
        if name == "make_interval" {
            return self.bind_make_interval(f).map(Some);
        }
        let args = self.bind_list(&f.args)?;
        let types: Vec<Type> = args.iter().map(|a| a.ty.ty).collect();
        let no_func = || {
            SqlError::new(
                code::UNDEFINED_FUNCTION,
                format!(
                    "function {name}({}) does not exist",
                    types.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
                ),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
        };
        let mut args = args;
        let coerce_all = |b: &mut Self, args: Vec<Expr>, want: &[Type]| -> Result<Vec<Expr>> {
            args.into_iter()
                .zip(want)
                .map(|(a, t)| b.coerce_plain(a, *t).map_err(|_| no_func()))
                .collect()
        };
        let n = args.len();
        let e = match (name, n) {
            ("justify_days" | "justify_hours" | "justify_interval", 1) => {
                let f = match name {
                    "justify_days" => DtFunc::JustifyDays,
                    "justify_hours" => DtFunc::JustifyHours,
                    _ => DtFunc::JustifyInterval,
                };
                dt(
                    f,
                    coerce_all(self, args, &[Type::Interval])?,
                    Type::Interval,
                )
            }
            ("make_date", 3) => dt(
                DtFunc::MakeDate,
                coerce_all(self, args, &[Type::Int4; 3])?,
                Type::Date,
            ),
            ("make_time", 3) => dt(
                DtFunc::MakeTime,
                coerce_all(self, args, &[Type::Int4, Type::Int4, Type::Float8])?,
                Type::Time,
            ),
            ("make_timestamp" | "make_timestamptz", 6) => dt(
                DtFunc::MakeTimestamp,
                coerce_all(
                    self,
                    args,
                    &[
                        Type::Int4,
                        Type::Int4,
                        Type::Int4,
                        Type::Int4,
                        Type::Int4,
                        Type::Float8,
                    ],
                )?,
                if name == "make_timestamp" {
                    Type::Timestamp
                } else {
                    Type::Timestamptz
                },
            ),
            ("age", 1) => {
                let t = if types[0] == Type::Timestamp {
                    Type::Timestamp
                } else {
                    Type::Timestamptz
                };
                if !matches!(
                    types[0],
                    Type::Timestamp | Type::Timestamptz | Type::Date | Type::Unknown
                ) {
                    return Err(no_func());
                }
                dt(
                    DtFunc::AgeToday,
                    coerce_all(self, args, &[t])?,
                    Type::Interval,
                )
            }
            ("age", 2) => {
                let t = if types
                    .iter()
                    .all(|t| matches!(t, Type::Timestamp | Type::Unknown))
                    && types.contains(&Type::Timestamp)
                {
                    Type::Timestamp
                } else {
                    Type::Timestamptz
                };
                if !types.iter().all(|t| {
                    matches!(
                        t,
                        Type::Timestamp | Type::Timestamptz | Type::Date | Type::Unknown
                    )
                }) {
                    return Err(no_func());
                }
                dt(
                    DtFunc::Age,
                    coerce_all(self, args, &[t, t])?,
                    Type::Interval,
                )
            }
            ("extract" | "date_part", 2) => {
                let numeric = name == "extract";
                let src = match types[1] {
                    Type::Date if numeric => Type::Date,
                    Type::Date => Type::Timestamp,
                    t @ (Type::Timestamp | Type::Timestamptz | Type::Time | Type::Interval) => t,
                    Type::Unknown => Type::Timestamptz,
                    _ => return Err(no_func()),
                };
                let args = coerce_all(self, args, &[Type::Text, src])?;
                dt(
                    DtFunc::Part { src, numeric },
                    args,
                    if numeric { Type::Numeric } else { Type::Float8 },
                )
            }
            ("date_trunc", 2) => {
                let src = match types[1] {
                    t @ (Type::Timestamp | Type::Timestamptz | Type::Interval) => t,
                    Type::Date | Type::Unknown => Type::Timestamptz,
                    _ => return Err(no_func()),
                };
                let args = coerce_all(self, args, &[Type::Text, src])?;
                dt(DtFunc::Trunc { src }, args, src)
            }
            ("date_trunc", 3) => {
                return Err(SqlError::unsupported("date_trunc() with a time zone"))
            }
            ("to_char", 2) => {
                let src = match types[0] {
                    t @ (Type::Timestamp | Type::Timestamptz | Type::Interval) => t,
                    Type::Date => Type::Timestamptz,
                    Type::Float4 | Type::Float8 => {
                        return Err(SqlError::unsupported(
                            "to_char() of real and double precision",
                        ))
                    }
                    t if t.is_numeric_family() => Type::Numeric,
                    _ => return Err(no_func()),
                };
                let fmt = args.pop().ok_or_else(no_func)?;
                let fmt = self.coerce_plain(fmt, Type::Text).map_err(|_| no_func())?;
                let a0 = args.pop().ok_or_else(no_func)?;
                let a0 = self.coerce_plain(a0, src)?;
                dt(DtFunc::ToChar { src }, vec![a0, fmt], Type::Text)
            }
            ("to_timestamp", 1) => dt(
                DtFunc::ToTimestampEpoch,
                coerce_all(self, args, &[Type::Float8])?,
                Type::Timestamptz,
            ),
            ("to_timestamp" | "to_date", 2) => {
                let date = name == "to_date";
                dt(
                    DtFunc::FromChar { date },
                    coerce_all(self, args, &[Type::Text, Type::Text])?,
                    if date { Type::Date } else { Type::Timestamptz },
                )
            }
            ("make_timestamptz", 7) => {
                return Err(SqlError::unsupported("make_timestamptz() with a time zone"))
            }
            ("isfinite", 1) => {
                // tusk-lite has no infinite dates, timestamps or
                // intervals (their input is 0A000): every value is finite.
                if !matches!(
                    types[0],
                    Type::Date | Type::Timestamp | Type::Timestamptz | Type::Interval
                ) {
                    return Err(no_func());
                }
                let a = args.pop().ok_or_else(no_func)?;
                Expr::new(
                    ExprKind::Case {
                        operand: None,
                        whens: vec![(
                            Expr::new(
                                ExprKind::IsNull(Box::new(a), false),
                                ColType::plain(Type::Bool),
                            ),
                            Expr::constant(Value::Null, Type::Bool),
                        )],
                        default: Some(Box::new(Expr::constant(Value::Bool(true), Type::Bool))),
                    },
                    ColType::plain(Type::Bool),
                )
            }
            ("timezone", 2) => {
                // AT TIME ZONE: a timestamp read as UTC is a timestamptz,
                // a timestamptz shown in UTC a timestamp.
                let (src, out) = match types[1] {
                    Type::Timestamp => (Type::Timestamp, Type::Timestamptz),
                    Type::Timestamptz | Type::Unknown | Type::Date => {
                        (Type::Timestamptz, Type::Timestamp)
                    }
                    Type::Time => {
                        return Err(SqlError::unsupported(
                            "AT TIME ZONE of a time (type time with time zone)",
                        ))
                    }
                    _ => return Err(no_func()),
                };
                if types[0] == Type::Interval {
                    return Err(SqlError::unsupported("AT TIME ZONE with an interval"));
                }
                dt(
                    DtFunc::AtTimeZone,
                    coerce_all(self, args, &[Type::Text, src])?,
                    out,
                )
            }
            ("date_bin", 3) => {
                let t = match (types[1], types[2]) {
                    (Type::Timestamp, Type::Timestamp | Type::Unknown)
                    | (Type::Unknown, Type::Timestamp) => Type::Timestamp,
                    (a, b)
                        if matches!(a, Type::Timestamptz | Type::Date | Type::Unknown)
                            && matches!(
                                b,
                                Type::Timestamptz | Type::Timestamp | Type::Date | Type::Unknown
                            ) =>
                    {
                        Type::Timestamptz
                    }
                    _ => return Err(no_func()),
                };
                dt(
                    DtFunc::DateBin,
                    coerce_all(self, args, &[Type::Interval, t, t])?,
                    t,
                )
            }
            ("statement_timestamp", 0) => dt(DtFunc::StatementTimestamp, args, Type::Timestamptz),
            _ => return Err(no_func()),
        };
        Ok(Some(e))
    }

    /// make_interval(years, months, weeks, days, hours, mins, secs), by
    /// position or by name (`days => 3`).
    fn bind_make_interval(&mut self, f: &pb::FuncCall) -> Result<Expr> {
        const NAMES: [&str; 7] = ["years", "months", "weeks", "days", "hours", "mins", "secs"];
        let mut slots: Vec<Option<Expr>> = vec![None; 7];
        let mut pos = 0;
        for a in &f.args {
            let (slot, node) = match &a.node {
                Some(N::NamedArgExpr(na)) => {
                    let i = NAMES.iter().position(|n| *n == na.name).ok_or_else(|| {
                        SqlError::new(
                            code::UNDEFINED_FUNCTION,
                            "function make_interval() does not exist with these argument names",
                        )
                    })?;
                    (
                        i,
                        na.arg
                            .as_deref()
                            .ok_or_else(|| SqlError::internal("named argument"))?,
                    )
                }
                _ => {
                    pos += 1;
                    (pos - 1, a)
                }
            };
            if slot >= 7 {
                return Err(SqlError::new(
                    code::UNDEFINED_FUNCTION,
                    "function make_interval() does not exist",
                ));
            }
            let e = self.bind_expr(node)?;
            let t = if slot == 6 { Type::Float8 } else { Type::Int4 };
            slots[slot] = Some(self.coerce_plain(e, t)?);
        }
        let args = slots
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                s.unwrap_or_else(|| {
                    if i == 6 {
                        Expr::constant(Value::Float(0.0), Type::Float8)
                    } else {
                        Expr::constant(Value::Int(0), Type::Int4)
                    }
                })
            })
            .collect();
        Ok(dt(DtFunc::MakeInterval, args, Type::Interval))
    }
}
