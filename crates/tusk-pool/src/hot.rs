//! Hot statements: prepared into a new connection's own statement cache
//! before the connection is first handed out, all in one flight, so their
//! first run sends Bind/Execute only (docs/pool.md, "Hot statements").
//!
//! [`tusk::Connection::prepare_cached`] parses and describes a statement
//! into the driver's automatic cache without running it; the calls for all
//! hot statements are polled together, so the driver writes them in one
//! flight and the connection pays one round trip for all of them.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tusk::Error;

/// How long warming a new connection may take before it is given up (the
/// connection is still used; its hot statements are then prepared by their
/// first runs).
const WARM_LIMIT: Duration = Duration::from_secs(5);

/// Prepares `hot` on `conn`, all in one flight. Returns how many are now
/// in its statement cache ahead of their first run.
pub(crate) async fn warm(conn: &tusk::Connection, hot: &[String]) -> usize {
    type Warm<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;
    let mut futs: Vec<Option<(usize, Warm<'_>)>> = hot
        .iter()
        .enumerate()
        .map(|(i, sql)| Some((i, Box::pin(conn.prepare_cached(sql)) as Warm<'_>)))
        .collect();
    let mut prepared = 0;
    // Polled together: the driver writes every Parse/Describe in one flight.
    let all = poll_fn(|cx| {
        let mut pending = false;
        for slot in futs.iter_mut() {
            let Some((i, f)) = slot else { continue };
            match f.as_mut().poll(cx) {
                Poll::Pending => pending = true,
                Poll::Ready(Ok(())) => {
                    prepared += 1;
                    *slot = None;
                }
                Poll::Ready(Err(e)) => {
                    tracing::warn!(statement = %hot[*i], error = %e,
                        "a hot statement could not be prepared ahead on a new connection");
                    *slot = None;
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    });
    if tokio::time::timeout(WARM_LIMIT, all).await.is_err() {
        tracing::warn!("preparing hot statements on a new connection took over {WARM_LIMIT:?}; continuing without");
    }
    prepared
}
