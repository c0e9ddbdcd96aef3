//! COPY for Python: `copy_in` from bytes, str, iterables, async iterables
//! and file objects; `copy_records_to_table` encoding Python tuples to the
//! binary format in Rust; `copy_out` as chunks or into a file object.
//!
//! The data moves in batches: a batch is gathered (or encoded) with the
//! GIL held, then sent with the driver's backpressure (at most
//! `tusk::copy::COPY_IN_BUFFER` bytes queued), so memory does not grow with
//! the size of the source. A source that raises drops the driver's sink,
//! which sends CopyFail: the server rolls the COPY back and the connection
//! stays usable; the caller gets the source's own exception.

use std::future::poll_fn;
use std::pin::Pin;
use std::str::FromStr;
use std::task::Poll;

use bytes::{BufMut, Bytes, BytesMut};
use futures_core::Stream;
use postgres_types::{Kind, Type};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};

use crate::awaitable::{yield_to_loop, PyAwait};
use crate::capi;
use crate::core::{self, Target};
use crate::errors::{interface, to_py};
use crate::pytypes;
use crate::time::{days_from_civil, DAY_US, PG_EPOCH_DAYS};

/// Bytes gathered (or encoded) with the GIL before they are sent.
const BATCH: usize = 256 * 1024;

// ---- SQL ----------------------------------------------------------------

/// `"name"`, with inner quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `E'text'`, with quotes and backslashes escaped (whatever
/// standard_conforming_strings says).
fn quote_literal(s: &str) -> String {
    format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// The options of a COPY built from a table name (or a query).
#[derive(Default)]
pub struct CopyOptions {
    pub format: Option<String>,
    pub columns: Option<Vec<String>>,
    pub schema_name: Option<String>,
    pub delimiter: Option<String>,
    pub null: Option<String>,
    pub header: Option<bool>,
    pub quote: Option<String>,
    pub escape: Option<String>,
    pub encoding: Option<String>,
    pub freeze: Option<bool>,
    pub force_quote: Option<Vec<String>>,
    pub force_not_null: Option<Vec<String>>,
    pub force_null: Option<Vec<String>>,
    pub where_: Option<String>,
}

impl CopyOptions {
    fn any(&self) -> bool {
        self.format.is_some()
            || self.columns.is_some()
            || self.schema_name.is_some()
            || self.delimiter.is_some()
            || self.null.is_some()
            || self.header.is_some()
            || self.quote.is_some()
            || self.escape.is_some()
            || self.encoding.is_some()
            || self.freeze.is_some()
            || self.force_quote.is_some()
            || self.force_not_null.is_some()
            || self.force_null.is_some()
            || self.where_.is_some()
    }

    fn table(&self, table: &str) -> String {
        let mut s = String::new();
        if let Some(schema) = &self.schema_name {
            s.push_str(&quote_ident(schema));
            s.push('.');
        }
        s.push_str(&quote_ident(table));
        if let Some(cols) = &self.columns {
            s.push_str(" (");
            s.push_str(&idents(cols));
            s.push(')');
        }
        s
    }

    fn with(&self) -> PyResult<String> {
        let mut o: Vec<String> = Vec::new();
        if let Some(f) = &self.format {
            let f = f.to_ascii_lowercase();
            if !matches!(f.as_str(), "text" | "csv" | "binary") {
                return Err(interface(format!(
                    "unknown COPY format {f:?}: use \"text\", \"csv\" or \"binary\""
                )));
            }
            o.push(format!("FORMAT {f}"));
        }
        let lit = |name: &str, v: &Option<String>, o: &mut Vec<String>| {
            if let Some(v) = v {
                o.push(format!("{name} {}", quote_literal(v)));
            }
        };
        lit("DELIMITER", &self.delimiter, &mut o);
        lit("NULL", &self.null, &mut o);
        if let Some(h) = self.header {
            o.push(format!("HEADER {h}"));
        }
        lit("QUOTE", &self.quote, &mut o);
        lit("ESCAPE", &self.escape, &mut o);
        lit("ENCODING", &self.encoding, &mut o);
        if let Some(f) = self.freeze {
            o.push(format!("FREEZE {f}"));
        }
        let cols = |name: &str, v: &Option<Vec<String>>, o: &mut Vec<String>| {
            if let Some(v) = v {
                o.push(format!("{name} ({})", idents(v)));
            }
        };
        cols("FORCE_QUOTE", &self.force_quote, &mut o);
        cols("FORCE_NOT_NULL", &self.force_not_null, &mut o);
        cols("FORCE_NULL", &self.force_null, &mut o);
        Ok(if o.is_empty() {
            String::new()
        } else {
            format!(" WITH ({})", o.join(", "))
        })
    }
}

fn idents(cols: &[String]) -> String {
    cols.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first word of `sql`, lowercased.
fn first_word(sql: &str) -> String {
    sql.trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Whether `s` is a whole COPY statement rather than a table name.
fn is_copy_statement(s: &str) -> bool {
    let t = s.trim_start();
    first_word(t) == "copy" && t[4..].starts_with(|c: char| c.is_whitespace())
}

/// The `COPY ... FROM STDIN` for `copy_in(table_or_sql, ...)`.
pub fn copy_in_sql(table_or_sql: &str, o: &CopyOptions) -> PyResult<String> {
    if is_copy_statement(table_or_sql) {
        if o.any() {
            return Err(interface(
                "copy_in was given a COPY statement and options: put the options in the statement",
            ));
        }
        return Ok(table_or_sql.to_string());
    }
    if o.force_quote.is_some() {
        return Err(interface("force_quote is an option of COPY TO (copy_out)"));
    }
    let mut s = format!("COPY {} FROM STDIN{}", o.table(table_or_sql), o.with()?);
    if let Some(w) = &o.where_ {
        s.push_str(" WHERE ");
        s.push_str(w);
    }
    Ok(s)
}

/// The `COPY ... TO STDOUT` for `copy_out(sql_or_table, ...)`: a COPY
/// statement as it is; a query (`SELECT`, `WITH`, `VALUES`, `TABLE`, or
/// one in parentheses) wrapped; anything else is a table name.
pub fn copy_out_sql(sql_or_table: &str, o: &CopyOptions) -> PyResult<String> {
    if is_copy_statement(sql_or_table) {
        if o.any() {
            return Err(interface(
                "copy_out was given a COPY statement and options: put the options in the statement",
            ));
        }
        return Ok(sql_or_table.to_string());
    }
    if o.force_not_null.is_some()
        || o.force_null.is_some()
        || o.freeze.is_some()
        || o.where_.is_some()
    {
        return Err(interface(
            "force_not_null, force_null, freeze and where are options of COPY FROM (copy_in)",
        ));
    }
    let trimmed = sql_or_table.trim_start();
    let query = trimmed.starts_with('(')
        || matches!(
            first_word(trimmed).as_str(),
            "select" | "with" | "values" | "table"
        ) && trimmed.contains(char::is_whitespace);
    let what = if query {
        if o.columns.is_some() || o.schema_name.is_some() {
            return Err(interface(
                "columns and schema_name go with a table, not a query",
            ));
        }
        format!("({})", trimmed.trim_end().trim_end_matches(';'))
    } else {
        o.table(sql_or_table)
    };
    Ok(format!("COPY {what} TO STDOUT{}", o.with()?))
}

// ---- the connection a COPY runs on ----------------------------------------

/// The connection of a target held for a COPY (a pool's: one of its own).
fn conn_of(t: &Target) -> Result<&tusk::Connection, tusk::Error> {
    match t {
        Target::Conn(c) => Ok(c),
        Target::Pooled(c) => Ok(c),
        Target::Pool(_) => Err(tusk::Error::new(
            tusk::ErrorKind::Other,
            "a COPY needs a connection of its own",
        )),
    }
}

// ---- sources of copy_in ------------------------------------------------------

/// Where `copy_in` takes its data from.
pub enum Source {
    /// `bytes` (a `str` or `bytearray` is made one first), sent in slices.
    Buf { data: Py<PyBytes>, at: usize },
    /// An iterator of `bytes`/`str` pieces.
    Iter(Py<PyAny>),
    /// An async iterator of pieces (asyncio only).
    AIter(Py<PyAny>),
    /// A file object: `read(n)` until it returns nothing; `read` may be a
    /// coroutine function (an async file, asyncio only).
    File(Py<PyAny>),
}

/// What a source gave for one step.
enum Step {
    /// Pieces were gathered; more may come.
    More,
    /// The source is exhausted.
    End,
    /// A Python awaitable to await; its value goes to `Source::got`.
    Await(Py<PyAny>),
}

/// Appends a piece of COPY data (`bytes`, `bytearray`, `memoryview`, `str`).
fn push_piece(v: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
    if let Ok(b) = v.cast::<PyBytes>() {
        out.extend_from_slice(b.as_bytes());
    } else if let Ok(s) = v.cast::<PyString>() {
        out.extend_from_slice(s.to_cow()?.as_bytes());
    } else if let Ok(b) = v.cast::<PyByteArray>() {
        out.extend_from_slice(&b.to_vec());
    } else if v.hasattr("tobytes")? {
        out.extend_from_slice(v.call_method0("tobytes")?.cast::<PyBytes>()?.as_bytes());
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "COPY data must be bytes or str, got {}",
            v.get_type().name()?
        )));
    }
    Ok(())
}

