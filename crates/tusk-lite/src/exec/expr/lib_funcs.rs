//! Evaluating the library functions ([`crate::sql::libfunc`]): bytea,
//! uuid, strings and math, with PostgreSQL 15's results and errors.

use super::*;
use crate::sql::libfunc::{LibFunc as L, MathFn};
use crate::types::bytea;

fn bytes(v: &Value) -> &[u8] {
    match v {
        Value::Bytes(b) => b,
        _ => &[],
    }
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn program_limit(msg: impl Into<String>) -> SqlError {
    SqlError::new(code::PROGRAM_LIMIT_EXCEEDED, msg)
}

fn bad_param(msg: impl Into<String>) -> SqlError {
    SqlError::new(code::INVALID_PARAMETER_VALUE, msg)
}

fn out_of_range(msg: &str) -> SqlError {
    SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, msg.to_string())
}

/// The bytes substr/substring of a bytea keeps (1-based start, optional
/// length), as bytea_substring computes them.
fn substring(b: &[u8], start: i64, len: Option<i64>) -> Result<Vec<u8>> {
    let end = match len {
        Some(l) if l < 0 => {
            return Err(SqlError::new(
                "22011",
                "negative substring length not allowed",
            ))
        }
        Some(l) => start.saturating_add(l),
        None => i64::MAX,
    };
    let from = usize::try_from(start.max(1) - 1).unwrap_or(usize::MAX);
    let to = usize::try_from((end - 1).max(0))
        .unwrap_or(usize::MAX)
        .min(b.len());
    Ok(if from >= to {
        Vec::new()
    } else {
        b[from..to].to_vec()
    })
}

/// Checks a get_byte/set_byte offset against the value's length.
fn byte_index(b: &[u8], n: i64) -> Result<usize> {
    usize::try_from(n)
        .ok()
        .filter(|i| *i < b.len())
        .ok_or_else(|| {
            SqlError::new(
                "2202E",
                format!("index {n} out of valid range, 0..{}", len_i64(b.len()) - 1),
            )
        })
}

/// An encoding name as pg_char_to_encoding compares it: letters and
/// digits only, case-insensitive.
fn is_utf8_name(name: &str) -> bool {
    let clean: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    matches!(clean.as_str(), "utf8" | "unicode")
}

fn known_encoding(name: &str) -> bool {
    let clean: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    clean.starts_with("latin")
        || clean.starts_with("win")
        || clean.starts_with("iso8859")
        || clean.starts_with("euc")
        || matches!(
            clean.as_str(),
            "sqlascii" | "koi8r" | "koi8u" | "sjis" | "gbk" | "big5" | "uhc" | "gb18030"
        )
}

fn check_encoding(name: &str, which: &str) -> Result<()> {
    if is_utf8_name(name) {
        Ok(())
    } else if known_encoding(name) {
        Err(SqlError::unsupported(format!(
            "conversion to or from encoding {name} (only UTF8)"
        )))
    } else {
        Err(bad_param(format!(
            "invalid {which} encoding name \"{name}\""
        )))
    }
}

/// PostgreSQL's "invalid byte sequence" error for bytes that are not UTF-8.
fn invalid_utf8(b: &[u8], at: usize) -> SqlError {
    let lead = b[at];
    let n = match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    };
    let shown: Vec<String> = b[at..(at + n).min(b.len())]
        .iter()
        .map(|c| format!("0x{c:02x}"))
        .collect();
    SqlError::new(
        "22021",
        format!(
            "invalid byte sequence for encoding \"UTF8\": {}",
            shown.join(" ")
        ),
    )
}

fn split_part(s: &str, delim: &str, n: i64) -> Result<String> {
    if n == 0 {
        return Err(bad_param("field position must not be zero"));
    }
    if s.is_empty() {
        return Ok(String::new());
    }
    if delim.is_empty() {
        return Ok(if n == 1 || n == -1 {
            s.to_string()
        } else {
            String::new()
        });
    }
    let parts: Vec<&str> = s.split(delim).collect();
    let k = len_i64(parts.len());
    let idx = if n > 0 { n - 1 } else { k + n };
    Ok(usize::try_from(idx)
        .ok()
        .and_then(|i| parts.get(i))
        .map(|p| (*p).to_string())
        .unwrap_or_default())
}

