//! The PostgreSQL wire protocol (pgwire's message codec): startup, the
//! simple and extended query protocols, errors and ReadyForQuery, one
//! session per connection on its own thread, as PostgreSQL runs one
//! backend per connection.

mod auth;
mod encode;

pub use auth::{Auth, ScramUsers};

pub(crate) use encode::encode_binary;
use encode::{data_row, error_response, format_for, row_description, status};

use bytes::{BufMut, BytesMut};
use parking_lot::Mutex;
use pgwire::messages::copy::{CopyData, CopyDone, CopyInResponse, CopyOutResponse};
use pgwire::messages::data::{
    DataRow, FieldDescription, NoData, ParameterDescription, RowDescription,
};
use pgwire::messages::extendedquery::{
    BindComplete, CloseComplete, ParseComplete, PortalSuspended,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, ErrorResponse, NoticeResponse, ReadyForQuery,
    TransactionStatus,
};
use pgwire::messages::startup::{Authentication, BackendKeyData, ParameterStatus, SecretKey};
use pgwire::messages::{
    DecodeContext, PgWireBackendMessage as B, PgWireFrontendMessage as F, SslNegotiationMetaMessage,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};

use crate::error::{code, SqlError};
use crate::session::{FixedResult, Outcome, PlanCache, Session};
use crate::sql::plan::OutColumn;
use crate::txn::Engine;
use crate::types::{self, ColType, Type, Value};

static NEXT_PID: AtomicI32 = AtomicI32::new(1000);

/// A running session's entry: its secret key, cancel and terminate
/// flags, and what stops a read of its socket that is waiting.
struct Running {
    secret: i32,
    cancel: Arc<AtomicBool>,
    terminate: Arc<AtomicBool>,
    wake: Option<Box<dyn Fn() + Send>>,
}

/// Running sessions by backend pid.
type CancelMap = HashMap<i32, Running>;

/// The error a terminated session ends with (FATAL, as PostgreSQL sends it).
pub(crate) fn terminated() -> SqlError {
    SqlError::new(
        code::ADMIN_SHUTDOWN,
        "terminating connection due to administrator command",
    )
}

/// pg_terminate_backend(): flags session `pid` to end and wakes it if it
/// waits for its client; false when there is no such session.
pub(crate) fn terminate(pid: i32) -> bool {
    match cancels().lock().get(&pid) {
        Some(r) => {
            r.terminate.store(true, Ordering::Relaxed);
            // A statement running or waiting for a lock stops at its next
            // check.
            r.cancel.store(true, Ordering::Relaxed);
            if let Some(wake) = &r.wake {
                wake();
            }
            true
        }
        None => false,
    }
}

fn cancels() -> &'static Mutex<CancelMap> {
    static MAP: OnceLock<Mutex<CancelMap>> = OnceLock::new();
    MAP.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Removes a session from the cancel registry when it ends.
struct Registered(i32);

impl Drop for Registered {
    fn drop(&mut self) {
        cancels().lock().remove(&self.0);
    }
}

/// One parsed statement and the plans its runs reuse.
struct Parsed {
    node: pg_query::protobuf::Node,
    plan: RefCell<PlanCache>,
}

/// The statements of a query text, parsed.
type ParsedText = Rc<[Rc<Parsed>]>;

/// Query texts a session has parsed, so that running the same text again
/// (the simple protocol, or Parse of the unnamed statement for each run as
/// the extended protocol does) neither parses nor plans it again. Parsing
/// depends on the text alone; the plans check their own validity.
#[derive(Default)]
struct ParseCache {
    texts: HashMap<String, ParsedText>,
}

/// Texts a session keeps parsed; the cache starts over when it is full.
const PARSE_CACHE_TEXTS: usize = 256;

/// Texts longer than this are parsed each time (they are rarely repeated,
/// and keeping them costs memory).
const PARSE_CACHE_MAX_LEN: usize = 8 * 1024;

impl ParseCache {
    fn parse(&mut self, sql: &str) -> Result<ParsedText, SqlError> {
        if let Some(p) = self.texts.get(sql) {
            return Ok(p.clone());
        }
        let parsed: ParsedText = crate::sql::parse(sql)?
            .into_iter()
            .map(|(node, _)| {
                Rc::new(Parsed {
                    node,
                    plan: RefCell::default(),
                })
            })
            .collect();
        if sql.len() <= PARSE_CACHE_MAX_LEN {
            if self.texts.len() >= PARSE_CACHE_TEXTS {
                self.texts.clear();
            }
            self.texts.insert(sql.to_string(), parsed.clone());
        }
        Ok(parsed)
    }
}

