//! Message dispatch: the server's messages, framed from the receive
//! buffer, applied to the request the server is answering.

use super::*;
use postgres_protocol::message::backend::{CommandCompleteBody, RowDescriptionBody};

impl Engine {
    /// Takes bytes from the server (as a read would) and dispatches every
    /// complete message: the pure half of a driver turn, for tests.
    #[cfg(test)]
    pub(super) fn receive(&mut self, bytes: &[u8]) -> Result<bool, Error> {
        self.inc.feed(bytes);
        self.process()
    }

    /// Dispatches complete messages in the receive buffer. True if any was.
    pub(super) fn process(&mut self) -> Result<bool, Error> {
        let mut progress = false;
        loop {
            if let Some(r) = self.reqs.current() {
                if let Some(limit) = r.resp.stream_limit {
                    // A stream's consumer is behind: stop reading (TCP
                    // flow control holds the server back), unless another
                    // caller waits for an answer behind the stream's rows.
                    // Then the stream buffers on, so that nobody waits for
                    // the stream's consumer (who may be that very caller).
                    let others = self.reqs.waiting() > usize::from(r.has_waker())
                        || self.delivery.has_idle_waiters();
                    if r.resp.buffered() >= limit && !r.done() && !others {
                        self.role.set_stalled(true);
                        return Ok(progress);
                    }
                }
            }
            self.role.set_stalled(false);
            let Some(frame) = self.inc.frame()? else {
                return Ok(progress);
            };
            progress = true;
            match frame {
                Frame::DataRow(body) => self.on_data_row(body)?,
                Frame::CopyData(body) => self.on_copy_data(body)?,
                Frame::Message(tag, msg) => self.on_message(tag, msg)?,
            }
        }
    }

    pub(super) fn on_data_row(&mut self, body: bytes::Bytes) -> Result<(), Error> {
        let driver = self.role.who();
        let Some(r) = self.reqs.current_mut() else {
            return Err(Error::protocol("DataRow with no query in flight"));
        };
        let abandoned = r.abandoned();
        let id = r.id();
        let resp = &mut r.resp;
        if resp.skipping_copy || resp.group == Grouping::PrefixAhead || resp.reset.owns_rows() {
            // (A read group's prefix row, or a carried reset's, is not
            // this request's.)
            return Ok(());
        }
        let desc = match &resp.desc {
            Some(d) => d.clone(),
            None => {
                let d = resp
                    .stmt
                    .as_ref()
                    .and_then(|s| s.described())
                    .map(|d| d.desc.clone())
                    .ok_or_else(|| Error::protocol("DataRow before any RowDescription"))?;
                let d = if resp.text_results && !d.text {
                    Arc::new(RowDesc {
                        columns: d.columns.clone(),
                        text: true,
                    })
                } else {
                    d
                };
                resp.desc = Some(d.clone());
                d
            }
        };
        let row = Row::new(desc, body)?;
        if abandoned {
            return Ok(());
        }
        if resp.proto == Proto::Simple {
            resp.simple.push(SimpleQueryMessage::Row(row));
        } else {
            resp.rows.push_back(row);
            if resp.stream_limit.is_some() && driver != Some(Driver::Request(id)) {
                r.wake();
            }
        }
        Ok(())
    }