fn is_awaitable(v: &Bound<'_, PyAny>) -> PyResult<bool> {
    v.hasattr(pyo3::intern!(v.py(), "__await__"))
}

impl Source {
    /// Classifies `copy_in`'s `source` argument.
    pub fn of(src: &Bound<'_, PyAny>, aio: bool) -> PyResult<Source> {
        let py = src.py();
        if let Ok(b) = src.cast::<PyBytes>() {
            return Ok(Source::Buf {
                data: b.clone().unbind(),
                at: 0,
            });
        }
        if src.is_instance_of::<PyString>()
            || src.is_instance_of::<PyByteArray>()
            || src.hasattr("tobytes")?
        {
            let mut v = Vec::new();
            push_piece(src, &mut v)?;
            return Ok(Source::Buf {
                data: PyBytes::new(py, &v).unbind(),
                at: 0,
            });
        }
        if src.hasattr("read")? {
            return Ok(Source::File(src.clone().unbind()));
        }
        if src.hasattr("__aiter__")? {
            if !aio {
                return Err(interface(
                    "an async iterable needs the asyncio API (tusk.connect, tusk.create_pool)",
                ));
            }
            return Ok(Source::AIter(src.call_method0("__aiter__")?.unbind()));
        }
        match src.try_iter() {
            Ok(it) => Ok(Source::Iter(it.into_any().unbind())),
            Err(_) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "copy_in takes bytes, str, a file object or an (async) iterable of bytes/str, got {}",
                src.get_type().name()?
            ))),
        }
    }

    /// Gathers up to about `BATCH` bytes into `out`.
    fn fill(&mut self, py: Python<'_>, out: &mut Vec<u8>, aio: bool) -> PyResult<Step> {
        match self {
            Source::Buf { data, at } => {
                let b = data.bind(py).as_bytes();
                let n = (b.len() - *at).min(BATCH.saturating_sub(out.len()));
                out.extend_from_slice(&b[*at..*at + n]);
                *at += n;
                Ok(if *at == b.len() {
                    Step::End
                } else {
                    Step::More
                })
            }
            Source::Iter(it) => {
                let it = it.bind(py);
                while out.len() < BATCH {
                    match next_of(it)? {
                        Some(v) => push_piece(&v, out)?,
                        None => return Ok(Step::End),
                    }
                }
                Ok(Step::More)
            }
            Source::AIter(it) => Ok(Step::Await(it.bind(py).call_method0("__anext__")?.unbind())),
            Source::File(f) => {
                let got = f.bind(py).call_method1("read", (BATCH,))?;
                if is_awaitable(&got)? {
                    if !aio {
                        return Err(interface(
                            "an async file object needs the asyncio API (tusk.connect, tusk.create_pool)",
                        ));
                    }
                    return Ok(Step::Await(got.unbind()));
                }
                self.got(py, Ok(got.unbind()), out)
            }
        }
    }

    /// Takes what an awaited step produced.
    fn got(&mut self, py: Python<'_>, v: PyResult<Py<PyAny>>, out: &mut Vec<u8>) -> PyResult<Step> {
        match v {
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyStopAsyncIteration>(py) => {
                Ok(Step::End)
            }
            Err(e) => Err(e),
            Ok(v) => {
                let v = v.bind(py);
                let before = out.len();
                push_piece(v, out)?;
                if matches!(self, Source::File(_)) && out.len() == before && v.len()? == 0 {
                    return Ok(Step::End);
                }
                Ok(Step::More)
            }
        }
    }
}

/// `next(it)`: None at the end.
fn next_of<'py>(it: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let it = it.cast::<pyo3::types::PyIterator>()?;
    it.clone().next().transpose()
}

/// Runs `copy_in`: the COPY on `t` (a pool's: on a connection of its
/// own), fed from `src`. Returns the rows copied.
pub async fn copy_in(t: Target, sql: String, mut src: Source, aio: bool) -> PyResult<u64> {
    let hold = core::dedicated(&t).await.map_err(to_py)?;
    let conn = conn_of(&hold).map_err(to_py)?;
    let guard = SettleOnDrop(Some(hold.clone()));
    let r = settled(conn, copy_in_on(conn, &sql, &mut src, aio).await).await;
    guard.disarm();
    r
}

