//! Conversions: SQL values to json/jsonb (to_json, to_jsonb, with
//! timestamps in JSON's ISO form) and jsonb to SQL scalars (the casts).

use super::ops::err;
use super::{escape, Jsonb};
use crate::error::{code, Result};
use crate::numeric::Numeric;
use crate::types::{format_float, format_text, ColType, Type, Value};

/// The casts PostgreSQL allows explicitly to or from json/jsonb.
pub fn explicit_cast_ok(from: Type, to: Type) -> bool {
    matches!(
        (from, to),
        (Type::Json | Type::Jsonb, Type::Json | Type::Jsonb)
            | (
                Type::Jsonb,
                Type::Bool
                    | Type::Numeric
                    | Type::Int2
                    | Type::Int4
                    | Type::Int8
                    | Type::Float4
                    | Type::Float8
            )
    )
}

/// jsonb::bool / ::numeric / ::int / ::float.
pub fn jsonb_to_scalar(j: &Jsonb, t: Type) -> Result<Value> {
    let wrong = || {
        let what = match j {
            Jsonb::Object(_) => "object",
            Jsonb::Array(_) => "array",
            Jsonb::String(_) => "string",
            Jsonb::Null => "null",
            Jsonb::Bool(_) => "boolean",
            Jsonb::Number(_) => "numeric",
        };
        err(
            code::INVALID_PARAMETER_VALUE,
            format!("cannot cast jsonb {what} to type {}", t.name()),
        )
    };
    match (j, t) {
        (Jsonb::Bool(b), Type::Bool) => Ok(Value::Bool(*b)),
        (Jsonb::Number(n), Type::Numeric) => Ok(Value::Numeric(n.clone())),
        (Jsonb::Number(n), t) if t != Type::Bool => crate::types::cast(
            Value::Numeric(n.clone()),
            Type::Numeric,
            ColType::plain(t),
            true,
        ),
        _ => Err(wrong()),
    }
}

/// A timestamp's ISO form in JSON ('T' between date and time, the zone
/// as +HH:MM).
pub(super) fn iso(s: &str, tz: bool) -> String {
    if s.contains("infinity") {
        return s.to_string();
    }
    let (body, bc) = match s.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (s, false),
    };
    let mut out = body.replacen(' ', "T", 1);
    if tz {
        // "+00" / "-05:30" as the server printed it: widen to +HH:MM.
        if let Some(i) = out.rfind(['+', '-']).filter(|i| *i > 10) {
            let zone = out[i..].to_string();
            if zone.len() == 3 {
                out.push_str(":00");
            }
        }
    }
    if bc {
        out.push_str(" BC");
    }
    out
}

/// to_jsonb of a value of type `ty`.
pub fn to_jsonb(v: &Value, ty: ColType) -> Result<Jsonb> {
    Ok(match (v, ty.ty) {
        (Value::Null, _) => Jsonb::Null,
        (Value::Jsonb(j), _) => (**j).clone(),
        (Value::Text(s), Type::Json) => Jsonb::parse(s)?,
        (Value::Bool(b), _) => Jsonb::Bool(*b),
        (Value::Int(_), Type::Date | Type::Timestamp | Type::Timestamptz) => {
            let s = format_text(v, ty.ty);
            Jsonb::String(iso(&s, ty.ty == Type::Timestamptz))
        }
        (Value::Int(i), _) => Jsonb::Number(Numeric::from_i64(*i)),
        (Value::Float(f), _) => {
            if f.is_finite() {
                Jsonb::Number(Numeric::parse(&format_float(*f, ty.ty))?)
            } else {
                Jsonb::String(format_float(*f, ty.ty))
            }
        }
        (Value::Numeric(n), _) => {
            if n.is_nan() {
                Jsonb::String("NaN".into())
            } else {
                Jsonb::Number(n.clone())
            }
        }
        (Value::Array(items), _) => {
            let elem = ColType::plain(ColType::array_elem(ty));
            Jsonb::Array(
                items
                    .iter()
                    .map(|i| to_jsonb(i, elem))
                    .collect::<Result<_>>()?,
            )
        }
        (other, t) => Jsonb::String(format_text(other, t)),
    })
}

/// to_json of a value of type `ty`: its JSON text.
pub fn to_json(v: &Value, ty: ColType) -> Result<String> {
    Ok(match (v, ty.ty) {
        (Value::Null, _) => "null".into(),
        (Value::Text(s), Type::Json) => s.clone(),
        (Value::Jsonb(j), _) => j.to_string(),
        (Value::Bool(b), _) => if *b { "true" } else { "false" }.into(),
        (Value::Int(_), Type::Date | Type::Timestamp | Type::Timestamptz) => {
            let mut o = String::new();
            escape(
                &iso(&format_text(v, ty.ty), ty.ty == Type::Timestamptz),
                &mut o,
            );
            o
        }
        (Value::Int(i), _) => i.to_string(),
        (Value::Float(f), _) => {
            let s = format_float(*f, ty.ty);
            if f.is_finite() {
                s
            } else {
                let mut o = String::new();
                escape(&s, &mut o);
                o
            }
        }
        (Value::Numeric(n), _) => {
            if n.is_nan() {
                "\"NaN\"".into()
            } else {
                n.to_string()
            }
        }
        (Value::Array(items), _) => {
            let elem = ColType::plain(ColType::array_elem(ty));
            let parts = items
                .iter()
                .map(|i| to_json(i, elem))
                .collect::<Result<Vec<_>>>()?;
            format!("[{}]", parts.join(","))
        }
        (other, t) => {
            let mut o = String::new();
            escape(&format_text(other, t), &mut o);
            o
        }
    })
}
