//! The library functions of bytea, uuid, strings and math that
//! [`crate::sql::plan::Func::Lib`] calls: their names as the binder
//! resolves them (see `bind::func_lib`); `exec` evaluates them.

/// A float8 math function of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MathFn {
    Exp,
    Ln,
    Log10,
    Cbrt,
    Degrees,
    Radians,
    Sin,
    Cos,
    Tan,
    Cot,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    /// The degree-based trigonometry of PostgreSQL (exact at 0, 30, 45,
    /// 60 and 90 degrees).
    Sind,
    Cosd,
    Tand,
    Cotd,
    Asind,
    Acosd,
    Atand,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LibFunc {
    /// length(bytea), octet_length(bytea).
    ByteaLength,
    /// octet_length(text): its UTF-8 bytes.
    OctetLength,
    /// md5(text) or md5(bytea): 32 hex digits.
    Md5,
    /// sha224/256/384/512(bytea): the digest, by its width in bits.
    Sha(u16),
    /// encode(bytea, format).
    Encode,
    /// decode(text, format).
    Decode,
    /// get_byte(bytea, offset).
    GetByte,
    /// set_byte(bytea, offset, value).
    SetByte,
    /// substr/substring of a bytea.
    ByteaSubstr,
    /// convert_to(text, encoding): UTF8 (the only server encoding).
    ConvertTo,
    /// convert_from(bytea, encoding).
    ConvertFrom,
    /// position(needle in haystack) of bytea: args (haystack, needle).
    ByteaPosition,
    /// btrim/ltrim/rtrim(bytea, bytea): 0 both ends, 1 the start, 2 the end.
    ByteaTrim(u8),
    /// gen_random_uuid(): volatile.
    GenRandomUuid,
    ConcatWs,
    SplitPart,
    Lpad,
    Rpad,
    Initcap,
    Reverse,
    Translate,
    ToHex,
    StartsWith,
    RegexpReplace,
    Chr,
    Ascii,
    /// format(fmt, args...): %s, %I, %L, %%, with n$ positions and widths.
    Format,
    QuoteLiteral,
    QuoteNullable,
    /// exp, ln and log10 of numeric; log(numeric base, numeric).
    NumericExp,
    NumericLn,
    NumericLog10,
    NumericLog,
    /// sqrt(numeric) and power(numeric, numeric).
    NumericSqrt,
    NumericPower,
    /// power(float8, float8), with PostgreSQL's special cases (dpow).
    FloatPower,
    /// scale, min_scale and trim_scale of numeric.
    Scale,
    MinScale,
    TrimScale,
    /// overlay(text placing text from int [for int]).
    Overlay,
    /// regexp_like(text, pattern [, flags]).
    RegexpLike,
    /// regexp_count(text, pattern [, start [, flags]]).
    RegexpCount,
    /// substring(text FROM pattern): the first parenthesized part of the
    /// match, else the whole match.
    RegexSubstring,
    /// regexp_substr(text, pattern [, start [, n [, flags [, subexpr]]]]).
    RegexpSubstr,
    /// regexp_instr(text, pattern [, start [, n [, endoption [, flags
    /// [, subexpr]]]]]).
    RegexpInstr,
    /// Integer bitwise operators &, |, #, ~, << and >> (int2/int4/int8,
    /// wrapping as PostgreSQL's C shifts do).
    BitAnd,
    BitOr,
    BitXor,
    BitNot,
    ShiftLeft,
    ShiftRight,
    /// num_nulls / num_nonnulls (true) of any arguments.
    NumNulls(bool),
    /// bit_length of text or bytea.
    BitLength,
    /// factorial(bigint): numeric.
    Factorial,
    /// float8 functions of one argument.
    Math(MathFn),
    Atan2,
    Atan2d,
    Pi,
    /// div(numeric, numeric): the truncated quotient.
    Div,
    Gcd,
    Lcm,
    WidthBucket,
}

impl LibFunc {
    /// Whether every call computes a new value (never folded or shared).
    pub fn is_volatile(self) -> bool {
        self == LibFunc::GenRandomUuid
    }
}