/// Settles the connection of a COPY whose future is dropped (a cancelled
/// task) from a task of its own, so the server does not hold the COPY
/// open until the connection is next used; a pool's connection goes
/// back once it is idle.
struct SettleOnDrop(Option<Target>);

impl SettleOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for SettleOnDrop {
    fn drop(&mut self) {
        if let Some(hold) = self.0.take() {
            crate::api::rt().spawn(async move {
                if let Ok(conn) = conn_of(&hold) {
                    let _ = conn.wait_idle().await;
                }
            });
        }
    }
}

/// `r`, once the connection has nothing in flight: a COPY abandoned on
/// our side (the source raised, a value could not be encoded, the output
/// file failed) leaves its CopyFail (or the rest of a COPY TO's data)
/// queued, and the server would hold the COPY open, with its locks and
/// transaction, until the connection is next used.
async fn settled<T>(conn: &tusk::Connection, r: PyResult<T>) -> PyResult<T> {
    if r.is_err() {
        // The caller gets the first error; a lost connection shows later.
        let _ = conn.wait_idle().await;
    }
    r
}

async fn copy_in_on(
    conn: &tusk::Connection,
    sql: &str,
    src: &mut Source,
    aio: bool,
) -> PyResult<u64> {
    let mut sink = conn.copy_in(sql).await.map_err(to_py)?;
    let mut buf: Vec<u8> = Vec::with_capacity(BATCH + 64 * 1024);
    loop {
        let mut step = Python::attach(|py| src.fill(py, &mut buf, aio))?;
        let mut awaited = false;
        if let Step::Await(aw) = step {
            let v = PyAwait::new(aw).await;
            step = Python::attach(|py| src.got(py, v, &mut buf))?;
            awaited = true;
        }
        let end = matches!(step, Step::End);
        if buf.len() >= BATCH || (end && !buf.is_empty()) {
            sink.write(&buf).await.map_err(to_py)?;
            buf.clear();
            if aio && !awaited && !end {
                yield_to_loop().await;
            }
        }
        if end {
            break;
        }
    }
    sink.finish().await.map_err(to_py)
}

// ---- copy_out ------------------------------------------------------------------

/// Where `copy_out` puts the data.
pub struct Output(pub Py<PyAny>);

/// Takes the chunks that are here now, up to `limit` bytes, after waiting
/// for the first: None at the end (the rows copied in `rows`).
async fn gather(
    out: &mut tusk::copy::CopyOutStream<'_>,
    limit: usize,
) -> Result<Option<BytesMut>, tusk::Error> {
    let Some(first) = out.next_chunk().await else {
        return Ok(None);
    };
    let mut buf = BytesMut::from(&first?[..]);
    while buf.len() < limit {
        let next = poll_fn(|cx| match Pin::new(&mut *out).poll_next(cx) {
            Poll::Ready(x) => Poll::Ready(Some(x)),
            Poll::Pending => Poll::Ready(None),
        })
        .await;
        match next {
            Some(Some(c)) => buf.extend_from_slice(&c?),
            // The end (seen by the next call again) or nothing more yet.
            Some(None) | None => break,
        }
    }
    Ok(Some(buf))
}

/// Runs `copy_out(..., output=f)`: every chunk written to `f` (its
/// `write` may be a coroutine function: asyncio only). Returns the rows.
pub async fn copy_out_into(t: Target, sql: String, output: Output, aio: bool) -> PyResult<u64> {
    let hold = core::dedicated(&t).await.map_err(to_py)?;
    let conn = conn_of(&hold).map_err(to_py)?;
    let guard = SettleOnDrop(Some(hold.clone()));
    let r = settled(conn, copy_out_on(conn, &sql, &output, aio).await).await;
    guard.disarm();
    r
}

async fn copy_out_on(
    conn: &tusk::Connection,
    sql: &str,
    output: &Output,
    aio: bool,
) -> PyResult<u64> {
    let mut out = conn.copy_out(sql).await.map_err(to_py)?;
    while let Some(buf) = gather(&mut out, BATCH).await.map_err(to_py)? {
        let r = Python::attach(|py| -> PyResult<Option<Py<PyAny>>> {
            let r = output
                .0
                .bind(py)
                .call_method1("write", (PyBytes::new(py, &buf),))?;
            if is_awaitable(&r)? {
                if !aio {
                    return Err(interface(
                        "an async file object needs the asyncio API (tusk.connect, tusk.create_pool)",
                    ));
                }
                return Ok(Some(r.unbind()));
            }
            Ok(None)
        })?;
        if let Some(aw) = r {
            PyAwait::new(aw).await?;
        } else if aio {
            yield_to_loop().await;
        }
    }
    Ok(out.rows_affected().unwrap_or(0))
}

/// What the task behind a `CopyOut` iterator sends.
pub enum OutMsg {
    Data(Bytes),
    End(u64),
}

/// Starts the task behind a `copy_out` iterator: the COPY on a
/// connection it holds, its data gathered into chunks of up to 64 KiB
/// and sent through a channel of a few (so nothing more is buffered);
/// the receiver dropped, the rest is discarded and the connection let go.
pub fn copy_out_task(
    t: Target,
    sql: String,
) -> tokio::sync::mpsc::Receiver<Result<OutMsg, tusk::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    crate::api::rt().spawn(async move {
        let r: Result<u64, tusk::Error> = async {
            let hold = core::dedicated(&t).await?;
            let conn = conn_of(&hold)?;
            let mut out = conn.copy_out(&sql).await?;
            while let Some(buf) = gather(&mut out, 64 * 1024).await? {
                if tx.send(Ok(OutMsg::Data(buf.freeze()))).await.is_err() {
                    break;
                }
            }
            Ok(out.rows_affected().unwrap_or(0))
        }
        .await;
        let _ = tx.send(r.map(OutMsg::End)).await;
    });
    rx
}

// ---- copy_records_to_table: tuples to binary COPY ------------------------

/// How one column's Python values are encoded, chosen once from its type.
#[derive(Debug, Clone)]
enum Enc {
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
    /// `timetz`: an aware `time`.
    Timetz,
    /// `inet` (`cidr: false`) or `cidr`: `ipaddress` values or their text.
    Inet {
        cidr: bool,
    },
    /// `macaddr`: its text (`'08:00:2b:01:02:03'`, the forms the server takes).
    Macaddr,
    /// `"char"`: a one-byte `str` or `bytes`.
    Char,
    Array {
        elem: Box<Enc>,
        oid: u32,
    },
    /// A range (`tusk.Range`, or any object with its `isempty`, `lower`,
    /// `upper`, `lower_inc` and `upper_inc`) of `elem` values.
    Range {
        elem: Box<Enc>,
    },
    /// A multirange: a list of ranges.
    Multirange {
        elem: Box<Enc>,
    },
    /// A composite (row type): a tuple of its fields' values, in order.
    Composite {
        fields: Vec<(u32, Enc)>,
    },
}

