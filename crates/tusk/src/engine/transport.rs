//! The I/O half of the engine: flushing the write buffer and reading into
//! the receive buffer, one driver turn at a time.

use super::*;
use std::future::Future;
use std::pin::Pin;

/// An [`Engine`] with its transport: the only place where the engine does
/// I/O. It derefs to the engine, so callers use the engine's methods on
/// the locked state directly.
pub(crate) struct State {
    pub io: Io,
    engine: Engine,
    /// Armed while the driver waits with a low-water mark above 1: when
    /// it fires before anything arrived, the mark is dropped (see
    /// [`LOW_WATER_PATIENCE`]).
    low_water_timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The mark is off until more bytes arrive: `received` when the timer
    /// fired.
    low_water_off_at: Option<u64>,
}

/// How long the driver waits for what the whole pipeline owes before it
/// reads what has arrived: an answer already in the socket must never be
/// held back for long by a later request that takes its time (a lock wait,
/// a slow query), and never at all when that request waits on something
/// only the first answer's caller can release. Tokio's timers tick in
/// milliseconds, so this is the least it can be.
const LOW_WATER_PATIENCE: std::time::Duration = std::time::Duration::from_millis(1);

impl std::ops::Deref for State {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl std::ops::DerefMut for State {
    fn deref_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }
}

impl State {
    pub(crate) fn new(
        io: Io,
        rbuf: BytesMut,
        params: HashMap<String, String>,
        cache: StatementCache,
        pooler_mode: bool,
    ) -> State {
        State {
            io,
            engine: Engine::new(rbuf, params, cache, pooler_mode),
            low_water_timer: None,
            low_water_off_at: None,
        }
    }

    /// Fails every pending request and closes the transport.
    pub(crate) fn fail(&mut self, err: Error) {
        self.engine.fail(err);
        if let Some(s) = self.io.sock() {
            s.shutdown();
        }
    }

    /// One turn of the driver: flush, dispatch what is buffered, read.
    /// `Ready` when something happened (the caller re-checks its request);
    /// `Pending` with wakers registered when it must wait.
    pub(crate) fn drive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.broken().is_some() {
            return Poll::Ready(());
        }
        self.send_reset_alone();
        if let Err(e) = self.flush(cx) {
            self.fail(e);
            return Poll::Ready(());
        }
        match self.process() {
            Err(e) => {
                self.fail(e);
                return Poll::Ready(());
            }
            Ok(true) => return Poll::Ready(()),
            Ok(false) => {}
        }
        if self.engine.role.stalled() {
            // A stream's consumer is behind; it wakes the driver when it takes rows.
            return Poll::Pending;
        }
        if self.in_flight() == 0
            && !self.engine.delivery.has_listener()
            && !self.engine.role.is(Driver::External)
        {
            return Poll::Pending;
        }
        // Wake for several pipelined answers at once rather than for each,
        // but not after the timer gave up on them until more bytes came.
        let mark = match self.low_water_off_at {
            Some(at) if at == self.engine.inc.received() => 1,
            _ => low_water(self.engine.owed_bytes()),
        };
        self.io.set_low_water(mark);
        let read = self.io.poll_read(cx, self.engine.inc.reader());
        if !matches!(read, Poll::Pending) {
            self.low_water_timer = None;
            self.low_water_off_at = None;
        } else if mark > 1 {
            let timer = self
                .low_water_timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(LOW_WATER_PATIENCE)));
            if timer.as_mut().poll(cx).is_ready() {
                // Read what has arrived: the next turn waits with no mark.
                self.low_water_timer = None;
                self.low_water_off_at = Some(self.engine.inc.received());
                return Poll::Ready(());
            }
        } else {
            self.low_water_timer = None;
        }
        match read {
            Poll::Ready(Ok(0)) => {
                self.fail(Error::new(
                    ErrorKind::Connection,
                    "the server closed the connection unexpectedly",
                ));
                Poll::Ready(())
            }
            Poll::Ready(Ok(n)) => {
                self.engine.inc.note_read(n);
                if let Err(e) = self.process() {
                    self.fail(e);
                }
                Poll::Ready(())
            }
            Poll::Ready(Err(e)) => {
                self.fail(Error::io("reading from the server failed", e));
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Writes what may be written now.
    pub(super) fn flush(&mut self, cx: &mut Context<'_>) -> Result<(), Error> {
        let pending = self.io.has_pending_output();
        let io = &mut self.io;
        let (wrote, err) = self.engine.out.flush(pending, |b| io.poll_write(cx, b));
        if wrote > 0 {
            self.engine.on_written();
        }
        match err {
            Some(err) => Err(Error::io("writing to the server failed", err)),
            None => Ok(()),
        }
    }
}

/// The socket's read low-water mark for `owed` bytes the server owes at
/// least: off for a few answers (nothing to gain, and no system call to
/// change it), else the largest of 2^k and 1.5 * 2^k not above it (so
/// that it changes, with a system call, only when the depth of the
/// pipeline does, and stays within three quarters of the bound).
fn low_water(owed: usize) -> usize {
    if owed < 128 {
        return 1;
    }
    let pow = 1usize << owed.ilog2();
    let mid = pow + pow / 2;
    if mid <= owed {
        mid
    } else {
        pow
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn low_water_never_exceeds_what_is_owed() {
        for owed in 0..100_000 {
            let l = super::low_water(owed);
            assert!(l >= 1);
            assert!(
                owed < 128 || (l <= owed && l * 4 > owed * 2),
                "{owed} -> {l}"
            );
        }
        assert_eq!(super::low_water(127), 1);
        assert_eq!(super::low_water(200), 192);
        assert_eq!(super::low_water(660), 512);
        assert_eq!(super::low_water(800), 768);
    }
}
