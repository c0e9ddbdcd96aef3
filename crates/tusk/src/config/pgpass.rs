//! The password file (`~/.pgpass`, `passfile`, `PGPASSFILE`).
//!
//! Each line is `hostname:port:database:username:password`; each of the first
//! four fields is a literal or `*` (anything); `\:` and `\\` escape; `#`
//! lines and blank lines are skipped; the first matching line wins. A
//! unix-socket connection matches `localhost` as well as its directory. The
//! file is ignored, with a warning, if group or others may access it.

use std::path::{Path, PathBuf};

use super::env::process_env;
use super::user::home_dir;
use super::{Config, Host, Target};

/// What a password file line must match.
#[derive(Debug, Clone, Copy)]
pub(super) struct PgpassQuery<'a> {
    pub host: &'a str,
    pub unix_socket: bool,
    pub port: u16,
    pub dbname: &'a str,
    pub user: &'a str,
}

/// The password of the first line of `text` that matches `query`. An empty
/// password counts as none.
pub(super) fn lookup(text: &str, query: &PgpassQuery<'_>) -> Option<String> {
    let port = query.port.to_string();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split_fields(line);
        let [host, port_field, dbname, user, password] = fields.as_slice() else {
            continue;
        };
        let host_matches =
            host.matches(query.host) || (query.unix_socket && host.matches("localhost"));
        if host_matches
            && port_field.matches(&port)
            && dbname.matches(query.dbname)
            && user.matches(query.user)
        {
            let password = password.value.clone();
            return (!password.is_empty()).then_some(password);
        }
    }
    None
}

/// One field of a line, unescaped, remembering whether it was a bare `*`.
struct Field {
    value: String,
    wildcard: bool,
}

impl Field {
    fn matches(&self, s: &str) -> bool {
        self.wildcard || self.value == s
    }
}

/// Splits a line into at most five fields at unescaped `:`; the fifth (the
/// password) keeps any further `:`.
fn split_fields(line: &str) -> Vec<Field> {
    let mut fields = Vec::with_capacity(5);
    let mut value = String::new();
    let mut raw = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                raw.push(c);
                if let Some(escaped) = chars.next() {
                    raw.push(escaped);
                    value.push(escaped);
                }
            }
            ':' if fields.len() < 4 => {
                fields.push(Field {
                    wildcard: raw == "*",
                    value: std::mem::take(&mut value),
                });
                raw.clear();
            }
            c => {
                raw.push(c);
                value.push(c);
            }
        }
    }
    fields.push(Field {
        wildcard: fields.len() < 4 && raw == "*",
        value,
    });
    fields
}

/// The text of the password file at `path`, or `None` if it is missing,
/// unreadable, not a regular file, or open to group or others (each but the
/// first with a warning).
pub(super) fn read_pgpass(path: &Path) -> Option<String> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
        Err(err) => {
            tracing::warn!(
                "password file \"{}\" is not readable: {err}",
                path.display()
            );
            return None;
        }
    };
    if !metadata.is_file() {
        tracing::warn!("password file \"{}\" is not a plain file", path.display());
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "password file \"{}\" has group or world access and is ignored; \
                 permissions should be u=rw (0600) or less (chmod 600 {})",
                path.display(),
                path.display()
            );
            return None;
        }
    }
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(err) => {
            tracing::warn!(
                "password file \"{}\" is not readable: {err}",
                path.display()
            );
            None
        }
    }
}

impl Config {
    /// The password for `target`: `password` if set, else the first matching
    /// line of the password file ([`Config::pgpass_path`]) for the target's
    /// host and port, the database ([`Config::dbname_or_default`]) and the
    /// user ([`Config::effective_user`]).
    pub fn password_for(&self, target: &Target) -> Option<String> {
        self.password_for_with(target, process_env)
    }

    /// The password file to read: `passfile`, else `$PGPASSFILE`, else
    /// `~/.pgpass`. `None` if there is no home directory to look in.
    pub fn pgpass_path(&self) -> Option<PathBuf> {
        self.pgpass_path_with(process_env)
    }

    pub(crate) fn pgpass_path_with(&self, env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
        if let Some(path) = &self.passfile {
            return Some(path.clone());
        }
        if let Some(path) = env("PGPASSFILE") {
            return Some(PathBuf::from(path));
        }
        home_dir(env).map(|home| home.join(".pgpass"))
    }

