//! Result values to Python objects. The decoder of each column is chosen
//! once per result from its type; each row then becomes one `Record` in a
//! single pass over the bytes the server sent (binary format).

use postgres_types::{FromSql, Kind, Type};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyList, PyString, PyTuple};
use std::sync::Arc;

use crate::capi;
use crate::errors::interface;
use crate::pytypes;
use crate::record::{Desc, Record};
use crate::time::{civil_from_days, DAY_US, PG_EPOCH_DAYS};

/// How one column is turned into a Python object.
#[derive(Debug, Clone)]
pub enum Decoder {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    Text,
    Bytea,
    Json,
    Jsonb,
    Date,
    Time,
    Timestamp,
    Timestamptz,
    Interval,
    Uuid,
    Inet,
    Array(Box<Decoder>),
    /// A type without a decoder (an enum is its label): text if it is
    /// UTF-8, else the raw bytes.
    Raw,
}

impl Decoder {
    pub fn for_type(ty: &Type) -> Decoder {
        match *ty {
            Type::BOOL => Decoder::Bool,
            Type::INT2 => Decoder::Int2,
            Type::INT4 => Decoder::Int4,
            Type::INT8 => Decoder::Int8,
            Type::OID => Decoder::Oid,
            Type::FLOAT4 => Decoder::Float4,
            Type::FLOAT8 => Decoder::Float8,
            Type::NUMERIC => Decoder::Numeric,
            Type::TEXT
            | Type::VARCHAR
            | Type::BPCHAR
            | Type::NAME
            | Type::UNKNOWN
            | Type::XML
            | Type::CHAR => Decoder::Text,
            Type::BYTEA => Decoder::Bytea,
            Type::JSON => Decoder::Json,
            Type::JSONB => Decoder::Jsonb,
            Type::DATE => Decoder::Date,
            Type::TIME => Decoder::Time,
            Type::TIMESTAMP => Decoder::Timestamp,
            Type::TIMESTAMPTZ => Decoder::Timestamptz,
            Type::INTERVAL => Decoder::Interval,
            Type::UUID => Decoder::Uuid,
            Type::INET | Type::CIDR => Decoder::Inet,
            _ => match ty.kind() {
                Kind::Array(elem) => Decoder::Array(Box::new(Decoder::for_type(elem))),
                _ => Decoder::Raw,
            },
        }
    }

