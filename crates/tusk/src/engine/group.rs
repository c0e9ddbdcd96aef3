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
        if self.prefix != Prefix::Ready {
            if self.prefix == Prefix::Unprepared && self.tx_status == TransactionStatus::Idle {
                self.prepare_prefix();
            }
            return;
        }
        let n = self.queue.len();
        if n < 2
            || self.tx_status != TransactionStatus::Idle
            || self.ungroupable_in_flight > 0
            || self.holds > 0
            || self.queue[n - 1].id != id
        {
            return;
        }
        let (b_start, b_end) = (self.queue[n - 1].start, self.queue[n - 1].end);
        let a = &self.queue[n - 2];
        if !a.groupable || !a.sync || a.done || a.start < self.written || a.end != b_start {
            return;
        }
        let (a_start, a_end) = (a.start, a.end);
        let rel = |off: u64| usize::try_from(off - self.written).ok();
        let (Some(a_rel), Some(sync_rel), Some(b_rel), Some(b_rel_end)) =
            (rel(a_start), rel(a_end - 5), rel(b_start), rel(b_end))
        else {
            return;
        };
        if b_rel_end != self.wbuf.len() || self.wbuf.get(sync_rel..b_rel) != Some(&SYNC[..]) {
            return;
        }
        let leads = !self.queue[n - 2].resp.group.grouped();
        if !leads && self.group_len >= MAX_GROUP {
            return;
        }
        // Each member's own messages (with a Sync of its own), kept to be
        // sent again alone.
        if leads {
            self.queue[n - 2].resend = Some(bytes::Bytes::copy_from_slice(
                &self.wbuf[a_rel..sync_rel + SYNC.len()],
            ));
        }
        self.queue[n - 1].resend =
            Some(bytes::Bytes::copy_from_slice(&self.wbuf[b_rel..b_rel_end]));
        let old_a_end = a_end;
        // Drop A's Sync: B's messages move up five bytes.
        let tail = self.wbuf.split_off(b_rel);
        self.wbuf.truncate(sync_rel);
        let mut shift: i64 = -5;
        if leads {
            // The group's first member: the read-only prefix goes first.
            let a_msgs = self.wbuf.split_off(a_rel);
            self.wbuf.extend_from_slice(&self.prefix_msgs);
            self.wbuf.unsplit(a_msgs);
            shift += i64::try_from(self.prefix_msgs.len()).unwrap_or(0);
            self.group_len = 1;
        }
        self.wbuf.unsplit(tail);
        let moved = |off: u64| off.saturating_add_signed(shift);
        let a = &mut self.queue[n - 2];
        a.end = moved(a.end);
        a.sync = false;
        if leads {
            a.resp.group = Grouping::PrefixAhead;
        }
        let b = &mut self.queue[n - 1];
        b.start = moved(b.start);
        b.end = moved(b.end);
        b.resp.group = Grouping::Member;
        let group_end = b.end;
        // The group's barrier: nothing behind it is written before its
        // ReadyForQuery (see above).
        if !leads {
            // (It was at A's end, which moved.)
            if let Some(i) = self.barriers.iter().rposition(|b| *b == old_a_end) {
                self.barriers.remove(i);
            }
        }
        self.barriers.push_back(group_end);
        self.syncs -= 1;
        self.group_len += 1;
        self.appended = self.written + self.wbuf.len() as u64;
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
            && frontend::execute("", 0, &mut msgs).is_ok()
            && frontend::parse(
                PREFIX_NAME,
                PREFIX_SQL,
                std::iter::empty::<u32>(),
                &mut self.wbuf,
            )
            .is_ok();
        if !encoded {
            self.prefix = Prefix::Off;
            return;
        }
        self.prefix_msgs = msgs.freeze();
        postgres_protocol::message::frontend::sync(&mut self.wbuf);
        let mut resp = Response::extended();
        resp.purpose = Purpose::PreparePrefix;
        let id = self.push(resp);
        if let Some(r) = self.req_mut(id) {
            r.abandoned = true;
        }
        self.prefix = Prefix::Preparing;
    }

    /// Marks the read-group member at the cursor to be sent again alone
    /// (see [`Engine::resend_redos`]); the server now skips the rest of its
    /// group up to the group's Sync.
    pub(super) fn redo_current(&mut self) {
        let cursor = self.cursor;
        let r = &mut self.queue[cursor];
        r.redo = true;
        if !r.sync {
            self.skipping = true;
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
        while first > 0 && !self.queue[first - 1].sync {
            first -= 1;
        }
        let redos: Vec<usize> = (first..=last).filter(|&i| self.queue[i].redo).collect();
        if redos.is_empty() {
            return;
        }
        let at = self.queue[last].end;
        // The group's barrier goes: the members sent again are alone.
        self.barriers.retain(|b| *b != at);
        let mut bytes = BytesMut::new();
        let mut spans = Vec::with_capacity(redos.len());
        for &i in &redos {
            let r = &self.queue[i];
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
                let r = &mut self.queue[i];
                r.redo = false;
                r.resp.error = Some(Error::new(
                    ErrorKind::Other,
                    "not run: another member of its read group failed",
                ));
            }
            for &i in &redos {
                self.cursor = i;
                self.finish_current(None);
            }
            self.cursor = (last + 1).min(self.queue.len());
            while self.queue.get(self.cursor).is_some_and(|r| r.done) {
                self.cursor += 1;
            }
            self.wake_watcher();
            return;
        }
        for (&i, (start, end, parse_again)) in redos.iter().zip(spans) {
            let r = &mut self.queue[i];
            r.redo = false;
            r.sync = true;
            r.resend = None;
            r.start = at + start;
            r.end = at + end;
            r.resp.reset_for_resend(parse_again);
            self.syncs += 1;
        }
        self.cursor = redos[0];
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
