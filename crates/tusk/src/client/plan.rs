//! Planning a query's flight: which statement (cached, explicitly prepared
//! or unnamed), which messages, which Sync group; submitted to the engine.

use bytes::BytesMut;
use postgres_protocol::message::frontend;
use postgres_types::Type;

use super::Client;
use crate::engine::{ParseStep, Response, State, Submit, Ticket};
use crate::error::{Error, ErrorKind};
use crate::query::Query;
use crate::sql_text;
use crate::statement::{ParamMode, Statement};
use crate::types::params::{self, Formats, Param};

/// What building a query's flight produced.
pub(super) enum Plan {
    /// The query is on its way.
    Run(Ticket),
    /// A describe (or a sync behind someone else's describe) must finish
    /// first; then plan again. Carries the unnamed statement if any.
    Describe(Ticket, Option<Statement>),
    /// A part of an atomic group whose parameter types only the server
    /// can tell, and no description was given: nothing was appended.
    Undescribed,
    /// The cached statement for the query has parameter types that are not
    /// built in and were not looked up yet: resolve it, then plan again.
    /// Nothing was appended.
    Resolve(Statement),
}

/// Why an atomic group could not be submitted.
pub(crate) enum GroupError {
    /// Statement `i` needs its parameter types described first.
    Describe(usize),
    /// Statement `i` cannot be sent (nothing of the group was).
    Failed(usize, Error),
}

/// Where a query stands in its Sync group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// Alone: its own Sync.
    Whole,
    /// Alone, but a read may share its Sync with concurrent reads (a read
    /// group, see `Engine::try_group`): only for callers that send again
    /// what the server skipped.
    Read,
    /// An inner part of an atomic group: no Sync.
    Inner,
    /// The last part of an atomic group: the group's Sync.
    Last,
}

pub(super) fn map_err(e: std::io::Error) -> Error {
    Error::with_source(ErrorKind::Conversion, "cannot encode message", e)
}

/// Whether `sql` is a plain `SELECT` that may join a read group (decided
/// once, when its statement enters the cache): it starts
/// with `SELECT` and does not call `set_config` (whose transaction-local
/// settings would reach the group's other members). A `SELECT` that writes
/// after all (a function, `FOR UPDATE`, `INTO`) fails in the group's
/// read-only transaction and is sent again alone, and its cached statement is never grouped again.
pub(super) fn is_plain_read(sql: &str) -> bool {
    let s = sql.trim_start();
    let Some(head) = s.get(..6) else {
        return false;
    };
    head.eq_ignore_ascii_case("select")
        && s.as_bytes()
            .get(6)
            .is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'_')
        && !contains_ignore_case(s, "set_config")
}

fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

impl Part {
    /// An inner or last part of an atomic group.
    fn in_atomic_group(self) -> bool {
        matches!(self, Part::Inner | Part::Last)
    }
}

