//! COPY: bulk load with [`CopyInSink`] and bulk read with [`CopyOutStream`].
//!
//! ```no_run
//! # async fn run(conn: &tusk::Connection) -> Result<(), tusk::Error> {
//! let mut sink = conn.copy_in("COPY t (id, name) FROM STDIN (FORMAT csv)").await?;
//! sink.write(b"1,alice\n2,bob\n").await?;
//! let rows = sink.finish().await?;
//! assert_eq!(rows, 2);
//! # Ok(()) }
//! ```
//!
//! The statement goes out as a simple query; nothing queued behind it on
//! the same connection is written until the COPY has been answered, so
//! concurrent callers' queries wait behind it and then run. The sink
//! buffers at most [`COPY_IN_BUFFER`] bytes that the socket has not taken:
//! a write waits while the server is behind (backpressure). Dropping the
//! sink before [`CopyInSink::finish`] sends CopyFail: the server rolls the
//! COPY back (no partial rows) and the connection stays usable.
//!
//! A COPY OUT is read as chunks (one per row for the text, CSV and binary
//! formats; the binary header comes with the first row) with the same
//! bounded memory as a row stream. [`BinaryCopyInWriter`] and
//! [`BinaryCopyOutReader`] read and write the binary format with
//! [`ToSql`](crate::ToSql)/[`FromSql`](crate::FromSql) values; [`TextRowWriter`]
//! writes text or CSV rows with the format's escaping.
//!
//! A server error during a COPY IN (a bad value on some line) ends it: the
//! next write, or `finish`, returns it, and [`Error::copy_line`] says which
//! line of the data it was. A `COPY ... FROM STDIN` or `... TO STDOUT`
//! sent through the query methods fails with an error saying to use these
//! instead (the connection stays usable).

mod binary;
mod text;

pub use binary::{BinaryCopyInWriter, BinaryCopyOutReader, BinaryCopyRow};
pub use text::{TextFormat, TextRowWriter};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::client::Client;
use crate::engine::{CopyPhase, Driver, Response, Submit, Ticket};
use crate::error::{Error, ErrorKind};

/// Most bytes of a COPY IN held by the connection and not yet taken by the
/// socket: a write waits while there are more.
pub const COPY_IN_BUFFER: usize = 512 * 1024;

/// The payload of one CopyData message a sink sends (smaller writes are
/// gathered into one).
const CHUNK: usize = 64 * 1024;

/// COPY OUT chunks buffered before the connection stops reading the socket
/// (a [`CopyOutStream`] may hold as many more, taken and not returned yet).
const COPY_OUT_BUFFER: usize = 1024;

/// The CopyData header: tag and length, filled in when the chunk is sent.
const HEADER: [u8; 5] = [b'd', 0, 0, 0, 0];

