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
                    c.ty.type_oid(),
                    c.ty.ty.typlen(),
                    c.ty.wire_typmod(),
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
        let col = cols
            .get(i)
            .map(|c| c.ty)
            .unwrap_or(ColType::plain(Type::Text));
        let ty = col.ty;
        let start = data.len();
        data.put_i32(0);
        if format_for(formats, i) == 1 {
            if let (Value::Array(items), true) = (v, col.is_vector()) {
                types::encode_binary_vector(items, ColType::array_elem(col), &mut data)?;
            } else if let (Value::Array(items), Type::Array) = (v, ty) {
                types::encode_binary_array(items, ColType::array_elem(col), &mut data)?;
            } else {
                types::encode_binary(v, ty, &mut data)?;
            }
        } else {
            data.put_slice(types::format_value(v, col).as_bytes());
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

/// A value in its type's binary format; arrays as array_send writes
/// them (dimensions, a has-NULLs flag, the element type, the elements).
pub(crate) fn encode_binary(v: &Value, ty: ColType, out: &mut BytesMut) -> Result<(), SqlError> {
    match v {
        Value::Array(items) if ty.is_vector() => {
            types::encode_binary_vector(items, ColType::array_elem(ty), out)
        }
        Value::Array(items) => types::encode_binary_array(items, ColType::array_elem(ty), out),
        _ => types::encode_binary(v, ty.ty, out),
    }
}
