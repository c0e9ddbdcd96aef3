//! Rows as Rust values: the [`FromRow`] trait, its derive, tuples by
//! position, and the typed [`RowError`] every mismatch is reported with.

use futures_core::Stream;
use postgres_types::{FromSql, Type, WasNull};
use std::any::type_name;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{Error, ErrorKind};
use crate::row::Row;
use crate::stream::RowStream;

/// A value built from one row: derive it (`#[derive(tusk::FromRow)]`) for
/// a struct, or use a tuple (columns by position, up to 16) or [`Row`]
/// itself. [`Executor::query_as`](crate::Executor::query_as) and its
/// siblings return rows as any `FromRow` type.
///
/// ```
/// use tusk::{Executor, FromRow};
///
/// #[derive(Debug, PartialEq, FromRow)]
/// #[tusk(rename_all = "camelCase")]
/// struct User {
///     id: i64,
///     /// Column `name`.
///     #[tusk(rename = "name")]
///     login: String,
///     /// Column `lastSeen` (the rule); NULL reads as None.
///     last_seen: Option<String>,
///     /// Not in every query: `Default` when the column is missing.
///     #[tusk(default)]
///     karma: i32,
///     /// An int4 column read as i32, then converted.
///     #[tusk(try_from = "i32")]
///     level: u8,
///     /// Columns of the same row read by another `FromRow` type.
///     #[tusk(flatten)]
///     address: Address,
/// }
///
/// #[derive(Debug, PartialEq, FromRow)]
/// struct Address {
///     city: String,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tusk::Error> {
/// # let test_db = tusk_testkit::db();
/// # let db = tusk::connect(&test_db.url()).await?;
/// let users: Vec<User> = db
///     .query_as(
///         r#"SELECT 1::int8 AS id, 'ann' AS name, NULL::text AS "lastSeen",
///                   3 AS level, 'Oslo' AS city"#,
///         &[],
///     )
///     .await?;
/// assert_eq!(users[0].address.city, "Oslo");
/// assert_eq!((users[0].karma, users[0].level), (0, 3));
///
/// // Tuples read by position.
/// let (n, s): (i64, String) = db.query_one_as("SELECT 1::int8, 'one'", &[]).await?;
/// assert_eq!((n, s.as_str()), (1, "one"));
///
/// // A mismatch is an error naming the column and both types.
/// let e = db.query_one_as::<(i64,)>("SELECT 'x'::text AS t", &[]).await.unwrap_err();
/// assert!(matches!(e.as_row_error(), Some(tusk::RowError::WrongType { .. })));
/// assert!(e.to_string().contains("text"));
/// # Ok(()) }
/// ```
///
/// # The derive's attributes
///
/// | attribute | on | effect |
/// |---|---|---|
/// | `rename_all = "..."` | struct | column names from field names by a rule: `snake_case`, `camelCase`, `PascalCase`, `SCREAMING_SNAKE_CASE`, `kebab-case`, `SCREAMING-KEBAB-CASE`, `lowercase`, `UPPERCASE` |
/// | `crate = "path"` | struct | where the `tusk` crate is, when it is renamed |
/// | `rename = "col"` | field | reads column `col` |
/// | `default` | field | `Default::default()` when the column is missing (a NULL is still an error unless the field is an `Option`) |
/// | `try_from = "T"` | field | decodes the column as `T`, then converts with `TryFrom<T>` |
/// | `json` | field | decodes a `json`/`jsonb` column with serde (`Option<T>` takes NULL); needs the `with-serde_json-1` feature |
/// | `flatten` | field | the field is itself `FromRow`, read from the same row |
///
/// A column is found by its exact name, then ignoring ASCII case (so
/// `camelCase` fields read the unquoted, folded `lastseen` too). A name
/// that appears twice in the result (a join's two `id`s) is an error
/// ([`RowError::AmbiguousColumn`]): alias one of them. A flattened
/// struct reads its columns by its own names, so a name it shares with
/// the outer struct reads the same column for both.
///
/// Misuse is a compile error:
///
/// ```compile_fail
/// #[derive(tusk::FromRow)]
/// struct Bad {
///     #[tusk(renamed = "x")] // unknown attribute
///     a: i32,
/// }
/// ```
///
/// ```compile_fail
/// #[derive(tusk::FromRow)]
/// #[tusk(rename_all = "Camel")] // unknown rule
/// struct Bad {
///     a: i32,
/// }
/// ```
///
/// ```compile_fail
/// #[derive(tusk::FromRow)]
/// struct Bad {
///     #[tusk(flatten, rename = "x")] // flatten reads a whole struct
///     a: Inner,
/// }
/// #[derive(tusk::FromRow)]
/// struct Inner {
///     x: i32,
/// }
/// ```
///
/// ```compile_fail
/// #[derive(tusk::FromRow)]
/// enum Bad { // a row is a struct
///     A,
/// }
/// ```
///
/// ```compile_fail
/// #[derive(tusk::FromRow)]
/// struct Bad<'a> { // rows cannot be borrowed from
///     a: &'a str,
/// }
/// ```
///
/// ```compile_fail
/// #[derive(tusk::FromRow)]
/// struct Bad {
///     #[tusk(try_from = "i64", json)]
///     a: i32,
/// }
/// ```
pub trait FromRow: Sized {
    /// Builds the value from `row`, or says which column did not fit.
    fn from_row(row: &Row) -> Result<Self, Error>;
}