    pub fn decode<'py>(&self, py: Python<'py>, raw: Option<&[u8]>) -> PyResult<Bound<'py, PyAny>> {
        let Some(b) = raw else {
            return Ok(py.None().into_bound(py));
        };
        let bad = || interface(format!("malformed {self:?} value from the server"));
        macro_rules! be {
            ($t:ty) => {
                <$t>::from_be_bytes(b.try_into().map_err(|_| bad())?)
            };
        }
        Ok(match self {
            Decoder::Bool => pyo3::types::PyBool::new(py, b.first().copied().unwrap_or(0) != 0)
                .to_owned()
                .into_any(),
            Decoder::Int2 => be!(i16).into_pyobject(py)?.into_any(),
            Decoder::Int4 => be!(i32).into_pyobject(py)?.into_any(),
            Decoder::Int8 => be!(i64).into_pyobject(py)?.into_any(),
            Decoder::Oid => be!(u32).into_pyobject(py)?.into_any(),
            Decoder::Float4 => PyFloat::new(py, f64::from(be!(f32))).into_any(),
            Decoder::Float8 => PyFloat::new(py, be!(f64)).into_any(),
            Decoder::Numeric => {
                let n = tusk::types::Numeric::from_sql(&Type::NUMERIC, b)
                    .map_err(|e| interface(e.to_string()))?;
                pytypes::decimal(py)?.call1((n.as_str(),))?
            }
            Decoder::Text => {
                PyString::new(py, std::str::from_utf8(b).map_err(|_| bad())?).into_any()
            }
            Decoder::Bytea => PyBytes::new(py, b).into_any(),
            Decoder::Json => pytypes::json_loads(py)?.call1((PyString::new(
                py,
                std::str::from_utf8(b).map_err(|_| bad())?,
            ),))?,
            Decoder::Jsonb => {
                let text = b.get(1..).ok_or_else(bad)?;
                pytypes::json_loads(py)?.call1((PyString::new(
                    py,
                    std::str::from_utf8(text).map_err(|_| bad())?,
                ),))?
            }
            Decoder::Date => {
                let d = be!(i32);
                match d {
                    i32::MAX => pytypes::date(py)?.getattr("max")?,
                    i32::MIN => pytypes::date(py)?.getattr("min")?,
                    _ => {
                        let (y, m, d) = civil_from_days(i64::from(d) + PG_EPOCH_DAYS);
                        capi::date(py, y, m, d)?
                    }
                }
            }
            Decoder::Time => {
                let (h, mi, s, us) = hms(be!(i64));
                capi::time(py, h, mi, s, us)?
            }
            Decoder::Timestamp | Decoder::Timestamptz => {
                let us = be!(i64);
                let tz = matches!(self, Decoder::Timestamptz);
                match us {
                    i64::MAX | i64::MIN => {
                        let v = pytypes::datetime(py)?.getattr(if us == i64::MAX {
                            "max"
                        } else {
                            "min"
                        })?;
                        if tz {
                            let kw = PyDict::new(py);
                            kw.set_item("tzinfo", pytypes::utc(py)?)?;
                            v.call_method("replace", (), Some(&kw))?
                        } else {
                            v
                        }
                    }
                    _ => {
                        let days = us.div_euclid(DAY_US);
                        let (y, m, d) = civil_from_days(days + PG_EPOCH_DAYS);
                        let (h, mi, s, micro) = hms(us.rem_euclid(DAY_US));
                        capi::datetime(py, (y, m, d), (h, mi, s, micro), tz)?
                    }
                }
            }
            Decoder::Interval => {
                if b.len() != 16 {
                    return Err(bad());
                }
                let micros = i64::from_be_bytes(b[0..8].try_into().map_err(|_| bad())?);
                let days = i32::from_be_bytes(b[8..12].try_into().map_err(|_| bad())?);
                let months = i32::from_be_bytes(b[12..16].try_into().map_err(|_| bad())?);
                // timedelta has no months: a month is 30 days, as PostgreSQL's
                // own interval comparison counts it.
                let secs = micros.div_euclid(1_000_000);
                let days = i64::from(days) + i64::from(months) * 30 + secs.div_euclid(86_400);
                capi::timedelta(
                    py,
                    days,
                    secs.rem_euclid(86_400),
                    micros.rem_euclid(1_000_000),
                )?
            }
            Decoder::Uuid => {
                let kw = PyDict::new(py);
                kw.set_item("bytes", PyBytes::new(py, b))?;
                pytypes::uuid(py)?.call((), Some(&kw))?
            }
            Decoder::Inet => inet(py, b)?,
            Decoder::Array(elem) => array(py, elem, b)?,
            Decoder::Raw => match std::str::from_utf8(b) {
                Ok(s) => PyString::new(py, s).into_any(),
                Err(_) => PyBytes::new(py, b).into_any(),
            },
        })
    }
}

fn hms(us: i64) -> (i64, i64, i64, i64) {
    let s = us / 1_000_000;
    (s / 3600, (s / 60) % 60, s % 60, us % 1_000_000)
}

/// inet/cidr: family, bits, is_cidr, length, address bytes.
fn inet<'py>(py: Python<'py>, b: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let bad = || interface("malformed inet value from the server");
    let (&family, rest) = b.split_first().ok_or_else(bad)?;
    let (&bits, rest) = rest.split_first().ok_or_else(bad)?;
    let (&is_cidr, rest) = rest.split_first().ok_or_else(bad)?;
    let addr = rest.get(1..).ok_or_else(bad)?;
    let text = match (family, addr.len()) {
        (2, 4) => std::net::Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).to_string(),
        (3, 16) => {
            let a: [u8; 16] = addr.try_into().map_err(|_| bad())?;
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => return Err(bad()),
    };
    let full = if family == 2 { 32 } else { 128 };
    if is_cidr != 0 {
        return pytypes::ip_network(py)?.call1((format!("{text}/{bits}"),));
    }
    if bits == full {
        pytypes::ip_address(py)?.call1((text,))
    } else {
        pytypes::ip_interface(py)?.call1((format!("{text}/{bits}"),))
    }
}

