//! The OS user and home directory: the effective uid's name and home from
//! the system's user database (NSS, through `nix`), after the environment.

use std::path::PathBuf;

use nix::unistd::{geteuid, Uid, User};

use super::env::process_env;
use super::Config;

/// The fields of a user database entry that tusk needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PasswdEntry {
    pub name: String,
    pub home: PathBuf,
}

impl Config {
    /// The role to log in as: `user`, else `$USER` or `$LOGNAME`, else the
    /// name of the process's effective uid in the user database, else `postgres`.
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

/// `$USER`, else `$LOGNAME`, else the user database's name for the effective uid, else `postgres`.
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

/// The user name of `uid` (for `requirepeer`), through the system's user
/// database (NSS: `/etc/passwd`, LDAP, SSSD...).
pub(crate) fn user_name_of(uid: u32) -> Option<String> {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

/// The user's home directory (`$HOME`, else from the user database).
pub(crate) fn home() -> Option<PathBuf> {
    home_dir(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// The effective uid's entry in the system's user database.
fn current_passwd_entry() -> Option<PasswdEntry> {
    User::from_uid(geteuid())
        .ok()
        .flatten()
        .map(|u| PasswdEntry {
            name: u.name,
            home: u.dir,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_user_is_in_the_user_database() {
        let me = current_passwd_entry().expect("the effective uid has an entry");
        assert!(!me.name.is_empty());
        assert_eq!(user_name_of(geteuid().as_raw()), Some(me.name));
        assert_eq!(user_name_of(0), Some("root".to_owned()));
        assert_eq!(user_name_of(u32::MAX - 7), None);
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
        // Without the environment, the user database answers (or the fallback does).
        assert!(!os_user(|_| None).is_empty());
    }
}
