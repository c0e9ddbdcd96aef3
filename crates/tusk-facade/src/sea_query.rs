//! sea-query statements run through tusk, their values sent as real bind
//! parameters (feature `sea-query`; sea-query 1.x).
//!
//! ```no_run
//! use sea_query::{Alias, Expr, ExprTrait, Query};
//! use tusk::sea_query::SeaQueryExt;
//! use tusk::Executor;
//!
//! # async fn f(conn: &tusk::Connection) -> Result<(), tusk::Error> {
//! let (sql, values) = Query::select()
//!     .columns([Alias::new("id"), Alias::new("name")])
//!     .from(Alias::new("users"))
//!     .and_where(Expr::col(Alias::new("name")).eq("ada"))
//!     .build_tusk()?;
//! assert_eq!(sql, r#"SELECT "id", "name" FROM "users" WHERE "name" = $1"#);
//! let rows = conn.query(sql.as_str(), &values.params()).await?; // 'ada' bound as $1
//! # let _ = rows; Ok(()) }
//! ```
//!
//! Each `sea_query::Value` becomes the Rust value tusk encodes for its
//! PostgreSQL type (NULLs typed as well):
//!
//! | sea-query value | sent as |
//! |---|---|
//! | `Bool` | `bool` |
//! | `TinyInt`, `SmallInt`, `TinyUnsigned` | `int2` (`i16`) |
//! | `Int`, `SmallUnsigned` | `int4` (`i32`) |
//! | `BigInt`, `Unsigned` | `int8` (`i64`) |
//! | `BigUnsigned` | `int8` when it fits, else text (the server casts it: to `numeric`, or refuses it for `bigint`) |
//! | `Float`, `Double` | `float4`, `float8` |
//! | `String`, `Char`, `Enum` | text (typed by the server; enums come with sea-query's `::type` cast) |
//! | `Bytes` | `bytea` |
//! | `Json` | `jsonb`/`json` (feature `with-serde_json-1`) |
//! | `Chrono*` | `date`, `time`, `timestamp`, `timestamptz` (feature `with-chrono-0_4`) |
//! | `Time*` | the same, from the `time` crate (feature `with-time-0_3`) |
//! | `Jiff*` | the same, from `jiff` (feature `with-jiff-0_2`) |
//! | `Uuid` | `uuid` (feature `with-uuid-1`) |
//! | `Decimal` | `numeric` (feature `with-rust_decimal-1`) |
//! | `Array` of any of these | a PostgreSQL array of it |
//!
//! A value whose kind this build cannot send (one from a sea-query feature
//! that tusk's matching feature does not enable, such as `BigDecimal` or
//! `IpNetwork`) is a [`Conversion`](crate::ErrorKind::Conversion) error
//! naming the feature, before anything is sent.

use std::convert::identity;

use ::sea_query as sq;
use driver::{Error, ErrorKind, Param, ToSql};

/// A statement's values, converted for tusk; pass [`params`](Self::params)
/// as the query's parameters.
pub struct SeaValues(Vec<Box<dyn ToSql + Send + Sync>>);

