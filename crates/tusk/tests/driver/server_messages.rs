use std::sync::{Arc, Mutex};
use std::time::Duration;
use tusk::Executor;

#[tokio::test]
async fn notices_reach_the_handler_and_parameters_track_changes() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    c.set_notice_handler(move |n| s.lock().unwrap().push((n.severity, n.message.clone())));
    c.execute_script("DO $$ BEGIN RAISE NOTICE 'hello %', 42; RAISE WARNING 'careful'; END $$")
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].1, "hello 42");
    assert_eq!(seen[1].0, tusk::error::Severity::Warning);
    assert_eq!(c.parameter("TimeZone").as_deref().map(|_| true), Some(true));
    c.execute_script("SET TimeZone = 'Asia/Kolkata'")
        .await
        .unwrap();
    assert_eq!(c.parameter("TimeZone").as_deref(), Some("Asia/Kolkata"));
    c.execute_script("SET application_name = 'tusk-test'")
        .await
        .unwrap();
    assert_eq!(
        c.parameter("application_name").as_deref(),
        Some("tusk-test")
    );
}

#[tokio::test]
async fn listen_and_notify() {
    let db = crate::db();
    let listener = crate::conn(&db).await;
    let sender = crate::conn(&db).await;
    listener.execute_script("LISTEN jobs").await.unwrap();
    sender
        .execute("SELECT pg_notify('jobs', $1)", &[&"job 1"])
        .await
        .unwrap();
    let n = tokio::time::timeout(Duration::from_secs(10), listener.next_notification())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.channel, "jobs");
    assert_eq!(n.payload, "job 1");
    assert_eq!(n.process_id, sender.process_id());
    // Waiting for a notification while queries run on the same connection.
    let wait = listener.next_notification();
    let work = async {
        let v: i32 = listener.query_scalar("SELECT 1", &[]).await.unwrap();
        sender.execute_script("NOTIFY jobs, 'job 2'").await.unwrap();
        v
    };
    let (n, v) = tokio::join!(tokio::time::timeout(Duration::from_secs(10), wait), work);
    assert_eq!(v, 1);
    assert_eq!(n.unwrap().unwrap().payload, "job 2");
}

#[tokio::test]
async fn cleartext_password_authentication() {
    let cluster = tusk_testkit::Cluster::builder()
        .hba(&[
            "local all all trust",
            "host all postgres 127.0.0.1/32 trust",
            "host all all 127.0.0.1/32 password",
        ])
        .start()
        .unwrap();
    cluster
        .psql("postgres", "CREATE ROLE plain LOGIN PASSWORD 'plainpass'")
        .unwrap();
    let url = format!(
        "postgresql://plain:plainpass@127.0.0.1:{}/postgres?sslmode=disable",
        cluster.port()
    );
    let c = tusk::connect(&url).await.unwrap();
    let who: String = c
        .query_scalar("SELECT current_user::text", &[])
        .await
        .unwrap();
    assert_eq!(who, "plain");
    let bad = format!(
        "postgresql://plain:wrong@127.0.0.1:{}/postgres?sslmode=disable",
        cluster.port()
    );
    let e = tusk::connect(&bad).await.unwrap_err();
    assert_eq!(e.kind(), tusk::ErrorKind::Permission, "{e}");
    assert_eq!(
        e.code().map(|c| c.code().to_string()).as_deref(),
        Some("28P01")
    );
}
