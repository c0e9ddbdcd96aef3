//! Migration and seed files: names, loading from a directory or from the
//! files a binary embedded (`tusk::migrate!`), one code path for both.
//!
//! A migration is `NNNN_name.up.sql` with an optional `NNNN_name.down.sql`
//! (`NNNN`: a version, any number of digits, compared as a number; `name`:
//! letters, digits, `_` and `-`). Any other `.sql` file in the directory
//! is an error (a misnamed file silently skipped is how a migration never
//! runs); files of other kinds (a README) are ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::checksum::checksum;
use crate::error::MigrateError;
use crate::script::Script;

/// One versioned migration: its up script and, if written, its down script.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The version (`42` for `0042_add_users.up.sql`).
    pub version: i64,
    /// The name (`add_users`).
    pub name: String,
    /// The `.up.sql` script.
    pub up: Script,
    /// The `.down.sql` script, when there is one.
    pub down: Option<Script>,
}

impl Migration {
    /// The checksum recorded in the history: the up script's.
    pub fn checksum(&self) -> &str {
        &self.up.checksum
    }
}

/// A set of migrations, sorted by version.
#[derive(Debug, Clone, Default)]
pub struct Migrations {
    list: Vec<Migration>,
    origin: String,
}

/// A file's kind, from its name.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Up,
    Down,
}

/// `(version, name, kind)` from a file name, or why it is not a migration's.
fn parse_name(file: &str) -> Result<(i64, String, Kind), String> {
    let usage = "expected NNNN_name.up.sql or NNNN_name.down.sql (NNNN digits; name of letters, digits, `_`, `-`)";
    let (stem, kind) = if let Some(s) = file.strip_suffix(".up.sql") {
        (s, Kind::Up)
    } else if let Some(s) = file.strip_suffix(".down.sql") {
        (s, Kind::Down)
    } else {
        return Err(usage.into());
    };
    let (digits, name) = stem.split_once('_').ok_or_else(|| usage.to_string())?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(usage.into());
    }
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(usage.into());
    }
    let version = digits
        .parse::<i64>()
        .map_err(|_| format!("the version {digits} does not fit a bigint"))?;
    Ok((version, name.to_string(), kind))
}

impl Migrations {
    /// Reads every migration in directory `dir`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Migrations, MigrateError> {
        let dir = dir.as_ref();
        let files = read_sql_files(dir)?;
        let mut m = Migrations::build(
            files
                .iter()
                .map(|(name, text)| (name.as_str(), text.as_str())),
            Some(dir),
        )?;
        m.origin = dir.display().to_string();
        Ok(m)
    }

    /// Builds the set from `(file name, contents)` pairs: what
    /// `tusk::migrate!` embeds, and what [`from_dir`](Self::from_dir) reads.
    /// Names that end in `.sql` must be migrations; others are ignored.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Migrations, MigrateError> {
        Migrations::build(files, None)
    }

    /// Files named (in errors and in [`Script::path`]) under `dir`, if given.
    fn build<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
        dir: Option<&Path>,
    ) -> Result<Migrations, MigrateError> {
        let label = |file: &str| match dir {
            Some(d) => d.join(file).display().to_string(),
            None => file.to_string(),
        };
        let mut by_version: BTreeMap<i64, (Option<Script>, Option<Script>, String)> =
            BTreeMap::new();
        for (file, text) in files {
            if !file.ends_with(".sql") {
                continue;
            }
            let (version, name, kind) = parse_name(file).map_err(|why| MigrateError::BadFile {
                file: label(file),
                why,
            })?;
            let script = Script::parse(&label(file), text)?;
            let entry = by_version
                .entry(version)
                .or_insert_with(|| (None, None, name.clone()));
            if entry.2 != name {
                return Err(MigrateError::BadFile {
                    file: label(file),
                    why: format!(
                        "version {version} is used twice (also by `{}`); give each migration its own version",
                        entry.2
                    ),
                });
            }
            let slot = match kind {
                Kind::Up => &mut entry.0,
                Kind::Down => &mut entry.1,
            };
            if slot.is_some() {
                return Err(MigrateError::BadFile {
                    file: label(file),
                    why: "listed twice".into(),
                });
            }
            *slot = Some(script);
        }
        let mut list = Vec::with_capacity(by_version.len());
        for (version, (up, down, name)) in by_version {
            let Some(up) = up else {
                let file = down.map(|d| d.path).unwrap_or_default();
                return Err(MigrateError::BadFile {
                    file,
                    why: "a down script without its up script (NNNN_name.up.sql)".into(),
                });
            };
            list.push(Migration {
                version,
                name,
                up,
                down,
            });
        }
        Ok(Migrations {
            list,
            origin: "embedded".into(),
        })
    }

    /// The migrations, by version.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.list.iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The migration with this version.
    pub fn get(&self, version: i64) -> Option<&Migration> {
        self.list
            .binary_search_by_key(&version, |m| m.version)
            .ok()
            .map(|i| &self.list[i])
    }

    /// Where they came from: the directory, or `embedded`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A checksum over every migration (version, name and up checksum):
    /// the key of a test database template built from them.
    pub fn fingerprint(&self) -> String {
        let mut all = String::new();
        for m in &self.list {
            all.push_str(&format!("{} {} {}\n", m.version, m.name, m.up.checksum));
        }
        checksum(&all)
    }
}