impl Enc {
    fn for_type(ty: &Type) -> Option<Enc> {
        Some(match *ty {
            Type::BOOL => Enc::Bool,
            Type::INT2 => Enc::Int2,
            Type::INT4 => Enc::Int4,
            Type::INT8 => Enc::Int8,
            Type::OID => Enc::Oid,
            Type::FLOAT4 => Enc::Float4,
            Type::FLOAT8 => Enc::Float8,
            Type::NUMERIC => Enc::Numeric,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::XML => Enc::Text,
            Type::BYTEA => Enc::Bytea,
            Type::JSON => Enc::Json,
            Type::JSONB => Enc::Jsonb,
            Type::DATE => Enc::Date,
            Type::TIME => Enc::Time,
            Type::TIMESTAMP => Enc::Timestamp,
            Type::TIMESTAMPTZ => Enc::Timestamptz,
            Type::INTERVAL => Enc::Interval,
            Type::UUID => Enc::Uuid,
            Type::TIMETZ => Enc::Timetz,
            Type::INET => Enc::Inet { cidr: false },
            Type::CIDR => Enc::Inet { cidr: true },
            Type::MACADDR => Enc::Macaddr,
            Type::CHAR => Enc::Char,
            _ => match ty.kind() {
                Kind::Enum(_) => Enc::Text,
                Kind::Domain(base) => Enc::for_type(base)?,
                Kind::Array(elem) => Enc::Array {
                    elem: Box::new(Enc::for_type(elem)?),
                    oid: elem.oid(),
                },
                Kind::Range(elem) => Enc::Range {
                    elem: Box::new(Enc::for_type(elem)?),
                },
                Kind::Multirange(elem) => Enc::Multirange {
                    elem: Box::new(Enc::for_type(elem)?),
                },
                Kind::Composite(fields) => Enc::Composite {
                    fields: fields
                        .iter()
                        .map(|f| Some((f.type_().oid(), Enc::for_type(f.type_())?)))
                        .collect::<Option<_>>()?,
                },
                _ => return None,
            },
        })
    }