impl Client {
    /// Plans and appends one query's flight. Nothing is appended on error.
    pub(super) fn build(
        &self,
        st: &mut State,
        q: &Query<'_>,
        params: &[Param<'_>],
        described: Option<&Statement>,
        stream_limit: Option<usize>,
        part: Part,
    ) -> Result<Plan, Error> {
        st.check()?;
        // The Bind is encoded into the engine's scratch buffer (no
        // allocation per query), then copied behind the flight's other
        // messages.
        let mut bindbuf = st.take_scratch();
        let plan = self.build_with(st, &mut bindbuf, q, params, described, stream_limit, part);
        st.put_scratch(bindbuf);
        plan
    }

    /// [`Client::build`], with `bindbuf` (empty) to encode the Bind into.
    #[allow(clippy::too_many_arguments)]
    fn build_with(
        &self,
        st: &mut State,
        bindbuf: &mut BytesMut,
        q: &Query<'_>,
        params: &[Param<'_>],
        described: Option<&Statement>,
        stream_limit: Option<usize>,
        part: Part,
    ) -> Result<Plan, Error> {
        let text = q.opts.text;
        let mut scratch = BytesMut::new();
        let mut resp = Response::extended();
        resp.text_results = text;
        resp.stream_limit = stream_limit;

        // An explicitly prepared statement: described by `prepare`.
        if let Some(stmt) = q.stmt {
            let d = stmt.described().ok_or_else(|| {
                Error::new(
                    ErrorKind::Other,
                    "statement is not prepared on this connection",
                )
            })?;
            let owned;
            let modes = if stmt.0.modes.len() == d.params.len() {
                &stmt.0.modes
            } else {
                owned = vec![ParamMode::Infer; d.params.len()];
                &owned
            };
            params::try_bind(
                bindbuf,
                q.portal_name(),
                stmt.name(),
                modes,
                Some(&d.params),
                params,
                Formats::of(text, Some(&d.desc.columns)),
            )?;
            st.append_closes();
            // An unnamed statement (pooler mode): parsed again in this
            // very flight, with the types the server described, so
            // nothing spans two flights.
            let unnamed = stmt.name().is_empty();
            if unnamed {
                resp.parse = ParseStep::Sent;
            }
            resp.stmt = Some(stmt.clone());
            let copy = stmt.is_copy();
            let id = self.push(st, resp, q, part, copy, |w| {
                if unnamed {
                    frontend::parse("", stmt.sql(), d.params.iter().map(Type::oid), w)
                        .map_err(map_err)?;
                }
                w.extend_from_slice(bindbuf);
                put_execute(q, w)
            })?;
            return Ok(Plan::Run(self.ticket(id)));
        }

        let cache_on = !st.pooler_mode() && q.opts.cache.unwrap_or(true) && !st.cache().disabled();
        if cache_on {
            // Try the cached variants by encoding straight away: the
            // common case encodes each value once, no probing.
            let mut chosen: Option<(Statement, bool)> = None;
            let own_group = st.atomic_group_first();
            if let Some(vs) = st.cache_mut().get(q.sql) {
                for s in vs {
                    // A statement the server has not confirmed yet is only
                    // for the atomic group that parses it: if its Parse
                    // fails or is skipped, it never existed.
                    let pending = s.pending();
                    if pending != 0 && own_group.is_none_or(|g| pending < g) {
                        continue;
                    }
                    let server = s.described().map(|d| d.params.as_slice());
                    if server.is_none() && s.0.modes.contains(&ParamMode::Infer) {
                        if part.in_atomic_group() {
                            // A group cannot wait for a describe midway.
                            continue;
                        }
                        chosen = Some((s.clone(), true));
                        break;
                    }
                    // Described, but its types not looked up yet, or
                    // looked up before the type registry was cleared, or
                    // its columns not marked for per-column formats.
                    if !part.in_atomic_group()
                        && server.is_some()
                        && (!s.settled() || s.types_stale(self.types.generation()))
                    {
                        return Ok(Plan::Resolve(s.clone()));
                    }
                    bindbuf.clear();
                    let formats = Formats::of(text, s.described().map(|d| &d.desc.columns[..]));
                    match params::try_bind(
                        bindbuf,
                        q.portal_name(),
                        s.name(),
                        &s.0.modes,
                        server,
                        params,
                        formats,
                    ) {
                        Ok(()) => {
                            chosen = Some((s.clone(), false));
                            break;
                        }
                        Err(params::BindError::Mismatch(_)) => continue,
                        // The value does not take the type the server gave
                        // its parameter: no statement for this SQL can.
                        Err(params::BindError::Unfit(e) | params::BindError::Value(e)) => {
                            return Err(e)
                        }
                    }
                }
            }
            if let Some((stmt, wait)) = chosen {
                if wait {
                    // Someone else's describe of this statement is in flight:
                    // wait behind it with a bare Sync.
                    let id = st.submit(Submit::WHOLE, Response::extended(), |_| Ok(()))?;
                    return Ok(Plan::Describe(self.ticket(id), None));
                }
                st.append_closes();
                let copy = stmt.is_copy();
                resp.stmt = Some(stmt);
                resp.cached = true;
                // Bind and Execute copied into the flight at once.
                put_execute(q, bindbuf)?;
                let id = self.push(st, resp, q, part, copy, |w| {
                    w.extend_from_slice(bindbuf);
                    Ok(())
                })?;
                return Ok(Plan::Run(self.ticket(id)));
            }
            bindbuf.clear();
        }

        // Cold: choose each parameter's mode from its Rust value.
        let mut modes: Vec<ParamMode> = match described {
            Some(d) => d
                .params()
                .iter()
                .map(|t| ParamMode::Binary(t.clone()))
                .collect(),
            None => params
                .iter()
                .map(|p| params::probe(*p, &mut scratch))
                .collect(),
        };
        if described.is_none() {
            let n = params::count_placeholders(q.sql);
            if n != params.len() {
                return Err(Error::conversion(format!(
                    "the query uses {n} parameter{} but {} {} given",
                    if n == 1 { "" } else { "s" },
                    params.len(),
                    if params.len() == 1 { "was" } else { "were" }
                )));
            }
        }
        let infer = modes.contains(&ParamMode::Infer);
        if infer && described.is_none() && part.in_atomic_group() {
            return Ok(Plan::Undescribed);
        }
        let oids: Vec<u32> = modes.iter().map(ParamMode::declared_oid).collect();
        let copy = sql_text::is_copy(q.sql);

        if cache_on {
            let name = st.new_statement_name("tusk_s");
            let stmt = Statement::new(
                name,
                q.sql.into(),
                std::mem::take(&mut modes),
                Some(st.statement_closer()),
            );
            if !infer {
                params::try_bind(
                    bindbuf,
                    q.portal_name(),
                    stmt.name(),
                    &stmt.0.modes,
                    None,
                    params,
                    Formats::of(text, None),
                )?;
            }
            st.append_closes();
            resp.parse = ParseStep::Sent;
            resp.describing = true;
            resp.cached = true;
            resp.stmt = Some(stmt.clone());
            stmt.set_groupable(is_plain_read(q.sql));
            let head = |w: &mut BytesMut| {
                frontend::parse(stmt.name(), q.sql, oids, w).map_err(map_err)?;
                frontend::describe(b'S', stmt.name(), w).map_err(map_err)
            };
            let (id, plan) = if infer {
                resp.stream_limit = None;
                let id = st.submit(Submit::WHOLE, resp, head)?;
                (id, Plan::Describe(self.ticket(id), None))
            } else {
                let id = self.push(st, resp, q, part, copy, |w| {
                    head(w)?;
                    w.extend_from_slice(bindbuf);
                    put_execute(q, w)
                })?;
                (id, Plan::Run(self.ticket(id)))
            };
            // Pending until the server confirms its Parse, which this
            // request carries.
            stmt.set_pending(id);
            st.cache_mut().insert(q.sql, stmt);
            return Ok(plan);
        }

        // Unnamed statement: Parse/Describe/Bind/Execute/Sync in one flight.
        let stmt = Statement::new(String::new(), q.sql.into(), modes, None);
        if !infer {
            params::try_bind(
                bindbuf,
                q.portal_name(),
                "",
                &stmt.0.modes,
                None,
                params,
                Formats::of(text, None),
            )?;
        }
        st.append_closes();
        resp.parse = ParseStep::Sent;
        resp.describing = true;
        resp.stmt = Some(stmt.clone());
        let head = |w: &mut BytesMut| {
            frontend::parse("", q.sql, oids, w).map_err(map_err)?;
            frontend::describe(b'S', "", w).map_err(map_err)
        };
        if infer {
            resp.stream_limit = None;
            let id = st.submit(Submit::WHOLE, resp, head)?;
            return Ok(Plan::Describe(self.ticket(id), Some(stmt)));
        }
        let id = self.push(st, resp, q, part, copy, |w| {
            head(w)?;
            w.extend_from_slice(bindbuf);
            put_execute(q, w)
        })?;
        Ok(Plan::Run(self.ticket(id)))
    }

    /// Submits a planned query's messages (`encode`; a Sync follows
    /// unless it is an inner part of a group). A timed query, and a COPY,
    /// get a barrier: nothing behind them is written until they complete
    /// (so a cancel can only hit the timed query, and a COPY's CopyFail can
    /// go right behind it).
    pub(super) fn push(
        &self,
        st: &mut State,
        resp: Response,
        q: &Query<'_>,
        part: Part,
        copy: bool,
        encode: impl FnOnce(&mut BytesMut) -> Result<(), Error>,
    ) -> Result<u64, Error> {
        let groupable = part == Part::Read
            && !copy
            && q.opts.timeout.is_none()
            && resp.stream_limit.is_none()
            && resp.cached
            && resp.stmt.as_ref().is_some_and(Statement::groupable);
        let how = Submit {
            sync: part != Part::Inner,
            groupable,
            barrier: q.opts.timeout.is_some() || copy || q.declare_guard,
        };
        let id = st.submit(how, resp, encode)?;
        if q.declare_guard {
            // The slot where a dropped DECLARE's cursor is closed (see
            // `engine::guard`); nobody waits for its ReadyForQuery.
            let slot = st.submit(Submit::WHOLE, Response::extended(), |_| Ok(()))?;
            st.abandon(slot);
        }
        Ok(id)
    }

    /// Submits the queries of an atomic group: one flight, one Sync, so
    /// they run in one transaction. A statement whose parameter types only
    /// the server can tell comes with its description (from
    /// [`Client::describe`]); one that lacks it is reported, and nothing is
    /// sent. Nothing is sent either when one of them cannot be encoded: the
    /// error comes with its index.
    pub(crate) fn submit_group(
        &self,
        items: &[(&Query<'_>, &[Param<'_>], Option<&Statement>)],
    ) -> Result<Vec<Ticket>, GroupError> {
        let mut st = self.shared.lock();
        if let Err(e) = st.check() {
            return Err(GroupError::Failed(0, e));
        }
        st.append_closes();
        let mark = st.mark();
        let first = st.next_request_id();
        st.set_atomic_group_first(Some(first));
        let mut tickets = Vec::with_capacity(items.len());
        let mut failed = None;
        for (i, (q, params, described)) in items.iter().enumerate() {
            let part = if i + 1 == items.len() {
                Part::Last
            } else {
                Part::Inner
            };
            match self.build(&mut st, q, params, *described, None, part) {
                Ok(Plan::Run(t)) => tickets.push(t),
                Ok(Plan::Describe(mut t, _)) => {
                    t.finished = true;
                    failed = Some(GroupError::Failed(
                        i,
                        Error::new(
                            ErrorKind::Other,
                            "internal: an atomic group planned a describe",
                        ),
                    ));
                    break;
                }
                Ok(Plan::Undescribed | Plan::Resolve(_)) => {
                    failed = Some(GroupError::Describe(i));
                    break;
                }
                Err(e) => {
                    failed = Some(GroupError::Failed(i, e));
                    break;
                }
            }
        }
        st.set_atomic_group_first(None);
        if let Some(f) = failed {
            for t in &mut tickets {
                t.finished = true;
            }
            st.undo(mark);
            return Err(f);
        }
        Ok(tickets)
    }

    /// Whether `q` needs its parameter types described by the server
    /// before it can be part of an atomic group: a parameter has no
    /// natural type, and no confirmed cached statement takes the values.
    pub(crate) fn needs_describe(&self, q: &Query<'_>, params: &[Param<'_>]) -> bool {
        if q.stmt.is_some() {
            return false;
        }
        let mut scratch = BytesMut::new();
        if !params
            .iter()
            .any(|p| params::probe(*p, &mut scratch) == ParamMode::Infer)
        {
            return false;
        }
        let mut st = self.shared.lock();
        if st.pooler_mode() || q.opts.cache == Some(false) || st.cache().disabled() {
            return true;
        }
        let Some(vs) = st.cache_mut().get(q.sql) else {
            return true;
        };
        !vs.iter().any(|s| {
            let server = s.described().map(|d| d.params.as_slice());
            s.pending() == 0
                && (server.is_some() || !s.0.modes.contains(&ParamMode::Infer))
                && params::try_bind(
                    &mut scratch,
                    "",
                    s.name(),
                    &s.0.modes,
                    server,
                    params,
                    Formats::Binary,
                )
                .is_ok()
        })
    }