    pub(super) fn on_message(&mut self, tag: u8, msg: Message) -> Result<(), Error> {
        match msg {
            Message::NoticeResponse(body) => {
                let notice = DbError::parse(&mut body.fields())
                    .map_err(|e| Error::with_source(ErrorKind::Protocol, "malformed notice", e))?;
                self.delivery.notice(&notice);
                return Ok(());
            }
            Message::NotificationResponse(body) => {
                let n = Notification {
                    process_id: body.process_id(),
                    channel: body
                        .channel()
                        .map_err(|e| {
                            Error::with_source(ErrorKind::Protocol, "bad notification", e)
                        })?
                        .to_string(),
                    payload: body
                        .message()
                        .map_err(|e| {
                            Error::with_source(ErrorKind::Protocol, "bad notification", e)
                        })?
                        .to_string(),
                };
                // One delivered before a session reset ended is for the
                // previous holder's LISTENs: dropped.
                let dropped = self.drops_notifications();
                self.delivery.notify(n, self.current_id(), dropped);
                return Ok(());
            }
            Message::ParameterStatus(body) => {
                let name = body.name().map_err(|e| {
                    Error::with_source(ErrorKind::Protocol, "bad ParameterStatus", e)
                })?;
                let value = body.value().map_err(|e| {
                    Error::with_source(ErrorKind::Protocol, "bad ParameterStatus", e)
                })?;
                self.session.set_param(name, value);
                return Ok(());
            }
            _ => {}
        }
        let Some(r) = self.reqs.current_mut() else {
            if let Message::ErrorResponse(body) = msg {
                let db = DbError::parse(&mut body.fields())
                    .map_err(|e| Error::with_source(ErrorKind::Protocol, "malformed error", e))?;
                let kind = crate::error::kind_of(&db.code);
                let e = Error::db(db);
                return Err(if kind == ErrorKind::Connection {
                    e
                } else {
                    e.with_kind(ErrorKind::Connection)
                });
            }
            return Err(Error::protocol(format!(
                "unexpected message {:?} with no query in flight",
                char::from(tag)
            )));
        };
        if r.resp.reset.is_answering() {
            return self.on_reset_message(msg);
        }
        let sync = r.sync();
        let abandoned = r.abandoned();
        let resp = &mut r.resp;
        if resp.skipping_copy && !matches!(msg, Message::CopyDone | Message::CopyData(_)) {
            resp.skipping_copy = false;
        }
        match msg {
            Message::ParseComplete => {
                resp.parse = ParseStep::Confirmed;
                if resp.cached {
                    if let Some(s) = &resp.stmt {
                        self.stmts.cache_mut().confirm(s);
                    }
                }
            }
            Message::BindComplete => {
                if resp.group != Grouping::PrefixAhead {
                    resp.bound = true;
                }
            }
            Message::CloseComplete => {}
            Message::ParameterDescription(body) => {
                let mut types = Vec::new();
                let mut it = body.parameters();
                while let Some(oid) = it.next().map_err(|e| {
                    Error::with_source(ErrorKind::Protocol, "bad ParameterDescription", e)
                })? {
                    types.push(type_of(oid));
                }
                resp.params = Some(types);
            }
            Message::RowDescription(body) => on_row_description(resp, body)?,
            Message::NoData => {
                let desc = Arc::new(RowDesc {
                    columns: Vec::new(),
                    text: resp.text_results,
                });
                if resp.describing {
                    if let Some(s) = &resp.stmt {
                        let _ = s.0.described.set(Described {
                            params: resp.params.clone().unwrap_or_default(),
                            desc: desc.clone(),
                        });
                    }
                }
                resp.desc = Some(desc);
            }
            Message::CommandComplete(body) => self.on_command_complete(body)?,
            Message::EmptyQueryResponse => {
                if resp.proto == Proto::Simple {
                    resp.simple.push(SimpleQueryMessage::CommandComplete {
                        tag: String::new(),
                        rows: 0,
                    });
                }
                if !sync {
                    self.finish_current(None);
                }
            }
            Message::PortalSuspended => {
                resp.suspended = true;
                if !sync {
                    self.finish_current(None);
                }
            }
            Message::ErrorResponse(body) => self.on_error(body)?,
            Message::ReadyForQuery(body) => self.on_ready(body)?,
            Message::CopyInResponse(_) if resp.copy == CopyPhase::WantIn && !abandoned => {
                resp.copy = CopyPhase::In;
                self.wake_copier();
            }
            Message::CopyInResponse(_) => self.on_copy_in()?,
            Message::CopyOutResponse(_) if resp.copy == CopyPhase::WantOut && !abandoned => {
                resp.copy = CopyPhase::Out;
                self.wake_copier();
            }
            Message::CopyOutResponse(_) => {
                resp.skipping_copy = true;
                if resp.error.is_none() {
                    resp.error = Some(Error::new(
                        ErrorKind::CopyViaQuery,
                        "COPY TO STDOUT cannot run through this method: use copy_out; its output was \
                         discarded and the connection remains usable",
                    ));
                }
            }
            Message::CopyData(_) | Message::CopyDone => {}
            _ => {
                return Err(Error::protocol(format!(
                    "unexpected message {:?}",
                    char::from(tag)
                )));
            }
        }
        Ok(())
    }
}

