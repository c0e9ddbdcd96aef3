//! How `tusk migrate` and `tusk seed` print: text for people, JSON lines
//! (`--json`) for programs.

use std::io::Write;

use serde::Serialize;
use tusk_migrate::lint::{Finding, RULES};
use tusk_migrate::{Event, SeedReport, State};

use super::Outcome;
use crate::error::{write_err, Error};
use crate::table::Table;

fn json_line(out: &mut dyn Write, v: &impl Serialize) -> Result<(), Error> {
    let s = serde_json::to_string(v).map_err(|e| Error::Usage(e.to_string()))?;
    writeln!(out, "{s}").map_err(write_err)
}

fn ms(d: f64) -> String {
    if d < 10.0 {
        format!("{d:.1} ms")
    } else if d < 10_000.0 {
        format!("{d:.0} ms")
    } else {
        format!("{:.1} s", d / 1000.0)
    }
}

/// A progress event: a finished script on `out` (text mode only; JSON
/// prints the result at the end), a lock wait on `err`.
pub(super) fn event(
    e: &Event,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    match e {
        Event::WaitingForLock { holder, waited } => writeln!(
            err,
            "tusk: waiting for the migration lock ({:.0} s so far){}",
            waited.as_secs_f64(),
            holder
                .as_deref()
                .map(|h| format!(", held by {h}"))
                .unwrap_or_default()
        )
        .map_err(write_err),
        Event::Retrying {
            version,
            name,
            attempt,
            of,
            wait,
        } => writeln!(
            err,
            "tusk: {version} {name} waited longer than lock_timeout for a table lock; \
             retrying in {:.1} s ({attempt} of {of})",
            wait.as_secs_f64()
        )
        .map_err(write_err),
        Event::Finished {
            action,
            version,
            name,
            duration,
        } if !json => {
            let verb = match *action {
                "up" => "applied",
                "down" => "reverted",
                _ => "seeded",
            };
            let what = if *action == "seed" {
                name.clone()
            } else {
                format!("{version} {name}")
            };
            writeln!(
                out,
                "{verb} {what} ({})",
                ms(duration.as_secs_f64() * 1000.0)
            )
            .map_err(write_err)
        }
        _ => Ok(()),
    }
}

/// The result of a database action.
pub(super) fn outcome(o: &Outcome, json: bool, out: &mut dyn Write) -> Result<(), Error> {
    match o {
        Outcome::Plan(steps) => {
            if json {
                return steps.iter().try_for_each(|s| json_line(out, s));
            }
            if steps.is_empty() {
                return writeln!(out, "nothing to do").map_err(write_err);
            }
            for s in steps {
                writeln!(
                    out,
                    "would {} {} {} ({}, {}, {} statement{})",
                    if s.action == "up" { "apply" } else { "revert" },
                    s.version,
                    s.name,
                    s.file,
                    if s.no_transaction {
                        "no transaction"
                    } else {
                        "one transaction"
                    },
                    s.statements,
                    if s.statements == 1 { "" } else { "s" }
                )
                .map_err(write_err)?;
            }
            Ok(())
        }
        Outcome::Done(steps) => {
            if json {
                return steps.iter().try_for_each(|s| json_line(out, s));
            }
            for s in steps.iter().filter(|s| s.skipped) {
                writeln!(
                    out,
                    "{} {} was done meanwhile by another deployer",
                    s.version, s.name
                )
                .map_err(write_err)?;
            }
            if steps.is_empty() {
                writeln!(out, "nothing to do").map_err(write_err)?;
            }
            Ok(())
        }
        Outcome::Repaired(list, dry_run) => {
            if json {
                #[derive(Serialize)]
                struct Row<'a> {
                    version: i64,
                    name: &'a str,
                    recorded: &'a str,
                    current: &'a str,
                    dry_run: bool,
                }
                return list.iter().try_for_each(|c| {
                    json_line(
                        out,
                        &Row {
                            version: c.version,
                            name: &c.name,
                            recorded: &c.recorded,
                            current: &c.current,
                            dry_run: *dry_run,
                        },
                    )
                });
            }
            if list.is_empty() {
                return writeln!(
                    out,
                    "nothing to repair: every applied migration matches its file"
                )
                .map_err(write_err);
            }
            for c in list {
                writeln!(
                    out,
                    "{} {} {}: checksum {}.. -> {}..",
                    if *dry_run { "would repair" } else { "repaired" },
                    c.version,
                    c.name,
                    &c.recorded[..c.recorded.len().min(12)],
                    &c.current[..c.current.len().min(12)]
                )
                .map_err(write_err)?;
            }
            Ok(())
        }
        Outcome::Status(entries) => {
            if json {
                return entries.iter().try_for_each(|e| json_line(out, e));
            }
            let mut t = Table {
                names: [
                    "version",
                    "name",
                    "state",
                    "applied_at",
                    "duration",
                    "applied_by",
                ]
                .map(str::to_owned)
                .to_vec(),
                right: vec![true, false, false, false, true, false],
                rows: Vec::new(),
            };
            for e in entries {
                let state = match e.state {
                    State::Applied => "applied",
                    State::Changed => "CHANGED (run repair?)",
                    State::Missing => "MISSING file",
                    State::Pending => "pending",
                    State::OutOfOrder => "pending, out of order",
                };
                let a = e.applied.as_ref();
                t.rows.push(vec![
                    Some(e.version.to_string()),
                    Some(e.name.clone()),
                    Some(state.to_string()),
                    a.map(|a| a.applied_at.clone()),
                    a.map(|a| ms(a.duration_ms)),
                    a.map(|a| a.applied_by.clone()),
                ]);
            }
            write!(out, "{}", t.render()).map_err(write_err)
        }
    }
}

