//! Types that are not built in: looking them up (one `pg_type` query, into
//! the registry shared by the connections of a config or pool), and putting
//! them in place of the placeholders the engine made for their OIDs, in
//! statements (so the cache holds resolved statements and later runs cost
//! nothing) and in rows.

use postgres_types::Type;
use std::collections::BTreeSet;
use std::sync::Arc;

use super::{Client, Part, Plan};
use crate::connection::TransactionStatus;
use crate::error::Error;
use crate::query::Query;
use crate::row::{Column, Row, RowDesc};
use crate::statement::{Described, Statement};
use crate::types::registry::{self, is_placeholder, TypeRow};
use crate::types::value::binary_ok;

impl Client {
    /// Looks up `oids` (and every type they are made of) in one query and
    /// stores them in the registry. Skipped in a failed transaction (the
    /// server would refuse it; the types stay unknown).
    pub(crate) async fn lookup_types(&self, oids: Vec<u32>) -> Result<(), Error> {
        if oids.is_empty() {
            return Ok(());
        }
        let generation = self.types.generation();
        let ticket = {
            let mut st = self.shared.lock();
            if st.tx_status() == TransactionStatus::Failed {
                return Ok(());
            }
            // Uncached: lookups are rare, and a cached statement would
            // itself go through the settling a lookup serves.
            let q = Query::new(registry::LOOKUP_SQL).uncached();
            match self.build(&mut st, &q, &[&oids], None, None, Part::Whole)? {
                Plan::Run(t) => t,
                _ => {
                    return Err(Error::protocol(
                        "internal: the type lookup needed a describe",
                    ))
                }
            }
        };
        self.types.count_lookup();
        let resp = ticket.wait().await.into_result()?;
        let rows = resp
            .rows
            .iter()
            .map(TypeRow::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        tracing::debug!(asked = ?oids, found = rows.len(), "looked up types");
        self.types.store(generation, registry::build(&rows));
        Ok(())
    }

    /// Makes sure the registry knows every placeholder type in `types`
    /// (one lookup for all that it lacks).
    async fn ensure_known<'t>(&self, types: impl Iterator<Item = &'t Type>) -> Result<(), Error> {
        let missing: BTreeSet<u32> = types
            .filter(|t| Type::from_oid(t.oid()).is_none() && self.types.get(t.oid()).is_none())
            .map(Type::oid)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Box::pin(self.lookup_types(missing.into_iter().collect())).await
    }

    /// `d` with its placeholder column types resolved from the registry;
    /// `None` when nothing changed.
    fn fix_desc(&self, d: &RowDesc) -> Option<RowDesc> {
        let mut changed = false;
        let columns = d
            .columns
            .iter()
            .map(|c| match self.types.resolve(&c.type_) {
                Some(t) => {
                    changed = true;
                    Column {
                        type_: t,
                        ..c.clone()
                    }
                }
                None => c.clone(),
            })
            .collect();
        changed.then_some(RowDesc {
            columns,
            text: d.text,
        })
    }

    /// When `stmt` was described with types that are not built in: looks
    /// them up and returns a statement described with them (the same
    /// server-side statement), which takes the place of `stmt` in the
    /// cache when `cached`. `None` when nothing was unknown.
    pub(crate) async fn resolve_stmt(
        &self,
        stmt: &Statement,
        cached: bool,
    ) -> Result<Option<Statement>, Error> {
        let Some(d) = stmt.described() else {
            return Ok(None);
        };
        let gen = self.types.generation();
        // Resolved before the registry was cleared: every type that is not
        // built in is looked up again (an ALTER TYPE may have changed it).
        let stale = stmt.types_stale(gen);
        if stmt.settled() && !stale {
            return Ok(None);
        }
        let needs = |t: &Type| is_placeholder(t) || (stale && Type::from_oid(t.oid()).is_none());
        let all = || {
            d.params
                .iter()
                .chain(d.desc.columns.iter().map(|c| &c.type_))
        };
        // A column whose type tusk does not decode in binary is asked for
        // as text (per-column result formats).
        let marked = |c: &Column| c.text != binary_ok(&c.type_);
        if !all().any(needs) && d.desc.columns.iter().all(marked) {
            stmt.set_settled();
            return Ok(None);
        }
        self.ensure_known(all().filter(|t| needs(t))).await?;
        let fresh = |t: &Type| {
            if needs(t) {
                self.types.get(t.oid()).unwrap_or_else(|| t.clone())
            } else {
                t.clone()
            }
        };
        let params: Vec<Type> = d.params.iter().map(fresh).collect();
        let columns: Vec<Column> = d
            .desc
            .columns
            .iter()
            .map(|c| {
                let type_ = fresh(&c.type_);
                Column {
                    text: !binary_ok(&type_),
                    type_,
                    ..c.clone()
                }
            })
            .collect();
        if !stale
            && params == d.params
            && columns
                .iter()
                .zip(&d.desc.columns)
                .all(|(a, b)| a.type_ == b.type_ && a.text == b.text)
        {
            // Still unknown (the lookup found nothing, or was skipped).
            return Ok(None);
        }
        // Only a statement with looked-up types needs them again after the
        // registry is cleared.
        let looked_up = params
            .iter()
            .chain(columns.iter().map(|c| &c.type_))
            .any(|t| Type::from_oid(t.oid()).is_none());
        let desc = Arc::new(RowDesc {
            columns,
            text: d.desc.text,
        });
        let new = stmt.replaced(
            Described { params, desc },
            if looked_up { gen } else { u64::MAX },
        );
        // One handle closes the server-side statement: the new one when it
        // takes the old one's place (or the old one was the caller's own),
        // else the old one (its other holders).
        if !cached || self.shared.lock().cache_mut().replace(stmt, new.clone()) {
            stmt.hand_over();
        } else {
            new.hand_over();
        }
        Ok(Some(new))
    }

