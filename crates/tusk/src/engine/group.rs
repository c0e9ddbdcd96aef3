//! Read groups: concurrent plain reads sharing one Sync in one read-only
//! transaction (opt-in, `read_groups=on`), and sending again the members
//! the server skipped.

use super::*;

/// The statement that makes a read group's transaction read-only.
pub(super) const PREFIX_NAME: &str = "tusk_ro";
pub(super) const PREFIX_SQL: &str =
    "SELECT pg_catalog.set_config('transaction_read_only', 'on', true)";

/// Most members of one read group.
pub(super) const MAX_GROUP: usize = 64;

/// Where the read-only prefix statement stands on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefix {
    /// Not prepared yet.
    Unprepared,
    /// Its Parse is in flight.
    Preparing,
    /// Prepared: reads may be grouped.
    Ready,
    /// Grouping is off (pooler mode, or the prefix failed to prepare).
    Off,
}

/// Read groups on this connection. Invariants kept here: `Off` is final;
/// the prefix's messages are set before it is ready; the group being
/// built never has more than [`MAX_GROUP`] members.
pub(crate) struct Groups {
    prefix: Prefix,
    /// The prefix's Bind/Execute, encoded once.
    msgs: bytes::Bytes,
    /// Members of the read group at the end of the write buffer.
    len: usize,
    /// While an atomic group is being planned: the id of its first
    /// request. A cached statement whose Parse is in the same group may be
    /// used before the server confirmed it; nobody else's may.
    atomic_first: Option<u64>,
}

impl Groups {
    pub(super) fn new(on: bool) -> Groups {
        Groups {
            prefix: if on { Prefix::Unprepared } else { Prefix::Off },
            msgs: bytes::Bytes::new(),
            len: 0,
            atomic_first: None,
        }
    }

    pub(super) fn prefix(&self) -> Prefix {
        self.prefix
    }

    /// Grouping is off for good.
    pub(super) fn disable(&mut self) {
        self.prefix = Prefix::Off;
    }

    /// The prefix's Parse is in flight; `msgs` run it.
    pub(super) fn preparing(&mut self, msgs: bytes::Bytes) {
        if self.prefix != Prefix::Off {
            self.msgs = msgs;
            self.prefix = Prefix::Preparing;
        }
    }

    /// The prefix's Parse was answered: ready, or (it failed) off.
    pub(super) fn prepared(&mut self, ok: bool) {
        if self.prefix != Prefix::Off {
            self.prefix = if ok { Prefix::Ready } else { Prefix::Off };
        }
    }

    /// The server no longer has the prefix statement: it is prepared again
    /// before the next group.
    pub(super) fn lost(&mut self) {
        if self.prefix != Prefix::Off {
            self.prefix = Prefix::Unprepared;
        }
    }

    /// The Bind/Execute every group starts with.
    pub(super) fn msgs(&self) -> &bytes::Bytes {
        &self.msgs
    }

    /// A new group of two members; false when the group has as many as
    /// it may (a new one must be started instead).
    pub(super) fn join(&mut self, leads: bool) -> bool {
        if leads {
            self.len = 2;
            return true;
        }
        if self.len >= MAX_GROUP {
            return false;
        }
        self.len += 1;
        true
    }

    pub(super) fn atomic_first(&self) -> Option<u64> {
        self.atomic_first
    }

    pub(super) fn set_atomic_first(&mut self, id: Option<u64>) {
        self.atomic_first = id;
    }
}

