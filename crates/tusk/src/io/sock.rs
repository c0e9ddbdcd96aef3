use bytes::{Buf, BytesMut};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::task::{Context, Poll};
use tokio::io::unix::AsyncFd;

/// A connected stream socket: TCP or Unix-domain.
#[derive(Debug)]
pub(crate) enum Sock {
    Tcp(std::net::TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

impl AsRawFd for Sock {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Sock::Tcp(s) => s.as_raw_fd(),
            Sock::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl std::os::fd::AsFd for Sock {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Sock::Tcp(s) => s.as_fd(),
            Sock::Unix(s) => s.as_fd(),
        }
    }
}

impl Sock {
    /// Reads into `buf`'s spare capacity: straight into the receive
    /// buffer, neither zeroed first nor copied from elsewhere after.
    /// Room is made for [`READ_CHUNK`] bytes when less than [`READ_MIN`]
    /// is spare; at most `READ_CHUNK` are read. Returns the bytes read and
    /// the room offered.
    fn read_into(&self, buf: &mut BytesMut) -> io::Result<(usize, usize)> {
        if buf.capacity() - buf.len() < READ_MIN {
            buf.reserve(READ_CHUNK);
        }
        let spare = buf.spare_capacity_mut();
        let room = spare.len().min(READ_CHUNK);
        let n = socket2::SockRef::from(self).recv(&mut spare[..room])?;
        let len = buf.len() + n.min(room);
        #[allow(unsafe_code)]
        // SAFETY: `recv` initialized the first `n` bytes of the spare
        // capacity it was given (at most `room`, which is within the
        // capacity).
        unsafe {
            buf.set_len(len);
        }
        Ok((n, room))
    }

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => (&*s).read(buf),
            Sock::Unix(s) => (&*s).read(buf),
        }
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => (&*s).write(buf),
            Sock::Unix(s) => (&*s).write(buf),
        }
    }

    pub(crate) fn shutdown(&self) {
        let _ = match self {
            Sock::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            Sock::Unix(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
}

/// `Read`/`Write` adapter for rustls over a non-blocking socket.
struct SockRw<'a>(&'a Sock);

impl Read for SockRw<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for SockRw<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Size of one read from the socket into the receive buffer.
const READ_CHUNK: usize = 64 * 1024;

/// The least spare room a read goes into without first making room for
/// [`READ_CHUNK`] (which may move the buffer).
const READ_MIN: usize = 8 * 1024;

/// Sets `SO_RCVLOWAT` on `fd`; false if the kernel refused.
fn rcvlowat(fd: RawFd, bytes: usize) -> bool {
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4);
    #[allow(unsafe_code)]
    // SAFETY: `fd` is an open socket owned by the caller; the option value
    // points to a live `c_int` whose size is passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            std::ptr::from_ref(&v).cast::<libc::c_void>(),
            len,
        )
    };
    r == 0
}

/// The socket, registered with tokio's reactor or not.
enum Reg {
    Tokio(AsyncFd<Sock>),
    /// Not registered: its reads are waited for by a foreign event loop
    /// (`super::external`), so tokio's reactor is not woken by them.
    Bare(Sock),
}

/// The error of a socket that was lost re-registering it (never expected:
/// a failed registration hands the socket back).
fn lost() -> io::Error {
    io::Error::other("the connection's socket is gone")
}

/// The registered socket, once [`Io::attach`] made sure there is one.
fn tokio_fd(reg: &Option<Reg>) -> io::Result<&AsyncFd<Sock>> {
    match reg {
        Some(Reg::Tokio(fd)) => Ok(fd),
        _ => Err(lost()),
    }
}

