//! The small state file beside the data directory: the port the
//! development cluster listens on, fixed when it is created.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::Error;

/// What the state file records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// The TCP port on 127.0.0.1.
    pub port: u16,
}

impl State {
    /// The file's text.
    pub fn to_text(self) -> String {
        format!(
            "# The tusk development cluster (`tusk dev start`). To move it to another\n\
             # port, stop it, edit this line, and start it again.\n\
             port = {}\n",
            self.port
        )
    }

    /// Parses the file's text: `key = value` lines, `#` comments.
    pub fn parse(text: &str) -> Result<State, String> {
        let mut port = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                Some(("port", v)) => {
                    port =
                        Some(v.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                            format!("port = {v:?} is not a port number (1-65535)")
                        })?);
                }
                Some(_) => {}
                None => return Err(format!("{line:?} is not a `key = value` line")),
            }
        }
        port.map(|port| State { port })
            .ok_or_else(|| "no `port = N` line".to_owned())
    }

    /// Reads the state file; `Ok(None)` if there is none yet.
    pub fn read(path: &Path) -> Result<Option<State>, Error> {
        match fs::read_to_string(path) {
            Ok(text) => State::parse(&text).map(Some).map_err(|e| {
                Error::Dev(format!(
                    "{}: {e}; fix it, or delete it to pick a new port",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    /// Writes the state file unless one exists; returns the state on disk
    /// (ours, or the one a concurrent `tusk` wrote first).
    pub fn create(self, path: &Path) -> Result<State, Error> {
        let created = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path);
        match created {
            Ok(mut file) => {
                file.write_all(self.to_text().as_bytes())
                    .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
                Ok(self)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                State::read(path)?.ok_or_else(|| Error::Dev(format!("{} vanished", path.display())))
            }
            Err(e) => Err(Error::io(format!("creating {}", path.display()), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::State;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let s = State { port: 54321 };
        assert_eq!(State::parse(&s.to_text()), Ok(s));
        assert_eq!(State::parse("port=5\nother = x\n"), Ok(State { port: 5 }));
        assert!(State::parse("port = 0").is_err());
        assert!(State::parse("port = 70000").is_err());
        assert!(State::parse("# nothing").is_err());
        assert!(State::parse("garbage").is_err());
    }
}
