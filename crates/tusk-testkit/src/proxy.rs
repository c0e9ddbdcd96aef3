//! A TCP proxy that injects network faults between a client and a server:
//! delay, a dead network (black hole), severed connections (RST), bytes the
//! server never sent, and garbled server chunks.
//!
//! Threads, no async runtime: one accept thread and two pump threads per
//! connection (client to server, server to client).

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use socket2::SockRef;

/// A transformation applied to one server-to-client chunk.
type Corruption = fn(&mut Vec<u8>);

/// A fault-injecting TCP proxy in front of `upstream` (typically
/// `127.0.0.1:<cluster port>`), listening on a free port of the same
/// loopback address. Dropping it severs every connection and stops it.
///
/// Faults apply to the byte stream in *chunks*: whatever one `read` returned,
/// which may hold several protocol messages or part of one.
#[derive(Debug)]
pub struct Proxy {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    delay: Mutex<Duration>,
    blackhole: Mutex<bool>,
    gate: Condvar,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    corrupt: Mutex<Option<Corruption>>,
    stopping: AtomicBool,
    next_id: AtomicU64,
}

#[derive(Debug)]
struct Conn {
    client: TcpStream,
    server: TcpStream,
    /// Serialises writes to the client (the server pump and injections).
    client_writer: Mutex<TcpStream>,
    severed: AtomicBool,
    live_pumps: AtomicUsize,
}

