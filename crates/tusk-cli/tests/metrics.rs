//! `tusk metrics --serve`: the responder against a real pool (exposition
//! lines that parse, health JSON, a pool that cannot connect is down), and
//! the built binary end to end over TCP.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use hyper::Method;
use tusk::Executor;
use tusk_cli::metrics::{self, http};
use tusk_pool::Pool;
use tusk_testkit::Cluster;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A label set `{k="v",...}` at the start of `s`; returns the rest.
fn labels(s: &str) -> Result<&str, String> {
    let mut rest = s.strip_prefix('{').ok_or("no {")?;
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok(r);
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let key = &rest[..eq];
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("bad label name {key:?}"));
        }
        let mut chars = rest[eq + 1..].char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err("label value not quoted".into());
        }
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    let (_, e) = chars.next().ok_or("dangling escape")?;
                    if !matches!(e, '\\' | '"' | 'n') {
                        return Err(format!("bad escape \\{e}"));
                    }
                }
                '"' => {
                    end = Some(eq + 1 + i + 1);
                    break;
                }
                _ => {}
            }
        }
        rest = &rest[end.ok_or("unterminated label value")?..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

fn metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Checks Prometheus text format 0.0.4 line by line: `# HELP`, `# TYPE`
/// before their samples, `name{labels} value`; returns the sample names.
fn parse_exposition(text: &str) -> Vec<String> {
    let mut families = HashSet::new();
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(metric_name(name), "{line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap_or(""));
            assert!(metric_name(name), "{line}");
            assert!(
                ["counter", "gauge", "summary", "histogram", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(families.insert(name.to_owned()), "TYPE twice: {line}");
        } else {
            assert!(!line.starts_with('#'), "unknown comment: {line}");
            let name_end = line.find(['{', ' ']).unwrap_or(line.len());
            let name = &line[..name_end];
            assert!(metric_name(name), "{line}");
            let rest = if line[name_end..].starts_with('{') {
                labels(&line[name_end..]).unwrap_or_else(|e| panic!("{e}: {line}"))
            } else {
                &line[name_end..]
            };
            let mut fields = rest.trim_start_matches(' ').split(' ');
            let value = fields.next().unwrap_or("");
            assert!(
                value.parse::<f64>().is_ok() || ["NaN", "+Inf", "-Inf"].contains(&value),
                "bad value: {line}"
            );
            if let Some(ts) = fields.next() {
                assert!(ts.parse::<i64>().is_ok(), "bad timestamp: {line}");
            }
            let family = ["_sum", "_count", "_bucket"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| families.contains(*f)))
                .unwrap_or(name);
            assert!(families.contains(family), "sample before its TYPE: {line}");
            samples.push(name.to_owned());
        }
    }
    samples
}

#[test]
fn metrics_and_health_from_a_live_pool() {
    let db = Cluster::shared().database().unwrap();
    runtime().block_on(async {
        let pool = Pool::new(metrics::pool_config(&db.url(), 2, "cli \"test\"").unwrap()).unwrap();
        let n: i32 = pool.query_scalar("SELECT 41 + 1", &[]).await.unwrap();
        assert_eq!(n, 42);

        let r = metrics::respond(&pool, get("/metrics")).await;
        assert_eq!(r.status, 200);
        assert!(r.content_type.starts_with("text/plain; version=0.0.4"));
        let names = parse_exposition(&r.body);
        assert!(
            names.iter().any(|n| n == "tusk_pool_connections"),
            "{}",
            r.body
        );
        assert!(
            names
                .iter()
                .any(|n| n == "tusk_pool_query_duration_seconds_bucket"),
            "latencies are bucketed histograms: {}",
            r.body
        );
        assert!(
            r.body.contains("pool=\"cli \\\"test\\\"\""),
            "the pool's name, escaped, labels every series: {}",
            r.body
        );

        let r = metrics::respond(&pool, get("/health")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.content_type, "application/json");
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert!(
            ["ok", "degraded"].contains(&v["status"].as_str().unwrap()),
            "{v}"
        );
        assert_eq!(v["probe"]["ok"], true, "{v}");
        assert_eq!(v["pool"]["max_size"], 2);
        assert_eq!(v["pool"]["name"], "cli \"test\"");
        assert!(v["reasons"].is_array());

        for (method, path, status) in [
            (Method::GET, "/nope", 404),
            (Method::DELETE, "/metrics", 405),
        ] {
            let route = http::route(&method, path);
            assert_eq!(
                metrics::respond(&pool, metrics::Request { route })
                    .await
                    .status,
                status
            );
        }
        pool.close(std::time::Duration::from_secs(2)).await;
    });
}

#[test]
fn a_pool_that_cannot_connect_is_down() {
    // Nothing listens on port 1 of the loopback interface.
    let url = "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2";
    runtime().block_on(async {
        let pool = Pool::new(metrics::pool_config(url, 1, "down").unwrap()).unwrap();
        let r = metrics::respond(&pool, get("/health")).await;
        assert_eq!(r.status, 503, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["status"], "down");
        assert_eq!(v["probe"]["ok"], false);
        assert!(v["probe"]["error"].is_string());
        // /metrics still answers: the pool's counters say what went wrong.
        let r = metrics::respond(&pool, get("/metrics")).await;
        assert_eq!(r.status, 200);
        parse_exposition(&r.body);
    });
}

/// A routed `GET` of `path`.
fn get(path: &str) -> metrics::Request {
    metrics::Request {
        route: http::route(&Method::GET, path),
    }
}

/// The `tusk metrics` child; killed when dropped, so a failed assertion
/// leaves no server behind.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `request` raw and returns the whole response.
fn http_request(addr: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Splits a response into its status line, headers and body, checking
/// that Content-Length matches the body.
fn split(response: &str) -> (&str, &str, &str) {
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let (status, headers) = head.split_once("\r\n").unwrap();
    let len: usize = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(len, body.len(), "{response}");
    (status, headers, body)
}

#[test]
fn the_binary_serves_over_tcp() {
    let db = Cluster::shared().database().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args(["metrics", "--serve", "127.0.0.1:0", "--url", &db.url()])
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "first line: {line:?}");

    let r = http_request(
        &addr,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nConnection: close\r\n\r\n",
    );
    let (status, headers, body) = split(&r);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4"),
        "{headers}"
    );
    assert!(!parse_exposition(body).is_empty());

    let r = http_request(
        &addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let (status, _, body) = split(&r);
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["probe"]["ok"], true);

    let r = http_request(&addr, b"HEAD /health HTTP/1.1\r\nConnection: close\r\n\r\n");
    let (head, body) = r.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200 OK") && body.is_empty(),
        "{r}"
    );

    // Keep-alive: two requests on one connection, two responses.
    let r = http_request(
        &addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{r}");

    let r = http_request(
        &addr,
        b"GET /favicon.ico HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"), "{r}");
    let r = http_request(
        &addr,
        b"DELETE /metrics HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{r}");
    assert!(r.contains("allow: GET, HEAD\r\n"), "{r}");
    let r = http_request(&addr, b"hello\n\n");
    assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{r}");
    // A TLS ClientHello sent to the plain-text port.
    let r = http_request(
        &addr,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{r}");
    let r = http_request(&addr, &[b'A'; 10_000]);
    assert!(r.starts_with("HTTP/1.1 431 "), "{r}");

    // Still serving after all that; an HTTP/1.0 client gets an HTTP/1.0
    // answer and the connection closed.
    let r = http_request(&addr, b"GET /metrics HTTP/1.0\r\n\r\n");
    assert!(r.starts_with("HTTP/1.0 200 OK\r\n"), "{r}");
    assert!(server.0.try_wait().unwrap().is_none());
}

#[test]
fn a_wrong_url_fails_before_serving() {
    let (code, out, err) = common::binary(
        &[
            "metrics",
            "--serve",
            "127.0.0.1:0",
            "--url",
            "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2",
        ],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "");
    assert!(err.starts_with("tusk: "), "{err}");
}
