//! The plan: which migrations to run, from the files and the history.
//! Pure (no I/O), so every rule is unit-tested without a database.

use serde::Serialize;

use crate::error::{Changed, MigrateError};
use crate::source::{Migration, Migrations};

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    /// The version.
    pub version: i64,
    /// The name it had.
    pub name: String,
    /// The checksum of its up script when it ran (or was repaired).
    pub checksum: String,
    /// When it was applied (the server's `timestamptz` text).
    pub applied_at: String,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
    /// Who applied it (`current_user`, or what the caller set).
    pub applied_by: String,
}

/// A migration's state, for `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Applied, and the file matches.
    Applied,
    /// Applied, but the file changed since.
    Changed,
    /// Applied, but the file is gone.
    Missing,
    /// Not applied yet.
    Pending,
    /// Not applied, and older than the newest applied migration.
    OutOfOrder,
}

/// One line of `status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusEntry {
    /// The version.
    pub version: i64,
    /// The name (the file's, else the history's).
    pub name: String,
    /// Its state.
    pub state: State,
    /// The history row, when applied.
    pub applied: Option<Applied>,
    /// Whether the file is marked `-- tusk:no-transaction`.
    pub no_transaction: bool,
    /// Whether it has a down script.
    pub has_down: bool,
}

/// Rules for [`validate`] and [`pending`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// Apply versions older than the newest applied one.
    pub allow_out_of_order: bool,
    /// Applied versions without a file are not an error.
    pub ignore_missing: bool,
}

/// Every migration, applied or not, with its state.
pub fn status(files: &Migrations, history: &[Applied]) -> Vec<StatusEntry> {
    let latest = history.iter().map(|a| a.version).max();
    let mut out: Vec<StatusEntry> = Vec::new();
    for m in files {
        let applied = history.iter().find(|a| a.version == m.version).cloned();
        let state = match &applied {
            Some(a) if a.checksum != m.up.checksum => State::Changed,
            Some(_) => State::Applied,
            None if latest.is_some_and(|l| m.version < l) => State::OutOfOrder,
            None => State::Pending,
        };
        out.push(StatusEntry {
            version: m.version,
            name: m.name.clone(),
            state,
            applied,
            no_transaction: m.up.no_transaction,
            has_down: m.down.is_some(),
        });
    }
    for a in history {
        if files.get(a.version).is_none() {
            out.push(StatusEntry {
                version: a.version,
                name: a.name.clone(),
                state: State::Missing,
                applied: Some(a.clone()),
                no_transaction: false,
                has_down: false,
            });
        }
    }
    out.sort_by_key(|e| e.version);
    out
}

/// Checks the applied migrations against the files: a changed checksum
/// is always an error (until `repair`); a missing file unless allowed.
pub fn validate(files: &Migrations, history: &[Applied], rules: Rules) -> Result<(), MigrateError> {
    let changed: Vec<Changed> = history
        .iter()
        .filter_map(|a| {
            let m = files.get(a.version)?;
            (m.up.checksum != a.checksum).then(|| Changed {
                version: a.version,
                name: a.name.clone(),
                recorded: a.checksum.clone(),
                current: m.up.checksum.clone(),
            })
        })
        .collect();
    if !changed.is_empty() {
        return Err(MigrateError::ChecksumMismatch(changed));
    }
    if !rules.ignore_missing {
        let missing: Vec<i64> = history
            .iter()
            .filter(|a| files.get(a.version).is_none())
            .map(|a| a.version)
            .collect();
        if !missing.is_empty() {
            return Err(MigrateError::Missing(missing));
        }
    }
    Ok(())
}

/// The migrations `up` runs, in order, up to `target` (inclusive) if given.
pub fn pending<'a>(
    files: &'a Migrations,
    history: &[Applied],
    rules: Rules,
    target: Option<i64>,
) -> Result<Vec<&'a Migration>, MigrateError> {
    validate(files, history, rules)?;
    if let Some(t) = target {
        if files.get(t).is_none() {
            return Err(MigrateError::Usage(format!(
                "there is no migration {t} to migrate up to"
            )));
        }
    }
    let latest = history.iter().map(|a| a.version).max();
    let todo: Vec<&Migration> = files
        .iter()
        .filter(|m| !history.iter().any(|a| a.version == m.version))
        .filter(|m| target.is_none_or(|t| m.version <= t))
        .collect();
    if let Some(latest) = latest {
        let old: Vec<i64> = todo
            .iter()
            .filter(|m| m.version < latest)
            .map(|m| m.version)
            .collect();
        if !old.is_empty() && !rules.allow_out_of_order {
            return Err(MigrateError::OutOfOrder {
                pending: old,
                latest,
            });
        }
    }
    Ok(todo)
}

