//! The `datetime` module's C API (its `datetime.datetime_CAPI` capsule),
//! which the limited API (abi3) does not declare: constructing a
//! `datetime` through it is one C call instead of a Python call that
//! parses an argument tuple (a third of a 1M-row fetch's conversion time
//! went there). The struct below is the capsule's prefix; CPython only
//! ever appends to it (its layout is unchanged since 3.7, and stable
//! ABI wheels of other projects rely on the same).
#![allow(unsafe_code)]

use std::ffi::{c_int, c_void};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// `PyDateTime_CAPI`'s first fields (CPython's `datetime.h`).
#[repr(C)]
struct Capi {
    date_type: *mut ffi::PyTypeObject,
    datetime_type: *mut ffi::PyTypeObject,
    time_type: *mut ffi::PyTypeObject,
    delta_type: *mut ffi::PyTypeObject,
    tzinfo_type: *mut ffi::PyTypeObject,
    timezone_utc: *mut ffi::PyObject,
    date_from_date:
        unsafe extern "C" fn(c_int, c_int, c_int, *mut ffi::PyTypeObject) -> *mut ffi::PyObject,
    datetime_from_date_and_time: unsafe extern "C" fn(
        c_int,
        c_int,
        c_int,
        c_int,
        c_int,
        c_int,
        c_int,
        *mut ffi::PyObject,
        *mut ffi::PyTypeObject,
    ) -> *mut ffi::PyObject,
    time_from_time: unsafe extern "C" fn(
        c_int,
        c_int,
        c_int,
        c_int,
        *mut ffi::PyObject,
        *mut ffi::PyTypeObject,
    ) -> *mut ffi::PyObject,
    delta_from_delta: unsafe extern "C" fn(
        c_int,
        c_int,
        c_int,
        c_int,
        *mut ffi::PyTypeObject,
    ) -> *mut ffi::PyObject,
}

/// The capsule's address, kept with the capsule itself (so the module,
/// and the struct it owns, stay alive).
struct Imported {
    _capsule: Py<PyAny>,
    capi: usize,
}

fn capi(py: Python<'_>) -> PyResult<&'static Capi> {
    static CELL: PyOnceLock<Imported> = PyOnceLock::new();
    let imp = CELL.get_or_try_init(py, || {
        let module = py.import("datetime")?;
        let capsule = module.getattr("datetime_CAPI")?;
        // SAFETY: the GIL is held; PyCapsule_Import returns the pointer the
        // capsule stores (or NULL with an exception set).
        let p: *mut c_void =
            unsafe { ffi::PyCapsule_Import(c"datetime.datetime_CAPI".as_ptr(), 1) };
        if p.is_null() {
            return Err(PyErr::fetch(py));
        }
        Ok::<_, PyErr>(Imported {
            _capsule: capsule.unbind(),
            capi: p as usize,
        })
    })?;
    // SAFETY: the pointer came from the capsule, which `CELL` keeps alive
    // for the life of the interpreter; the struct is never written after
    // the module's initialisation.
    Ok(unsafe { &*(imp.capi as *const Capi) })
}

fn int(v: i64) -> PyResult<c_int> {
    c_int::try_from(v)
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err(format!("{v} is out of range")))
}

/// Takes ownership of a new reference the C API returned (or its error).
fn owned(py: Python<'_>, p: *mut ffi::PyObject) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: `p` is a new reference or NULL with an exception set, as
    // every constructor of the capsule returns.
    unsafe { Bound::from_owned_ptr_or_err(py, p) }
}

/// `datetime.date(y, m, d)`.
pub fn date(py: Python<'_>, y: i64, m: i64, d: i64) -> PyResult<Bound<'_, PyAny>> {
    let c = capi(py)?;
    // SAFETY: the GIL is held and the arguments are plain integers and the
    // capsule's own type.
    owned(py, unsafe {
        (c.date_from_date)(int(y)?, int(m)?, int(d)?, c.date_type)
    })
}

/// `datetime.datetime(...)`, naive or in UTC.
pub fn datetime(
    py: Python<'_>,
    (y, mo, d): (i64, i64, i64),
    (h, mi, s, us): (i64, i64, i64, i64),
    utc: bool,
) -> PyResult<Bound<'_, PyAny>> {
    let c = capi(py)?;
    // SAFETY: the GIL is held; tzinfo is the capsule's own UTC singleton or
    // None (a borrowed reference the constructor increments itself).
    let tz = if utc {
        c.timezone_utc
    } else {
        unsafe { ffi::Py_None() }
    };
    // SAFETY: the GIL is held; plain integers, a valid tzinfo and the
    // capsule's own type.
    owned(py, unsafe {
        (c.datetime_from_date_and_time)(
            int(y)?,
            int(mo)?,
            int(d)?,
            int(h)?,
            int(mi)?,
            int(s)?,
            int(us)?,
            tz,
            c.datetime_type,
        )
    })
}

