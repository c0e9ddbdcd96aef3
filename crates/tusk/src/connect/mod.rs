//! Opening a connection: hosts, sockets, TLS, startup, authentication,
//! `target_session_attrs`.

mod auth;
mod embedded;
mod socket;
mod stream;

pub use embedded::{register_embedded, EmbeddedServe};
pub use stream::connect_in_process;

use bytes::BytesMut;
use parking_lot::Mutex;
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use std::collections::HashMap;
use std::sync::Arc;

use crate::cache::StatementCache;
use crate::cancel::CancelTarget;
use crate::config::{Config, ConfigError, LoadBalanceHosts, SslMode, Target, TargetSessionAttrs};
use crate::connection::Connection;
use crate::engine::{Shared, State};
use crate::error::{DbError, Error, ErrorKind};
use crate::io::{tls, Io};

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::with_source(ErrorKind::Configuration, "invalid configuration", e)
    }
}

/// Connects with a libpq-style URL or `key=value` string; unset options
/// come from the `PG*` environment variables, then libpq's defaults.
/// `lite:memory` and `lite:///path/to/dir` connect to a database embedded
/// in this process once an engine registered itself
/// ([`register_embedded`]; tusk-lite's `register()`).
///
/// ```no_run
/// # async fn f() -> Result<(), tusk::Error> {
/// let conn = tusk::connect("postgresql://app@localhost/app").await?;
/// # Ok(()) }
/// ```
pub async fn connect(url: &str) -> Result<Connection, Error> {
    if let Some(target) = url.strip_prefix(embedded::SCHEME) {
        return embedded::connect_embedded(target).await;
    }
    let config = Config::parse(url)?.with_env_defaults()?;
    connect_with(&config).await
}

/// Connects with a [`Config`].
pub async fn connect_with(config: &Config) -> Result<Connection, Error> {
    let mut targets = config.targets()?;
    if config.load_balance_hosts() == LoadBalanceHosts::Random {
        fastrand::shuffle(&mut targets);
    }
    let attrs = config.target_session_attrs();
    let passes: &[TargetSessionAttrs] = match attrs {
        TargetSessionAttrs::PreferStandby => {
            &[TargetSessionAttrs::Standby, TargetSessionAttrs::Any]
        }
        _ => std::slice::from_ref(&attrs),
    };
    let mut errors: Vec<(String, Error)> = Vec::new();
    for want in passes {
        for t in &targets {
            match connect_one(config, t).await {
                Ok(conn) => match session_matches(&conn, *want).await {
                    Ok(true) => return Ok(conn),
                    Ok(false) => {
                        errors.push((
                            t.to_string(),
                            Error::new(ErrorKind::Connection, format!("server is not {want:?}")),
                        ));
                        let _ = conn.close().await;
                    }
                    Err(e) => errors.push((t.to_string(), e)),
                },
                Err(e) => {
                    if e.kind() == ErrorKind::Configuration {
                        return Err(e);
                    }
                    errors.push((t.to_string(), e));
                }
            }
        }
    }
    if errors.len() == 1 {
        if let Some((_, e)) = errors.pop() {
            return Err(e);
        }
    }
    let kind = errors
        .first()
        .map(|(_, e)| e.kind())
        .unwrap_or(ErrorKind::Connection);
    let all_same = errors.iter().all(|(_, e)| e.kind() == kind);
    let detail: Vec<String> = errors.iter().map(|(t, e)| format!("{t}: {e}")).collect();
    Err(Error::new(
        if all_same {
            kind
        } else {
            ErrorKind::Connection
        },
        format!("could not connect to any host: {}", detail.join("; ")),
    ))
}

