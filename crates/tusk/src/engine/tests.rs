//! Message dispatch without a server: recorded server byte streams (and
//! malformed ones, like those the proxy tests inject) fed to an [`Engine`].

use super::*;
use crate::connection::TransactionStatus;
use postgres_protocol::message::frontend;

/// One backend message: tag, length, body.
fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn parse_complete() -> Vec<u8> {
    msg(b'1', &[])
}

fn bind_complete() -> Vec<u8> {
    msg(b'2', &[])
}

/// A RowDescription of int4 columns named as given, in binary.
fn row_description(names: &[&str]) -> Vec<u8> {
    let mut b = i16::try_from(names.len()).unwrap().to_be_bytes().to_vec();
    for n in names {
        b.extend_from_slice(&cstr(n));
        b.extend_from_slice(&0u32.to_be_bytes()); // table oid
        b.extend_from_slice(&0i16.to_be_bytes()); // column
        b.extend_from_slice(&23u32.to_be_bytes()); // int4
        b.extend_from_slice(&4i16.to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.extend_from_slice(&1i16.to_be_bytes()); // binary
    }
    msg(b'T', &b)
}

/// A DataRow of int4 values (None: NULL).
fn data_row(values: &[Option<i32>]) -> Vec<u8> {
    let mut b = i16::try_from(values.len()).unwrap().to_be_bytes().to_vec();
    for v in values {
        match v {
            Some(v) => {
                b.extend_from_slice(&4i32.to_be_bytes());
                b.extend_from_slice(&v.to_be_bytes());
            }
            None => b.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    msg(b'D', &b)
}

fn command_complete(tag: &str) -> Vec<u8> {
    msg(b'C', &cstr(tag))
}

fn ready(status: u8) -> Vec<u8> {
    msg(b'Z', &[status])
}

fn error_response(severity: &str, code: &str, message: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for (f, v) in [
        (b'S', severity),
        (b'V', severity),
        (b'C', code),
        (b'M', message),
    ] {
        b.push(f);
        b.extend_from_slice(&cstr(v));
    }
    b.push(0);
    msg(b'E', &b)
}

fn engine() -> Engine {
    Engine::new(
        BytesMut::new(),
        HashMap::new(),
        StatementCache::new(100, 1 << 20),
        false,
    )
}

/// Submits an extended-protocol request alone (its messages do not matter:
/// nothing is written).
fn submit(e: &mut Engine) -> u64 {
    e.submit(Submit::WHOLE, Response::extended(), |_| Ok(()))
        .expect("submit")
}

fn feed(e: &mut Engine, parts: &[Vec<u8>]) -> Result<bool, Error> {
    e.receive(&parts.concat())
}

fn select_two() -> Vec<Vec<u8>> {
    vec![
        parse_complete(),
        bind_complete(),
        row_description(&["a"]),
        data_row(&[Some(1)]),
        data_row(&[None]),
        command_complete("SELECT 2"),
        ready(b'I'),
    ]
}

#[test]
fn a_query_completes() {
    let mut e = engine();
    let id = submit(&mut e);
    assert_eq!(e.in_flight(), 1);
    assert!(feed(&mut e, &select_two()).unwrap());
    assert!(e.req(id).unwrap().done);
    let r = e.collect(id);
    assert!(r.error.is_none());
    assert_eq!(r.rows.len(), 2);
    assert_eq!(r.rows[0].get::<i32>(0), 1);
    assert_eq!(r.rows[1].get::<Option<i32>>(0), None);
    assert_eq!(r.tag.as_deref(), Some("SELECT 2"));
    assert_eq!(r.status, Some(TransactionStatus::Idle));
    assert_eq!(e.in_flight(), 0);
}

#[test]
fn byte_by_byte_is_the_same() {
    let mut e = engine();
    let id = submit(&mut e);
    for b in select_two().concat() {
        e.receive(&[b]).unwrap();
    }
    let r = e.collect(id);
    assert!(r.error.is_none());
    assert_eq!(r.rows.len(), 2);
    assert_eq!(r.tag.as_deref(), Some("SELECT 2"));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut e = engine();
    let a = submit(&mut e);
    let b = submit(&mut e);
    let mut stream = select_two();
    stream.extend([
        bind_complete(),
        msg(b'n', &[]),
        command_complete("INSERT 0 7"),
        ready(b'T'),
    ]);
    feed(&mut e, &stream).unwrap();
    assert_eq!(e.collect(a).rows.len(), 2);
    let rb = e.collect(b);
    assert_eq!(rb.rows_affected(), 7);
    assert_eq!(rb.status, Some(TransactionStatus::InTransaction));
    assert_eq!(e.tx_status, TransactionStatus::InTransaction);
}

#[test]
fn a_truncated_message_waits_for_the_rest() {
    let mut e = engine();
    let id = submit(&mut e);
    let all = select_two().concat();
    let cut = all.len() - 3; // inside the ReadyForQuery
    e.receive(&all[..cut]).unwrap();
    assert!(!e.req(id).unwrap().done);
    // Only a header's first bytes: nothing to dispatch, no error.
    e.receive(&all[cut..cut + 1]).unwrap();
    assert!(!e.req(id).unwrap().done);
    e.receive(&all[cut + 1..]).unwrap();
    assert!(e.req(id).unwrap().done);
}

#[test]
fn an_unknown_message_type_is_a_protocol_error() {
    let mut e = engine();
    submit(&mut e);
    let err = feed(&mut e, &[msg(b'!', b"what")]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
}

#[test]
fn a_message_over_the_size_cap_is_refused_before_it_is_buffered() {
    let mut e = engine();
    submit(&mut e);
    let mut header = vec![b'D'];
    header.extend_from_slice(&(u32::try_from(MAX_MESSAGE).unwrap() + 1).to_be_bytes());
    let err = e.receive(&header).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(
        err.to_string().contains("larger than the protocol allows"),
        "{err}"
    );
    // Exactly at the cap: accepted (it waits for the bytes).
    let mut e = engine();
    submit(&mut e);
    let mut header = vec![b'D'];
    header.extend_from_slice(&u32::try_from(MAX_MESSAGE).unwrap().to_be_bytes());
    assert!(!e.receive(&header).unwrap());
}

#[test]
fn a_length_below_four_is_refused() {
    let mut e = engine();
    submit(&mut e);
    let err = e.receive(&[b'Z', 0, 0, 0, 3]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
}

#[test]
fn a_malformed_body_is_a_protocol_error() {
    // A CommandComplete whose tag lacks its terminator.
    let mut e = engine();
    submit(&mut e);
    let err = feed(&mut e, &[bind_complete(), msg(b'C', b"SELECT 1")]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    // A DataRow that claims more bytes than it has.
    let mut e = engine();
    submit(&mut e);
    let mut body = 1i16.to_be_bytes().to_vec();
    body.extend_from_slice(&100i32.to_be_bytes());
    body.extend_from_slice(&[1, 2]);
    let err = feed(&mut e, &[row_description(&["a"]), msg(b'D', &body)]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    // A DataRow with more columns than described.
    let mut e = engine();
    submit(&mut e);
    let err = feed(
        &mut e,
        &[row_description(&["a"]), data_row(&[Some(1), Some(2)])],
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
}

#[test]
fn a_data_row_before_any_description_is_a_protocol_error() {
    let mut e = engine();
    submit(&mut e);
    let err = feed(&mut e, &[bind_complete(), data_row(&[Some(1)])]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
}

#[test]
fn an_error_mid_rows_fails_that_request_only() {
    let mut e = engine();
    let a = submit(&mut e);
    let b = submit(&mut e);
    let mut stream = vec![
        parse_complete(),
        bind_complete(),
        row_description(&["a"]),
        data_row(&[Some(1)]),
        data_row(&[Some(2)]),
        error_response("ERROR", "22012", "division by zero"),
        ready(b'I'),
    ];
    stream.extend(select_two());
    feed(&mut e, &stream).unwrap();
    let ra = e.collect(a);
    let err = ra.error.expect("an error");
    assert_eq!(
        err.code().map(|c| c.code().to_string()).as_deref(),
        Some("22012")
    );
    assert_eq!(ra.status, Some(TransactionStatus::Idle));
    let rb = e.collect(b);
    assert!(rb.error.is_none());
    assert_eq!(rb.rows.len(), 2);
}

#[test]
fn a_ready_for_query_with_an_unknown_status_is_a_protocol_error() {
    let mut e = engine();
    submit(&mut e);
    let err = feed(
        &mut e,
        &[bind_complete(), command_complete("SELECT 0"), ready(b'X')],
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
}

#[test]
fn messages_with_nothing_in_flight() {
    // A ReadyForQuery nobody asked for.
    let mut e = engine();
    let err = feed(&mut e, &[ready(b'I')]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    // A DataRow nobody asked for.
    let mut e = engine();
    let err = feed(&mut e, &[data_row(&[Some(1)])]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    // An error with nothing in flight (the server shutting down) breaks
    // the connection.
    let mut e = engine();
    let err = feed(
        &mut e,
        &[error_response("FATAL", "57P01", "terminating connection")],
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    // Asynchronous messages are fine at any time.
    let mut e = engine();
    let mut n = cstr("TimeZone");
    n.extend_from_slice(&cstr("UTC"));
    let mut a = 42i32.to_be_bytes().to_vec();
    a.extend_from_slice(&cstr("chan"));
    a.extend_from_slice(&cstr("payload"));
    feed(&mut e, &[msg(b'S', &n), msg(b'A', &a)]).unwrap();
    assert_eq!(e.params.get("TimeZone").map(String::as_str), Some("UTC"));
    let note = e.notifications.pop_front().expect("a notification");
    assert_eq!(
        (note.channel.as_str(), note.payload.as_str()),
        ("chan", "payload")
    );
}

#[test]
fn a_fatal_error_breaks_the_connection() {
    let mut e = engine();
    submit(&mut e);
    let err = feed(
        &mut e,
        &[error_response("FATAL", "57P01", "terminating connection")],
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
}

#[test]
fn a_failed_part_of_an_atomic_group_skips_the_rest() {
    let mut e = engine();
    let inner = Submit {
        sync: false,
        ..Submit::WHOLE
    };
    let a = e.submit(inner, Response::extended(), |_| Ok(())).unwrap();
    let b = e.submit(inner, Response::extended(), |_| Ok(())).unwrap();
    let c = submit(&mut e);
    feed(
        &mut e,
        &[
            bind_complete(),
            msg(b'n', &[]),
            command_complete("INSERT 0 1"),
            error_response("ERROR", "23505", "duplicate key"),
            ready(b'I'),
        ],
    )
    .unwrap();
    let ra = e.collect(a);
    assert!(ra.error.is_none());
    let rb = e.collect(b);
    assert_eq!(
        rb.error
            .and_then(|e| e.code())
            .map(|c| c.code().to_string())
            .as_deref(),
        Some("23505")
    );
    let rc = e.collect(c);
    assert!(rc.error.unwrap().to_string().contains("not run"));
    assert_eq!(rc.status, Some(TransactionStatus::Idle));
    assert_eq!(e.in_flight(), 0);
}

#[test]
fn copy_in_through_a_query_is_refused_with_copy_fail_and_sync() {
    let mut e = engine();
    let how = Submit {
        barrier: true,
        ..Submit::WHOLE
    };
    let id = e.submit(how, Response::extended(), |_| Ok(())).unwrap();
    let before = e.wbuf.len();
    let mut body = vec![0u8];
    body.extend_from_slice(&0i16.to_be_bytes());
    feed(&mut e, &[bind_complete(), msg(b'G', &body)]).unwrap();
    // CopyFail, then a Sync, right behind the request.
    assert_eq!(e.wbuf[before], b'f');
    assert_eq!(&e.wbuf[e.wbuf.len() - 5..], &SYNC);
    feed(
        &mut e,
        &[
            error_response("ERROR", "57014", "COPY from stdin failed"),
            ready(b'I'),
        ],
    )
    .unwrap();
    let r = e.collect(id);
    assert!(r.error.unwrap().to_string().contains("COPY"));
}

#[test]
fn copy_in_after_its_end_was_written_breaks_the_connection() {
    let mut e = engine();
    let id = submit(&mut e);
    let _ = id;
    // Pretend everything was written: the CopyFail cannot go in front.
    e.sent(e.wbuf.len());
    submit(&mut e);
    e.sent(e.wbuf.len());
    let mut body = vec![0u8];
    body.extend_from_slice(&0i16.to_be_bytes());
    let err = feed(&mut e, &[bind_complete(), msg(b'G', &body)]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
}

#[test]
fn an_encoding_error_leaves_nothing_behind() {
    let mut e = engine();
    submit(&mut e);
    let len = e.wbuf.len();
    let err = e
        .submit(Submit::WHOLE, Response::extended(), |w| {
            w.extend_from_slice(b"half a message");
            Err(Error::conversion("cannot encode"))
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conversion);
    assert_eq!(e.wbuf.len(), len);
    assert_eq!(e.in_flight(), 1);
}

#[test]
fn an_abandoned_request_is_still_read_to_its_end() {
    let mut e = engine();
    let a = submit(&mut e);
    let b = submit(&mut e);
    e.abandon(a);
    let mut stream = select_two();
    stream.extend(select_two());
    feed(&mut e, &stream).unwrap();
    assert!(e.req(a).is_none(), "abandoned and done: gone");
    assert_eq!(e.collect(b).rows.len(), 2);
    assert_eq!(e.in_flight(), 0);
}

#[test]
fn owed_bytes_is_a_lower_bound_of_what_the_server_sends() {
    let mut e = engine();
    assert_eq!(e.owed_bytes(), 0);
    let encode = |w: &mut BytesMut| {
        w.extend_from_slice(&bind_complete()); // any message: its size matters only
        Ok(())
    };
    let inner = Submit {
        sync: false,
        ..Submit::WHOLE
    };
    let a = e
        .submit(Submit::WHOLE, Response::extended(), encode)
        .unwrap();
    e.submit(Submit::WHOLE, Response::extended(), encode)
        .unwrap();
    // A bare Sync (waiting behind a describe): a ReadyForQuery only.
    e.submit(Submit::WHOLE, Response::extended(), |_| Ok(()))
        .unwrap();
    // An atomic group: its last part may get a ReadyForQuery only.
    e.submit(inner, Response::extended(), encode).unwrap();
    e.submit(Submit::WHOLE, Response::extended(), encode)
        .unwrap();
    // Nothing written yet: nothing owed.
    assert_eq!(e.owed_bytes(), 0);
    e.sent(e.wbuf.len());
    // The request answered now (6: it may have had all but its
    // ReadyForQuery), a lone one (11), the bare Sync (6), the group's
    // inner part (0) and last part (6).
    assert_eq!(e.owed_bytes(), 6 + 11 + 6 + 6);
    // What already sits in the receive buffer counts against it.
    e.receive(&[b'2', 0, 0, 0]).unwrap();
    assert_eq!(e.owed_bytes(), 6 + 11 + 6 + 6 - 4);
    e.receive(&[4]).unwrap();
    e.receive(&ready(b'I')).unwrap();
    assert!(e.req(a).unwrap().done);
    // The smallest answers the server could send: an error and a
    // ReadyForQuery for the lone one, ReadyForQuery for the bare Sync, an
    // error for the group's first part and one ReadyForQuery for the group.
    let least = [
        msg(b'E', &[0]),
        ready(b'I'),
        ready(b'I'),
        msg(b'E', &[0]),
        ready(b'I'),
    ]
    .concat();
    assert!(
        e.owed_bytes() <= least.len(),
        "{} > {}",
        e.owed_bytes(),
        least.len()
    );
}

/// A carried session reset's answers: `(tag, rows)` per statement, the
/// first parsed (as the unnamed statement), bound and executed, the
/// others one simple Query, ended by its ReadyForQuery.
fn reset_answers(parts: &[(&str, usize)]) -> Vec<Vec<u8>> {
    let mut v = vec![parse_complete(), bind_complete()];
    for (tag, rows) in parts {
        v.extend((0..*rows).map(|_| data_row(&[Some(7)])));
        v.push(command_complete(tag));
    }
    if parts.len() > 1 {
        v.push(ready(b'T'));
    }
    v
}

#[test]
fn a_carried_reset_is_answered_before_its_request_in_one_sync_group() {
    let mut e = engine();
    e.queue_reset(vec!["BEGIN", "SELECT 1", "COMMIT"]);
    assert!(!e.is_idle(), "a queued reset is something to send");
    let id = submit(&mut e);
    assert_eq!(e.wbuf[0], b'P', "the reset goes in front (its Parse)");
    assert_eq!(e.wbuf.windows(5).filter(|w| *w == SYNC).count(), 1);
    let n = e.wbuf.len();
    e.sent(n);
    let mut stream = reset_answers(&[("BEGIN", 0), ("SELECT 1", 1), ("COMMIT", 0)]);
    stream.extend(select_two());
    feed(&mut e, &stream).unwrap();
    let r = e.collect(id);
    assert_eq!(r.rows.len(), 2, "the reset's row is not the request's");
    assert_eq!(r.tag.as_deref(), Some("SELECT 2"));
    assert_eq!(r.reset, CarriedReset::None);
    assert!(e.is_idle());
}

#[test]
fn a_reset_in_front_of_a_simple_query_has_no_sync_of_its_own() {
    let mut e = engine();
    e.queue_reset(vec!["DISCARD ALL"]);
    let id = e
        .submit(Submit::WHOLE, Response::simple(), |b| {
            frontend::query("SET x = 1", b).map_err(|_| Error::protocol("encode"))
        })
        .unwrap();
    // No Sync: a failed reset makes the server skip the Query too.
    assert_eq!(e.wbuf.windows(5).filter(|w| *w == SYNC).count(), 0);
    let mut stream = reset_answers(&[("DISCARD ALL", 0)]);
    stream.extend([command_complete("SET"), ready(b'T')]);
    feed(&mut e, &stream).unwrap();
    let r = e.collect(id);
    assert!(r.error.is_none());
    assert_eq!(r.simple.len(), 1, "only the query's CommandComplete");
    assert_eq!(r.status, Some(TransactionStatus::InTransaction));
}

#[test]
fn a_failing_reset_closes_the_connection_and_an_undone_one_is_pending_again() {
    let mut e = engine();
    e.queue_reset(vec!["BEGIN", "COMMIT"]);
    let mark = e.mark();
    submit(&mut e);
    e.undo(mark);
    assert!(e.reset.is_pending(), "undone before it was written");
    submit(&mut e);
    let mut stream = reset_answers(&[("BEGIN", 0)]);
    stream.push(error_response("ERROR", "42601", "boom"));
    let err = feed(&mut e, &stream).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    // A ReadyForQuery of the reset's own Sync with a status the protocol
    // does not define is a protocol error, like any other.
    let mut e = engine();
    e.queue_reset(vec!["DISCARD ALL"]);
    e.submit(Submit::WHOLE, Response::simple(), |_| Ok(()))
        .unwrap();
    let mut stream = reset_answers(&[("DISCARD ALL", 0)]);
    stream.push(ready(b'?'));
    assert_eq!(
        feed(&mut e, &stream).unwrap_err().kind(),
        ErrorKind::Protocol
    );
}