impl std::fmt::Debug for SeaValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl SeaValues {
    /// Converts sea-query's values.
    pub fn from_values(values: sq::Values) -> Result<SeaValues, Error> {
        values
            .0
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                convert(v).map_err(|e| {
                    Error::new(
                        ErrorKind::Conversion,
                        format!("sea-query parameter ${}: {e}", i + 1),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(SeaValues)
    }

    /// The parameters, in order (`$1` first).
    pub fn params(&self) -> Vec<Param<'_>> {
        self.0
            .iter()
            .map(|b| {
                let p: Param<'_> = &**b;
                p
            })
            .collect()
    }

    /// How many parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `build_tusk()` for every sea-query statement that builds to SQL with
/// values (select, insert, update, delete, `WITH` queries).
pub trait SeaQueryExt {
    /// The statement as PostgreSQL SQL with `$n` placeholders, and its
    /// values as tusk parameters.
    fn build_tusk(&self) -> Result<(String, SeaValues), Error>;
}

impl<T: sq::QueryStatementWriter> SeaQueryExt for T {
    fn build_tusk(&self) -> Result<(String, SeaValues), Error> {
        let (sql, values) = self.build(sq::PostgresQueryBuilder);
        Ok((sql, SeaValues::from_values(values)?))
    }
}

type Boxed = Box<dyn ToSql + Send + Sync>;

fn unsupported(kind: &str) -> String {
    format!(
        "a sea-query {kind} value cannot be sent by this build of tusk (enable tusk's feature for the type: \
         with-serde_json-1, with-chrono-0_4, with-time-0_3, with-jiff-0_2, with-uuid-1 or with-rust_decimal-1)"
    )
}

fn big_unsigned(n: u64) -> Boxed {
    match i64::try_from(n) {
        Ok(v) => Box::new(v),
        // Past bigint: as text, which the server casts to the column's
        // type (numeric takes it; bigint says it is out of range).
        Err(_) => Box::new(n.to_string()),
    }
}

/// One scalar value.
#[allow(unreachable_patterns)] // The last arm: variants of sea-query features tusk does not map.
fn convert(v: sq::Value) -> Result<Boxed, String> {
    use sq::Value as V;
    Ok(match v {
        V::Bool(v) => Box::new(v),
        V::TinyInt(v) => Box::new(v.map(i16::from)),
        V::SmallInt(v) => Box::new(v),
        V::Int(v) => Box::new(v),
        V::BigInt(v) => Box::new(v),
        V::TinyUnsigned(v) => Box::new(v.map(i16::from)),
        V::SmallUnsigned(v) => Box::new(v.map(i32::from)),
        V::Unsigned(v) => Box::new(v.map(i64::from)),
        V::BigUnsigned(Some(n)) => big_unsigned(n),
        V::BigUnsigned(None) => Box::new(None::<i64>),
        V::Float(v) => Box::new(v),
        V::Double(v) => Box::new(v),
        V::String(v) => Box::new(v),
        V::Char(v) => Box::new(v.map(String::from)),
        V::Enum(sq::OptionEnum::Some(e)) => Box::new(e.value.into_owned()),
        V::Enum(sq::OptionEnum::None(_)) => Box::new(None::<String>),
        V::Bytes(v) => Box::new(v),
        #[cfg(feature = "with-serde_json-1")]
        V::Json(v) => Box::new(v.map(|j| *j)),
        #[cfg(feature = "with-chrono-0_4")]
        V::ChronoDate(v) => Box::new(v),
        #[cfg(feature = "with-chrono-0_4")]
        V::ChronoTime(v) => Box::new(v),
        #[cfg(feature = "with-chrono-0_4")]
        V::ChronoDateTime(v) => Box::new(v),
        #[cfg(feature = "with-chrono-0_4")]
        V::ChronoDateTimeUtc(v) => Box::new(v),
        #[cfg(feature = "with-chrono-0_4")]
        V::ChronoDateTimeLocal(v) => Box::new(v),
        #[cfg(feature = "with-chrono-0_4")]
        V::ChronoDateTimeWithTimeZone(v) => Box::new(v),
        #[cfg(feature = "with-time-0_3")]
        V::TimeDate(v) => Box::new(v),
        #[cfg(feature = "with-time-0_3")]
        V::TimeTime(v) => Box::new(v),
        #[cfg(feature = "with-time-0_3")]
        V::TimeDateTime(v) => Box::new(v),
        #[cfg(feature = "with-time-0_3")]
        V::TimeDateTimeWithTimeZone(v) => Box::new(v),
        #[cfg(feature = "with-jiff-0_2")]
        V::JiffDate(v) => Box::new(v),
        #[cfg(feature = "with-jiff-0_2")]
        V::JiffTime(v) => Box::new(v),
        #[cfg(feature = "with-jiff-0_2")]
        V::JiffDateTime(v) => Box::new(v.map(|b| *b)),
        #[cfg(feature = "with-jiff-0_2")]
        V::JiffTimestamp(v) => Box::new(v.map(|b| *b)),
        #[cfg(feature = "with-uuid-1")]
        V::Uuid(v) => Box::new(v),
        #[cfg(feature = "with-rust_decimal-1")]
        V::Decimal(v) => Box::new(v),
        V::Array(ty, values) => array(&ty, values.map(|b| *b))?,
        other => return Err(unsupported(&kind(&other))),
    })
}

/// The variant's name, for messages.
fn kind(v: &sq::Value) -> String {
    // Debug prints `Variant(..)`: keep the name only.
    let text = format!("{v:?}");
    text.split('(').next().unwrap_or("value").to_owned()
}

/// sea-query boxes its JSON values; the driver encodes them unboxed.
#[cfg(any(feature = "with-serde_json-1", feature = "with-jiff-0_2"))]
#[allow(clippy::boxed_local)] // The box is sea-query's, handed over by value.
fn unbox<T>(b: Box<T>) -> T {
    *b
}

/// `Vec<Option<T>>` from an array's elements, each of `$variant`.
macro_rules! elements {
    ($values:expr, $variant:ident, $conv:expr) => {{
        let conv = $conv;
        let out: Option<Vec<Option<_>>> = match $values {
            None => None,
            Some(values) => Some(
                values
                    .into_iter()
                    .map(|v| match v {
                        sq::Value::$variant(x) => Ok(x.map(&conv)),
                        other => Err(format!(
                            "an array of {} holds a {} value",
                            stringify!($variant),
                            kind(&other)
                        )),
                    })
                    .collect::<Result<Vec<_>, String>>()?,
            ),
        };
        Box::new(out) as Boxed
    }};
}

/// An array value (`None`: a NULL array).
#[allow(unreachable_patterns)] // As in `convert`.
fn array(ty: &sq::ArrayType, values: Option<Vec<sq::Value>>) -> Result<Boxed, String> {
    use sq::ArrayType as A;
    Ok(match ty {
        A::Bool => elements!(values, Bool, identity),
        A::TinyInt => elements!(values, TinyInt, i16::from),
        A::SmallInt => elements!(values, SmallInt, identity),
        A::Int => elements!(values, Int, identity),
        A::BigInt => elements!(values, BigInt, identity),
        A::TinyUnsigned => elements!(values, TinyUnsigned, i16::from),
        A::SmallUnsigned => elements!(values, SmallUnsigned, i32::from),
        A::Unsigned => elements!(values, Unsigned, i64::from),
        A::BigUnsigned => {
            let out: Option<Vec<Option<i64>>> = match values {
                None => None,
                Some(values) => Some(
                    values
                        .into_iter()
                        .map(|v| match v {
                            sq::Value::BigUnsigned(x) => x
                                .map(|n| {
                                    i64::try_from(n).map_err(|_| {
                                        format!("{n} in an array of bigint is out of range")
                                    })
                                })
                                .transpose(),
                            other => Err(format!(
                                "an array of BigUnsigned holds a {} value",
                                kind(&other)
                            )),
                        })
                        .collect::<Result<Vec<_>, String>>()?,
                ),
            };
            Box::new(out)
        }
        A::Float => elements!(values, Float, identity),
        A::Double => elements!(values, Double, identity),
        A::String => elements!(values, String, identity),
        A::Char => elements!(values, Char, String::from),
        A::Bytes => elements!(values, Bytes, identity),
        A::Enum(_) => {
            let out: Option<Vec<Option<String>>> = match values {
                None => None,
                Some(values) => Some(
                    values
                        .into_iter()
                        .map(|v| match v {
                            sq::Value::Enum(sq::OptionEnum::Some(e)) => {
                                Ok(Some(e.value.into_owned()))
                            }
                            sq::Value::Enum(sq::OptionEnum::None(_)) | sq::Value::String(None) => {
                                Ok(None)
                            }
                            sq::Value::String(Some(s)) => Ok(Some(s)),
                            other => {
                                Err(format!("an array of Enum holds a {} value", kind(&other)))
                            }
                        })
                        .collect::<Result<Vec<_>, String>>()?,
                ),
            };
            Box::new(out)
        }
        #[cfg(feature = "with-serde_json-1")]
        A::Json => elements!(values, Json, unbox),
        #[cfg(feature = "with-chrono-0_4")]
        A::ChronoDate => elements!(values, ChronoDate, identity),
        #[cfg(feature = "with-chrono-0_4")]
        A::ChronoTime => elements!(values, ChronoTime, identity),
        #[cfg(feature = "with-chrono-0_4")]
        A::ChronoDateTime => elements!(values, ChronoDateTime, identity),
        #[cfg(feature = "with-chrono-0_4")]
        A::ChronoDateTimeUtc => {
            elements!(values, ChronoDateTimeUtc, identity)
        }
        #[cfg(feature = "with-chrono-0_4")]
        A::ChronoDateTimeLocal => {
            elements!(values, ChronoDateTimeLocal, identity)
        }
        #[cfg(feature = "with-chrono-0_4")]
        A::ChronoDateTimeWithTimeZone => elements!(values, ChronoDateTimeWithTimeZone, identity),
        #[cfg(feature = "with-time-0_3")]
        A::TimeDate => elements!(values, TimeDate, identity),
        #[cfg(feature = "with-time-0_3")]
        A::TimeTime => elements!(values, TimeTime, identity),
        #[cfg(feature = "with-time-0_3")]
        A::TimeDateTime => elements!(values, TimeDateTime, identity),
        #[cfg(feature = "with-time-0_3")]
        A::TimeDateTimeWithTimeZone => elements!(values, TimeDateTimeWithTimeZone, identity),
        #[cfg(feature = "with-jiff-0_2")]
        A::JiffDate => elements!(values, JiffDate, identity),
        #[cfg(feature = "with-jiff-0_2")]
        A::JiffTime => elements!(values, JiffTime, identity),
        #[cfg(feature = "with-jiff-0_2")]
        A::JiffDateTime => elements!(values, JiffDateTime, unbox),
        #[cfg(feature = "with-jiff-0_2")]
        A::JiffTimestamp => elements!(values, JiffTimestamp, unbox),
        #[cfg(feature = "with-uuid-1")]
        A::Uuid => elements!(values, Uuid, identity),
        #[cfg(feature = "with-rust_decimal-1")]
        A::Decimal => elements!(values, Decimal, identity),
        other => return Err(unsupported(&format!("{other:?} array"))),
    })
}
