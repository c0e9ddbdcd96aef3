//! LISTEN, UNLISTEN, NOTIFY and pg_notify across the sessions of one
//! database, with PostgreSQL's semantics:
//!
//! - a transaction's notifications are sent when it commits, in the order
//!   it made them, with the sending session's pid; a rolled-back
//!   transaction (or savepoint) sends none; a transaction's duplicates
//!   (same channel and payload) are sent once;
//! - LISTEN and UNLISTEN take effect when their transaction commits;
//! - a session gets a notification only while it listens on the channel
//!   (its own notifications included); inside a transaction block it gets
//!   them when the block ends, just before ReadyForQuery; while idle it
//!   gets them at once.
//!
//! Each listening session has a [`Listener`]: a queue the committing
//! sessions push to (they never wait for a client's socket) and a thread
//! that writes the queue to the client while the session is idle. The
//! session thread and that thread never write at the same time: the
//! session takes the listener's `gate` before it leaves the idle state,
//! and the thread writes only while holding the gate in the idle state.

use parking_lot::{Condvar, Mutex};
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::Arc;

use crate::error::{code, Result, SqlError};

/// One notification as the client receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The sending session's backend pid.
    pub pid: i32,
    /// The channel.
    pub channel: String,
    /// The payload ('' when none was given).
    pub payload: String,
}

/// A change to the channels a session listens on, applied at commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenOp {
    /// LISTEN channel.
    Listen(String),
    /// UNLISTEN channel.
    Unlisten(String),
    /// UNLISTEN *.
    UnlistenAll,
}

/// What a session's open transaction will do at commit.
#[derive(Clone, Debug, Default)]
pub struct Pending {
    /// NOTIFY and pg_notify calls: (channel, payload), deduplicated.
    pub notes: Vec<(String, String)>,
    /// LISTEN and UNLISTEN, in order.
    pub ops: Vec<ListenOp>,
}

impl Pending {
    /// Queues a notification after PostgreSQL's checks (22023 for an
    /// empty or too long channel name, or a payload of 8000 bytes or
    /// more); a duplicate of one already queued is dropped.
    pub fn notify(&mut self, channel: &str, payload: &str) -> Result<()> {
        if channel.is_empty() {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                "channel name cannot be empty",
            ));
        }
        if channel.len() >= 64 {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                "channel name too long",
            ));
        }
        if payload.len() >= 8000 {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                "payload string too long",
            ));
        }
        if !self.notes.iter().any(|(c, p)| c == channel && p == payload) {
            self.notes.push((channel.to_string(), payload.to_string()));
        }
        Ok(())
    }

    /// The lengths a savepoint records.
    pub fn mark(&self) -> (usize, usize) {
        (self.notes.len(), self.ops.len())
    }

    /// Forgets what came after `mark` (ROLLBACK TO SAVEPOINT).
    pub fn restore(&mut self, mark: (usize, usize)) {
        self.notes.truncate(mark.0);
        self.ops.truncate(mark.1);
    }
}

#[derive(Default)]
struct Shared {
    /// In the order first listened on, as pg_listening_channels lists them.
    channels: Vec<String>,
    queue: VecDeque<Notification>,
    /// The session is waiting for its client outside a transaction block.
    idle: bool,
    closed: bool,
}

/// A listening session's queue and delivery thread.
pub struct Listener {
    shared: Mutex<Shared>,
    cv: Condvar,
    /// Held while writing to the client; its value is the socket the
    /// delivery thread writes to.
    gate: Mutex<Box<dyn Write + Send>>,
}

impl Listener {
    /// Applies a committed LISTEN or UNLISTEN.
    pub fn apply(&self, op: &ListenOp) {
        let mut s = self.shared.lock();
        match op {
            ListenOp::Listen(c) => {
                if !s.channels.contains(c) {
                    s.channels.push(c.clone());
                }
            }
            ListenOp::Unlisten(c) => s.channels.retain(|x| x != c),
            ListenOp::UnlistenAll => s.channels.clear(),
        }
    }

    /// The channels listened on.
    pub fn channels(&self) -> Vec<String> {
        self.shared.lock().channels.clone()
    }

