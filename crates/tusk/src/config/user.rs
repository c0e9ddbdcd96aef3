//! The OS user and home directory, without libc: `/proc/self/status` gives
//! the effective uid, `/etc/passwd` its name and home.

use std::path::PathBuf;

use super::env::process_env;
use super::Config;

/// The fields of an `/etc/passwd` entry that tusk needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PasswdEntry {
    pub name: String,
    pub home: PathBuf,
}

impl Config {
    /// The role to log in as: `user`, else `$USER` or `$LOGNAME`, else the
    /// name of the process's effective uid in `/etc/passwd`, else `postgres`.
    pub fn effective_user(&self) -> String {
        self.effective_user_with(process_env)
    }

    /// [`Config::effective_user`] with `env` as the environment.
    pub(crate) fn effective_user_with(&self, env: impl Fn(&str) -> Option<String>) -> String {
        match &self.user {
            Some(user) => user.clone(),
            None => os_user(env),
        }
    }
}

/// `$USER`, else `$LOGNAME`, else the passwd name of the effective uid, else `postgres`.
pub(super) fn os_user(env: impl Fn(&str) -> Option<String>) -> String {
    env("USER")
        .or_else(|| env("LOGNAME"))
        .or_else(|| current_passwd_entry().map(|e| e.name))
        .unwrap_or_else(|| "postgres".to_owned())
}

/// `$HOME`, else the passwd home of the effective uid.
pub(super) fn home_dir(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("HOME")
        .map(PathBuf::from)
        .or_else(|| current_passwd_entry().map(|e| e.home))
}

/// The user name of `uid` from `/etc/passwd` (for `requirepeer`).
pub(crate) fn user_name_of(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd_entry(&passwd, uid).map(|e| e.name)
}

/// The user's home directory (`$HOME`, else from `/etc/passwd`).
pub(crate) fn home() -> Option<PathBuf> {
    home_dir(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

fn current_passwd_entry() -> Option<PasswdEntry> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = effective_uid(&status)?;
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd_entry(&passwd, uid)
}

/// The effective uid from the text of `/proc/<pid>/status`
/// (`Uid:\treal\teffective\tsaved\tfs`).
pub(super) fn effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|uids| uids.split_whitespace().nth(1))
        .and_then(|uid| uid.parse().ok())
}

/// The entry for `uid` in the text of `/etc/passwd`
/// (`name:password:uid:gid:gecos:home:shell`).
pub(super) fn passwd_entry(passwd: &str, uid: u32) -> Option<PasswdEntry> {
    passwd
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.as_slice() {
                [name, _, entry_uid, _, _, home, ..] if entry_uid.parse() == Ok(uid) => {
                    Some(PasswdEntry {
                        name: (*name).to_owned(),
                        home: PathBuf::from(home),
                    })
                }
                _ => None,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_effective_uid_from_proc_status() {
        let status = "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nUid:\t1000\t1001\t1000\t1000\nGid:\t0\t0\t0\t0\n";
        assert_eq!(effective_uid(status), Some(1001));
        assert_eq!(effective_uid("Name:\tcat\n"), None);
        assert_eq!(effective_uid("Uid:\tx\ty\n"), None);
        let real = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(effective_uid(&real).is_some());
    }

    #[test]
    fn finds_passwd_entries_by_uid() {
        let passwd = "# comment\nroot:x:0:0:root:/root:/bin/bash\n\
                      broken line\npostgres:x:104:110:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n";
        assert_eq!(
            passwd_entry(passwd, 104),
            Some(PasswdEntry {
                name: "postgres".to_owned(),
                home: PathBuf::from("/var/lib/postgresql"),
            })
        );
        assert_eq!(
            passwd_entry(passwd, 0).map(|e| e.name),
            Some("root".to_owned())
        );
        assert_eq!(passwd_entry(passwd, 5), None);
    }

    #[test]
    fn home_and_user_come_from_the_environment_first() {
        let env = |k: &str| match k {
            "HOME" => Some("/home/x".to_owned()),
            "USER" => Some("x".to_owned()),
            _ => None,
        };
        assert_eq!(home_dir(env), Some(PathBuf::from("/home/x")));
        assert_eq!(os_user(env), "x");
        // Without the environment, /etc/passwd answers (or the fallback does).
        assert!(!os_user(|_| None).is_empty());
    }
}
