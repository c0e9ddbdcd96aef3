//! asyncio awaitables driven on the event loop's own thread.
//!
//! A query's Rust future is polled on the thread that runs the asyncio
//! loop, with the GIL held (each poll is microseconds of work: encode,
//! send, parse), inside the tokio runtime's context so that its sockets and
//! timers are the runtime's. The first poll happens in the call itself, so
//! the query is on the wire before the call returns, and a result that is
//! ready then (an error before sending, say) comes back in an already
//! finished future: `await` takes it without a loop iteration.
//!
//! A query waiting for its answer is woken by the loop itself: its reads
//! are waited for with `tusk::external_reads`, so a read that finds the
//! socket empty hands the socket's descriptor back instead of arming the
//! runtime's reactor (the socket is taken off it), and the descriptor goes
//! (one-shot) into an `epoll`
//! instance of the loop's own, watched with `loop.add_reader`. When the
//! answer arrives the loop's selector wakes on it directly and polls the
//! waiting tasks: no runtime thread, no hop between threads on the path of
//! a query (measured: the hop was most of what tusk spent per query above
//! asyncpg).
//!
//! Every other wake-up (a timer, a write that had to wait, the pool handing
//! over a connection, another task driving the connection) comes from the
//! runtime's threads: the task goes on its loop's ready queue and one byte
//! on a socket pair (watched with `loop.add_reader`) wakes the loop, once
//! per batch of wake-ups. The loop then polls the woken tasks, converts
//! finished results to Python objects and sets them on their futures. No
//! runtime thread ever takes the GIL and no task is spawned.
//!
//! Cancelling the asyncio future drops the Rust future on the loop thread
//! (the driver then abandons the query, and the pool cancels it on the
//! server before the connection is reused).

use std::future::Future;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::IntoPyObjectExt;

use crate::api::rt;

/// What a finished future hands to Python: converted with the GIL.
type Convert = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;
type BoxFuture = Pin<Box<dyn Future<Output = PyResult<Convert>> + Send>>;

/// One loop's ready queue and wake-up socket.
struct Driver {
    queue: Mutex<Vec<Arc<Task>>>,
    /// True while a wake-up byte is pending or the loop is draining the
    /// queue: further wakes only push.
    notified: AtomicBool,
    tx: UnixStream,
    rx: UnixStream,
    /// The loop's own `epoll` for the sockets tasks wait to read, with the
    /// tasks waiting on each (weak: a task whose asyncio future is gone is
    /// no one's to wake). `None` where there is no `epoll`: the runtime's
    /// reactor waits for reads then.
    reads: Option<epoll::Epoll>,
    waiting: Mutex<std::collections::HashMap<std::os::fd::RawFd, Vec<Weak<Task>>>>,
}

impl Driver {
    fn push(&self, t: Arc<Task>) {
        self.queue.lock().push(t);
        if !self.notified.swap(true, Ordering::SeqCst) {
            // A full socket buffer means a wake-up is pending anyway.
            let _ = (&self.tx).write(&[1]);
        }
    }

    /// Watches `fd` for the next time it is readable, for `t`. False when
    /// `epoll` refused it (the task then waits through the runtime).
    fn watch(&self, fd: std::os::fd::RawFd, t: &Arc<Task>) -> bool {
        let Some(ep) = &self.reads else {
            return false;
        };
        let mut w = self.waiting.lock();
        let list = w.entry(fd).or_default();
        list.retain(|x| x.strong_count() > 0);
        if !list
            .iter()
            .any(|x| std::ptr::eq(x.as_ptr(), Arc::as_ptr(t)))
        {
            list.push(Arc::downgrade(t));
        }
        drop(w);
        ep.arm(fd)
    }
}

/// One awaitable: the Rust future and the asyncio future it completes.
struct Task {
    fut: Mutex<Option<BoxFuture>>,
    py_fut: Py<PyAny>,
    canceller: Mutex<Option<Py<PyAny>>>,
    /// Set when the asyncio future was cancelled while this task was being
    /// polled (Python code a conversion ran did it): the poll drops it.
    cancelled: AtomicBool,
    queued: AtomicBool,
    /// Set once the loop's `epoll` refused one of this task's sockets: its
    /// reads are waited for by the runtime's reactor from then on.
    runtime_reads: AtomicBool,
    driver: Arc<Driver>,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        if !self.queued.swap(true, Ordering::SeqCst) {
            let d = self.driver.clone();
            d.push(self);
        }
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.clone().wake();
    }
}

