//! Helpers for tests/types.rs: the round-trip harness (rust-postgres's
//! `test_type`), and codecs for what postgres-types does not map: interval,
//! multi-dimensional arrays, and a value too large for the wire.

use std::fmt::Debug;

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use tusk::types::{FromSql, FromSqlOwned, IsNull, Kind, ToSql, Type};
use tusk::{Connection, Executor, Query};

mod connect;
pub use connect::{conn, db};

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// Checks `cases` (plus NULL) both ways for the SQL type `ty`, with `same`
/// deciding equality (so that NaN can equal NaN).
pub async fn check_by<T>(
    c: &Connection,
    ty: &str,
    cases: &[(Option<T>, String)],
    same: impl Fn(&T, &T) -> bool,
) where
    T: ToSql + Sync + Send + FromSqlOwned + Debug,
{
    let null = (None, "NULL".to_string());
    for (want, lit) in cases.iter().chain(std::iter::once(&null)) {
        let eq = |got: &Option<T>| match (got, want) {
            (Some(a), Some(b)) => same(a, b),
            (None, None) => true,
            _ => false,
        };
        let sql = format!("SELECT ({lit})::{ty}");
        let row = c
            .query_one(sql.as_str(), &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let got: Option<T> = row
            .try_get(0usize)
            .unwrap_or_else(|e| panic!("{sql}: decode: {e}"));
        assert!(eq(&got), "{sql}: decoded {got:?}, expected {want:?}");

        let sql = format!("SELECT $1::{ty}");
        let got: Option<T> = c
            .query_scalar(sql.as_str(), &[want])
            .await
            .unwrap_or_else(|e| panic!("{sql} with {want:?}: {e}"));
        assert!(eq(&got), "{sql}: sent {want:?}, read back {got:?}");
    }
}

pub async fn check<T>(c: &Connection, ty: &str, cases: &[(Option<T>, String)])
where
    T: ToSql + Sync + Send + FromSqlOwned + Debug + PartialEq,
{
    check_by(c, ty, cases, |a, b| a == b).await;
}

/// `(Some(v), literal)` pairs from `(v, literal)`.
pub fn cases<T, L: ToString>(v: impl IntoIterator<Item = (T, L)>) -> Vec<(Option<T>, String)> {
    v.into_iter()
        .map(|(v, l)| (Some(v), l.to_string()))
        .collect()
}

/// A SQL string literal.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A bytea literal: `'\x0001ff'`.
pub fn hex_literal(b: &[u8]) -> String {
    let s: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("'\\x{s}'")
}

/// Reads column 0 of a one-row text-format query.
pub async fn text_of(c: &Connection, sql: &str) -> Option<String> {
    let rows = c.query(Query::new(sql).text(), &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].is_text());
    rows[0].get_text(0usize).unwrap().map(str::to_string)
}

/// PostgreSQL's interval (chrono has none): months, days and microseconds,
/// kept apart as the server keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

impl<'a> FromSql<'a> for Interval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let raw: [u8; 16] = raw.try_into().map_err(|_| "interval is not 16 bytes")?;
        let (micros, rest) = raw.split_at(8);
        let (days, months) = rest.split_at(4);
        Ok(Interval {
            micros: i64::from_be_bytes(micros.try_into()?),
            days: i32::from_be_bytes(days.try_into()?),
            months: i32::from_be_bytes(months.try_into()?),
        })
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

impl ToSql for Interval {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.extend_from_slice(&self.micros.to_be_bytes());
        out.extend_from_slice(&self.days.to_be_bytes());
        out.extend_from_slice(&self.months.to_be_bytes());
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
    postgres_types::to_sql_checked!();
}

/// A multi-dimensional array: its dimensions (length, lower bound) and its
/// elements in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct MdArray<T> {
    pub dims: Vec<(i32, i32)>,
    pub elems: Vec<Option<T>>,
}

impl<'a, T: FromSql<'a>> FromSql<'a> for MdArray<T> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let member = match ty.kind() {
            Kind::Array(m) => m,
            _ => return Err("not an array".into()),
        };
        let array = postgres_protocol::types::array_from_sql(raw)?;
        let dims = array
            .dimensions()
            .map(|d| Ok((d.len, d.lower_bound)))
            .collect()?;
        let elems = array
            .values()
            .map(|v| <Option<T>>::from_sql_nullable(member, v))
            .collect()?;
        Ok(MdArray { dims, elems })
    }
    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), Kind::Array(m) if T::accepts(m))
    }
}

impl<T: ToSql> ToSql for MdArray<T> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let member = match ty.kind() {
            Kind::Array(m) => m,
            _ => return Err("not an array".into()),
        };
        let dims =
            self.dims.iter().map(
                |&(len, lower_bound)| postgres_protocol::types::ArrayDimension { len, lower_bound },
            );
        postgres_protocol::types::array_to_sql(
            dims,
            member.oid(),
            &self.elems,
            |e, buf| match e.to_sql(member, buf)? {
                IsNull::Yes => Ok(postgres_protocol::IsNull::Yes),
                IsNull::No => Ok(postgres_protocol::IsNull::No),
            },
            out,
        )?;
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), Kind::Array(m) if <T as ToSql>::accepts(m))
    }
    postgres_types::to_sql_checked!();
}

/// A value whose encoding is `len` zero bytes, claiming to be bytea.
#[derive(Debug)]
pub struct Huge(pub usize);

impl ToSql for Huge {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        bytes::BufMut::put_bytes(out, 0, self.0);
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::BYTEA
    }
    postgres_types::to_sql_checked!();
}
