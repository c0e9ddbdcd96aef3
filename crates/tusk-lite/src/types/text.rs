//! Text input and output: parsing a value from PostgreSQL's text format
//! (integers, floats, booleans, arrays, typmod coercion) and printing it
//! back as PostgreSQL does, with the errors bad input gets.

use super::*;

pub(super) fn invalid_input(ty: Type, s: &str) -> SqlError {
    SqlError::new(
        code::INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type {}: \"{s}\"", ty.input_name()),
    )
}

pub(super) fn out_of_range(ty: Type) -> SqlError {
    SqlError::new(
        code::NUMERIC_VALUE_OUT_OF_RANGE,
        format!("{} out of range", ty.name()),
    )
}

/// Range-checks an integer for its type.
pub fn check_int(v: i64, ty: Type) -> Result<i64> {
    let ok = match ty {
        Type::Int2 => i16::try_from(v).is_ok(),
        Type::Int4 => i32::try_from(v).is_ok(),
        Type::Oid => u32::try_from(v).is_ok(),
        _ => true,
    };
    if ok {
        Ok(v)
    } else {
        Err(out_of_range(ty))
    }
}

fn parse_int(s: &str, ty: Type) -> Result<i64> {
    let t = s.trim();
    let v: i128 = t.parse().map_err(|_| {
        if !t.is_empty()
            && t.trim_start_matches(['+', '-'])
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            SqlError::new(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                format!("value \"{s}\" is out of range for type {}", ty.name()),
            )
        } else {
            invalid_input(ty, s)
        }
    })?;
    let v = i64::try_from(v).map_err(|_| {
        SqlError::new(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("value \"{s}\" is out of range for type {}", ty.name()),
        )
    })?;
    check_int(v, ty).map_err(|_| {
        SqlError::new(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("value \"{s}\" is out of range for type {}", ty.name()),
        )
    })
}

/// float4in/float8in: also what a numeric cast to a float reads (its
/// text, as PostgreSQL's numeric_float8 does).
pub(super) fn parse_float(s: &str, ty: Type) -> Result<f64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let v = match lower.as_str() {
        "nan" => f64::NAN,
        "infinity" | "+infinity" | "inf" | "+inf" => f64::INFINITY,
        "-infinity" | "-inf" => f64::NEG_INFINITY,
        _ => {
            if lower.contains("inf") || lower.contains("nan") {
                return Err(invalid_input(ty, s));
            }
            t.parse::<f64>().map_err(|_| invalid_input(ty, s))?
        }
    };
    // A nonzero number that rounds to zero is out of range, as strtod's
    // ERANGE makes it in PostgreSQL (subnormal results are kept).
    let nonzero = || {
        lower
            .split('e')
            .next()
            .is_some_and(|m| m.bytes().any(|b| (b'1'..=b'9').contains(&b)))
    };
    if ty == Type::Float4 {
        let f = to_f32(v);
        if (f.is_infinite() && !v.is_infinite()) || (f == 0.0 && nonzero()) {
            return Err(SqlError::new(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                format!("\"{s}\" is out of range for type real"),
            ));
        }
        return Ok(f64::from(f));
    }
    if (v.is_infinite() && !lower.contains("inf")) || (v == 0.0 && nonzero()) {
        return Err(SqlError::new(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("\"{s}\" is out of range for type double precision"),
        ));
    }
    Ok(v)
}

fn parse_bool(s: &str) -> Result<bool> {
    let t = s.trim().to_ascii_lowercase();
    let matches = |full: &str| !t.is_empty() && full.starts_with(t.as_str());
    if matches("true") || matches("yes") || t == "on" || t == "1" {
        Ok(true)
    } else if matches("false")
        || (t.len() >= 2 && "off".starts_with(t.as_str()))
        || matches("no")
        || t == "0"
    {
        Ok(false)
    } else {
        Err(invalid_input(Type::Bool, s))
    }
}

