//! COPY's binary format (PostgreSQL's "PGCOPY" file): an 11-byte
//! signature, a flags word and a header extension, then per row a field
//! count (int16) and per field a length (int32, -1 for NULL) and the
//! value in its type's send/receive format; an int16 -1 ends the data.

use bytes::{BufMut, BytesMut};

use crate::error::{code, Result, SqlError};
use crate::types::{ColType, Type, Value};

pub const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

fn bad(msg: impl Into<String>) -> SqlError {
    SqlError::new("22P04", msg)
}

/// Rows of raw field values (None = NULL).
pub type Rows = Vec<Vec<Option<Vec<u8>>>>;

/// Reads binary COPY data that arrives in pieces of any size.
#[derive(Debug, Default)]
pub struct Reader {
    header_read: bool,
    ended: bool,
    /// Rows read so far (all pieces).
    rows: usize,
    /// The field being read when the last parse stopped (for the error
    /// CONTEXT's column).
    field: Option<usize>,
}

fn i16_at(b: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl Reader {
    /// Where a parse error happened, as PostgreSQL's CONTEXT numbers it:
    /// None in the header, else the row ("line") being read, from 1.
    pub fn error_line(&self) -> Option<usize> {
        self.header_read.then_some(self.rows + 1)
    }

    /// The field (0-based) a parse error happened in, if in one.
    pub fn error_field(&self) -> Option<usize> {
        self.field
    }

    /// Parses the whole rows at the start of `data` (each with `ncols`
    /// fields) and returns them with the number of bytes they took; the
    /// caller keeps the rest for the next piece. `last`: no more data
    /// follows, so an incomplete header or row is an error.
    pub fn parse(&mut self, data: &[u8], ncols: usize, last: bool) -> Result<(Rows, usize)> {
        let mut pos = 0;
        let mut rows = Vec::new();
        if self.ended {
            if data.is_empty() {
                return Ok((rows, 0));
            }
            return Err(bad("received copy data after EOF marker"));
        }
        if !self.header_read {
            match Self::header(data, last)? {
                None => return Ok((rows, 0)),
                Some(n) => {
                    self.header_read = true;
                    pos = n;
                }
            }
        }
        loop {
            self.field = None;
            if pos == data.len() {
                // End of data at a row boundary ends the COPY, trailer or not.
                return Ok((rows, pos));
            }
            let Some(count) = i16_at(data, pos) else {
                return Self::short(rows, pos, last);
            };
            if count == -1 {
                self.ended = true;
                if pos + 2 < data.len() {
                    return Err(bad("received copy data after EOF marker"));
                }
                return Ok((rows, data.len()));
            }
            if usize::try_from(count).ok() != Some(ncols) {
                return Err(bad(format!("row field count is {count}, expected {ncols}")));
            }
            let mut at = pos + 2;
            let mut fields = Vec::with_capacity(ncols);
            let mut complete = true;
            for k in 0..ncols {
                self.field = Some(k);
                let Some(len) = i32_at(data, at) else {
                    complete = false;
                    break;
                };
                at += 4;
                if len == -1 {
                    fields.push(None);
                    continue;
                }
                let len = usize::try_from(len).map_err(|_| bad("invalid field size"))?;
                let Some(v) = data.get(at..at + len) else {
                    complete = false;
                    break;
                };
                fields.push(Some(v.to_vec()));
                at += len;
            }
            if !complete {
                return Self::short(rows, pos, last);
            }
            rows.push(fields);
            self.rows += 1;
            pos = at;
        }
    }

    /// The rows so far, or at the end of the data an error: a row was cut.
    fn short(rows: Rows, pos: usize, last: bool) -> Result<(Rows, usize)> {
        if last {
            Err(bad("unexpected EOF in COPY data"))
        } else {
            Ok((rows, pos))
        }
    }

    /// The header's length, None when more data is needed.
    fn header(data: &[u8], last: bool) -> Result<Option<usize>> {
        let need = |ok: bool, msg: &str| -> Result<bool> {
            match (ok, last) {
                (true, _) => Ok(true),
                (false, true) => Err(bad(msg)),
                (false, false) => Ok(false),
            }
        };
        if data.iter().zip(SIGNATURE.iter()).any(|(a, b)| a != b) {
            return Err(bad("COPY file signature not recognized"));
        }
        if !need(
            data.len() >= SIGNATURE.len(),
            "COPY file signature not recognized",
        )? {
            return Ok(None);
        }
        let Some(flags) = i32_at(data, 11) else {
            need(false, "invalid COPY file header (missing flags)")?;
            return Ok(None);
        };
        if flags & (1 << 16) != 0 {
            return Err(bad("invalid COPY file header (WITH OIDS)"));
        }
        if (u32::from_ne_bytes(flags.to_ne_bytes()) & !(1 << 16)) >> 16 != 0 {
            return Err(bad("unrecognized critical flags in COPY file header"));
        }
        let Some(ext) = i32_at(data, 15) else {
            need(false, "invalid COPY file header (missing length)")?;
            return Ok(None);
        };
        let ext =
            usize::try_from(ext).map_err(|_| bad("invalid COPY file header (missing length)"))?;
        if data.len() < 19 + ext {
            need(false, "invalid COPY file header (wrong length)")?;
            return Ok(None);
        }
        Ok(Some(19 + ext))
    }
}

/// Checks a field's length before the type's receive function reads it:
/// a fixed-size value cut short is PostgreSQL's 08P01 "insufficient data
/// left in message" (too long is the receive function's 22P03).
pub fn check_field(b: &[u8], ty: Type) -> Result<()> {
    if ty == Type::Array {
        return Err(SqlError::unsupported("binary COPY FROM of array values"));
    }
    let need = match ty {
        Type::Bool => 1,
        Type::Int2 => 2,
        Type::Int4 | Type::Oid | Type::Date | Type::Float4 => 4,
        Type::Int8 | Type::Timestamp | Type::Timestamptz | Type::Float8 => 8,
        Type::Numeric | Type::Time => 8,
        Type::Uuid | Type::Interval => 16,
        _ => 0,
    };
    if b.len() < need {
        return Err(SqlError::new(
            code::PROTOCOL_VIOLATION,
            "insufficient data left in message",
        ));
    }
    Ok(())
}

/// The header of binary COPY output: signature, no flags, no extension.
pub fn write_header(out: &mut BytesMut) {
    out.put_slice(SIGNATURE);
    out.put_i32(0);
    out.put_i32(0);
}

/// The end-of-data marker.
pub fn write_trailer(out: &mut BytesMut) {
    out.put_i16(-1);
}

/// One row of binary COPY output.
pub fn write_row<'a>(
    values: impl Iterator<Item = (&'a Value, ColType)>,
    count: usize,
    out: &mut BytesMut,
) -> Result<()> {
    out.put_i16(i16::try_from(count).unwrap_or(i16::MAX));
    for (v, ty) in values {
        if v.is_null() {
            out.put_i32(-1);
            continue;
        }
        let start = out.len();
        out.put_i32(0);
        crate::wire::encode_binary(v, ty, out)?;
        let len = i32::try_from(out.len() - start - 4).map_err(|_| {
            SqlError::new(code::PROGRAM_LIMIT_EXCEEDED, "value too large to transmit")
        })?;
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut b = BytesMut::new();
        write_header(&mut b);
        write_row(
            [
                (&Value::Int(7), ColType::plain(Type::Int4)),
                (&Value::Null, ColType::plain(Type::Text)),
            ]
            .into_iter(),
            2,
            &mut b,
        )
        .unwrap();
        write_row(
            [
                (&Value::Int(8), ColType::plain(Type::Int4)),
                (&Value::Text("x".into()), ColType::plain(Type::Text)),
            ]
            .into_iter(),
            2,
            &mut b,
        )
        .unwrap();
        write_trailer(&mut b);
        b.to_vec()
    }

    #[test]
    fn rows_read_back_whole_and_in_every_split() {
        let data = sample();
        let want: Rows = vec![
            vec![Some(7i32.to_be_bytes().to_vec()), None],
            vec![Some(8i32.to_be_bytes().to_vec()), Some(b"x".to_vec())],
        ];
        let (rows, used) = Reader::default().parse(&data, 2, true).unwrap();
        assert_eq!((rows, used), (want.clone(), data.len()));
        for cut in 0..data.len() {
            let mut r = Reader::default();
            let (mut rows, used) = r.parse(&data[..cut], 2, false).unwrap();
            let rest = &data[used..];
            let (more, used2) = r.parse(rest, 2, true).unwrap();
            rows.extend(more);
            assert_eq!(rows, want, "cut at {cut}");
            assert_eq!(used2, rest.len());
        }
    }

    #[test]
    fn bad_data_is_22p04() {
        let data = sample();
        let err = |d: &[u8], n: usize| Reader::default().parse(d, n, true).unwrap_err().message;
        assert_eq!(err(b"PGCOPX\n", 2), "COPY file signature not recognized");
        assert_eq!(err(&data, 3), "row field count is 2, expected 3");
        assert_eq!(
            err(&data[..data.len() - 3], 2),
            "unexpected EOF in COPY data"
        );
        let mut extra = data.clone();
        extra.push(0);
        assert_eq!(err(&extra, 2), "received copy data after EOF marker");
        // Without the trailer, the data ends at a row boundary: fine.
        let (rows, _) = Reader::default()
            .parse(&data[..data.len() - 2], 2, true)
            .unwrap();
        assert_eq!(rows.len(), 2);
    }
}
