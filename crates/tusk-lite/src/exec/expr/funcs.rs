//! Calling the built-in functions: string, math, date/time, sequence and
//! session functions.

use super::*;

impl Exec<'_> {
    /// Resolves a sequence named as nextval('name') names it.
    pub(super) fn sequence(&self, name: &str) -> Result<std::sync::Arc<crate::catalog::Sequence>> {
        let parts: Vec<String> = name
            .split('.')
            .map(|p| {
                let p = p.trim();
                match p.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
                    Some(q) => q.to_string(),
                    None => p.to_lowercase(),
                }
            })
            .collect();
        let (schema, rel) = match parts.as_slice() {
            [n] => ("public".to_string(), n.clone()),
            [s, n] => (s.clone(), n.clone()),
            _ => (String::new(), name.to_string()),
        };
        let cat = self.engine.catalog_for(self.txn);
        cat.sequence(&schema, &rel).cloned().ok_or_else(|| {
            SqlError::new(
                code::UNDEFINED_TABLE,
                format!("relation \"{name}\" does not exist"),
            )
        })
    }

    pub(super) fn call(
        &mut self,
        f: Func,
        v: &[Value],
        args: &[Expr],
        ty: ColType,
    ) -> Result<Value> {
        if let Func::Lib(l) = f {
            return self.call_lib(l, v, args);
        }
        if let Some(r) = super::array_funcs::call(f, v) {
            return r;
        }
        // Functions that see NULL arguments themselves.
        match f {
            Func::Concat => {
                let mut s = String::new();
                for (x, a) in v.iter().zip(args) {
                    if !x.is_null() {
                        s.push_str(&types::format_value(x, a.ty));
                    }
                }
                return Ok(Value::Text(s));
            }
            // format_type is not strict: a NULL typmod means none given
            // (then char is "character"; typmod -1 prints "bpchar").
            Func::FormatType if !v[0].is_null() && v[1].is_null() => {
                return Ok(Value::Text(match int(&v[0]) {
                    1042 => "character".into(),
                    oid => crate::sql::syscat::format_type(oid, -1).unwrap_or_else(|| "???".into()),
                }));
            }
            // Not strict: a NULL channel is an empty one, a NULL payload ''.
            Func::PgNotify => {
                let s = |x: &Value| match x {
                    Value::Text(s) => s.clone(),
                    _ => String::new(),
                };
                self.session.notify.lock().notify(&s(&v[0]), &s(&v[1]))?;
                return Ok(Value::Text(String::new()));
            }
            Func::AdvisoryUnlockAll => {
                self.engine.advisory.unlock_all(self.session.pid);
                return Ok(Value::Text(String::new()));
            }
            Func::MakeArray => return Ok(Value::Array(v.to_vec())),
            // json/jsonb functions handle their NULL arguments themselves.
            Func::Json(jf) => return crate::json::ops::eval(jf, v),
            Func::ListeningChannels => {
                return Ok(Value::Array(
                    self.engine
                        .notify
                        .channels(self.session.pid)
                        .into_iter()
                        .map(Value::Text)
                        .collect(),
                ))
            }
            Func::SetConfig if !v[0].is_null() => {
                let name = text(&v[0]).to_ascii_lowercase();
                if name != "transaction_read_only" {
                    return Err(SqlError::unsupported(format!(
                        "set_config() of {name} (SET it instead)"
                    )));
                }
                let on = crate::types::parse_text(text(&v[1]), ColType::plain(Type::Bool))
                    .map_err(|_| {
                        SqlError::new(
                            code::INVALID_PARAMETER_VALUE,
                            "parameter \"transaction_read_only\" requires a Boolean value",
                        )
                    })?
                    .as_bool()
                    .unwrap_or(false);
                if !on && self.txn.read_only {
                    return Err(SqlError::new(
                        code::ACTIVE_SQL_TRANSACTION,
                        "transaction read-write mode must be set before any query",
                    ));
                }
                self.txn.read_only = on;
                return Ok(Value::Text(if on { "on" } else { "off" }.into()));
            }
            Func::CurrentSetting if !v[0].is_null() => {
                let name = text(&v[0]).to_string();
                let missing_ok = matches!(v.get(1), Some(Value::Bool(true)));
                let settings = self.session.settings.lock();
                let found = match name.to_ascii_lowercase().as_str() {
                    "transaction_isolation" => Some(self.txn.isolation.name().to_string()),
                    "transaction_read_only" => {
                        Some(if self.txn.read_only { "on" } else { "off" }.to_string())
                    }
                    lower => settings
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(lower))
                        .map(|(_, v)| v.clone()),
                };
                return match found {
                    Some(s) => Ok(Value::Text(s)),
                    None if missing_ok => Ok(Value::Null),
                    None => Err(SqlError::new(
                        code::UNDEFINED_OBJECT,
                        format!("unrecognized configuration parameter \"{name}\""),
                    )),
                };
            }
            Func::BackendPid => return Ok(Value::Int(i64::from(self.session.pid))),
            Func::Version => {
                return Ok(Value::Text(crate::VERSION_STRING.to_string()));
            }
            Func::CurrentDatabase => return Ok(Value::Text(self.session.database.clone())),
            Func::CurrentUser => return Ok(Value::Text(self.session.user.clone())),
            Func::CurrentSchema => return Ok(Value::Text("public".into())),
            Func::PgTypeof => {
                let name = |t: Type| match t {
                    Type::Enum(_) => self.engine.catalog_for(self.txn).type_name(t),
                    _ => t.name().to_string(),
                };
                return Ok(Value::Text(match args.first().map(|a| a.ty) {
                    Some(ct) if ct.is_vector() => {
                        if ct.typmod == crate::types::INT2VECTOR_OID {
                            "int2vector".to_string()
                        } else {
                            "oidvector".to_string()
                        }
                    }
                    // An array: its element type's name and [] (integer[]).
                    Some(ct) if ct.ty == Type::Array => {
                        format!("{}[]", name(crate::types::ColType::array_elem(ct)))
                    }
                    Some(ct) => name(ct.ty),
                    None => "unknown".to_string(),
                }));
            }
            Func::Random => return Ok(Value::Float(fastrand::f64())),
            Func::SequenceField(field) => {
                let oid = v.first().map(int).unwrap_or_default();
                let seq = self
                    .engine
                    .catalog_for(self.txn)
                    .sequences
                    .iter()
                    .find(|s| i64::from(s.oid) == oid)
                    .cloned()
                    .ok_or_else(|| {
                        SqlError::new(
                            code::UNDEFINED_TABLE,
                            format!("could not open relation with OID {oid}"),
                        )
                    })?;
                let (last, log_cnt, called) = self.engine.sequence_peek(&seq);
                return Ok(match field {
                    0 => Value::Int(last),
                    1 => Value::Int(log_cnt),
                    _ => Value::Bool(called),
                });
            }
            Func::Nextval | Func::Currval | Func::Setval => {
                if v.first().is_none_or(Value::is_null) {
                    return Ok(Value::Null);
                }
                let name = match &v[0] {
                    Value::Text(s) => s.clone(),
                    _ => String::new(),
                };
                let seq = self.sequence(&name)?;
                return match f {
                    Func::Nextval => {
                        let n = self.engine.nextval(&seq)?;
                        self.session.currval.lock().insert(seq.oid, n);
                        Ok(Value::Int(n))
                    }
                    Func::Currval => match self.session.currval.lock().get(&seq.oid) {
                        Some(n) => Ok(Value::Int(*n)),
                        None => Err(SqlError::new(
                            "55000",
                            format!(
                                "currval of sequence \"{}\" is not yet defined in this session",
                                seq.name
                            ),
                        )),
                    },
                    _ => {
                        let value = int(&v[1]);
                        let called = v.get(2).and_then(Value::as_bool).unwrap_or(true);
                        Ok(Value::Int(self.engine.setval(&seq, value, called)?))
                    }
                };
            }
            Func::Now | Func::LocalTimestamp => {
                return Ok(Value::Int(crate::datetime::now_usecs(self.txn.started)))
            }
            Func::ClockTimestamp => {
                return Ok(Value::Int(crate::datetime::now_usecs(
                    std::time::SystemTime::now(),
                )))
            }
            Func::CurrentDate => {
                let us = crate::datetime::now_usecs(self.txn.started);
                return Ok(Value::Int(us.div_euclid(crate::datetime::USECS_PER_DAY)));
            }
            Func::Identity => return Ok(v.first().cloned().unwrap_or(Value::Null)),
            Func::AdvisoryLock | Func::AdvisoryTryLock | Func::AdvisoryUnlock if v[0].is_null() => {
                return Ok(Value::Null)
            }
            Func::AdvisoryLock => {
                self.check_cancel()?;
                let deadline = self
                    .session
                    .lock_timeout
                    .map(|d| std::time::Instant::now() + d);
                self.engine.advisory.lock(
                    int(&v[0]),
                    self.session.pid,
                    &self.session.cancel,
                    deadline,
                )?;
                return Ok(Value::Text(String::new()));
            }
            Func::AdvisoryTryLock => {
                return Ok(Value::Bool(
                    self.engine.advisory.try_lock(int(&v[0]), self.session.pid),
                ))
            }
            Func::AdvisoryUnlock => {
                return Ok(Value::Bool(
                    self.engine.advisory.unlock(int(&v[0]), self.session.pid),
                ))
            }
            Func::TerminateBackend => {
                if v[0].is_null() {
                    return Ok(Value::Null);
                }
                if v.get(1).is_some_and(|t| int(t) < 0) {
                    return Err(SqlError::new(
                        code::NUMERIC_VALUE_OUT_OF_RANGE,
                        "\"timeout\" must not be negative",
                    ));
                }
                // The timeout (waiting for the session to end) is not
                // waited for: the session ends at its next check.
                let pid = i32::try_from(int(&v[0])).unwrap_or(0);
                return Ok(Value::Bool(crate::wire::terminate(pid)));
            }
            Func::PgSleep => {
                let secs = match v.first() {
                    Some(Value::Float(f)) if f.is_finite() && *f > 0.0 => *f,
                    _ => 0.0,
                };
                let end =
                    std::time::Instant::now() + std::time::Duration::from_secs_f64(secs.min(1e9));
                loop {
                    self.check_cancel()?;
                    let now = std::time::Instant::now();
                    if now >= end {
                        break;
                    }
                    std::thread::sleep((end - now).min(std::time::Duration::from_millis(5)));
                }
                return Ok(Value::Text(String::new()));
            }
            Func::ArrayCat => {
                return Ok(match (&v[0], &v[1]) {
                    (Value::Null, x) | (x, Value::Null) => x.clone(),
                    (Value::Array(a), Value::Array(b)) => {
                        Value::Array(a.iter().chain(b).cloned().collect())
                    }
                    _ => Value::Null,
                })
            }
            Func::ArrayToString => {
                let (Value::Array(items), Value::Text(sep)) = (&v[0], &v[1]) else {
                    return Ok(Value::Null);
                };
                let elem = ColType::array_elem(args[0].ty);
                return Ok(Value::Text(
                    items
                        .iter()
                        .filter(|x| !x.is_null())
                        .map(|x| types::format_text(x, elem))
                        .collect::<Vec<_>>()
                        .join(sep),
                ));
            }
            _ => {}
        }
        if v.iter().any(Value::is_null) {
            return Ok(Value::Null);
        }
        if let Func::Dt(d) = f {
            return crate::dtfuncs::call(d, v, self.txn.started);
        }
        let a0 = v.first().cloned().unwrap_or(Value::Null);
        Ok(match f {
            Func::PgGetUserbyid => {
                Value::Text(crate::sql::syscat::user_name(int(&a0), &self.session.user))
            }
            Func::FormatType => match crate::sql::syscat::format_type(int(&a0), int(&v[1])) {
                Some(s) => Value::Text(s),
                None => {
                    // A user type: an enum, or an enum's array type.
                    let cat = self.engine.catalog_for(self.txn);
                    let oid = u32::try_from(int(&a0)).unwrap_or(0);
                    Value::Text(match cat.enum_by_oid(oid) {
                        Some(e) => cat.type_name(Type::Enum(e.oid)),
                        None => match cat.enums.iter().find(|e| e.array_oid == oid) {
                            Some(e) => format!("{}[]", cat.type_name(Type::Enum(e.oid))),
                            None => "???".into(),
                        },
                    })
                }
            },
            Func::QuoteIdent => Value::Text(crate::sql::syscat::quote_ident(text(&a0))),
            Func::SizePretty => Value::Text(match &a0 {
                Value::Numeric(n) => crate::exec::size::size_pretty_numeric(n),
                other => crate::exec::size::size_pretty(int(other)),
            }),
            Func::RelSize(of) => match self.relation_size(of, int(&a0))? {
                Some(n) => Value::Int(n),
                None => Value::Null,
            },
            Func::IndexDefColumn => match (&a0, usize::try_from(int(&v[1]))) {
                // Strict, as pg_get_indexdef and pg_get_constraintdef are.
                _ if v[1] == Value::Null || v[2] == Value::Null => Value::Null,
                (Value::Array(parts), Ok(0)) => {
                    let pretty = matches!(v[2], Value::Bool(true));
                    parts
                        .get(usize::from(pretty))
                        .cloned()
                        .unwrap_or(Value::Null)
                }
                (Value::Array(parts), Ok(k)) => parts.get(k + 1).cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            },
            Func::EncodingToChar => Value::Text(if int(&a0) == 6 { "UTF8" } else { "" }.into()),
            Func::ArrayUpper => match (&a0, int(&v[1])) {
                (Value::Array(items), 1) if !items.is_empty() => {
                    Value::Int(i64::try_from(items.len()).unwrap_or(0))
                }
                _ => Value::Null,
            },
            Func::VectorSubscript => match &a0 {
                _ if v[1].is_null() => Value::Null,
                Value::Array(items) => usize::try_from(int(&v[1]))
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .unwrap_or(Value::Null),
                _ => Value::Null,
            },
            Func::ArraySubscript => match &a0 {
                Value::Array(items) => usize::try_from(int(&v[1]))
                    .ok()
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| items.get(i))
                    .cloned()
                    .unwrap_or(Value::Null),
                _ => Value::Null,
            },
            // The C locale's case mapping (tusk-lite's datctype is C, as
            // the test kit's PostgreSQL): ASCII letters only.
            Func::Lower => Value::Text(text(&a0).to_ascii_lowercase()),
            Func::Upper => Value::Text(text(&a0).to_ascii_uppercase()),
            Func::Length => {
                let s = text(&a0);
                let s = if args[0].ty.ty == Type::Bpchar {
                    s.trim_end_matches(' ')
                } else {
                    s
                };
                Value::Int(i64::try_from(s.chars().count()).unwrap_or(i64::MAX))
            }
            Func::Abs => match a0 {
                Value::Int(i) => Value::Int(check_int(
                    i.checked_abs().ok_or_else(|| int_overflow(ty.ty))?,
                    ty.ty,
                )?),
                Value::Float(x) => Value::Float(x.abs()),
                Value::Numeric(n) => Value::Numeric(n.abs()),
                x => x,
            },
            Func::Sign => match a0 {
                Value::Float(x) => Value::Float(if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }),
                Value::Numeric(n) => Value::Numeric(Numeric::from_i64(i64::from(n.signum()))),
                x => x,
            },
            Func::Round | Func::Trunc => {
                let digits = v.get(1).map(int).unwrap_or(0);
                let digits = i32::try_from(digits).unwrap_or(0);
                match a0 {
                    Value::Float(x) => Value::Float(if f == Func::Round {
                        x.round_ties_even()
                    } else {
                        x.trunc()
                    }),
                    Value::Numeric(n) => Value::Numeric(if f == Func::Round {
                        n.round(digits)
                    } else {
                        n.trunc(digits)
                    }),
                    x => x,
                }
            }
            Func::Floor | Func::Ceil => match a0 {
                Value::Float(x) => Value::Float(if f == Func::Floor {
                    x.floor()
                } else {
                    x.ceil()
                }),
                Value::Numeric(n) => Value::Numeric(if f == Func::Floor {
                    n.floor()
                } else {
                    n.ceil()
                }),
                x => x,
            },
            Func::Sqrt => match a0 {
                Value::Float(x) => {
                    if x < 0.0 {
                        return Err(SqlError::new(
                            "2201F",
                            "cannot take square root of a negative number",
                        ));
                    }
                    Value::Float(x.sqrt())
                }
                x => x,
            },
            Func::Power => match (&a0, &v[1]) {
                (Value::Float(x), Value::Float(y)) => Value::Float(x.powf(*y)),
                _ => a0,
            },
            Func::Mod => binary(BinOp::Mod, &a0, &v[1], ty.ty)?,
            Func::Substr => {
                let s: Vec<char> = text(&a0).chars().collect();
                let start = int(&v[1]);
                let (from, to) = match v.get(2) {
                    Some(l) => {
                        let len = int(l);
                        if len < 0 {
                            return Err(SqlError::new(
                                "22011",
                                "negative substring length not allowed",
                            ));
                        }
                        (start, start.saturating_add(len))
                    }
                    None => (start, i64::MAX),
                };
                let from = usize::try_from(from.max(1) - 1).unwrap_or(0);
                let to = usize::try_from((to - 1).max(0))
                    .unwrap_or(usize::MAX)
                    .min(s.len());
                Value::Text(if from >= to {
                    String::new()
                } else {
                    s[from..to].iter().collect()
                })
            }
            Func::Replace => Value::Text(if text(&v[1]).is_empty() {
                text(&a0).to_string()
            } else {
                text(&a0).replace(text(&v[1]), text(&v[2]))
            }),
            Func::Position => {
                let hay = text(&v[1]);
                let needle = text(&a0);
                Value::Int(match hay.find(needle) {
                    Some(i) => i64::try_from(hay[..i].chars().count()).unwrap_or(0) + 1,
                    None => 0,
                })
            }
            Func::Btrim | Func::Ltrim | Func::Rtrim => {
                let set: Vec<char> = v
                    .get(1)
                    .map(|x| text(x).chars().collect())
                    .unwrap_or_else(|| vec![' ']);
                let s = text(&a0);
                Value::Text(
                    match f {
                        Func::Btrim => s.trim_matches(|c| set.contains(&c)),
                        Func::Ltrim => s.trim_start_matches(|c| set.contains(&c)),
                        _ => s.trim_end_matches(|c| set.contains(&c)),
                    }
                    .to_string(),
                )
            }
            Func::Left | Func::Right => {
                let s: Vec<char> = text(&a0).chars().collect();
                let n = int(&v[1]);
                let len = i64::try_from(s.len()).unwrap_or(0);
                let k = usize::try_from(if n >= 0 { n.min(len) } else { (len + n).max(0) })
                    .unwrap_or(0);
                Value::Text(if f == Func::Left {
                    s[..k].iter().collect()
                } else {
                    s[s.len() - k..].iter().collect()
                })
            }
            Func::Repeat => {
                let n = usize::try_from(int(&v[1]).max(0)).unwrap_or(0);
                let s = text(&a0);
                if s.len().saturating_mul(n) > (1 << 30) {
                    return Err(SqlError::new("54000", "requested length too large"));
                }
                Value::Text(s.repeat(n))
            }
            _ => return Err(SqlError::internal(format!("function {f:?}"))),
        })
    }
}
