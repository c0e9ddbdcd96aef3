//! Casts between types, as PostgreSQL's cast functions convert.

use super::*;

/// Converts a value of type `from` to `to` (an explicit or implicit cast).
pub fn cast(v: Value, from: Type, to: ColType, explicit: bool) -> Result<Value> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let t = to.ty;
    let out = match (v, t) {
        (Value::Text(s), Type::Jsonb) if from == Type::Json => {
            Value::Jsonb(std::sync::Arc::new(crate::json::Jsonb::parse(&s)?))
        }
        (Value::Jsonb(j), Type::Json) => Value::Text(j.to_string()),
        (Value::Jsonb(j), t) if !t.is_string() && t != Type::Jsonb => {
            crate::json::ops::jsonb_to_scalar(&j, t)?
        }
        (Value::Text(s), _) if from.is_string() => {
            if t.is_string() {
                // bpchar loses its trailing blanks when cast to text.
                let s = if from == Type::Bpchar && t != Type::Bpchar {
                    s.trim_end_matches(' ').to_string()
                } else {
                    s
                };
                Value::Text(s)
            } else {
                return parse_text(&s, to);
            }
        }
        (Value::Bool(b), t) if t.is_string() => {
            Value::Text(if b { "true" } else { "false" }.into())
        }
        (v, t) if t.is_string() => {
            let s = format_text(&v, from);
            Value::Text(s)
        }
        (Value::Int(d), Type::Timestamp | Type::Timestamptz) if from == Type::Date => {
            Value::Int(d * datetime::USECS_PER_DAY)
        }
        (Value::Int(us), Type::Timestamp | Type::Timestamptz)
            if matches!(from, Type::Timestamp | Type::Timestamptz) =>
        {
            Value::Int(us)
        }
        (Value::Int(us), Type::Date) if matches!(from, Type::Timestamp | Type::Timestamptz) => {
            Value::Int(us.div_euclid(datetime::USECS_PER_DAY))
        }
        (Value::Int(d), Type::Date) if from == Type::Date => Value::Int(d),
        (Value::Int(us), Type::Time) if matches!(from, Type::Timestamp | Type::Timestamptz) => {
            Value::Int(us.rem_euclid(datetime::USECS_PER_DAY))
        }
        (Value::Int(us), Type::Time) if from == Type::Time => Value::Int(us),
        (Value::Int(us), Type::Interval) if from == Type::Time => {
            Value::Interval(crate::interval::Interval::new(0, 0, us))
        }
        (Value::Interval(iv), Type::Time) => {
            Value::Int(iv.micros.rem_euclid(datetime::USECS_PER_DAY))
        }
        (v @ Value::Interval(_), Type::Interval) => v,
        (Value::Int(_), _) if from == Type::Time => {
            return Err(SqlError::new(
                code::CANNOT_COERCE,
                format!("cannot cast type {} to {}", from.name(), t.name()),
            ));
        }
        (Value::Int(_), _) if matches!(from, Type::Date | Type::Timestamp | Type::Timestamptz) => {
            return Err(SqlError::new(
                code::CANNOT_COERCE,
                format!("cannot cast type {} to {}", from.name(), t.name()),
            ));
        }
        (Value::Int(i), Type::Int2 | Type::Int4 | Type::Int8 | Type::Oid) => {
            Value::Int(check_int(i, t)?)
        }
        (Value::Int(i), Type::Float4 | Type::Float8) => Value::Float(if t == Type::Float4 {
            f64::from(to_f32(i as f64))
        } else {
            i as f64
        }),
        (Value::Int(i), Type::Numeric) => Value::Numeric(Numeric::from_i64(i)),
        (Value::Float(f), Type::Int2 | Type::Int4 | Type::Int8) => {
            if f.is_nan() || f.is_infinite() {
                return Err(out_of_range(t));
            }
            let r = f.round_ties_even();
            if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
                return Err(out_of_range(t));
            }
            #[allow(clippy::cast_possible_truncation)]
            // In range (checked above) and integral (rounded): exact.
            let i = r as i64;
            Value::Int(check_int(i, t)?)
        }
        (Value::Float(f), Type::Float4) => {
            let g = to_f32(f);
            if g.is_infinite() && !f.is_infinite() {
                return Err(SqlError::new(
                    code::NUMERIC_VALUE_OUT_OF_RANGE,
                    "value out of range: overflow",
                ));
            }
            Value::Float(f64::from(g))
        }
        (Value::Float(f), Type::Float8) => Value::Float(f),
        (Value::Float(f), Type::Numeric) => {
            Value::Numeric(Numeric::from_f64(if from == Type::Float4 {
                format_float(f, Type::Float4).parse().unwrap_or(f)
            } else {
                f
            })?)
        }
        (Value::Numeric(n), Type::Int2 | Type::Int4 | Type::Int8) => {
            if n.is_nan() {
                return Err(SqlError::new(
                    code::FEATURE_NOT_SUPPORTED,
                    format!("cannot convert NaN to {}", t.name()),
                ));
            }
            let i = n.to_i64_round().ok_or_else(|| out_of_range(t))?;
            Value::Int(check_int(i, t)?)
        }
        // Through the text, as PostgreSQL's numeric_float4/8: a numeric out
        // of the float's range is 22003, not infinity or zero.
        (Value::Numeric(n), Type::Float4 | Type::Float8) => {
            Value::Float(super::text::parse_float(&n.to_string(), t)?)
        }
        (Value::Numeric(n), Type::Numeric) => Value::Numeric(n),
        (Value::Bool(b), Type::Bool) => Value::Bool(b),
        (Value::Array(items), Type::Array) if from == Type::Array => {
            Value::Array(cast_elements(items, ColType::array_elem(to), explicit)?)
        }
        (v @ Value::Enum(..), Type::Enum(_)) if from == t => v,
        (v @ Value::Jsonb(_), Type::Jsonb) => v,
        (v @ Value::Text(_), Type::Json) if from == Type::Json => v,
        (v @ Value::Bytes(_), Type::Bytea) => v,
        (v @ Value::Uuid(_), Type::Uuid) => v,
        (Value::Bool(b), Type::Int4) if explicit => Value::Int(i64::from(b)),
        (Value::Int(i), Type::Bool) if explicit && from == Type::Int4 => Value::Bool(i != 0),
        (v, t) => {
            let _ = v;
            return Err(SqlError::new(
                code::CANNOT_COERCE,
                format!("cannot cast type {} to {}", from.name(), t.name()),
            ));
        }
    };
    coerce_typmod(out, to, explicit)
}
