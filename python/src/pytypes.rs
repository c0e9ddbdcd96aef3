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