impl Engine {
    /// Joins the read just pushed (`id`, the last request) with the read
    /// before it into one *read group*: their Syncs become one, so the
    /// server runs them in one implicit transaction, commits once and
    /// answers in one write (pgbench's pipeline has one Sync per 64
    /// queries; a Sync each costs the server about 5 µs per query: its own
    /// transaction, and a flush).
    ///
    /// What keeps the callers apart: the group starts with
    /// `set_config('transaction_read_only', 'on', true)`, so a member that
    /// would write fails (25006) instead, and is sent again alone; a
    /// member that fails makes the server skip the rest of the group up to
    /// its Sync, and the skipped ones are sent again (they never ran). A
    /// member's rows are its own as soon as its CommandComplete arrives:
    /// a read-only transaction has nothing to roll back that a reader saw.
    /// Only while the session is idle (no transaction block) and nothing
    /// but groupable reads is in flight; never in pooler mode; only when
    /// the connection opted in (`read_groups=on`).
    ///
    /// Order is kept: nothing behind a group is written before the group's
    /// ReadyForQuery (a barrier at its end), so a member sent again goes
    /// right behind its group, ahead of everything issued after it.
    pub(crate) fn try_group(&mut self, id: u64) {
        let idle = self.session.tx_status() == TransactionStatus::Idle;
        if self.groups.prefix() != Prefix::Ready {
            if self.groups.prefix() == Prefix::Unprepared && idle {
                self.prepare_prefix();
            }
            return;
        }
        let n = self.reqs.len();
        if n < 2 || !idle || self.reqs.ungroupable() > 0 || self.out.held() {
            return;
        }
        let (Some(a), Some(b)) = (self.reqs.at(n - 2), self.reqs.at(n - 1)) else {
            return;
        };
        if b.id() != id {
            return;
        }
        let (b_start, b_end) = (b.start(), b.end());
        let written = self.out.written();
        if !a.groupable() || !a.sync() || a.done() || a.start() < written || a.end() != b_start {
            return;
        }
        let (a_start, a_end) = (a.start(), a.end());
        let sync_at = a_end - SYNC.len() as u64;
        let (Some(a_rel), Some(sync_rel), Some(b_rel), Some(b_rel_end)) = (
            self.out.rel(a_start),
            self.out.rel(sync_at),
            self.out.rel(b_start),
            self.out.rel(b_end),
        ) else {
            return;
        };
        let bytes = self.out.bytes();
        if b_rel_end != bytes.len() || bytes.get(sync_rel..b_rel) != Some(&SYNC[..]) {
            return;
        }
        let leads = !a.resp.group.grouped();
        if !self.groups.join(leads) {
            return;
        }
        // Each member's own messages (with a Sync of its own), kept to be
        // sent again alone.
        let a_own = leads.then(|| bytes::Bytes::copy_from_slice(&bytes[a_rel..b_rel]));
        let b_own = bytes::Bytes::copy_from_slice(&bytes[b_rel..b_rel_end]);
        // Drop A's Sync: B's messages move up five bytes. The group's
        // first member gets the read-only prefix in front.
        self.out.remove(sync_at, SYNC.len());
        let mut shift: i64 = -5; // (a Sync)
        if leads {
            let msgs = self.groups.msgs().clone();
            self.out.insert(a_start, &msgs, false);
            shift += i64::try_from(msgs.len()).unwrap_or(0);
        }
        let moved = |off: u64| off.saturating_add_signed(shift);
        let a_new_end = moved(a_end);
        self.reqs.set_span(n - 2, a_start, a_new_end);
        self.reqs.set_sync(n - 2, false);
        self.reqs.set_span(n - 1, moved(b_start), moved(b_end));
        if let Some(a) = self.reqs.at_mut(n - 2) {
            if leads {
                a.resend = a_own;
                a.resp.group = Grouping::PrefixAhead;
            }
        }
        if let Some(b) = self.reqs.at_mut(n - 1) {
            b.resend = Some(b_own);
            b.resp.group = Grouping::Member;
        }
        // The group's barrier: nothing behind it is written before its
        // ReadyForQuery (see above). It was at A's end, which moved.
        if !leads {
            self.out.remove_barrier(a_new_end);
        }
        self.out.push_barrier(moved(b_end));
        self.out.register();
    }

    /// Queues the Parse of the read-only prefix, with nobody waiting, and
    /// encodes once the Bind/Execute that every read group starts with.
    pub(super) fn prepare_prefix(&mut self) {
        use postgres_protocol::message::frontend;
        let mut msgs = BytesMut::new();
        let encoded = frontend::bind(
            "",
            PREFIX_NAME,
            std::iter::empty::<i16>(),
            std::iter::empty::<()>(),
            |(), _| Ok(postgres_protocol::IsNull::Yes),
            Some(1),
            &mut msgs,
        )
        .is_ok()
            && frontend::execute("", 0, &mut msgs).is_ok();
        if !encoded {
            self.groups.disable();
            return;
        }
        let mut resp = Response::extended();
        resp.purpose = Purpose::PreparePrefix;
        let parsed = self.submit(Submit::WHOLE, resp, |w| {
            frontend::parse(PREFIX_NAME, PREFIX_SQL, std::iter::empty::<u32>(), w)
                .map_err(|e| Error::with_source(ErrorKind::Conversion, "cannot encode message", e))
        });
        match parsed {
            Ok(id) => {
                self.reqs.disown(id);
                self.groups.preparing(msgs.freeze());
            }
            Err(_) => self.groups.disable(),
        }
    }

