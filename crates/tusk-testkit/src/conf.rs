//! The text of the configuration files a cluster is given: pure functions,
//! tested without a server.

use std::path::Path;

use crate::error::{Error, Result};

/// The file (inside the data directory) that the template's
/// postgresql.conf includes, rewritten at every start.
pub(crate) const TUSK_CONF: &str = "tusk.conf";

/// Server certificate, key and CA paths, when TLS is on.
pub(crate) struct TlsFiles<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
    pub ca: &'a Path,
}

/// The settings every cluster gets, then the caller's (later lines win).
pub(crate) fn tusk_conf(
    port: u16,
    socket_dir: &Path,
    tls: Option<&TlsFiles<'_>>,
    extra: &[(String, String)],
) -> String {
    let mut lines = vec![
        "# Written by tusk-testkit at every start; edits are lost.".to_owned(),
        setting("listen_addresses", "127.0.0.1"),
        format!("port = {port}"),
        setting("unix_socket_directories", &socket_dir.display().to_string()),
        setting("fsync", "off"),
        setting("synchronous_commit", "off"),
        setting("full_page_writes", "off"),
        setting("max_connections", "200"),
        setting("shared_buffers", "128MB"),
        setting("logging_collector", "off"),
    ];
    match tls {
        Some(files) => {
            lines.push(setting("ssl", "on"));
            lines.push(setting("ssl_cert_file", &files.cert.display().to_string()));
            lines.push(setting("ssl_key_file", &files.key.display().to_string()));
            lines.push(setting("ssl_ca_file", &files.ca.display().to_string()));
        }
        None => lines.push(setting("ssl", "off")),
    }
    lines.extend(extra.iter().map(|(key, value)| setting(key, value)));
    lines.push(String::new());
    lines.join("\n")
}

/// One `key = 'value'` line, with the value quoted for postgresql.conf.
pub(crate) fn setting(key: &str, value: &str) -> String {
    format!(
        "{key} = '{}'",
        value.replace('\\', "\\\\").replace('\'', "''")
    )
}

/// Checks a setting name the caller passed, so that it cannot smuggle in
/// other lines.
pub(crate) fn check_setting(key: &str, value: &str) -> Result<()> {
    let key_ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !key_ok {
        return Err(Error::InvalidArgument(format!(
            "setting name {key:?}: use letters, digits, '_' and '.' only"
        )));
    }
    if value.contains(['\n', '\r']) {
        return Err(Error::InvalidArgument(format!(
            "value of setting {key} contains a line break"
        )));
    }
    Ok(())
}

/// The default pg_hba.conf: everyone trusted over the socket and loopback.
pub(crate) fn default_hba() -> Vec<String> {
    [
        "local all all trust",
        "host all all 127.0.0.1/32 trust",
        "host all all ::1/128 trust",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// pg_hba.conf text from lines.
pub(crate) fn hba_text(lines: &[String]) -> String {
    let mut text = String::from("# Written by tusk-testkit at every start; edits are lost.\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// `name` quoted as an SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `value` quoted as an SQL string literal (standard_conforming_strings on).
pub(crate) fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Percent-encodes everything but unreserved characters and `/`, for the
/// parts of a connection URL.
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn settings_are_quoted_and_callers_come_last() {
        let conf = tusk_conf(
            5433,
            Path::new("/tmp/s"),
            None,
            &[("work_mem".into(), "it's".into())],
        );
        assert!(conf.contains("port = 5433\n"));
        assert!(conf.contains("unix_socket_directories = '/tmp/s'\n"));
        assert!(conf.contains("ssl = 'off'\n"));
        assert!(conf.trim_end().ends_with("work_mem = 'it''s'"));
    }

    #[test]
    fn tls_files_are_named() {
        let (cert, key, ca) = (
            PathBuf::from("/t/s.crt"),
            PathBuf::from("/t/s.key"),
            PathBuf::from("/t/ca.crt"),
        );
        let files = TlsFiles {
            cert: &cert,
            key: &key,
            ca: &ca,
        };
        let conf = tusk_conf(1, Path::new("/s"), Some(&files), &[]);
        assert!(conf.contains("ssl = 'on'"));
        assert!(conf.contains("ssl_ca_file = '/t/ca.crt'"));
    }

    #[test]
    fn setting_names_cannot_inject_lines() {
        assert!(check_setting("log_statement", "all").is_ok());
        assert!(check_setting("auto_explain.log_min_duration", "0").is_ok());
        assert!(check_setting("a = 1\nb", "x").is_err());
        assert!(check_setting("a", "x\nssl = off").is_err());
        assert!(check_setting("", "x").is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("o'k"), "'o''k'");
        assert_eq!(url_encode("/tmp/a b"), "/tmp/a%20b");
    }
}
