//! Rows: zero-copy views into the receive buffer, decoded only when read.

use bytes::Bytes;
use postgres_types::{FromSql, Type};
use std::fmt;
use std::sync::Arc;

use crate::error::Error;

/// A result column.
#[derive(Debug, Clone)]
pub struct Column {
    pub(crate) name: String,
    pub(crate) type_: Type,
    pub(crate) table_oid: u32,
    pub(crate) column_id: i16,
    pub(crate) type_modifier: i32,
    /// Its values arrive in text format while the row's others may be
    /// binary: a type tusk does not decode (see `value::binary_ok`), asked
    /// for as text by a statement that knows its columns.
    pub(crate) text: bool,
}

impl Column {
    /// The column's name (its alias in the query).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The column's type. A type tusk does not know by OID (an extension's
    /// or a user-defined type) has a placeholder name `oid<N>` with its OID.
    pub fn type_(&self) -> &Type {
        &self.type_
    }
    /// The OID of the table the column comes from, if it is a table column.
    pub fn table_oid(&self) -> Option<u32> {
        (self.table_oid != 0).then_some(self.table_oid)
    }
    /// The attribute number of the column in its table, if it is a table column.
    pub fn column_id(&self) -> Option<i16> {
        (self.column_id != 0).then_some(self.column_id)
    }
    /// The type modifier (`atttypmod`), -1 when none.
    pub fn type_modifier(&self) -> i32 {
        self.type_modifier
    }
    /// Whether this column's values arrive in text format: when tusk
    /// cannot decode the type's binary form (`money`, `tsvector`, an
    /// extension's type), a statement whose columns are known asks for
    /// that column as text and the others in binary, in one query. Read
    /// such a column as `&str`/`String`, `Value` or with
    /// [`Row::get_text`]. (All columns are text with
    /// [`Query::text`](crate::Query::text); see [`Row::is_text`].)
    pub fn is_text(&self) -> bool {
        self.text
    }
}

/// The shape of the rows of one result: columns and wire format.
#[derive(Debug)]
pub(crate) struct RowDesc {
    pub columns: Vec<Column>,
    /// All columns arrive in text format (simple query, or asked for).
    pub text: bool,
}

/// Maps a type OID to a `Type`, with a placeholder for unknown OIDs so that
/// raw and text access still work.
pub(crate) fn type_of(oid: u32) -> Type {
    Type::from_oid(oid).unwrap_or_else(|| {
        Type::new(
            format!("oid{oid}"),
            oid,
            postgres_types::Kind::Simple,
            String::new(),
        )
    })
}

/// One row of a result.
///
/// A row holds a reference-counted slice of the bytes the server sent; no
/// column is decoded until it is read with [`get`](Row::get) or
/// [`try_get`](Row::try_get).
#[derive(Clone)]
pub struct Row {
    pub(crate) desc: Arc<RowDesc>,
    /// The DataRow body after the column count: (i32 length, bytes)*.
    pub(crate) body: Bytes,
}

/// Something that names a column: its index or its name.
pub trait ColumnIndex: fmt::Display {
    /// The index of the column in `columns`, if there is one.
    fn index(&self, columns: &[Column]) -> Option<usize>;
}

impl ColumnIndex for usize {
    fn index(&self, columns: &[Column]) -> Option<usize> {
        (*self < columns.len()).then_some(*self)
    }
}

impl ColumnIndex for str {
    fn index(&self, columns: &[Column]) -> Option<usize> {
        columns.iter().position(|c| c.name == self).or_else(|| {
            columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(self))
        })
    }
}

impl<T: ColumnIndex + ?Sized> ColumnIndex for &T {
    fn index(&self, columns: &[Column]) -> Option<usize> {
        (**self).index(columns)
    }
}

impl Row {
    /// Checks a DataRow body against the description: the count and every
    /// length must add up, so that later reads cannot go out of bounds.
    pub(crate) fn new(desc: Arc<RowDesc>, frame_body: Bytes) -> Result<Row, Error> {
        let bad = || Error::protocol("malformed DataRow message");
        let count = frame_body.get(..2).ok_or_else(bad)?;
        let count = usize::from(u16::from_be_bytes([count[0], count[1]]));
        if count != desc.columns.len() {
            return Err(Error::protocol(format!(
                "DataRow has {count} columns, the row description has {}",
                desc.columns.len()
            )));
        }
        let body = frame_body.slice(2..);
        let mut pos = 0usize;
        for _ in 0..count {
            let len = body.get(pos..pos + 4).ok_or_else(bad)?;
            let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
            pos += 4;
            if len >= 0 {
                pos = pos
                    .checked_add(usize::try_from(len).map_err(|_| bad())?)
                    .ok_or_else(bad)?;
                if pos > body.len() {
                    return Err(bad());
                }
            } else if len != -1 {
                return Err(bad());
            }
        }
        if pos != body.len() {
            return Err(bad());
        }
        Ok(Row { desc, body })
    }

    /// The columns of this row.
    pub fn columns(&self) -> &[Column] {
        &self.desc.columns
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.desc.columns.len()
    }