/// The migrations `down` reverts, newest version first: the last `steps`
/// applied, or every applied one above `to` (exclusive) when given.
pub fn to_revert<'a>(
    files: &'a Migrations,
    history: &[Applied],
    rules: Rules,
    steps: usize,
    to: Option<i64>,
) -> Result<Vec<&'a Migration>, MigrateError> {
    validate(files, history, rules)?;
    let mut applied: Vec<i64> = history.iter().map(|a| a.version).collect();
    applied.sort_unstable_by(|a, b| b.cmp(a));
    let chosen: Vec<i64> = match to {
        Some(t) => {
            if t != 0 && !applied.contains(&t) {
                return Err(MigrateError::Usage(format!(
                    "migration {t} is not applied; `down --to` takes an applied version (or 0 for all)"
                )));
            }
            applied.into_iter().filter(|v| *v > t).collect()
        }
        None => applied.into_iter().take(steps).collect(),
    };
    let mut out = Vec::with_capacity(chosen.len());
    for v in chosen {
        let m = files.get(v).ok_or_else(|| {
            MigrateError::Usage(format!(
                "migration {v} is applied but has no file here, so it cannot be reverted"
            ))
        })?;
        if m.down.is_none() {
            return Err(MigrateError::NoDown {
                version: m.version,
                name: m.name.clone(),
            });
        }
        out.push(m);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Migrations {
        Migrations::from_files([
            ("0001_a.up.sql", "SELECT 1"),
            ("0001_a.down.sql", "SELECT -1"),
            ("0002_b.up.sql", "SELECT 2"),
            ("0002_b.down.sql", "SELECT -2"),
            ("0003_c.up.sql", "SELECT 3"),
        ])
        .unwrap()
    }

    fn applied(files: &Migrations, versions: &[i64]) -> Vec<Applied> {
        versions
            .iter()
            .map(|v| Applied {
                version: *v,
                name: "x".into(),
                checksum: files
                    .get(*v)
                    .map_or("gone".into(), |m| m.up.checksum.clone()),
                applied_at: String::new(),
                duration_ms: 1.0,
                applied_by: "me".into(),
            })
            .collect()
    }

    fn versions(v: &[&Migration]) -> Vec<i64> {
        v.iter().map(|m| m.version).collect()
    }

    #[test]
    fn pending_in_order_up_to_a_target() {
        let f = files();
        let r = Rules::default();
        assert_eq!(versions(&pending(&f, &[], r, None).unwrap()), [1, 2, 3]);
        assert_eq!(
            versions(&pending(&f, &applied(&f, &[1]), r, Some(2)).unwrap()),
            [2]
        );
        assert!(pending(&f, &[], r, Some(9)).is_err());
    }

    #[test]
    fn out_of_order_is_refused_unless_allowed() {
        let f = files();
        let h = applied(&f, &[1, 3]);
        let e = pending(&f, &h, Rules::default(), None).unwrap_err();
        assert!(
            matches!(e, MigrateError::OutOfOrder { ref pending, latest: 3 } if pending == &[2])
        );
        let allow = Rules {
            allow_out_of_order: true,
            ..Rules::default()
        };
        assert_eq!(versions(&pending(&f, &h, allow, None).unwrap()), [2]);
        assert_eq!(status(&f, &h)[1].state, State::OutOfOrder);
    }

    #[test]
    fn a_changed_checksum_refuses_everything() {
        let f = files();
        let mut h = applied(&f, &[1, 2]);
        h[0].checksum = "0".repeat(64);
        let e = pending(&f, &h, Rules::default(), None).unwrap_err();
        assert!(matches!(e, MigrateError::ChecksumMismatch(ref c) if c[0].version == 1));
        assert!(e.to_string().contains("tusk migrate repair"));
        assert!(to_revert(&f, &h, Rules::default(), 1, None).is_err());
        assert_eq!(status(&f, &h)[0].state, State::Changed);
    }

    #[test]
    fn missing_files_are_refused_unless_ignored() {
        let f = files();
        let mut h = applied(&f, &[1]);
        h.extend(applied(&f, &[7]));
        assert!(matches!(
            pending(&f, &h, Rules::default(), None),
            Err(MigrateError::Missing(ref v)) if v == &[7]
        ));
        let ignore = Rules {
            ignore_missing: true,
            allow_out_of_order: true,
        };
        assert_eq!(versions(&pending(&f, &h, ignore, None).unwrap()), [2, 3]);
        assert_eq!(status(&f, &h).last().unwrap().state, State::Missing);
    }

    #[test]
    fn revert_newest_first_and_needs_down_scripts() {
        let f = files();
        let h = applied(&f, &[1, 2]);
        let r = Rules::default();
        assert_eq!(versions(&to_revert(&f, &h, r, 1, None).unwrap()), [2]);
        assert_eq!(versions(&to_revert(&f, &h, r, 5, None).unwrap()), [2, 1]);
        assert_eq!(versions(&to_revert(&f, &h, r, 1, Some(0)).unwrap()), [2, 1]);
        assert_eq!(versions(&to_revert(&f, &h, r, 1, Some(1)).unwrap()), [2]);
        let h3 = applied(&f, &[1, 2, 3]);
        assert!(matches!(
            to_revert(&f, &h3, r, 1, None),
            Err(MigrateError::NoDown { version: 3, .. })
        ));
    }
}
