//! SET, SHOW and RESET of the settings drivers send, validated and
//! normalized as PostgreSQL does.

use super::*;

impl Session {
    pub fn set(&mut self, name: &str, value: Option<String>) -> Result<()> {
        let canon = canonical(name).ok_or_else(|| {
            SqlError::new(
                code::UNDEFINED_OBJECT,
                format!("unrecognized configuration parameter \"{name}\""),
            )
        })?;
        if canon == "session_authorization" && value.is_none() {
            // SET SESSION AUTHORIZATION DEFAULT: back to the connecting
            // user, the only role tusk-lite has, so nothing changes.
            return Ok(());
        }
        if READ_ONLY_SETTINGS.contains(&canon) || canon == "session_authorization" {
            return Err(SqlError::new(
                code::CANT_CHANGE_RUNTIME_PARAM,
                format!("parameter \"{canon}\" cannot be changed"),
            ));
        }
        let default = SETTINGS
            .iter()
            .find(|(n, _, _)| *n == canon)
            .map(|(_, d, _)| d.to_string())
            .unwrap_or_default();
        let value = value.unwrap_or(default);
        let invalid = || {
            SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                format!("invalid value for parameter \"{canon}\": \"{value}\""),
            )
        };
        let value = match canon {
            "client_encoding" => {
                let v = value.to_ascii_uppercase().replace(['-', '_'], "");
                if v != "UTF8" && v != "UNICODE" {
                    return Err(SqlError::unsupported(format!("client_encoding {value}")));
                }
                "UTF8".to_string()
            }
            "DateStyle" => {
                let v = value.to_ascii_uppercase();
                let fmt = if v.contains("ISO") {
                    "ISO"
                } else if v.contains("SQL") || v.contains("POSTGRES") || v.contains("GERMAN") {
                    return Err(SqlError::unsupported(format!("DateStyle {value}")));
                } else {
                    "ISO"
                };
                let order = if v.contains("DMY") || v.contains("EURO") {
                    "DMY"
                } else if v.contains("YMD") {
                    "YMD"
                } else {
                    "MDY"
                };
                format!("{fmt}, {order}")
            }
            "TimeZone" => {
                let v = value.to_ascii_uppercase();
                if v != "UTC"
                    && v != "ETC/UTC"
                    && v != "GMT"
                    && v != "Z"
                    && v != "ZULU"
                    && v != "UCT"
                {
                    return Err(SqlError::unsupported(format!(
                        "TimeZone {value} (only UTC)"
                    )));
                }
                value
            }
            "extra_float_digits" => {
                let n: i32 = value.trim().parse().map_err(|_| invalid())?;
                if !(-15..=3).contains(&n) {
                    return Err(invalid());
                }
                if n <= 0 {
                    return Err(SqlError::unsupported("extra_float_digits below 1 (float output is always the shortest exact form)"));
                }
                n.to_string()
            }
            "work_mem" => {
                let kb = parse_kilobytes(&value).ok_or_else(|| {
                    invalid().with_hint(
                        "Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".",
                    )
                })?;
                if !(64..=i64::from(i32::MAX)).contains(&kb) {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        format!("{kb} kB is outside the valid range for parameter \"work_mem\" (64 .. 2147483647)"),
                    ));
                }
                format_kilobytes(kb)
            }
            "lock_timeout" => {
                let ms = parse_millis(&value).ok_or_else(invalid)?;
                self.info.lock_timeout = (ms > 0).then(|| std::time::Duration::from_millis(ms));
                format_millis(ms)
            }
            "statement_timeout" | "idle_in_transaction_session_timeout" => {
                if value.trim() != "0" {
                    return Err(SqlError::unsupported(format!("{canon} other than 0")));
                }
                "0".to_string()
            }
            "default_transaction_isolation" => isolation_from_name(&value)?.name().to_string(),
            "default_transaction_read_only" => {
                let b = crate::types::parse_text(&value, ColType::plain(Type::Bool))
                    .map_err(|_| invalid())?;
                if b.as_bool() == Some(true) {
                    "on"
                } else {
                    "off"
                }
                .to_string()
            }
            "IntervalStyle" => {
                let v = value.to_ascii_lowercase();
                // Interval text follows the session's style: this
                // session's thread formats its values.
                if !crate::interval::set_style(&v) {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        format!(
                            "invalid value for parameter \"{}\": \"{value}\"",
                            name.to_ascii_lowercase()
                        ),
                    )
                    .with_hint(
                        "Available values: postgres, postgres_verbose, sql_standard, iso_8601.",
                    ));
                }
                v
            }
            "standard_conforming_strings" => {
                let b = crate::types::parse_text(&value, ColType::plain(Type::Bool))
                    .map_err(|_| invalid())?;
                if b.as_bool() != Some(true) {
                    return Err(SqlError::unsupported("standard_conforming_strings = off"));
                }
                "on".to_string()
            }
            "bytea_output" => {
                if value != "hex" {
                    return Err(SqlError::unsupported(format!("bytea_output {value}")));
                }
                value
            }
            "synchronous_commit" => {
                if !matches!(
                    value.as_str(),
                    "on" | "local" | "remote_write" | "remote_apply"
                ) {
                    return Err(SqlError::unsupported(format!(
                        "synchronous_commit = {value}"
                    )));
                }
                value
            }
            _ => value,
        };
        let report = SETTINGS.iter().any(|(n, _, r)| *n == canon && *r);
        if self.settings.get(canon) != Some(&value) && report {
            self.reported.push((canon.to_string(), value.clone()));
        }
        self.info.settings.lock().insert(canon, value.clone());
        self.settings.insert(canon, value);
        Ok(())
    }

    pub fn show(&self, name: &str) -> Result<String> {
        match name {
            "transaction_isolation" | "transaction isolation level" => {
                return Ok(match &self.txn {
                    Some(t) => t.isolation.name().to_string(),
                    None => self.default_isolation().name().to_string(),
                })
            }
            "transaction_read_only" => {
                return Ok(match &self.txn {
                    Some(t) if t.read_only => "on",
                    _ => "off",
                }
                .into())
            }
            "all" => return Err(SqlError::unsupported("SHOW ALL")),
            "lc_collate" | "lc_ctype" => return Ok("C".into()),
            _ => {}
        }
        let canon = canonical(name).ok_or_else(|| {
            SqlError::new(
                code::UNDEFINED_OBJECT,
                format!("unrecognized configuration parameter \"{name}\""),
            )
        })?;
        Ok(self.settings.get(canon).cloned().unwrap_or_default())
    }
}