/// The transport: a socket (registered with tokio's reactor unless a
/// foreign loop waits for its reads) and, with TLS, the rustls session.
pub(crate) struct Io {
    /// `None` only if a registration lost the socket (never expected).
    reg: Option<Reg>,
    /// A write is waiting for room on tokio's reactor: the socket stays
    /// registered until it is done.
    write_waiting: bool,
    tls: Option<Box<rustls::ClientConnection>>,
    /// Read target of TLS and of reads for a foreign event loop: bytes
    /// are copied from here into the receive buffer (plain reads go
    /// straight into it, see [`Sock::read_into`]).
    scratch: Box<[u8]>,
    /// The socket's `SO_RCVLOWAT` as last set (1, the kernel's default;
    /// 0 once setting it failed: it is left alone from then on).
    low_water: usize,
    /// The runtime whose reactor the socket was registered with: it is
    /// registered there again ([`Io::attach`]) even from a thread outside
    /// any runtime (a transaction's or cursor's drop pushing its statement
    /// out), as the registered socket could always be polled from anywhere.
    rt: Option<tokio::runtime::Handle>,
}

impl Io {
    #[allow(unsafe_code)]
    pub(crate) fn new(sock: Sock) -> io::Result<Io> {
        // SAFETY: `Sock` owns its file descriptor (a std TcpStream or
        // UnixStream), `as_raw_fd` returns that same descriptor for the
        // socket's whole life, and nothing closes it while the `AsyncFd`
        // exists (`shutdown` does not close the descriptor).
        let fd = unsafe { AsyncFd::register(sock) }.map_err(|e| e.into_parts().1)?;
        Ok(Io {
            reg: Some(Reg::Tokio(fd)),
            write_waiting: false,
            tls: None,
            scratch: vec![0u8; READ_CHUNK].into_boxed_slice(),
            low_water: 1,
            rt: tokio::runtime::Handle::try_current().ok(),
        })
    }

    /// Asks the kernel to report the socket readable only once `bytes` are
    /// waiting (`SO_RCVLOWAT`), so that a driver waiting for many pipelined
    /// answers wakes once for several of them instead of once for each:
    /// fewer wake-ups, reads and writes per query. `bytes` must be a lower
    /// bound of what the server still sends, or a read could wait for bytes
    /// that never come (the end of the stream still wakes it). Plain TCP
    /// only: with TLS, bytes already taken into the TLS session are not
    /// counted; on Unix-domain sockets readiness ignores the setting.
    pub(crate) fn set_low_water(&mut self, bytes: usize) {
        let want = bytes.clamp(1, 1 << 20);
        if want == self.low_water || self.low_water == 0 || self.tls.is_some() {
            return;
        }
        let Some(Sock::Tcp(s)) = self.sock() else {
            return;
        };
        if rcvlowat(s.as_raw_fd(), want) {
            self.low_water = want;
        } else {
            // Never wait on a bound that was not set: back to the default,
            // and leave the option alone from now on.
            let _ = rcvlowat(s.as_raw_fd(), 1);
            self.low_water = 0;
        }
    }

    pub(crate) fn sock(&self) -> Option<&Sock> {
        match &self.reg {
            Some(Reg::Tokio(fd)) => Some(fd.get_ref()),
            Some(Reg::Bare(s)) => Some(s),
            None => None,
        }
    }

    /// Registers the socket with tokio's reactor again if a foreign loop
    /// had it (the tokio paths below need it).
    #[allow(unsafe_code)]
    fn attach(&mut self) -> io::Result<()> {
        if !matches!(self.reg, Some(Reg::Bare(_))) {
            return Ok(());
        }
        // The socket's own runtime, else the current one.
        let _rt = match (&self.rt, tokio::runtime::Handle::try_current()) {
            (Some(rt), _) => rt.enter(),
            (None, Ok(rt)) => {
                self.rt = Some(rt);
                self.rt
                    .as_ref()
                    .map(tokio::runtime::Handle::enter)
                    .ok_or_else(lost)?
            }
            (None, Err(_)) => {
                return Err(io::Error::other(
                    "a tusk connection polled outside a tokio runtime",
                ))
            }
        };
        let Some(Reg::Bare(sock)) = self.reg.take() else {
            return Err(lost());
        };
        // SAFETY: as in `new`: `Sock` owns its descriptor for its whole
        // life and nothing closes it while the `AsyncFd` exists.
        match unsafe { AsyncFd::register(sock) } {
            Ok(fd) => {
                self.reg = Some(Reg::Tokio(fd));
                Ok(())
            }
            Err(e) => {
                let (sock, err) = e.into_parts();
                self.reg = Some(Reg::Bare(sock));
                Err(err)
            }
        }
    }