impl Task {
    /// Polls the future once (on the loop thread, GIL held); when it is
    /// done, sets the result or the exception on the asyncio future.
    fn run(self: &Arc<Self>, py: Python<'_>) -> PyResult<()> {
        self.queued.store(false, Ordering::SeqCst);
        let mut slot = self.fut.lock();
        let Some(fut) = slot.as_mut() else {
            return Ok(());
        };
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        let out = {
            let _rt = rt().enter();
            let external =
                self.driver.reads.is_some() && !self.runtime_reads.load(Ordering::SeqCst);
            let (polled, fds) = if external {
                tusk::external_reads::poll_with_external_reads(|| fut.as_mut().poll(&mut cx))
            } else {
                (fut.as_mut().poll(&mut cx), Vec::new())
            };
            if self.cancelled.load(Ordering::SeqCst) {
                *slot = None;
                return Ok(());
            }
            match polled {
                Poll::Pending => {
                    drop(slot);
                    for fd in fds {
                        if !self.driver.watch(fd, self) {
                            // Polled again at once, its reads through the runtime.
                            self.runtime_reads.store(true, Ordering::SeqCst);
                            self.clone().wake();
                        }
                    }
                    return Ok(());
                }
                Poll::Ready(out) => out,
            }
        };
        *slot = None;
        drop(slot);
        let value = out.and_then(|convert| convert(py));
        let f = self.py_fut.bind(py);
        if let Some(c) = self.canceller.lock().take() {
            f.call_method1(pyo3::intern!(py, "remove_done_callback"), (c,))?;
        }
        if f.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
            return Ok(());
        }
        match value {
            Ok(v) => f.call_method1(pyo3::intern!(py, "set_result"), (v,))?,
            Err(e) => f.call_method1(pyo3::intern!(py, "set_exception"), (e.into_value(py),))?,
        };
        Ok(())
    }
}

/// The asyncio future's done callback: when it was cancelled, drops the
/// Rust future (on the loop thread, in the runtime's context).
#[pyclass(module = "tusk", frozen)]
struct Canceller(Arc<Task>);

#[pymethods]
impl Canceller {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        // Breaks the cycle future -> Canceller -> Task -> Canceller.
        drop(self.0.canceller.lock().take());
        if fut.call_method0("cancelled")?.is_truthy()? {
            self.0.cancelled.store(true, Ordering::SeqCst);
            // Being polled right now (this call came from Python code the
            // poll ran): the poll drops the future when it returns.
            if let Some(mut slot) = self.0.fut.try_lock() {
                let dropped = slot.take();
                drop(slot);
                let _rt = rt().enter();
                drop(dropped);
            }
        }
        Ok(())
    }
}

/// The loop's reader callback: drains the ready queue.
#[pyclass(module = "tusk", frozen)]
struct Drain(Arc<Driver>);

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let d = &self.0;
        let mut buf = [0u8; 256];
        while matches!((&d.rx).read(&mut buf), Ok(n) if n == buf.len()) {}
        loop {
            // Wakes while we drain only push; the check below sees them.
            d.notified.store(true, Ordering::SeqCst);
            let batch = std::mem::take(&mut *d.queue.lock());
            if batch.is_empty() {
                d.notified.store(false, Ordering::SeqCst);
                if d.queue.lock().is_empty() {
                    return Ok(());
                }
                continue;
            }
            for t in batch {
                if let Err(e) = t.run(py) {
                    e.write_unraisable(py, None);
                }
            }
        }
    }
}

/// The loop's reader callback for its `epoll`: polls the tasks whose
/// sockets became readable.
#[pyclass(module = "tusk", frozen)]
struct ReadsReady(Arc<Driver>);

#[pymethods]
impl ReadsReady {
    fn __call__(&self, py: Python<'_>) {
        let d = &self.0;
        let Some(ep) = &d.reads else {
            return;
        };
        let mut fds = Vec::new();
        loop {
            fds.clear();
            let full = ep.ready(&mut fds);
            for fd in &fds {
                let tasks = d.waiting.lock().remove(fd).unwrap_or_default();
                for t in tasks.iter().filter_map(Weak::upgrade) {
                    if let Err(e) = t.run(py) {
                        e.write_unraisable(py, None);
                    }
                }
            }
            if !full {
                return;
            }
        }
    }
}

/// A loop's driver, kept beside the loop in a weak-keyed dict (so it goes
/// with its loop) and, for the loop last used on this thread, in a
/// thread-local cache.
#[pyclass(module = "tusk", frozen)]
struct DriverRef(Arc<Driver>);

thread_local! {
    static LAST: std::cell::RefCell<Option<(Py<PyAny>, Arc<Driver>)>> = const { std::cell::RefCell::new(None) };
}

