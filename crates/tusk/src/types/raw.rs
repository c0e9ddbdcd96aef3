use postgres_types::{FromSql, Type};
use std::error::Error;

/// Any column, as the bytes the server sent and their type: never a dead end
/// for a type tusk does not know (an extension's, a user-defined one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawValue<'a> {
    /// The column's type (a placeholder `oid<N>` for OIDs tusk does not know).
    pub ty: Type,
    /// The value in the column's wire format.
    pub bytes: &'a [u8],
}

impl<'a> FromSql<'a> for RawValue<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(RawValue {
            ty: ty.clone(),
            bytes: raw,
        })
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}