async fn session_matches(conn: &Connection, want: TargetSessionAttrs) -> Result<bool, Error> {
    if want == TargetSessionAttrs::Any {
        return Ok(true);
    }
    let param = |name: &str| conn.parameter(name);
    let standby = match param("in_hot_standby") {
        Some(v) => v == "on",
        None => {
            let v: bool =
                crate::Executor::query_scalar(conn, "SELECT pg_is_in_recovery()", &[]).await?;
            v
        }
    };
    let read_only = match param("default_transaction_read_only") {
        Some(v) => v == "on",
        None => {
            let msgs = crate::Executor::simple_query(conn, "SHOW transaction_read_only").await?;
            msgs.iter().any(|m| match m {
                crate::SimpleQueryMessage::Row(r) => {
                    r.get_text(0usize).ok().flatten() == Some("on")
                }
                _ => false,
            })
        }
    };
    Ok(match want {
        TargetSessionAttrs::ReadWrite => !standby && !read_only,
        TargetSessionAttrs::ReadOnly => standby || read_only,
        TargetSessionAttrs::Primary => !standby,
        TargetSessionAttrs::Standby => standby,
        _ => true,
    })
}

async fn connect_one(config: &Config, t: &Target) -> Result<Connection, Error> {
    let mode = config.ssl_mode();
    if mode == SslMode::Allow {
        // libpq's `allow`: plaintext first; if the server refuses, TLS.
        match connect_timed(config, t, SslMode::Disable).await {
            Err(e) if e.as_db_error().is_some() => {
                return connect_timed(config, t, SslMode::Require).await
            }
            other => return other,
        }
    }
    connect_timed(config, t, mode).await
}

async fn connect_timed(config: &Config, t: &Target, mode: SslMode) -> Result<Connection, Error> {
    let fut = connect_inner(config, t, mode);
    match config.connect_timeout() {
        Some(limit) => match tokio::time::timeout(limit, fut).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("connecting to {t} timed out after {limit:?}"),
            )),
        },
        None => fut.await,
    }
}

/// Existing file under `~/.postgresql/`.
fn default_file(name: &str) -> Option<std::path::PathBuf> {
    let p = crate::config::home()?.join(".postgresql").join(name);
    p.is_file().then_some(p)
}

/// TLS settings from `sslmode` and the certificate options, with libpq's
/// defaults: `~/.postgresql/root.crt` as the root certificate (and with
/// one, `require` verifies the chain like `verify-ca`), and
/// `~/.postgresql/postgresql.{crt,key}` as the client certificate.
fn tls_params(config: &Config, mode: SslMode) -> Result<tls::TlsParams, Error> {
    let system = config.ssl_root_cert_is_system();
    let root = if system {
        None
    } else {
        config
            .ssl_root_cert()
            .map(|p| p.to_path_buf())
            .or_else(|| default_file("root.crt"))
    };
    let verify = match mode {
        SslMode::VerifyFull => tls::Verify::Full,
        SslMode::VerifyCa => tls::Verify::Chain,
        SslMode::Require if root.is_some() => tls::Verify::Chain,
        _ => tls::Verify::None,
    };
    if verify != tls::Verify::None && root.is_none() && !system {
        return Err(Error::config(format!(
            "sslmode={mode} verifies the server certificate but there is no root certificate: \
             set sslrootcert=<file>, or sslrootcert=system for the system's trusted roots \
             (~/.postgresql/root.crt does not exist)"
        )));
    }
    let (client_cert, client_key) = match (config.ssl_cert(), config.ssl_key()) {
        (None, None) => match (
            default_file("postgresql.crt"),
            default_file("postgresql.key"),
        ) {
            (Some(c), Some(k)) => (Some(c), Some(k)),
            _ => (None, None),
        },
        (c, k) => (c.map(|p| p.to_path_buf()), k.map(|p| p.to_path_buf())),
    };
    let mut crls: Vec<std::path::PathBuf> = config.ssl_crl().map(Into::into).into_iter().collect();
    if let Some(dir) = config.ssl_crl_dir() {
        // Every file of the directory (libpq reads OpenSSL's hashed names;
        // any file holding PEM CRLs does here).
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::config(format!("cannot read sslcrldir {}: {e}", dir.display())))?;
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        crls.extend(files);
    }
    Ok(tls::TlsParams {
        verify,
        root_cert: root,
        client_cert,
        client_key,
        crls,
        cert_mode: config.ssl_cert_mode(),
        min_version: config.ssl_min_protocol_version(),
        max_version: config.ssl_max_protocol_version(),
        alpn: config.ssl_negotiation() == crate::config::SslNegotiation::Direct,
    })
}

