//! Types: everything `postgres-types` maps, plus what tusk adds.
//!
//! `ToSql`/`FromSql` come from `postgres-types`, so every Rust type the
//! ecosystem already maps works (chrono, time, jiff, uuid, serde_json,
//! rust_decimal, cidr, geo-types, bit-vec, eui48: opt-in features of this
//! crate). tusk adds [`Numeric`] (exact NUMERIC without an extra crate) and
//! [`RawValue`] (any type, as the bytes the server sent), [`Value`] (any
//! type, decoded at run time; serializes to JSON), and the
//! [`TypeRegistry`] that looks up user-defined and extension types.

mod numeric;
pub(crate) mod params;
mod raw;
pub(crate) mod registry;
pub(crate) mod value;
mod value_text;

pub use numeric::Numeric;
pub use postgres_types::{FromSql, FromSqlOwned, IsNull, Kind, Oid, ToSql, Type};
pub use raw::RawValue;
pub use registry::TypeRegistry;
pub use value::{row_to_values, Columns, DecodeOptions, Interval, Range, Value};