impl Client {
    /// Submits a COPY as a simple query whose answer the COPY API takes,
    /// and waits until the server switched to COPY mode (or answered
    /// without: an error, or not a COPY of that direction).
    async fn start_copy(&self, sql: &str, phase: CopyPhase) -> Result<Ticket, Error> {
        let ticket = {
            let mut st = self.shared.lock();
            st.check()?;
            let mut resp = Response::simple();
            resp.copy = phase;
            if phase == CopyPhase::WantOut {
                resp.stream_limit = Some(COPY_OUT_BUFFER);
            }
            // The barrier: nothing behind the COPY is written before it is
            // answered, so its data (and a CopyFail) go right behind it.
            let how = Submit {
                barrier: true,
                ..Submit::WHOLE
            };
            let id = st.submit(how, resp, |w| {
                postgres_protocol::message::frontend::query(sql, w).map_err(|e| {
                    Error::with_source(ErrorKind::Conversion, "cannot encode message", e)
                })
            })?;
            self.ticket(id)
        };
        let id = ticket.id;
        let mut ticket = ticket;
        let started = poll_fn(|cx| {
            let mut st = match self.shared.poll_wait(cx, id, |_, r| {
                matches!(r.resp.copy, CopyPhase::In | CopyPhase::Out)
            }) {
                Poll::Ready(st) => st,
                Poll::Pending => return Poll::Pending,
            };
            // (A short COPY OUT may be over already: its data is queued.)
            let started = st
                .req(id)
                .is_some_and(|r| matches!(r.resp.copy, CopyPhase::In | CopyPhase::Out));
            if started {
                st.release_if(Driver::Request(id));
                return Poll::Ready(None);
            }
            // Answered without COPY mode: its error, or not a COPY.
            ticket.finished = true;
            Poll::Ready(Some(st.collect(id)))
        })
        .await;
        match started {
            None => Ok(ticket),
            Some(resp) => Err(resp.error.unwrap_or_else(|| {
                let what = if phase == CopyPhase::WantIn {
                    "COPY ... FROM STDIN"
                } else {
                    "COPY ... TO STDOUT"
                };
                Error::new(
                    ErrorKind::Other,
                    format!(
                        "the statement given to {} is not a {what}: it ran as a plain query",
                        if phase == CopyPhase::WantIn {
                            "copy_in"
                        } else {
                            "copy_out"
                        }
                    ),
                )
            })),
        }
    }

    pub(crate) async fn copy_in<'a>(&'a self, sql: &str) -> Result<CopyInSink<'a>, Error> {
        let ticket = self.start_copy(sql, CopyPhase::WantIn).await?;
        let mut buf = BytesMut::with_capacity(CHUNK + HEADER.len());
        buf.extend_from_slice(&HEADER);
        Ok(CopyInSink {
            ticket,
            buf,
            finished: false,
            _conn: PhantomData,
        })
    }

    pub(crate) async fn copy_out<'a>(&'a self, sql: &str) -> Result<CopyOutStream<'a>, Error> {
        let ticket = self.start_copy(sql, CopyPhase::WantOut).await?;
        Ok(CopyOutStream {
            ticket,
            local: VecDeque::new(),
            ended: false,
            rows: None,
            _conn: PhantomData,
        })
    }
}

/// The data of a `COPY ... FROM STDIN`, written with backpressure; from
/// [`Connection::copy_in`](crate::Connection::copy_in).
///
/// End it with [`finish`](CopyInSink::finish), which returns the rows
/// copied. Dropped before that, it sends CopyFail: nothing of the COPY is
/// kept, and the connection stays usable. It borrows its connection (or
/// transaction), so a pooled connection cannot go back to its pool while
/// a COPY is open. Also implements [`tokio::io::AsyncWrite`] (for
/// `tokio::io::copy` from a file); call `finish` after it.
pub struct CopyInSink<'a> {
    ticket: Ticket,
    /// The CopyData being gathered, its header first.
    buf: BytesMut,
    finished: bool,
    _conn: PhantomData<&'a Client>,
}

impl std::fmt::Debug for CopyInSink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyInSink")
            .field("buffered", &(self.buf.len() - HEADER.len()))
            .finish()
    }
}

