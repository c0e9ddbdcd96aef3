use futures_util::StreamExt;
use tusk::Executor;

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[tokio::test]
async fn stream_of_five_million_rows_keeps_memory_bounded() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let before = rss_kib();
    let mut s = c
        .query_stream(
            "SELECT g, 'row number ' || g FROM generate_series(1, 5000000) g",
            &[],
        )
        .await
        .unwrap();
    let mut n = 0i64;
    let mut peak = before;
    while let Some(row) = s.next().await {
        let row = row.unwrap();
        n += 1;
        assert_eq!(i64::from(row.get::<i32>(0usize)), n);
        if n % 100_000 == 0 {
            peak = peak.max(rss_kib());
        }
    }
    assert_eq!(n, 5_000_000);
    assert_eq!(s.rows_affected(), Some(5_000_000));
    let grew = peak.saturating_sub(before);
    // 5M rows are ~200 MB on the wire; a bounded stream holds a few MB.
    assert!(grew < 64 * 1024, "RSS grew by {grew} KiB while streaming");
    let v: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(v, 1);
}

#[tokio::test]
async fn dropping_a_stream_midway_leaves_the_connection_usable() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    {
        let mut s = c
            .query_stream("SELECT g FROM generate_series(1, 100000) g", &[])
            .await
            .unwrap();
        for _ in 0..10 {
            s.next().await.unwrap().unwrap();
        }
    }
    let v: i64 = c.query_scalar("SELECT 41::int8 + 1", &[]).await.unwrap();
    assert_eq!(v, 42);
    let e = c.query_stream("SELEC", &[]).await.err().unwrap();
    assert_eq!(e.kind(), tusk::ErrorKind::Syntax);
}