fn driver_for(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Driver>> {
    let cached = LAST.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|(lp, _)| lp.bind(py).is(event_loop))
            .map(|(_, d)| d.clone())
    });
    if let Some(d) = cached {
        return Ok(d);
    }
    static DRIVERS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let drivers = DRIVERS
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(
                py.import("weakref")?
                    .getattr("WeakKeyDictionary")?
                    .call0()?
                    .unbind(),
            )
        })?
        .bind(py);
    let d = match drivers.call_method1("get", (event_loop,))? {
        found if !found.is_none() => found.cast::<DriverRef>()?.get().0.clone(),
        _ => {
            let (tx, rx) = UnixStream::pair()?;
            tx.set_nonblocking(true)?;
            rx.set_nonblocking(true)?;
            let d = Arc::new(Driver {
                queue: Mutex::new(Vec::new()),
                notified: AtomicBool::new(false),
                tx,
                rx,
                // TUSK_PYTHON_RUNTIME_READS=1: reads waited for by the
                // runtime's reactor as before (to compare, or to rule this out).
                reads: if std::env::var_os("TUSK_PYTHON_RUNTIME_READS").is_some_and(|v| v == "1") {
                    None
                } else {
                    epoll::Epoll::new()
                },
                waiting: Mutex::new(std::collections::HashMap::new()),
            });
            event_loop.call_method1("add_reader", (d.rx.as_raw_fd(), Drain(d.clone())))?;
            if let Some(ep) = &d.reads {
                event_loop.call_method1("add_reader", (ep.fd(), ReadsReady(d.clone())))?;
            }
            drivers.set_item(event_loop, DriverRef(d.clone()))?;
            d
        }
    };
    LAST.with(|l| *l.borrow_mut() = Some((event_loop.clone().unbind(), d.clone())));
    Ok(d)
}

/// An asyncio future completed by `fut`, polled first right here.
pub fn spawn<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let event_loop = pyo3_async_runtimes::get_running_loop(py)?;
    let py_fut = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
    let driver = driver_for(py, &event_loop)?;
    let boxed: BoxFuture = Box::pin(async move {
        let v = fut.await?;
        Ok(Box::new(move |py: Python<'_>| v.into_py_any(py)) as Convert)
    });
    let task = Arc::new(Task {
        fut: Mutex::new(Some(boxed)),
        py_fut: py_fut.clone().unbind(),
        canceller: Mutex::new(None),
        cancelled: AtomicBool::new(false),
        queued: AtomicBool::new(false),
        runtime_reads: AtomicBool::new(false),
        driver,
    });
    task.run(py)?;
    if task.fut.lock().is_some() {
        let c = Py::new(py, Canceller(task.clone()))?.into_any();
        py_fut.call_method1(pyo3::intern!(py, "add_done_callback"), (c.clone_ref(py),))?;
        *task.canceller.lock() = Some(c);
    }
    Ok(py_fut)
}

/// An awaitable whose value is already here (a stream's buffered row):
/// `await` takes it at once, with no Future and no loop iteration.
#[pyclass(module = "tusk", frozen)]
pub struct Ready(Mutex<Option<Py<PyAny>>>);

impl Ready {
    /// Wraps a value.
    pub fn new(v: Py<PyAny>) -> Ready {
        Ready(Mutex::new(Some(v)))
    }
}

#[pymethods]
impl Ready {
    fn __await__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<()> {
        let v = self.0.lock().take().unwrap_or_else(|| py.None());
        Err(pyo3::exceptions::PyStopIteration::new_err((v,)))
    }
}

/// A done callback (or `call_soon` callback) that wakes a Rust task and
/// records that it ran.
#[pyclass(module = "tusk", frozen)]
struct WakeOnCall {
    waker: Mutex<Option<Waker>>,
    fired: Arc<AtomicBool>,
}

impl WakeOnCall {
    fn new(waker: &Waker) -> (WakeOnCall, Arc<AtomicBool>) {
        let fired = Arc::new(AtomicBool::new(false));
        let cb = WakeOnCall {
            waker: Mutex::new(Some(waker.clone())),
            fired: fired.clone(),
        };
        (cb, fired)
    }
}

#[pymethods]
impl WakeOnCall {
    #[pyo3(signature = (*_args))]
    fn __call__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.fired.store(true, Ordering::SeqCst);
        if let Some(w) = self.waker.lock().take() {
            w.wake();
        }
    }
}

/// A Python awaitable (an async iterator's `__anext__()`, an async file's
/// `read()`) awaited from a Rust future polled on the event loop's thread:
/// wrapped with `asyncio.ensure_future`, whose done callback wakes the
/// Rust task. Dropped before it is done, the Python task is cancelled.
pub struct PyAwait {
    awaitable: Option<Py<PyAny>>,
    fut: Option<Py<PyAny>>,
}

impl PyAwait {
    /// Awaits `awaitable` (on the running loop).
    pub fn new(awaitable: Py<PyAny>) -> PyAwait {
        PyAwait {
            awaitable: Some(awaitable),
            fut: None,
        }
    }
}