/// A RowDescription: the request's columns (stored with its statement
/// when it describes one).
fn on_row_description(resp: &mut Response, body: RowDescriptionBody) -> Result<(), Error> {
    let mut columns = Vec::new();
    let mut it = body.fields();
    while let Some(f) = it
        .next()
        .map_err(|e| Error::with_source(ErrorKind::Protocol, "bad RowDescription", e))?
    {
        columns.push(Column {
            name: f.name().to_string(),
            type_: type_of(f.type_oid()),
            table_oid: f.table_oid(),
            column_id: f.column_id(),
            type_modifier: f.type_modifier(),
            text: false,
        });
    }
    let text = resp.proto == Proto::Simple || resp.text_results;
    let desc = Arc::new(RowDesc { columns, text });
    if resp.describing && resp.proto == Proto::Extended {
        if let Some(s) = &resp.stmt {
            let stored = if text {
                Arc::new(RowDesc {
                    columns: desc.columns.clone(),
                    text: false,
                })
            } else {
                desc.clone()
            };
            let _ = s.0.described.set(Described {
                params: resp.params.clone().unwrap_or_default(),
                desc: stored,
            });
        }
    }
    resp.desc = Some(desc);
    Ok(())
}

impl Engine {
    /// A CommandComplete: the request's tag (or the read-group prefix's).
    pub(super) fn on_command_complete(&mut self, body: CommandCompleteBody) -> Result<(), Error> {
        let tag = body
            .tag()
            .map_err(|e| Error::with_source(ErrorKind::Protocol, "bad CommandComplete", e))?
            .to_string();
        let Some(r) = self.reqs.current_mut() else {
            return Err(Error::protocol("CommandComplete with no query in flight"));
        };
        let sync = r.sync();
        let resp = &mut r.resp;
        if resp.group == Grouping::PrefixAhead {
            // The read group's prefix, not this request's.
            resp.group = Grouping::Member;
            return Ok(());
        }
        if resp.proto == Proto::Simple {
            let rows = response::rows_from_tag(&tag);
            resp.simple.push(SimpleQueryMessage::CommandComplete {
                tag: tag.clone(),
                rows,
            });
            resp.desc = None;
        }
        let invalidates = response::invalidates_cache(&tag);
        let drops_prefix = tag == "DISCARD ALL" || tag.starts_with("DEALLOCATE");
        resp.tag = Some(tag);
        if invalidates {
            self.stmts.cache_mut().clear();
            if drops_prefix {
                self.groups.lost();
            }
        }
        if !sync {
            self.finish_current(None);
        }
        Ok(())
    }

    /// A CopyInResponse nobody asked for: refused with a CopyFail.
    pub(super) fn on_copy_in(&mut self) -> Result<(), Error> {
        let cursor = self.reqs.cursor();
        let Some(r) = self.reqs.current_mut() else {
            return Err(Error::protocol("CopyInResponse with no query in flight"));
        };
        let resp = &mut r.resp;
        // COPY FROM STDIN through a query method: it cannot get its
        // data. Refuse cleanly so the connection stays usable: a
        // CopyFail right behind the request (nothing behind it was
        // written: a COPY request carries a barrier), and, in the
        // extended protocol, a Sync (the server ignored the
        // request's own Sync while in COPY mode, and skips to the
        // next Sync after the CopyFail's error).
        if resp.error.is_none() {
            resp.error = Some(Error::new(
                ErrorKind::CopyViaQuery,
                "COPY ... FROM STDIN cannot run through query, execute or simple_query \
                 (it needs COPY data, which these methods do not send): use copy_in; the \
                 COPY was aborted and the connection remains usable",
            ));
        }
        let mut out = BytesMut::new();
        let _ = postgres_protocol::message::frontend::copy_fail(
            "COPY FROM STDIN is not supported by this method",
            &mut out,
        );
        if resp.proto == Proto::Extended {
            postgres_protocol::message::frontend::sync(&mut out);
        }
        let (start, at) = (r.start(), r.end());
        if !self.splice(at, &out) {
            // What follows the COPY reached the server inside COPY
            // mode: the session cannot be put back in step.
            return Err(Error::new(
                ErrorKind::Connection,
                "COPY FROM STDIN started where no COPY was expected; the connection was closed",
            ));
        }
        self.reqs.set_span(cursor, start, at + out.len() as u64);
        Ok(())
    }
}