/// Locks a mutex whose data stays valid even if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Proxy {
    /// Starts the proxy; connections to [`addr`](Self::addr) are forwarded to
    /// `upstream`.
    pub fn start(upstream: SocketAddr) -> io::Result<Proxy> {
        let listen_ip = if upstream.is_ipv6() {
            "::1".parse().map_err(io::Error::other)?
        } else {
            std::net::IpAddr::from([127, 0, 0, 1])
        };
        let listener = TcpListener::bind((listen_ip, 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            delay: Mutex::new(Duration::ZERO),
            blackhole: Mutex::new(false),
            gate: Condvar::new(),
            conns: Mutex::new(HashMap::new()),
            corrupt: Mutex::new(None),
            stopping: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("tusk-proxy-accept".into())
            .spawn(move || accept_loop(&listener, &accept_shared))?;
        Ok(Proxy {
            shared,
            addr,
            accept: Some(accept),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `postgresql://postgres@<proxy addr>/<db>`: a cluster URL through the proxy.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgresql://postgres@{}/{}",
            self.addr,
            crate::conf::url_encode(db)
        )
    }

    /// Delays every forwarded chunk, both ways, by `d` (zero to stop).
    pub fn set_delay(&self, d: Duration) {
        *lock(&self.shared.delay) = d;
    }

    /// While on, nothing is forwarded either way and no connection is closed
    /// (a dead network): reads on both sides hang, with no FIN and no RST.
    /// New connections are accepted but get no answer. Turning it off
    /// delivers what was held back.
    pub fn blackhole(&self, on: bool) {
        *lock(&self.shared.blackhole) = on;
        self.shared.gate.notify_all();
    }

    /// Abruptly closes every current connection: both the client and the
    /// server side get a TCP RST (SO_LINGER 0). New connections still work.
    pub fn sever(&self) {
        let conns: Vec<Arc<Conn>> = lock(&self.shared.conns).drain().map(|(_, c)| c).collect();
        for conn in conns {
            conn.sever();
        }
        self.shared.gate.notify_all();
    }

    /// Writes `bytes` to every current client now, as if the server had sent
    /// them (between two forwarded chunks, never inside one).
    pub fn inject_to_client(&self, bytes: &[u8]) {
        for conn in self.shared.snapshot() {
            let _ = lock(&conn.client_writer).write_all(bytes);
        }
    }

    /// Applies `f` to the next chunk forwarded from the server to a client
    /// (on any connection), to truncate or garble it. Once only.
    pub fn corrupt_next_server_chunk(&self, f: fn(&mut Vec<u8>)) {
        *lock(&self.shared.corrupt) = Some(f);
    }

    /// How many client connections are open through the proxy.
    pub fn connection_count(&self) -> usize {
        lock(&self.shared.conns).len()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept thread with a connection of our own.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        self.sever();
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

impl Shared {
    fn snapshot(&self) -> Vec<Arc<Conn>> {
        lock(&self.conns).values().cloned().collect()
    }

    /// Blocks while the black hole is on; false if the connection was
    /// severed or the proxy is stopping meanwhile.
    fn wait_open(&self, conn: &Conn) -> bool {
        let mut closed = lock(&self.blackhole);
        while *closed && !conn.is_severed() && !self.stopping.load(Ordering::SeqCst) {
            closed = self
                .gate
                .wait_timeout(closed, Duration::from_millis(100))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
        !conn.is_severed() && !self.stopping.load(Ordering::SeqCst)
    }
}

impl Conn {
    fn is_severed(&self) -> bool {
        self.severed.load(Ordering::SeqCst)
    }

    /// RST both sides: linger 0, then wake the pumps (shutdown of the read
    /// half sends nothing); the last handle's close sends the RST.
    fn sever(&self) {
        self.severed.store(true, Ordering::SeqCst);
        for stream in [&self.client, &self.server] {
            let _ = SockRef::from(stream).set_linger(Some(Duration::ZERO));
            let _ = stream.shutdown(Shutdown::Read);
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let shared = Arc::clone(shared);
        let _ = thread::Builder::new()
            .name("tusk-proxy-conn".into())
            .spawn(move || {
                let _ = open(client, &shared);
            });
    }
}

/// Connects upstream for a new client and starts its two pumps.
fn open(client: TcpStream, shared: &Arc<Shared>) -> io::Result<()> {
    let server = TcpStream::connect_timeout(&shared.upstream, Duration::from_secs(10))?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let conn = Arc::new(Conn {
        client_writer: Mutex::new(client.try_clone()?),
        client: client.try_clone()?,
        server: server.try_clone()?,
        severed: AtomicBool::new(false),
        live_pumps: AtomicUsize::new(2),
    });
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    lock(&shared.conns).insert(id, Arc::clone(&conn));
    let up = (Arc::clone(shared), Arc::clone(&conn));
    thread::Builder::new()
        .name("tusk-proxy-up".into())
        .spawn(move || {
            let (shared, conn) = up;
            pump(&shared, &conn, client, false);
            finish(&shared, id, &conn);
        })?;
    let down = (Arc::clone(shared), conn);
    thread::Builder::new()
        .name("tusk-proxy-down".into())
        .spawn(move || {
            let (shared, conn) = down;
            pump(&shared, &conn, server, true);
            finish(&shared, id, &conn);
        })?;
    Ok(())
}

/// Forwards from `reader` to the other side until EOF, an error or a sever.
fn pump(shared: &Shared, conn: &Conn, mut reader: TcpStream, to_client: bool) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => {
                // The peer reset: pass the abrupt end on.
                if !conn.is_severed() {
                    let _ = conn.client.shutdown(Shutdown::Both);
                    let _ = conn.server.shutdown(Shutdown::Both);
                }
                return;
            }
        };
        if !shared.wait_open(conn) {
            return;
        }
        let delay = *lock(&shared.delay);
        if !delay.is_zero() {
            thread::sleep(delay);
            if !shared.wait_open(conn) {
                return;
            }
        }
        let mut chunk = buf[..n].to_vec();
        let written = if to_client {
            if let Some(f) = lock(&shared.corrupt).take() {
                f(&mut chunk);
            }
            lock(&conn.client_writer).write_all(&chunk)
        } else {
            (&conn.server).write_all(&chunk)
        };
        if written.is_err() {
            let _ = conn.client.shutdown(Shutdown::Both);
            let _ = conn.server.shutdown(Shutdown::Both);
            return;
        }
    }
    // EOF: pass the half-close on (held back while the black hole is on).
    if shared.wait_open(conn) {
        let other = if to_client {
            &conn.client
        } else {
            &conn.server
        };
        let _ = other.shutdown(Shutdown::Write);
    }
}

/// The last pump of a connection to finish forgets it.
fn finish(shared: &Shared, id: u64, conn: &Conn) {
    if conn.live_pumps.fetch_sub(1, Ordering::SeqCst) == 1 {
        lock(&shared.conns).remove(&id);
    }
}
