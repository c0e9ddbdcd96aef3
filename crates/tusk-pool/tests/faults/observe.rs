//! Leak detection, health, and the metrics renderings.

use std::collections::HashMap;
use std::time::Duration;

use tusk::Executor;
use tusk_pool::{metrics::OtelValue, HealthStatus, Pool};
use tusk_testkit::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leak_detector_reports_the_acquire_location() {
    let db = Cluster::shared().database().unwrap();
    let pool = Pool::new(
        crate::config(&db.url())
            .max_size(2)
            .leak_detection_threshold(Duration::from_millis(100))
            .build(),
    )
    .unwrap();
    let line = line!() + 1;
    let held = pool.acquire().await.unwrap();
    crate::eventually("leak reported", Duration::from_secs(10), || {
        pool.stats().leaked_total == 1
    })
    .await;
    let leaks = pool.leaks();
    assert_eq!(leaks.len(), 1);
    let want = format!("observe.rs:{line}:");
    assert!(
        leaks[0].location.contains(&want),
        "{:?} should name {want}",
        leaks[0]
    );
    assert!(leaks[0].held >= Duration::from_millis(100));
    assert_eq!(leaks[0].connection, held.id());
    let h = pool.health();
    assert_eq!(h.status, HealthStatus::Degraded, "{h:?}");
    // Returned: the health is clear again; reported once only.
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(pool.stats().leaked_total, 1);
    assert_eq!(
        pool.health().status,
        HealthStatus::Ok,
        "{:?}",
        pool.health()
    );
}

/// A stream from the pool's own `query_stream` (a provided method of
/// `Executor`, over the pool's one `run`) holds its connection until it is
/// dropped: a leak names the caller's line, not the trait's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaked_pool_stream_names_the_callers_line() {
    let db = Cluster::shared().database().unwrap();
    let pool = Pool::new(
        crate::config(&db.url())
            .max_size(2)
            .leak_detection_threshold(Duration::from_millis(100))
            .build(),
    )
    .unwrap();
    let line = line!() + 2;
    let stream = pool
        .query_stream("SELECT g FROM generate_series(1, 100000) g", &[])
        .await
        .unwrap();
    crate::eventually("leak reported", Duration::from_secs(10), || {
        pool.stats().leaked_total == 1
    })
    .await;
    let leaks = pool.leaks();
    assert_eq!(leaks.len(), 1);
    let want = format!("observe.rs:{line}:");
    assert!(
        leaks[0].location.contains(&want),
        "{:?} should name {want}",
        leaks[0]
    );
    drop(stream);
}