fn pad(s: &str, len: i64, fill: &str, left: bool) -> Result<String> {
    let len = usize::try_from(len.max(0)).unwrap_or(0);
    if len > (1 << 28) {
        return Err(program_limit("requested length too large"));
    }
    let chars: Vec<char> = s.chars().collect();
    if chars.len() >= len || fill.is_empty() {
        return Ok(chars[..len.min(chars.len())].iter().collect());
    }
    let padding: String = fill.chars().cycle().take(len - chars.len()).collect();
    Ok(if left {
        format!("{padding}{s}")
    } else {
        format!("{s}{padding}")
    })
}

/// initcap under the C locale (tusk-lite's, as the test kit's
/// PostgreSQL): ASCII letters change case, other characters are not
/// letters.
fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_alnum = false;
    for c in s.chars() {
        out.push(if prev_alnum {
            c.to_ascii_lowercase()
        } else {
            c.to_ascii_uppercase()
        });
        prev_alnum = c.is_ascii_alphanumeric();
    }
    out
}

fn translate(s: &str, from: &str, to: &str) -> String {
    let from: Vec<char> = from.chars().collect();
    let to: Vec<char> = to.chars().collect();
    s.chars()
        .filter_map(|c| match from.iter().position(|f| *f == c) {
            Some(i) => to.get(i).copied(),
            None => Some(c),
        })
        .collect()
}

fn chr(n: i64) -> Result<String> {
    if n < 0 {
        return Err(bad_param("character number must be positive"));
    }
    if n == 0 {
        return Err(program_limit("null character not permitted"));
    }
    let u = u32::try_from(n).unwrap_or(u32::MAX);
    if u > 0x10_FFFF {
        return Err(program_limit(format!(
            "requested character too large for encoding: {u}"
        )));
    }
    char::from_u32(u)
        .map(String::from)
        .ok_or_else(|| program_limit(format!("requested character not valid for encoding: {u}")))
}

pub(crate) fn quote_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    if s.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// regexp_replace(source, pattern, replacement, flags): `\1`..`\9` and
/// `\&` in the replacement, flags g (every match), i, c.
fn regexp_replace(s: &str, pattern: &str, repl: &str, flags: &str) -> Result<String> {
    let mut global = false;
    let mut ci = false;
    for c in flags.chars() {
        match c {
            'g' => global = true,
            'i' => ci = true,
            'c' => ci = false,
            _ => {
                return Err(bad_param(format!(
                    "invalid regular expression option: \"{c}\""
                )))
            }
        }
    }
    let re = regex::RegexBuilder::new(pattern)
        .case_insensitive(ci)
        .build()
        .map_err(|e| {
            SqlError::new(
                code::INVALID_REGULAR_EXPRESSION,
                format!("invalid regular expression: {e}"),
            )
        })?;
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for caps in re.captures_iter(s) {
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&s[last..m.start()]);
        let mut chars = repl.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.peek().copied() {
                Some(d @ '1'..='9') => {
                    chars.next();
                    let k = usize::try_from(d.to_digit(10).unwrap_or(0)).unwrap_or(0);
                    if let Some(g) = caps.get(k) {
                        out.push_str(g.as_str());
                    }
                }
                Some('&') => {
                    chars.next();
                    out.push_str(m.as_str());
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            }
        }
        last = m.end();
        if !global {
            break;
        }
    }
    out.push_str(&s[last..]);
    Ok(out)
}

fn format_error(msg: &str) -> SqlError {
    bad_param(msg).with_hint("For a single \"%\" use \"%%\".")
}

