//! A session reset carried in front of a request, fed recorded answers.

use super::*;

/// A carried session reset's answers: `(tag, rows)` per statement, the
/// first parsed (as the unnamed statement), bound and executed, the
/// others but the last one simple Query, ended by its ReadyForQuery, then
/// the check and the last statement each parsed, bound and executed.
fn reset_answers(parts: &[(&str, usize)]) -> Vec<Vec<u8>> {
    let mut v = vec![parse_complete(), bind_complete()];
    let statement = |v: &mut Vec<Vec<u8>>, (tag, rows): (&str, usize)| {
        v.extend((0..rows).map(|_| data_row(&[Some(7)])));
        v.push(command_complete(tag));
    };
    let Some(((first, last), middle)) = parts
        .split_first()
        .and_then(|(f, rest)| rest.split_last().map(|(l, m)| ((f, l), m)))
    else {
        for p in parts {
            statement(&mut v, *p);
        }
        return v;
    };
    statement(&mut v, *first);
    if !middle.is_empty() {
        for p in middle {
            statement(&mut v, *p);
        }
        v.push(ready(b'T'));
    }
    // The check in front of the last statement (`reset::CHECK`).
    v.extend([parse_complete(), bind_complete()]);
    v.push(command_complete("DISCARD SEQUENCES"));
    v.extend([parse_complete(), bind_complete()]);
    statement(&mut v, *last);
    v
}

#[test]
fn a_carried_reset_is_answered_before_its_request_in_one_sync_group() {
    let mut e = engine();
    e.queue_reset(vec!["BEGIN", "SELECT 1", "COMMIT"]);
    assert!(!e.is_idle(), "a queued reset is something to send");
    let id = submit(&mut e);
    assert_eq!(
        e.out.bytes()[0],
        b'P',
        "the reset goes in front (its Parse)"
    );
    assert_eq!(e.out.bytes().windows(5).filter(|w| *w == SYNC).count(), 1);
    let n = e.out.len();
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
    assert_eq!(e.out.bytes().windows(5).filter(|w| *w == SYNC).count(), 0);
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

/// Behind the Sync group that carries a reset, nothing is written before
/// that group is answered (a request in a later group would run whatever
/// the reset did); the check goes behind the reset's simple Query.
#[test]
fn nothing_behind_the_group_carrying_a_reset_is_written_before_its_answer() {
    let mut e = engine();
    e.queue_reset(vec!["BEGIN", "SELECT 1", "COMMIT"]);
    let first = submit(&mut e);
    let end = e.reqs.get(first).map(Req::end).unwrap();
    assert_eq!(e.out.barriers(), [end], "a barrier where the group ends");
    let second = submit(&mut e);
    let bytes = e.out.bytes().to_vec();
    let check = bytes
        .windows(crate::engine::reset::CHECK.len())
        .position(|w| w == crate::engine::reset::CHECK.as_bytes());
    let query = bytes.iter().position(|b| *b == b'Q');
    assert!(
        check.is_some() && query < check,
        "the check follows the Query"
    );
    // The last statement (its COMMIT) is not in the Query: it follows the
    // check as its own unnamed statement, so that the block ends with
    // transaction control and no implicit transaction stays open into the
    // request behind it.
    let commit = bytes.windows(6).position(|w| w == b"COMMIT");
    assert!(check < commit, "COMMIT follows the check");
    let n = e.out.len();
    e.sent(n);
    let mut stream = reset_answers(&[("BEGIN", 0), ("SELECT 1", 1), ("COMMIT", 0)]);
    stream.extend(select_two());
    feed(&mut e, &stream).unwrap();
    assert!(e.out.barriers().is_empty(), "answered: its barrier went");
    let r = e.collect(first);
    assert_eq!(r.tag.as_deref(), Some("SELECT 2"));
    // The next request carries no reset, so no barrier of its own.
    let third = submit(&mut e);
    assert!(e.out.barriers().is_empty());
    let _ = (second, third);
}

/// A reset of two statements has no simple Query: its first, the check
/// and its last are each parsed, bound and executed; the session's
/// transaction status is the request's, not the reset's.
#[test]
fn a_two_statement_reset_sends_no_query() {
    let mut e = engine();
    e.queue_reset(vec!["BEGIN", "COMMIT"]);
    let id = submit(&mut e);
    let (mut tags, mut b) = (Vec::new(), e.out.bytes());
    while b.len() >= 5 {
        let len = u32::from_be_bytes([b[1], b[2], b[3], b[4]]) as usize;
        tags.push(b[0]);
        b = &b[1 + len..];
    }
    assert_eq!(tags, b"PBEPBEPBES", "no simple Query");
    let n = e.out.len();
    e.sent(n);
    let mut stream = reset_answers(&[("BEGIN", 0), ("COMMIT", 0)]);
    stream.extend(select_two());
    feed(&mut e, &stream).unwrap();
    let r = e.collect(id);
    assert_eq!(r.tag.as_deref(), Some("SELECT 2"));
    assert_eq!(r.rows.len(), 2);
    assert_eq!(e.session.tx_status(), TransactionStatus::Idle);
    // Three statements: the Query's ReadyForQuery (inside the reset's
    // block) does not count as the session's status either.
    let mut e = engine();
    e.queue_reset(vec!["BEGIN", "SELECT 1", "COMMIT"]);
    let id = submit(&mut e);
    let n = e.out.len();
    e.sent(n);
    let mut stream = reset_answers(&[("BEGIN", 0), ("SELECT 1", 1), ("COMMIT", 0)]);
    stream.extend(select_two());
    feed(&mut e, &stream).unwrap();
    assert_eq!(e.collect(id).rows.len(), 2);
    assert_eq!(
        e.session.tx_ends(),
        0,
        "no transaction ended for the session"
    );
}