impl FromRow for Row {
    fn from_row(row: &Row) -> Result<Self, Error> {
        Ok(row.clone())
    }
}

/// Why a row did not convert into a Rust value: the source of a
/// [`Conversion`](ErrorKind::Conversion) error (read it with
/// [`Error::as_row_error`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RowError {
    /// No column of this name in the result.
    #[error("no column {column:?} in the row (its columns: {columns})")]
    MissingColumn {
        /// The name looked for.
        column: String,
        /// The row's column names, comma separated.
        columns: String,
    },
    /// The name appears more than once in the result.
    #[error(
        "column name {column:?} appears {count} times in the row; alias the columns apart (`AS`)"
    )]
    AmbiguousColumn {
        /// The name.
        column: String,
        /// How many columns have it.
        count: usize,
    },
    /// The row has fewer columns than the tuple needs, or more.
    #[error("the row has {actual} columns, the Rust type reads {expected} by position")]
    ColumnCount {
        /// Columns the Rust type reads.
        expected: usize,
        /// Columns in the row.
        actual: usize,
    },
    /// The column's PostgreSQL type does not convert into the Rust type.
    #[error(
        "column {column:?} has PostgreSQL type {sql_type}, which Rust type {rust_type} cannot read"
    )]
    WrongType {
        /// The column's name (or position, for tuples).
        column: String,
        /// The column's PostgreSQL type.
        sql_type: String,
        /// The Rust type asked for.
        rust_type: &'static str,
    },
    /// A NULL in a column read into a type that has no NULL.
    #[error("column {column:?} ({sql_type}) is NULL, which Rust type {rust_type} cannot hold; use an Option")]
    UnexpectedNull {
        /// The column's name (or position, for tuples).
        column: String,
        /// The column's PostgreSQL type.
        sql_type: String,
        /// The Rust type asked for.
        rust_type: &'static str,
    },
    /// The value's bytes did not decode (an out-of-range value, bad JSON).
    #[error("column {column:?} ({sql_type}) did not decode as Rust type {rust_type}: {source}")]
    Decode {
        /// The column's name (or position, for tuples).
        column: String,
        /// The column's PostgreSQL type.
        sql_type: String,
        /// The Rust type asked for.
        rust_type: &'static str,
        /// What the decoder said.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `try_from` conversion failed.
    #[error("column {column:?}: {from} does not convert into {to}: {message}")]
    TryFrom {
        /// The column's name.
        column: String,
        /// The type decoded.
        from: &'static str,
        /// The field's type.
        to: &'static str,
        /// What `TryFrom` said.
        message: String,
    },
}

impl Error {
    /// The [`RowError`] behind a failed row conversion (`query_as`,
    /// `FromRow`), to tell a missing column from a type mismatch.
    pub fn as_row_error(&self) -> Option<&RowError> {
        std::error::Error::source(self)?.downcast_ref::<RowError>()
    }
}

