//! COPY's binary format with typed values: [`BinaryCopyInWriter`] encodes
//! rows of [`ToSql`] values, [`BinaryCopyOutReader`] decodes rows into
//! [`FromSql`] values.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_core::Stream;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{CopyInSink, CopyOutStream};
use crate::error::{Error, ErrorKind};
use crate::types::{FromSql, IsNull, ToSql, Type};

/// The binary COPY signature, flags (none) and header extension length (0).
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Rows of [`ToSql`] values in COPY's binary format, into a
/// [`CopyInSink`] of a `COPY ... FROM STDIN (FORMAT binary)`.
///
/// ```no_run
/// # async fn run(conn: &tusk::Connection) -> Result<(), tusk::Error> {
/// use tusk::{copy::BinaryCopyInWriter, Type};
/// let sink = conn.copy_in("COPY t (id, name) FROM STDIN (FORMAT binary)").await?;
/// let mut w = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::TEXT]);
/// w.write(&[&1i64, &"alice"]).await?;
/// assert_eq!(w.finish().await?, 1);
/// # Ok(()) }
/// ```
///
/// Each value is encoded for its column's type (the types given, in the
/// COPY's column order); a value that cannot be (a wrong type, a NULL the
/// Rust type cannot express) is a `Conversion` error and its row is left
/// out, the writer still usable. Dropped before `finish`, the COPY is
/// rolled back (see [`CopyInSink`]).
#[derive(Debug)]
pub struct BinaryCopyInWriter<'a> {
    sink: CopyInSink<'a>,
    types: Vec<Type>,
    header: bool,
}

