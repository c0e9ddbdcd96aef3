//! Helpers shared by the CLI's integration tests.
#![allow(dead_code)]

use clap::Parser;
use tusk_cli::{Cli, Context};

/// Runs `tusk <args>` through the library; returns (exit code, stdout, stderr).
pub fn tusk(args: &[&str]) -> (u8, String, String) {
    let mut argv = vec!["tusk"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(&argv).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = match tusk_cli::run_with(cli, &Context::default(), &mut out, &mut err) {
        Ok(code) => code,
        Err(e) => {
            err.extend_from_slice(format!("tusk: {e}\n").as_bytes());
            1
        }
    };
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// Runs the built `tusk` binary with `args`, without DATABASE_URL but
/// with `env`; returns (exit code, stdout, stderr).
pub fn binary(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args(args)
        .env_remove("DATABASE_URL")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs the built `tusk` binary with `args` and `stdin` written to its
/// standard input, without DATABASE_URL; returns (exit code, stdout,
/// stderr).
pub fn binary_with_stdin(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args(args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `tusk query --json --url <url> <sql> <params...>`: the output lines.
pub fn json_lines(url: &str, sql: &str, params: &[&str]) -> Vec<String> {
    let mut args = vec!["query", "--json", "--url", url, sql];
    args.extend_from_slice(params);
    let (code, out, err) = tusk(&args);
    assert_eq!(code, 0, "{sql}: {err}");
    out.lines().map(str::to_owned).collect()
}

/// The rows of `json_lines`, parsed.
pub fn json_rows(url: &str, sql: &str, params: &[&str]) -> Vec<serde_json::Value> {
    json_lines(url, sql, params)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// `url` with a session setting given through the `options` parameter.
pub fn with_setting(url: &str, name: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{sep}options=-c%20{name}%3D{}",
        value.replace('/', "%2F")
    )
}

/// This test binary's cluster, with the non-superuser login `role` (one
/// role per binary: the first call's role is the one made).
pub fn role_cluster(role: &str) -> &'static tusk_testkit::Cluster {
    static CLUSTER: std::sync::OnceLock<tusk_testkit::Cluster> = std::sync::OnceLock::new();
    CLUSTER.get_or_init(|| {
        let c = tusk_testkit::Cluster::builder().start().unwrap();
        c.psql("postgres", &format!("CREATE ROLE {role} LOGIN NOSUPERUSER"))
            .unwrap();
        c
    })
}

/// A fresh database on [`role_cluster`] where `role` may create schemas
/// and tables, and a URL that connects as `role`.
pub fn role_database(role: &str) -> (tusk_testkit::TestDb, String) {
    let db = role_cluster(role).database().unwrap();
    db.psql(&format!(
        "GRANT CREATE ON DATABASE \"{0}\" TO {role}; GRANT CREATE ON SCHEMA public TO {role};",
        db.name()
    ))
    .unwrap();
    let url = format!("postgresql://{role}@127.0.0.1:{}/{}", db.port(), db.name());
    (db, url)
}
