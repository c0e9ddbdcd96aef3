//! SELECT ... FOR UPDATE/SHARE: each row locked (waiting, NOWAIT or SKIP
//! LOCKED) and re-checked on its newest version, as EvalPlanQual does.

use super::*;

impl Exec<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn lock_rows(
        &mut self,
        table: &Table,
        key: &Option<Lookup>,
        filter: Option<&Expr>,
        order: &[SortKey],
        exclusive: bool,
        wait: Wait,
        limit: Option<&Expr>,
        offset: Option<&Expr>,
    ) -> Result<Rows> {
        let count = |ex: &mut Exec<'_>, e: Option<&Expr>| -> Result<Option<usize>> {
            Ok(match e {
                Some(e) => match ex.eval(e, &[])? {
                    Value::Int(i) if i < 0 => {
                        return Err(SqlError::new("2201W", "LIMIT must not be negative"))
                    }
                    Value::Int(i) => Some(usize::try_from(i).unwrap_or(usize::MAX)),
                    _ => None,
                },
                None => None,
            })
        };
        let want = match (count(self, limit)?, count(self, offset)?) {
            (Some(l), o) => l.saturating_add(o.unwrap_or(0)),
            (None, _) => usize::MAX,
        };
        let mut rows = self.target_rows(table, key, &filter.cloned())?;
        if !order.is_empty() {
            let keyed: Rows = rows.iter().map(|(_, r)| r.to_vec()).collect();
            let idx: Vec<usize> = (0..keyed.len()).collect();
            // Sort the candidates by the ORDER BY keys of the versions seen.
            let mut with_idx: Rows = keyed
                .into_iter()
                .zip(idx)
                .map(|(mut r, i)| {
                    r.push(Value::Int(i64::try_from(i).unwrap_or(0)));
                    r
                })
                .collect();
            with_idx = self.sort(with_idx, order)?;
            let mut sorted = Vec::with_capacity(rows.len());
            let mut slots: Vec<Option<(Vec<u8>, Row)>> = rows.into_iter().map(Some).collect();
            for r in with_idx {
                if let Some(Value::Int(i)) = r.last() {
                    if let Some(item) = slots
                        .get_mut(usize::try_from(*i).unwrap_or(0))
                        .and_then(Option::take)
                    {
                        sorted.push(item);
                    }
                }
            }
            rows = sorted;
        }
        let mode = if exclusive {
            Mode::Exclusive
        } else {
            Mode::Shared
        };
        let referenced = mode == Mode::Exclusive
            && !self
                .engine
                .catalog_for(self.txn)
                .referencing(table.oid)
                .is_empty();
        let mut out = Vec::new();
        for (k, seen) in rows {
            if out.len() >= want {
                break;
            }
            let nowait = |e: SqlError| {
                if e.code == code::LOCK_NOT_AVAILABLE && wait == Wait::NoWait {
                    SqlError::new(
                        code::LOCK_NOT_AVAILABLE,
                        format!(
                            "could not obtain lock on row in relation \"{}\"",
                            table.name
                        ),
                    )
                } else {
                    e
                }
            };
            let mut got = self
                .lock(LockTag::Row(table.oid, k.clone()), mode, wait)
                .map_err(nowait)?;
            // FOR UPDATE also conflicts with a foreign key's KEY SHARE
            // lock on the row (FOR SHARE does not).
            if got && referenced {
                got = self
                    .lock(LockTag::Key(table.oid, k.clone()), Mode::Exclusive, wait)
                    .map_err(nowait)?;
            }
            if !got {
                continue;
            }
            if let Some(r) = self.current_version(table, &k, seen, filter)? {
                out.push(r.to_vec());
            }
        }
        Ok(out)
    }

    /// After a row lock: the version to act on (own write, or the newest
    /// committed one re-checked against `filter` under READ COMMITTED).
    pub(super) fn current_version(
        &mut self,
        table: &Table,
        key: &[u8],
        seen: Row,
        filter: Option<&Expr>,
    ) -> Result<Option<Row>> {
        if let Some(own) = self.txn.writes.get(table.oid, key)? {
            return Ok(own);
        }
        match self.engine.store.get(table.oid, key, Ts::MAX) {
            Some((ts, newest)) if ts > self.snapshot => {
                if self.txn.isolation == Isolation::RepeatableRead {
                    return Err(SqlError::new(
                        code::SERIALIZATION_FAILURE,
                        "could not serialize access due to concurrent update",
                    ));
                }
                let Some(newest) = newest else {
                    return Ok(None);
                };
                if let Some(f) = filter {
                    if self.eval(f, &newest)?.as_bool() != Some(true) {
                        return Ok(None);
                    }
                }
                Ok(Some(newest))
            }
            _ => Ok(Some(seen)),
        }
    }
}