    /// Encodes a non-None value (its length prefix is the caller's).
    fn put(&self, v: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
        let py = v.py();
        match self {
            Enc::Bool => {
                if !v.is_instance_of::<PyBool>() {
                    return Err(wrong(v, "bool"));
                }
                out.push(u8::from(v.is_truthy()?));
            }
            Enc::Int2 => out.put_i16(int_in::<i16>(v, "int2")?),
            Enc::Int4 => out.put_i32(int_in::<i32>(v, "int4")?),
            Enc::Int8 => out.put_i64(int_in::<i64>(v, "int8")?),
            Enc::Oid => out.put_u32(int_in::<u32>(v, "oid")?),
            Enc::Float4 => {
                let f = float(v)?;
                #[allow(clippy::cast_possible_truncation)]
                let g = f as f32;
                // As the server's float8-to-float4 cast (what INSERT does):
                // out of range is an error, not infinity or zero.
                if g.is_infinite() && f.is_finite() {
                    return Err(interface(format!(
                        "{f} is out of range for float4: overflow"
                    )));
                }
                if g == 0.0 && f != 0.0 {
                    return Err(interface(format!(
                        "{f} is out of range for float4: underflow"
                    )));
                }
                out.put_f32(g);
            }
            Enc::Float8 => out.put_f64(float(v)?),
            Enc::Numeric => {
                let text = if v.is_instance_of::<PyFloat>() {
                    // As INSERT stores a float (float8 cast to numeric by
                    // the server: 15 significant digits).
                    v.call_method1(pyo3::intern!(py, "__format__"), (".15g",))?
                        .cast_into::<PyString>()?
                } else if v.is_instance_of::<PyInt>() || v.is_instance(pytypes::decimal(py)?)? {
                    v.str()?
                } else {
                    return Err(wrong(v, "numeric (int, float or Decimal)"));
                };
                let text = text.to_cow()?;
                let n = tusk::types::Numeric::from_str(&text)
                    .map_err(|e| interface(format!("cannot send {text:?} as numeric: {e}")))?;
                let mut b = BytesMut::new();
                postgres_types::ToSql::to_sql(&n, &Type::NUMERIC, &mut b)
                    .map_err(|e| interface(e.to_string()))?;
                out.extend_from_slice(&b);
            }
            Enc::Text => text(v, out)?,
            Enc::Bytea => {
                if let Ok(b) = v.cast::<PyBytes>() {
                    out.extend_from_slice(b.as_bytes());
                } else if let Ok(b) = v.cast::<PyByteArray>() {
                    out.extend_from_slice(&b.to_vec());
                } else {
                    return Err(wrong(v, "bytea (bytes)"));
                }
            }
            Enc::Json | Enc::Jsonb => {
                if matches!(self, Enc::Jsonb) {
                    out.push(1);
                }
                if v.is_instance_of::<PyString>() {
                    text(v, out)?;
                } else {
                    let s = pytypes::json_dumps(py)?.call1((v,))?;
                    text(&s, out)?;
                }
            }
            Enc::Date => {
                if capi::datetime_fields(v)?.is_some() {
                    return Err(wrong(v, "date (a date, not a datetime)"));
                }
                let Some((y, m, d)) = capi::date_fields(v)? else {
                    return Err(wrong(v, "date"));
                };
                let days = days_from_civil(y, m, d) - PG_EPOCH_DAYS;
                out.put_i32(i32::try_from(days).map_err(|_| interface("date out of range"))?);
            }
            Enc::Time => {
                let Some(((h, mi, s, us), tz)) = capi::time_fields(v)? else {
                    return Err(wrong(v, "time"));
                };
                if tz {
                    return Err(interface(
                        "a time with a tzinfo (timetz) cannot go into a time column; pass a naive time",
                    ));
                }
                out.put_i64(((h * 60 + mi) * 60 + s) * 1_000_000 + us);
            }
            Enc::Timestamp | Enc::Timestamptz => {
                let Some(((y, mo, d), (h, mi, s, us), tz)) = capi::datetime_fields(v)? else {
                    return Err(wrong(v, "datetime"));
                };
                let mut t = (days_from_civil(y, mo, d) - PG_EPOCH_DAYS) * DAY_US
                    + ((h * 60 + mi) * 60 + s) * 1_000_000
                    + us;
                let offset = match tz {
                    None => None,
                    Some(tz) if capi::is_utc(&tz)? => Some(0),
                    Some(_) => {
                        let off = v.call_method0("utcoffset")?;
                        if off.is_none() {
                            None
                        } else {
                            let (dd, ss, uu) = capi::delta_fields(&off)?.ok_or_else(|| {
                                interface("utcoffset() did not return a timedelta")
                            })?;
                            Some(dd * DAY_US + ss * 1_000_000 + uu)
                        }
                    }
                };
                match (self, offset) {
                    (Enc::Timestamptz, Some(off)) => t -= off,
                    (Enc::Timestamp, None) => {}
                    (Enc::Timestamptz, None) => {
                        return Err(interface(
                            "a naive datetime cannot go into a timestamptz column: give it a tzinfo (datetime.timezone.utc)",
                        ))
                    }
                    _ => {
                        return Err(interface(
                            "an aware datetime cannot go into a timestamp (without time zone) column: pass a naive one",
                        ))
                    }
                }
                out.put_i64(t);
            }
            Enc::Interval => {
                let Some((days, secs, us)) = capi::delta_fields(v)? else {
                    return Err(wrong(v, "interval (timedelta)"));
                };
                out.put_i64(secs * 1_000_000 + us);
                out.put_i32(i32::try_from(days).map_err(|_| interface("timedelta out of range"))?);
                out.put_i32(0);
            }
            Enc::Uuid => {
                if v.is_instance(pytypes::uuid(py)?)? {
                    let b = v.getattr("bytes")?;
                    out.extend_from_slice(b.cast::<PyBytes>()?.as_bytes());
                } else if let Ok(s) = v.cast::<PyString>() {
                    let s = s.to_cow()?;
                    out.extend_from_slice(
                        &parse_uuid(&s).ok_or_else(|| interface(format!("{s:?} is not a UUID")))?,
                    );
                } else {
                    return Err(wrong(v, "uuid (uuid.UUID or str)"));
                }
            }
            Enc::Timetz => {
                let Some(((h, mi, s, us), tz)) = capi::time_fields(v)? else {
                    return Err(wrong(v, "timetz (an aware time)"));
                };
                let naive = !tz;
                let off = if naive {
                    None
                } else {
                    Some(v.call_method0("utcoffset")?)
                };
                let Some(off) = off.filter(|o| !o.is_none()) else {
                    return Err(interface(
                        "a naive time cannot go into a timetz column: give it a tzinfo (datetime.timezone(...))",
                    ));
                };
                let (dd, ss, uu) = capi::delta_fields(&off)?
                    .ok_or_else(|| interface("utcoffset() did not return a timedelta"))?;
                if uu != 0 {
                    return Err(interface(
                        "a time zone offset with microseconds cannot go into timetz (whole seconds only)",
                    ));
                }
                // The server keeps the zone as seconds west of UTC.
                let zone = -(dd * 86_400 + ss);
                out.put_i64(((h * 60 + mi) * 60 + s) * 1_000_000 + us);
                out.put_i32(
                    i32::try_from(zone).map_err(|_| interface("time zone offset out of range"))?,
                );
            }
            Enc::Inet { cidr } => inet(v, *cidr, out)?,
            Enc::Macaddr => {
                let Ok(s) = v.cast::<PyString>() else {
                    return Err(wrong(v, "macaddr (str)"));
                };
                let s = s.to_cow()?;
                let b = parse_macaddr(&s)
                    .ok_or_else(|| interface(format!("{s:?} is not a MAC address")))?;
                out.extend_from_slice(&b);
            }
            Enc::Char => {
                // What INSERT stores: the first byte of the text ('' is NUL).
                if let Ok(b) = v.cast::<PyBytes>() {
                    match b.as_bytes() {
                        [] => {}
                        [c] => out.push(*c),
                        _ => return Err(interface("\"char\" takes one byte")),
                    }
                } else if let Ok(st) = v.cast::<PyString>() {
                    let st = st.to_cow()?;
                    match st.as_bytes() {
                        [] => {}
                        [c] if c.is_ascii() => out.push(*c),
                        _ => {
                            return Err(interface(format!(
                            "\"char\" takes one ASCII character (or one byte as bytes), not {st:?}"
                        )))
                        }
                    }
                } else {
                    return Err(wrong(v, "\"char\" (str or bytes)"));
                }
            }
            Enc::Array { elem, oid } => array(v, elem, *oid, out)?,
            Enc::Range { elem } => range(v, elem, out)?,
            Enc::Multirange { elem } => {
                if !(v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>()) {
                    return Err(wrong(v, "a list of ranges (a multirange)"));
                }
                out.put_i32(
                    i32::try_from(v.len()?).map_err(|_| interface("multirange too large"))?,
                );
                for r in v.try_iter()? {
                    let r = r?;
                    if r.is_none() {
                        return Err(interface("a multirange cannot hold None"));
                    }
                    let at = out.len();
                    out.put_i32(0);
                    range(&r, elem, out)?;
                    let len = i32::try_from(out.len() - at - 4)
                        .map_err(|_| interface("a value is too large to transmit"))?;
                    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
                }
            }
            Enc::Composite { fields } => {
                let Ok(t) = v.cast::<PyTuple>() else {
                    return Err(wrong(v, "a tuple (a composite's fields in order)"));
                };
                if t.len() != fields.len() {
                    return Err(interface(format!(
                        "the composite has {} fields, the tuple {} values",
                        fields.len(),
                        t.len()
                    )));
                }
                out.put_i32(i32::try_from(fields.len()).map_err(|_| interface("too many fields"))?);
                for (item, (oid, enc)) in t.iter().zip(fields) {
                    out.put_u32(*oid);
                    field(&item, enc, out)?;
                }
            }
        }
        Ok(())
    }
}

