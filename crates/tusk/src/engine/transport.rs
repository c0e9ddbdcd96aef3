//! The I/O half of the engine: flushing the write buffer and reading into
//! the receive buffer, one driver turn at a time.

use super::*;

impl State {
    /// One turn of the driver: flush, dispatch what is buffered, read.
    /// `Ready` when something happened (the caller re-checks its request);
    /// `Pending` with wakers registered when it must wait.
    pub(crate) fn drive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.broken.is_some() {
            return Poll::Ready(());
        }
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
        if self.stalled {
            // A stream's consumer is behind; it wakes the driver when it takes rows.
            return Poll::Pending;
        }
        if self.in_flight() == 0
            && self.notification_waker.is_none()
            && self.driver != Some(Driver::External)
        {
            return Poll::Pending;
        }
        match self.io.poll_read(cx, &mut self.rbuf) {
            Poll::Ready(Ok(0)) => {
                self.fail(Error::new(
                    ErrorKind::Connection,
                    "the server closed the connection unexpectedly",
                ));
                Poll::Ready(())
            }
            Poll::Ready(Ok(n)) => {
                self.received += n as u64;
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
        if self.holds > 0 || (self.wbuf.is_empty() && !self.io.has_pending_output()) {
            return Ok(());
        }
        let limit = match self.barriers.front().copied() {
            Some(b) => usize::try_from(b.saturating_sub(self.written)).unwrap_or(usize::MAX),
            None => usize::MAX,
        };
        if limit == 0 {
            // Only TLS records of what is already written may go out.
            if self.io.has_pending_output() {
                if let Poll::Ready(Err(e)) = self.io.poll_write(cx, &mut BytesMut::new()) {
                    return Err(Error::io("writing to the server failed", e));
                }
            }
            return Ok(());
        }
        let before = self.wbuf.len();
        let res = if limit >= self.wbuf.len() {
            self.io.poll_write(cx, &mut self.wbuf)
        } else {
            let mut head = self.wbuf.split_to(limit);
            let r = self.io.poll_write(cx, &mut head);
            head.unsplit(std::mem::take(&mut self.wbuf));
            self.wbuf = head;
            r
        };
        self.written += (before - self.wbuf.len()) as u64;
        match res {
            Poll::Ready(Err(e)) => Err(Error::io("writing to the server failed", e)),
            _ => Ok(()),
        }
    }
}
