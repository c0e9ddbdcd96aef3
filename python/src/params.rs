//! Python values to query parameters. Each value is converted once, with
//! the GIL, when the query is built; the type is taken from the Python
//! value (so no casts are needed in SQL) and a value that cannot be encoded
//! fails here, before anything is sent.

use bytes::{BufMut, BytesMut};
use postgres_types::{IsNull, ToSql, Type, WrongType};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use std::error::Error as StdError;
use std::str::FromStr;

use crate::errors::interface;
use crate::pytypes;
use crate::time::{days_from_civil, DAY_US, PG_EPOCH_DAYS};

type BoxError = Box<dyn StdError + Sync + Send>;

/// One parameter, ready to encode without the GIL.
#[derive(Debug, Clone)]
pub enum Param {
    /// NULL: accepted as any type (sent untyped, the server infers it).
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text: sent untyped, so a `str` works for text, uuid, enum, inet, date columns alike.
    Text(String),
    /// The server's literal for a value whose type only the query can
    /// name (a `tusk.Range`, an `ipaddress` value): sent untyped like
    /// `Text`, and makes a list holding it an untyped array literal.
    Literal(String),
    Bytes(Vec<u8>),
    Numeric(tusk::types::Numeric),
    Timestamptz(i64),
    Timestamp(i64),
    Date(i32),
    Time(i64),
    Interval {
        micros: i64,
        days: i32,
    },
    Uuid([u8; 16]),
    /// JSON text: sent untyped, so it fits json and jsonb.
    Json(String),
    Array(Array),
}

/// A (possibly multi-dimensional) array of one element type.
#[derive(Debug, Clone)]
pub struct Array {
    elem: Type,
    array: Type,
    dims: Vec<i32>,
    items: Vec<Param>,
}

impl Param {
    /// The one type this value is sent as, None for NULL (any).
    fn ty(&self) -> Option<Type> {
        Some(match self {
            Param::Null => return None,
            Param::Bool(_) => Type::BOOL,
            Param::Int(_) => Type::INT8,
            Param::Float(_) => Type::FLOAT8,
            Param::Text(_) | Param::Literal(_) => Type::TEXT,
            Param::Bytes(_) => Type::BYTEA,
            Param::Numeric(_) => Type::NUMERIC,
            Param::Timestamptz(_) => Type::TIMESTAMPTZ,
            Param::Timestamp(_) => Type::TIMESTAMP,
            Param::Date(_) => Type::DATE,
            Param::Time(_) => Type::TIME,
            Param::Interval { .. } => Type::INTERVAL,
            Param::Uuid(_) => Type::UUID,
            Param::Json(_) => Type::JSON,
            Param::Array(a) => a.array.clone(),
        })
    }

    /// Encodes the value in binary as `ty` (the element form, for jsonb in arrays).
    fn encode(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Param::Null => return Ok(IsNull::Yes),
            Param::Bool(b) => out.put_u8(u8::from(*b)),
            Param::Int(i) => out.put_i64(*i),
            Param::Float(f) => out.put_f64(*f),
            Param::Text(s) | Param::Literal(s) => out.put_slice(s.as_bytes()),
            Param::Bytes(b) => out.put_slice(b),
            Param::Numeric(n) => return n.to_sql(&Type::NUMERIC, out),
            Param::Timestamptz(us) | Param::Timestamp(us) | Param::Time(us) => out.put_i64(*us),
            Param::Date(d) => out.put_i32(*d),
            Param::Interval { micros, days } => {
                out.put_i64(*micros);
                out.put_i32(*days);
                out.put_i32(0);
            }
            Param::Uuid(u) => out.put_slice(u),
            Param::Json(s) => {
                if *ty == Type::JSONB {
                    out.put_u8(1);
                }
                out.put_slice(s.as_bytes());
            }
            Param::Array(a) => a.encode(out)?,
        }
        Ok(IsNull::No)
    }
}