/// An `inet` or `cidr` value in the server's binary form: family, mask
/// bits, the cidr flag, the address length and the address. Takes the
/// `ipaddress` classes (an address is a /32 or /128) and their text,
/// read as INSERT of the same value reads it: for `cidr`, bits set to the
/// right of the mask are an error (`ip_network`'s strict form), as they
/// are to the server.
fn inet(v: &Bound<'_, PyAny>, cidr: bool, out: &mut Vec<u8>) -> PyResult<()> {
    let py = v.py();
    let module = v
        .get_type()
        .getattr(pyo3::intern!(py, "__module__"))
        .ok()
        .and_then(|m| m.extract::<String>().ok())
        .unwrap_or_default();
    let text = if module == "ipaddress" || v.is_instance_of::<PyString>() {
        v.str()?
    } else {
        return Err(wrong(
            v,
            if cidr {
                "cidr (ipaddress value or str)"
            } else {
                "inet (ipaddress value or str)"
            },
        ));
    };
    let bad = |e: PyErr| {
        interface(format!(
            "{} is not a valid {}: {}",
            text,
            if cidr { "cidr" } else { "inet" },
            e.value(py)
        ))
    };
    let (addr, bits) = if cidr {
        let n = pytypes::ip_network(py)?.call1((&text,)).map_err(bad)?;
        (n.getattr("network_address")?, n.getattr("prefixlen")?)
    } else {
        let i = pytypes::ip_interface(py)?.call1((&text,)).map_err(bad)?;
        (
            i.getattr("ip")?,
            i.getattr("network")?.getattr("prefixlen")?,
        )
    };
    if text.to_cow()?.contains('%') || addr.getattr("scope_id").is_ok_and(|z| !z.is_none()) {
        return Err(interface(format!(
            "{text} has a zone (scope id), which PostgreSQL's {} cannot hold",
            if cidr { "cidr" } else { "inet" }
        )));
    }
    let packed = addr.getattr("packed")?;
    let packed = packed.cast::<PyBytes>()?.as_bytes();
    let bits: u8 = bits.extract()?;
    let (family, nb) = match packed.len() {
        4 => (2u8, 4u8),
        _ => (3u8, 16u8),
    };
    out.extend_from_slice(&[family, bits, u8::from(cidr), nb]);
    out.extend_from_slice(packed);
    Ok(())
}

/// A MAC address's 6 bytes from the forms the server's `macaddr` input
/// takes: six hex pairs separated by `:` or `-` (or none), or three groups
/// of four separated by `.` (or two groups of six by `:`/`-`).
fn parse_macaddr(s: &str) -> Option<[u8; 6]> {
    let s = s.trim();
    let sep = s.chars().find(|c| matches!(c, ':' | '-' | '.'));
    let groups: Vec<usize> = match sep {
        Some(c) => s.split(c).map(str::len).collect(),
        None => vec![s.len()],
    };
    let shape_ok = matches!(
        (sep, groups.as_slice()),
        (None, [12])
            | (Some(':' | '-'), [2, 2, 2, 2, 2, 2] | [6, 6])
            | (Some('.' | '-'), [4, 4, 4])
    );
    let hex: String = s.chars().filter(|c| Some(*c) != sep).collect();
    if !shape_ok || hex.len() != 12 {
        return None;
    }
    let mut out = [0u8; 6];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A range in the server's binary form: flags, then each finite bound
/// with its length. The server checks the bounds' order and canonicalizes
/// discrete ranges, as it does for INSERT.
fn range(v: &Bound<'_, PyAny>, elem: &Enc, out: &mut Vec<u8>) -> PyResult<()> {
    let py = v.py();
    if !v.hasattr(pyo3::intern!(py, "isempty"))? || !v.hasattr(pyo3::intern!(py, "lower_inc"))? {
        return Err(wrong(v, "a range (tusk.Range)"));
    }
    if v.getattr(pyo3::intern!(py, "isempty"))?.is_truthy()? {
        out.push(0x01);
        return Ok(());
    }
    let lower = v.getattr(pyo3::intern!(py, "lower"))?;
    let upper = v.getattr(pyo3::intern!(py, "upper"))?;
    let mut flags = 0u8;
    if lower.is_none() {
        flags |= 0x08;
    } else if v.getattr(pyo3::intern!(py, "lower_inc"))?.is_truthy()? {
        flags |= 0x02;
    }
    if upper.is_none() {
        flags |= 0x10;
    } else if v.getattr(pyo3::intern!(py, "upper_inc"))?.is_truthy()? {
        flags |= 0x04;
    }
    out.push(flags);
    for b in [&lower, &upper] {
        if !b.is_none() {
            field(b, elem, out)?;
        }
    }
    Ok(())
}

fn wrong(v: &Bound<'_, PyAny>, want: &str) -> PyErr {
    let got = v
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    interface(format!("expected {want}, got a value of type {got}"))
}

/// An integer: an `int`, or any object with `__index__` (numpy's
/// integers); a float is refused rather than truncated, a bool as INSERT
/// refuses it (a boolean is not an integer to the server).
fn int_in<T: TryFrom<i64>>(v: &Bound<'_, PyAny>, ty: &str) -> PyResult<T> {
    if v.is_instance_of::<PyBool>() {
        return Err(wrong(v, ty));
    }
    if !v.is_instance_of::<PyInt>()
        && (v.is_instance_of::<PyFloat>() || !v.hasattr(pyo3::intern!(v.py(), "__index__"))?)
    {
        return Err(wrong(v, ty));
    }
    let i: i64 = v.extract().map_err(|_| {
        interface(format!(
            "{} is out of range for {ty}",
            v.str().map(|s| s.to_string()).unwrap_or_default()
        ))
    })?;
    T::try_from(i).map_err(|_| interface(format!("{i} is out of range for {ty}")))
}

fn float(v: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(f.value());
    }
    if v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>() {
        return v.extract();
    }
    // Decimal, numpy's floats and integers: anything with `__float__`
    // but text.
    if !v.is_instance_of::<PyString>()
        && !v.is_instance_of::<PyBool>()
        && v.hasattr(pyo3::intern!(v.py(), "__float__"))?
    {
        return v.extract();
    }
    Err(wrong(v, "float"))
}

fn text(v: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
    let Ok(s) = v.cast::<PyString>() else {
        return Err(wrong(v, "str"));
    };
    if !capi::push_str(s, out)? {
        return Err(interface(
            "a str contains a NUL character, which PostgreSQL text cannot hold",
        ));
    }
    Ok(())
}

/// A UUID's 16 bytes from its text (hyphens and braces allowed, as the
/// server's input function takes them).
fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = s
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .bytes()
        .filter(|b| *b != b'-')
        .collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// True when `v` is a sub-array of an array of `elem`: a list, or a tuple
/// unless the elements are composites (which are tuples themselves).
fn is_dim(v: &Bound<'_, PyAny>, elem: &Enc) -> bool {
    v.is_instance_of::<PyList>()
        || (v.is_instance_of::<PyTuple>() && !matches!(elem, Enc::Composite { .. }))
}

