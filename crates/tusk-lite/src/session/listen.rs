//! The session's side of LISTEN/NOTIFY (see [`crate::notify`]): queuing
//! in the open transaction, applying at commit, and the notifications the
//! wire layer sends before ReadyForQuery.

use std::io::Write;

use super::*;
use crate::notify::{ListenOp, Listener, Notification};

/// Frames one notification for the client.
pub type Encode = fn(&Notification, &mut Vec<u8>);

/// A session's listening state.
#[derive(Default)]
pub struct ListenState {
    /// Registered with the hub at the first committed LISTEN.
    listener: Option<Arc<Listener>>,
    /// A clone of the client socket, for the delivery thread.
    writer: Option<(Box<dyn Write + Send>, Encode)>,
    /// The pending queue's lengths at each open savepoint.
    pub(super) marks: Vec<(usize, usize)>,
}

impl Session {
    /// Gives the session its backend pid and a second handle on its
    /// client socket (for notifications that arrive while it is idle).
    pub fn set_client(&mut self, pid: i32, writer: Option<Box<dyn Write + Send>>, encode: Encode) {
        self.info.pid = pid;
        self.listen.writer = writer.map(|w| (w, encode));
    }

    /// The session's listener, once it has listened.
    pub fn listener(&self) -> Option<&Arc<Listener>> {
        self.listen.listener.as_ref()
    }

    /// The notifications to send before a ReadyForQuery: none inside a
    /// transaction block.
    pub fn take_notifications(&self) -> Vec<Notification> {
        match &self.listen.listener {
            Some(l) if self.txn.is_none() => l.drain(),
            _ => Vec::new(),
        }
    }

    /// A new transaction starts with nothing pending.
    pub(super) fn reset_pending(&mut self) {
        *self.info.notify.lock() = Default::default();
        self.listen.marks.clear();
    }

    /// Queues LISTEN/UNLISTEN for the open transaction's commit.
    pub(super) fn queue_listen(&mut self, op: ListenOp) {
        self.ensure_txn();
        self.info.notify.lock().ops.push(op);
    }

    /// Queues NOTIFY for the open transaction's commit.
    pub(super) fn queue_notify(&mut self, channel: &str, payload: &str) -> Result<()> {
        self.ensure_txn();
        self.info.notify.lock().notify(channel, payload)
    }

    /// After a commit: applies its LISTEN/UNLISTEN, then sends its
    /// notifications to every listening session.
    pub(super) fn after_commit(&mut self) {
        let pending = std::mem::take(&mut *self.info.notify.lock());
        self.listen.marks.clear();
        for op in &pending.ops {
            if self.listen.listener.is_none() {
                if !matches!(op, ListenOp::Listen(_)) {
                    continue;
                }
                let (writer, encode) = match self.listen.writer.take() {
                    Some(w) => w,
                    None => (
                        Box::new(std::io::sink()) as Box<dyn Write + Send>,
                        no_encode as Encode,
                    ),
                };
                self.listen.listener =
                    Some(self.engine.notify.register(self.info.pid, writer, encode));
            }
            if let Some(l) = &self.listen.listener {
                l.apply(op);
            }
        }
        let notes: Vec<Notification> = pending
            .notes
            .into_iter()
            .map(|(channel, payload)| Notification {
                pid: self.info.pid,
                channel,
                payload,
            })
            .collect();
        self.engine.notify.deliver(&notes);
    }

    /// Stops listening (the session ends).
    pub(super) fn stop_listening(&mut self) {
        if self.listen.listener.take().is_some() {
            self.engine.notify.unregister(self.info.pid);
        }
    }
}

fn no_encode(_: &Notification, _: &mut Vec<u8>) {}
