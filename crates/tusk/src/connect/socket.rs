//! Opening the TCP or unix socket.

use std::net::{IpAddr, SocketAddr};

use crate::cancel::CancelAddr;
use crate::config::{Config, Host, Target};
use crate::error::{Error, ErrorKind};
use crate::io::Sock;

/// Opens the socket for `t`: returns it, the address for cancel requests,
/// and the host name for TLS verification.
pub(crate) async fn open(config: &Config, t: &Target) -> Result<(Sock, CancelAddr, String), Error> {
    if let Some(path) = t.socket_path() {
        let s = tokio::net::UnixStream::connect(&path)
            .await
            .map_err(|e| Error::io(&format!("cannot connect to {}", path.display()), e))?;
        if let Some(want) = config.require_peer() {
            let uid = s
                .peer_cred()
                .map_err(|e| Error::io("cannot read the server's peer credentials", e))?
                .uid();
            let got = crate::config::user_name_of(uid).unwrap_or_else(|| uid.to_string());
            if got != want {
                return Err(Error::new(
                    ErrorKind::Permission,
                    format!("requirepeer: the server runs as {got:?}, not {want:?}"),
                ));
            }
        }
        let s = s
            .into_std()
            .map_err(|e| Error::io("socket setup failed", e))?;
        return Ok((Sock::Unix(s), CancelAddr::Unix(path), "localhost".into()));
    }
    let host = match &t.host {
        Host::Tcp(h) => h.clone(),
        Host::Unix(d) => d.display().to_string(),
    };
    let addrs: Vec<SocketAddr> = match t.hostaddr {
        Some(ip) => vec![SocketAddr::new(ip, t.port)],
        None => match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, t.port)],
            Err(_) => tokio::net::lookup_host((host.as_str(), t.port))
                .await
                .map_err(|e| Error::io(&format!("cannot resolve host {host:?}"), e))?
                .collect(),
        },
    };
    let mut last = None;
    for addr in addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                let std = s
                    .into_std()
                    .map_err(|e| Error::io("socket setup failed", e))?;
                configure_tcp(config, &std);
                return Ok((Sock::Tcp(std), CancelAddr::Tcp(addr), host));
            }
            Err(e) => last = Some(Error::io(&format!("cannot connect to {addr}"), e)),
        }
    }
    Err(last.unwrap_or_else(|| {
        Error::new(
            ErrorKind::Connection,
            format!("host {host:?} has no address"),
        )
    }))
}

fn configure_tcp(config: &Config, s: &std::net::TcpStream) {
    let sock = socket2::SockRef::from(s);
    if config.keepalives() {
        let mut ka = socket2::TcpKeepalive::new();
        if let Some(d) = config.keepalives_idle() {
            ka = ka.with_time(d);
        }
        if let Some(d) = config.keepalives_interval() {
            ka = ka.with_interval(d);
        }
        if let Some(n) = config.keepalives_count() {
            ka = ka.with_retries(n);
        }
        if let Err(e) = sock.set_tcp_keepalive(&ka) {
            tracing::debug!(error = %e, "could not set TCP keepalives");
        }
    }
    if let Some(d) = config.tcp_user_timeout() {
        if let Err(e) = sock.set_tcp_user_timeout(Some(d)) {
            tracing::debug!(error = %e, "could not set TCP user timeout");
        }
    }
}
