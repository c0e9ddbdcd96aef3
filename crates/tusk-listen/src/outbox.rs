//! Publishing, and the outbox for payloads over PostgreSQL's 8,000-byte
//! limit.
//!
//! `NOTIFY` refuses a payload of 8,000 bytes or more. [`publish`] (and the
//! SQL function `tusk_notify(topic, payload)` that [`Outbox::install`]
//! creates, for triggers) sends such a payload through a table instead:
//! the row is inserted and the notification carries only its id
//! (`{"topic":"orders.big","outbox":42}`); the [`Listener`](crate::Listener)
//! reads the row and delivers the payload as if it had come inline. Both
//! happen in the publisher's transaction, so the row is visible when the
//! notification is (notifications are delivered at commit).
//!
//! Rows are not deleted on delivery (any number of listeners may need
//! them): [`Outbox::purge`] deletes those older than a retention you choose
//! (run it from a cron job; a listener that reads a purged row counts an
//! `outbox_errors` and drops that notification).
//!
//! Rights: publishers need `INSERT` on the table and `USAGE` on its
//! sequence (or `EXECUTE` on `tusk_notify`), listeners `SELECT`.

use std::time::Duration;

use tusk::{Connection, Error, Executor};

use crate::envelope::{self, MAX_PAYLOAD_BYTES};
use crate::topic::{channel_of, quote_ident};

/// Where the outbox lives: the table `tusk_notify_outbox` and the function
/// `tusk_notify`, in `schema` or (the default) the first schema of the
/// `search_path` (`current_schema()`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    schema: Option<String>,
}

/// The outbox table's name.
pub const OUTBOX_TABLE: &str = "tusk_notify_outbox";

impl Outbox {
    /// The outbox in `schema` (any name: it is quoted).
    pub fn in_schema(schema: &str) -> Outbox {
        Outbox {
            schema: Some(schema.to_owned()),
        }
    }

    fn qualify(&self, name: &str) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", quote_ident(s), quote_ident(name)),
            None => quote_ident(name),
        }
    }

    /// Creates the outbox table and the `tusk_notify(topic text, payload
    /// text)` function if they are missing (idempotent). Needs `CREATE` on
    /// the schema. The function is `SECURITY INVOKER` with a fixed
    /// `search_path`, so it runs with the caller's rights and cannot be
    /// redirected by another schema's objects.
    ///
    /// From SQL (a trigger, say): `SELECT tusk_notify('orders.created',
    /// row_to_json(NEW)::text)`. It notifies inline when the envelope fits,
    /// through the table when it does not.
    pub async fn install(&self, db: &impl Executor) -> Result<(), Error> {
        let schema = match &self.schema {
            Some(s) => s.clone(),
            None => db
                .query_scalar::<Option<String>>("SELECT current_schema()::text", &[])
                .await?
                .ok_or_else(|| {
                    Error::new(
                        tusk::ErrorKind::Configuration,
                        "no schema to install the notification outbox in: the search_path names none that exists; use Outbox::in_schema",
                    )
                })?,
        };
        let s = quote_ident(&schema);
        let table = format!("{s}.{}", quote_ident(OUTBOX_TABLE));
        let sql = format!(
            r#"CREATE TABLE IF NOT EXISTS {table} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic text NOT NULL,
    payload text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tusk_notify_outbox_created_at ON {table} (created_at);
CREATE OR REPLACE FUNCTION {s}.tusk_notify(_topic text, _payload text) RETURNS void
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    _channel text := split_part(_topic, '.', 1);
    _envelope text;
    _id bigint;
BEGIN
    IF _topic = _channel AND octet_length(_payload) <= {max} THEN
        PERFORM pg_notify(_channel, _payload);
        RETURN;
    END IF;
    _envelope := json_build_object('topic', _topic, 'payload', _payload)::text;
    IF octet_length(_envelope) <= {max} THEN
        PERFORM pg_notify(_channel, _envelope);
        RETURN;
    END IF;
    INSERT INTO {table} (topic, payload) VALUES (_topic, _payload) RETURNING id INTO _id;
    PERFORM pg_notify(_channel, json_build_object('topic', _topic, 'outbox', _id)::text);
END
$fn$;"#,
            max = MAX_PAYLOAD_BYTES,
        );
        db.execute_script(&sql).await
    }

    /// Deletes outbox rows older than `older_than`; returns how many.
    pub async fn purge(&self, db: &impl Executor, older_than: Duration) -> Result<u64, Error> {
        let sql = format!(
            "DELETE FROM {} WHERE created_at < now() - make_interval(secs => $1)",
            self.qualify(OUTBOX_TABLE)
        );
        db.execute(&sql, &[&older_than.as_secs_f64()]).await
    }

    /// Publishes like [`publish`], with this outbox for large payloads.
    pub async fn publish(
        &self,
        db: &impl Executor,
        topic: &str,
        payload: &str,
    ) -> Result<(), Error> {
        let channel = channel_of(topic).map_err(|e| e.into_error())?;
        // (A plain payload that would read as an envelope is wrapped, so
        // it arrives as sent.)
        if topic == channel
            && payload.len() <= MAX_PAYLOAD_BYTES
            && envelope::parse(channel, payload) == envelope::Parsed::Plain
        {
            db.execute("SELECT pg_notify($1, $2)", &[&channel, &payload])
                .await?;
            return Ok(());
        }
        let env = envelope::encode(topic, payload);
        if env.len() <= MAX_PAYLOAD_BYTES {
            db.execute("SELECT pg_notify($1, $2)", &[&channel, &env])
                .await?;
            return Ok(());
        }
        let sql = format!(
            "WITH r AS (INSERT INTO {} (topic, payload) VALUES ($1, $2) RETURNING id) \
             SELECT pg_notify($3, json_build_object('topic', $1::text, 'outbox', r.id)::text) FROM r",
            self.qualify(OUTBOX_TABLE)
        );
        db.execute(&sql, &[&topic, &payload, &channel]).await?;
        Ok(())
    }

    /// Reads a spilled payload (the listener's side).
    pub(crate) async fn fetch(&self, conn: &Connection, id: i64) -> Result<Option<String>, Error> {
        let sql = format!(
            "SELECT payload FROM {} WHERE id = $1",
            self.qualify(OUTBOX_TABLE)
        );
        match conn.query_opt(&sql, &[&id]).await? {
            Some(row) => Ok(Some(row.try_get::<String>(0)?)),
            None => Ok(None),
        }
    }
}

/// Publishes `payload` under `topic` on any executor (a connection, a
/// pooled connection, a transaction: then it is delivered at commit).
///
/// - A plain channel (`jobs`) with a payload that fits: `pg_notify('jobs',
///   payload)`, readable by any client.
/// - A topic below a channel (`orders.created`): the envelope
///   `{"topic":"orders.created","payload":"..."}` on the channel `orders`.
/// - Too large for `NOTIFY` (the payload or its envelope over 7,999
///   bytes): through the outbox table ([`Outbox::install`] first, in the
///   default place; [`Outbox::publish`] for another).
///
/// An invalid topic, or one with wildcards, is an
/// [`ErrorKind::Syntax`](tusk::ErrorKind::Syntax) error.
pub async fn publish(db: &impl Executor, topic: &str, payload: &str) -> Result<(), Error> {
    Outbox::default().publish(db, topic, payload).await
}
