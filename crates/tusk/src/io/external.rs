//! Reads waited for by a foreign event loop (the Python module's asyncio
//! loop): see `tusk::external_reads`.

use std::cell::RefCell;
use std::os::fd::RawFd;

thread_local! {
    /// `Some` while [`poll_with_external_reads`] runs on this thread: the
    /// sockets a read found empty, to be watched by the caller's loop.
    static WANTED: RefCell<Option<Vec<RawFd>>> = const { RefCell::new(None) };
}

/// Runs `poll` (one poll of a future using tusk connections) with reads
/// waited for by the caller instead of tokio's reactor: a read of a plain
/// (non-TLS) socket is tried at once, and when the socket is empty the
/// future is `Pending` with no tokio wake-up armed for it (the socket is
/// taken off tokio's reactor, so its data wakes no runtime thread, and
/// written to directly while off it); the socket's descriptor is returned
/// instead. The caller must poll the future again
/// once any returned descriptor is readable (watching it with its own
/// `epoll`, say), or it waits forever. Every other wake-up (writes, timers,
/// other tasks) still goes through the future's waker.
///
/// The poll must reach every part of the future that may read: a
/// combinator that polls only the parts whose waker fired
/// (`FuturesUnordered`, `join_all` past 30 futures) never passes the
/// caller's readiness on, as readiness is not a wake-up.
///
/// This lets an event loop that is not tokio's (asyncio) wake straight
/// from the connection's socket, without a hop through a runtime thread.
pub fn poll_with_external_reads<R>(poll: impl FnOnce() -> R) -> (R, Vec<RawFd>) {
    let outer = WANTED.with(|w| w.borrow_mut().replace(Vec::new()));
    let r = poll();
    let fds = WANTED.with(|w| std::mem::replace(&mut *w.borrow_mut(), outer));
    (r, fds.unwrap_or_default())
}

/// True when reads on this thread are waited for by the caller; then
/// `fd` is recorded as wanted.
pub(crate) fn want(fd: RawFd) -> bool {
    WANTED.with(|w| match w.borrow_mut().as_mut() {
        Some(v) => {
            if !v.contains(&fd) {
                v.push(fd);
            }
            true
        }
        None => false,
    })
}

/// True while [`poll_with_external_reads`] runs on this thread.
pub(crate) fn active() -> bool {
    WANTED.with(|w| w.borrow().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_wanted_descriptors_only_inside_and_restores_the_outer_scope() {
        assert!(!active());
        assert!(!want(3));
        let ((), fds) = poll_with_external_reads(|| {
            assert!(active());
            assert!(want(3));
            assert!(want(3));
            let ((), inner) = poll_with_external_reads(|| {
                assert!(want(9));
            });
            assert_eq!(inner, vec![9]);
            assert!(want(4));
        });
        assert_eq!(fds, vec![3, 4]);
        assert!(!active());
    }
}