/// Parses Prometheus text exposition line by line; returns samples by
/// series, checking names, labels, values and the TYPE of each family.
fn parse_prometheus(text: &str) -> HashMap<String, f64> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = HashMap::new();
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        assert!(!line.is_empty(), "line {n}: empty line");
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP has a name and text");
            assert!(is_name(name) && !help.is_empty(), "line {n}: {line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a name and a type");
            assert!(is_name(name), "line {n}: {line}");
            assert!(
                ["counter", "gauge", "summary", "histogram", "untyped"].contains(&kind),
                "line {n}: {line}"
            );
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "line {n}: TYPE twice"
            );
            if kind == "counter" {
                assert!(
                    name.ends_with("_total"),
                    "line {n}: a counter must end in _total"
                );
            }
            continue;
        }
        assert!(!line.starts_with('#'), "line {n}: unknown comment {line}");
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let v: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("line {n}: bad value {value}"));
        assert!(v.is_finite() && v >= 0.0, "line {n}: {v}");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.strip_suffix('}').expect("labels end with }")),
            None => (series, ""),
        };
        assert!(is_name(name), "line {n}: bad name {name}");
        // label="value" pairs, values with \\ \" \n escapes only.
        let mut rest = labels;
        while !rest.is_empty() {
            let (key, after) = rest.split_once("=\"").expect("label=\"value\"");
            assert!(is_name(key), "line {n}: bad label {key}");
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => {
                        let (_, e) = chars.next().expect("escape");
                        assert!(matches!(e, '\\' | '"' | 'n'), "line {n}: bad escape");
                    }
                    Some((i, '"')) => break i,
                    Some(_) => {}
                    None => panic!("line {n}: unterminated label value"),
                }
            };
            rest = &after[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
        let family = [
            name,
            name.trim_end_matches("_sum"),
            name.trim_end_matches("_count"),
            name.trim_end_matches("_bucket"),
        ]
        .into_iter()
        .find(|f| types.contains_key(*f))
        .unwrap_or_else(|| panic!("line {n}: sample {name} before its TYPE"));
        if name.ends_with("_bucket") {
            assert_eq!(types[family], "histogram", "line {n}");
            assert!(labels.contains("le=\""), "line {n}: a bucket has le");
        }
        if name.contains("duration") || name.contains("setup") {
            assert!(
                family.ends_with("_seconds"),
                "line {n}: durations in seconds"
            );
        }
        assert!(
            samples.insert(series.to_string(), v).is_none(),
            "line {n}: duplicate series"
        );
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_otel_renderings() {
    let db = Cluster::shared().database().unwrap();
    let pool = Pool::new(
        crate::config(&db.url())
            .name("orders \"main\"".into())
            .max_size(3)
            .build(),
    )
    .unwrap();
    for _ in 0..20 {
        let _: i32 = pool.query_scalar("SELECT 1", &[]).await.unwrap();
    }
    let c = pool.acquire().await.unwrap();
    c.execute("CREATE TEMP TABLE x (a int)", &[]).await.unwrap();
    let _ = c.execute("SELECT 1/0", &[]).await;
    drop(c);
    let text = pool.metrics_prometheus();
    let samples = parse_prometheus(&text);
    let pool_label = r#"pool="orders \"main\"""#;
    let get = |s: &str| {
        samples
            .get(s)
            .copied()
            .unwrap_or_else(|| panic!("no {s} in\n{text}"))
    };
    assert_eq!(
        get(&format!("tusk_pool_connections_max{{{pool_label}}}")),
        3.0
    );
    assert!(get(&format!("tusk_pool_acquires_total{{{pool_label}}}")) >= 1.0);
    assert!(
        get(&format!(
            "tusk_pool_query_duration_seconds_count{{{pool_label},operation=\"SELECT\"}}"
        )) >= 21.0
    );
    // Latencies are bucketed histograms (no summaries): the +Inf bucket
    // holds every sample, and the buckets only grow.
    assert!(
        get(&format!(
            "tusk_pool_query_duration_seconds_bucket{{{pool_label},operation=\"SELECT\",le=\"+Inf\"}}"
        )) >= 21.0
    );
    assert!(!text.contains("quantile="), "{text}");
    let fast = get(&format!(
        "tusk_pool_query_duration_seconds_bucket{{{pool_label},operation=\"SELECT\",le=\"0.0001\"}}"
    ));
    let slow = get(&format!(
        "tusk_pool_query_duration_seconds_bucket{{{pool_label},operation=\"SELECT\",le=\"10\"}}"
    ));
    assert!(fast <= slow, "{fast} {slow}");

    // Bytes: counted when connections came back; a 1 MB answer shows.
    let sent = get(&format!("tusk_pool_sent_bytes_total{{{pool_label}}}"));
    let received = get(&format!("tusk_pool_received_bytes_total{{{pool_label}}}"));
    assert!(sent > 0.0 && received > 0.0, "{sent} {received}");
    let _: String = pool
        .query_scalar("SELECT repeat('x', 1000000)", &[])
        .await
        .unwrap();
    let s = pool.stats();
    assert!(
        s.bytes_received_total as f64 >= received + 1_000_000.0,
        "{s:?}"
    );
    assert!(s.bytes_sent_total as f64 > sent, "{s:?}");
    assert!(get(&format!("tusk_pool_breaker_opened_total{{{pool_label}}}")) == 0.0);

    let otel = pool.stats().to_otel();
    let names: Vec<&str> = otel.iter().map(|m| m.name).collect();
    for want in [
        "db.client.connection.count",
        "db.client.connection.max",
        "db.client.connection.pending_requests",
        "db.client.connection.wait_time",
        "db.client.operation.duration",
        "tusk.pool.network.io",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let select = otel
        .iter()
        .find(|m| {
            m.name == "db.client.operation.duration"
                && m.attributes
                    .contains(&("db.operation.name", "SELECT".into()))
        })
        .expect("SELECT duration");
    match &select.value {
        OtelValue::Histogram { count, buckets, .. } => {
            assert!(*count >= 21);
            assert_eq!(buckets.len(), 9);
            assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1));
        }
        v => panic!("not a histogram: {v:?}"),
    }
}
