//! The Listener against a real PostgreSQL (tusk-testkit).

use std::error::Error as _;
use std::time::Duration;

use tusk::Executor;
use tusk_listen::{
    publish, Event, InvalidReason, InvalidTopic, Listener, Outbox, Overflow, Subscription,
};

const WAIT: Duration = Duration::from_secs(30);

/// The next event, failing the test after [`WAIT`].
async fn next(sub: &mut Subscription) -> Event {
    tokio::time::timeout(WAIT, sub.recv())
        .await
        .unwrap_or_else(|_| panic!("no event for {} within {WAIT:?}", sub.pattern()))
        .expect("the subscription ended")
}

/// The next notification's (topic, payload), skipping nothing.
async fn note(sub: &mut Subscription) -> (String, String) {
    match next(sub).await {
        Event::Notify(m) => (m.topic.to_string(), m.payload.clone()),
        other => panic!(
            "expected a notification on {}, got {other:?}",
            sub.pattern()
        ),
    }
}

/// Nothing more arrives within a short while.
async fn quiet(sub: &mut Subscription) {
    if let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(300), sub.recv()).await {
        panic!("unexpected event on {}: {ev:?}", sub.pattern());
    }
}

async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn wildcard_handlers_issue_their_own_listen_and_route_by_topic() {
    let db = tusk_testkit::db();
    let listener = Listener::connect(&db.url()).await.unwrap();
    // Wildcards only on `orders`: no exact handler LISTENs for them.
    let mut one = listener.listen("orders.*").await.unwrap();
    let mut deep = listener.listen("orders.**").await.unwrap();
    let mut eu = listener.listen("orders.*.eu").await.unwrap();
    let mut exact = listener.listen("orders.created").await.unwrap();
    let mut plain = listener.listen("orders").await.unwrap();
    let mut again = listener.listen("orders.created").await.unwrap();
    assert_eq!(listener.stats().channels, 1);
    assert_eq!(listener.stats().subscriptions, 6);

    let conn = tusk::connect(&db.url()).await.unwrap();
    publish(&conn, "orders.created", "c1").await.unwrap();
    publish(&conn, "orders.created.eu", "c2").await.unwrap();
    publish(&conn, "users.created", "nobody listens")
        .await
        .unwrap();
    publish(&conn, "orders", "plain").await.unwrap();
    // A plain payload that looks like an envelope is wrapped by publish,
    // so it arrives as sent, to `orders` subscribers only.
    let lookalike = r#"{"topic":"orders.fake","payload":"p"}"#;
    publish(&conn, "orders", lookalike).await.unwrap();
    // A trigger's way: an object payload built in SQL, spaces and all.
    conn.execute_script(
        "SELECT pg_notify('orders', json_build_object('payload', json_build_object('id', 7), 'topic', 'orders.shipped')::text)",
    )
    .await
    .unwrap();
    // A plain NOTIFY whose payload is JSON without a topic stays plain.
    conn.execute_script(r#"NOTIFY orders, '{"id": 8}'"#)
        .await
        .unwrap();

    let t = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(note(&mut one).await, t("orders.created", "c1"));
    assert_eq!(note(&mut one).await, t("orders.shipped", r#"{"id" : 7}"#));
    quiet(&mut one).await;
    assert_eq!(note(&mut deep).await, t("orders.created", "c1"));
    assert_eq!(note(&mut deep).await, t("orders.created.eu", "c2"));
    assert_eq!(note(&mut deep).await, t("orders.shipped", r#"{"id" : 7}"#));
    quiet(&mut deep).await;
    assert_eq!(note(&mut eu).await, t("orders.created.eu", "c2"));
    quiet(&mut eu).await;
    for sub in [&mut exact, &mut again] {
        assert_eq!(note(sub).await, t("orders.created", "c1"));
        quiet(sub).await;
    }
    assert_eq!(note(&mut plain).await, t("orders", "plain"));
    assert_eq!(note(&mut plain).await, t("orders", lookalike));
    assert_eq!(note(&mut plain).await, t("orders", r#"{"id": 8}"#));
    quiet(&mut plain).await;

    let st = listener.stats();
    assert_eq!(st.received, 6, "{st:?}");
    assert_eq!(st.dispatched, 11, "{st:?}");
    assert_eq!(st.dropped, 0);

    // The last subscription of a channel leaving UNLISTENs it.
    drop((one, deep, eu, exact, plain, again));
    wait_for("the channel to be released", || {
        listener.stats().channels == 0
    })
    .await;
    let mut other = listener.listen("other").await.unwrap();
    publish(&conn, "orders.created", "after").await.unwrap();
    publish(&conn, "other", "x").await.unwrap();
    assert_eq!(note(&mut other).await, t("other", "x"));
    assert_eq!(
        listener.stats().received,
        7,
        "orders is no longer listened to"
    );
}

#[tokio::test]
async fn a_burst_of_100_000_is_dispatched_in_order_per_channel() {
    let db = tusk_testkit::db();
    let listener = Listener::builder(&db.url())
        .queue_capacity(200_000)
        .connect()
        .await
        .unwrap();
    let a = listener.listen("burst_a").await.unwrap();
    let b = listener.listen("burst_b.*").await.unwrap();
    let drain = |mut sub: Subscription, n: usize| {
        tokio::spawn(async move {
            let mut got = Vec::with_capacity(n);
            while got.len() < n {
                match tokio::time::timeout(WAIT, sub.recv()).await {
                    Ok(Some(Event::Notify(m))) => got.push(m.payload.parse::<u32>().unwrap()),
                    other => panic!("after {} notifications: {other:?}", got.len()),
                }
            }
            got
        })
    };
    let (ta, tb) = (drain(a, 50_000), drain(b, 50_000));
    let conn = tusk::connect(&db.url()).await.unwrap();
    conn.execute_script(
        "SELECT CASE WHEN i % 2 = 0 THEN pg_notify('burst_a', i::text)
                     ELSE pg_notify('burst_b', json_build_object('topic', 'burst_b.n', 'payload', i::text)::text) END
         FROM generate_series(1, 100000) i",
    )
    .await
    .unwrap();
    let (ga, gb) = (ta.await.unwrap(), tb.await.unwrap());
    assert_eq!(
        ga,
        (1..=100_000).filter(|i| i % 2 == 0).collect::<Vec<u32>>()
    );
    assert_eq!(
        gb,
        (1..=100_000).filter(|i| i % 2 == 1).collect::<Vec<u32>>()
    );
    let st = listener.stats();
    assert_eq!(
        (st.received, st.dispatched, st.dropped),
        (100_000, 100_000, 0),
        "{st:?}"
    );
}

#[tokio::test]
async fn a_slow_handler_overflows_by_its_policy_while_others_get_everything() {
    let db = tusk_testkit::db();
    let listener = Listener::builder(&db.url())
        .queue_capacity(100)
        .connect()
        .await
        .unwrap();
    let mut slow = listener.listen("jobs").await.unwrap();
    // Same channel, a deep queue of its own.
    let fast = listener
        .listen_with("jobs", 10_000, Overflow::DropNewest)
        .await
        .unwrap();
    let stuck = std::sync::Arc::new(tokio::sync::Notify::new());
    // A handler that never returns from its first event: it holds its
    // queue full (1 taken, 100 queued).
    let gate = stuck.clone();
    let handler = listener
        .on("jobs", move |_| {
            let gate = gate.clone();
            async move { gate.notified().await }
        })
        .await
        .unwrap();
    let fast_task = tokio::spawn(async move {
        let mut fast = fast;
        let mut n = 0u32;
        while n < 1000 {
            match tokio::time::timeout(WAIT, fast.recv()).await {
                Ok(Some(Event::Notify(m))) => {
                    n += 1;
                    assert_eq!(m.payload, n.to_string());
                }
                other => panic!("fast handler: {other:?}"),
            }
        }
        fast
    });
    let conn = tusk::connect(&db.url()).await.unwrap();
    conn.execute_script("SELECT pg_notify('jobs', i::text) FROM generate_series(1, 1000) i")
        .await
        .unwrap();
    let fast = fast_task.await.unwrap();
    assert_eq!(fast.stats().dropped, 0);
    wait_for("the reader to route all 1000", || {
        listener.stats().received == 1000
    })
    .await;
    // The subscription nobody drained: 100 kept in order, then the gap.
    for i in 1..=100 {
        assert_eq!(note(&mut slow).await.1, i.to_string());
    }
    assert_eq!(next(&mut slow).await, Event::Dropped { count: 900 });
    assert_eq!(slow.stats().dropped, 900);
    let st = listener.stats();
    // 900 for `slow`; 899 or 900 for the stuck handler (it took one,
    // before or after its queue filled).
    assert!((1799..=1800).contains(&st.dropped), "{st:?}");
    assert_eq!(st.received, 1000);
    // After catching up, the slow one gets new notifications again.
    conn.execute_script("NOTIFY jobs, 'later'").await.unwrap();
    assert_eq!(note(&mut slow).await.1, "later");
    drop(handler);
    stuck.notify_waiters();

    // DropOldest keeps the latest.
    let latest = Listener::builder(&db.url())
        .queue_capacity(10)
        .overflow(Overflow::DropOldest)
        .connect()
        .await
        .unwrap();
    let mut sub = latest.listen("jobs").await.unwrap();
    conn.execute_script("SELECT pg_notify('jobs', i::text) FROM generate_series(1, 100) i")
        .await
        .unwrap();
    wait_for("the 100", || latest.stats().received == 100).await;
    assert_eq!(next(&mut sub).await, Event::Dropped { count: 90 });
    for i in 91..=100 {
        assert_eq!(note(&mut sub).await.1, i.to_string());
    }
}

#[tokio::test]
async fn an_oversized_payload_round_trips_through_the_outbox() {
    let db = tusk_testkit::db();
    let conn = tusk::connect(&db.url()).await.unwrap();
    Outbox::default().install(&conn).await.unwrap();
    Outbox::default().install(&conn).await.unwrap(); // idempotent
    let listener = Listener::connect(&db.url()).await.unwrap();
    let mut docs = listener.listen("docs.*").await.unwrap();
    let mut raw = listener.listen("bulk").await.unwrap();
    let big: String = "abcdefghijklmnopqrstuvwxyz"
        .chars()
        .cycle()
        .take(100_000)
        .collect();
    let quoted = format!("\"quoted\" é {}", "x".repeat(7_990));
    publish(&conn, "docs.big", &big).await.unwrap();
    publish(&conn, "docs.edge", &quoted).await.unwrap(); // its envelope is over the limit
    publish(&conn, "bulk", &big).await.unwrap(); // a plain channel too
                                                 // From SQL, as a trigger would.
    conn.execute("SELECT tusk_notify('docs.sql', repeat('y', 20000))", &[])
        .await
        .unwrap();
    conn.execute("SELECT tusk_notify('docs.small', 'tiny')", &[])
        .await
        .unwrap();
    assert_eq!(note(&mut docs).await, ("docs.big".to_owned(), big.clone()));
    assert_eq!(note(&mut docs).await, ("docs.edge".to_owned(), quoted));
    assert_eq!(
        note(&mut docs).await,
        ("docs.sql".to_owned(), "y".repeat(20_000))
    );
    assert_eq!(
        note(&mut docs).await,
        ("docs.small".to_owned(), "tiny".to_owned())
    );
    assert_eq!(note(&mut raw).await, ("bulk".to_owned(), big));
    let st = listener.stats();
    assert_eq!((st.outbox_fetched, st.outbox_errors), (4, 0), "{st:?}");
    let rows: i64 = conn
        .query_scalar("SELECT count(*) FROM tusk_notify_outbox", &[])
        .await
        .unwrap();
    assert_eq!(rows, 4, "only the oversized ones were spilled");
    assert_eq!(
        Outbox::default()
            .purge(&conn, Duration::ZERO)
            .await
            .unwrap(),
        4
    );
    // A notification whose row was purged is dropped and counted.
    conn.execute_script(r#"NOTIFY docs, '{"topic":"docs.gone","outbox":12345}'"#)
        .await
        .unwrap();
    wait_for("the outbox error", || listener.stats().outbox_errors == 1).await;
    quiet(&mut docs).await;
}

#[tokio::test]
async fn a_non_superuser_role_listens_publishes_and_installs_the_outbox() {
    let cluster = tusk_testkit::Cluster::builder()
        .hba(&["local all all trust", "host all all 127.0.0.1/32 trust"])
        .start()
        .unwrap();
    let role = "app_listener";
    cluster
        .psql(
            "postgres",
            &format!("CREATE ROLE {role} LOGIN NOSUPERUSER; CREATE SCHEMA AUTHORIZATION {role};"),
        )
        .unwrap();
    let url = format!("postgresql://{role}@127.0.0.1:{}/postgres", cluster.port());
    let conn = tusk::connect(&url).await.unwrap();
    let su: bool = conn
        .query_scalar(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .unwrap();
    assert!(!su);
    Outbox::default().install(&conn).await.unwrap();
    let listener = Listener::connect(&url).await.unwrap();
    let mut sub = listener.listen("app.*").await.unwrap();
    publish(&conn, "app.small", "s").await.unwrap();
    publish(&conn, "app.large", &"z".repeat(9_000))
        .await
        .unwrap();
    assert_eq!(note(&mut sub).await.1, "s");
    assert_eq!(note(&mut sub).await.1, "z".repeat(9_000));
    let schema: String = conn
        .query_scalar(
            "SELECT table_schema::text FROM information_schema.tables WHERE table_name = 'tusk_notify_outbox'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(schema, role);
}

#[tokio::test]
async fn bad_names_are_typed_errors_and_channels_are_quoted_exactly() {
    let db = tusk_testkit::db();
    let listener = Listener::connect(&db.url()).await.unwrap();
    let long = "c".repeat(64);
    for (bad, reason) in [
        ("", InvalidReason::Empty),
        ("*.created", InvalidReason::WildcardChannel),
        ("orders..x", InvalidReason::EmptySegment),
        ("ord*", InvalidReason::BadWildcard),
        ("a\0b", InvalidReason::Nul),
        (long.as_str(), InvalidReason::ChannelTooLong),
    ] {
        let e = listener.listen(bad).await.unwrap_err();
        assert_eq!(e.kind(), tusk::ErrorKind::Syntax, "{bad:?}: {e}");
        let src = e.source().and_then(|s| s.downcast_ref::<InvalidTopic>());
        assert_eq!(src.map(|s| s.reason), Some(reason), "{bad:?}: {e}");
    }
    let conn = tusk::connect(&db.url()).await.unwrap();
    let e = publish(&conn, "orders.*", "x").await.unwrap_err();
    assert_eq!(e.kind(), tusk::ErrorKind::Syntax);
    assert_eq!(listener.stats().subscriptions, 0);

    // Names that need quoting reach exactly the channel pg_notify spells.
    let mut mixed = listener.listen("Mixed Case").await.unwrap();
    let mut quote = listener
        .listen(r#"we"ird'; DROP TABLE x; --"#)
        .await
        .unwrap();
    let mut lower = listener.listen("mixed case").await.unwrap();
    let mut max = listener.listen(&"m".repeat(63)).await.unwrap();
    conn.execute("SELECT pg_notify('Mixed Case', 'M')", &[])
        .await
        .unwrap();
    conn.execute(
        "SELECT pg_notify($1, 'Q')",
        &[&r#"we"ird'; DROP TABLE x; --"#],
    )
    .await
    .unwrap();
    conn.execute("SELECT pg_notify($1, 'L')", &[&"m".repeat(63)])
        .await
        .unwrap();
    assert_eq!(note(&mut mixed).await.1, "M");
    assert_eq!(note(&mut quote).await.1, "Q");
    assert_eq!(note(&mut max).await.1, "L");
    quiet(&mut lower).await;
    // The listener's connection survived all of it.
    assert_eq!(listener.stats().reconnects, 0);
    assert!(listener.stats().connected);
}

#[tokio::test]
async fn a_server_restart_mid_stream_delivers_resync_and_loses_nothing_sent_after() {
    let cluster = std::sync::Arc::new(tusk_testkit::Cluster::start().unwrap());
    let url = cluster.url("postgres");
    let listener = Listener::builder(&url)
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .connect()
        .await
        .unwrap();
    let mut jobs = listener.listen("jobs").await.unwrap();
    let mut orders = listener.listen("orders.*").await.unwrap();
    let pid_before = listener.process_id().unwrap();
    {
        let conn = tusk::connect(&url).await.unwrap();
        conn.execute_script("SELECT pg_notify('jobs', i::text) FROM generate_series(1, 500) i")
            .await
            .unwrap();
    }
    // Mid-stream: the restart lands while the listener is dispatching.
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.restart().unwrap())
        .await
        .unwrap();
    // Whatever of the first 500 arrived came in order; then the Resync.
    let mut last = 0u32;
    loop {
        match next(&mut jobs).await {
            Event::Notify(m) => {
                let i: u32 = m.payload.parse().unwrap();
                assert_eq!(i, last + 1);
                last = i;
            }
            Event::Resync { generation } => {
                assert_eq!(generation, 1);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(next(&mut orders).await, Event::Resync { generation: 1 });
    assert_ne!(listener.process_id(), Some(pid_before));
    let conn = tusk::connect(&url).await.unwrap();
    for i in 0..1000 {
        publish(&conn, "orders.created", &i.to_string())
            .await
            .unwrap();
    }
    conn.execute_script("SELECT pg_notify('jobs', 'after ' || i) FROM generate_series(1, 1000) i")
        .await
        .unwrap();
    for i in 0..1000 {
        let (topic, payload) = note(&mut orders).await;
        assert_eq!((topic.as_str(), payload), ("orders.created", i.to_string()));
    }
    for i in 1..=1000 {
        assert_eq!(note(&mut jobs).await.1, format!("after {i}"));
    }
    let st = listener.stats();
    assert_eq!((st.generation, st.reconnects), (1, 1), "{st:?}");
    assert!(st.connected);
}

#[tokio::test]
async fn the_keepalive_notices_a_silent_network_and_the_listener_comes_back() {
    let db = tusk_testkit::db();
    let proxy = tusk_testkit::Proxy::start(([127, 0, 0, 1], db.port()).into()).unwrap();
    let listener = Listener::builder(&proxy.url(db.name()))
        .keepalive(Duration::from_millis(200))
        .keepalive_timeout(Duration::from_millis(500))
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(200))
        .connect()
        .await
        .unwrap();
    let mut sub = listener.listen("ping").await.unwrap();
    wait_for("a keepalive", || listener.stats().keepalives >= 1).await;
    assert!(listener.stats().server_queue_usage.is_some());
    // The network goes silent: no RST, no FIN; only the keepalive can tell.
    proxy.blackhole(true);
    wait_for("the keepalive to fail", || {
        listener.stats().keepalive_failures >= 1
    })
    .await;
    proxy.blackhole(false);
    // (A loaded machine may time out a keepalive before the black hole too:
    // any generation past the first will do, folded into one Resync.)
    assert!(
        matches!(next(&mut sub).await, Event::Resync { generation } if generation >= 1),
        "a Resync after the reconnect"
    );
    wait_for("the listener to be connected", || {
        listener.stats().connected
    })
    .await;
    let conn = tusk::connect(&db.url()).await.unwrap();
    conn.execute_script("NOTIFY ping, 'back'").await.unwrap();
    assert_eq!(note(&mut sub).await.1, "back");
}

#[tokio::test]
async fn dropping_the_listener_closes_its_connection_and_ends_subscriptions() {
    let db = tusk_testkit::db();
    let listener = Listener::connect(&db.url()).await.unwrap();
    let mut sub = listener.listen("bye").await.unwrap();
    let conn = tusk::connect(&db.url()).await.unwrap();
    conn.execute_script("NOTIFY bye, 'queued'").await.unwrap();
    wait_for("the notification", || listener.stats().received == 1).await;
    let pid = listener.process_id().unwrap();
    drop(listener);
    // What was queued is still delivered, then the end.
    assert_eq!(note(&mut sub).await.1, "queued");
    assert!(tokio::time::timeout(WAIT, sub.recv())
        .await
        .unwrap()
        .is_none());
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let alive: bool = conn
            .query_scalar(
                "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)",
                &[&pid],
            )
            .await
            .unwrap();
        if !alive {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "backend {pid} still there"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // close() waits for the same: subscriptions end, the backend is gone.
    let closed = Listener::connect(&db.url()).await.unwrap();
    let mut keep = closed.listen("x").await.unwrap();
    let pid = closed.process_id().unwrap();
    closed.close().await;
    assert!(keep.recv().await.is_none());
    let deadline = tokio::time::Instant::now() + WAIT;
    while conn
        .query_scalar::<bool>(
            "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)",
            &[&pid],
        )
        .await
        .unwrap()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "backend {pid} still there"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_pooled_connection_loses_its_listens_and_queue_on_return() {
    let db = tusk_testkit::db();
    let mut config = tusk_pool::PoolConfig::from_url(&db.url()).unwrap();
    config.max_size = 1;
    let pool = tusk_pool::Pool::new(config).unwrap();
    let sender = tusk::connect(&db.url()).await.unwrap();
    let pid = {
        let c = pool.acquire().await.unwrap();
        c.execute_script("LISTEN pooled").await.unwrap();
        sender.execute_script("NOTIFY pooled, 'one'").await.unwrap();
        c.query_scalar::<i32>("SELECT 1", &[]).await.unwrap();
        c.process_id()
    };
    let c = pool.acquire().await.unwrap();
    assert_eq!(c.process_id(), pid, "the same connection");
    sender.execute_script("NOTIFY pooled, 'two'").await.unwrap();
    c.query_scalar::<i32>("SELECT 1", &[]).await.unwrap();
    let got = tokio::time::timeout(Duration::from_millis(300), c.next_notification()).await;
    assert!(
        got.is_err(),
        "the previous holder's notifications leaked: {got:?}"
    );
}
