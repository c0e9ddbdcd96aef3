//! The template data directory: `initdb` runs once and every new cluster is a
//! copy of its result, which is what makes extra clusters start fast.
//!
//! The template is cached under the temporary directory, keyed by the server
//! version and this layout's version, so later test binaries (and later runs)
//! skip `initdb` too. It is built in a private directory and renamed into
//! place, so concurrent processes never see half a template.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

use crate::conf::TUSK_CONF;
use crate::env::{command_error, describe, env, random_hex, run, Env};
use crate::error::{Error, Result};

/// The database every `Cluster::database()` is cloned from.
pub(crate) const TEMPLATE_DB: &str = "tusk_template";

/// Bump when the template's contents change, so stale caches are not used.
const LAYOUT_VERSION: u32 = 1;

/// The file whose presence marks a complete template.
const MARKER: &str = "tusk-template-complete";

static TEMPLATE: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();

/// The template data directory, made on first use.
pub(crate) fn template() -> Result<&'static Path> {
    let env = env()?;
    match TEMPLATE.get_or_init(|| build_or_reuse(env).map_err(|e| e.to_string())) {
        Ok(path) => Ok(path),
        Err(message) => Err(Error::Environment(format!(
            "the template data directory (initdb) could not be made: {message}"
        ))),
    }
}

fn build_or_reuse(env: &Env) -> Result<PathBuf> {
    let version = run(env.server_command(env.bin("postgres")).arg("--version"))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let key = fnv1a(&format!(
        "{LAYOUT_VERSION}|{}|{version}|{:?}",
        env.bindir.display(),
        env.run_as
    ));
    let cached = env.tmp.join(format!("tusk-testkit-template-{key:016x}"));
    if cached.join(MARKER).is_file() {
        return Ok(cached);
    }
    let building = env.tmp.join(format!(
        "tusk-testkit-template-{key:016x}.{}",
        random_hex(6)
    ));
    let result = build(env, &building).and_then(|()| {
        match fs::rename(&building, &cached) {
            Ok(()) => Ok(()),
            // Another process won the race: use its template.
            Err(_) if cached.join(MARKER).is_file() => Ok(()),
            Err(e) => Err(Error::io(
                format!("renaming {} to {}", building.display(), cached.display()),
                e,
            )),
        }
    });
    if building.exists() {
        let _ = fs::remove_dir_all(&building);
    }
    result.map(|()| cached)
}

fn build(env: &Env, dir: &Path) -> Result<()> {
    run(env
        .server_command(env.bin("initdb"))
        .arg("-D")
        .arg(dir)
        .args([
            "--no-sync",
            "--username=postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ]))?;
    let conf = dir.join("postgresql.conf");
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(&conf)
        .map_err(|e| Error::io(format!("opening {}", conf.display()), e))?;
    writeln!(file, "\ninclude_if_exists = '{TUSK_CONF}'")
        .map_err(|e| Error::io(format!("appending to {}", conf.display()), e))?;
    single_user(
        env,
        dir,
        &format!("CREATE DATABASE {TEMPLATE_DB} IS_TEMPLATE true;\n"),
    )?;
    env.write_file(&dir.join(MARKER), b"ok\n", 0o600)
}

/// Runs SQL in single-user mode, with no server and no port.
fn single_user(env: &Env, dir: &Path, sql: &str) -> Result<()> {
    let mut cmd = env.server_command(env.bin("postgres"));
    cmd.arg("--single")
        .arg("-D")
        .arg(dir)
        .args(["-F", "-c", "exit_on_error=on", "postgres"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io(format!("running {}", describe(&cmd)), e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(sql.as_bytes())
            .map_err(|e| Error::io("writing to single-user postgres", e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io(format!("waiting for {}", describe(&cmd)), e))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || stderr.contains("ERROR:") || stderr.contains("FATAL:") {
        return Err(command_error(&cmd, out.status, &out.stdout, &out.stderr));
    }
    Ok(())
}

/// 64-bit FNV-1a: a hash that stays the same across Rust releases.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn fnv_is_stable() {
        assert_eq!(super::fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