/// A time setting's value in milliseconds, as PostgreSQL reads it: a bare
/// number is milliseconds; units us, ms, s, min, h and d are accepted.
pub(super) fn parse_millis(v: &str) -> Option<u64> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let per = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "us" => return Some(n / 1000),
        _ => return None,
    };
    n.checked_mul(per).filter(|ms| *ms <= i32::MAX as u64)
}

/// A memory setting in kB: a number (fractions allowed) with an optional
/// unit B, kB, MB, GB or TB (case-sensitive, as in PostgreSQL), rounded
/// to whole kB.
pub(super) fn parse_kilobytes(v: &str) -> Option<i64> {
    let v = v.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().ok()?;
    let per = match unit.trim() {
        "" | "kB" => 1.0,
        "B" => 1.0 / 1024.0,
        "MB" => 1024.0,
        "GB" => 1024.0 * 1024.0,
        "TB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let kb = (n * per).round_ties_even();
    // Whole and well inside i64 once checked.
    #[allow(clippy::cast_possible_truncation)]
    (kb.is_finite() && kb.abs() < 9.0e15).then_some(kb as i64)
}

/// kB as SHOW prints them: the largest unit that divides them.
pub(super) fn format_kilobytes(kb: i64) -> String {
    if kb != 0 {
        for (per, unit) in [(1i64 << 30, "TB"), (1 << 20, "GB"), (1 << 10, "MB")] {
            if kb % per == 0 {
                return format!("{}{unit}", kb / per);
            }
        }
    }
    format!("{kb}kB")
}

/// Milliseconds as SHOW prints them: the largest unit that divides them.
pub(super) fn format_millis(ms: u64) -> String {
    if ms == 0 {
        return "0".into();
    }
    for (per, unit) in [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "min"),
        (1000, "s"),
    ] {
        if ms.is_multiple_of(per) {
            return format!("{}{unit}", ms / per);
        }
    }
    format!("{ms}ms")
}