/// A binary array as nested lists; NULL elements are None.
fn array<'py>(py: Python<'py>, elem: &Decoder, b: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let bad = || interface("malformed array value from the server");
    let rd = |pos: usize| -> PyResult<i32> {
        let s = b.get(pos..pos + 4).ok_or_else(bad)?;
        Ok(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    let ndim = usize::try_from(rd(0)?).map_err(|_| bad())?;
    let mut pos = 12;
    let mut dims = Vec::with_capacity(ndim);
    for _ in 0..ndim {
        dims.push(usize::try_from(rd(pos)?).map_err(|_| bad())?);
        pos += 8;
    }
    let total: usize = if ndim == 0 { 0 } else { dims.iter().product() };
    let mut flat = Vec::with_capacity(total);
    for _ in 0..total {
        let len = rd(pos)?;
        pos += 4;
        if len < 0 {
            flat.push(elem.decode(py, None)?);
        } else {
            let n = usize::try_from(len).map_err(|_| bad())?;
            let v = b.get(pos..pos + n).ok_or_else(bad)?;
            flat.push(elem.decode(py, Some(v))?);
            pos += n;
        }
    }
    if ndim == 0 {
        return Ok(PyList::empty(py).into_any());
    }
    nest(py, &dims, &mut flat.into_iter())
}

fn nest<'py>(
    py: Python<'py>,
    dims: &[usize],
    it: &mut impl Iterator<Item = Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let list = PyList::empty(py);
    match dims {
        [] => {}
        [n] => {
            for _ in 0..*n {
                if let Some(v) = it.next() {
                    list.append(v)?;
                }
            }
        }
        [n, rest @ ..] => {
            for _ in 0..*n {
                list.append(nest(py, rest, it)?)?;
            }
        }
    }
    Ok(list.into_any())
}

/// The decoders and names of a result's columns.
pub fn describe(py: Python<'_>, columns: &[tusk::Column]) -> PyResult<Arc<Desc>> {
    let names = PyTuple::new(py, columns.iter().map(|c| c.name()))?;
    let index = PyDict::new(py);
    for (i, c) in columns.iter().enumerate().rev() {
        index.set_item(c.name(), i)?;
    }
    Ok(Arc::new(Desc {
        names: names.unbind(),
        index: index.unbind(),
        decoders: columns
            .iter()
            .map(|c| Decoder::for_type(c.type_()))
            .collect(),
    }))
}

/// One row as a `Record`.
pub fn record(py: Python<'_>, desc: &Arc<Desc>, row: &tusk::Row) -> PyResult<Record> {
    let mut values = Vec::with_capacity(desc.decoders.len());
    for (i, d) in desc.decoders.iter().enumerate() {
        values.push(d.decode(py, row.raw(i))?.unbind());
    }
    Ok(Record {
        desc: desc.clone(),
        values: values.into_boxed_slice(),
    })
}

/// One row as a `Record` object, untracked by the cyclic GC (see
/// [`capi::untrack`]).
pub fn new_record<'py>(
    py: Python<'py>,
    desc: &Arc<Desc>,
    row: &tusk::Row,
) -> PyResult<Bound<'py, Record>> {
    let r = Bound::new(py, record(py, desc, row)?)?;
    capi::untrack(r.as_any());
    Ok(r)
}

/// Every row as a list of `Record`s.
pub fn records<'py>(py: Python<'py>, rows: &[tusk::Row]) -> PyResult<Bound<'py, PyList>> {
    let Some(first) = rows.first() else {
        return Ok(PyList::empty(py));
    };
    let desc = describe(py, first.columns())?;
    pytypes::without_gc(py, rows.len(), || {
        let recs = rows
            .iter()
            .map(|r| new_record(py, &desc, r))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, recs)
    })
}
