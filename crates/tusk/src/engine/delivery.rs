//! What the server sends that no request asked for, and who waits for it:
//! notices (to a handler), notifications (queued for a listener), and the
//! waiters for the connection going idle.

use super::*;

/// Notices, notifications and idle waiters. Invariant kept here: no
/// notification is queued for a request at or before the barrier (see
/// [`Delivery::drop_until`]); every waiter is woken when the connection
/// breaks.
#[derive(Default)]
pub(crate) struct Delivery {
    notice_handler: Option<NoticeHandler>,
    notifications: VecDeque<Notification>,
    /// The task waiting for a notification.
    listener: Option<Waker>,
    /// Tasks waiting for the connection to go idle.
    idle: Vec<Waker>,
    /// Notifications are dropped while the request answered is this one
    /// or older: a session reset (`Connection::send_session_reset`) that
    /// ends the previous holder's `LISTEN`s. 0: none.
    barrier: u64,
    /// Bumped when the session is handed to a new user (a queued session
    /// reset): the notification streams opened before end.
    epoch: u64,
}

impl Delivery {
    /// Replaces (or, with `None`, drops) the notice handler.
    pub(super) fn set_notice_handler(&mut self, h: Option<NoticeHandler>) {
        self.notice_handler = h;
    }

    /// Hands a notice to the handler, or logs it.
    pub(super) fn notice(&self, notice: &Notice) {
        match &self.notice_handler {
            Some(h) => h(notice),
            None => {
                tracing::info!(target: "tusk::notice", "{}: {}", notice.severity, notice.message)
            }
        }
    }

    /// Queues a notification that arrived while request `current` was
    /// answered, unless it is for a reset session (`dropped`, or behind the
    /// barrier); the listener is woken.
    pub(super) fn notify(&mut self, n: Notification, current: Option<u64>, dropped: bool) {
        if dropped || (self.barrier != 0 && current.is_some_and(|id| id <= self.barrier)) {
            return;
        }
        self.notifications.push_back(n);
        if let Some(w) = &self.listener {
            w.wake_by_ref();
        }
    }

    pub(super) fn has_notification(&self) -> bool {
        !self.notifications.is_empty()
    }

    /// Notifications queued and not taken yet.
    pub(super) fn queued(&self) -> usize {
        self.notifications.len()
    }

    pub(super) fn next_notification(&mut self) -> Option<Notification> {
        self.notifications.pop_front()
    }

    /// The session goes to a new user: the queued notifications are
    /// dropped and the streams opened before end (the waiting one is
    /// woken to see it).
    pub(super) fn end_streams(&mut self) {
        self.notifications.clear();
        self.epoch += 1;
        if let Some(w) = self.listener.take() {
            w.wake();
        }
    }

    /// Which user's streams are current (see [`Delivery::end_streams`]).
    pub(super) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Drops the notifications queued and those arriving until request
    /// `id` has been answered.
    pub(super) fn drop_until(&mut self, id: u64) {
        self.notifications.clear();
        self.barrier = self.barrier.max(id);
    }

    pub(super) fn set_listener(&mut self, w: &Waker) {
        self.listener = Some(w.clone());
    }

    pub(super) fn clear_listener(&mut self) {
        self.listener = None;
    }

    pub(super) fn has_listener(&self) -> bool {
        self.listener.is_some()
    }

    pub(super) fn add_idle_waiter(&mut self, w: &Waker) {
        if !self.idle.iter().any(|x| x.will_wake(w)) {
            self.idle.push(w.clone());
        }
    }

    pub(super) fn has_idle_waiters(&self) -> bool {
        !self.idle.is_empty()
    }

    /// Wakes the listener, else the first idle waiter (one to take the
    /// driver role); false when there is neither.
    pub(super) fn wake_one(&self) -> bool {
        if let Some(w) = self.listener.as_ref().or(self.idle.first()) {
            w.wake_by_ref();
            return true;
        }
        false
    }

    /// The connection went idle: every idle waiter is woken.
    pub(super) fn wake_idle(&mut self) {
        for w in self.idle.drain(..) {
            w.wake();
        }
    }

    /// The connection broke: every waiter is woken.
    pub(super) fn wake_all(&mut self) {
        if let Some(w) = self.listener.take() {
            w.wake();
        }
        self.wake_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(p: &str) -> Notification {
        Notification {
            process_id: 1,
            channel: "c".into(),
            payload: p.into(),
        }
    }

    #[test]
    fn notifications_behind_the_barrier_are_dropped() {
        let mut d = Delivery::default();
        d.notify(note("a"), Some(3), false);
        d.drop_until(5);
        assert!(!d.has_notification(), "queued ones go too");
        d.notify(note("b"), Some(5), false);
        d.notify(note("c"), Some(6), true);
        assert!(!d.has_notification());
        d.drop_until(2);
        d.notify(note("d"), Some(4), false);
        assert!(!d.has_notification(), "the barrier never moves back");
        d.notify(note("e"), Some(6), false);
        assert_eq!(
            d.next_notification().map(|n| n.payload).as_deref(),
            Some("e")
        );
    }

    #[test]
    fn notifications_keep_their_order() {
        let mut d = Delivery::default();
        for p in ["1", "2", "3"] {
            d.notify(note(p), None, false);
        }
        let got: Vec<String> = std::iter::from_fn(|| d.next_notification())
            .map(|n| n.payload)
            .collect();
        assert_eq!(got, ["1", "2", "3"]);
    }
}