    /// [`Config::password_for`] with `env` as the environment.
    pub(crate) fn password_for_with(
        &self,
        target: &Target,
        env: impl Fn(&str) -> Option<String>,
    ) -> Option<String> {
        if let Some(password) = &self.password {
            return Some(password.clone());
        }
        let text = read_pgpass(&self.pgpass_path_with(&env)?)?;
        let user = self.effective_user_with(&env);
        let dbname = self.dbname.clone().unwrap_or_else(|| user.clone());
        let (host, unix_socket) = match &target.host {
            Host::Tcp(name) => (name.clone(), false),
            Host::Unix(dir) => (dir.to_string_lossy().into_owned(), true),
        };
        lookup(
            &text,
            &PgpassQuery {
                host: &host,
                unix_socket,
                port: target.port,
                dbname: &dbname,
                user: &user,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# hostname:port:database:username:password
\n\
db1:5432:orders:alice:first\r
db1:5432:orders:alice:second
db1:*:*:bob:bob-any
*:5433:*:*:any-5433
localhost:5432:*:carol:carol-local
/run/custom:5432:*:dave:dave-socket
weird\\:host:5432:*:erin:erin\\:pw\\\\x
star:5432:\\*:frank:literal-star
db2:5432:orders:gina:
db3:5432:orders:hank:pass:with:colons
short:5432:orders
";

    fn q<'a>(host: &'a str, port: u16, dbname: &'a str, user: &'a str) -> PgpassQuery<'a> {
        PgpassQuery {
            host,
            unix_socket: host.starts_with('/'),
            port,
            dbname,
            user,
        }
    }

    #[test]
    fn lookup_table() {
        let cases: &[(PgpassQuery<'_>, Option<&str>)] = &[
            (q("db1", 5432, "orders", "alice"), Some("first")),
            (q("db1", 5432, "other", "alice"), None),
            (q("db1", 6000, "anything", "bob"), Some("bob-any")),
            (q("elsewhere", 5433, "x", "y"), Some("any-5433")),
            (q("localhost", 5432, "x", "carol"), Some("carol-local")),
            (
                q("/var/run/postgresql", 5432, "x", "carol"),
                Some("carol-local"),
            ),
            (q("/run/custom", 5432, "x", "carol"), Some("carol-local")),
            (q("/run/custom", 5432, "x", "dave"), Some("dave-socket")),
            (q("/tmp", 5432, "x", "dave"), None),
            (q("weird:host", 5432, "x", "erin"), Some("erin:pw\\x")),
            (q("star", 5432, "*", "frank"), Some("literal-star")),
            (q("star", 5432, "orders", "frank"), None),
            (q("db2", 5432, "orders", "gina"), None),
            (q("db3", 5432, "orders", "hank"), Some("pass:with:colons")),
            (q("short", 5432, "orders", "x"), None),
        ];
        for (query, expected) in cases {
            assert_eq!(lookup(FILE, query).as_deref(), *expected, "{query:?}");
        }
    }

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("tusk-config-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn write(path: &Path, text: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn reads_only_private_regular_files() {
        let dir = TempDir::new("read");
        let path = dir.0.join("pgpass");
        write(&path, FILE, 0o600);
        assert_eq!(read_pgpass(&path).as_deref(), Some(FILE));
        write(&path, FILE, 0o400);
        assert!(read_pgpass(&path).is_some());
        for mode in [0o640, 0o604, 0o644, 0o660] {
            write(&path, FILE, mode);
            assert_eq!(read_pgpass(&path), None, "mode {mode:o}");
        }
        assert_eq!(read_pgpass(&dir.0.join("missing")), None);
        assert_eq!(read_pgpass(&dir.0), None);
    }

    #[test]
    fn password_for_uses_the_file_for_each_target() {
        let dir = TempDir::new("password-for");
        let path = dir.0.join("pgpass");
        write(
            &path,
            "db1:5432:orders:alice:one\ndb2:5433:orders:alice:two\nlocalhost:*:alice:alice:sock\n",
            0o600,
        );
        let passfile = path.to_string_lossy().into_owned();
        let no_env = |_: &str| None;

        let c = Config::parse(&format!(
            "host=db1,db2 port=5432,5433 user=alice dbname=orders passfile='{passfile}'"
        ))
        .unwrap();
        let targets = c.targets().unwrap();
        assert_eq!(
            c.password_for_with(&targets[0], no_env).as_deref(),
            Some("one")
        );
        assert_eq!(
            c.password_for_with(&targets[1], no_env).as_deref(),
            Some("two")
        );

        // dbname defaults to the user; a socket matches localhost.
        let c = Config::parse(&format!("host=/run/x user=alice passfile='{passfile}'")).unwrap();
        let target = &c.targets().unwrap()[0];
        assert_eq!(c.password_for_with(target, no_env).as_deref(), Some("sock"));

        // An explicit password wins over the file.
        let c = Config::parse(&format!(
            "host=db1 user=alice dbname=orders password=explicit passfile='{passfile}'"
        ))
        .unwrap();
        let target = &c.targets().unwrap()[0];
        assert_eq!(
            c.password_for_with(target, no_env).as_deref(),
            Some("explicit")
        );

        // PGPASSFILE, then $HOME/.pgpass.
        let c = Config::parse("host=db1 user=alice dbname=orders").unwrap();
        let target = &c.targets().unwrap()[0];
        let with_var = |k: &str| (k == "PGPASSFILE").then(|| passfile.clone());
        assert_eq!(
            c.password_for_with(target, with_var).as_deref(),
            Some("one")
        );
        std::fs::copy(&path, dir.0.join(".pgpass")).unwrap();
        let home = dir.0.to_string_lossy().into_owned();
        let with_home = |k: &str| (k == "HOME").then(|| home.clone());
        assert_eq!(c.pgpass_path_with(with_home), Some(dir.0.join(".pgpass")));
        assert_eq!(
            c.password_for_with(target, with_home).as_deref(),
            Some("one")
        );

        // No match, or an unsafe file: no password.
        let c = Config::parse(&format!("host=db9 user=alice passfile='{passfile}'")).unwrap();
        assert_eq!(c.password_for_with(&c.targets().unwrap()[0], no_env), None);
        write(&path, "*:*:*:*:leaked\n", 0o644);
        let c = Config::parse(&format!("host=db1 passfile='{passfile}'")).unwrap();
        assert_eq!(c.password_for_with(&c.targets().unwrap()[0], no_env), None);
    }
}