    /// The session starts waiting for its client (true, after its
    /// ReadyForQuery went out outside a transaction block) or stops
    /// (false, when a message arrived). Stopping waits for a write the
    /// delivery thread has under way.
    pub fn set_idle(&self, idle: bool) {
        if idle {
            let mut s = self.shared.lock();
            if !s.idle {
                s.idle = true;
                if !s.queue.is_empty() {
                    self.cv.notify_one();
                }
            }
        } else {
            let _gate = self.gate.lock();
            self.shared.lock().idle = false;
        }
    }

    /// Takes the queued notifications on channels still listened on.
    pub fn drain(&self) -> Vec<Notification> {
        let mut s = self.shared.lock();
        let q = std::mem::take(&mut s.queue);
        q.into_iter()
            .filter(|n| s.channels.contains(&n.channel))
            .collect()
    }

    fn push(&self, n: &Notification) -> bool {
        let mut s = self.shared.lock();
        if !s.channels.contains(&n.channel) {
            return false;
        }
        s.queue.push_back(n.clone());
        s.idle
    }

    fn close(&self) {
        self.shared.lock().closed = true;
        self.cv.notify_one();
    }

    /// The delivery thread: writes the queue while the session is idle.
    fn run(self: Arc<Self>, encode: fn(&Notification, &mut Vec<u8>)) {
        loop {
            {
                let mut s = self.shared.lock();
                while !s.closed && (!s.idle || s.queue.is_empty()) {
                    self.cv.wait(&mut s);
                }
                if s.closed {
                    return;
                }
            }
            let mut w = self.gate.lock();
            let notes = {
                let s = self.shared.lock();
                if !s.idle || s.closed {
                    continue;
                }
                drop(s);
                self.drain()
            };
            if notes.is_empty() {
                continue;
            }
            let mut buf = Vec::new();
            for n in &notes {
                encode(n, &mut buf);
            }
            if w.write_all(&buf).and_then(|()| w.flush()).is_err() {
                // The client is gone; the session notices on its own.
                self.close();
                return;
            }
        }
    }
}

/// The database's listening sessions, by backend pid.
#[derive(Default)]
pub struct Hub {
    listeners: Mutex<HashMap<i32, Arc<Listener>>>,
}

impl Hub {
    /// Registers session `pid` as a listener writing to `writer` (a clone
    /// of its client socket) and starts its delivery thread; `encode`
    /// frames one notification.
    pub fn register(
        &self,
        pid: i32,
        writer: Box<dyn Write + Send>,
        encode: fn(&Notification, &mut Vec<u8>),
    ) -> Arc<Listener> {
        let l = Arc::new(Listener {
            shared: Mutex::new(Shared::default()),
            cv: Condvar::new(),
            gate: Mutex::new(writer),
        });
        let t = l.clone();
        let spawned = std::thread::Builder::new()
            .name("tusk-lite-notify".into())
            .spawn(move || t.run(encode));
        if spawned.is_err() {
            // No thread: notifications still go out before ReadyForQuery.
            l.close();
        }
        self.listeners.lock().insert(pid, l.clone());
        l
    }

    /// The channels session `pid` listens on.
    pub fn channels(&self, pid: i32) -> Vec<String> {
        let l = self.listeners.lock().get(&pid).cloned();
        l.map(|l| l.channels()).unwrap_or_default()
    }

    /// Removes session `pid` (it ended) and stops its delivery thread.
    pub fn unregister(&self, pid: i32) {
        if let Some(l) = self.listeners.lock().remove(&pid) {
            l.close();
        }
    }

    /// Queues committed notifications for every session listening on
    /// their channels, and wakes the idle ones.
    pub fn deliver(&self, notes: &[Notification]) {
        if notes.is_empty() {
            return;
        }
        let listeners: Vec<Arc<Listener>> = self.listeners.lock().values().cloned().collect();
        for l in listeners {
            let mut wake = false;
            for n in notes {
                wake |= l.push(n);
            }
            if wake {
                l.cv.notify_one();
            }
        }
    }
}
