//! The enumerated connection options (`sslmode`, `target_session_attrs`, ...),
//! each parsed from and printed as libpq's spelling.

use std::fmt;
use std::str::FromStr;

use super::ConfigError;

/// Declares a keyword enum with libpq spellings, `Default`, `FromStr`
/// (error: a [`ConfigError`] naming the keyword), `Display` and `as_str`.
/// The default variant is marked `#[default]`.
macro_rules! keyword_enum {
    (
        $(#[$meta:meta])*
        $name:ident, key = $key:literal,
        { $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[doc = concat!("(`", $key, "=", $text, "`)")]
                $variant,
            )+
        }

        impl $name {
            /// libpq's spelling of this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl FromStr for $name {
            type Err = ConfigError;

            fn from_str(s: &str) -> Result<Self, ConfigError> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(ConfigError::invalid_value(
                        $key,
                        s,
                        format!("expected one of: {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum! {
    /// Whether and how to use TLS (`sslmode`, `PGSSLMODE`). Default: `prefer`.
    SslMode, key = "sslmode",
    {
        /// Never use TLS.
        Disable = "disable",
        /// Try without TLS first; use TLS if the server insists.
        Allow = "allow",
        /// Try TLS first; fall back to plaintext if the server has none.
        #[default]
        Prefer = "prefer",
        /// Use TLS, but do not verify the server's certificate.
        Require = "require",
        /// Use TLS and verify the certificate chain against the root certificate.
        VerifyCa = "verify-ca",
        /// Use TLS, verify the chain and that the certificate names the host.
        VerifyFull = "verify-full",
    }
}

impl SslMode {
    /// Whether this mode refuses a connection without TLS (`require` and stronger).
    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }

    /// Whether this mode verifies the server's certificate chain (`verify-ca`, `verify-full`).
    pub fn verifies_certificate(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

keyword_enum! {
    /// How TLS is started (`sslnegotiation`, `PGSSLNEGOTIATION`; PostgreSQL 17+).
    /// Default: `postgres`.
    SslNegotiation, key = "sslnegotiation",
    {
        /// Ask with an `SSLRequest` first, then start TLS (every server version).
        #[default]
        Postgres = "postgres",
        /// Start the TLS handshake at once, with ALPN `postgresql` (PostgreSQL 17+);
        /// needs `sslmode=require` or stronger.
        Direct = "direct",
    }
}

keyword_enum! {
    /// SCRAM channel binding (`channel_binding`, `PGCHANNELBINDING`). Default: `prefer`.
    ChannelBinding, key = "channel_binding",
    {
        /// Never use channel binding.
        Disable = "disable",
        /// Use channel binding when TLS and the server support it.
        #[default]
        Prefer = "prefer",
        /// Refuse to authenticate without channel binding.
        Require = "require",
    }
}

keyword_enum! {
    /// Which kind of server a connection must reach (`target_session_attrs`,
    /// `PGTARGETSESSIONATTRS`). Default: `any`.
    TargetSessionAttrs, key = "target_session_attrs",
    {
        /// Any server.
        #[default]
        Any = "any",
        /// A server that accepts writes by default (`default_transaction_read_only` off, not in recovery).
        ReadWrite = "read-write",
        /// A server that is read-only by default.
        ReadOnly = "read-only",
        /// A server that is not in hot standby mode.
        Primary = "primary",
        /// A server in hot standby mode.
        Standby = "standby",
        /// A standby if one is reachable, else any server.
        PreferStandby = "prefer-standby",
    }
}

keyword_enum! {
    /// The order in which hosts are tried (`load_balance_hosts`,
    /// `PGLOADBALANCEHOSTS`). Default: `disable`.
    LoadBalanceHosts, key = "load_balance_hosts",
    {
        /// In the order given.
        #[default]
        Disable = "disable",
        /// In a random order (the connector shuffles [`Config::targets`](super::Config::targets)).
        Random = "random",
    }
}

keyword_enum! {
    /// Whether to send a client certificate (`sslcertmode`, `PGSSLCERTMODE`).
    /// Default: `allow`.
    SslCertMode, key = "sslcertmode",
    {
        /// Never send a client certificate.
        Disable = "disable",
        /// Send one if configured and the server asks.
        #[default]
        Allow = "allow",
        /// Fail unless the server asked for and received a certificate.
        Require = "require",
    }
}

/// A TLS protocol version (`ssl_min_protocol_version`, `ssl_max_protocol_version`).
/// Parsed case-insensitively, as libpq does. The minimum defaults to `TLSv1.2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SslProtocolVersion {
    /// TLS 1.0 (`TLSv1`).
    Tls1_0,
    /// TLS 1.1 (`TLSv1.1`).
    Tls1_1,
    /// TLS 1.2 (`TLSv1.2`).
    Tls1_2,
    /// TLS 1.3 (`TLSv1.3`).
    Tls1_3,
}

impl SslProtocolVersion {
    /// libpq's spelling, e.g. `"TLSv1.2"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SslProtocolVersion::Tls1_0 => "TLSv1",
            SslProtocolVersion::Tls1_1 => "TLSv1.1",
            SslProtocolVersion::Tls1_2 => "TLSv1.2",
            SslProtocolVersion::Tls1_3 => "TLSv1.3",
        }
    }

    pub(super) fn parse_for(key: &str, s: &str) -> Result<SslProtocolVersion, ConfigError> {
        let all = [
            SslProtocolVersion::Tls1_0,
            SslProtocolVersion::Tls1_1,
            SslProtocolVersion::Tls1_2,
            SslProtocolVersion::Tls1_3,
        ];
        all.into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                ConfigError::invalid_value(
                    key,
                    s,
                    "expected one of \"TLSv1\", \"TLSv1.1\", \"TLSv1.2\", \"TLSv1.3\"",
                )
            })
    }
}

impl FromStr for SslProtocolVersion {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, ConfigError> {
        SslProtocolVersion::parse_for("ssl_min_protocol_version", s)
    }
}

impl fmt::Display for SslProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authentication method named in `require_auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// Cleartext password (`password`).
    Password,
    /// MD5 password (`md5`).
    Md5,
    /// GSSAPI (`gss`).
    Gss,
    /// SSPI (`sspi`).
    Sspi,
    /// SCRAM-SHA-256 (`scram-sha-256`).
    ScramSha256,
    /// No authentication challenge at all (`none`, e.g. `trust`).
    None,
}

impl AuthMethod {
    const ALL: [AuthMethod; 6] = [
        AuthMethod::Password,
        AuthMethod::Md5,
        AuthMethod::Gss,
        AuthMethod::Sspi,
        AuthMethod::ScramSha256,
        AuthMethod::None,
    ];

    /// libpq's spelling, e.g. `"scram-sha-256"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Md5 => "md5",
            AuthMethod::Gss => "gss",
            AuthMethod::Sspi => "sspi",
            AuthMethod::ScramSha256 => "scram-sha-256",
            AuthMethod::None => "none",
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authentication methods a client accepts from the server (`require_auth`,
/// `PGREQUIREAUTH`): a comma-separated list such as `scram-sha-256` or
/// `password,md5`, or a negated one such as `!password,!md5` (all or none
/// negated). The connector refuses any other method the server asks for.
///
/// ```
/// use tusk::config::{AuthMethod, RequireAuth};
/// let ra: RequireAuth = "!password,!md5".parse().unwrap();
/// assert!(ra.allows(AuthMethod::ScramSha256));
/// assert!(!ra.allows(AuthMethod::Md5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequireAuth {
    methods: Vec<AuthMethod>,
    negated: bool,
}

impl RequireAuth {
    /// Whether the server may authenticate this connection with `method`.
    pub fn allows(&self, method: AuthMethod) -> bool {
        self.methods.contains(&method) != self.negated
    }

    /// The methods listed (allowed, or refused when [`RequireAuth::is_negated`]).
    pub fn methods(&self) -> &[AuthMethod] {
        &self.methods
    }

    /// Whether the list names refused methods (`!md5`) rather than allowed ones.
    pub fn is_negated(&self) -> bool {
        self.negated
    }
}

impl FromStr for RequireAuth {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, ConfigError> {
        const KEY: &str = "require_auth";
        // An empty value sets no restriction, as in libpq.
        if s.trim().is_empty() {
            return Ok(RequireAuth {
                methods: Vec::new(),
                negated: true,
            });
        }
        let mut methods = Vec::new();
        let mut negated = None;
        for item in s.split(',').map(str::trim) {
            let (neg, name) = match item.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, item),
            };
            if *negated.get_or_insert(neg) != neg {
                return Err(ConfigError::invalid_value(
                    KEY,
                    s,
                    "negated methods (\"!md5\") cannot be mixed with plain ones",
                ));
            }
            let method = AuthMethod::ALL
                .into_iter()
                .find(|m| m.as_str() == name)
                .ok_or_else(|| {
                    ConfigError::invalid_value(
                        KEY,
                        s,
                        format!(
                            "unknown method \"{name}\"; expected password, md5, gss, sspi, scram-sha-256 or none"
                        ),
                    )
                })?;
            if methods.contains(&method) {
                return Err(ConfigError::invalid_value(
                    KEY,
                    s,
                    format!("method \"{name}\" is listed twice"),
                ));
            }
            methods.push(method);
        }
        Ok(RequireAuth {
            methods,
            negated: negated.unwrap_or(false),
        })
    }
}

impl fmt::Display for RequireAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, method) in self.methods.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if self.negated {
                f.write_str("!")?;
            }
            f.write_str(method.as_str())?;
        }
        Ok(())
    }
}