/// The TLS handshake on `io` (after the server agreed to TLS, or at once
/// with `sslnegotiation=direct`), and the checks `sslcertmode=require` and
/// direct negotiation ask for after it.
async fn start_tls(
    io: &mut Io,
    params: &tls::TlsParams,
    tls_host: &str,
    t: &Target,
) -> Result<(), Error> {
    let tls = tls::client_config(params)?;
    let name = tls::server_name(tls_host)?;
    let conn = rustls::ClientConnection::new(tls.config, name)
        .map_err(|e| Error::with_source(ErrorKind::Connection, "TLS setup failed", e))?;
    io.set_tls(conn);
    if let Err(e) = io.tls_handshake().await {
        let msg = if params.alpn {
            format!(
                "TLS handshake with {t} failed with sslnegotiation=direct: the server did not \
                 answer a TLS handshake sent without an SSLRequest; direct TLS negotiation needs \
                 PostgreSQL 17 or later (use sslnegotiation=postgres for older servers)"
            )
        } else {
            format!("TLS handshake with {t} failed")
        };
        return Err(Error::with_source(ErrorKind::Connection, msg, e));
    }
    if params.alpn && io.tls().and_then(|c| c.alpn_protocol()) != Some(&b"postgresql"[..]) {
        return Err(Error::new(
            ErrorKind::Connection,
            format!(
                "server {t} accepted a direct TLS connection without negotiating the \
                 `postgresql` ALPN protocol; refusing it (sslnegotiation=direct)"
            ),
        ));
    }
    if let Some(asked) = tls.cert_requested {
        if !asked.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::new(
                ErrorKind::Connection,
                format!(
                    "server {t} did not ask for a client certificate, but sslcertmode=require \
                     requires sending one"
                ),
            ));
        }
    }
    Ok(())
}

async fn connect_inner(config: &Config, t: &Target, mode: SslMode) -> Result<Connection, Error> {
    let (sock, addr, tls_host) = socket::open(config, t).await?;
    let is_tcp = matches!(sock, crate::io::Sock::Tcp(_));
    let mut io = Io::new(sock).map_err(|e| Error::io("registering the socket failed", e))?;
    let direct = config.ssl_negotiation() == crate::config::SslNegotiation::Direct;
    if is_tcp && direct && mode.requires_tls() {
        // No SSLRequest: the TLS handshake starts at once (PostgreSQL 17).
        let params = tls_params(config, mode)?;
        Box::pin(start_tls(&mut io, &params, &tls_host, t)).await?;
    } else if is_tcp && !matches!(mode, SslMode::Disable | SslMode::Allow) {
        let params = tls_params(config, mode)?;
        let mut buf = BytesMut::new();
        frontend::ssl_request(&mut buf);
        io.write_all(&mut buf)
            .await
            .map_err(|e| Error::io("sending SSLRequest failed", e))?;
        match io
            .read_byte_plain()
            .await
            .map_err(|e| Error::io("reading the SSLRequest answer failed", e))?
        {
            b'S' => Box::pin(start_tls(&mut io, &params, &tls_host, t)).await?,
            b'N' => {
                if mode.requires_tls() {
                    return Err(Error::new(
                        ErrorKind::Connection,
                        format!("server {t} does not support TLS, but sslmode={mode} requires it"),
                    ));
                }
            }
            other => {
                return Err(Error::protocol(format!(
                    "unexpected answer {other:#x} to SSLRequest"
                )));
            }
        }
    }

    let password = config.password_for(t);
    startup(config, io, addr, password).await
}