/// A prepared statement: its parse tree (None for an empty query) and types.
struct Prepared {
    parsed: Option<Rc<Parsed>>,
    /// The query text as Parse gave it (pg_cursors shows it).
    text: Rc<str>,
    /// The catalog the statement was described against.
    catalog: Arc<crate::catalog::Catalog>,
    param_types: Vec<Type>,
    /// The parameter type OIDs Parse declared (0 for none): an array
    /// type's OID, which `Type::Array` does not keep, is described as
    /// declared.
    declared: Rc<[u32]>,
    columns: Option<Vec<OutColumn>>,
}

struct Portal {
    stmt: Rc<Prepared>,
    params: Vec<Value>,
    formats: Vec<i16>,
    /// A result not yet fully sent (Execute with a row limit).
    pending: Option<(Outcome, usize)>,
    /// The command tag of the run that completed: PostgreSQL runs a
    /// portal once (see the Execute below).
    finished: Option<String>,
}

/// A command tag with its row count made 0 (`SELECT 2` -> `SELECT 0`,
/// `INSERT 0 2` -> `INSERT 0 0`; `SHOW` stays).
fn tag_with_no_rows(tag: &str) -> String {
    match tag.rsplit_once(' ') {
        Some((head, n)) if n.bytes().all(|b| b.is_ascii_digit()) => format!("{head} 0"),
        _ => tag.to_string(),
    }
}

struct Conn<S> {
    stream: S,
    rbuf: BytesMut,
    wbuf: BytesMut,
    ctx: DecodeContext,
    /// A FATAL error went out: the session ends.
    fatal: bool,
}

impl<S: Read + Write> Conn<S> {
    fn read_msg(&mut self) -> io::Result<Option<F>> {
        loop {
            // A typed message's length counts itself (4 bytes): a smaller
            // one is PostgreSQL's "invalid message length" (pgwire's
            // decoder subtracts 4 from it and panics).
            if !self.ctx.awaiting_frontend_ssl
                && !self.ctx.awaiting_frontend_startup
                && self.rbuf.len() >= 5
                && i32::from_be_bytes([self.rbuf[1], self.rbuf[2], self.rbuf[3], self.rbuf[4]]) < 4
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "invalid message length",
                ));
            }
            match F::decode(&mut self.rbuf, &self.ctx) {
                Ok(Some(m)) => return Ok(Some(m)),
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(None);
            }
            self.rbuf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a statement's error; once the session was terminated, every
    /// error is the FATAL 57P01 it ends with, sent once.
    fn send_error(&mut self, session: &Session, e: &SqlError) {
        if session.info.terminate.load(Ordering::Relaxed) || e.code == code::ADMIN_SHUTDOWN {
            if !self.fatal {
                self.fatal = true;
                self.send(B::ErrorResponse(error_response(&terminated(), "FATAL")));
            }
        } else {
            self.send(B::ErrorResponse(error_response(e, "ERROR")));
        }
    }

    fn send(&mut self, m: B) {
        if let Err(e) = m.encode(&mut self.wbuf) {
            // Only an oversized message fails to encode: report it instead.
            let err = SqlError::new(
                code::PROGRAM_LIMIT_EXCEEDED,
                format!("message too large: {e}"),
            );
            let _ = B::ErrorResponse(error_response(&err, "ERROR")).encode(&mut self.wbuf);
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.wbuf.is_empty() {
            self.stream.write_all(&self.wbuf)?;
            self.stream.flush()?;
            self.wbuf.clear();
        }
        Ok(())
    }
}

/// A client connection a session runs on: a socket, which can be
/// cloned so that notifications reach an idle client.
pub trait ClientStream: Read + Write + Send + 'static {
    /// A second handle writing to the same client, if the stream has one.
    fn writer(&self) -> Option<Box<dyn Write + Send>>;

    /// Something that ends a read waiting on the stream (it then reads
    /// end-of-file), for pg_terminate_backend(); None when it cannot.
    fn read_stopper(&self) -> Option<Box<dyn Fn() + Send>> {
        None
    }
}

/// `ClientStream` for a std socket type that can be cloned and shut down
/// for reading (TCP and Unix streams alike).
macro_rules! socket_client_stream {
    ($t:ty) => {
        impl ClientStream for $t {
            fn writer(&self) -> Option<Box<dyn Write + Send>> {
                self.try_clone()
                    .ok()
                    .map(|s| Box::new(s) as Box<dyn Write + Send>)
            }

            fn read_stopper(&self) -> Option<Box<dyn Fn() + Send>> {
                let s = self.try_clone().ok()?;
                Some(Box::new(move || {
                    let _ = s.shutdown(std::net::Shutdown::Read);
                }))
            }
        }
    };
}

