//! Query cancellation that never cancels the wrong query.
//!
//! PostgreSQL cancels whatever the backend runs when the CancelRequest
//! arrives. tusk holds back every write on the connection from the moment a
//! cancel starts until the server has closed the cancel connection (it
//! closes it after signalling the backend), so a query sent after
//! [`CancelToken::cancel`] was called can never be the one canceled; a
//! signal that reaches an idle backend is ignored by the server. Per-query
//! timeouts go further: nothing queued behind a timed query is written until
//! it completes, so its cancel can only hit it. A timed query is canceled
//! only once the server is answering it: queued behind another caller's
//! query, it waits (its timeout never cancels or fails that query, nor
//! closes the connection under it), and is canceled as soon as it starts if
//! its time is up by then. A cancel the server ignores (one that reaches
//! the backend while it still reads the query) is sent again within the
//! grace period; a query that does not answer within it fails alone (its
//! answer is discarded when it comes), or, inside a transaction block,
//! closes the connection (see [`give_up`]).

use bytes::BytesMut;
use std::path::PathBuf;
use std::sync::Weak;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::engine::Shared;
use crate::error::{Error, ErrorKind};

/// Where and how to send a CancelRequest.
#[derive(Debug, Clone)]
pub(crate) struct CancelTarget {
    pub process_id: i32,
    pub secret_key: i32,
    pub addr: CancelAddr,
    pub connect_timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub(crate) enum CancelAddr {
    Tcp(std::net::SocketAddr),
    Unix(PathBuf),
}

/// Cancels the query running on a connection, from any task.
#[derive(Debug, Clone)]
pub struct CancelToken {
    pub(crate) target: CancelTarget,
    pub(crate) shared: Weak<Shared>,
    /// The connection's cancel epoch when the token was made; `None`: the
    /// token survives `Connection::revoke_cancel_tokens`.
    pub(crate) epoch: Option<u64>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("process_id", &self.cancel.process_id)
            .finish()
    }
}

/// Holds the connection's writes while alive.
pub(crate) struct Hold(Weak<Shared>);

impl Hold {
    pub(crate) fn new(shared: &Weak<Shared>) -> Hold {
        if let Some(s) = shared.upgrade() {
            s.lock().hold_writes();
        }
        Hold(shared.clone())
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(s) = self.0.upgrade() {
            s.lock().release_writes();
        }
    }
}

impl CancelToken {
    /// Asks the server to cancel what the connection is running now.
    ///
    /// Queries sent before this call may end with a `Canceled` error;
    /// queries sent after it are never affected: the connection writes
    /// nothing until the server has acted on the request. The request is
    /// sent on a task of its own (a tokio runtime is needed): dropping
    /// the returned future does not take it back, and the writes stay held
    /// until the server has acted on it, so it can never reach a query
    /// sent later.
    ///
    /// A token made before
    /// [`Connection::revoke_cancel_tokens`](crate::Connection::revoke_cancel_tokens)
    /// cancels nothing (`Ok`):
    /// a pool revokes them when a connection changes hands, so a token
    /// kept by one holder never reaches the next holder's query.
    pub async fn cancel(&self) -> Result<(), Error> {
        // Writes are held from here on: the epoch checked below cannot
        // change hands with a query of the next holder already written.
        let hold = Hold::new(&self.shared);
        if let Some(epoch) = self.epoch {
            match self.shared.upgrade() {
                Some(s) if s.lock().cancel_epoch() == epoch => {}
                _ => return Ok(()),
            }
        }
        let target = self.target.clone();
        let sent = tokio::spawn(async move {
            let r = send_cancel(&target).await;
            drop(hold);
            r
        });
        sent.await.map_err(|e| {
            Error::with_source(ErrorKind::Other, "the cancel request's task failed", e)
        })?
    }

    /// The backend process id this token cancels.
    pub fn process_id(&self) -> i32 {
        self.target.process_id
    }
}

