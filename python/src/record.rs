//! `Record`: one row, by index or by name, with `keys()` so `dict(r)` works.
//! Rows of one result share one description (names and a name index).

use pyo3::exceptions::{PyIndexError, PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyString, PyTuple};
use std::sync::Arc;

use crate::decode::Decoder;

/// What the rows of one result share.
#[derive(Debug)]
pub struct Desc {
    pub names: Py<PyTuple>,
    pub index: Py<PyDict>,
    pub decoders: Vec<Decoder>,
}

/// One row of a result.
#[pyclass(module = "tusk", name = "Record", frozen, sequence)]
pub struct Record {
    pub desc: Arc<Desc>,
    pub values: Box<[Py<PyAny>]>,
}

impl Record {
    fn position(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<usize> {
        if key.is_instance_of::<PyInt>() {
            let i: isize = key.extract()?;
            let n = isize::try_from(self.values.len())
                .map_err(|_| PyIndexError::new_err("record too long"))?;
            let j = if i < 0 { i + n } else { i };
            return usize::try_from(j)
                .ok()
                .filter(|j| *j < self.values.len())
                .ok_or_else(|| PyIndexError::new_err(format!("record index {i} out of range")));
        }
        if key.is_instance_of::<PyString>() {
            return match self.desc.index.bind(py).get_item(key)? {
                Some(i) => i.extract(),
                None => Err(PyKeyError::new_err(key.clone().unbind())),
            };
        }
        Err(PyTypeError::new_err("a record is indexed by int or str"))
    }
}

impl Record {
    pub fn values_tuple<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.values.iter().map(|v| v.clone_ref(py)))
    }

    pub fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.desc.names.bind(py).iter().zip(self.values.iter()) {
            d.set_item(k, v.bind(py))?;
        }
        Ok(d)
    }
}

#[pymethods]
impl Record {
    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let i = self.position(py, key)?;
        Ok(self.values[i].clone_ref(py))
    }

    fn __len__(&self) -> usize {
        self.values.len()
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.desc.index.bind(py).contains(key)
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.values(py)?.call_method0("__iter__")?.unbind())
    }

    /// Column names, in order.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let names = self.desc.names.bind(py);
        PyList::new(py, names.iter())
    }

    /// Values, in order.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.values.iter().map(|v| v.clone_ref(py)))
    }

    /// (name, value) pairs, in order.
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let names = self.desc.names.bind(py);
        let pairs = names
            .iter()
            .zip(self.values.iter())
            .map(|(k, v)| PyTuple::new(py, [k, v.clone_ref(py).into_bound(py)]))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, pairs)
    }

    /// The value of a column by name, or `default`.
    #[pyo3(signature = (key, default=None))]
    fn get(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        match self.position(py, key) {
            Ok(i) => Ok(self.values[i].clone_ref(py)),
            Err(_) => Ok(default.unwrap_or_else(|| py.None())),
        }
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let mine = self.values(py)?;
        if let Ok(r) = other.cast::<Record>() {
            return mine.eq(r.get().values(py)?);
        }
        if other.is_instance_of::<PyTuple>() {
            return mine.eq(other);
        }
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut s = String::from("<Record");
        for (k, v) in self.desc.names.bind(py).iter().zip(self.values.iter()) {
            s.push(' ');
            s.push_str(&k.str()?.to_cow()?);
            s.push('=');
            s.push_str(&v.bind(py).repr()?.to_cow()?);
        }
        s.push('>');
        Ok(s)
    }
}