socket_client_stream!(std::net::TcpStream);
socket_client_stream!(std::os::unix::net::UnixStream);

/// Frames a NotificationResponse.
fn encode_notification(n: &crate::notify::Notification, out: &mut Vec<u8>) {
    let mut buf = BytesMut::new();
    let m = pgwire::messages::response::NotificationResponse::new(
        n.pid,
        n.channel.clone(),
        n.payload.clone(),
    );
    if B::NotificationResponse(m).encode(&mut buf).is_ok() {
        out.extend_from_slice(&buf);
    }
}

/// Sends a ReadyForQuery, preceded (outside a transaction block) by the
/// notifications waiting for this session, as PostgreSQL sends them.
fn ready<S: Read + Write>(c: &mut Conn<S>, session: &Session) {
    for n in session.take_notifications() {
        c.send(B::NotificationResponse(
            pgwire::messages::response::NotificationResponse::new(n.pid, n.channel, n.payload),
        ));
    }
    c.send(B::ReadyForQuery(ReadyForQuery::new(status(session))));
}

/// Serves one client on `stream` until it disconnects.
pub fn run_session<S: ClientStream>(engine: Arc<Engine>, stream: S, auth: &Auth) -> io::Result<()> {
    let writer = stream.writer();
    let wake = stream.read_stopper();
    let mut c = Conn {
        stream,
        rbuf: BytesMut::with_capacity(8192),
        wbuf: BytesMut::with_capacity(8192),
        ctx: DecodeContext::default(),
        fatal: false,
    };
    // Startup: SSL/GSS requests are refused; then the startup packet.
    let startup = loop {
        match c.read_msg()? {
            None => return Ok(()),
            Some(F::SslNegotiation(SslNegotiationMetaMessage::PostgresSsl(_)))
            | Some(F::SslNegotiation(SslNegotiationMetaMessage::PostgresGss(_))) => {
                c.stream.write_all(b"N")?;
                c.stream.flush()?;
            }
            Some(F::SslNegotiation(SslNegotiationMetaMessage::None)) => {
                c.ctx.awaiting_frontend_ssl = false
            }
            Some(F::CancelRequest(cr)) => {
                // A matching key cancels the session's running statement;
                // others are dropped silently, as PostgreSQL does.
                let key = match &cr.secret_key {
                    SecretKey::I32(k) => Some(*k),
                    SecretKey::Bytes(b) => {
                        <[u8; 4]>::try_from(b.as_ref()).ok().map(i32::from_be_bytes)
                    }
                };
                if let Some(secret) = key {
                    if let Some(r) = cancels().lock().get(&cr.pid) {
                        if r.secret == secret {
                            r.cancel.store(true, Ordering::Relaxed);
                        }
                    }
                }
                return Ok(());
            }
            Some(F::Startup(s)) => break s,
            Some(_) => return Ok(()),
        }
    };
    c.ctx.awaiting_frontend_ssl = false;
    c.ctx.awaiting_frontend_startup = false;
    // PostgreSQL refuses a startup packet without a user name (or with
    // an empty one) before anything else, authentication included.
    let user = match startup.parameters.get("user") {
        Some(u) if !u.is_empty() => u.clone(),
        _ => {
            let e = SqlError::new(
                "28000",
                "no PostgreSQL user name specified in startup packet",
            );
            c.send(B::ErrorResponse(error_response(&e, "FATAL")));
            return c.flush();
        }
    };
    let database = startup
        .parameters
        .get("database")
        .cloned()
        .unwrap_or_else(|| user.clone());
    // Authentication first, as PostgreSQL does: nothing about the
    // session (its options included) is looked at before it succeeds.
    if let Auth::Scram(users) = auth {
        match auth::scram(&mut c, users, &user) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => {
                c.send(B::ErrorResponse(error_response(&e, "FATAL")));
                return c.flush();
            }
        }
    }
    let mut session = Session::new(engine, user, database);
    // Rows go out before an error that a later row hits, as PostgreSQL's.
    session.rows_before_errors = true;
    for (k, v) in &startup.parameters {
        if let Err(e) = session.startup_option(k, v) {
            c.send(B::ErrorResponse(error_response(&e, "FATAL")));
            return c.flush();
        }
    }
    session.reported.clear();
    c.send(B::Authentication(Authentication::Ok));
    for (k, v) in session.startup_parameters() {
        c.send(B::ParameterStatus(ParameterStatus::new(k, v)));
    }
    let pid = NEXT_PID.fetch_add(1, Ordering::Relaxed);
    let secret = fastrand::i32(..);
    cancels().lock().insert(
        pid,
        Running {
            secret,
            cancel: session.info.cancel.clone(),
            terminate: session.info.terminate.clone(),
            wake,
        },
    );
    let _registered = Registered(pid);
    session.set_client(pid, writer, encode_notification);
    c.send(B::BackendKeyData(BackendKeyData::new(
        pid,
        SecretKey::I32(secret),
    )));
    c.send(B::ReadyForQuery(ReadyForQuery::new(
        TransactionStatus::Idle,
    )));
    c.flush()?;

    let mut statements: HashMap<String, Rc<Prepared>> = HashMap::new();
    let mut texts = ParseCache::default();
    let mut portals: HashMap<String, Portal> = HashMap::new();
    let mut skip_until_sync = false;
    // The last message answered left the session idle outside a
    // transaction block (its ReadyForQuery sent): notifications may go
    // out at once.
    let mut at_rest = true;
    let result = loop {
        if let Some(l) = session.listener() {
            l.set_idle(at_rest && c.wbuf.is_empty());
        }
        let msg = c.read_msg();
        if let Some(l) = session.listener() {
            l.set_idle(false);
        }
        if session.info.terminate.load(Ordering::Relaxed) {
            c.send_error(&session, &terminated());
            let _ = c.flush();
            break Ok(());
        }
        at_rest = matches!(msg, Ok(Some(F::Query(_) | F::Sync(_))));
        let msg = match msg {
            Ok(Some(m)) => m,
            Ok(None) => break Ok(()),
            Err(e) => {
                let err = SqlError::new(
                    code::PROTOCOL_VIOLATION,
                    format!("invalid frontend message: {e}"),
                );
                c.send(B::ErrorResponse(error_response(&err, "FATAL")));
                let _ = c.flush();
                break Ok(());
            }
        };
        let extended = msg.is_extended_query();
        if matches!(msg, F::Query(_) | F::Execute(_)) {
            // A cancel that arrived while idle does not carry over.
            session.info.cancel.store(false, Ordering::Relaxed);
        }
        if skip_until_sync && extended && !matches!(msg, F::Sync(_)) {
            continue;
        }
        let r: Result<(), SqlError> = match msg {
            F::Query(q) => {
                simple_query(&mut c, &mut session, &mut texts, &q.query);
                portals.remove("");
                Ok(())
            }
            F::Parse(p) => (|| {
                let name = p.name.unwrap_or_default();
                if !name.is_empty() && statements.contains_key(&name) {
                    return Err(SqlError::new(
                        code::DUPLICATE_PREPARED_STATEMENT,
                        format!("prepared statement \"{name}\" already exists"),
                    ));
                }
                let stmts = texts.parse(&p.query)?;
                if stmts.len() > 1 {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        "cannot insert multiple commands into a prepared statement",
                    ));
                }
                let catalog = session.current_catalog();
                let mut given = Vec::new();
                for oid in &p.type_oids {
                    given.push(if *oid == 0 {
                        Type::Unknown
                    } else {
                        catalog.type_from_oid(*oid).ok_or_else(|| {
                            SqlError::unsupported(format!("parameter type OID {oid}"))
                        })?
                    });
                }
                let text: Rc<str> = p.query.as_str().into();
                let declared: Rc<[u32]> = p.type_oids.iter().copied().collect();
                let prepared = match stmts.first() {
                    None => Prepared {
                        parsed: None,
                        text,
                        catalog,
                        param_types: given,
                        declared,
                        columns: None,
                    },
                    Some(parsed) => {
                        session.set_param_oids(&declared);
                        let (types, columns, oids) = session.describe_cached(
                            &parsed.node,
                            &given,
                            &mut parsed.plan.borrow_mut(),
                        )?;
                        Prepared {
                            parsed: Some(parsed.clone()),
                            text,
                            catalog,
                            param_types: types,
                            declared: oids.into(),
                            columns,
                        }
                    }
                };
                if !name.is_empty() {
                    session
                        .info
                        .prepared
                        .lock()
                        .insert(name.clone(), (p.query.clone(), false));
                }
                statements.insert(name, Rc::new(prepared));
                c.send(B::ParseComplete(ParseComplete::new()));
                Ok(())
            })(),
            F::Bind(b) => (|| {
                let sname = b.statement_name.unwrap_or_default();
                let stmt = statements.get(&sname).cloned().ok_or_else(|| {
                    SqlError::new(
                        code::INVALID_SQL_STATEMENT_NAME,
                        format!("prepared statement \"{sname}\" does not exist"),
                    )
                })?;
                if b.parameters.len() != stmt.param_types.len() {
                    return Err(SqlError::new(
                        code::PROTOCOL_VIOLATION,
                        format!(
                            "bind message supplies {} parameters, but prepared statement \"{sname}\" requires {}",
                            b.parameters.len(),
                            stmt.param_types.len()
                        ),
                    ));
                }
                // A parameter type dropped since Parse: PostgreSQL's Bind
                // fails looking up its input function.
                let now = session.current_catalog();
                for t in &stmt.param_types {
                    if let Type::Enum(oid) = t {
                        if now.enum_by_oid(*oid).is_none() {
                            return Err(SqlError::new(
                                code::INTERNAL_ERROR,
                                format!("cache lookup failed for type {oid}"),
                            ));
                        }
                    }
                }
                session.set_param_oids(&stmt.declared);
                let stmt = match &stmt.parsed {
                    Some(parsed) => match session.revalidate(
                        &parsed.node,
                        &stmt.param_types,
                        FixedResult {
                            catalog: &stmt.catalog,
                            columns: stmt.columns.as_deref(),
                        },
                    )? {
                        // Still the same rows under the new catalog: remember
                        // it, so the next Bind does not describe it again.
                        Some(catalog) => {
                            let fresh = Rc::new(Prepared {
                                parsed: stmt.parsed.clone(),
                                text: stmt.text.clone(),
                                catalog,
                                param_types: stmt.param_types.clone(),
                                declared: stmt.declared.clone(),
                                columns: stmt.columns.clone(),
                            });
                            statements.insert(sname.clone(), fresh.clone());
                            fresh
                        }
                        None => stmt,
                    },
                    None => stmt,
                };
                let mut params = Vec::with_capacity(b.parameters.len());
                for (i, p) in b.parameters.iter().enumerate() {
                    // An array parameter is read as its array type (the
                    // element type from the OID described).
                    let ty = match stmt
                        .declared
                        .get(i)
                        .and_then(|o| types::array_elem_of_oid(*o))
                    {
                        Some(elem) if stmt.param_types[i] == Type::Array => ColType::array_of(elem),
                        _ => ColType::plain(stmt.param_types[i]),
                    };
                    params.push(match p {
                        None => Value::Null,
                        Some(bytes) => {
                            if format_for(&b.parameter_format_codes, i) == 1 {
                                stmt.catalog.decode_binary(bytes, ty)?
                            } else {
                                let s = std::str::from_utf8(bytes).map_err(|_| {
                                    SqlError::new(
                                        "22021",
                                        "invalid byte sequence for encoding \"UTF8\"",
                                    )
                                })?;
                                stmt.catalog.parse_text(s, ty)?
                            }
                        }
                    });
                }
                let pname = b.portal_name.unwrap_or_default();
                portals.insert(
                    pname,
                    Portal {
                        stmt,
                        params,
                        formats: b.result_column_format_codes,
                        pending: None,
                        finished: None,
                    },
                );
                c.send(B::BindComplete(BindComplete::new()));
                Ok(())
            })(),
            F::Describe(d) => (|| {
                let name = d.name.unwrap_or_default();
                if d.target_type == b'S' {
                    let stmt = statements.get(&name).ok_or_else(|| {
                        SqlError::new(
                            code::INVALID_SQL_STATEMENT_NAME,
                            format!("prepared statement \"{name}\" does not exist"),
                        )
                    })?;
                    c.send(B::ParameterDescription(ParameterDescription::new(
                        stmt.param_types
                            .iter()
                            .enumerate()
                            .map(|(i, t)| match (t, stmt.declared.get(i)) {
                                (Type::Array, Some(&oid)) if oid != 0 => oid,
                                _ => t.oid(),
                            })
                            .collect(),
                    )));
                    match &stmt.columns {
                        Some(cols) => c.send(B::RowDescription(row_description(cols, &[]))),
                        None => c.send(B::NoData(NoData::new())),
                    }
                } else {
                    let portal = portals.get(&name).ok_or_else(|| {
                        SqlError::new(
                            code::INVALID_CURSOR_NAME,
                            format!("portal \"{name}\" does not exist"),
                        )
                    })?;
                    match &portal.stmt.columns {
                        Some(cols) => {
                            c.send(B::RowDescription(row_description(cols, &portal.formats)))
                        }
                        None => c.send(B::NoData(NoData::new())),
                    }
                }
                Ok(())
            })(),
            F::Execute(e) => (|| {
                let name = e.name.unwrap_or_default();
                let portal = portals.get_mut(&name).ok_or_else(|| {
                    SqlError::new(
                        code::INVALID_CURSOR_NAME,
                        format!("portal \"{name}\" does not exist"),
                    )
                })?;
                let Some(parsed) = portal.stmt.parsed.clone() else {
                    c.send(B::EmptyQueryResponse(EmptyQueryResponse::new()));
                    return Ok(());
                };
                if let Some(tag) = &portal.finished {
                    // Executed again after it completed, a portal that
                    // returns rows returns none, any other cannot run
                    // (PostgreSQL's PORTAL_DONE): its statement never
                    // runs twice.
                    if portal.stmt.columns.is_none() {
                        return Err(SqlError::new(
                            "55000",
                            format!("portal \"{name}\" cannot be run"),
                        ));
                    }
                    c.send(B::CommandComplete(CommandComplete::new(tag_with_no_rows(
                        tag,
                    ))));
                    return Ok(());
                }
                if portal.pending.is_none() {
                    if is_declare(&parsed.node) {
                        session.set_statement_text(&portal.stmt.text);
                    }
                    session.set_param_oids(&portal.stmt.declared);
                    let out = session.execute_cached(
                        &parsed.node,
                        &portal.stmt.param_types,
                        &portal.params,
                        Some(&mut parsed.plan.borrow_mut()),
                        Some(FixedResult {
                            catalog: &portal.stmt.catalog,
                            columns: portal.stmt.columns.as_deref(),
                        }),
                    )?;
                    let mut out = out;
                    send_notices(&mut c, &out);
                    // COPY answers CopyIn/CopyOutResponse here too (as in
                    // PostgreSQL); its CommandComplete follows below.
                    run_copy(&mut c, &mut session, &mut out)?;
                    portal.pending = Some((out, 0));
                } else if session.status() == b'E' {
                    // A suspended portal of a failed transaction fetches
                    // nothing more, as in PostgreSQL.
                    return Err(crate::session::failed_txn());
                }
                let limit = usize::try_from(e.max_rows)
                    .ok()
                    .filter(|n| *n > 0)
                    .unwrap_or(usize::MAX);
                let mut done = false;
                if let Some((out, sent)) = &mut portal.pending {
                    let cols = out.columns.as_deref().unwrap_or_default();
                    let end = sent.saturating_add(limit).min(out.rows.len());
                    let reaches_error =
                        out.late_error.is_some() && sent.saturating_add(limit) > out.rows.len();
                    for r in &out.rows[*sent..end] {
                        let row = data_row(r, cols, &portal.formats)?;
                        c.send(B::DataRow(row));
                    }
                    *sent = end;
                    if reaches_error {
                        // The rows before it went out; the portal ends
                        // with the error (as PostgreSQL's, which computes
                        // rows as they are fetched).
                        let e = out.late_error.take();
                        portal.pending = None;
                        return Err(e.unwrap_or_else(|| SqlError::internal("a late error")));
                    }
                    // (Rows up to the one before a late error end the
                    // Execute suspended, as PostgreSQL's, which stops at
                    // max_rows without computing the next: the next
                    // Execute reaches the error.)
                    if end < out.rows.len() || out.late_error.is_some() {
                        c.send(B::PortalSuspended(PortalSuspended::new()));
                    } else {
                        c.send(B::CommandComplete(CommandComplete::new(out.tag.clone())));
                        portal.finished = Some(out.tag.clone());
                        done = true;
                    }
                }
                if done {
                    portal.pending = None;
                }
                report_parameters(&mut c, &mut session);
                Ok(())
            })(),
            F::Close(cl) => {
                let name = cl.name.unwrap_or_default();
                if cl.target_type == b'S' {
                    if statements.remove(&name).is_some() {
                        session.info.prepared.lock().remove(&name);
                    }
                } else if portals.remove(&name).is_none() {
                    // A SQL cursor is a portal too.
                    session.close_portal(&name);
                }
                c.send(B::CloseComplete(CloseComplete::new()));
                Ok(())
            }
            F::Sync(_) => {
                skip_until_sync = false;
                if let Err(e) = session.end_implicit() {
                    c.send_error(&session, &e);
                }
                // Portals live until their transaction ends (PostgreSQL's
                // too): an implicit one ends here; in a transaction block a
                // portal bound now may be executed after this Sync.
                if session.txn.is_none() {
                    portals.clear();
                }
                ready(&mut c, &session);
                c.flush()
                    .map_err(|e| SqlError::new(code::CONNECTION_FAILURE, e.to_string()))
            }
            F::Flush(_) => c
                .flush()
                .map_err(|e| SqlError::new(code::CONNECTION_FAILURE, e.to_string())),
            F::Terminate(_) => break Ok(()),
            F::CopyData(_) | F::CopyDone(_) | F::CopyFail(_) => Ok(()),
            other => {
                // PostgreSQL ends the session (FATAL) on a message a backend
                // does not take here, e.g. a password message after
                // authentication; an ERROR left the client waiting for a
                // ReadyForQuery that never came.
                let ty = match other {
                    F::PasswordMessageFamily(_) => b'p',
                    F::PortalSuspended(_) => b's',
                    _ => 0,
                };
                let e = SqlError::new(
                    code::PROTOCOL_VIOLATION,
                    format!("invalid frontend message type {ty}"),
                );
                c.send(B::ErrorResponse(error_response(&e, "FATAL")));
                let _ = c.flush();
                break Ok(());
            }
        };
        at_rest &= session.status() == b'I';
        match session.discarded.take() {
            Some(crate::session::Discarded::One(name)) => {
                statements.remove(&name);
            }
            Some(d) => {
                statements.retain(|name, _| name.is_empty());
                if d == crate::session::Discarded::Everything {
                    portals.clear();
                }
            }
            None => {}
        }
        // Named portals show in pg_cursors (and share the cursors' names).
        if portals.len() > usize::from(portals.contains_key("")) || session.has_portals() {
            session.set_portals(portals.iter().map(|(n, p)| (n, &*p.stmt.text)));
        }
        if let Err(e) = r {
            if e.code == code::CONNECTION_FAILURE {
                break Ok(());
            }
            c.send_error(&session, &e);
            session.on_error();
            if extended {
                skip_until_sync = true;
            }
        }
        if c.fatal || session.info.terminate.load(Ordering::Relaxed) {
            c.send_error(&session, &terminated());
            let _ = c.flush();
            break Ok(());
        }
    };
    if let Some(t) = session.txn.take() {
        session.engine.rollback(t);
    }
    let _ = c.flush();
    result
}

