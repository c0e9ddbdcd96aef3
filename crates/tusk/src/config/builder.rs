//! Setters, in the style of tokio-postgres's `Config`: each takes `&mut self`
//! and returns it, so calls chain. `host`, `hostaddr` and `port` append to
//! their lists; the others replace.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::{
    keywords, ChannelBinding, Config, ConfigError, LoadBalanceHosts, RequireAuth, SslMode,
    SslNegotiation, TargetSessionAttrs,
};

fn secs(d: Duration) -> u32 {
    // Round a fraction of a second up, so a small timeout never becomes "none".
    let whole = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    u32::try_from(whole).unwrap_or(u32::MAX)
}

impl Config {
    /// Sets `key` to `value`, exactly as the same pair in a connection string.
    ///
    /// ```
    /// let mut config = tusk::config::Config::new();
    /// config.set("sslmode", "require")?.set("port", "5433")?;
    /// assert!(config.set("sslmode", "maybe").is_err());
    /// # Ok::<(), tusk::config::ConfigError>(())
    /// ```
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut Config, ConfigError> {
        keywords::set(self, key, value)?;
        Ok(self)
    }

    /// Adds a host: a name or IP address, or a unix socket directory (a path
    /// starting with `/`, or `@` for Linux's abstract namespace). Read them
    /// with [`hosts`](Config::hosts).
    pub fn add_host(&mut self, host: &str) -> &mut Config {
        self.host.get_or_insert_with(Vec::new).push(host.to_owned());
        self
    }

    /// Adds a numeric address for the host in the same position. Read them
    /// with [`hostaddrs`](Config::hostaddrs).
    pub fn add_hostaddr(&mut self, addr: IpAddr) -> &mut Config {
        self.hostaddr.get_or_insert_with(Vec::new).push(Some(addr));
        self
    }

    /// Adds a port: one for all hosts, or one per host. Read them with
    /// [`ports`](Config::ports).
    pub fn add_port(&mut self, port: u16) -> &mut Config {
        self.port.get_or_insert_with(Vec::new).push(port);
        self
    }

    /// The old name of [`add_host`](Config::add_host).
    #[deprecated(since = "0.1.0", note = "renamed to `add_host`: it appends")]
    pub fn host(&mut self, host: &str) -> &mut Config {
        self.add_host(host)
    }

    /// The old name of [`add_hostaddr`](Config::add_hostaddr).
    #[deprecated(since = "0.1.0", note = "renamed to `add_hostaddr`: it appends")]
    pub fn hostaddr(&mut self, addr: IpAddr) -> &mut Config {
        self.add_hostaddr(addr)
    }

    /// The old name of [`add_port`](Config::add_port).
    #[deprecated(since = "0.1.0", note = "renamed to `add_port`: it appends")]
    pub fn port(&mut self, port: u16) -> &mut Config {
        self.add_port(port)
    }

    /// Sets the role name.
    pub fn set_user(&mut self, user: &str) -> &mut Config {
        self.user = Some(user.to_owned());
        self
    }

    /// Sets the password.
    pub fn set_password(&mut self, password: &str) -> &mut Config {
        self.password = Some(password.to_owned());
        self
    }

    /// Sets the password file.
    pub fn set_passfile(&mut self, path: impl AsRef<Path>) -> &mut Config {
        self.passfile = Some(path.as_ref().to_owned());
        self
    }

    /// Sets the database name.
    pub fn set_dbname(&mut self, dbname: &str) -> &mut Config {
        self.dbname = Some(dbname.to_owned());
        self
    }

    /// Sets the server command-line options, e.g. `-c search_path=app`.
    pub fn set_options(&mut self, options: &str) -> &mut Config {
        self.options = Some(options.to_owned());
        self
    }

    /// Sets `application_name`.
    pub fn set_application_name(&mut self, name: &str) -> &mut Config {
        self.application_name = Some(name.to_owned());
        self
    }

    /// Sets `fallback_application_name`.
    pub fn set_fallback_application_name(&mut self, name: &str) -> &mut Config {
        self.fallback_application_name = Some(name.to_owned());
        self
    }