fn row_error(e: RowError) -> Error {
    Error::with_source(ErrorKind::Conversion, e.to_string(), e)
}

/// The column's type as shown in errors.
fn sql_type(row: &Row, i: usize) -> String {
    let name = row.desc.columns[i].type_.name().to_string();
    if row.desc.text || row.desc.columns[i].text {
        format!("{name}, in text format")
    } else {
        name
    }
}

/// Decodes column `i` (`label` names it in errors).
fn get<T: for<'a> FromSql<'a>>(row: &Row, i: usize, label: &str) -> Result<T, Error> {
    let Some(col) = row.desc.columns.get(i) else {
        return Err(row_error(RowError::ColumnCount {
            expected: i + 1,
            actual: row.len(),
        }));
    };
    let ty = if row.desc.text || col.text {
        &Type::TEXT
    } else {
        &col.type_
    };
    if !T::accepts(ty) {
        return Err(row_error(RowError::WrongType {
            column: label.to_string(),
            sql_type: sql_type(row, i),
            rust_type: type_name::<T>(),
        }));
    }
    let raw = row.raw(i);
    T::from_sql_nullable(ty, raw).map_err(|source| {
        if raw.is_none() && source.is::<WasNull>() {
            row_error(RowError::UnexpectedNull {
                column: label.to_string(),
                sql_type: sql_type(row, i),
                rust_type: type_name::<T>(),
            })
        } else {
            row_error(RowError::Decode {
                column: label.to_string(),
                sql_type: sql_type(row, i),
                rust_type: type_name::<T>(),
                source,
            })
        }
    })
}

/// What the derive's expansion calls. Not a public API: it may change in
/// any release.
#[doc(hidden)]
pub mod __private {
    use super::*;

    /// The index of the column named `name`: exact match first, then
    /// ignoring ASCII case; `Ok(None)` when there is none, an error when
    /// the name is ambiguous.
    pub fn find(row: &Row, name: &str) -> Result<Option<usize>, Error> {
        let cols = row.columns();
        for exact in [true, false] {
            let hit = |c: &crate::Column| {
                if exact {
                    c.name() == name
                } else {
                    c.name().eq_ignore_ascii_case(name)
                }
            };
            let mut it = cols.iter().enumerate().filter(|(_, c)| hit(c));
            if let Some((i, _)) = it.next() {
                let more = it.count();
                if more > 0 {
                    return Err(row_error(RowError::AmbiguousColumn {
                        column: name.to_string(),
                        count: more + 1,
                    }));
                }
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    /// Column `i`, for a tuple struct.
    pub fn at(i: usize) -> Result<Option<usize>, Error> {
        Ok(Some(i))
    }

    /// The error for a missing column.
    pub fn missing(row: &Row, name: &str) -> Error {
        let columns = row
            .columns()
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", ");
        row_error(RowError::MissingColumn {
            column: name.to_string(),
            columns,
        })
    }

    /// Fails unless the row has exactly `n` columns (tuples).
    pub fn check_width(row: &Row, n: usize) -> Result<(), Error> {
        if row.len() == n {
            Ok(())
        } else {
            Err(row_error(RowError::ColumnCount {
                expected: n,
                actual: row.len(),
            }))
        }
    }

    /// Decodes column `i`.
    pub fn get<T: for<'a> FromSql<'a>>(row: &Row, i: usize, label: &str) -> Result<T, Error> {
        super::get(row, i, label)
    }

    /// Decodes column `i` as `V`, then converts it.
    pub fn try_from<V, T>(row: &Row, i: usize, label: &str) -> Result<T, Error>
    where
        V: for<'a> FromSql<'a>,
        T: TryFrom<V>,
        <T as TryFrom<V>>::Error: std::fmt::Display,
    {
        let v: V = super::get(row, i, label)?;
        T::try_from(v).map_err(|e| {
            row_error(RowError::TryFrom {
                column: label.to_string(),
                from: type_name::<V>(),
                to: type_name::<T>(),
                message: e.to_string(),
            })
        })
    }

    /// Without the feature: a clear compile error.
    #[cfg(not(feature = "with-serde_json-1"))]
    pub fn json<T: super::JsonNeedsFeatureWithSerdeJson1>(
        _row: &Row,
        _i: usize,
        _label: &str,
    ) -> Result<T, Error> {
        unreachable_json()
    }

    /// Without the feature: a clear compile error.
    #[cfg(not(feature = "with-serde_json-1"))]
    pub fn json_opt<T: super::JsonNeedsFeatureWithSerdeJson1>(
        _row: &Row,
        _i: usize,
        _label: &str,
    ) -> Result<Option<T>, Error> {
        unreachable_json()
    }

    #[cfg(not(feature = "with-serde_json-1"))]
    fn unreachable_json<T>() -> Result<T, Error> {
        Err(Error::new(
            ErrorKind::Other,
            "#[tusk(json)] needs the with-serde_json-1 feature",
        ))
    }

    /// Decodes a json/jsonb column with serde.
    #[cfg(feature = "with-serde_json-1")]
    pub fn json<T>(row: &Row, i: usize, label: &str) -> Result<T, Error>
    where
        postgres_types::Json<T>: for<'a> FromSql<'a>,
    {
        super::get::<postgres_types::Json<T>>(row, i, label).map(|j| j.0)
    }

    /// Decodes a json/jsonb column with serde, NULL as None.
    #[cfg(feature = "with-serde_json-1")]
    pub fn json_opt<T>(row: &Row, i: usize, label: &str) -> Result<Option<T>, Error>
    where
        postgres_types::Json<T>: for<'a> FromSql<'a>,
    {
        super::get::<Option<postgres_types::Json<T>>>(row, i, label).map(|j| j.map(|j| j.0))
    }
}

/// Without the `with-serde_json-1` feature, `#[tusk(json)]` fails to
/// compile with a message saying so (through this never-implemented trait).
#[cfg(not(feature = "with-serde_json-1"))]
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "#[tusk(json)] needs the `with-serde_json-1` feature of tusk",
    label = "a json field"
)]
pub trait JsonNeedsFeatureWithSerdeJson1 {}

