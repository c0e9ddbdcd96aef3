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

/// How the external poller of [`run_with`] waits.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// It waits for the sockets as soon as the future is `Pending`.
    Read,
    /// It waits a while after each `Pending` before it looks at the
    /// sockets: the answers are in before it does.
    ReadLate,
}

/// Polls `fut` on this (non-runtime) thread as a foreign loop would: reads
/// through `poll_with_external_reads`, the returned descriptors waited for
/// with poll(2), other wake-ups through the waker. Returns the output and
/// how many times descriptors were handed over; panics when it hangs.
fn run_external<F: Future>(rt: &tokio::runtime::Handle, fut: F) -> (F::Output, usize) {
    run_with(Mode::Read, rt, fut)
}

/// [`run_external`] in the given mode.
fn run_with<F: Future>(mode: Mode, rt: &tokio::runtime::Handle, fut: F) -> (F::Output, usize) {
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
        let woken = flag.0.swap(false, Ordering::SeqCst);
        if !(n > 0 || woken) {
            continue;
        }
        let (r, got) =
            tusk::external_reads::poll_with_external_reads(|| fut.as_mut().poll(&mut cx));
        if let Poll::Ready(v) = r {
            return (v, handed);
        }
        if !got.is_empty() {
            handed += 1;
            if mode == Mode::ReadLate {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        fds = got;
    }
}

/// Awaits every future of `all`, each polled at every poll (as
/// `futures_util::future::join_all` does only for 30 or fewer).
async fn poll_all<F: Future>(all: Vec<F>) -> Vec<F::Output> {
    let mut all: Vec<_> = all.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut out: Vec<Option<F::Output>> = all.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (f, o) in all.iter_mut().zip(out.iter_mut()) {
            if let Some(fut) = f {
                if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                    *o = Some(v);
                    *f = None;
                }
            }
        }
        if all.iter().all(Option::is_none) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    out.into_iter().flatten().collect()
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

// Whatever is waiting when the poller looks (an answer that came before
// it waited, a notification nobody asked for, bytes already in the
// driver's buffer) must be found.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_poller_and_tokio_tasks_share_one_connection() {
    let db = crate::db();
    let c = Arc::new(plain(&db).await);
    let rt = tokio::runtime::Handle::current();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move { queries(&c, 100).await }));
    }
    let mut ext = Vec::new();
    for mode in [Mode::Read, Mode::ReadLate] {
        let (c2, rt2) = (c.clone(), rt.clone());
        ext.push(std::thread::spawn(move || {
            run_with(mode, &rt2, queries(&c2, 100)).1
        }));
    }
    for t in tasks {
        tokio::time::timeout(WAIT, t)
            .await
            .unwrap_or_else(|_| panic!("a tokio task hung: {}", c.debug_state()))
            .unwrap();
    }
    let mut handed = 0;
    for t in ext {
        handed += tokio::task::spawn_blocking(move || t.join().unwrap())
            .await
            .unwrap();
    }
    assert!(handed > 0, "the socket was never handed to a poller");
    tokio::time::timeout(WAIT, queries(&c, 20)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_in_before_the_poller_waits() {
    // Each answer is in the socket before the poller looks: the poller's
    // wait must report it (level, not edge), or the query waits forever.
    let db = crate::db();
    let c = Arc::new(plain(&db).await);
    let (c2, rt) = (c.clone(), tokio::runtime::Handle::current());
    let handed = tokio::task::spawn_blocking(move || {
        run_with(Mode::ReadLate, &rt, async {
            for i in 0..50i32 {
                let v: i32 = c2.query_scalar("SELECT $1::int4", &[&i]).await.unwrap();
                assert_eq!(v, i);
            }
        })
        .1
    })
    .await
    .unwrap();
    assert!(handed > 0, "the socket was never handed to the poller");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_queries_polled_as_one_by_an_external_poller() {
    // 64 queries in flight on one connection from one future (every part
    // polled at each poll: the poller's readiness is no waker, so a
    // combinator that polls only the parts whose waker fired, such as
    // `FuturesUnordered`, would never poll the part that reads): several
    // answers per read, the rest already in the driver's buffer (no read
    // at all for them), and the read low-water mark for the deep pipeline
    // (the poller's wait honours it; the driver's timer covers a mark set
    // too high).
    let db = crate::db();
    let c = Arc::new(plain(&db).await);
    for mode in [Mode::Read, Mode::ReadLate] {
        let (c2, rt) = (c.clone(), tokio::runtime::Handle::current());
        tokio::task::spawn_blocking(move || {
            run_with(mode, &rt, async {
                for round in 0..5i32 {
                    let all = (0..64i32).map(|i| {
                        let c = c2.clone();
                        async move {
                            if i % 4 == 3 {
                                c.simple_query("").await.unwrap();
                                return i;
                            }
                            let sql = if i % 4 == 2 {
                                "SELECT $1::int4 FROM pg_sleep(0.001)"
                            } else {
                                "SELECT $1::int4"
                            };
                            let v: i32 = c.query_scalar(sql, &[&(i + round)]).await.unwrap();
                            v - round
                        }
                    });
                    let got = poll_all(all.collect()).await;
                    assert_eq!(got, (0..64).collect::<Vec<_>>());
                }
            })
        })
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_waiting_unread_before_an_external_pollers_query() {
    // The idle connection's socket holds a notification nobody read when
    // the next query is written: the query's answer comes behind it.
    let db = crate::db();
    let c = Arc::new(plain(&db).await);
    let sender = crate::conn(&db).await;
    c.execute_script("LISTEN review").await.unwrap();
    for i in 0..10i32 {
        sender
            .execute_script(&format!("NOTIFY review, '{i}'"))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (c2, rt) = (c.clone(), tokio::runtime::Handle::current());
        tokio::task::spawn_blocking(move || {
            run_with(Mode::ReadLate, &rt, async {
                let v: i32 = c2.query_scalar("SELECT $1::int4", &[&i]).await.unwrap();
                assert_eq!(v, i);
            })
        })
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_connection_polled_late_reads_through_tokio() {
    // TLS records already decrypted into the session, or waiting in the
    // socket, are read through tokio's reactor, whenever the poller looks.
    let cluster = tusk_testkit::Cluster::builder().tls().start().unwrap();
    let db = cluster.database().unwrap();
    let c = Arc::new(
        tusk::connect(&format!("{}?sslmode=require", db.url()))
            .await
            .unwrap(),
    );
    let (c2, rt) = (c.clone(), tokio::runtime::Handle::current());
    let handed = tokio::task::spawn_blocking(move || {
        run_with(Mode::ReadLate, &rt, async {
            queries(&c2, 30).await;
            let big: String = c2
                .query_scalar("SELECT repeat('x', 200000)", &[])
                .await
                .unwrap();
            assert_eq!(big.len(), 200_000);
        })
        .1
    })
    .await
    .unwrap();
    assert_eq!(handed, 0, "a TLS socket must stay on tokio's reactor");
}