    /// Sets the per-host connect timeout, in whole seconds (rounded up);
    /// zero waits indefinitely.
    pub fn set_connect_timeout(&mut self, timeout: Duration) -> &mut Config {
        self.connect_timeout = Some(secs(timeout));
        self
    }

    /// Turns TCP keepalives on or off.
    pub fn set_keepalives(&mut self, on: bool) -> &mut Config {
        self.keepalives = Some(on);
        self
    }

    /// Sets the idle time before the first keepalive (whole seconds, rounded up).
    pub fn set_keepalives_idle(&mut self, idle: Duration) -> &mut Config {
        self.keepalives_idle = Some(secs(idle));
        self
    }

    /// Sets the time between keepalives (whole seconds, rounded up).
    pub fn set_keepalives_interval(&mut self, interval: Duration) -> &mut Config {
        self.keepalives_interval = Some(secs(interval));
        self
    }

    /// Sets the number of unanswered keepalives before the connection is dead.
    pub fn set_keepalives_count(&mut self, count: u32) -> &mut Config {
        self.keepalives_count = Some(count);
        self
    }

    /// Sets `TCP_USER_TIMEOUT` (whole milliseconds).
    pub fn set_tcp_user_timeout(&mut self, timeout: Duration) -> &mut Config {
        self.tcp_user_timeout = Some(u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX));
        self
    }

    /// Sets the TLS mode.
    pub fn set_ssl_mode(&mut self, mode: SslMode) -> &mut Config {
        self.sslmode = Some(mode);
        self
    }

    /// Sets how TLS is negotiated.
    pub fn set_ssl_negotiation(&mut self, negotiation: SslNegotiation) -> &mut Config {
        self.sslnegotiation = Some(negotiation);
        self
    }

    /// Sets the root certificate file (`system` for the OS store).
    pub fn set_ssl_root_cert(&mut self, path: impl AsRef<Path>) -> &mut Config {
        self.sslrootcert = Some(path.as_ref().to_owned());
        self
    }

    /// Sets the client certificate file.
    pub fn set_ssl_cert(&mut self, path: impl AsRef<Path>) -> &mut Config {
        self.sslcert = Some(path.as_ref().to_owned());
        self
    }

    /// Sets the client key file.
    pub fn set_ssl_key(&mut self, path: impl AsRef<Path>) -> &mut Config {
        self.sslkey = Some(path.as_ref().to_owned());
        self
    }

    /// Sets SCRAM channel binding.
    pub fn set_channel_binding(&mut self, binding: ChannelBinding) -> &mut Config {
        self.channel_binding = Some(binding);
        self
    }

    /// Sets which kind of server a connection must reach.
    pub fn set_target_session_attrs(&mut self, attrs: TargetSessionAttrs) -> &mut Config {
        self.target_session_attrs = Some(attrs);
        self
    }

    /// Sets the order in which hosts are tried.
    pub fn set_load_balance_hosts(&mut self, mode: LoadBalanceHosts) -> &mut Config {
        self.load_balance_hosts = Some(mode);
        self
    }

    /// Restricts the authentication methods the server may use.
    pub fn set_require_auth(&mut self, require: RequireAuth) -> &mut Config {
        self.require_auth = Some(require);
        self
    }

    /// tusk: sets the number of prepared statements cached per connection (0: no cache).
    pub fn set_statement_cache_capacity(&mut self, capacity: usize) -> &mut Config {
        self.statement_cache_capacity = Some(capacity);
        self
    }

    /// tusk: sets the bound on the statement cache's estimated size in bytes.
    pub fn set_statement_cache_bytes(&mut self, bytes: usize) -> &mut Config {
        self.statement_cache_bytes = Some(bytes);
        self
    }

    /// tusk: lets concurrent plain `SELECT`s share one Sync, one read-only
    /// transaction per group (see [`Config::read_groups`]; off by default).
    pub fn set_read_groups(&mut self, on: bool) -> &mut Config {
        self.read_groups = Some(on);
        self
    }

    /// tusk: uses unnamed statements only, for a transaction-pooling PgBouncer.
    pub fn set_pooler_mode(&mut self, on: bool) -> &mut Config {
        self.pooler_mode = Some(on);
        self
    }
}