fn send_notices<S: Read + Write>(c: &mut Conn<S>, out: &Outcome) {
    for (sev, code, msg) in &out.notices {
        let fields = vec![
            (b'S', sev.to_string()),
            (b'V', sev.to_string()),
            (b'C', code.to_string()),
            (b'M', msg.clone()),
        ];
        c.send(B::NoticeResponse(NoticeResponse::new(fields)));
    }
}

fn report_parameters<S: Read + Write>(c: &mut Conn<S>, session: &mut Session) {
    for (k, v) in std::mem::take(&mut session.reported) {
        c.send(B::ParameterStatus(ParameterStatus::new(k, v)));
    }
}

/// Bytes of COPY data gathered before a piece of whole lines goes in.
const COPY_PIECE: usize = 256 * 1024;

fn utf8(b: &[u8]) -> Result<&str, SqlError> {
    std::str::from_utf8(b)
        .map_err(|_| SqlError::new("22021", "invalid byte sequence for encoding \"UTF8\""))
}

/// Runs the COPY part of a statement's outcome: for COPY FROM STDIN,
/// CopyInResponse and the client's data (the outcome becomes the COPY's
/// own); for COPY TO STDOUT, CopyOutResponse, the data and CopyDone.
fn run_copy<S: Read + Write>(
    c: &mut Conn<S>,
    session: &mut Session,
    out: &mut Outcome,
) -> Result<(), SqlError> {
    if let Some(copy) = out.copy_in.take() {
        let n = i16::try_from(copy.columns.len()).unwrap_or(i16::MAX);
        let f = i16::from(copy.format.binary);
        c.send(B::CopyInResponse(CopyInResponse::new(
            i8::from(copy.format.binary),
            n,
            vec![f; copy.columns.len()],
        )));
        c.flush()
            .map_err(|e| SqlError::new(code::CONNECTION_FAILURE, e.to_string()))?;
        *out = copy_from_client(c, session, &copy)?;
    }
    if let Some(copy) = out.copy_out.take() {
        let n = i16::try_from(copy.columns).unwrap_or(i16::MAX);
        let f = i16::from(copy.binary);
        c.send(B::CopyOutResponse(CopyOutResponse::new(
            i8::from(copy.binary),
            n,
            vec![f; copy.columns],
        )));
        let data = bytes::Bytes::from(copy.data);
        let mut start = 0;
        for &end in &copy.ends {
            c.send(B::CopyData(CopyData::new(data.slice(start..end))));
            start = end;
        }
        c.send(B::CopyDone(CopyDone::new()));
    }
    Ok(())
}