/// Sends a CancelRequest and waits until the server closes the connection.
pub(crate) async fn send_cancel(t: &CancelTarget) -> Result<(), Error> {
    let limit = t.connect_timeout.unwrap_or(Duration::from_secs(10));
    let fut = async {
        let mut buf = BytesMut::new();
        postgres_protocol::message::frontend::cancel_request(t.process_id, t.secret_key, &mut buf);
        let mut sink = [0u8; 64];
        match &t.addr {
            CancelAddr::Tcp(a) => {
                let mut s = tokio::net::TcpStream::connect(a).await?;
                s.write_all(&buf).await?;
                while s.read(&mut sink).await? > 0 {}
            }
            CancelAddr::Unix(p) => {
                let mut s = tokio::net::UnixStream::connect(p).await?;
                s.write_all(&buf).await?;
                while s.read(&mut sink).await? > 0 {}
            }
        }
        Ok::<(), std::io::Error>(())
    };
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Error::io("sending the cancel request failed", e)),
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            "the cancel request timed out",
        )),
    }
}

/// Time to wait for a canceled query's answer before the connection is
/// declared dead.
pub(crate) fn grace(timeout: Duration) -> Duration {
    timeout.clamp(Duration::from_millis(500), Duration::from_secs(5))
}

/// Sends one cancel request for a timed query on a task of its own,
/// holding the connection's writes until the server acted on it (or
/// `left` ran out), and waits for it. The task runs to its end even if the
/// caller goes away: a request already on its way still reaches the
/// backend, and must not find another caller's query there. Bounded by
/// `left` too: on a dead network the cancel connection hangs as well.
pub(crate) async fn cancel_held(shared: &std::sync::Arc<Shared>, left: Duration) {
    let weak = std::sync::Arc::downgrade(shared);
    let hold = Hold::new(&weak);
    let target = shared.cancel.clone();
    let sent = tokio::spawn(async move {
        let r = tokio::time::timeout(left, send_cancel(&target)).await;
        drop(hold);
        r
    });
    match sent.await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %e, "cancel request after a query timeout failed")
        }
        Ok(Err(_)) => {
            tracing::warn!("cancel request after a query timeout did not complete in {left:?}")
        }
        Err(e) => tracing::warn!(error = %e, "cancel request after a query timeout failed"),
    }
}

/// What becomes of a timed query that did not answer within the grace
/// period of its cancels (`st` locked; the query is not done).
///
/// Outside a transaction block the query is its own transaction (its own
/// Sync), so it is failed alone: its caller gets a timeout saying the
/// statement may still run, and the driver reads and discards its answer
/// when it comes. Nothing behind it is written until then (its barrier
/// stays), so every other caller's query runs after it, as if it had
/// answered in time, and no cancel is left on its way to hit one.
/// (Behind a transaction pooler a queued query's cancel is dropped by the
/// pooler: its query runs once a server connection frees up.)
///
/// Inside a transaction block the connection is closed instead, as the
/// server then rolls the transaction back: a statement reported failed
/// must not be committed by a later COMMIT. Only the transaction's owner
/// uses the connection then (a transaction borrows it exclusively).
///
/// Returns the error for the timed query's caller, and whether the
/// connection was kept (the caller then abandons the query).
pub(crate) fn give_up(
    st: &mut crate::engine::State,
    after: Duration,
    grace: Duration,
) -> (Error, bool) {
    if st.tx_status() == crate::TransactionStatus::Idle {
        let e = Error::new(
            ErrorKind::Timeout,
            format!(
                "query timed out after {after:?}, and the cancel request did not take effect \
                 within {grace:?}: the statement may still run (its answer will be discarded); \
                 the connection stays usable"
            ),
        );
        return (e, true);
    }
    st.fail(Error::new(
        ErrorKind::Timeout,
        format!(
            "the server did not answer within {grace:?} of a canceled query inside a \
             transaction; the connection was closed"
        ),
    ));
    (Error::timed_out(after, None), false)
}
