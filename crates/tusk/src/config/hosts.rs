//! The hosts to try: [`Config::targets`] pairs each host with its address and
//! port and applies the defaults.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::{Config, ConfigError, DEFAULT_PORT};

/// Where to connect: a TCP host or a unix socket directory.
///
/// Parsed as libpq reads a `host` entry: a path starting with `/` (or `@`) is
/// a socket directory, anything else a host name or IP address.
///
/// ```
/// use tusk::config::Host;
/// assert_eq!("/tmp".parse::<Host>()?, Host::Unix("/tmp".into()));
/// assert_eq!("db".parse::<Host>()?, Host::Tcp("db".into()));
/// # Ok::<(), tusk::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Host {
    /// A host name or IP address, as written (IPv6 without brackets).
    Tcp(String),
    /// A unix socket directory; the socket is `<dir>/.s.PGSQL.<port>`. A path
    /// starting with `@` is in Linux's abstract namespace.
    Unix(PathBuf),
}

impl Host {
    /// `/…` and `@…` are socket directories, as in libpq; anything else is TCP.
    fn from_entry(entry: &str) -> Host {
        if entry.starts_with('/') || entry.starts_with('@') {
            Host::Unix(PathBuf::from(entry))
        } else {
            Host::Tcp(entry.to_owned())
        }
    }
}

impl FromStr for Host {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Host, ConfigError> {
        match s.trim() {
            "" => Err(ConfigError::invalid_value(
                "host",
                s,
                "expected a host name, IP address or socket directory",
            )),
            entry => Ok(Host::from_entry(entry)),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Tcp(name) => f.write_str(name),
            Host::Unix(dir) => write!(f, "{}", dir.display()),
        }
    }
}

/// One server to try: the host, the numeric address to use instead of
/// resolving it (from `hostaddr`), and the port.
///
/// When `hostaddr` is set, connect to it over TCP, and use `host` for TLS
/// verification and the password file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The host.
    pub host: Host,
    /// The address to connect to instead of resolving `host`.
    pub hostaddr: Option<IpAddr>,
    /// The TCP port, or the number in the unix socket's name.
    pub port: u16,
}

impl Target {
    /// The unix socket file, `<dir>/.s.PGSQL.<port>`, for a unix-socket target
    /// without a `hostaddr`.
    pub fn socket_path(&self) -> Option<PathBuf> {
        match (&self.host, self.hostaddr) {
            (Host::Unix(dir), None) => Some(dir.join(format!(".s.PGSQL.{}", self.port))),
            _ => None,
        }
    }
}

/// Names the target for messages: `db1:5432`, `[::1]:5432`, or the socket path.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = self.socket_path() {
            return write!(f, "{}", path.display());
        }
        match (&self.host, self.hostaddr) {
            (Host::Tcp(name), None) if name.contains(':') => write!(f, "[{name}]:{}", self.port),
            (host, None) => write!(f, "{host}:{}", self.port),
            (host, Some(IpAddr::V6(addr))) => write!(f, "{host} ([{addr}]:{})", self.port),
            (host, Some(addr)) => write!(f, "{host} ({addr}:{})", self.port),
        }
    }
}

/// The unix socket directory used when no host is given: `/var/run/postgresql`
/// (Debian's and Ubuntu's build of libpq) if it exists, else `/tmp`
/// (PostgreSQL's own default).
pub fn default_socket_dir() -> PathBuf {
    let debian = Path::new("/var/run/postgresql");
    if debian.is_dir() {
        debian.to_owned()
    } else {
        PathBuf::from("/tmp")
    }
}

impl Config {
    /// The servers to try, in order, with defaults applied: no host means the
    /// unix socket in [`default_socket_dir`], no port means 5432. Hosts are in
    /// the order given even with `load_balance_hosts=random` (the connector
    /// shuffles).
    ///
    /// Errors if the lists do not line up: `hostaddr` must have one entry per
    /// host, `port` one for all or one per host.
    pub fn targets(&self) -> Result<Vec<Target>, ConfigError> {
        self.targets_with(&default_socket_dir())
    }

    /// [`Config::targets`] with `socket_dir` as the default host.
    pub(crate) fn targets_with(&self, socket_dir: &Path) -> Result<Vec<Target>, ConfigError> {
        self.check(true)?;
        let hosts = self.hosts();
        let addrs = self.hostaddrs();
        let ports = self.ports();
        let count = self.target_count().unwrap_or(1);
        let targets = (0..count)
            .map(|i| {
                let entry = hosts.get(i).map_or("", String::as_str);
                let hostaddr = addrs.get(i).copied().flatten();
                let host = match (entry, hostaddr) {
                    ("", Some(addr)) => Host::Tcp(addr.to_string()),
                    ("", None) => Host::Unix(socket_dir.to_owned()),
                    (entry, _) => Host::from_entry(entry),
                };
                let port = match ports {
                    [] => DEFAULT_PORT,
                    [port] => *port,
                    ports => ports.get(i).copied().unwrap_or(DEFAULT_PORT),
                };
                Target {
                    host,
                    hostaddr,
                    port,
                }
            })
            .collect();
        Ok(targets)
    }

    /// How many targets the host lists describe, if they are set at all:
    /// the `hostaddr` count if there are any, else the `host` count, at least 1.
    pub(super) fn target_count(&self) -> Option<usize> {
        if self.host.is_none() && self.hostaddr.is_none() {
            return None;
        }
        let addrs = self.hostaddrs().len();
        let hosts = self.hosts().len();
        Some(if addrs > 0 { addrs } else { hosts.max(1) })
    }
}