    /// True when the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.desc.columns.is_empty()
    }

    /// The raw bytes of a column (`None` for NULL), in the column's wire
    /// format: binary unless text was asked for. Works for any type.
    pub fn raw(&self, idx: usize) -> Option<&[u8]> {
        let mut pos = 0usize;
        let mut i = 0usize;
        loop {
            let b = self.body.get(pos..pos + 4)?;
            let len = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            pos += 4;
            let n = usize::try_from(len).ok();
            if i == idx {
                return n.and_then(|n| self.body.get(pos..pos + n));
            }
            pos += n.unwrap_or(0);
            i += 1;
        }
    }

    /// The raw bytes of a column as a `Bytes` handle sharing the receive buffer.
    pub fn raw_bytes(&self, idx: usize) -> Option<Bytes> {
        let s = self.raw(idx)?;
        Some(self.body.slice_ref(s))
    }

    /// True when the rows arrived in text format (see [`Row::get_text`]).
    pub fn is_text(&self) -> bool {
        self.desc.text
    }

    /// Reads a column as text, when the row is in text format or the
    /// column's binary form is its text (text, varchar, name, char, json,
    /// xml, unknown). `Ok(None)` for NULL. For other types (enums and other
    /// user-defined types included), ask for text results with
    /// [`Query::text`](crate::Query::text) or read [`RawValue`](crate::types::RawValue).
    pub fn get_text(&self, idx: impl ColumnIndex) -> Result<Option<&str>, Error> {
        let i = self.find(&idx)?;
        let raw = match self.raw(i) {
            None => return Ok(None),
            Some(r) => r,
        };
        let ty = &self.desc.columns[i].type_;
        let textual = self.desc.text
            || self.desc.columns[i].text
            || matches!(
                *ty,
                Type::TEXT
                    | Type::VARCHAR
                    | Type::BPCHAR
                    | Type::NAME
                    | Type::JSON
                    | Type::UNKNOWN
                    | Type::XML
            )
            || matches!(ty.kind(), postgres_types::Kind::Enum(_));
        if !textual {
            return Err(Error::conversion(format!(
                "column {idx} ({}) is in binary format; read it with get() or raw(), or ask for text results",
                ty.name()
            )));
        }
        std::str::from_utf8(raw).map(Some).map_err(|e| {
            Error::with_source(
                crate::ErrorKind::Conversion,
                format!("column {idx} is not UTF-8"),
                e,
            )
        })
    }

    fn find(&self, idx: &impl ColumnIndex) -> Result<usize, Error> {
        idx.index(&self.desc.columns)
            .ok_or_else(|| Error::conversion(format!("no column {idx} in this row")))
    }

    /// Decodes a column into a Rust value.
    ///
    /// # Panics
    /// When the column does not exist or its type does not convert into `T`;
    /// use [`try_get`](Row::try_get) to get an error instead.
    #[track_caller]
    pub fn get<'a, T: FromSql<'a>>(&'a self, idx: impl ColumnIndex) -> T {
        match self.try_get(idx) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    /// Decodes a column into a Rust value, or says why it cannot.
    pub fn try_get<'a, T: FromSql<'a>>(&'a self, idx: impl ColumnIndex) -> Result<T, Error> {
        let i = self.find(&idx)?;
        let col = &self.desc.columns[i];
        let raw = self.raw(i);
        if self.desc.text || col.text {
            // Text-format rows: only textual Rust types can read them.
            if !T::accepts(&Type::TEXT) {
                return Err(Error::conversion(format!(
                    "column {idx} ({}) is in text format; read it as &str, String or Value{}",
                    col.type_.name(),
                    if self.desc.text {
                        ", or ask for binary results"
                    } else {
                        " (tusk does not decode this type's binary form)"
                    }
                )));
            }
            return T::from_sql_nullable(&Type::TEXT, raw).map_err(|e| {
                Error::with_source(
                    crate::ErrorKind::Conversion,
                    format!("cannot decode column {idx}"),
                    e,
                )
            });
        }
        let stripped;
        let mut ty = &col.type_;
        if !T::accepts(ty) {
            // Domains (inside arrays and ranges too) read as their base type.
            stripped = crate::types::registry::strip_domains(ty);
            match &stripped {
                Some(s) if T::accepts(s) => ty = s,
                _ => {
                    return Err(Error::conversion(format!(
                        "cannot read column {idx} of type {} as Rust type {}",
                        col.type_.name(),
                        std::any::type_name::<T>()
                    )))
                }
            }
        }
        T::from_sql_nullable(ty, raw).map_err(|e| {
            Error::with_source(
                crate::ErrorKind::Conversion,
                format!(
                    "cannot decode column {idx} of type {} as {}",
                    col.type_.name(),
                    std::any::type_name::<T>()
                ),
                e,
            )
        })
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_map();
        for (i, c) in self.desc.columns.iter().enumerate() {
            l.entry(&c.name, &self.raw(i).map(|b| b.len()));
        }
        l.finish()
    }
}