/// Lint findings.
pub(super) fn findings(f: &[Finding], json: bool, out: &mut dyn Write) -> Result<(), Error> {
    if json {
        return f.iter().try_for_each(|x| json_line(out, x));
    }
    for x in f {
        writeln!(
            out,
            "{}:{}:{}: {}: {}\n  help: {}",
            x.file, x.line, x.column, x.rule, x.message, x.help
        )
        .map_err(write_err)?;
    }
    let n = f.len();
    writeln!(
        out,
        "{n} finding{}{}",
        if n == 1 { "" } else { "s" },
        if n > 0 {
            " (suppress one with `-- tusk:lint-ignore RULE` before its statement)"
        } else {
            ""
        }
    )
    .map_err(write_err)
}

/// `lint --rules`.
pub(super) fn rules(json: bool, out: &mut dyn Write) -> Result<(), Error> {
    for r in RULES {
        if json {
            #[derive(Serialize)]
            struct Row<'a> {
                id: &'a str,
                summary: &'a str,
                help: &'a str,
            }
            json_line(
                out,
                &Row {
                    id: r.id,
                    summary: r.summary,
                    help: r.help,
                },
            )?;
        } else {
            writeln!(out, "{}: {}\n  {}", r.id, r.summary, r.help).map_err(write_err)?;
        }
    }
    Ok(())
}

/// A seed run's (or plan's) result; seeds run now were printed as they
/// finished (text mode).
pub(super) fn seed_report(
    r: &SeedReport,
    dry_run: bool,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    if json {
        #[derive(Serialize)]
        struct Row<'a> {
            seed: &'a str,
            state: &'a str,
            duration_ms: Option<f64>,
        }
        let applied = if dry_run { "pending" } else { "applied" };
        for (n, d) in &r.applied {
            json_line(
                out,
                &Row {
                    seed: n,
                    state: applied,
                    duration_ms: (!dry_run).then_some(*d),
                },
            )?;
        }
        for n in &r.already {
            json_line(
                out,
                &Row {
                    seed: n,
                    state: "already_applied",
                    duration_ms: None,
                },
            )?;
        }
        for n in &r.changed {
            json_line(
                out,
                &Row {
                    seed: n,
                    state: "changed",
                    duration_ms: None,
                },
            )?;
        }
        return Ok(());
    }
    if dry_run {
        for (n, _) in &r.applied {
            writeln!(out, "would seed {n}").map_err(write_err)?;
        }
    }
    if r.applied.is_empty() {
        writeln!(out, "nothing to seed ({} already applied)", r.already.len())
            .map_err(write_err)?;
    }
    for n in &r.changed {
        writeln!(
            err,
            "tusk: seed {n} changed since it was applied; seeds run once, so it was not run again (write a new seed for the difference)"
        )
        .map_err(write_err)?;
    }
    Ok(())
}
