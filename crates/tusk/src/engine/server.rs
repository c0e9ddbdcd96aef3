//! What the engine knows of the server session: its transaction status,
//! its run-time parameters, whether a transaction pooler sits between,
//! and the generation of cancel tokens.

use super::*;

/// The server session's facts, as the server reported them.
pub(crate) struct ServerSession {
    tx_status: TransactionStatus,
    params: HashMap<String, String>,
    /// Behind a transaction-pooling PgBouncer: nothing named.
    pooler_mode: bool,
    /// Cancel tokens made before the last `revoke_cancel_tokens` carry an
    /// older epoch and cancel nothing.
    cancel_epoch: u64,
    /// ReadyForQuery messages received (diagnostics).
    readies: u64,
    /// Transaction blocks seen ending (a ReadyForQuery saying idle after
    /// one that did not): what a portal or cursor of a block compares to
    /// tell its own block from a later one.
    tx_ends: u64,
}

impl ServerSession {
    pub(super) fn new(params: HashMap<String, String>, pooler_mode: bool) -> ServerSession {
        ServerSession {
            tx_status: TransactionStatus::Idle,
            params,
            pooler_mode,
            cancel_epoch: 0,
            readies: 0,
            tx_ends: 0,
        }
    }

    pub(super) fn tx_status(&self) -> TransactionStatus {
        self.tx_status
    }

    /// A ReadyForQuery's status byte; an error for one the protocol does
    /// not define. `counted`: a ReadyForQuery a request waits for (not a
    /// carried reset's).
    pub(super) fn ready(&mut self, status: u8, counted: bool) -> Result<TransactionStatus, Error> {
        let s = TransactionStatus::from_byte(status).ok_or_else(|| {
            Error::protocol(format!(
                "ReadyForQuery with an unknown transaction status {:?}",
                char::from(status)
            ))
        })?;
        if s == TransactionStatus::Idle && self.tx_status != TransactionStatus::Idle {
            self.tx_ends += 1;
        }
        self.tx_status = s;
        if counted {
            self.readies += 1;
        }
        Ok(s)
    }

    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub(super) fn set_param(&mut self, name: &str, value: &str) {
        self.params.insert(name.to_string(), value.to_string());
    }

    pub(super) fn pooler_mode(&self) -> bool {
        self.pooler_mode
    }

    pub(super) fn cancel_epoch(&self) -> u64 {
        self.cancel_epoch
    }

    /// Cancel tokens made so far cancel nothing from now on.
    pub(super) fn revoke_cancel_tokens(&mut self) {
        self.cancel_epoch += 1;
    }

    /// Transaction blocks seen ending so far.
    pub(super) fn tx_ends(&self) -> u64 {
        self.tx_ends
    }

    pub(super) fn readies(&self) -> u64 {
        self.readies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_status_is_an_error_and_changes_nothing() {
        let mut s = ServerSession::new(HashMap::new(), false);
        assert_eq!(
            s.ready(b'T', true).ok(),
            Some(TransactionStatus::InTransaction)
        );
        assert!(s.ready(b'?', true).is_err());
        assert_eq!(s.tx_status(), TransactionStatus::InTransaction);
        assert_eq!(s.readies(), 1);
        let e = s.cancel_epoch();
        s.revoke_cancel_tokens();
        assert!(s.cancel_epoch() > e);
    }
}