/// A list (nested lists are dimensions, None is NULL) in the array binary
/// format of element type `oid`.
fn array(v: &Bound<'_, PyAny>, elem: &Enc, oid: u32, out: &mut Vec<u8>) -> PyResult<()> {
    if !is_dim(v, elem) {
        return Err(wrong(v, "a list (an array)"));
    }
    // Dimensions from the first element at each level.
    let mut dims: Vec<i32> = Vec::new();
    let mut cur = v.clone();
    loop {
        let n = cur.len()?;
        dims.push(i32::try_from(n).map_err(|_| interface("array too large"))?);
        if n == 0 {
            break;
        }
        let first = cur.get_item(0)?;
        if is_dim(&first, elem) {
            cur = first;
        } else {
            break;
        }
    }
    if dims == [0] {
        out.put_i32(0);
        out.put_i32(0);
        out.put_u32(oid);
        return Ok(());
    }
    let start = out.len();
    out.put_i32(i32::try_from(dims.len()).map_err(|_| interface("array too deep"))?);
    out.put_i32(0);
    out.put_u32(oid);
    for d in &dims {
        out.put_i32(*d);
        out.put_i32(1);
    }
    let mut nulls = false;
    items(v, 0, &dims, elem, out, &mut nulls)?;
    if nulls {
        out[start + 4..start + 8].copy_from_slice(&1i32.to_be_bytes());
    }
    Ok(())
}

fn items(
    v: &Bound<'_, PyAny>,
    depth: usize,
    dims: &[i32],
    elem: &Enc,
    out: &mut Vec<u8>,
    nulls: &mut bool,
) -> PyResult<()> {
    if i32::try_from(v.len()?).ok() != Some(dims[depth]) {
        return Err(interface(
            "a multi-dimensional array must have sub-arrays of one length",
        ));
    }
    for item in v.try_iter()? {
        let item = item?;
        let nested = is_dim(&item, elem);
        if depth + 1 < dims.len() {
            if !nested {
                return Err(interface(
                    "a multi-dimensional array mixes scalars and sub-arrays",
                ));
            }
            items(&item, depth + 1, dims, elem, out, nulls)?;
        } else if item.is_none() {
            *nulls = true;
            out.put_i32(-1);
        } else {
            field(&item, elem, out)?;
        }
    }
    Ok(())
}