/// Text input: the value a string literal or text parameter denotes.
pub fn parse_text(s: &str, ty: ColType) -> Result<Value> {
    let v = match ty.ty {
        Type::Bool => Value::Bool(parse_bool(s)?),
        Type::Int2 | Type::Int4 | Type::Int8 | Type::Oid => Value::Int(parse_int(s, ty.ty)?),
        Type::Float4 | Type::Float8 => Value::Float(parse_float(s, ty.ty)?),
        Type::Numeric => Value::Numeric(Numeric::parse(s)?),
        Type::Date => Value::Int(datetime::parse_date(s)?),
        Type::Timestamp => Value::Int(datetime::parse_timestamp(s, "timestamp", false)?),
        Type::Timestamptz => Value::Int(datetime::parse_timestamp(
            s,
            "timestamp with time zone",
            true,
        )?),
        Type::Array => Value::Array(parse_array(s, ColType::array_elem(ty))?),
        Type::Json => {
            crate::json::validate_json(s)?;
            Value::Text(s.to_string())
        }
        Type::Jsonb => Value::Jsonb(std::sync::Arc::new(crate::json::Jsonb::parse(s)?)),
        Type::Bytea => Value::Bytes(super::bytea::parse_bytea(s)?),
        Type::Uuid => Value::Uuid(super::uuid::parse_uuid(s)?),
        Type::Time => Value::Int(crate::timeofday::parse(s)?),
        Type::Interval => {
            let (range, m2s) = crate::interval::typmod_range(ty.typmod);
            Value::Interval(crate::interval::parse_range(s, range, m2s)?)
        }
        // An enum's labels live in the catalog: Catalog::parse_text.
        Type::Enum(oid) => {
            return Err(SqlError::internal(format!(
                "enum input for type {oid} without its catalog"
            )))
        }
        _ => Value::Text(s.to_string()),
    };
    coerce_typmod(v, ty, false)
}

/// Applies a column's type modifier (length, precision) to a value:
/// assignment errors on overflow, an explicit cast truncates.
pub fn coerce_typmod(v: Value, ty: ColType, explicit: bool) -> Result<Value> {
    if ty.typmod < 0 {
        return Ok(v);
    }
    match (ty.ty, v) {
        (Type::Varchar | Type::Bpchar, Value::Text(s)) => {
            let n = usize::try_from(ty.typmod - 4).unwrap_or(0);
            let len = s.chars().count();
            let s = if len > n {
                let cut: String = s.chars().take(n).collect();
                let rest_blank = s.chars().skip(n).all(|c| c == ' ');
                if !explicit && !rest_blank {
                    return Err(SqlError::new(
                        code::STRING_DATA_RIGHT_TRUNCATION,
                        format!(
                            "value too long for type {}({n})",
                            if ty.ty == Type::Varchar {
                                "character varying"
                            } else {
                                "character"
                            }
                        ),
                    ));
                }
                cut
            } else {
                s
            };
            if ty.ty == Type::Bpchar {
                let len = s.chars().count();
                Ok(Value::Text(format!(
                    "{s}{}",
                    " ".repeat(n.saturating_sub(len))
                )))
            } else {
                Ok(Value::Text(s))
            }
        }
        (Type::Timestamp | Type::Timestamptz, Value::Int(us)) => {
            Ok(Value::Int(datetime::round_precision(us, ty.typmod)))
        }
        (Type::Time, Value::Int(us)) => {
            Ok(Value::Int(crate::timeofday::round_precision(us, ty.typmod)))
        }
        (Type::Interval, Value::Interval(iv)) => Ok(Value::Interval(
            crate::interval::apply_typmod(iv, ty.typmod),
        )),
        (Type::Numeric, Value::Numeric(n)) => {
            let m = ty.typmod - 4;
            let precision = u32::try_from((m >> 16) & 0xffff).unwrap_or(0);
            let scale = u32::try_from(m & 0xffff).unwrap_or(0);
            Ok(Value::Numeric(n.apply_typmod(precision, scale)?))
        }
        (_, v) => Ok(v),
    }
}