/// format(fmt, args): `%[n$][-][width]type` with types s, I and L, and
/// `%%`; a `*` width takes the next argument.
fn format(fmt: &str, args: &[(Value, Type)]) -> Result<String> {
    let mut out = String::with_capacity(fmt.len());
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    let mut next_arg = 0usize;
    let digits = |i: &mut usize| -> Option<usize> {
        let start = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        (*i > start).then(|| {
            chars[start..*i]
                .iter()
                .collect::<String>()
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        })
    };
    let unterminated = || format_error("unterminated format() type specifier");
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        if i >= chars.len() {
            return Err(unterminated());
        }
        if chars[i] == '%' {
            out.push('%');
            i += 1;
            continue;
        }
        // An argument position n$, else the flags and width start here.
        let save = i;
        let mut pos = None;
        if let Some(n) = digits(&mut i) {
            if chars.get(i) == Some(&'$') {
                if n == 0 {
                    return Err(bad_param(
                        "format specifies argument 0, but arguments are numbered from 1",
                    ));
                }
                pos = Some(n);
                i += 1;
            } else {
                i = save;
            }
        }
        let mut left = false;
        while chars.get(i) == Some(&'-') {
            left = true;
            i += 1;
        }
        let mut width: Option<i64> = None;
        if chars.get(i) == Some(&'*') {
            i += 1;
            let w = args
                .get(next_arg)
                .ok_or_else(|| bad_param("too few arguments for format()"))?;
            next_arg += 1;
            width = match &w.0 {
                Value::Null => None,
                Value::Int(n) => Some(*n),
                _ => return Err(bad_param("width argument of format() must be an integer")),
            };
        } else if let Some(w) = digits(&mut i) {
            width = Some(i64::try_from(w).unwrap_or(i64::MAX));
        }
        let Some(&kind) = chars.get(i) else {
            return Err(unterminated());
        };
        i += 1;
        if !matches!(kind, 's' | 'I' | 'L') {
            return Err(format_error(&format!(
                "unrecognized format() type specifier \"{kind}\""
            )));
        }
        let idx = match pos {
            Some(n) => n - 1,
            None => next_arg,
        };
        let (v, ty) = args
            .get(idx)
            .ok_or_else(|| bad_param("too few arguments for format()"))?;
        next_arg = idx + 1;
        let s = match (kind, v) {
            ('s', Value::Null) => String::new(),
            ('I', Value::Null) => {
                return Err(SqlError::new(
                    "22004",
                    "null values cannot be formatted as an SQL identifier",
                ))
            }
            ('L', Value::Null) => "NULL".to_string(),
            ('s', v) => types::format_text(v, *ty),
            ('I', v) => crate::sql::syscat::quote_ident(&types::format_text(v, *ty)),
            (_, v) => quote_literal(&types::format_text(v, *ty)),
        };
        let (left, w) = match width {
            Some(w) if w < 0 => (true, usize::try_from(w.unsigned_abs()).unwrap_or(0)),
            Some(w) => (left, usize::try_from(w).unwrap_or(0)),
            None => (left, 0),
        };
        let n = s.chars().count();
        if w > n {
            if w > (1 << 28) {
                return Err(program_limit("requested length too large"));
            }
            let fill = " ".repeat(w - n);
            if left {
                out.push_str(&s);
                out.push_str(&fill);
            } else {
                out.push_str(&fill);
                out.push_str(&s);
            }
        } else {
            out.push_str(&s);
        }
    }
    Ok(out)
}

/// float8 results: an infinite result of finite input overflows, as
/// PostgreSQL's float checks report it.
fn checked(r: f64, x: f64) -> Result<f64> {
    if r.is_infinite() && x.is_finite() {
        return Err(out_of_range("value out of range: overflow"));
    }
    Ok(r)
}

/// cbrt as glibc computes it (PostgreSQL calls the C library's cbrt,
/// which is not correctly rounded: cbrt(27) is 3.0000000000000004 there).
fn glibc_cbrt(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x + x;
    }
    // frexp: |x| = xm * 2^xe with xm in [0.5, 1).
    let (mut a, mut bias) = (x.abs(), 0);
    if a < f64::MIN_POSITIVE {
        a *= 2f64.powi(54);
        bias = -54;
    }
    let bits = a.to_bits();
    let exp = i32::try_from((bits >> 52) & 0x7ff).unwrap_or(0);
    let xe = exp - 1022 + bias;
    let xm = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    #[allow(clippy::excessive_precision, clippy::unreadable_literal)]
    const CBRT2: f64 = 1.2599210498948731648;
    #[allow(clippy::excessive_precision, clippy::unreadable_literal)]
    const SQR_CBRT2: f64 = 1.5874010519681994748;
    let factor = [1.0 / SQR_CBRT2, 1.0 / CBRT2, 1.0, CBRT2, SQR_CBRT2];
    // glibc's constants, as written there.
    #[allow(clippy::excessive_precision, clippy::unreadable_literal)]
    let u = 0.354895765043919860
        + ((1.50819193781584896
            + ((-2.11499494167371287
                + ((2.44693122563534430
                    + ((-1.83469277483613086
                        + (0.784932344976639262 - 0.145263899385486377 * xm) * xm)
                        * xm))
                    * xm))
                * xm))
            * xm);
    let t2 = u * u * u;
    let k = usize::try_from(2 + xe % 3).unwrap_or(2);
    let ym = u * (t2 + 2.0 * xm) / (2.0 * t2 + xm) * factor[k];
    let r = if x > 0.0 { ym } else { -ym };
    r * 2f64.powi(xe / 3)
}

const RADIANS_PER_DEGREE: f64 = 0.017_453_292_519_943_295;