/// A value with its length prefix (-1 for None).
fn field(v: &Bound<'_, PyAny>, enc: &Enc, out: &mut Vec<u8>) -> PyResult<()> {
    if v.is_none() {
        out.put_i32(-1);
        return Ok(());
    }
    let at = out.len();
    out.put_i32(0);
    enc.put(v, out)?;
    let len = i32::try_from(out.len() - at - 4)
        .map_err(|_| interface("a value is too large to transmit"))?;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// The records of `copy_records_to_table`: an iterable of sequences, or
/// an async iterable of them (asyncio only).
pub enum Records {
    Iter(Py<PyAny>),
    AIter(Py<PyAny>),
}

impl Records {
    pub fn of(records: &Bound<'_, PyAny>, aio: bool) -> PyResult<Records> {
        if records.hasattr("__aiter__")? {
            if !aio {
                return Err(interface(
                    "an async iterable needs the asyncio API (tusk.connect, tusk.create_pool)",
                ));
            }
            return Ok(Records::AIter(records.call_method0("__aiter__")?.unbind()));
        }
        Ok(Records::Iter(records.try_iter()?.into_any().unbind()))
    }
}

/// The columns' encoders and names.
struct Columns {
    encs: Vec<Enc>,
    names: Vec<String>,
    /// How many (a binary COPY row starts with it).
    count: i16,
}

impl Columns {
    /// Encodes one record (a row): its values in the columns' order.
    fn row(&self, rec: &Bound<'_, PyAny>, n: u64, out: &mut Vec<u8>) -> PyResult<()> {
        let start = out.len();
        let r = self.row_inner(rec, n, out);
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    fn row_inner(&self, rec: &Bound<'_, PyAny>, n: u64, out: &mut Vec<u8>) -> PyResult<()> {
        let cols = self.encs.len();
        let count_err = |got: usize| {
            interface(format!(
                "record {n} has {got} values for a COPY of {cols} columns"
            ))
        };
        out.put_i16(self.count);
        let py = rec.py();
        // A value that cannot be encoded: say which record and column.
        let at = |i: usize, e: PyErr| -> PyErr {
            if e.is_instance_of::<crate::errors::PgInterfaceError>(py) {
                interface(format!(
                    "record {n}, column {:?}: {}",
                    self.names[i],
                    e.value(py)
                ))
            } else {
                e
            }
        };
        if let Ok(t) = rec.cast::<PyTuple>() {
            if t.len() != cols {
                return Err(count_err(t.len()));
            }
            for (i, enc) in self.encs.iter().enumerate() {
                field(&t.get_item(i)?, enc, out).map_err(|e| at(i, e))?;
            }
        } else if let Ok(l) = rec.cast::<PyList>() {
            if l.len() != cols {
                return Err(count_err(l.len()));
            }
            for (i, enc) in self.encs.iter().enumerate() {
                field(&l.get_item(i)?, enc, out).map_err(|e| at(i, e))?;
            }
        } else if rec.is_instance_of::<PyDict>() {
            return Err(interface(format!(
                "record {n} is a dict: give the values as a tuple in the columns' order"
            )));
        } else {
            let vals: Vec<Bound<'_, PyAny>> = rec.try_iter()?.collect::<PyResult<_>>()?;
            if vals.len() != cols {
                return Err(count_err(vals.len()));
            }
            for (i, (v, enc)) in vals.iter().zip(&self.encs).enumerate() {
                field(v, enc, out).map_err(|e| at(i, e))?;
            }
        }
        Ok(())
    }
}

/// The binary COPY signature, flags and header extension length.
const BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The columns a COPY without a column list takes, in order: all but the
/// dropped and the generated ones.
async fn copyable_columns(
    conn: &tusk::Connection,
    schema_name: Option<&str>,
    table: &str,
) -> PyResult<Vec<String>> {
    use tusk::Executor;
    let mut target = String::new();
    if let Some(s) = schema_name {
        target.push_str(&quote_ident(s));
        target.push('.');
    }
    target.push_str(&quote_ident(table));
    let sql = format!(
        "SELECT attname::text FROM pg_catalog.pg_attribute WHERE attrelid = {}::pg_catalog.regclass \
         AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
        quote_literal(&target)
    );
    let rows = conn.query(sql.as_str(), &[]).await.map_err(to_py)?;
    let names: Vec<String> = rows.iter().map(|r| r.get::<String>(0)).collect();
    if names.is_empty() {
        return Err(interface(format!(
            "table {target} has no columns to copy into"
        )));
    }
    Ok(names)
}

/// Runs `copy_records_to_table`: the column types looked up once (a
/// `SELECT cols FROM table LIMIT 0` described by the server), then the
/// records encoded in batches with the GIL and sent in the binary format.
pub async fn copy_records(
    t: Target,
    table: String,
    columns: Option<Vec<String>>,
    schema_name: Option<String>,
    mut records: Records,
    aio: bool,
) -> PyResult<u64> {
    use tusk::Prepare;
    let hold = core::dedicated(&t).await.map_err(to_py)?;
    let conn = conn_of(&hold).map_err(to_py)?;
    let columns = match columns {
        Some(c) => Some(c),
        // COPY without a column list leaves generated columns to the
        // server, but `SELECT *` has them: name the others.
        None => Some(copyable_columns(conn, schema_name.as_deref(), &table).await?),
    };
    let opts = CopyOptions {
        format: Some("binary".into()),
        columns: columns.clone(),
        schema_name: schema_name.clone(),
        ..CopyOptions::default()
    };
    let copy_sql = copy_in_sql(&table, &opts)?;
    let mut target = String::new();
    if let Some(s) = &schema_name {
        target.push_str(&quote_ident(s));
        target.push('.');
    }
    target.push_str(&quote_ident(&table));
    let select = match &columns {
        Some(c) if c.is_empty() => {
            return Err(interface("columns is empty"));
        }
        Some(c) => idents(c),
        None => "*".into(),
    };
    let intro = format!("SELECT {select} FROM {target} LIMIT 0");

    let stmt = conn.prepare(&intro).await.map_err(to_py)?;
    let mut encs = Vec::new();
    let mut names = Vec::new();
    for c in stmt.columns() {
        let enc = Enc::for_type(c.type_()).ok_or_else(|| {
            interface(format!(
                "copy_records_to_table cannot encode column {:?} of type {} (no binary encoder for it, or for a type inside it): use copy_in with format=\"csv\" for it",
                c.name(),
                c.type_().name()
            ))
        })?;
        encs.push(enc);
        names.push(c.name().to_string());
    }
    drop(stmt);
    let count = i16::try_from(encs.len()).map_err(|_| interface("too many columns"))?;
    let cols = Columns { encs, names, count };
    let guard = SettleOnDrop(Some(hold.clone()));
    let r = send_records(conn, &copy_sql, &cols, &mut records, aio).await;
    let r = settled(conn, r).await;
    guard.disarm();
    r
}

async fn send_records(
    conn: &tusk::Connection,
    copy_sql: &str,
    cols: &Columns,
    records: &mut Records,
    aio: bool,
) -> PyResult<u64> {
    let mut sink = conn.copy_in(copy_sql).await.map_err(to_py)?;
    let mut buf: Vec<u8> = Vec::with_capacity(BATCH + 64 * 1024);
    buf.extend_from_slice(BINARY_HEADER);
    let mut n: u64 = 0;
    loop {
        let end = match records {
            Records::Iter(it) => Python::attach(|py| -> PyResult<bool> {
                let mut it = it.bind(py).cast::<pyo3::types::PyIterator>()?.clone();
                while buf.len() < BATCH {
                    match it.next() {
                        None => return Ok(true),
                        Some(rec) => {
                            n += 1;
                            cols.row(&rec?, n, &mut buf)?;
                        }
                    }
                }
                Ok(false)
            })?,
            Records::AIter(it) => {
                let aw =
                    Python::attach(|py| it.bind(py).call_method0("__anext__").map(Bound::unbind))?;
                let v = PyAwait::new(aw).await;
                Python::attach(|py| -> PyResult<bool> {
                    match v {
                        Err(e)
                            if e.is_instance_of::<pyo3::exceptions::PyStopAsyncIteration>(py) =>
                        {
                            Ok(true)
                        }
                        Err(e) => Err(e),
                        Ok(rec) => {
                            n += 1;
                            cols.row(rec.bind(py), n, &mut buf)?;
                            Ok(false)
                        }
                    }
                })?
            }
        };
        if end {
            buf.put_i16(-1);
        }
        if buf.len() >= BATCH || end {
            sink.write(&buf).await.map_err(to_py)?;
            buf.clear();
            if aio && !end && matches!(*records, Records::Iter(_)) {
                yield_to_loop().await;
            }
        }
        if end {
            break;
        }
    }
    sink.finish().await.map_err(to_py)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> CopyOptions {
        CopyOptions::default()
    }

    #[test]
    fn builds_copy_in() {
        // (The refusal below is a Python exception.)
        Python::initialize();
        assert_eq!(copy_in_sql("t", &opts()).unwrap(), "COPY \"t\" FROM STDIN");
        let o = CopyOptions {
            format: Some("CSV".into()),
            columns: Some(vec!["a".into(), "we\"ird".into()]),
            schema_name: Some("my schema".into()),
            delimiter: Some("'".into()),
            header: Some(true),
            ..opts()
        };
        assert_eq!(
            copy_in_sql("weird name", &o).unwrap(),
            "COPY \"my schema\".\"weird name\" (\"a\", \"we\"\"ird\") FROM STDIN WITH (FORMAT csv, DELIMITER E'''', HEADER true)"
        );
        assert_eq!(
            copy_in_sql("  copy t from stdin", &opts()).unwrap(),
            "  copy t from stdin"
        );
        assert!(copy_in_sql("COPY t FROM STDIN", &o).is_err());
    }

    #[test]
    fn builds_copy_out() {
        assert_eq!(
            copy_out_sql("SELECT 1;", &opts()).unwrap(),
            "COPY (SELECT 1) TO STDOUT"
        );
        assert_eq!(
            copy_out_sql("select", &opts()).unwrap(),
            "COPY \"select\" TO STDOUT"
        );
        let o = CopyOptions {
            format: Some("binary".into()),
            ..opts()
        };
        assert_eq!(
            copy_out_sql("t", &o).unwrap(),
            "COPY \"t\" TO STDOUT WITH (FORMAT binary)"
        );
        assert_eq!(quote_literal("a\\b'c"), "E'a\\\\b''c'");
    }

    #[test]
    fn parses_uuids() {
        let u = parse_uuid("{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}").unwrap();
        assert_eq!(u[0], 0xa0);
        assert_eq!(u[15], 0x11);
        assert!(parse_uuid("a0ee").is_none());
        assert!(parse_uuid("zzeebc999c0b4ef8bb6d6bb9bd380a11").is_none());
    }

    #[test]
    fn parses_macaddrs() {
        let want = Some([0x08, 0x00, 0x2b, 0x01, 0x02, 0x03]);
        for s in [
            "08:00:2b:01:02:03",
            "08-00-2b-01-02-03",
            "08002b:010203",
            "08002b-010203",
            "0800.2b01.0203",
            "0800-2b01-0203",
            "08002b010203",
        ] {
            assert_eq!(parse_macaddr(s), want, "{s}");
        }
        for s in [
            "08:00:2b:01:02",
            "08:002b:01:02:03",
            "0800.2b01-0203",
            "zz:00:2b:01:02:03",
            "",
        ] {
            assert!(parse_macaddr(s).is_none(), "{s}");
        }
    }
}