/// float8out with extra_float_digits > 0: the shortest exact digits,
/// fixed notation for exponents -4..15, else `d.ddde+XX`.
pub fn format_float(v: f64, ty: Type) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = if ty == Type::Float4 {
        format!("{:e}", to_f32(v))
    } else {
        format!("{v:e}")
    };
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let limit = if ty == Type::Float4 { 6 } else { 15 };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < -4 || exp >= limit {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        ));
    } else if exp < 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat(usize::try_from(-exp - 1).unwrap_or(0)));
        out.push_str(&digits);
    } else {
        let int_len = usize::try_from(exp + 1).unwrap_or(1);
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.push_str(&"0".repeat(int_len - digits.len()));
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Text output of a non-null value.
pub fn format_text(v: &Value, ty: Type) -> String {
    match (v, ty) {
        (Value::Int(d), Type::Date) => return datetime::format_date(*d),
        (Value::Int(us), Type::Timestamp) => return datetime::format_timestamp(*us, false),
        (Value::Int(us), Type::Timestamptz) => return datetime::format_timestamp(*us, true),
        (Value::Int(us), Type::Time) => return crate::timeofday::format(*us),
        _ => {}
    }
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => if *b { "t" } else { "f" }.into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_float(*f, ty),
        Value::Numeric(n) => n.to_string(),
        Value::Text(s) => s.clone(),
        Value::Enum(_, label) => label.to_string(),
        Value::Jsonb(j) => j.to_string(),
        Value::Array(items) => format_array(items, Type::Text),
        Value::Bytes(b) => super::bytea::format_bytea(b),
        Value::Uuid(u) => super::uuid::format_uuid(u),
        Value::Interval(iv) => crate::interval::format(*iv),
    }
}

/// An array's text form, as array_out writes it: `{a,b,NULL}`, each
/// element written as `elem` writes it, quoted when it is empty or holds
/// a delimiter, quote, brace, blank or backslash, or spells NULL.
pub fn format_array(items: &[Value], elem: Type) -> String {
    let mut out = String::from("{");
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if v.is_null() {
            out.push_str("NULL");
            continue;
        }
        let s = format_text(v, elem);
        let quote = s.is_empty()
            || s.eq_ignore_ascii_case("null")
            || s.chars()
                .any(|c| matches!(c, ',' | '"' | '{' | '}' | '\\') || c.is_ascii_whitespace());
        if quote {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(&s);
        }
    }
    out.push('}');
    out
}

/// Parses an array's text form (one dimension) into its elements, each
/// read as `elem`.
pub fn parse_array(s: &str, elem: Type) -> Result<Vec<Value>> {
    let bad = || {
        SqlError::new(
            code::INVALID_TEXT_REPRESENTATION,
            format!("malformed array literal: \"{s}\""),
        )
    };
    let t = s.trim();
    if t.starts_with('[')
        || t.strip_prefix('{')
            .is_some_and(|r| r.trim_start().starts_with('{'))
    {
        return Err(SqlError::unsupported(
            "multidimensional arrays and arrays with dimension decorations",
        ));
    }
    let inner = t
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or_else(bad)?;
    let mut items = Vec::new();
    if inner.trim().is_empty() {
        return Ok(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let mut cur = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => cur.push(chars.next().ok_or_else(bad)?),
                    Some(c) => cur.push(c),
                    None => return Err(bad()),
                }
            }
        } else {
            // Trailing blanks are dropped, escaped ones kept.
            let mut kept = 0;
            let mut escaped = false;
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if matches!(c, '{' | '}' | '"') {
                    return Err(bad());
                }
                chars.next();
                if c == '\\' {
                    cur.push(chars.next().ok_or_else(bad)?);
                    escaped = true;
                    kept = cur.len();
                    continue;
                }
                cur.push(c);
                if !c.is_ascii_whitespace() {
                    kept = cur.len();
                }
            }
            if kept < cur.len() {
                cur.truncate(kept);
            }
            // An element spelled with a backslash is never NULL.
            quoted = quoted || escaped;
        }
        if !quoted && cur.eq_ignore_ascii_case("null") {
            items.push(Value::Null);
        } else if !quoted && cur.is_empty() {
            return Err(bad());
        } else {
            items.push(parse_text(&cur, ColType::plain(elem))?);
        }
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(_) => return Err(bad()),
        }
    }
    Ok(items)
}
