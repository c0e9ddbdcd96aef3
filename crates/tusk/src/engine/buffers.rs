//! The engine's two byte buffers: the write stream (what is to be sent,
//! with the offsets of what was written, what requests were registered,
//! and the barriers nothing is written past), and the receive buffer.

use super::*;
use std::io;

/// What is to be written to the server. Offsets count bytes appended since
/// the connection opened.
///
/// Invariants kept here: `written` only grows; `appended` (the end of the
/// last registered request) never passes the end of the stream; barriers
/// are in order, never fall behind what was written, and nothing past the
/// first one is written; while `holds` is above zero nothing is written.
pub(crate) struct Outgoing {
    buf: BytesMut,
    /// A buffer lent to whoever encodes a part of a request (see
    /// [`Outgoing::take_scratch`]).
    scratch: BytesMut,
    written: u64,
    appended: u64,
    /// Nothing past the first of these offsets is written: each is the end
    /// of a request whose answer must come before anything behind it is
    /// sent (a timed query, so that its cancel can only hit it; a COPY;
    /// a read group).
    barriers: VecDeque<u64>,
    /// Writes are held (a cancel is in flight).
    holds: u32,
}

impl Outgoing {
    pub(super) fn new() -> Outgoing {
        Outgoing {
            buf: BytesMut::with_capacity(8192),
            scratch: BytesMut::new(),
            written: 0,
            appended: 0,
            barriers: VecDeque::new(),
            holds: 0,
        }
    }

