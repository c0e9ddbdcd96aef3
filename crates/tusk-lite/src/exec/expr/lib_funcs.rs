//! Evaluating the library functions ([`crate::sql::libfunc`]): bytea,
//! uuid, strings and math, with PostgreSQL 15's results and errors.

use super::*;
use crate::sql::libfunc::{LibFunc as L, MathFn};
use crate::types::bytea;

mod degrees;
mod math;
mod strings;

use math::*;
use strings::*;

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

/// `x << y` or `x >> y` in `ty` (int2/int4/int8) as PostgreSQL's C
/// computes it on x86-64: the count taken modulo the operand width (32 for
/// int2 and int4), int2 results cut to 16 bits.
fn shift(x: i64, y: i64, ty: Type, left: bool) -> i64 {
    if ty == Type::Int8 {
        let n = u32::try_from(y & 63).unwrap_or(0);
        return if left {
            x.wrapping_shl(n)
        } else {
            x.wrapping_shr(n)
        };
    }
    let n = u32::try_from(y & 31).unwrap_or(0);
    let x32 = i32::try_from(x).unwrap_or(0);
    let r = if left {
        x32.wrapping_shl(n)
    } else {
        x32.wrapping_shr(n)
    };
    if ty == Type::Int2 {
        let b = r.to_le_bytes();
        i64::from(i16::from_le_bytes([b[0], b[1]]))
    } else {
        i64::from(r)
    }
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
                let re = regex_with_flags(text(&v[1]), flags, fname)?;
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
            L::BitAnd | L::BitOr | L::BitXor | L::ShiftLeft | L::ShiftRight => {
                let (x, y) = (int(a0), int(&v[1]));
                let t = args[0].ty.ty;
                Value::Int(match f {
                    L::BitAnd => x & y,
                    L::BitOr => x | y,
                    L::BitXor => x ^ y,
                    _ => shift(x, y, t, f == L::ShiftLeft),
                })
            }
            L::BitNot => Value::Int(!int(a0)),
            L::RegexSubstring => match regex_substring(text(a0), text(&v[1]))? {
                Some(t) => Value::Text(t),
                None => Value::Null,
            },
            L::RegexpSubstr => match regexp_substr(
                text(a0),
                text(&v[1]),
                v.get(2).map_or(1, int),
                v.get(3).map_or(1, int),
                v.get(4).map_or("", text),
                v.get(5).map_or(0, int),
            )? {
                Some(t) => Value::Text(t),
                None => Value::Null,
            },
            L::RegexpInstr => Value::Int(regexp_instr(
                text(a0),
                text(&v[1]),
                v.get(2).map_or(1, int),
                v.get(3).map_or(1, int),
                v.get(4).map_or(0, int),
                v.get(5).map_or("", text),
                v.get(6).map_or(0, int),
            )?),
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
            L::Atan2d => match (a0, &v[1]) {
                (Value::Float(y), Value::Float(x)) => Value::Float(degrees::atan2d(*y, *x)),
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
