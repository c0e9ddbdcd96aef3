//! What a finished operation hands to Python: converted with the GIL, in one pass.

use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::decode;
use crate::errors;

/// The result of a query method, before it becomes Python objects.
pub enum Out {
    All(Vec<tusk::Row>),
    One(Vec<tusk::Row>),
    First(Vec<tusk::Row>),
    Scalar(Vec<tusk::Row>),
    Count(u64),
    Nothing,
}

impl<'py> IntoPyObject<'py> for Out {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Out::All(rows) => Ok(decode::records(py, &rows)?.into_any()),
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
        }
    }
}

fn first<'py>(py: Python<'py>, rows: &[tusk::Row]) -> PyResult<Bound<'py, PyAny>> {
    match rows.first() {
        None => Ok(py.None().into_bound(py)),
        Some(r) => {
            let desc = decode::describe(py, r.columns())?;
            Ok(Bound::new(py, decode::record(py, &desc, r)?)?.into_any())
        }
    }
}

/// Records as a list (for streams, which hand them out one at a time).
pub fn record_list<'py>(py: Python<'py>, rows: &[tusk::Row]) -> PyResult<Bound<'py, PyList>> {
    decode::records(py, rows)
}