/// `datetime.time(h, m, s, us)`, naive.
pub fn time(py: Python<'_>, h: i64, mi: i64, s: i64, us: i64) -> PyResult<Bound<'_, PyAny>> {
    let c = capi(py)?;
    // SAFETY: as for `datetime`; tzinfo is None.
    owned(py, unsafe {
        (c.time_from_time)(
            int(h)?,
            int(mi)?,
            int(s)?,
            int(us)?,
            ffi::Py_None(),
            c.time_type,
        )
    })
}

/// `datetime.timedelta(days, seconds, microseconds)`, normalised.
pub fn timedelta(py: Python<'_>, days: i64, secs: i64, us: i64) -> PyResult<Bound<'_, PyAny>> {
    let c = capi(py)?;
    // SAFETY: the GIL is held; normalize=1 carries microseconds and
    // seconds into days (an out-of-range result raises OverflowError).
    owned(py, unsafe {
        (c.delta_from_delta)(int(days)?, int(secs)?, int(us)?, 1, c.delta_type)
    })
}

/// Takes a `Record` off the cyclic garbage collector's lists. PyO3 makes
/// every class collectable, but a record's traversal visits nothing (its
/// values are not reported), so tracking it only cost time: each
/// collection walked every live record (17% of a 1M-row fetch). Its
/// values are still tracked as they are.
pub fn untrack(obj: &Bound<'_, PyAny>) {
    // SAFETY: the GIL is held and `obj` is a live, fully initialised object
    // of a class with Py_TPFLAGS_HAVE_GC (every PyO3 class); untracking an
    // untracked object is a no-op.
    unsafe { ffi::PyObject_GC_UnTrack(obj.as_ptr().cast()) }
}

/// The fields of CPython's `datetime` objects, read from their structs
/// (`datetime.h`: `_PyTZINFO_HEAD` then the packed `data` bytes): what the
/// C API's `PyDateTime_GET_YEAR`-style macros read, which the limited API
/// does not offer. Attribute lookups cost ten times as much, per value, in
/// a bulk COPY. Every field below has had this layout since Python 3.6;
/// subclasses (pandas' `Timestamp`) extend it, so their prefix is the same.
/// (`_PyTZINFO_HEAD` is spelled out in each struct: as a struct of its
/// own it would be padded, and `data` would not follow `hastzinfo`.)
#[repr(C)]
struct DateTimeObj {
    ob: [usize; 2],
    hashcode: ffi::Py_hash_t,
    hastzinfo: std::ffi::c_char,
    data: [u8; 10],
    fold: u8,
    tzinfo: *mut ffi::PyObject,
}

#[repr(C)]
struct TimeObj {
    ob: [usize; 2],
    hashcode: ffi::Py_hash_t,
    hastzinfo: std::ffi::c_char,
    data: [u8; 6],
    fold: u8,
    tzinfo: *mut ffi::PyObject,
}

#[repr(C)]
struct DateObj {
    ob: [usize; 2],
    hashcode: ffi::Py_hash_t,
    hastzinfo: std::ffi::c_char,
    data: [u8; 4],
}

#[repr(C)]
struct DeltaObj {
    ob: [usize; 2],
    hashcode: ffi::Py_hash_t,
    days: c_int,
    seconds: c_int,
    microseconds: c_int,
}

// The offsets CPython's `datetime.h` gives these structs on 64-bit builds.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::offset_of!(DateTimeObj, data) == 25);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::offset_of!(DateTimeObj, tzinfo) == 40);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::offset_of!(TimeObj, tzinfo) == 32);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::offset_of!(DateObj, data) == 25);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::offset_of!(DeltaObj, days) == 24);

/// Whether `o` is an instance of the capsule's type `t` (or a subclass).
fn is_instance(o: &Bound<'_, PyAny>, t: *mut ffi::PyTypeObject) -> bool {
    // SAFETY: the GIL is held; `o` is live and `t` a type object the
    // capsule keeps alive.
    unsafe {
        ffi::Py_TYPE(o.as_ptr()) == t || ffi::PyType_IsSubtype(ffi::Py_TYPE(o.as_ptr()), t) != 0
    }
}

/// (year, month, day).
pub type Ymd = (i64, i64, i64);
/// (hour, minute, second, microsecond).
pub type Hmsu = (i64, i64, i64, i64);

/// A `datetime`'s fields: (year, month, day), (hour, minute, second,
/// microsecond) and its tzinfo (None when naive); None when `o` is not a
/// `datetime`.
#[allow(clippy::type_complexity)]
pub fn datetime_fields<'py>(
    o: &Bound<'py, PyAny>,
) -> PyResult<
    Option<(
        (i64, i64, i64),
        (i64, i64, i64, i64),
        Option<Bound<'py, PyAny>>,
    )>,
> {
    let c = capi(o.py())?;
    if !is_instance(o, c.datetime_type) {
        return Ok(None);
    }
    // SAFETY: `o` is a live datetime (checked above), whose struct starts
    // with `DateTimeObj`; the GIL is held while it is read.
    let (d, tz) = unsafe {
        let p = o.as_ptr().cast::<DateTimeObj>();
        let tz = if (*p).hastzinfo != 0 && !(*p).tzinfo.is_null() && (*p).tzinfo != ffi::Py_None() {
            Some(Bound::from_borrowed_ptr(o.py(), (*p).tzinfo))
        } else {
            None
        };
        ((*p).data, tz)
    };
    Ok(Some((
        (
            i64::from(d[0]) << 8 | i64::from(d[1]),
            i64::from(d[2]),
            i64::from(d[3]),
        ),
        (
            i64::from(d[4]),
            i64::from(d[5]),
            i64::from(d[6]),
            i64::from(d[7]) << 16 | i64::from(d[8]) << 8 | i64::from(d[9]),
        ),
        tz,
    )))
}

/// Whether `tz` is `datetime.timezone.utc` itself.
pub fn is_utc(tz: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(tz.as_ptr() == capi(tz.py())?.timezone_utc)
}

/// A `date`'s (year, month, day); None when `o` is not a `date` (a
/// `datetime` is one: check for it first).
pub fn date_fields(o: &Bound<'_, PyAny>) -> PyResult<Option<Ymd>> {
    let c = capi(o.py())?;
    if !is_instance(o, c.date_type) {
        return Ok(None);
    }
    // SAFETY: a live date (checked above); the GIL is held.
    let d = unsafe { (*o.as_ptr().cast::<DateObj>()).data };
    Ok(Some((
        i64::from(d[0]) << 8 | i64::from(d[1]),
        i64::from(d[2]),
        i64::from(d[3]),
    )))
}

/// A `time`'s (hour, minute, second, microsecond) and whether it has a
/// tzinfo; None when `o` is not a `time`.
pub fn time_fields(o: &Bound<'_, PyAny>) -> PyResult<Option<(Hmsu, bool)>> {
    let c = capi(o.py())?;
    if !is_instance(o, c.time_type) {
        return Ok(None);
    }
    // SAFETY: a live time (checked above); the GIL is held.
    let (d, tz) = unsafe {
        let p = o.as_ptr().cast::<TimeObj>();
        (
            (*p).data,
            (*p).hastzinfo != 0 && !(*p).tzinfo.is_null() && (*p).tzinfo != ffi::Py_None(),
        )
    };
    Ok(Some((
        (
            i64::from(d[0]),
            i64::from(d[1]),
            i64::from(d[2]),
            i64::from(d[3]) << 16 | i64::from(d[4]) << 8 | i64::from(d[5]),
        ),
        tz,
    )))
}

/// A `timedelta`'s (days, seconds, microseconds); None when `o` is not one.
pub fn delta_fields(o: &Bound<'_, PyAny>) -> PyResult<Option<(i64, i64, i64)>> {
    let c = capi(o.py())?;
    if !is_instance(o, c.delta_type) {
        return Ok(None);
    }
    // SAFETY: a live timedelta (checked above); the GIL is held.
    let p = unsafe { &*o.as_ptr().cast::<DeltaObj>() };
    Ok(Some((
        i64::from(p.days),
        i64::from(p.seconds),
        i64::from(p.microseconds),
    )))
}

extern "C" {
    /// In every CPython since 3.3 (and in the limited API from 3.10).
    fn PyUnicode_AsUTF8AndSize(
        o: *mut ffi::PyObject,
        size: *mut ffi::Py_ssize_t,
    ) -> *const std::ffi::c_char;
}

/// Appends a `str`'s UTF-8 to `out` without an intermediate `bytes`
/// object (CPython caches the UTF-8 form in the string); false when it
/// contains a NUL (which PostgreSQL text cannot hold).
pub fn push_str(s: &Bound<'_, pyo3::types::PyString>, out: &mut Vec<u8>) -> PyResult<bool> {
    let mut n: ffi::Py_ssize_t = 0;
    // SAFETY: the GIL is held and `s` is a live str; the returned buffer
    // belongs to the string and is read before `s` can go away.
    let bytes = unsafe {
        let p = PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut n);
        if p.is_null() {
            return Err(PyErr::fetch(s.py()));
        }
        std::slice::from_raw_parts(p.cast::<u8>(), usize::try_from(n).unwrap_or(0))
    };
    if bytes.contains(&0) {
        return Ok(false);
    }
    out.extend_from_slice(bytes);
    Ok(true)
}
