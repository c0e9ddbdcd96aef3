//! What the pool does around every statement a handle runs: read its text
//! (session state it may change, its operation name), open a tracing span
//! with OpenTelemetry's database attribute names (`db.query.text`, not the
//! superseded `db.statement`; docs/pool.md, "Tracing"), time it, and apply
//! the SQLSTATE policy to its error.

use std::future::Future;
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::time::Instant;

use std::sync::Arc;

use tracing::Instrument;
use tusk::executor::{Reply, Request};
use tusk::{Error, Executor, Prepare};

use crate::conn::{ConnMeta, HandleState, InterruptGuard, StreamHold};
use crate::inner::Inner;
use crate::metrics::CloseReason;
use crate::policy::{self, Action};
use crate::reset::{self, Dirty};

/// Longest `db.query.text` recorded on a span.
const SPAN_TEXT: usize = 200;

/// What the pool learned from a statement before running it.
pub(crate) struct Inspected {
    pub(crate) dirty: Dirty,
    pub(crate) op: &'static str,
    pub(crate) span: tracing::Span,
}

fn span() -> tracing::Span {
    tracing::debug_span!(
        "db.query",
        db.system.name = "postgresql",
        db.system = "postgresql",
        db.operation.name = tracing::field::Empty,
        db.query.text = tracing::field::Empty,
        db.response.status_code = tracing::field::Empty,
    )
}

fn finish(text: &str, empty_op: &'static str) -> Inspected {
    let dirty = reset::scan(text);
    let op = if text.trim().is_empty() {
        empty_op
    } else {
        reset::operation(text)
    };
    let span = span();
    if !span.is_disabled() {
        let end = text
            .char_indices()
            .map(|(i, _)| i)
            .nth(SPAN_TEXT)
            .unwrap_or(text.len());
        span.record("db.operation.name", op);
        // Sanitized, as OpenTelemetry asks: literals replaced by `?`.
        span.record(
            "db.query.text",
            tusk::sql::redact_literals(&text[..end]).as_str(),
        );
    }
    Inspected { dirty, op, span }
}

/// Inspects a driver query (no text for a prepared statement: its session
/// effects were recorded when it was prepared, see `mark_sticky`).
pub(crate) fn inspect_query(inner: &Inner, q: &tusk::Query<'_>) -> Inspected {
    let _ = inner;
    finish(q.sql().unwrap_or(""), "EXECUTE")
}

/// Inspects plain SQL text.
pub(crate) fn inspect_text(inner: &Inner, sql: &str) -> Inspected {
    let _ = inner;
    finish(sql, "EMPTY")
}

/// Inspects a batch: the session state any of its statements may change
/// (each one's text scanned), labelled `BATCH`.
pub(crate) fn inspect_batch(inner: &Inner, batch: &tusk::Batch<'_>) -> Inspected {
    let _ = inner;
    let mut ins = finish("", "BATCH");
    for (q, _) in batch.statements() {
        ins.dirty = ins.dirty.union(reset::scan(q.sql().unwrap_or("")));
    }
    ins
}

/// Applies the SQLSTATE policy to an error seen on a connection.
pub(crate) fn on_error(inner: &Inner, state: &HandleState, e: &Error) {
    let action = policy::classify(e);
    match action {
        Action::Keep | Action::RetryTransaction => return,
        Action::Evict => {}
        Action::CheckReadOnly => {
            // A caller's own READ ONLY transaction, or a failover: the
            // return path asks the server which (policy::server_read_only).
            state.read_only_check.store(true, Relaxed);
            return;
        }
        Action::OpenBreaker => {
            inner
                .breaker
                .lock()
                .failure(Instant::now(), true, e.to_string());
        }
    }
    let reason = if e.is_fatal() {
        CloseReason::Broken
    } else {
        CloseReason::Evicted
    };
    if state.evict().is_none() {
        inner.metrics.evicted(policy::eviction_class(e));
    }
    state.set_evict(reason);
    // The server may have restarted: have the supervisor check idle ones.
    inner.sweep.store(true, Release);
    inner.wake_supervisor.notify_one();
}

/// Runs a statement's future with its span, timing and error policy.
pub(crate) async fn run<T>(
    inner: &Inner,
    state: &HandleState,
    ins: Inspected,
    fut: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    state.mark(ins.dirty);
    let guard = InterruptGuard(Some(state));
    let t0 = Instant::now();
    let span = ins.span.clone();
    let r = fut.instrument(ins.span).await;
    guard.disarm();
    inner.metrics.query(ins.op, t0.elapsed());
    if let Err(e) = &r {
        if let Some(code) = e.code() {
            span.record("db.response.status_code", code.code());
        }
        on_error(inner, state, e);
    }
    r
}

/// Inspects any request.
pub(crate) fn inspect(inner: &Inner, request: &Request<'_>) -> Inspected {
    match request {
        Request::Query(q, _) | Request::Stream(q, _) | Request::Execute(q, _) => {
            inspect_query(inner, q)
        }
        Request::Simple(sql) => inspect_text(inner, sql),
        Request::Batch(batch) => inspect_batch(inner, batch),
    }
}

/// `Executor::run` for a pool handle (a pooled connection, a pool
/// transaction): runs `request` on the driver executor `target`, observed.
/// A stream keeps its connection out of the pool while it is read.
pub(crate) fn run_request<'a>(
    inner: &'a Inner,
    state: &'a HandleState,
    meta: &Arc<ConnMeta>,
    target: &'a impl Executor,
    request: Request<'a>,
) -> impl Future<Output = Result<Reply, Error>> + Send + 'a {
    let ins = inspect(inner, &request);
    let hold = matches!(request, Request::Stream(..)).then(|| StreamHold::new(meta));
    let fut = run(inner, state, ins, target.run(request));
    async move {
        Ok(match (fut.await?, hold) {
            (Reply::Stream(s), Some(hold)) => Reply::Stream(s.with_guard(hold)),
            (reply, _) => reply,
        })
    }
}

/// `Prepare::prepare_typed` for a pool handle, observed.
pub(crate) fn prepare<'a>(
    inner: &'a Inner,
    state: &'a HandleState,
    target: &'a impl Prepare,
    sql: &'a str,
    types: &'a [tusk::Type],
) -> impl Future<Output = Result<tusk::Statement, Error>> + Send + 'a {
    let ins = inspect_text(inner, sql);
    // A prepared statement may run again under another holder: what it can
    // change is reset on every return from now on.
    state.mark_sticky(ins.dirty);
    run(inner, state, ins, target.prepare_typed(sql, types))
}