    /// The bytes not written yet.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The buffer to append whole messages to (never to remove from).
    pub(super) fn writer(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    pub(super) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes written since the connection opened.
    pub(super) fn written(&self) -> u64 {
        self.written
    }

    /// Where the stream ends (written or not).
    pub(super) fn end(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    /// The end of the last registered request.
    #[cfg(test)]
    pub(super) fn appended(&self) -> u64 {
        self.appended
    }

    /// Where the next request registered starts (bytes appended and written
    /// without a request, such as Close messages, count as its own).
    pub(super) fn next_start(&self) -> u64 {
        self.appended.max(self.written)
    }

    /// Everything in the stream now belongs to registered requests; returns
    /// where the last one ends.
    pub(super) fn register(&mut self) -> u64 {
        self.appended = self.end();
        self.appended
    }

    /// Drops what was appended past `len` bytes of the unwritten buffer
    /// (nothing of it can have been written), and the barriers past it.
    pub(super) fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
        let end = self.end();
        self.appended = self.appended.min(end);
        while self.barriers.back().is_some_and(|b| *b > end) {
            self.barriers.pop_back();
        }
    }

    /// Drops everything not written (the connection broke).
    pub(super) fn clear(&mut self) {
        self.buf.clear();
        self.appended = self.appended.min(self.written);
        self.barriers.clear();
    }

    /// The offset `at` as an index into the unwritten bytes, if it is not
    /// written yet and not past the end.
    pub(super) fn rel(&self, at: u64) -> Option<usize> {
        at.checked_sub(self.written)
            .and_then(|r| usize::try_from(r).ok())
            .filter(|r| *r <= self.buf.len())
    }

    /// Inserts `bytes` at offset `at` (not written yet). Barriers past `at`
    /// move with what follows; one at `at` itself moves too when
    /// `barrier_at_moves` (the bytes belong to the request ending there),
    /// else stays (they belong to what follows it). False (nothing
    /// inserted) when `at` was already written.
    pub(super) fn insert(&mut self, at: u64, bytes: &[u8], barrier_at_moves: bool) -> bool {
        let Some(rel) = self.rel(at) else {
            return false;
        };
        let len = bytes.len() as u64;
        if rel == self.buf.len() {
            // At the end (a COPY with nothing queued behind it): no split.
            self.buf.extend_from_slice(bytes);
        } else {
            let tail = self.buf.split_off(rel);
            self.buf.extend_from_slice(bytes);
            self.buf.unsplit(tail);
        }
        self.inserted(at, len, barrier_at_moves);
        true
    }

    /// [`Outgoing::insert`] of the bytes in `bytes`, which is left empty:
    /// when nothing is unwritten (a COPY IN whose last chunk went out), the
    /// buffers are swapped instead of copied, and `bytes` gets the
    /// stream's empty buffer (its capacity) back.
    pub(super) fn insert_owned(
        &mut self,
        at: u64,
        bytes: &mut BytesMut,
        barrier_at_moves: bool,
    ) -> bool {
        if self.buf.is_empty() && self.rel(at) == Some(0) {
            let len = bytes.len() as u64;
            std::mem::swap(&mut self.buf, bytes);
            bytes.clear();
            self.inserted(at, len, barrier_at_moves);
            return true;
        }
        if !self.insert(at, bytes, barrier_at_moves) {
            return false;
        }
        bytes.clear();
        true
    }

    /// `len` bytes were inserted at `at`: barriers and the end of what
    /// requests registered move with what follows.
    fn inserted(&mut self, at: u64, len: u64, barrier_at_moves: bool) {
        for b in self.barriers.iter_mut() {
            if *b > at || (*b == at && barrier_at_moves) {
                *b += len;
            }
        }
        if self.appended >= at {
            self.appended += len;
        }
    }

    /// Removes `n` unwritten bytes at offset `at`; barriers past them move
    /// back. False (nothing removed) when they are not all unwritten.
    pub(super) fn remove(&mut self, at: u64, n: usize) -> bool {
        let Some(rel) = self.rel(at).filter(|r| r + n <= self.buf.len()) else {
            return false;
        };
        let tail = self.buf.split_off(rel + n);
        self.buf.truncate(rel);
        self.buf.unsplit(tail);
        let end = at + n as u64;
        for b in self.barriers.iter_mut() {
            if *b >= end {
                *b -= n as u64;
            } else if *b > at {
                *b = at;
            }
        }
        if self.appended >= end {
            self.appended -= n as u64;
        } else if self.appended > at {
            self.appended = at;
        }
        true
    }

    /// Nothing past `at` (the end of a request) is written until that
    /// request is answered. Barriers stay in order: one before the last is
    /// raised to it.
    pub(super) fn push_barrier(&mut self, at: u64) {
        let at = at.max(self.barriers.back().copied().unwrap_or(0));
        self.barriers.push_back(at);
    }

    /// The request ending at `end` was answered: the barriers up to there go.
    pub(super) fn answered(&mut self, end: u64) {
        while self.barriers.front().is_some_and(|b| *b <= end) {
            self.barriers.pop_front();
        }
    }

    /// Drops the (last) barrier at `at`, if there is one.
    pub(super) fn remove_barrier(&mut self, at: u64) {
        if let Some(i) = self.barriers.iter().rposition(|b| *b == at) {
            self.barriers.remove(i);
        }
    }

    #[cfg(test)]
    pub(super) fn barriers(&self) -> Vec<u64> {
        self.barriers.iter().copied().collect()
    }

    /// Holds writes until as many [`Outgoing::release`] calls.
    pub(super) fn hold(&mut self) {
        self.holds += 1;
    }

    /// Ends one hold; true when none is left.
    pub(super) fn release(&mut self) -> bool {
        self.holds = self.holds.saturating_sub(1);
        self.holds == 0
    }

    pub(super) fn held(&self) -> bool {
        self.holds > 0
    }

    /// Lends the scratch buffer (empty) to encode a part of a request
    /// into: kept across requests, it saves an allocation per query.
    pub(super) fn take_scratch(&mut self) -> BytesMut {
        std::mem::take(&mut self.scratch)
    }

    /// Gives the scratch buffer back (emptied; one grown past 64 KiB by a
    /// large request is dropped instead of kept).
    pub(super) fn put_scratch(&mut self, mut buf: BytesMut) {
        buf.clear();
        if buf.capacity() <= 64 * 1024 {
            self.scratch = buf;
        }
    }

    /// Writes what may go now with `write` (which takes what it wrote from
    /// the front of the buffer it is given): nothing while writes are
    /// held, nothing past the first barrier. Returns the bytes written, and
    /// an error from `write`. With nothing to write, `write` still gets an
    /// empty buffer when `pending_output` (TLS records of what was written).
    pub(super) fn flush(
        &mut self,
        pending_output: bool,
        mut write: impl FnMut(&mut BytesMut) -> Poll<io::Result<()>>,
    ) -> (usize, Option<io::Error>) {
        if self.holds > 0 || (self.buf.is_empty() && !pending_output) {
            return (0, None);
        }
        let limit = match self.barriers.front().copied() {
            Some(b) => usize::try_from(b.saturating_sub(self.written)).unwrap_or(usize::MAX),
            None => usize::MAX,
        };
        let res = if limit == 0 {
            // Only TLS records of what is already written may go out.
            if !pending_output {
                return (0, None);
            }
            write(&mut BytesMut::new())
        } else if limit >= self.buf.len() {
            let before = self.buf.len();
            let r = write(&mut self.buf);
            let wrote = before - self.buf.len();
            self.written += wrote as u64;
            return (wrote, poll_err(r));
        } else {
            let mut head = self.buf.split_to(limit);
            let r = write(&mut head);
            let wrote = limit - head.len();
            head.unsplit(std::mem::take(&mut self.buf));
            self.buf = head;
            self.written += wrote as u64;
            return (wrote, poll_err(r));
        };
        (0, poll_err(res))
    }

    /// Marks the first `n` unwritten bytes as written (what a flush does),
    /// for tests.
    #[cfg(test)]
    pub(super) fn sent(&mut self, n: usize) {
        let _ = self.buf.split_to(n);
        self.written += n as u64;
    }

    pub(super) fn debug(&self) -> String {
        format!(
            "wbuf={} written={} appended={} holds={} barriers={:?}",
            self.buf.len(),
            self.written,
            self.appended,
            self.holds,
            self.barriers
        )
    }
}

fn poll_err(r: Poll<io::Result<()>>) -> Option<io::Error> {
    match r {
        Poll::Ready(Err(e)) => Some(e),
        _ => None,
    }
}

/// What was read from the server and not dispatched yet, and how much
/// arrived in all.
pub(crate) struct Incoming {
    buf: BytesMut,
    received: u64,
}

/// One message framed from the receive buffer.
pub(super) enum Frame {
    /// A DataRow's body (the hot path: not parsed further here).
    DataRow(bytes::Bytes),
    /// A CopyData's body (COPY OUT's hot path).
    CopyData(bytes::Bytes),
    /// Any other message, with its tag.
    Message(u8, Message),
}

impl Incoming {
    pub(super) fn new(buf: BytesMut) -> Incoming {
        Incoming { buf, received: 0 }
    }

