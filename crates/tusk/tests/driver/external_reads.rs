//! `tusk::external_reads`: a connection whose reads a foreign loop waits
//! for (its socket off tokio's reactor) shared with tokio tasks on the
//! same connection: neither side's wake-up may be lost.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tusk::Executor;

const WAIT: Duration = Duration::from_secs(20);

struct Flag(AtomicBool, std::thread::Thread);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
        self.1.unpark();
    }
}

/// Polls `fut` on this (non-runtime) thread as a foreign loop would: reads
/// through `poll_with_external_reads`, the returned descriptors waited for
/// with poll(2), other wake-ups through the waker. Returns the output and
/// how many times descriptors were handed over; panics when it hangs.
fn run_external<F: Future>(rt: &tokio::runtime::Handle, fut: F) -> (F::Output, usize) {
    let _g = rt.enter();
    let flag = Arc::new(Flag(AtomicBool::new(true), std::thread::current()));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    let mut handed = 0;
    let mut fds: Vec<i32> = Vec::new();
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < deadline, "the external poller hung");
        let ready = {
            let mut p: Vec<libc::pollfd> = fds
                .iter()
                .map(|&fd| libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            // SAFETY: `p` is a live array of `p.len()` pollfds.
            #[allow(unsafe_code)]
            let n = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, 1) };
            n > 0
        };
        if !(ready || flag.0.swap(false, Ordering::SeqCst)) {
            continue;
        }
        let (r, got) =
            tusk::external_reads::poll_with_external_reads(|| fut.as_mut().poll(&mut cx));
        if let Poll::Ready(v) = r {
            return (v, handed);
        }
        if !got.is_empty() {
            handed += 1;
        }
        fds = got;
    }
}

/// A plain (non-TLS) connection: only those hand their socket over.
async fn plain(db: &tusk_testkit::TestDb) -> tusk::Connection {
    tusk::connect(&format!("{}?sslmode=disable", db.url()))
        .await
        .unwrap()
}

async fn queries(c: &tusk::Connection, n: i32) {
    for i in 0..n {
        let v: i32 = c
            .query_scalar("SELECT $1::int4 FROM pg_sleep(0.001)", &[&i])
            .await
            .unwrap();
        assert_eq!(v, i);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_poller_and_tokio_tasks_share_one_connection() {
    let db = crate::db();
    let c = Arc::new(plain(&db).await);
    let rt = tokio::runtime::Handle::current();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move { queries(&c, 100).await }));
    }
    let (c2, rt2) = (c.clone(), rt.clone());
    let ext = std::thread::spawn(move || run_external(&rt2, queries(&c2, 100)).1);
    for t in tasks {
        tokio::time::timeout(WAIT, t)
            .await
            .unwrap_or_else(|_| panic!("a tokio task hung: {}", c.debug_state()))
            .unwrap();
    }
    let handed = tokio::task::spawn_blocking(move || ext.join().unwrap())
        .await
        .unwrap();
    assert!(
        handed > 0,
        "the socket was never handed to the external poller"
    );
    // Tokio alone again on a socket the poller last left off the reactor.
    let (c3, rt3) = (c.clone(), rt.clone());
    tokio::task::spawn_blocking(move || run_external(&rt3, queries(&c3, 5)))
        .await
        .unwrap();
    tokio::time::timeout(WAIT, queries(&c, 20)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_stream_in_a_tokio_task_survives_an_external_poller_taking_over() {
    // The stream drives the idle connection on tokio's reactor; an external
    // poller's queries take the role over and take the socket off the
    // reactor; a NOTIFY sent afterwards must still reach the stream.
    let db = crate::db();
    let c = Arc::new(plain(&db).await);
    let sender = crate::conn(&db).await;
    c.execute_script("LISTEN review").await.unwrap();
    let stream = c.notifications();
    let listener = tokio::spawn(async move {
        stream
            .take(2)
            .map(|n| n.unwrap().payload)
            .collect::<Vec<_>>()
            .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    sender.execute_script("NOTIFY review, 'one'").await.unwrap();
    let (c2, rt) = (c.clone(), tokio::runtime::Handle::current());
    let handed = tokio::task::spawn_blocking(move || run_external(&rt, queries(&c2, 20)).1)
        .await
        .unwrap();
    assert!(handed > 0);
    sender.execute_script("NOTIFY review, 'two'").await.unwrap();
    let got = tokio::time::timeout(WAIT, listener)
        .await
        .unwrap_or_else(|_| panic!("the notification stream hung: {}", c.debug_state()))
        .unwrap();
    assert_eq!(got, ["one", "two"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_connection_never_hands_its_socket_over() {
    let cluster = tusk_testkit::Cluster::builder().tls().start().unwrap();
    let db = cluster.database().unwrap();
    let c = Arc::new(
        tusk::connect(&format!("{}?sslmode=require", db.url()))
            .await
            .unwrap(),
    );
    let mut tasks = Vec::new();
    {
        let c = c.clone();
        tasks.push(tokio::spawn(async move { queries(&c, 50).await }));
    }
    let (c2, rt) = (c.clone(), tokio::runtime::Handle::current());
    let handed = tokio::task::spawn_blocking(move || run_external(&rt, queries(&c2, 50)).1)
        .await
        .unwrap();
    assert_eq!(handed, 0, "a TLS socket must stay on tokio's reactor");
    for t in tasks {
        tokio::time::timeout(WAIT, t).await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_dropped_off_the_runtime_after_an_external_poller() {
    // The poller leaves the socket off tokio's reactor; the transaction is
    // then dropped on a thread outside the runtime (its ROLLBACK is pushed
    // out from the drop): re-registering the socket there must not fail the
    // connection.
    let db = crate::db();
    let mut c = plain(&db).await;
    let rt = tokio::runtime::Handle::current();
    // A thread of its own: the runtime's blocking threads are inside it.
    let t = std::thread::spawn(move || {
        {
            let (tx, handed) = run_external(&rt, async {
                let tx = c.transaction().await.unwrap();
                let v: i32 = tx
                    .query_scalar("SELECT 7 FROM pg_sleep(0.01)", &[])
                    .await
                    .unwrap();
                assert_eq!(v, 7);
                tx
            });
            assert!(handed > 0);
            drop(tx);
        }
        c
    });
    let c = tokio::task::spawn_blocking(move || t.join().unwrap())
        .await
        .unwrap();
    let v: i32 = tokio::time::timeout(WAIT, c.query_scalar("SELECT 8", &[]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, 8);
    assert_eq!(c.transaction_status(), tusk::TransactionStatus::Idle);
}