macro_rules! tuple_from_row {
    ($n:expr; $($t:ident $i:tt),+) => {
        impl<$($t: for<'a> FromSql<'a>),+> FromRow for ($($t,)+) {
            fn from_row(row: &Row) -> Result<Self, Error> {
                __private::check_width(row, $n)?;
                Ok(($(get::<$t>(row, $i, stringify!($i))?,)+))
            }
        }
    };
}

tuple_from_row!(1; T0 0);
tuple_from_row!(2; T0 0, T1 1);
tuple_from_row!(3; T0 0, T1 1, T2 2);
tuple_from_row!(4; T0 0, T1 1, T2 2, T3 3);
tuple_from_row!(5; T0 0, T1 1, T2 2, T3 3, T4 4);
tuple_from_row!(6; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5);
tuple_from_row!(7; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6);
tuple_from_row!(8; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7);
tuple_from_row!(9; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8);
tuple_from_row!(10; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9);
tuple_from_row!(11; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10);
tuple_from_row!(12; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11);
tuple_from_row!(13; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12);
tuple_from_row!(14; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12, T13 13);
tuple_from_row!(15; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12, T13 13, T14 14);
tuple_from_row!(16; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12, T13 13, T14 14, T15 15);

/// A stream of rows as `T` ([`Executor::query_stream_as`](crate::Executor::query_stream_as)):
/// a [`RowStream`] with each row converted; a row that does not convert
/// is an `Err` item, and the stream goes on.
pub struct RowStreamAs<T> {
    inner: RowStream,
    _t: PhantomData<fn() -> T>,
}

impl<T> RowStreamAs<T> {
    pub(crate) fn new(inner: RowStream) -> Self {
        RowStreamAs {
            inner,
            _t: PhantomData,
        }
    }

    /// The underlying row stream (command tag, rows affected).
    pub fn get_ref(&self) -> &RowStream {
        &self.inner
    }
}

impl<T: FromRow> Stream for RowStreamAs<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(row))) => Poll::Ready(Some(T::from_row(&row))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