    /// Takes the socket off tokio's reactor (a foreign loop waits for its
    /// reads from now on): its answers no longer wake a runtime thread.
    fn detach(&mut self) {
        if !self.write_waiting && matches!(self.reg, Some(Reg::Tokio(_))) {
            if let Some(Reg::Tokio(fd)) = self.reg.take() {
                self.reg = Some(Reg::Bare(fd.into_inner()));
            }
        }
    }

    pub(crate) fn tls(&self) -> Option<&rustls::ClientConnection> {
        self.tls.as_deref()
    }

    /// True when TLS records are waiting to be written (the plaintext was
    /// taken, the socket was full).
    pub(crate) fn has_pending_output(&self) -> bool {
        self.tls.as_deref().is_some_and(|t| t.wants_write())
    }

    pub(crate) fn set_tls(&mut self, conn: rustls::ClientConnection) {
        self.tls = Some(Box::new(conn));
    }

    /// Moves as much of `out` as the kernel takes. `Ready(Ok)` once all of
    /// it (and any TLS records) is written; `Pending` with the waker
    /// registered for write readiness otherwise.
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut BytesMut,
    ) -> Poll<io::Result<()>> {
        let r = self.poll_write_inner(cx, out);
        self.write_waiting = r.is_pending();
        r
    }

    fn poll_write_inner(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut BytesMut,
    ) -> Poll<io::Result<()>> {
        if self.tls.is_some() {
            self.attach()?;
        }
        if let Some(tls) = self.tls.as_deref_mut() {
            let fd = tokio_fd(&self.reg)?;
            loop {
                // Send the records rustls holds, then hand it more
                // plaintext (it takes at most its buffer limit at a time).
                while tls.wants_write() {
                    let mut guard = match fd.poll_write_ready(cx) {
                        Poll::Ready(g) => g?,
                        Poll::Pending => return Poll::Pending,
                    };
                    match guard.try_io(|s| tls.write_tls(&mut SockRw(s.get_ref()))) {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return Poll::Ready(Err(e)),
                        Err(_would_block) => continue,
                    }
                }
                if out.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                let n = tls.writer().write(out)?;
                out.advance(n);
                if n == 0 && !tls.wants_write() {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
            }
        }
        if let Some(Reg::Bare(sock)) = &self.reg {
            // Not on tokio's reactor: write at once; only a full socket
            // needs the reactor (to wait for room).
            while !out.is_empty() {
                match sock.write(out) {
                    Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Ok(n) => out.advance(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            if out.is_empty() {
                return Poll::Ready(Ok(()));
            }
        }
        self.attach()?;
        let fd = tokio_fd(&self.reg)?;
        while !out.is_empty() {
            let mut guard = match fd.poll_write_ready(cx) {
                Poll::Ready(g) => g?,
                Poll::Pending => return Poll::Pending,
            };
            match guard.try_io(|s| s.get_ref().write(out)) {
                Ok(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(Ok(n)) => out.advance(n),
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Reads what is available into `inbuf`. `Ready(Ok(0))` is end of stream.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        inbuf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        if self.tls.is_some() {
            return self.poll_read_tls(cx, inbuf);
        }
        if super::external::active() {
            // The caller's event loop waits for this socket: read now, and
            // when it is empty take it off tokio's reactor and hand its
            // descriptor over.
            let sock = match &self.reg {
                Some(Reg::Tokio(fd)) => fd.get_ref(),
                Some(Reg::Bare(s)) => s,
                None => return Poll::Ready(Err(lost())),
            };
            return match sock.read(&mut self.scratch) {
                Ok(n) => {
                    inbuf.extend_from_slice(&self.scratch[..n]);
                    Poll::Ready(Ok(n))
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let fd = sock.as_raw_fd();
                    self.detach();
                    super::external::want(fd);
                    Poll::Pending
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(e)),
            };
        }
        self.attach()?;
        let fd = tokio_fd(&self.reg)?;
        loop {
            let mut guard = match fd.poll_read_ready(cx) {
                Poll::Ready(g) => g?,
                Poll::Pending => return Poll::Pending,
            };
            match guard.try_io(|s| s.get_ref().read_into(inbuf)) {
                Ok(Ok((n, want))) => {
                    // A short read means the socket is drained: clear the
                    // readiness now instead of paying for a read that
                    // returns EAGAIN next time.
                    if n < want && n > 0 {
                        guard.clear_ready();
                    }
                    return Poll::Ready(Ok(n));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_read_tls(
        &mut self,
        cx: &mut Context<'_>,
        inbuf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        self.attach()?;
        let Some(tls) = self.tls.as_deref_mut() else {
            return Poll::Ready(Ok(0));
        };
        let fd = tokio_fd(&self.reg)?;
        loop {
            // Plaintext already decrypted?
            match tls.reader().read(&mut self.scratch) {
                Ok(0) => return Poll::Ready(Ok(0)),
                Ok(n) => {
                    inbuf.extend_from_slice(&self.scratch[..n]);
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            let mut guard = match fd.poll_read_ready(cx) {
                Poll::Ready(g) => g?,
                Poll::Pending => return Poll::Pending,
            };
            match guard.try_io(|s| tls.read_tls(&mut SockRw(s.get_ref()))) {
                Ok(Ok(0)) => return Poll::Ready(Ok(0)),
                Ok(Ok(_)) => {
                    if let Err(e) = tls.process_new_packets() {
                        return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
                    }
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
            // TLS may need to answer (key updates, alerts): best effort;
            // anything left is sent with the next write.
            if tls.wants_write() {
                let _ = tls.write_tls(&mut SockRw(fd.get_ref()));
            }
        }
    }

    /// Drives a TLS handshake to completion.
    pub(crate) async fn tls_handshake(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_handshake(cx)).await
    }

    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.attach()?;
        let Some(tls) = self.tls.as_deref_mut() else {
            return Poll::Ready(Ok(()));
        };
        let fd = tokio_fd(&self.reg)?;
        loop {
            if !tls.is_handshaking() && !tls.wants_write() {
                return Poll::Ready(Ok(()));
            }
            if tls.wants_write() {
                let mut guard = match fd.poll_write_ready(cx) {
                    Poll::Ready(g) => g?,
                    Poll::Pending => return Poll::Pending,
                };
                match guard.try_io(|s| tls.write_tls(&mut SockRw(s.get_ref()))) {
                    Ok(Ok(_)) => continue,
                    Ok(Err(e)) => return Poll::Ready(Err(e)),
                    Err(_would_block) => continue,
                }
            }
            if tls.is_handshaking() && tls.wants_read() {
                let mut guard = match fd.poll_read_ready(cx) {
                    Poll::Ready(g) => g?,
                    Poll::Pending => return Poll::Pending,
                };
                match guard.try_io(|s| tls.read_tls(&mut SockRw(s.get_ref()))) {
                    Ok(Ok(0)) => {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the server closed the connection during the TLS handshake",
                        )))
                    }
                    Ok(Ok(_)) => {
                        if let Err(e) = tls.process_new_packets() {
                            // Flush the alert before failing, best effort.
                            let _ = tls.write_tls(&mut SockRw(fd.get_ref()));
                            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
                        }
                    }
                    Ok(Err(e)) => return Poll::Ready(Err(e)),
                    Err(_would_block) => continue,
                }
            }
        }
    }

    /// Writes all of `buf` (startup phase helper).
    pub(crate) async fn write_all(&mut self, buf: &mut BytesMut) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_write(cx, buf)).await
    }

    /// Reads at least one more byte into `buf` (startup phase helper).
    pub(crate) async fn read_some(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_read(cx, buf)).await
    }

    /// Reads exactly one byte without TLS (the answer to SSLRequest).
    pub(crate) async fn read_byte_plain(&mut self) -> io::Result<u8> {
        let mut b = [0u8; 1];
        self.attach()?;
        let fd = tokio_fd(&self.reg)?;
        loop {
            let mut guard = fd.readable().await?;
            match guard.try_io(|s| s.get_ref().read(&mut b)) {
                Ok(Ok(0)) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(Ok(_)) => return Ok(b[0]),
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}