impl<'a> BinaryCopyInWriter<'a> {
    /// A writer of rows whose columns have `types`.
    pub fn new(sink: CopyInSink<'a>, types: &[Type]) -> BinaryCopyInWriter<'a> {
        BinaryCopyInWriter {
            sink,
            types: types.to_vec(),
            header: false,
        }
    }

    /// Writes one row (waits while the connection is behind; see
    /// [`CopyInSink::write`]).
    pub async fn write(&mut self, row: &[&(dyn ToSql + Sync)]) -> Result<(), Error> {
        self.encode(row)?;
        if self.sink.full() {
            poll_fn(|cx| self.sink.poll_send(cx)).await?;
        }
        Ok(())
    }

    /// Writes one row of values given as an iterator (for rows built on
    /// the fly, `&[Box<dyn ToSql + Sync>]` and the like).
    pub async fn write_iter<'v, I>(&mut self, row: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = &'v (dyn ToSql + Sync)>,
    {
        let row: Vec<&(dyn ToSql + Sync)> = row.into_iter().collect();
        self.write(&row).await
    }

    fn encode(&mut self, row: &[&(dyn ToSql + Sync)]) -> Result<(), Error> {
        if row.len() != self.types.len() {
            return Err(Error::conversion(format!(
                "a row of {} values for a COPY of {} columns",
                row.len(),
                self.types.len()
            )));
        }
        let buf = self.sink.gathered();
        if !self.header {
            buf.extend_from_slice(HEADER);
            self.header = true;
        }
        let row_start = buf.len();
        let n = i16::try_from(row.len()).map_err(|_| Error::conversion("too many columns"))?;
        buf.put_i16(n);
        for (i, (v, ty)) in row.iter().zip(&self.types).enumerate() {
            let at = buf.len();
            buf.put_i32(0);
            let len = match v.to_sql_checked(ty, buf) {
                Ok(IsNull::Yes) => Ok(-1),
                Ok(IsNull::No) => i32::try_from(buf.len() - at - 4)
                    .map_err(|_| Error::conversion("value too large to transmit")),
                Err(e) => Err(Error::with_source(
                    ErrorKind::Conversion,
                    format!("cannot encode the value of column {i} as {ty}"),
                    e,
                )),
            };
            match len {
                Ok(len) => buf[at..at + 4].copy_from_slice(&len.to_be_bytes()),
                Err(e) => {
                    // The row is left out (the header, if it went in, stays).
                    buf.truncate(row_start);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Ends the COPY and returns the rows copied (see
    /// [`CopyInSink::finish`]).
    pub async fn finish(mut self) -> Result<u64, Error> {
        let buf = self.sink.gathered();
        if !self.header {
            buf.extend_from_slice(HEADER);
        }
        buf.put_i16(-1);
        self.sink.finish().await
    }
}

/// Rows of a `COPY ... TO STDOUT (FORMAT binary)` decoded with the column
/// types given, from a [`CopyOutStream`]. A stream of [`BinaryCopyRow`]s
/// (also [`next`](BinaryCopyOutReader::next)).
pub struct BinaryCopyOutReader<'a> {
    stream: CopyOutStream<'a>,
    types: Arc<[Type]>,
    /// Bytes received and not parsed (usually empty between rows: the
    /// server sends one row per CopyData).
    pending: Bytes,
    header: bool,
    ended: bool,
}

impl std::fmt::Debug for BinaryCopyOutReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinaryCopyOutReader")
            .field("types", &self.types)
            .finish()
    }
}

impl<'a> BinaryCopyOutReader<'a> {
    /// A reader of rows whose columns have `types`.
    pub fn new(stream: CopyOutStream<'a>, types: &[Type]) -> BinaryCopyOutReader<'a> {
        BinaryCopyOutReader {
            stream,
            types: types.into(),
            pending: Bytes::new(),
            header: false,
            ended: false,
        }
    }

    /// The next row; `None` at the end.
    pub async fn next(&mut self) -> Option<Result<BinaryCopyRow, Error>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Rows the server copied, once the reader has ended.
    pub fn rows_affected(&self) -> Option<u64> {
        self.stream.rows_affected()
    }

    /// One row (or the trailer) from `pending`, if it is all there.
    fn parse(&mut self) -> Result<Option<Option<BinaryCopyRow>>, Error> {
        let p = &self.pending[..];
        let mut at = 0;
        if !self.header {
            if p.len() < 19 {
                return Ok(None);
            }
            if p[..11] != HEADER[..11] {
                return Err(Error::protocol("COPY data is not in the binary format"));
            }
            let ext = u32::from_be_bytes([p[15], p[16], p[17], p[18]]) as usize;
            if p.len() < 19 + ext {
                return Ok(None);
            }
            at = 19 + ext;
        }
        let Some(n) = p.get(at..at + 2) else {
            return Ok(None);
        };
        let n = i16::from_be_bytes([n[0], n[1]]);
        if n == -1 {
            self.header = true;
            self.pending.advance(at + 2);
            return Ok(Some(None));
        }
        if usize::try_from(n).ok() != Some(self.types.len()) {
            return Err(Error::conversion(format!(
                "a COPY row of {n} columns read with {} types",
                self.types.len()
            )));
        }
        let mut pos = at + 2;
        // `pos` from the row's start, as its spans keep it.
        let mut rel: u32 = 2;
        let mut spans = Spans::with_columns(self.types.len());
        for _ in 0..n {
            let Some(l) = p.get(pos..pos + 4) else {
                return Ok(None);
            };
            let len = i32::from_be_bytes([l[0], l[1], l[2], l[3]]);
            pos += 4;
            rel = rel.checked_add(4).ok_or_else(too_large)?;
            if len < 0 {
                spans.push(NULL_SPAN);
                continue;
            }
            let end = pos + usize::try_from(len).unwrap_or(usize::MAX - pos);
            if end > p.len() {
                return Ok(None);
            }
            let len = len.unsigned_abs();
            spans.push((rel, len));
            rel = rel.checked_add(len).ok_or_else(too_large)?;
            pos = end;
        }
        // The usual case, a chunk that is one whole row, is taken as it is
        // (no reference counts touched); else the row is cut off it.
        let body = if pos == self.pending.len() {
            let mut body = std::mem::take(&mut self.pending);
            body.advance(at);
            body
        } else {
            let body = self.pending.slice(at..pos);
            self.pending.advance(pos);
            body
        };
        self.header = true;
        Ok(Some(Some(BinaryCopyRow {
            body,
            spans,
            types: self.types.clone(),
        })))
    }
}

impl Stream for BinaryCopyOutReader<'_> {
    type Item = Result<BinaryCopyRow, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.ended {
                // Drain to the end, so the row count is known.
                return match Pin::new(&mut this.stream).poll_next(cx) {
                    Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                    Poll::Ready(Some(Ok(_))) => continue,
                    Poll::Ready(None) => Poll::Ready(None),
                    Poll::Pending => Poll::Pending,
                };
            }
            match this.parse() {
                Err(e) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Ok(Some(Some(row))) => return Poll::Ready(Some(Ok(row))),
                Ok(Some(None)) => this.ended = true,
                Ok(None) => match Pin::new(&mut this.stream).poll_next(cx) {
                    Poll::Ready(Some(Ok(chunk))) => {
                        this.pending = if this.pending.is_empty() {
                            chunk
                        } else {
                            let mut b = BytesMut::with_capacity(this.pending.len() + chunk.len());
                            b.extend_from_slice(&this.pending);
                            b.extend_from_slice(&chunk);
                            b.freeze()
                        };
                    }
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                    Poll::Ready(None) => {
                        if this.pending.is_empty() && !this.header {
                            return Poll::Ready(None);
                        }
                        return Poll::Ready(Some(Err(Error::protocol(
                            "binary COPY data ended without its trailer",
                        ))));
                    }
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }
}

/// Columns whose places a row keeps inline, without an allocation of its
/// own (wider rows keep them in a `Vec`).
const INLINE: usize = 8;

/// The span of a NULL (a value's length is below 2^31).
const NULL_SPAN: (u32, u32) = (0, u32::MAX);

fn too_large() -> Error {
    Error::protocol("a binary COPY row larger than 4 GiB")
}

/// Where each value of a row is in its body, `(start, length)`
/// ([`NULL_SPAN`] for a NULL).
#[derive(Clone)]
enum Spans {
    /// Up to [`INLINE`] columns: how many, and their spans.
    Inline(u8, [(u32, u32); INLINE]),
    Heap(Vec<(u32, u32)>),
}

impl Spans {
    #[inline]
    fn with_columns(n: usize) -> Spans {
        if n <= INLINE {
            Spans::Inline(0, [(0, 0); INLINE])
        } else {
            Spans::Heap(Vec::with_capacity(n))
        }
    }

    /// Appends a span (a reader checked the row's column count first, so
    /// an inline one never overflows; if it did, the span is dropped and
    /// the column reads as out of range).
    #[inline]
    fn push(&mut self, s: (u32, u32)) {
        match self {
            Spans::Inline(len, at) => {
                if let Some(slot) = at.get_mut(usize::from(*len)) {
                    *slot = s;
                    *len += 1;
                }
            }
            Spans::Heap(v) => v.push(s),
        }
    }

    #[inline]
    fn as_slice(&self) -> &[(u32, u32)] {
        match self {
            Spans::Inline(len, at) => &at[..usize::from(*len)],
            Spans::Heap(v) => v,
        }
    }
}

/// One row of a binary COPY OUT: its values, decoded on demand.
#[derive(Clone)]
pub struct BinaryCopyRow {
    body: Bytes,
    spans: Spans,
    types: Arc<[Type]>,
}

impl std::fmt::Debug for BinaryCopyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinaryCopyRow")
            .field("columns", &self.len())
            .finish()
    }
}

impl BinaryCopyRow {
    /// Number of columns.
    pub fn len(&self) -> usize {
        self.spans.as_slice().len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.spans.as_slice().is_empty()
    }

    /// Column `idx` as a `T`; a `Conversion` error names the column and
    /// both types when `T` does not read that type.
    pub fn try_get<'r, T: FromSql<'r>>(&'r self, idx: usize) -> Result<T, Error> {
        let spans = self.spans.as_slice();
        let (Some(&(start, len)), Some(ty)) = (spans.get(idx), self.types.get(idx)) else {
            return Err(Error::conversion(format!(
                "column {idx} out of range (the row has {})",
                spans.len()
            )));
        };
        if !T::accepts(ty) {
            return Err(Error::conversion(format!(
                "column {idx} is {ty}, which {} cannot be read from",
                std::any::type_name::<T>()
            )));
        }
        let value = if len == NULL_SPAN.1 {
            T::from_sql_null(ty)
        } else {
            // (u32 to usize: no target of this crate has a smaller usize.)
            let start = usize::try_from(start).unwrap_or(usize::MAX);
            let range = start..start.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
            match self.body.get(range) {
                Some(raw) => T::from_sql(ty, raw),
                None => return Err(Error::protocol("a binary COPY value out of its row")),
            }
        };
        value.map_err(|e| {
            Error::with_source(
                ErrorKind::Conversion,
                format!(
                    "cannot read column {idx} ({ty}) as {}",
                    std::any::type_name::<T>()
                ),
                e,
            )
        })
    }

    /// Column `idx` as a `T`.
    ///
    /// # Panics
    /// When [`try_get`](BinaryCopyRow::try_get) fails.
    pub fn get<'r, T: FromSql<'r>>(&'r self, idx: usize) -> T {
        match self.try_get(idx) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }
}