    /// Resolves the placeholder column types of `rows` (looked up when the
    /// registry lacks them). A lookup that fails leaves the placeholders
    /// (the rows stay readable raw, as text or as `Value`), logged.
    pub(crate) async fn resolve_rows(&self, rows: &mut [Row]) {
        let Some(first) = rows.first() else {
            return;
        };
        if !first.desc.columns.iter().any(|c| is_placeholder(&c.type_)) {
            return;
        }
        let desc = first.desc.clone();
        if let Err(e) = self
            .ensure_known(desc.columns.iter().map(|c| &c.type_))
            .await
        {
            tracing::warn!(error = %e, "looking up the result's types failed");
            return;
        }
        let mut fixes: Vec<(Arc<RowDesc>, Arc<RowDesc>)> = Vec::new();
        for row in rows {
            if let Some((_, new)) = fixes.iter().find(|(old, _)| Arc::ptr_eq(old, &row.desc)) {
                row.desc = new.clone();
                continue;
            }
            if let Some(new) = self.fix_desc(&row.desc) {
                let new = Arc::new(new);
                fixes.push((row.desc.clone(), new.clone()));
                row.desc = new;
            }
        }
    }

    /// A row description with the types the registry knows, for rows that
    /// arrive later (a stream); looked up first when needed.
    pub(crate) async fn resolved_desc(&self, desc: &Arc<RowDesc>) -> Option<Arc<RowDesc>> {
        if !desc.columns.iter().any(|c| is_placeholder(&c.type_)) {
            return None;
        }
        if let Err(e) = self
            .ensure_known(desc.columns.iter().map(|c| &c.type_))
            .await
        {
            tracing::warn!(error = %e, "looking up the result's types failed");
            return None;
        }
        self.fix_desc(desc).map(Arc::new)
    }

    /// Whether [`Client::settle_types`] has anything to do for `resp`
    /// (checked without awaiting, so that the common case neither grows
    /// the caller's future nor allocates).
    pub(crate) fn needs_settling(&self, resp: &crate::engine::Response) -> bool {
        resp.tag
            .as_deref()
            .is_some_and(crate::engine::response::invalidates_cache)
            || resp
                .stmt
                .as_ref()
                .is_some_and(|s| !s.settled() || s.types_stale(self.types.generation()))
            || resp
                .rows
                .front()
                .is_some_and(|r| r.desc.columns.iter().any(|c| is_placeholder(&c.type_)))
    }

    /// `resp` when there is nothing to settle (no await: the caller's
    /// future does not grow); else the boxed [`Client::settle_types`] to
    /// await, which hands it back.
    #[allow(clippy::type_complexity)]
    pub(crate) fn settle_now(
        &self,
        resp: crate::engine::Response,
    ) -> Result<
        crate::engine::Response,
        std::pin::Pin<Box<dyn std::future::Future<Output = crate::engine::Response> + Send + '_>>,
    > {
        if resp.error.is_some() || !self.needs_settling(&resp) {
            return Ok(resp);
        }
        Err(Box::pin(async move {
            let mut resp = resp;
            self.settle_types(&mut resp).await;
            resp
        }))
    }

    /// What a finished response says about types: DDL clears the registry
    /// (an `ALTER TYPE` changes what an OID means); the statement and the
    /// rows get the types that are not built in.
    pub(crate) async fn settle_types(&self, resp: &mut crate::engine::Response) {
        if resp
            .tag
            .as_deref()
            .is_some_and(crate::engine::response::invalidates_cache)
        {
            self.types.clear();
        }
        if let Some(stmt) = &resp.stmt {
            match self.resolve_stmt(stmt, resp.cached).await {
                Ok(Some(new)) => resp.stmt = Some(new),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "looking up the statement's types failed"),
            }
        }
        let rows = resp.rows.make_contiguous();
        self.resolve_rows(rows).await;
    }
}
