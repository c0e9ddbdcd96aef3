//! The URL syntax: `postgresql://[user[:password]@][host[:port][,...]][/dbname][?k=v&...]`
//! (also `postgres://`), with percent-decoding everywhere, IPv6 addresses in
//! brackets, and a unix socket directory as a percent-encoded host
//! (`%2Fvar%2Frun%2Fpostgresql`) or a `host=` query parameter.

use super::ConfigError;

/// The URL schemes libpq accepts.
const SCHEMES: [&str; 2] = ["postgresql://", "postgres://"];

/// Whether `s` is a URL rather than a `key=value` string.
pub(super) fn is_url(s: &str) -> bool {
    SCHEMES.iter().any(|scheme| s.starts_with(scheme))
}

/// Splits a URL into `(keyword, value)` pairs, in order: `user`, `password`,
/// `host`, `port`, `dbname`, then the query parameters. Keywords in the query
/// are not checked here, except libpq's JDBC-compatible `ssl=true`, which
/// becomes `sslmode=require`.
pub(super) fn parse_pairs(s: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let rest = SCHEMES
        .iter()
        .find_map(|scheme| s.strip_prefix(scheme))
        .ok_or_else(|| ConfigError::syntax(None, "a connection URL starts with postgresql://"))?;
    let mut pairs = Vec::new();

    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((authority, path)) => (authority, Some(path)),
        None => (before_query, None),
    };
    let hostlist = match authority.rsplit_once('@') {
        Some((userinfo, hostlist)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                pairs.push(("user".to_owned(), decode("user", user)?));
            }
            if let Some(password) = password.filter(|p| !p.is_empty()) {
                pairs.push(("password".to_owned(), decode("password", password)?));
            }
            hostlist
        }
        None => authority,
    };

    if !hostlist.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for spec in hostlist.split(',') {
            let (host, port) = split_host_port(spec)?;
            hosts.push(decode("host", host)?);
            ports.push(decode("port", port.unwrap_or(""))?);
        }
        // As in libpq, a lone empty host or port is not set at all, so the
        // environment can still supply it (`postgresql://:5433` takes PGHOST).
        let list = hosts.len() > 1;
        if list || hosts.iter().any(|h| !h.is_empty()) {
            pairs.push(("host".to_owned(), hosts.join(",")));
        }
        if list || ports.iter().any(|p| !p.is_empty()) {
            pairs.push(("port".to_owned(), ports.join(",")));
        }
    }

    if let Some(dbname) = path.filter(|p| !p.is_empty()) {
        pairs.push(("dbname".to_owned(), decode("dbname", dbname)?));
    }

    for param in query.into_iter().flat_map(|q| q.split('&')) {
        if param.is_empty() {
            continue;
        }
        let Some((key, value)) = param.split_once('=') else {
            let message =
                format!("missing key/value separator \"=\" in URL query parameter \"{param}\"");
            return Err(ConfigError::syntax(Some(param), message));
        };
        let key = decode("query parameter", key)?;
        let value = decode(&key, value)?;
        if key == "ssl" {
            // libpq accepts `ssl=true` for JDBC compatibility.
            if value != "true" {
                return Err(ConfigError::invalid_value(
                    "ssl",
                    &value,
                    "only ssl=true is accepted (it means sslmode=require)",
                ));
            }
            pairs.push(("sslmode".to_owned(), "require".to_owned()));
            continue;
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// Splits `host[:port]` or `[ipv6][:port]`, still percent-encoded.
fn split_host_port(spec: &str) -> Result<(&str, Option<&str>), ConfigError> {
    if let Some(bracketed) = spec.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(ConfigError::invalid_value(
                "host",
                spec,
                "an IPv6 address in a URL needs a closing \"]\"",
            ));
        };
        if host.is_empty() {
            return Err(ConfigError::invalid_value(
                "host",
                spec,
                "the IPv6 address between \"[\" and \"]\" is empty",
            ));
        }
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(ConfigError::invalid_value(
                    "host",
                    spec,
                    "expected \":port\" or \",\" after \"]\"",
                )),
            },
        };
    }
    Ok(match spec.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (spec, None),
    })
}

/// Percent-decodes one URL component; `key` names it in errors. `+` is
/// kept as is (this is not form encoding), and `%00` is refused.
pub(super) fn decode(key: &str, s: &str) -> Result<String, ConfigError> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        let hex = bytes.get(i + 1..i + 3);
        let byte = hex.and_then(|h| {
            let h = std::str::from_utf8(h).ok()?;
            u8::from_str_radix(h, 16).ok()
        });
        match byte {
            Some(0) => {
                return Err(ConfigError::invalid_value(
                    key,
                    s,
                    "%00 is not allowed in a percent-encoded value",
                ))
            }
            Some(byte) if hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) => {
                out.push(byte);
                i += 3;
            }
            _ => {
                return Err(ConfigError::invalid_value(
                    key,
                    s,
                    "bad percent-encoding: \"%\" must be followed by two hex digits (write %25 for a literal %)",
                ))
            }
        }
    }
    String::from_utf8(out).map_err(|_| {
        ConfigError::invalid_value(key, s, "the percent-decoded value is not valid UTF-8")
    })
}