fn math(m: MathFn, x: f64) -> Result<f64> {
    if x.is_nan() {
        return Ok(x);
    }
    let log_domain = |x: f64| -> Result<()> {
        if x == 0.0 {
            return Err(SqlError::new("2201E", "cannot take logarithm of zero"));
        }
        if x < 0.0 {
            return Err(SqlError::new(
                "2201E",
                "cannot take logarithm of a negative number",
            ));
        }
        Ok(())
    };
    let trig_domain = |x: f64| -> Result<()> {
        if x.is_infinite() {
            return Err(out_of_range("input is out of range"));
        }
        Ok(())
    };
    Ok(match m {
        MathFn::Exp => {
            if x.is_infinite() {
                return Ok(if x > 0.0 { x } else { 0.0 });
            }
            let r = x.exp();
            if r.is_infinite() {
                return Err(out_of_range("value out of range: overflow"));
            }
            if r == 0.0 {
                return Err(out_of_range("value out of range: underflow"));
            }
            r
        }
        MathFn::Ln => {
            log_domain(x)?;
            x.ln()
        }
        MathFn::Log10 => {
            log_domain(x)?;
            x.log10()
        }
        MathFn::Cbrt => glibc_cbrt(x),
        MathFn::Degrees => checked(x / RADIANS_PER_DEGREE, x)?,
        MathFn::Radians => checked(x * RADIANS_PER_DEGREE, x)?,
        MathFn::Sin => {
            trig_domain(x)?;
            x.sin()
        }
        MathFn::Cos => {
            trig_domain(x)?;
            x.cos()
        }
        MathFn::Tan => {
            trig_domain(x)?;
            x.tan()
        }
        MathFn::Cot => {
            trig_domain(x)?;
            1.0 / x.tan()
        }
        MathFn::Asin | MathFn::Acos => {
            if !(-1.0..=1.0).contains(&x) {
                return Err(out_of_range("input is out of range"));
            }
            if m == MathFn::Asin {
                x.asin()
            } else {
                x.acos()
            }
        }
        MathFn::Atan => x.atan(),
        MathFn::Sinh => x.sinh(),
        MathFn::Cosh => x.cosh(),
        MathFn::Tanh => x.tanh(),
        MathFn::Asinh => x.asinh(),
        MathFn::Acosh => {
            if x < 1.0 {
                return Err(out_of_range("input is out of range"));
            }
            x.acosh()
        }
        MathFn::Atanh => {
            if !(-1.0..=1.0).contains(&x) {
                return Err(out_of_range("input is out of range"));
            }
            if x == 1.0 || x == -1.0 {
                f64::INFINITY.copysign(x)
            } else {
                x.atanh()
            }
        }
    })
}

/// dpow: power of doubles with PostgreSQL's errors and its own answers
/// for infinities and NaN.
fn float_power(x: f64, y: f64) -> Result<f64> {
    let complex = || {
        SqlError::new(
            "2201F",
            "a negative number raised to a non-integer power yields a complex result",
        )
    };
    if x == 0.0 && y < 0.0 {
        return Err(SqlError::new(
            "2201F",
            "zero raised to a negative power is undefined",
        ));
    }
    if x < 0.0 && y.floor() != y {
        return Err(complex());
    }
    if x.is_nan() {
        return Ok(if y.is_nan() || y != 0.0 {
            f64::NAN
        } else {
            1.0
        });
    }
    if y.is_nan() {
        return Ok(if x == 1.0 { 1.0 } else { f64::NAN });
    }
    if y.is_infinite() {
        let ax = x.abs();
        return Ok(if ax == 1.0 {
            1.0
        } else if y > 0.0 {
            if ax > 1.0 {
                y
            } else {
                0.0
            }
        } else if ax > 1.0 {
            0.0
        } else {
            -y
        });
    }
    if x.is_infinite() {
        if y == 0.0 {
            return Ok(1.0);
        }
        if x > 0.0 {
            return Ok(if y > 0.0 { x } else { 0.0 });
        }
        let half = y / 2.0;
        let odd = half.floor() != half;
        return Ok(if y > 0.0 {
            if odd {
                x
            } else {
                -x
            }
        } else if odd {
            -0.0
        } else {
            0.0
        });
    }
    let r = x.powf(y);
    if r.is_nan() {
        return Err(complex());
    }
    if r.is_infinite() {
        return Err(out_of_range("value out of range: overflow"));
    }
    if r == 0.0 && x != 0.0 {
        return Err(out_of_range("value out of range: underflow"));
    }
    Ok(r)
}