impl Array {
    fn encode(&self, out: &mut BytesMut) -> Result<(), BoxError> {
        let ndim = i32::try_from(self.dims.len())?;
        out.put_i32(ndim);
        out.put_i32(i32::from(
            self.items.iter().any(|p| matches!(p, Param::Null)),
        ));
        out.put_u32(self.elem.oid());
        for d in &self.dims {
            out.put_i32(*d);
            out.put_i32(1);
        }
        for item in &self.items {
            let at = out.len();
            out.put_i32(0);
            let len = match item.encode(&self.elem, out)? {
                IsNull::Yes => -1,
                IsNull::No => i32::try_from(out.len() - at - 4)
                    .map_err(|_| "an array element is too large to transmit")?,
            };
            out[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        Ok(())
    }
}

impl ToSql for Param {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.encode(ty, out)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self.ty() {
            Some(t) if t != *ty => Err(Box::new(WrongType::new::<Param>(ty.clone()))),
            _ => self.encode(ty, out),
        }
    }
}

/// The array type of an element type tusk sends.
fn array_of(elem: &Type) -> Option<Type> {
    Some(match *elem {
        Type::BOOL => Type::BOOL_ARRAY,
        Type::INT8 => Type::INT8_ARRAY,
        Type::FLOAT8 => Type::FLOAT8_ARRAY,
        Type::TEXT => Type::TEXT_ARRAY,
        Type::BYTEA => Type::BYTEA_ARRAY,
        Type::NUMERIC => Type::NUMERIC_ARRAY,
        Type::TIMESTAMPTZ => Type::TIMESTAMPTZ_ARRAY,
        Type::TIMESTAMP => Type::TIMESTAMP_ARRAY,
        Type::DATE => Type::DATE_ARRAY,
        Type::TIME => Type::TIME_ARRAY,
        Type::INTERVAL => Type::INTERVAL_ARRAY,
        Type::UUID => Type::UUID_ARRAY,
        Type::JSON => Type::JSONB_ARRAY,
        _ => return None,
    })
}

fn i64_attr(o: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    o.getattr(name)?.extract()
}

/// Microseconds since midnight of a `datetime.time` or the time part of a `datetime`.
fn time_micros(o: &Bound<'_, PyAny>) -> PyResult<i64> {
    Ok(
        ((i64_attr(o, "hour")? * 60 + i64_attr(o, "minute")?) * 60 + i64_attr(o, "second")?)
            * 1_000_000
            + i64_attr(o, "microsecond")?,
    )
}

fn date_days(o: &Bound<'_, PyAny>) -> PyResult<i64> {
    Ok(days_from_civil(
        i64_attr(o, "year")?,
        i64_attr(o, "month")?,
        i64_attr(o, "day")?,
    ) - PG_EPOCH_DAYS)
}

fn delta_micros(o: &Bound<'_, PyAny>) -> PyResult<(i64, i64)> {
    Ok((
        i64_attr(o, "days")?,
        i64_attr(o, "seconds")? * 1_000_000 + i64_attr(o, "microseconds")?,
    ))
}

/// Converts one Python value.
pub fn from_py(o: &Bound<'_, PyAny>) -> PyResult<Param> {
    let py = o.py();
    if o.is_none() {
        return Ok(Param::Null);
    }
    if o.is_instance_of::<PyBool>() {
        return Ok(Param::Bool(o.extract()?));
    }
    if o.is_instance_of::<PyInt>() {
        return Ok(match o.extract::<i64>() {
            Ok(i) => Param::Int(i),
            Err(_) => Param::Numeric(numeric(&o.str()?.to_cow()?)?),
        });
    }
    if o.is_instance_of::<PyFloat>() {
        return Ok(Param::Float(o.extract()?));
    }
    if let Ok(s) = o.cast::<PyString>() {
        let s = s.to_cow()?;
        if s.contains('\0') {
            return Err(interface(
                "a str parameter contains a NUL character, which PostgreSQL text cannot hold",
            ));
        }
        return Ok(Param::Text(s.into_owned()));
    }
    if let Ok(b) = o.cast::<PyBytes>() {
        return Ok(Param::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(b) = o.cast::<PyByteArray>() {
        return Ok(Param::Bytes(b.to_vec()));
    }
    if o.is_instance(pytypes::decimal(py)?)? {
        return Ok(Param::Numeric(numeric(&o.str()?.to_cow()?)?));
    }
    if o.is_instance(pytypes::datetime(py)?)? {
        let days = date_days(o)?;
        let mut us = days * DAY_US + time_micros(o)?;
        let offset = o.call_method0("utcoffset")?;
        if offset.is_none() {
            return Ok(Param::Timestamp(us));
        }
        let (d, m) = delta_micros(&offset)?;
        us -= d * DAY_US + m;
        return Ok(Param::Timestamptz(us));
    }
    if o.is_instance(pytypes::date(py)?)? {
        let d = i32::try_from(date_days(o)?).map_err(|_| interface("date out of range"))?;
        return Ok(Param::Date(d));
    }
    if o.is_instance(pytypes::time(py)?)? {
        if !o.getattr("tzinfo")?.is_none() {
            return Err(interface(
                "a time with a tzinfo (timetz) is not supported as a parameter; pass a naive time",
            ));
        }
        return Ok(Param::Time(time_micros(o)?));
    }
    if o.is_instance(pytypes::timedelta(py)?)? {
        let (days, micros) = delta_micros(o)?;
        let days = i32::try_from(days).map_err(|_| interface("timedelta out of range"))?;
        return Ok(Param::Interval { micros, days });
    }
    if o.is_instance(pytypes::uuid(py)?)? {
        let b = o.getattr("bytes")?;
        let b = b.cast::<PyBytes>()?;
        let u: [u8; 16] = b
            .as_bytes()
            .try_into()
            .map_err(|_| interface("a UUID's bytes are not 16 bytes"))?;
        return Ok(Param::Uuid(u));
    }
    if o.is_instance_of::<PyDict>() {
        let s: String = pytypes::json_dumps(py)?.call1((o,))?.extract()?;
        return Ok(Param::Json(s));
    }
    if o.is_instance_of::<PyList>() || o.is_instance_of::<PyTuple>() {
        return array(o);
    }
    if o.is_instance(pytypes::range(py)?)? {
        // Sent as the server's literal, untyped: the query or the column
        // says which range type it is.
        let text: String = o.call_method0("_literal")?.extract()?;
        return Ok(Param::Literal(text));
    }
    let module: String = o.get_type().getattr("__module__")?.extract()?;
    if module == "ipaddress" {
        return Ok(Param::Literal(o.str()?.to_cow()?.into_owned()));
    }
    Err(interface(format!(
        "cannot send a value of Python type {} as a parameter",
        o.get_type().name()?
    )))
}

fn numeric(s: &str) -> PyResult<tusk::types::Numeric> {
    tusk::types::Numeric::from_str(s)
        .map_err(|e| interface(format!("cannot send {s:?} as numeric: {e}")))
}

/// A list (or tuple) as an array: nested lists are dimensions, all of one
/// length; every element has the same type; None is NULL.
fn array(o: &Bound<'_, PyAny>) -> PyResult<Param> {
    let mut dims = Vec::new();
    let mut items = Vec::new();
    flatten(o, 0, &mut dims, &mut items)?;
    if items.iter().any(|p| matches!(p, Param::Literal(_)))
        && items
            .iter()
            .all(|p| matches!(p, Param::Literal(_) | Param::Text(_) | Param::Null))
    {
        // Ranges or network addresses: their array type is the query's to
        // say (int4range[], tstzrange[], inet[], ...), so the array goes as
        // the server's untyped literal, like its elements do.
        let mut out = String::new();
        array_literal(&dims, &mut items.iter(), &mut out);
        return Ok(Param::Literal(out));
    }
    let mut elem: Option<Type> = None;
    for p in &items {
        if let Param::Array(_) = p {
            return Err(interface(
                "array elements must be scalars (nest lists for dimensions)",
            ));
        }
        if let Some(t) = p.ty() {
            match &elem {
                None => elem = Some(t),
                Some(e) if *e == t => {}
                Some(e) => {
                    return Err(interface(format!(
                        "array elements must all have one type, found {} and {}",
                        e.name(),
                        t.name()
                    )))
                }
            }
        }
    }
    let Some(elem) = elem else {
        // Empty or all NULL: the server infers the array's type from the query.
        let n = items.len();
        if n == 0 {
            return Ok(Param::Text("{}".into()));
        }
        return Ok(Param::Text(format!("{{{}}}", vec!["NULL"; n].join(","))));
    };
    let array = array_of(&elem)
        .ok_or_else(|| interface(format!("arrays of {} are not supported", elem.name())))?;
    let elem = if elem == Type::JSON {
        Type::JSONB
    } else {
        elem
    };
    Ok(Param::Array(Array {
        elem,
        array,
        dims,
        items,
    }))
}

/// Writes `{...}` for the next elements of `items` in the shape `dims`,
/// each element double-quoted (so commas, braces and quotes in a range's
/// text stay inside it) and NULL unquoted.
fn array_literal<'a>(dims: &[i32], items: &mut impl Iterator<Item = &'a Param>, out: &mut String) {
    out.push('{');
    for i in 0..dims.first().copied().unwrap_or(0) {
        if i > 0 {
            out.push(',');
        }
        if dims.len() > 1 {
            array_literal(&dims[1..], items, out);
            continue;
        }
        match items.next() {
            Some(Param::Text(s) | Param::Literal(s)) => {
                out.push('"');
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            _ => out.push_str("NULL"),
        }
    }
    out.push('}');
}

fn flatten(
    o: &Bound<'_, PyAny>,
    depth: usize,
    dims: &mut Vec<i32>,
    items: &mut Vec<Param>,
) -> PyResult<()> {
    let n = o.len()?;
    let n32 = i32::try_from(n).map_err(|_| interface("array too large"))?;
    if depth == dims.len() {
        dims.push(n32);
    } else if dims[depth] != n32 {
        return Err(interface(
            "a multi-dimensional array must have sub-arrays of one length",
        ));
    }
    for item in o.try_iter()? {
        let item = item?;
        let nested = item.is_instance_of::<PyList>() || item.is_instance_of::<PyTuple>();
        if nested {
            flatten(&item, depth + 1, dims, items)?;
        } else {
            if depth + 1 < dims.len() {
                return Err(interface(
                    "a multi-dimensional array mixes scalars and sub-arrays",
                ));
            }
            items.push(from_py(&item)?);
        }
    }
    Ok(())
}

/// Converts every parameter of a call.
pub fn from_args(args: &Bound<'_, PyTuple>) -> PyResult<Vec<Param>> {
    args.iter().map(|a| from_py(&a)).collect()
}