/// Reads CopyData messages until CopyDone (CopyFail aborts the COPY) and
/// feeds the data to the session in pieces of whole lines as it comes.
/// On an error it stops reading; the main loop drops the rest of the
/// client's COPY messages, as PostgreSQL does.
fn copy_from_client<S: Read + Write>(
    c: &mut Conn<S>,
    session: &mut Session,
    copy: &crate::sql::statement::Copy,
) -> Result<Outcome, SqlError> {
    let mut progress = crate::session::CopyProgress::default();
    let pieces = crate::copy::splits_at_newlines(&copy.format);
    let mut data: Vec<u8> = Vec::new();
    loop {
        match c.read_msg() {
            Ok(Some(F::CopyData(d))) => {
                data.extend_from_slice(&d.data);
                if copy.format.binary && data.len() >= COPY_PIECE {
                    let used = session.copy_binary_chunk(copy, &mut progress, &data, false)?;
                    data.drain(..used);
                } else if pieces && data.len() >= COPY_PIECE {
                    if let Some(end) = data.iter().rposition(|b| *b == b'\n') {
                        let rest = data.split_off(end + 1);
                        session.copy_chunk(copy, &mut progress, utf8(&data)?)?;
                        data = rest;
                    }
                }
            }
            Ok(Some(F::CopyDone(_))) => break,
            Ok(Some(F::CopyFail(f))) => {
                return Err(SqlError::new(
                    code::QUERY_CANCELED,
                    format!("COPY from stdin failed: {}", f.message),
                ))
            }
            Ok(Some(F::Flush(_))) | Ok(Some(F::Sync(_))) => {}
            Ok(Some(_)) => {
                return Err(SqlError::new(
                    code::PROTOCOL_VIOLATION,
                    "unexpected message type during COPY from stdin",
                ))
            }
            Ok(None) | Err(_) => {
                return Err(SqlError::new(
                    code::CONNECTION_FAILURE,
                    "connection lost during COPY",
                ))
            }
        }
    }
    if copy.format.binary {
        session.copy_binary_chunk(copy, &mut progress, &data, true)?;
    } else {
        session.copy_chunk(copy, &mut progress, utf8(&data)?)?;
    }
    Ok(progress.outcome())
}