fn gcd_u(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// gcd or lcm of two integers of `ty` (int4 or int8).
fn gcd_lcm(a: i64, b: i64, lcm: bool, ty: Type) -> Result<i64> {
    let g = gcd_u(u128::from(a.unsigned_abs()), u128::from(b.unsigned_abs()));
    let r = if !lcm {
        g
    } else if a == 0 || b == 0 {
        0
    } else {
        u128::from(a.unsigned_abs()) / g * u128::from(b.unsigned_abs())
    };
    i64::try_from(r)
        .ok()
        .and_then(|r| check_int(r, ty).ok())
        .ok_or_else(|| int_overflow(ty))
}

fn bucket_error(msg: &str) -> SqlError {
    SqlError::new("2201G", msg.to_string())
}

fn width_bucket_f64(op: f64, b1: f64, b2: f64, count: i64) -> Result<i64> {
    if count <= 0 {
        return Err(bucket_error("count must be greater than zero"));
    }
    if op.is_nan() || b1.is_nan() || b2.is_nan() {
        return Err(bucket_error(
            "operand, lower bound, and upper bound cannot be NaN",
        ));
    }
    if b1.is_infinite() || b2.is_infinite() {
        return Err(bucket_error("lower and upper bounds must be finite"));
    }
    let c = count as f64;
    #[allow(clippy::cast_possible_truncation)]
    // The quotient lies in [0, count): it fits an int4 count.
    let inside = |x: f64| -> i64 { x as i64 + 1 };
    let r = if b1 < b2 {
        if op < b1 {
            0
        } else if op >= b2 {
            count + 1
        } else {
            inside(c * (op - b1) / (b2 - b1))
        }
    } else if b1 > b2 {
        if op > b1 {
            0
        } else if op <= b2 {
            count + 1
        } else {
            inside(c * (b1 - op) / (b1 - b2))
        }
    } else {
        return Err(bucket_error("lower bound cannot equal upper bound"));
    };
    check_int(r, Type::Int4).map_err(|_| int_overflow(Type::Int4))
}

fn width_bucket_numeric(op: &Numeric, b1: &Numeric, b2: &Numeric, count: i64) -> Result<i64> {
    if count <= 0 {
        return Err(bucket_error("count must be greater than zero"));
    }
    if op.is_nan() || b1.is_nan() || b2.is_nan() {
        return Err(bucket_error(
            "operand, lower bound, and upper bound cannot be NaN",
        ));
    }
    let c = Numeric::from_i64(count);
    let (lo, hi) = match b1.cmp_total(b2) {
        Ordering::Less => (
            op.cmp_total(b1) == Ordering::Less,
            op.cmp_total(b2) != Ordering::Less,
        ),
        Ordering::Greater => (
            op.cmp_total(b1) == Ordering::Greater,
            op.cmp_total(b2) != Ordering::Greater,
        ),
        Ordering::Equal => return Err(bucket_error("lower bound cannot equal upper bound")),
    };
    let r = if lo {
        0
    } else if hi {
        count + 1
    } else {
        let (a, b) = if b1.cmp_total(b2) == Ordering::Less {
            (op.sub(b1), b2.sub(b1))
        } else {
            (b1.sub(op), b1.sub(b2))
        };
        a.mul(&c).div_trunc(&b, 0)?.to_i64_round().unwrap_or(0) + 1
    };
    check_int(r, Type::Int4).map_err(|_| int_overflow(Type::Int4))
}

impl Exec<'_> {
    /// Calls a library function; NULL arguments give NULL except where
    /// PostgreSQL's function is not strict (concat_ws, format,
    /// quote_nullable).
    pub(super) fn call_lib(&mut self, f: L, v: &[Value], args: &[Expr]) -> Result<Value> {
        match f {
            L::ConcatWs => {
                if v[0].is_null() {
                    return Ok(Value::Null);
                }
                let sep = text(&v[0]);
                let parts: Vec<String> = v[1..]
                    .iter()
                    .zip(&args[1..])
                    .filter(|(x, _)| !x.is_null())
                    .map(|(x, a)| types::format_text(x, a.ty.ty))
                    .collect();
                return Ok(Value::Text(parts.join(sep)));
            }
            L::Format => {
                if v[0].is_null() {
                    return Ok(Value::Null);
                }
                let rest: Vec<(Value, Type)> = v[1..]
                    .iter()
                    .cloned()
                    .zip(args[1..].iter().map(|a| a.ty.ty))
                    .collect();
                return Ok(Value::Text(format(text(&v[0]), &rest)?));
            }
            L::QuoteNullable => {
                return Ok(Value::Text(match &v[0] {
                    Value::Null => "NULL".into(),
                    x => quote_literal(text(x)),
                }))
            }
            L::GenRandomUuid => return Ok(Value::Uuid(types::uuid::random_uuid()?)),
            L::NumNulls(nonnull) => {
                let nulls = v.iter().filter(|x| x.is_null()).count();
                let k = if nonnull { v.len() - nulls } else { nulls };
                return Ok(Value::Int(len_i64(k)));
            }
            L::Pi => return Ok(Value::Float(std::f64::consts::PI)),
            _ => {}
        }
        if v.iter().any(Value::is_null) {
            return Ok(Value::Null);
        }
        let a0 = &v[0];
        Ok(match f {
            L::ByteaLength => Value::Int(len_i64(bytes(a0).len())),
            L::OctetLength => Value::Int(len_i64(text(a0).len())),
            L::Md5 => {
                use md5::Digest;
                let data = match a0 {
                    Value::Bytes(b) => b.as_slice(),
                    other => text(other).as_bytes(),
                };
                Value::Text(bytea::hex_encode(&md5::Md5::digest(data)))
            }
            L::Sha(bits) => {
                use sha2::Digest;
                let b = bytes(a0);
                Value::Bytes(match bits {
                    224 => sha2::Sha224::digest(b).to_vec(),
                    384 => sha2::Sha384::digest(b).to_vec(),
                    512 => sha2::Sha512::digest(b).to_vec(),
                    _ => sha2::Sha256::digest(b).to_vec(),
                })
            }
            L::Encode => Value::Text(bytea::encode(bytes(a0), text(&v[1]))?),
            L::Decode => Value::Bytes(bytea::decode(text(a0), text(&v[1]))?),
            L::GetByte => {
                let b = bytes(a0);
                Value::Int(i64::from(b[byte_index(b, int(&v[1]))?]))
            }
            L::SetByte => {
                let mut b = bytes(a0).to_vec();
                let i = byte_index(&b, int(&v[1]))?;
                // set_byte keeps the low 8 bits of the new value.
                b[i] = int(&v[2]).to_le_bytes()[0];
                Value::Bytes(b)
            }
            L::ByteaSubstr => Value::Bytes(substring(bytes(a0), int(&v[1]), v.get(2).map(int))?),
            L::ByteaPosition => {
                let (hay, needle) = (bytes(a0), bytes(&v[1]));
                Value::Int(if needle.is_empty() {
                    1
                } else {
                    hay.windows(needle.len())
                        .position(|w| w == needle)
                        .map_or(0, |i| len_i64(i) + 1)
                })
            }
            L::ByteaTrim(k) => {
                let (b, set) = (bytes(a0), bytes(&v[1]));
                let start = if k == 2 {
                    0
                } else {
                    b.iter().position(|c| !set.contains(c)).unwrap_or(b.len())
                };
                let end = if k == 1 {
                    b.len()
                } else {
                    b.iter()
                        .rposition(|c| !set.contains(c))
                        .map_or(start, |i| i + 1)
                };
                Value::Bytes(b[start..end.max(start)].to_vec())
            }
            L::ConvertTo => {
                check_encoding(text(&v[1]), "destination")?;
                Value::Bytes(text(a0).as_bytes().to_vec())
            }
            L::ConvertFrom => {
                check_encoding(text(&v[1]), "source")?;
                let b = bytes(a0);
                match std::str::from_utf8(b) {
                    Ok(s) if !s.contains('\0') => Value::Text(s.to_string()),
                    Ok(s) => return Err(invalid_utf8(b, s.find('\0').unwrap_or(0))),
                    Err(e) => return Err(invalid_utf8(b, e.valid_up_to())),
                }
            }
            L::SplitPart => Value::Text(split_part(text(a0), text(&v[1]), int(&v[2]))?),
            L::Lpad | L::Rpad => Value::Text(pad(
                text(a0),
                int(&v[1]),
                v.get(2).map_or(" ", text),
                f == L::Lpad,
            )?),
            L::Initcap => Value::Text(initcap(text(a0))),
            L::Reverse => Value::Text(text(a0).chars().rev().collect()),
            L::Translate => Value::Text(translate(text(a0), text(&v[1]), text(&v[2]))),
            L::ToHex => Value::Text(if args[0].ty.ty == Type::Int8 {
                format!("{:x}", int(a0))
            } else {
                let n = i32::try_from(int(a0)).map_err(|_| int_overflow(Type::Int4))?;
                format!("{n:x}")
            }),
            L::StartsWith => Value::Bool(text(a0).starts_with(text(&v[1]))),
            L::RegexpReplace => Value::Text(regexp_replace(
                text(a0),
                text(&v[1]),
                text(&v[2]),
                v.get(3).map_or("", text),
            )?),
            L::Chr => Value::Text(chr(int(a0))?),
            L::Ascii => Value::Int(
                text(a0)
                    .chars()
                    .next()
                    .map_or(0, |c| i64::from(u32::from(c))),
            ),
            L::QuoteLiteral => Value::Text(quote_literal(text(a0))),
            L::Math(m) => match a0 {
                Value::Float(x) => Value::Float(math(m, *x)?),
                _ => Value::Null,
            },
            L::NumericExp
            | L::NumericLn
            | L::NumericLog10
            | L::NumericLog
            | L::NumericSqrt
            | L::NumericPower => {
                let num = |x: &Value| match x {
                    Value::Numeric(n) => n.clone(),
                    _ => Numeric::NaN,
                };
                Value::Numeric(match f {
                    L::NumericExp => crate::numeric_log::exp(&num(a0))?,
                    L::NumericLn => crate::numeric_log::ln(&num(a0))?,
                    L::NumericLog10 => crate::numeric_log::log(&Numeric::from_i64(10), &num(a0))?,
                    L::NumericSqrt => crate::numeric_log::sqrt(&num(a0))?,
                    L::NumericPower => crate::numeric_log::power(&num(a0), &num(&v[1]))?,
                    _ => crate::numeric_log::log(&num(a0), &num(&v[1]))?,
                })
            }
            L::Scale | L::MinScale | L::TrimScale => match a0 {
                Value::Numeric(Numeric::Finite { mantissa, scale }) => {
                    let mut m = mantissa.clone();
                    let mut s = *scale;
                    let ten = num_bigint::BigInt::from(10);
                    while s > 0 && (&m % &ten) == num_bigint::BigInt::from(0) {
                        m /= &ten;
                        s -= 1;
                    }
                    match f {
                        L::Scale => Value::Int(i64::from(*scale)),
                        L::MinScale => Value::Int(i64::from(s)),
                        _ => Value::Numeric(Numeric::Finite {
                            mantissa: m,
                            scale: s,
                        }),
                    }
                }
                Value::Numeric(Numeric::NaN) if f == L::TrimScale => Value::Numeric(Numeric::NaN),
                _ => Value::Null,
            },
            L::Factorial => {
                let n = int(a0);
                if n < 0 {
                    return Err(out_of_range("factorial of a negative number is undefined"));
                }
                if n > 32177 {
                    return Err(out_of_range("value overflows numeric format"));
                }
                let mut acc = num_bigint::BigInt::from(1);
                for i in 2..=n {
                    acc *= i;
                }
                Value::Numeric(Numeric::Finite {
                    mantissa: acc,
                    scale: 0,
                })
            }
            L::Overlay => {
                let s: Vec<char> = text(a0).chars().collect();
                let r = text(&v[1]);
                let sp = int(&v[2]);
                let sl = v.get(3).map_or_else(|| len_i64(r.chars().count()), int);
                if sp <= 0 {
                    return Err(SqlError::new(
                        "22011",
                        "negative substring length not allowed",
                    ));
                }
                let end = sp.checked_add(sl).ok_or_else(|| int_overflow(Type::Int4))?;
                check_int(end, Type::Int4).map_err(|_| int_overflow(Type::Int4))?;
                let head = usize::try_from(sp - 1).unwrap_or(0).min(s.len());
                let tail = usize::try_from((end - 1).max(0)).unwrap_or(0).min(s.len());
                let mut out: String = s[..head].iter().collect();
                out.push_str(r);
                out.extend(&s[tail..]);
                Value::Text(out)
            }
            L::RegexpLike | L::RegexpCount => {
                let flags = if f == L::RegexpLike {
                    v.get(2)
                } else {
                    v.get(3)
                };
                let flags = flags.map_or("", text);
                let fname = if f == L::RegexpLike {
                    "regexp_like()"
                } else {
                    "regexp_count()"
                };
                let mut ci = false;
                for c in flags.chars() {
                    match c {
                        'i' => ci = true,
                        'c' => ci = false,
                        'g' => {
                            return Err(bad_param(format!(
                                "{fname} does not support the \"global\" option"
                            )))
                        }
                        _ => {
                            return Err(bad_param(format!(
                                "invalid regular expression option: \"{c}\""
                            )))
                        }
                    }
                }
                let re = regex::RegexBuilder::new(text(&v[1]))
                    .case_insensitive(ci)
                    .build()
                    .map_err(|e| {
                        SqlError::new(
                            code::INVALID_REGULAR_EXPRESSION,
                            format!("invalid regular expression: {e}"),
                        )
                    })?;
                let s = text(a0);
                if f == L::RegexpLike {
                    Value::Bool(re.is_match(s))
                } else {
                    let start = v.get(2).map_or(1, int);
                    if start <= 0 {
                        return Err(bad_param(format!(
                            "invalid value for parameter \"start\": {start}"
                        )));
                    }
                    let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
                    let from = s.char_indices().nth(skip).map_or(s.len(), |(i, _)| i);
                    Value::Int(len_i64(re.find_iter(&s[from..]).count()))
                }
            }
            L::BitLength => Value::Int(
                8 * len_i64(match a0 {
                    Value::Bytes(b) => b.len(),
                    other => text(other).len(),
                }),
            ),
            L::FloatPower => match (a0, &v[1]) {
                (Value::Float(x), Value::Float(y)) => Value::Float(float_power(*x, *y)?),
                _ => Value::Null,
            },
            L::Atan2 => match (a0, &v[1]) {
                (Value::Float(y), Value::Float(x)) => Value::Float(y.atan2(*x)),
                _ => Value::Null,
            },
            L::Div => match (a0, &v[1]) {
                (Value::Numeric(x), Value::Numeric(y)) => Value::Numeric(x.div_trunc(y, 0)?),
                _ => Value::Null,
            },
            L::Gcd | L::Lcm if matches!(a0, Value::Numeric(_)) => match (a0, &v[1]) {
                (Value::Numeric(x), Value::Numeric(y)) => {
                    Value::Numeric(crate::numeric_log::gcd_lcm(x, y, f == L::Lcm))
                }
                _ => Value::Null,
            },
            L::Gcd | L::Lcm => {
                Value::Int(gcd_lcm(int(a0), int(&v[1]), f == L::Lcm, args[0].ty.ty)?)
            }
            L::WidthBucket => Value::Int(match (a0, &v[1], &v[2]) {
                (Value::Numeric(o), Value::Numeric(l), Value::Numeric(h)) => {
                    width_bucket_numeric(o, l, h, int(&v[3]))?
                }
                (Value::Float(o), Value::Float(l), Value::Float(h)) => {
                    width_bucket_f64(*o, *l, *h, int(&v[3]))?
                }
                _ => return Ok(Value::Null),
            }),
            L::ConcatWs
            | L::Format
            | L::QuoteNullable
            | L::GenRandomUuid
            | L::Pi
            | L::NumNulls(_) => Value::Null,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_helpers() {
        assert_eq!(glibc_cbrt(27.0), 3.000_000_000_000_000_4);
        assert_eq!(glibc_cbrt(-8.0), -2.0);
        assert_eq!(glibc_cbrt(2.0), 1.259_921_049_894_873_4);
        assert_eq!(glibc_cbrt(-3.0), -1.442_249_570_307_408_3);
        assert_eq!(glibc_cbrt(1e-5), 0.021_544_346_900_318_832);
        assert_eq!(glibc_cbrt(0.001), 0.1);
        assert_eq!(glibc_cbrt(1e300), 1e100);
        assert_eq!(glibc_cbrt(1e-310), 4.641_588_833_612_775e-104);
        assert_eq!(split_part("a,b,c", ",", 2).unwrap(), "b");
        assert_eq!(split_part("a,b,c", ",", -1).unwrap(), "c");
        assert_eq!(split_part("a,b,c", ",", 5).unwrap(), "");
        assert_eq!(pad("hi", 5, "xy", true).unwrap(), "xyxhi");
        assert_eq!(pad("hello", 3, " ", false).unwrap(), "hel");
        assert_eq!(initcap("hi THOMAS o'neil"), "Hi Thomas O'Neil");
        assert_eq!(translate("12345", "143", "ax"), "a2x5");
        assert_eq!(quote_literal("O'Re\\illy"), "E'O''Re\\\\illy'");
        assert_eq!(
            regexp_replace("foobarbaz", "b(..)", "X\\1Y", "g").unwrap(),
            "fooXarYXazY"
        );
        let args = [
            (Value::Text("a b".into()), Type::Text),
            (Value::Null, Type::Text),
        ];
        assert_eq!(
            format("%s|%I|%L|%%|%5s|%-5s|", &vec![args[0].clone(); 5]).unwrap(),
            "a b|\"a b\"|'a b'|%|  a b|a b  |"
        );
        assert_eq!(format("%2$s %1$L", &args).unwrap(), " 'a b'");
        assert!(format("%s %s %s", &args).is_err());
    }
}
