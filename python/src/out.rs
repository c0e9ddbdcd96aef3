//! What a finished operation hands to Python: converted with the GIL, in one pass.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use futures_core::Stream;

use crate::core::{self, Stmt, Target};
use crate::record::{Desc, Record};

use crate::decode;
use crate::errors;

/// The result of a query method, before it becomes Python objects.
pub enum Out {
    One(Vec<tusk::Row>),
    First(Vec<tusk::Row>),
    Scalar(Vec<tusk::Row>),
    Count(u64),
    Nothing,
    /// Every row in another shape (`.into()`, `.model()`).
    Shaped(Vec<tusk::Row>, Shape),
}

/// What `.into()` and `.model()` turn each row into.
pub enum Shape {
    Tuple,
    Dict,
    /// A class called with the columns as keyword arguments (a dataclass).
    Call(Py<PyAny>),
    /// A pydantic model, validated with `model_validate`.
    Model(Py<PyAny>),
}

/// `x.__origin__` of a generic alias (`list[int]` → `list`).
fn origin<'py>(o: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    if o.hasattr("__origin__")? {
        Ok(Some(o.getattr("__origin__")?))
    } else {
        Ok(None)
    }
}

impl Shape {
    /// `.into(shape)`: `tuple`, `dict`, a class, or `list[...]` of one.
    pub fn of(shape: &Bound<'_, PyAny>) -> PyResult<Shape> {
        let py = shape.py();
        let mut elem = shape.clone();
        if let Some(o) = origin(shape)? {
            if o.is(py.get_type::<PyList>()) {
                elem = shape.getattr("__args__")?.get_item(0)?;
            }
        }
        // tuple[int, str] and dict[str, Any] are tuple and dict.
        if let Some(o) = origin(&elem)? {
            elem = o;
        }
        if elem.is(py.get_type::<PyTuple>()) {
            return Ok(Shape::Tuple);
        }
        if elem.is(py.get_type::<PyDict>()) {
            return Ok(Shape::Dict);
        }
        if elem.is_callable() {
            return Ok(Shape::Call(elem.unbind()));
        }
        Err(errors::interface(
            "into() takes tuple, dict, a class, or list[...] of one",
        ))
    }

    /// `.model(M)`: a pydantic model class.
    pub fn model(m: &Bound<'_, PyAny>) -> PyResult<Shape> {
        if !m.hasattr("model_validate")? {
            return Err(errors::interface(
                "model() takes a pydantic model class (one with model_validate)",
            ));
        }
        Ok(Shape::Model(m.clone().unbind()))
    }

    fn apply<'py>(&self, py: Python<'py>, r: Bound<'py, Record>) -> PyResult<Bound<'py, PyAny>> {
        let rec = r.get();
        match self {
            Shape::Tuple => Ok(rec.values_tuple(py)?.into_any()),
            Shape::Dict => Ok(rec.to_dict(py)?.into_any()),
            Shape::Call(cls) => cls.bind(py).call((), Some(&rec.to_dict(py)?)),
            Shape::Model(m) => m
                .bind(py)
                .call_method1("model_validate", (rec.to_dict(py)?,)),
        }
    }
}

impl<'py> IntoPyObject<'py> for Out {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Out::One(rows) => {
                if rows.len() != 1 {
                    return Err(errors::row_count(".one()", rows.len()));
                }
                first(py, &rows)
            }
            Out::First(rows) => first(py, &rows),
            Out::Scalar(rows) => {
                if rows.len() != 1 {
                    return Err(errors::row_count(".scalar()", rows.len()));
                }
                let row = &rows[0];
                let Some(col) = row.columns().first() else {
                    return Err(errors::interface(
                        ".scalar(): the query returned no columns",
                    ));
                };
                decode::Decoder::for_type(col.type_()).decode(py, row.raw(0))
            }
            Out::Count(n) => Ok(n.into_pyobject(py)?.into_any()),
            Out::Nothing => Ok(py.None().into_bound(py)),
            Out::Shaped(rows, shape) => {
                let list = PyList::empty(py);
                if let Some(first) = rows.first() {
                    let desc = decode::describe(py, first.columns())?;
                    crate::pytypes::without_gc(py, rows.len(), || {
                        for r in &rows {
                            let rec = decode::new_record(py, &desc, r)?;
                            list.append(shape.apply(py, rec)?)?;
                        }
                        Ok(())
                    })?;
                }
                Ok(list.into_any())
            }
        }
    }
}

fn first<'py>(py: Python<'py>, rows: &[tusk::Row]) -> PyResult<Bound<'py, PyAny>> {
    match rows.first() {
        None => Ok(py.None().into_bound(py)),
        Some(r) => {
            let desc = decode::describe(py, r.columns())?;
            Ok(decode::new_record(py, &desc, r)?.into_any())
        }
    }
}

/// Records as a list (for streams, which hand them out one at a time).
pub fn record_list<'py>(py: Python<'py>, rows: &[tusk::Row]) -> PyResult<Bound<'py, PyList>> {
    decode::records(py, rows)
}

/// Every row of a query as a list of `Record`s, converted batch by batch
/// while the rest arrive: the server keeps sending (into the socket and
/// the stream's buffer) while earlier rows become Python objects, so a
/// big result's transfer and its conversion overlap instead of adding up.
/// Each batch is what is ready without waiting (at most 8,192 rows).
pub async fn all_records(t: &Target, s: &Stmt) -> PyResult<Py<PyList>> {
    let mut st = core::stream(t, s).await.map_err(errors::to_py)?;
    let mut out: Vec<Py<PyAny>> = Vec::new();
    let mut desc: Option<Arc<Desc>> = None;
    let mut batch: Vec<tusk::Row> = Vec::with_capacity(1024);
    let mut done = false;
    while !done {
        match poll_fn(|cx| Pin::new(&mut st.rows).poll_next(cx)).await {
            None => break,
            Some(r) => batch.push(r.map_err(errors::to_py)?),
        }
        while batch.len() < 8192 {
            match poll_fn(|cx| Poll::Ready(Pin::new(&mut st.rows).poll_next(cx))).await {
                Poll::Ready(Some(r)) => batch.push(r.map_err(errors::to_py)?),
                Poll::Ready(None) => {
                    done = true;
                    break;
                }
                Poll::Pending => break,
            }
        }
        Python::attach(|py| {
            let d = match &desc {
                Some(d) => d.clone(),
                None => desc
                    .insert(decode::describe(py, batch[0].columns())?)
                    .clone(),
            };
            crate::pytypes::without_gc(py, batch.len(), || {
                for r in batch.drain(..) {
                    out.push(decode::new_record(py, &d, &r)?.into_any().unbind());
                }
                Ok(())
            })
        })?;
    }
    drop(st);
    Python::attach(|py| Ok(PyList::new(py, out)?.unbind()))
}