    /// Marks the read-group member at the cursor to be sent again alone
    /// (see [`Engine::resend_redos`]); the server now skips the rest of its
    /// group up to the group's Sync.
    pub(super) fn redo_current(&mut self) {
        let Some(r) = self.reqs.current_mut() else {
            return;
        };
        r.redo = true;
        if !r.sync() {
            self.reqs.start_skipping();
            self.advance();
        }
    }

    /// The read group ending at queue index `last` got its ReadyForQuery:
    /// its members marked `redo` (skipped, or failed with 25006) go out
    /// again, each alone, right behind the group and ahead of everything
    /// issued after them (the group's barrier kept that unwritten), and the
    /// cursor moves back to the first of them.
    pub(super) fn resend_redos(&mut self, last: usize) {
        let mut first = last;
        while first > 0 && self.reqs.at(first - 1).is_some_and(|r| !r.sync()) {
            first -= 1;
        }
        let redos: Vec<usize> = (first..=last)
            .filter(|&i| self.reqs.at(i).is_some_and(|r| r.redo))
            .collect();
        if redos.is_empty() {
            return;
        }
        let Some(at) = self.reqs.at(last).map(Req::end) else {
            return;
        };
        // The group's barrier goes: the members sent again are alone.
        self.out.remove_barrier(at);
        let mut bytes = BytesMut::new();
        let mut spans = Vec::with_capacity(redos.len());
        for &i in &redos {
            let Some(r) = self.reqs.at(i) else { continue };
            let parse_again = r.resp.parse == ParseStep::Sent;
            let own = r.resend.clone().unwrap_or_default();
            let start = bytes.len();
            if parse_again {
                bytes.extend_from_slice(&own);
            } else {
                // Its Parse (and Describe) went through: bind it only.
                bytes.extend_from_slice(&without_parse(&own));
            }
            spans.push((start as u64, bytes.len() as u64, parse_again));
        }
        if !self.splice(at, &bytes) {
            // Something behind the group reached the server already: it
            // cannot go ahead of that; report the members as not run.
            tracing::warn!("read group members could not be sent again in order");
            for &i in &redos {
                if let Some(r) = self.reqs.at_mut(i) {
                    r.redo = false;
                    r.resp.error = Some(Error::new(
                        ErrorKind::Other,
                        "not run: another member of its read group failed",
                    ));
                }
                self.finish_at(i, None);
            }
            self.reqs.seek(last + 1);
            self.wake_watcher();
            return;
        }
        for (&i, (start, end, parse_again)) in redos.iter().zip(spans) {
            self.reqs.set_span(i, at + start, at + end);
            self.reqs.set_sync(i, true);
            if let Some(r) = self.reqs.at_mut(i) {
                r.redo = false;
                r.resend = None;
                r.resp.reset_for_resend(parse_again);
            }
        }
        self.reqs.rewind(redos[0]);
    }
}

/// `msgs` (whole frontend messages) without its Parse and Describe messages.
pub(super) fn without_parse(msgs: &[u8]) -> BytesMut {
    let mut out = BytesMut::with_capacity(msgs.len());
    let mut i = 0;
    while i + 5 <= msgs.len() {
        let len = u32::from_be_bytes([msgs[i + 1], msgs[i + 2], msgs[i + 3], msgs[i + 4]]) as usize;
        let end = (i + 1 + len).min(msgs.len());
        if !matches!(msgs[i], b'P' | b'D') {
            out.extend_from_slice(&msgs[i..end]);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_is_final_and_groups_are_bounded() {
        let mut g = Groups::new(true);
        assert_eq!(g.prefix(), Prefix::Unprepared);
        g.preparing(bytes::Bytes::from_static(b"m"));
        assert_eq!(g.prefix(), Prefix::Preparing);
        g.prepared(true);
        assert_eq!(g.prefix(), Prefix::Ready);
        g.lost();
        assert_eq!(g.prefix(), Prefix::Unprepared);
        g.prepared(false);
        assert_eq!(g.prefix(), Prefix::Off);
        for step in [
            Groups::lost as fn(&mut Groups),
            |g| g.prepared(true),
            |g| g.preparing(bytes::Bytes::new()),
        ] {
            step(&mut g);
            assert_eq!(g.prefix(), Prefix::Off, "nothing turns grouping back on");
        }
        let mut g = Groups::new(true);
        assert!(g.join(true));
        for _ in 2..MAX_GROUP {
            assert!(g.join(false));
        }
        assert!(!g.join(false), "a group has at most MAX_GROUP members");
        assert!(g.join(true), "a new group starts");
        assert_eq!(Groups::new(false).prefix(), Prefix::Off);
    }
}
