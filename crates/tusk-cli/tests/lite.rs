//! `tusk lite serve` and `--url lite:...` (built with `--features lite`;
//! scripts/test enables it).
#![cfg(feature = "lite")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use clap::Parser;

fn run(args: &[&str]) -> (u8, String) {
    let cli = tusk_cli::Cli::parse_from(std::iter::once("tusk").chain(args.iter().copied()));
    let mut out = Vec::new();
    let code = tusk_cli::run_with(
        cli,
        &tusk_cli::Context::default(),
        &mut out,
        &mut std::io::sink(),
    )
    .expect("command runs");
    (code, String::from_utf8(out).expect("utf-8"))
}

#[test]
fn query_with_a_lite_url() {
    let dir = std::env::temp_dir().join(format!("tusk-cli-lite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = format!("lite://{}", dir.display());
    run(&[
        "query",
        "--url",
        &url,
        "CREATE TABLE t (id int PRIMARY KEY, v text)",
    ]);
    run(&[
        "query",
        "--url",
        &url,
        "INSERT INTO t VALUES ($1, $2)",
        "1",
        "one",
    ]);
    let (code, out) = run(&["query", "--json", "--url", &url, "SELECT id, v FROM t"]);
    assert_eq!(code, 0);
    assert_eq!(out, "{\"id\":1,\"v\":\"one\"}\n");
    let (_, out) = run(&[
        "query",
        "--json",
        "--url",
        "lite:memory",
        "SELECT 40 + 2 AS n",
    ]);
    assert_eq!(out, "{\"n\":42}\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lite_serve_answers_postgresql_clients() {
    let dir = std::env::temp_dir().join(format!("tusk-cli-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args(["lite", "serve", "--data"])
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tusk lite serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the bound address");
    let addr = line.trim().rsplit(' ').next().expect("address").to_string();
    let port = addr.rsplit(':').next().expect("port");
    let url = format!("postgresql://app@127.0.0.1:{port}/app");
    let (code, out) = run(&[
        "query",
        "--json",
        "--url",
        &url,
        "SELECT $1::int * 2 AS n",
        "21",
    ]);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0);
    assert_eq!(out, "{\"n\":42}\n");
}

#[test]
fn lite_serve_with_a_password_file_requires_scram() {
    let dir = std::env::temp_dir().join(format!("tusk-cli-scram-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("passwords");
    std::fs::write(&file, "# users\napp:first:second\n\nops:x\n").expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args(["lite", "serve", "--data", "memory", "--password-file"])
        .arg(&file)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tusk lite serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the bound address");
    let port = line.trim().rsplit(':').next().expect("port").to_string();
    // The password is everything after the first colon.
    let url = |user: &str, password: &str| {
        format!("host=127.0.0.1 port={port} user={user} password='{password}' dbname=app")
    };
    let (code, out) = run(&[
        "query",
        "--json",
        "--url",
        &url("app", "first:second"),
        "SELECT current_user AS u",
    ]);
    let refused = Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args(["query", "--url", &url("app", "first"), "SELECT 1"])
        .output()
        .expect("tusk query");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0);
    assert_eq!(out, "{\"u\":\"app\"}\n");
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("password authentication failed for user \"app\""),
        "{err}"
    );
    assert!(!err.contains("first"), "the password is not echoed: {err}");
}

#[test]
fn a_bad_password_file_is_refused_without_echoing_it() {
    let dir = std::env::temp_dir().join(format!("tusk-cli-badpw-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    for (contents, why) in [
        (
            "app-without-a-password-s3cret\n",
            "line 1: expected user:password",
        ),
        ("# only comments\n\n", "no user:password line"),
    ] {
        let file = dir.join("passwords");
        std::fs::write(&file, contents).expect("write");
        let out = Command::new(env!("CARGO_BIN_EXE_tusk"))
            .args(["lite", "serve", "--data", "memory", "--password-file"])
            .arg(&file)
            .args(["--listen", "127.0.0.1:0"])
            .output()
            .expect("tusk lite serve");
        assert!(!out.status.success(), "{contents:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
