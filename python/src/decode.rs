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
    /// A range of the element type, as `tusk.Range`.
    Range(Box<Decoder>),
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
                Kind::Range(elem) => Decoder::Range(Box::new(Decoder::for_type(elem))),
                _ => Decoder::Raw,
            },
        }
    }

    /// The decoder of a type by OID (a type without one: `Raw`).
    pub fn for_oid(oid: u32) -> Decoder {
        Type::from_oid(oid).map_or(Decoder::Raw, |t| Decoder::for_type(&t))
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
            Decoder::Range(elem) => range(py, elem, b)?,
            Decoder::Raw if array_elem(b).is_some() => {
                let elem = array_elem(b).map(Decoder::for_oid).unwrap_or(Decoder::Raw);
                array(py, &elem, b)?
            }
            Decoder::Raw => match composite(py, b)? {
                Some(t) => t,
                None => match std::str::from_utf8(b) {
                    Ok(s) => PyString::new(py, s).into_any(),
                    Err(_) => PyBytes::new(py, b).into_any(),
                },
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

/// A binary range: flags, then each finite bound as length and bytes.
fn range<'py>(py: Python<'py>, elem: &Decoder, b: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    const EMPTY: u8 = 0x01;
    const LB_INC: u8 = 0x02;
    const UB_INC: u8 = 0x04;
    const LB_INF: u8 = 0x08;
    const UB_INF: u8 = 0x10;
    let bad = || interface("malformed range value from the server");
    let (&flags, mut rest) = b.split_first().ok_or_else(bad)?;
    let cls = pytypes::range(py)?;
    if flags & EMPTY != 0 {
        let kw = PyDict::new(py);
        kw.set_item("empty", true)?;
        return cls.call((), Some(&kw));
    }
    let mut bound = |infinite: bool| -> PyResult<Bound<'py, PyAny>> {
        if infinite {
            return Ok(py.None().into_bound(py));
        }
        let len = rest.get(..4).ok_or_else(bad)?;
        let n = usize::try_from(i32::from_be_bytes([len[0], len[1], len[2], len[3]]))
            .map_err(|_| bad())?;
        let v = rest.get(4..4 + n).ok_or_else(bad)?;
        rest = &rest[4 + n..];
        elem.decode(py, Some(v))
    };
    let lower = bound(flags & LB_INF != 0)?;
    let upper = bound(flags & UB_INF != 0)?;
    let bounds = match (flags & LB_INC != 0, flags & UB_INC != 0) {
        (true, false) => "[)",
        (false, true) => "(]",
        (true, true) => "[]",
        (false, false) => "()",
    };
    cls.call1((lower, upper, bounds))
}

/// The element type of a value of a type the driver has no name for
/// (an array of enums or of composites), when its bytes are a whole
/// binary array: dimensions, NULL flag, element OID, then every element's
/// length and bytes, exactly to the end.
fn array_elem(b: &[u8]) -> Option<u32> {
    let word = |pos: usize| -> Option<i32> {
        Some(i32::from_be_bytes(b.get(pos..pos + 4)?.try_into().ok()?))
    };
    let ndim = usize::try_from(word(0)?).ok().filter(|n| *n <= 6)?;
    if !matches!(word(4)?, 0 | 1) {
        return None;
    }
    let elem = u32::from_be_bytes(word(8)?.to_be_bytes());
    if elem == 0 {
        return None;
    }
    let mut total = usize::from(ndim > 0);
    for d in 0..ndim {
        total = total.checked_mul(usize::try_from(word(12 + 8 * d)?).ok()?)?;
    }
    let mut pos = 12 + 8 * ndim;
    for _ in 0..total {
        let len = word(pos)?;
        pos += 4;
        if len >= 0 {
            pos = pos.checked_add(usize::try_from(len).ok()?)?;
        } else if len != -1 {
            return None;
        }
    }
    (pos == b.len()).then_some(elem)
}

/// A value of a type the driver has no name for, read as a composite
/// (a row type) when its bytes are one: the binary form of a composite
/// describes itself (field count, then each field's type OID, length and
/// bytes), and starts with a zero byte that no enum label or other text
/// can hold. Fields become a tuple, each decoded by its own type.
fn composite<'py>(py: Python<'py>, b: &[u8]) -> PyResult<Option<Bound<'py, PyAny>>> {
    let word = |pos: usize| -> Option<[u8; 4]> { b.get(pos..pos + 4)?.try_into().ok() };
    if b.first() != Some(&0) {
        return Ok(None);
    }
    let Some(n) = word(0).map(i32::from_be_bytes) else {
        return Ok(None);
    };
    // (A row of no columns is left to the fallback: four zero bytes are
    // too likely to be something else.)
    let Ok(n @ 1..) = usize::try_from(n) else {
        return Ok(None);
    };
    let mut fields = Vec::with_capacity(n.min(1664));
    let mut pos = 4;
    for _ in 0..n {
        let (Some(oid), Some(len)) = (word(pos), word(pos + 4)) else {
            return Ok(None);
        };
        let (oid, len) = (u32::from_be_bytes(oid), i32::from_be_bytes(len));
        pos += 8;
        if oid == 0 {
            return Ok(None);
        }
        let value = match usize::try_from(len) {
            Err(_) if len == -1 => None,
            Err(_) => return Ok(None),
            Ok(l) => {
                let Some(v) = b.get(pos..pos + l) else {
                    return Ok(None);
                };
                pos += l;
                Some(v)
            }
        };
        fields.push((oid, value));
    }
    if pos != b.len() {
        return Ok(None);
    }
    let values = fields
        .into_iter()
        .map(|(oid, v)| Decoder::for_oid(oid).decode(py, v))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(Some(PyTuple::new(py, values)?.into_any()))
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

#[cfg(test)]
mod tests {
    use super::array_elem;

    fn be(v: i32) -> [u8; 4] {
        v.to_be_bytes()
    }

    #[test]
    fn recognises_whole_binary_arrays_only() {
        // One dimension of two elements (the second NULL) of type 16400.
        let mut a = Vec::new();
        for w in [1, 1, 16400, 2, 1, 3] {
            a.extend(be(w));
        }
        a.extend(b"mon");
        a.extend(be(-1));
        assert_eq!(array_elem(&a), Some(16400));
        // Truncated, or with bytes left over: not an array.
        assert_eq!(array_elem(&a[..a.len() - 1]), None);
        let mut longer = a.clone();
        longer.push(0);
        assert_eq!(array_elem(&longer), None);
        // An empty array is its 12-byte header.
        let empty: Vec<u8> = [0, 0, 16400].into_iter().flat_map(be).collect();
        assert_eq!(array_elem(&empty), Some(16400));
        // Enum labels and other text never start with a zero byte.
        assert_eq!(array_elem(b"happy"), None);
        assert_eq!(array_elem(b""), None);
        // A composite (2 fields: int4 7, text "x") is not an array.
        let mut c = Vec::new();
        for w in [2, 23, 4, 7, 25, 1] {
            c.extend(be(w));
        }
        c.push(b'x');
        assert_eq!(array_elem(&c), None);
    }
}