impl<'a> IntoIterator for &'a Migrations {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// `(file name, contents)` of every `*.sql` file in `dir`, sorted by name.
pub(crate) fn read_sql_files(dir: &Path) -> Result<Vec<(String, String)>, MigrateError> {
    let io = |e: std::io::Error, path: &Path| MigrateError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            MigrateError::BadFile {
                file: dir.display().to_string(),
                why: "no such directory (create it, e.g. with `tusk migrate new NAME`, or name \
                      another one with --migrations/--dir)"
                    .into(),
            }
        } else {
            io(e, dir)
        }
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io(e, dir))?;
        let path: PathBuf = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        if !name.ends_with(".sql") || !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| io(e, &path))?;
        let text = String::from_utf8(bytes).map_err(|_| MigrateError::BadFile {
            file: path.display().to_string(),
            why: "not UTF-8 text".into(),
        })?;
        files.push((name, text));
    }
    files.sort();
    Ok(files)
}

/// The next version for `tusk migrate new`: one more than the highest in
/// `dir` (1 in an empty or missing directory), and the width to pad it to
/// (the widest existing version, at least 4 digits).
pub fn next_version(dir: &Path) -> Result<(i64, usize), MigrateError> {
    if !dir.exists() {
        return Ok((1, 4));
    }
    let files = read_sql_files(dir)?;
    let mut max = 0;
    let mut width = 4;
    for (file, _) in &files {
        if let Ok((v, _, _)) = parse_name(file) {
            max = max.max(v);
            width = width.max(file.find('_').unwrap_or(0));
        }
    }
    let next = max.checked_add(1).ok_or_else(|| MigrateError::BadFile {
        file: dir.display().to_string(),
        why: "the highest version is the largest bigint".into(),
    })?;
    Ok((next, width))
}

/// Checks a name for `tusk migrate new`: letters, digits, `_`, `-`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_strictly() {
        assert_eq!(parse_name("0001_init.up.sql").unwrap().0, 1);
        assert_eq!(
            parse_name("20240101120000_add-users.down.sql").unwrap(),
            (20240101120000, "add-users".into(), Kind::Down)
        );
        for bad in [
            "init.up.sql",
            "0001.up.sql",
            "0001_.up.sql",
            "x1_a.up.sql",
            "0001_a b.up.sql",
            "0001_a.sql",
            "99999999999999999999_a.up.sql",
        ] {
            assert!(parse_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sets_are_sorted_and_checked() {
        let m = Migrations::from_files([
            ("0002_b.up.sql", "SELECT 2"),
            ("0001_a.up.sql", "SELECT 1"),
            ("0001_a.down.sql", "SELECT -1"),
            ("README.md", "ignored"),
        ])
        .unwrap();
        let v: Vec<i64> = m.iter().map(|m| m.version).collect();
        assert_eq!(v, [1, 2]);
        assert!(m.get(1).unwrap().down.is_some());
        assert!(m.get(2).unwrap().down.is_none());

        let dup = Migrations::from_files([("1_a.up.sql", ""), ("0001_b.up.sql", "")]);
        assert!(dup.unwrap_err().to_string().contains("used twice"));
        let orphan = Migrations::from_files([("0001_a.down.sql", "")]);
        assert!(orphan.unwrap_err().to_string().contains("without its up"));
        let stray = Migrations::from_files([("notes.sql", "")]);
        assert!(stray.unwrap_err().to_string().contains("notes.sql"));
    }
}