    /// Appends Parse/Describe/Sync for a new named statement whose
    /// parameter types the server infers (past the `oids` given), and
    /// registers the request (`cached`: the statement is the cache's).
    pub(super) fn describe_flight(
        &self,
        st: &mut State,
        name: String,
        sql: &str,
        oids: &[u32],
        cached: bool,
    ) -> Result<(Ticket, Statement), Error> {
        let n = params::count_placeholders(sql).max(oids.len());
        let closer = (!name.is_empty()).then(|| st.statement_closer());
        let stmt = Statement::new(name, sql.into(), vec![ParamMode::Infer; n], closer);
        let oids = (0..n).map(|i| oids.get(i).copied().unwrap_or(0));
        st.append_closes();
        let mut resp = Response::extended();
        resp.parse = ParseStep::Sent;
        resp.describing = true;
        resp.cached = cached;
        resp.stmt = Some(stmt.clone());
        let id = st.submit(Submit::WHOLE, resp, |w| {
            frontend::parse(stmt.name(), sql, oids, w).map_err(map_err)?;
            frontend::describe(b'S', stmt.name(), w).map_err(map_err)
        })?;
        Ok((self.ticket(id), stmt))
    }
}

/// The Execute message of the unnamed portal for all its rows, the one
/// nearly every query sends.
const EXECUTE_ALL: [u8; 10] = [b'E', 0, 0, 0, 9, 0, 0, 0, 0, 0];

/// Appends the query's Execute: the common one as a constant, without the
/// encoder's field-by-field writes.
fn put_execute(q: &Query<'_>, w: &mut BytesMut) -> Result<(), Error> {
    if q.portal_name().is_empty() && q.max_rows() == 0 {
        w.extend_from_slice(&EXECUTE_ALL);
        return Ok(());
    }
    frontend::execute(q.portal_name(), q.max_rows(), w).map_err(map_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constant_execute_is_the_encoders() {
        let mut b = BytesMut::new();
        frontend::execute("", 0, &mut b).unwrap();
        assert_eq!(&b[..], &EXECUTE_ALL[..]);
    }
}