impl CopyInSink<'_> {
    /// Writes `data` (any split of the COPY data: rows need not be whole).
    /// Waits while the connection holds [`COPY_IN_BUFFER`] bytes the
    /// socket has not taken. An error the server reported (a bad row, a
    /// cancel) ends the COPY: it is returned here and by every later call.
    pub async fn write(&mut self, mut data: &[u8]) -> Result<(), Error> {
        while !data.is_empty() {
            let room = (CHUNK + HEADER.len()).saturating_sub(self.buf.len());
            let n = room.min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.full() {
                poll_fn(|cx| self.poll_send(cx)).await?;
            }
        }
        Ok(())
    }

    /// Sends what is gathered now (waiting for room first).
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_send(cx)).await
    }

    /// Ends the COPY (CopyDone) and returns the rows the server copied, or
    /// the error that ended it ([`Error::copy_line`] names the data line
    /// when the server does).
    pub async fn finish(mut self) -> Result<u64, Error> {
        poll_fn(|cx| self.poll_send(cx)).await?;
        let mut done = BytesMut::new();
        postgres_protocol::message::frontend::copy_done(&mut done);
        self.finished = true;
        {
            let mut st = self.ticket.shared.lock();
            if !st.copy_append(self.ticket.id, &done) {
                if let Some(e) = ended(&st, self.ticket.id) {
                    return Err(e);
                }
            }
        }
        let ticket = Ticket {
            shared: self.ticket.shared.clone(),
            id: self.ticket.id,
            finished: false,
        };
        // (The sink's own ticket no longer abandons the request.)
        self.ticket.finished = true;
        let resp = ticket.wait().await.into_result()?;
        Ok(resp.rows_affected())
    }

    /// The CopyData being gathered (its header first), for the writers
    /// that encode rows straight into it.
    pub(crate) fn gathered(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Whether the CopyData gathered is due to be sent.
    pub(crate) fn full(&self) -> bool {
        self.buf.len() >= CHUNK + HEADER.len()
    }

    /// Waits for room, then hands the gathered CopyData to the connection.
    pub(crate) fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let id = self.ticket.id;
        let shared = self.ticket.shared.clone();
        let mut st = match shared.poll_wait(cx, id, |st, r| st.unsent(r) < COPY_IN_BUFFER as u64) {
            Poll::Ready(st) => st,
            Poll::Pending => return Poll::Pending,
        };
        st.release_if(Driver::Request(id));
        if let Some(e) = ended(&st, id) {
            return Poll::Ready(Err(e));
        }
        if self.buf.len() > HEADER.len() {
            let len = u32::try_from(self.buf.len() - 1).unwrap_or(u32::MAX);
            self.buf[1..5].copy_from_slice(&len.to_be_bytes());
            // Handed over without a copy when the previous chunk went out
            // (the sink then gets the connection's empty buffer back).
            if !st.copy_append_owned(id, &mut self.buf) {
                return Poll::Ready(Err(ended(&st, id).unwrap_or_else(Error::closed)));
            }
            self.buf.reserve(CHUNK + HEADER.len());
            self.buf.extend_from_slice(&HEADER);
            if st.driver().is_none() {
                // Nobody drives: push it out now (a later wait for room
                // drives with this task's waker).
                let mut noop = Context::from_waker(std::task::Waker::noop());
                let _ = st.drive(&mut noop);
            } else if st.write_needs_wake() {
                st.wake_driver();
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The error that ended COPY request `id`, if it ended (or the connection
/// broke).
fn ended(st: &crate::engine::State, id: u64) -> Option<Error> {
    match st.req(id) {
        None => Some(st.broken_error()),
        Some(r) if r.done() => {
            Some(r.resp.error.clone().unwrap_or_else(|| {
                Error::new(ErrorKind::Protocol, "the COPY ended before finish()")
            }))
        }
        Some(_) => None,
    }
}

impl Drop for CopyInSink<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // CopyFail right behind what was sent: the server rolls the COPY
        // back. (The ticket, dropped next, abandons the request: its
        // answer is read and discarded.)
        let mut fail = BytesMut::new();
        if postgres_protocol::message::frontend::copy_fail(
            "COPY abandoned: the writer was dropped before finish()",
            &mut fail,
        )
        .is_ok()
        {
            let mut st = self.ticket.shared.lock();
            if st.copy_append(self.ticket.id, &fail) && st.write_needs_wake() {
                st.wake_driver();
            }
        }
    }
}

impl tokio::io::AsyncWrite for CopyInSink<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if this.full() {
            match this.poll_send(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(std::io::Error::other(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        let room = (CHUNK + HEADER.len()).saturating_sub(this.buf.len());
        let n = room.min(data.len());
        this.buf.extend_from_slice(&data[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().poll_send(cx).map_err(std::io::Error::other)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        // (The COPY ends with `finish`, which reports the rows copied.)
        self.poll_flush(cx)
    }
}

/// The data of a `COPY ... TO STDOUT` as it arrives, with bounded memory;
/// from [`Connection::copy_out`](crate::Connection::copy_out). A stream
/// (`futures_core::Stream`) of chunks: one row each for the text and CSV
/// formats. Dropping it before the end discards the rest; the connection
/// stays usable.
pub struct CopyOutStream<'a> {
    ticket: Ticket,
    /// Chunks taken from the connection and not returned yet: all that
    /// was queued is taken at once (the queues swapped under one lock),
    /// and served from here without touching the connection. With the
    /// connection's own queue, at most twice [`COPY_OUT_BUFFER`] chunks
    /// are held.
    local: VecDeque<Bytes>,
    ended: bool,
    rows: Option<u64>,
    _conn: PhantomData<&'a Client>,
}

impl std::fmt::Debug for CopyOutStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyOutStream")
            .field("ended", &self.ended)
            .field("held", &self.local.len())
            .finish()
    }
}

impl CopyOutStream<'_> {
    /// Rows the server copied, once the stream has ended.
    pub fn rows_affected(&self) -> Option<u64> {
        self.rows
    }

    /// The next chunk; `None` at the end.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, Error>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for CopyOutStream<'_> {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        // The common case: a chunk taken earlier, no lock.
        if let Some(chunk) = this.local.pop_front() {
            return Poll::Ready(Some(Ok(chunk)));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        let id = this.ticket.id;
        let mut st = match this
            .ticket
            .shared
            .poll_wait(cx, id, |_, r| !r.resp.copy_data.is_empty())
        {
            Poll::Ready(st) => st,
            Poll::Pending => return Poll::Pending,
        };
        let Some(r) = st.req_mut(id) else {
            this.ended = true;
            this.ticket.finished = true;
            return Poll::Ready(Some(Err(st.broken_error())));
        };
        if !r.resp.copy_data.is_empty() {
            // Everything queued, at once: the connection keeps the
            // (empty) queue this stream had, so neither side allocates.
            std::mem::swap(&mut this.local, &mut r.resp.copy_data);
            // The role is not kept while the reader works through the
            // chunks (it may run another query on this connection first);
            // and there is room again: a stalled driver reads on.
            st.release_if(Driver::Request(id));
            st.wake_driver();
            drop(st);
            return Poll::Ready(this.local.pop_front().map(Ok));
        }
        // Done (`collect` hands the driver role on).
        let resp = st.collect(id);
        drop(st);
        this.ticket.finished = true;
        this.ended = true;
        match resp.into_result() {
            Ok(r) => {
                this.rows = Some(r.rows_affected());
                Poll::Ready(None)
            }
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }
}

impl Error {
    /// For an error the server raised during a COPY: the line of the COPY
    /// data it was raised on (from the server's context,
    /// `COPY t, line 3, column x: "..."`), counted from 1.
    pub fn copy_line(&self) -> Option<u64> {
        let ctx = self.as_db_error()?.where_.as_deref()?;
        ctx.lines().find_map(copy_line_of)
    }
}

/// `N` from a context line `COPY <table>, line N[, ...]`.
fn copy_line_of(ctx: &str) -> Option<u64> {
    let rest = ctx.strip_prefix("COPY ")?;
    let at = rest.find(", line ")?;
    let digits: String = rest[at + 7..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_line_of_a_copy_context() {
        use super::copy_line_of;
        assert_eq!(copy_line_of("COPY t, line 3, column b: \"x\""), Some(3));
        assert_eq!(copy_line_of("COPY t, line 12"), Some(12));
        assert_eq!(copy_line_of("SQL function \"f\""), None);
        assert_eq!(copy_line_of("COPY t"), None);
    }
}