impl Future for PyAwait {
    type Output = PyResult<Py<PyAny>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        Python::attach(|py| {
            if let Some(aw) = this.awaitable.take() {
                let f = py
                    .import(pyo3::intern!(py, "asyncio"))?
                    .call_method1(pyo3::intern!(py, "ensure_future"), (aw,))?;
                let (cb, _) = WakeOnCall::new(cx.waker());
                f.call_method1(pyo3::intern!(py, "add_done_callback"), (cb,))?;
                this.fut = Some(f.unbind());
            }
            let Some(f) = &this.fut else {
                return Err(crate::errors::interface("awaited twice"));
            };
            let f = f.bind(py);
            if !f.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
                return Ok(None);
            }
            let r = f.call_method0(pyo3::intern!(py, "result"));
            this.fut = None;
            r.map(|v| Some(v.unbind()))
        })
        .map_or_else(
            |e| Poll::Ready(Err(e)),
            |v| v.map_or(Poll::Pending, |v| Poll::Ready(Ok(v))),
        )
    }
}

impl Drop for PyAwait {
    fn drop(&mut self) {
        if let Some(f) = self.fut.take() {
            Python::attach(|py| {
                let _ = f.bind(py).call_method0("cancel");
            });
        }
    }
}

/// Lets the event loop run its other callbacks once (a long COPY fed
/// from a synchronous source would otherwise hold the loop until the
/// end): done when a `loop.call_soon` callback has run, whatever else
/// wakes the task meanwhile (the connection's wake-ups from the runtime's
/// threads would keep the loop's drain busy with this task otherwise).
/// Done at once with no running loop.
pub async fn yield_to_loop() {
    let mut fired: Option<Arc<AtomicBool>> = None;
    std::future::poll_fn(|cx| {
        if let Some(f) = &fired {
            return if f.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            };
        }
        let armed = Python::attach(|py| -> PyResult<Arc<AtomicBool>> {
            let lp = pyo3_async_runtimes::get_running_loop(py)?;
            let (cb, f) = WakeOnCall::new(cx.waker());
            lp.call_method1(pyo3::intern!(py, "call_soon"), (cb,))?;
            Ok(f)
        });
        match armed {
            Ok(f) => {
                fired = Some(f);
                Poll::Pending
            }
            Err(_) => Poll::Ready(()),
        }
    })
    .await
}

/// The loop's own `epoll` (Linux): sockets armed one-shot for reading.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod epoll {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

    /// An `epoll` instance.
    pub struct Epoll(OwnedFd);

    impl Epoll {
        /// A new instance; `None` if the kernel refused one.
        pub fn new() -> Option<Epoll> {
            // SAFETY: a plain system call with no pointers.
            let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
            // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
            (fd >= 0).then(|| Epoll(unsafe { OwnedFd::from_raw_fd(fd) }))
        }

        /// Its descriptor (readable while events are waiting).
        pub fn fd(&self) -> RawFd {
            self.0.as_raw_fd()
        }

        /// Reports `fd` once when it is (or becomes) readable, closed or
        /// failed. False if the kernel refused.
        pub fn arm(&self, fd: RawFd) -> bool {
            let mut ev = libc::epoll_event {
                events: (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLONESHOT).cast_unsigned(),
                u64: u64::from(fd.cast_unsigned()),
            };
            let ep = self.0.as_raw_fd();
            // SAFETY: `ev` is a live epoll_event for the duration of the call.
            if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_MOD, fd, &raw mut ev) } == 0 {
                return true;
            }
            if std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOENT) {
                return false;
            }
            // SAFETY: as above.
            unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &raw mut ev) == 0 }
        }

        /// Appends the descriptors reported now (without waiting); true
        /// when the buffer was full (call again).
        pub fn ready(&self, out: &mut Vec<RawFd>) -> bool {
            const N: usize = 64;
            let mut evs = [libc::epoll_event { events: 0, u64: 0 }; N];
            // SAFETY: `evs` has room for `N` events.
            let n = unsafe { libc::epoll_wait(self.0.as_raw_fd(), evs.as_mut_ptr(), 64, 0) };
            let n = usize::try_from(n).unwrap_or(0);
            for ev in &evs[..n] {
                let data = ev.u64;
                if let Ok(fd) = RawFd::try_from(data) {
                    out.push(fd);
                }
            }
            n == N
        }
    }
}

/// Elsewhere: no `epoll`, reads are waited for by the runtime's reactor.
#[cfg(not(target_os = "linux"))]
mod epoll {
    use std::os::fd::RawFd;

    /// Never made.
    pub struct Epoll;

    impl Epoll {
        pub fn new() -> Option<Epoll> {
            None
        }
        pub fn fd(&self) -> RawFd {
            -1
        }
        pub fn arm(&self, _fd: RawFd) -> bool {
            false
        }
        pub fn ready(&self, _out: &mut Vec<RawFd>) -> bool {
            false
        }
    }
}