/// Whether `node` is DECLARE CURSOR (whose text pg_cursors shows).
fn is_declare(node: &pg_query::protobuf::Node) -> bool {
    matches!(
        node.node,
        Some(pg_query::protobuf::node::Node::DeclareCursorStmt(_))
    )
}

fn simple_query<S: Read + Write>(
    c: &mut Conn<S>,
    session: &mut Session,
    texts: &mut ParseCache,
    sql: &str,
) {
    let mut run = |c: &mut Conn<S>, session: &mut Session| -> Result<(), SqlError> {
        let stmts = texts.parse(sql)?;
        if stmts.is_empty() {
            c.send(B::EmptyQueryResponse(EmptyQueryResponse::new()));
            return Ok(());
        }
        for parsed in stmts.iter() {
            if is_declare(&parsed.node) {
                session.set_statement_text(sql);
            }
            session.param_oids.clear();
            let mut out = session.execute_cached(
                &parsed.node,
                &[],
                &[],
                Some(&mut parsed.plan.borrow_mut()),
                None,
            )?;
            send_notices(c, &out);
            run_copy(c, session, &mut out)?;
            if let Some(cols) = &out.columns {
                c.send(B::RowDescription(row_description(cols, &[])));
                for r in &out.rows {
                    let row = data_row(r, cols, &[])?;
                    c.send(B::DataRow(row));
                }
            }
            if let Some(e) = out.late_error.take() {
                return Err(e);
            }
            c.send(B::CommandComplete(CommandComplete::new(out.tag.clone())));
            report_parameters(c, session);
        }
        session.end_implicit()
    };
    if let Err(e) = run(c, session) {
        c.send_error(session, &e);
        session.on_error();
    }
    if c.fatal || session.info.terminate.load(Ordering::Relaxed) {
        c.send_error(session, &terminated());
        return;
    }
    ready(c, session);
    let _ = c.flush();
}
