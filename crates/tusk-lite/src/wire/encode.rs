//! Encoding results and errors as protocol messages: RowDescription,
//! DataRow (text and binary formats), ErrorResponse, ReadyForQuery status.

use super::*;

pub(super) fn error_response(e: &SqlError, severity: &str) -> ErrorResponse {
    let mut fields = vec![
        (b'S', severity.to_string()),
        (b'V', severity.to_string()),
        (b'C', e.code.to_string()),
        (b'M', e.message.clone()),
    ];
    if let Some(d) = &e.detail {
        fields.push((b'D', d.clone()));
    }
    if let Some(h) = &e.hint {
        fields.push((b'H', h.to_string()));
    }
    if let Some(p) = e.position {
        fields.push((b'P', p.to_string()));
    }
    if let Some(w) = &e.context {
        fields.push((b'W', w.to_string()));
    }
    if let Some(o) = &e.object {
        fields.push((b's', o.schema.clone()));
        fields.push((b't', o.table.clone()));
        if let Some(c) = &o.column {
            fields.push((b'c', c.clone()));
        }
        if let Some(n) = &o.constraint {
            fields.push((b'n', n.clone()));
        }
    }
    ErrorResponse::new(fields)
}

pub(super) fn status(s: &Session) -> TransactionStatus {
    match s.status() {
        b'T' => TransactionStatus::Transaction,
        b'E' => TransactionStatus::Error,
        _ => TransactionStatus::Idle,
    }
}

pub(super) fn row_description(cols: &[OutColumn], formats: &[i16]) -> RowDescription {
    RowDescription::new(
        cols.iter()
            .enumerate()
            .map(|(i, c)| {
                FieldDescription::new(
                    c.name.clone(),
                    i32::try_from(c.table_oid).unwrap_or(0),
                    c.attnum,
                    type_oid(c.ty),
                    c.ty.ty.typlen(),
                    // An array's typmod holds its element type here.
                    if c.ty.ty == Type::Array {
                        -1
                    } else {
                        c.ty.typmod
                    },
                    format_for(formats, i),
                )
            })
            .collect(),
    )
}

pub(super) fn format_for(formats: &[i16], i: usize) -> i16 {
    match formats.len() {
        0 => 0,
        1 => formats[0],
        _ => formats.get(i).copied().unwrap_or(0),
    }
}

pub(super) fn data_row(
    row: &[Value],
    cols: &[OutColumn],
    formats: &[i16],
) -> Result<DataRow, SqlError> {
    let mut data = BytesMut::new();
    for (i, v) in row.iter().enumerate() {
        if v.is_null() {
            data.put_i32(-1);
            continue;
        }
        let ty = cols
            .get(i)
            .map(|c| c.ty)
            .unwrap_or(ColType::plain(Type::Text));
        let start = data.len();
        data.put_i32(0);
        if format_for(formats, i) == 1 {
            encode_binary(v, ty, &mut data)?;
        } else {
            data.put_slice(types::format_text(v, ty.ty).as_bytes());
        }
        let len = i32::try_from(data.len() - start - 4).map_err(|_| {
            SqlError::new(code::PROGRAM_LIMIT_EXCEEDED, "value too large to transmit")
        })?;
        data[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }
    Ok(DataRow::new(
        data,
        i16::try_from(row.len()).unwrap_or(i16::MAX),
    ))
}

/// The OID of a column's type on the wire: an array's is the array type
/// of its element type (text[] when that is unknown).
pub(crate) fn type_oid(t: ColType) -> u32 {
    if t.ty != Type::Array {
        return t.ty.oid();
    }
    match ColType::array_elem(t) {
        Type::Bool => 1000,
        Type::Int2 => 1005,
        Type::Int4 => 1007,
        Type::Int8 => 1016,
        Type::Float4 => 1021,
        Type::Float8 => 1022,
        Type::Numeric => 1231,
        Type::Varchar => 1015,
        Type::Bpchar => 1014,
        Type::Name => 1003,
        Type::Oid => 1028,
        Type::Date => 1182,
        Type::Timestamp => 1115,
        Type::Timestamptz => 1185,
        Type::Text | Type::Array | Type::Unknown => 1009,
    }
}

/// A value in its type's binary format; arrays as array_send writes
/// them (dimensions, a has-NULLs flag, the element type, the elements).
pub(crate) fn encode_binary(v: &Value, ty: ColType, out: &mut BytesMut) -> Result<(), SqlError> {
    let Value::Array(items) = v else {
        return types::encode_binary(v, ty.ty, out);
    };
    let elem = ColType::array_elem(ty);
    out.put_i32(i32::from(!items.is_empty()));
    out.put_i32(i32::from(items.iter().any(Value::is_null)));
    out.put_u32(elem.oid());
    if !items.is_empty() {
        out.put_i32(i32::try_from(items.len()).map_err(|_| {
            SqlError::new(code::PROGRAM_LIMIT_EXCEEDED, "array too large to transmit")
        })?);
        out.put_i32(1);
    }
    for item in items {
        if item.is_null() {
            out.put_i32(-1);
            continue;
        }
        let start = out.len();
        out.put_i32(0);
        types::encode_binary(item, elem, out)?;
        let len = i32::try_from(out.len() - start - 4).map_err(|_| {
            SqlError::new(code::PROGRAM_LIMIT_EXCEEDED, "value too large to transmit")
        })?;
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}