/// The startup packet, authentication and the server's parameters, on a
/// socket that is already open (and TLS-wrapped when asked for).
async fn startup(
    config: &Config,
    mut io: Io,
    addr: crate::cancel::CancelAddr,
    password: Option<String>,
) -> Result<Connection, Error> {
    let user = config.effective_user();
    let dbname = config
        .dbname()
        .map(str::to_string)
        .unwrap_or_else(|| user.clone());
    let mut startup: Vec<(&str, &str)> = vec![
        ("user", &user),
        ("database", &dbname),
        ("client_encoding", "UTF8"),
    ];
    let app = config
        .application_name()
        .or(config.fallback_application_name());
    if let Some(a) = app {
        startup.push(("application_name", a));
    }
    if let Some(o) = config.options() {
        startup.push(("options", o));
    }
    let mut buf = BytesMut::new();
    frontend::startup_message(startup.iter().copied(), &mut buf).map_err(|e| {
        Error::with_source(ErrorKind::Configuration, "invalid startup parameter", e)
    })?;
    io.write_all(&mut buf)
        .await
        .map_err(|e| Error::io("sending the startup message failed", e))?;

    let mut rbuf = BytesMut::with_capacity(8192);
    auth::authenticate(&mut io, &mut rbuf, config, &user, password.as_deref()).await?;

    let mut params = HashMap::new();
    let mut key = (0, 0);
    loop {
        match read_message(&mut io, &mut rbuf).await? {
            Message::BackendKeyData(b) => key = (b.process_id(), b.secret_key()),
            Message::ParameterStatus(b) => {
                if let (Ok(n), Ok(v)) = (b.name(), b.value()) {
                    params.insert(n.to_string(), v.to_string());
                }
            }
            Message::NoticeResponse(_) => {}
            Message::ReadyForQuery(_) => break,
            Message::ErrorResponse(b) => return Err(db_error(&mut b.fields())),
            _ => return Err(Error::protocol("unexpected message during startup")),
        }
    }
    let cache = StatementCache::new(
        config.statement_cache_capacity(),
        config.statement_cache_bytes(),
    );
    let mut state = State::new(io, rbuf, params, cache, config.pooler_mode());
    if !config.read_groups() {
        state.disable_read_groups();
    }
    let types_key = format!("{addr:?}/{dbname}");
    let shared = Arc::new(Shared {
        state: Mutex::new(state),
        cancel: CancelTarget {
            process_id: key.0,
            secret_key: key.1,
            addr,
            connect_timeout: config.connect_timeout(),
        },
    });
    // OIDs are per database: the registry keeps a cache per address and database.
    let types = config.type_registry().for_database(types_key);
    Ok(Connection::from_shared(shared, types))
}

pub(crate) fn db_error(fields: &mut postgres_protocol::message::backend::ErrorFields<'_>) -> Error {
    match DbError::parse(fields) {
        Ok(db) => Error::db(db),
        Err(e) => Error::with_source(ErrorKind::Protocol, "malformed error from the server", e),
    }
}

/// Reads one message during startup (no pipelining yet).
pub(crate) async fn read_message(io: &mut Io, rbuf: &mut BytesMut) -> Result<Message, Error> {
    loop {
        if rbuf.len() >= 5 {
            let len = u32::from_be_bytes([rbuf[1], rbuf[2], rbuf[3], rbuf[4]]) as usize;
            if !(4..=(1 << 24)).contains(&len) {
                return Err(Error::protocol(format!(
                    "invalid startup message length {len}"
                )));
            }
            if rbuf.len() > len {
                return match Message::parse(rbuf) {
                    Ok(Some(m)) => Ok(m),
                    Ok(None) => Err(Error::protocol("truncated message")),
                    Err(e) => Err(Error::with_source(
                        ErrorKind::Protocol,
                        "malformed message",
                        e,
                    )),
                };
            }
        }
        let n = io
            .read_some(rbuf)
            .await
            .map_err(|e| Error::io("reading from the server failed", e))?;
        if n == 0 {
            return Err(Error::new(
                ErrorKind::Connection,
                "the server closed the connection during startup",
            ));
        }
    }
}