    /// The buffer a read appends to; report what it read with
    /// [`Incoming::note_read`].
    pub(super) fn reader(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    pub(super) fn note_read(&mut self, n: usize) {
        self.received += n as u64;
    }

    /// Bytes received since the connection opened.
    pub(super) fn received(&self) -> u64 {
        self.received
    }

    /// Bytes buffered and not dispatched.
    pub(super) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Takes bytes as a read would, for tests.
    #[cfg(test)]
    pub(super) fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.received += bytes.len() as u64;
    }

    /// The next whole message, if one is buffered. A length the protocol
    /// cannot have is an error; a bogus large one costs nothing until the
    /// server really sends that much. Inlined into the dispatch loop, as
    /// the framing was before it moved here: called a few times per query,
    /// its `Result<Option<Frame>>` built in memory and matched again cost
    /// about 5% of a cached point select's client instructions.
    #[inline]
    pub(super) fn frame(&mut self) -> Result<Option<Frame>, Error> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        let tag = self.buf[0];
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len < 4 {
            return Err(Error::protocol(format!(
                "invalid message length {len} (tag {:?})",
                char::from(tag)
            )));
        }
        if len > MAX_MESSAGE {
            return Err(Error::protocol(format!(
                "message of {len} bytes (tag {:?}) is larger than the protocol allows",
                char::from(tag)
            )));
        }
        if self.buf.len() < len + 1 {
            return Ok(None);
        }
        if tag == b'D' || tag == b'd' {
            let mut frame = self.buf.split_to(len + 1);
            frame.advance(5);
            let body = frame.freeze();
            return Ok(Some(if tag == b'D' {
                Frame::DataRow(body)
            } else {
                Frame::CopyData(body)
            }));
        }
        match Message::parse(&mut self.buf) {
            Ok(Some(m)) => Ok(Some(Frame::Message(tag, m))),
            Ok(None) => Err(Error::protocol("truncated message")),
            Err(e) => Err(Error::with_source(
                ErrorKind::Protocol,
                "malformed message from the server",
                e,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(n: usize) -> Outgoing {
        let mut o = Outgoing::new();
        o.writer().extend_from_slice(&vec![b'x'; n]);
        o.register();
        o
    }

    fn write_all(b: &mut BytesMut) -> Poll<io::Result<()>> {
        b.clear();
        Poll::Ready(Ok(()))
    }

    #[test]
    fn nothing_past_the_first_barrier_is_written() {
        let mut o = filled(30);
        o.push_barrier(10);
        o.push_barrier(20);
        assert_eq!(o.flush(false, write_all).0, 10);
        assert_eq!(o.written(), 10);
        // Waiting on the barrier: nothing more goes out.
        assert_eq!(o.flush(false, write_all).0, 0);
        o.answered(10);
        assert_eq!(o.flush(false, write_all).0, 10);
        o.answered(20);
        assert_eq!(o.flush(false, write_all).0, 10);
        assert_eq!(o.written(), 30);
        assert!(o.barriers().is_empty());
    }

    #[test]
    fn owned_bytes_are_swapped_in_when_nothing_is_unwritten_else_copied() {
        // Something unwritten: copied behind it, the barrier moving along.
        let mut o = filled(10);
        o.push_barrier(10);
        let mut chunk = BytesMut::from(&b"abc"[..]);
        assert!(o.insert_owned(10, &mut chunk, true));
        assert!(chunk.is_empty());
        assert_eq!(o.bytes(), b"xxxxxxxxxxabc");
        assert_eq!(o.barriers(), vec![13]);
        // All written: the chunk's buffer becomes the stream's, and the
        // stream's (empty) buffer comes back.
        assert_eq!(o.flush(false, write_all).0, 13);
        let mut chunk = BytesMut::with_capacity(64);
        chunk.extend_from_slice(b"defg");
        let ptr = chunk.as_ptr();
        assert!(o.insert_owned(13, &mut chunk, true));
        assert!(chunk.is_empty());
        assert_eq!((o.bytes(), o.bytes().as_ptr()), (&b"defg"[..], ptr));
        assert_eq!((o.end(), o.barriers()), (17, vec![17]));
        // An offset already written takes nothing.
        let mut late = BytesMut::from(&b"z"[..]);
        assert!(!o.insert_owned(3, &mut late, true));
        assert_eq!(&late[..], b"z");
    }

    #[test]
    fn barriers_stay_in_order_and_go_once_answered() {
        let mut o = filled(30);
        o.push_barrier(20);
        o.push_barrier(10);
        assert_eq!(o.barriers(), vec![20, 20], "never below an earlier one");
        o.answered(25);
        assert!(o.barriers().is_empty());
    }

    #[test]
    fn holds_stop_every_write_until_all_released() {
        let mut o = filled(8);
        o.hold();
        o.hold();
        assert_eq!(o.flush(false, write_all).0, 0);
        assert!(!o.release());
        assert_eq!(o.flush(false, write_all).0, 0);
        assert!(o.release());
        assert!(o.release(), "more releases than holds stay at zero");
        assert_eq!(o.flush(false, write_all).0, 8);
    }

    #[test]
    fn partial_writes_count_what_went() {
        let mut o = filled(10);
        o.push_barrier(6);
        let (n, err) = o.flush(false, |b| {
            let _ = b.split_to(4);
            Poll::Pending
        });
        assert_eq!((n, err.is_none()), (4, true));
        assert_eq!(o.written(), 4);
        assert_eq!(o.len(), 6);
        assert_eq!(o.flush(false, write_all).0, 2, "up to the barrier");
    }

    #[test]
    fn insert_and_remove_move_barriers_and_the_registered_end() {
        let mut o = filled(20);
        o.push_barrier(10);
        o.push_barrier(20);
        assert!(o.insert(10, b"abc", false));
        assert_eq!(o.barriers(), vec![10, 23]);
        assert_eq!(o.appended(), 23);
        assert!(o.insert(10, b"de", true));
        assert_eq!(o.barriers(), vec![12, 25]);
        assert!(o.remove(12, 3));
        assert_eq!(o.barriers(), vec![12, 22]);
        assert_eq!(o.appended(), 22);
        o.sent(5);
        assert!(!o.insert(4, b"z", false), "already written");
        assert!(!o.remove(3, 2));
        assert!(!o.remove(20, 5), "past the end");
        assert!(o.appended() <= o.end());
    }

    #[test]
    fn truncate_drops_barriers_past_the_end() {
        let mut o = filled(20);
        o.push_barrier(10);
        o.push_barrier(20);
        o.truncate(15);
        assert_eq!(o.barriers(), vec![10]);
        assert_eq!(o.appended(), 15);
        o.clear();
        assert!(o.barriers().is_empty());
        assert!(o.appended() <= o.end());
    }

    #[test]
    fn frames_need_whole_messages() {
        let mut i = Incoming::new(BytesMut::new());
        i.feed(&[b'Z', 0, 0, 0, 5]);
        assert!(i.frame().unwrap().is_none());
        i.feed(b"I");
        assert!(matches!(i.frame(), Ok(Some(Frame::Message(b'Z', _)))));
        assert_eq!(i.len(), 0);
        assert_eq!(i.received(), 6);
        i.feed(&[b'D', 0, 0, 0, 3]);
        assert!(i.frame().is_err(), "a length below 4");
    }
}
