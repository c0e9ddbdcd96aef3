//! Python classes the conversions use, imported once per interpreter.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

macro_rules! cached {
    ($($fn:ident => $module:literal . $attr:literal),* $(,)?) => {
        $(
            pub fn $fn(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
                static CELL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
                CELL.import(py, $module, $attr)
            }
        )*
    };
}

cached! {
    datetime => "datetime"."datetime",
    date => "datetime"."date",
    time => "datetime"."time",
    timedelta => "datetime"."timedelta",
    decimal => "decimal"."Decimal",
    uuid => "uuid"."UUID",
    json_loads => "json"."loads",
    json_dumps => "json"."dumps",
    ip_address => "ipaddress"."ip_address",
    ip_interface => "ipaddress"."ip_interface",
    ip_network => "ipaddress"."ip_network",
    range => "tusk._range"."Range",
    gc_isenabled => "gc"."isenabled",
    gc_disable => "gc"."disable",
    gc_enable => "gc"."enable",
}

/// Runs `f` with Python's cyclic garbage collector paused. Building a big
/// result allocates one tracked object per row (and the growing list is
/// traversed on each collection): without this, collections took 15% of a
/// 1M-row fetch. No Python code that could leak cycles runs meanwhile
/// except constructors the caller chose (`.into(cls)`, `.model(M)`).
pub fn without_gc<T>(py: Python<'_>, rows: usize, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    if rows < 1024 || !gc_isenabled(py)?.call0()?.is_truthy()? {
        return f();
    }
    gc_disable(py)?.call0()?;
    let r = f();
    gc_enable(py)?.call0()?;
    r
}

/// `datetime.timezone.utc`.
pub fn utc(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static CELL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    CELL.get_or_try_init(py, || {
        Ok::<_, PyErr>(
            py.import("datetime")?
                .getattr("timezone")?
                .getattr("utc")?
                .unbind(),
        )
    })
    .map(|o| o.bind(py))
}
