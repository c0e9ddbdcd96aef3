//! tusk for Python: the `tusk._tusk` extension module. Every I/O, pool and
//! decode step is the Rust driver's, run on one tokio runtime the module
//! owns; Python sees finished objects.

mod api;
mod awaitable;
mod capi;
mod copy;
mod core;
mod decode;
mod errors;
mod out;
mod params;
mod pytypes;
mod record;
mod time;

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::to_py;

/// A pool config from a URL and keyword settings (every tusk-pool setting
/// by name; `min_size` is an alias of `min_idle`). Numbers given for
/// durations are seconds.
fn pool_config(
    url: Option<&str>,
    settings: Option<&Bound<'_, PyDict>>,
) -> PyResult<tusk_pool::PoolConfig> {
    let mut cfg = tusk_pool::PoolConfig::load(None, url).map_err(to_py)?;
    if let Some(kw) = settings {
        for (k, v) in kw.iter() {
            let key: String = k.extract()?;
            let key = if key == "min_size" {
                "min_idle".to_string()
            } else {
                key
            };
            if v.is_none() {
                cfg.set(&key, "off").map_err(to_py)?;
                continue;
            }
            let text = if let Ok(list) = v.extract::<Vec<String>>() {
                list.join(";;")
            } else if v.is_instance_of::<pyo3::types::PyBool>() {
                v.extract::<bool>()?.to_string()
            } else {
                v.str()?.to_cow()?.into_owned()
            };
            cfg.set(&key, &text).map_err(to_py)?;
        }
    }
    Ok(cfg)
}

fn new_pool(py: Python<'_>, cfg: tusk_pool::PoolConfig) -> PyResult<tusk_pool::Pool> {
    let _guard = api::rt().enter();
    let (pool, warnings) = tusk_pool::Pool::new_with_warnings(cfg).map_err(to_py)?;
    let warn = py.import("warnings")?;
    for w in warnings {
        warn.call_method1("warn", (format!("tusk pool setting corrected: {w:?}"),))?;
    }
    Ok(pool)
}

/// `await tusk.connect(url)`: a connection of one's own.
#[pyfunction]
fn connect(py: Python<'_>, url: String) -> PyResult<Bound<'_, PyAny>> {
    awaitable::spawn(py, async move {
        let c = tusk::connect(&url).await.map_err(to_py)?;
        Ok(api::Connection(Arc::new(c)))
    })
}

/// `tusk.connect_sync(url)`: a connection for blocking code.
#[pyfunction]
fn connect_sync(py: Python<'_>, url: String) -> PyResult<api::SyncConnection> {
    let c = py
        .detach(|| api::rt().block_on(tusk::connect(&url)))
        .map_err(to_py)?;
    Ok(api::SyncConnection(Arc::new(c)))
}

/// `await tusk.create_pool(url, max_size=..., ...)`: a pool, checked by
/// opening one connection.
#[pyfunction]
#[pyo3(signature = (url=None, **settings))]
fn create_pool<'py>(
    py: Python<'py>,
    url: Option<&str>,
    settings: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let pool = new_pool(py, pool_config(url, settings)?)?;
    awaitable::spawn(py, async move {
        drop(pool.acquire().await.map_err(to_py)?);
        Ok(api::Pool(pool))
    })
}

/// `tusk.create_pool_sync(url, ...)`: a pool for blocking code.
#[pyfunction]
#[pyo3(signature = (url=None, **settings))]
fn create_pool_sync(
    py: Python<'_>,
    url: Option<&str>,
    settings: Option<&Bound<'_, PyDict>>,
) -> PyResult<api::SyncPool> {
    let pool = new_pool(py, pool_config(url, settings)?)?;
    let p = pool.clone();
    py.detach(|| api::rt().block_on(async move { p.acquire().await.map(drop) }))
        .map_err(to_py)?;
    Ok(api::SyncPool(pool))
}

#[pymodule]
fn _tusk(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(connect, m)?)?;
    m.add_function(wrap_pyfunction!(connect_sync, m)?)?;
    m.add_function(wrap_pyfunction!(create_pool, m)?)?;
    m.add_function(wrap_pyfunction!(create_pool_sync, m)?)?;
    m.add_class::<api::Connection>()?;
    m.add_class::<api::Pool>()?;
    m.add_class::<api::Transaction>()?;
    m.add_class::<api::PoolConnection>()?;
    m.add_class::<api::SyncPoolConnection>()?;
    m.add_class::<api::Query>()?;
    m.add_class::<api::RowStream>()?;
    m.add_class::<api::SyncConnection>()?;
    m.add_class::<api::SyncPool>()?;
    m.add_class::<api::SyncTransaction>()?;
    m.add_class::<api::SyncQuery>()?;
    m.add_class::<api::SyncRowStream>()?;
    m.add_class::<api::CopyOut>()?;
    m.add_class::<api::SyncCopyOut>()?;
    m.add_class::<record::Record>()?;
    errors::register(m)?;
    Ok(())
}
