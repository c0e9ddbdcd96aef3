use std::collections::HashSet;

use super::*;

fn k(s: &str) -> Key {
    vec![s.to_owned()]
}

fn keys(p: &Pending) -> HashSet<String> {
    p.keys.keys().map(|k| k[0].clone()).collect()
}

#[test]
fn deduplicates_keys() {
    let mut q = Queue::default();
    for _ in 0..100 {
        q.add_keys(7, [k("1")], 1, 10);
    }
    let (t, p) = q.take_next(|_| 0).unwrap();
    assert_eq!((t, p.keys.len(), p.full), (7, 1, None));
    assert!(q.is_empty());
}

#[test]
fn overflows_to_full_refresh() {
    let mut q = Queue::default();
    q.add_keys(1, (0..5).map(|i| k(&i.to_string())), 1, 3);
    q.add_keys(1, [k("x")], 2, 3);
    q.add_join_rows(1, 0, [vec![None]], 2, 3);
    let (_, p) = q.take_next(|_| 0).unwrap();
    assert_eq!(p.full, Some(1));
    assert!(p.keys.is_empty() && p.joins.is_empty());
}

#[test]
fn takes_in_rank_order() {
    let mut q = Queue::default();
    q.add_keys(10, [k("a")], 1, 9);
    q.add_keys(20, [k("a")], 1, 9);
    q.mark_full(30, 1);
    let rank = |t: u32| if t == 10 { 2 } else { 1 };
    let order: Vec<u32> = std::iter::from_fn(|| q.take_next(rank).map(|(t, _)| t)).collect();
    assert_eq!(order, [20, 30, 10]);
}

#[test]
fn rolled_back_subtransactions_drop_their_work() {
    let mut q = Queue::default();
    q.add_keys(1, [k("top")], 1, 99);
    q.add_keys(1, [k("s2"), k("top")], 2, 99);
    q.add_keys(1, [k("s3")], 3, 99);
    q.subxact_commit(3, 2);
    q.subxact_abort(2, 99);
    let (_, p) = q.take_next(|_| 0).unwrap();
    assert_eq!(keys(&p), HashSet::from(["top".to_owned()]));
}

#[test]
fn rolled_back_flushes_give_their_work_back() {
    // BEGIN; UPDATE (k1 queued at top); SAVEPOINT s (sub 2);
    // SET CONSTRAINTS ALL IMMEDIATE (flush in sub 2 applies k1);
    // UPDATE (k2 queued and applied in sub 2); ROLLBACK TO s.
    let mut q = Queue::default();
    q.add_keys(1, [k("k1")], 1, 99);
    let (t, w) = q.take_next(|_| 0).unwrap();
    q.applied(2, t, w);
    q.add_keys(1, [k("k2")], 2, 99);
    let (t, w) = q.take_next(|_| 0).unwrap();
    q.applied(2, t, w);
    assert!(q.is_empty());
    q.subxact_abort(2, 99);
    let (_, p) = q.take_next(|_| 0).unwrap();
    assert_eq!(keys(&p), HashSet::from(["k1".to_owned()]));
    assert_eq!(p.keys[&k("k1")], 1);
}

#[test]
fn applied_work_follows_commits_of_subtransactions() {
    let mut q = Queue::default();
    q.add_keys(1, [k("k1")], 1, 99);
    let (t, w) = q.take_next(|_| 0).unwrap();
    q.applied(3, t, w);
    q.subxact_commit(3, 2);
    q.subxact_abort(3, 99);
    assert!(q.is_empty(), "3 already committed into 2");
    q.subxact_abort(2, 99);
    assert!(!q.is_empty());
    // A top-level flush is never logged.
    let (t, w) = q.take_next(|_| 0).unwrap();
    q.applied(1, t, w);
    q.subxact_abort(4, 99);
    assert!(q.is_empty());
}

#[test]
fn full_refreshes_keep_the_outermost_tag() {
    let mut q = Queue::default();
    q.mark_full(1, 3);
    q.add_keys(1, [k("a")], 2, 99);
    q.subxact_abort(3, 99);
    let (_, p) = q.take_next(|_| 0).unwrap();
    assert_eq!(p.full, Some(2));
    let mut q = Queue::default();
    q.requeue(1, Pending::full(4), 99);
    q.requeue(1, Pending::keys([k("a")], 1), 99);
    let (_, p) = q.take_next(|_| 0).unwrap();
    assert_eq!(p.full, Some(1));
}

#[test]
fn marker_follows_savepoints() {
    let mut m = Marker::default();
    assert!(m.needed());
    m.placed(3);
    m.subxact_commit(3, 2);
    assert!(!m.subxact_abort(3));
    assert!(m.subxact_abort(2));
    assert!(m.needed());
    m.placed(1);
    assert!(!m.subxact_abort(5));
    m.reset();
    assert!(m.needed());
}

#[test]
fn lock_values_follow_savepoints_and_overflow() {
    let mut q = Queue::default();
    q.add_values(1, 0, [vec![Some("3".to_owned())]], 1, 9);
    q.add_values(1, 0, [vec![Some("4".to_owned())]], 2, 9);
    q.add_values(1, 0, [vec![Some("3".to_owned())]], 2, 9);
    q.subxact_abort(2, 9);
    let (_, p) = q.take_next(|_| 0).unwrap();
    // "3" was queued at the top level too: it stays, "4" goes.
    assert_eq!(p.values[&0].len(), 1);
    assert_eq!(p.values[&0].get(&vec![Some("3".to_owned())]), Some(&1));
    // Values count toward the queue size; a full refresh needs none.
    q.add_values(2, 0, (0..5).map(|i| vec![Some(i.to_string())]), 1, 3);
    let (_, p) = q.take_next(|_| 0).unwrap();
    assert_eq!(p.full, Some(1));
    assert!(p.values.is_empty());
}

#[test]
fn values_alone_are_pending_work() {
    let mut q = Queue::default();
    q.add_values(1, 2, [vec![Some("x".to_owned())]], 1, 9);
    assert!(!q.is_empty());
    let (t, p) = q.take_next(|_| 0).unwrap();
    assert_eq!(t, 1);
    assert!(p.keys.is_empty() && p.joins.is_empty());
    q.requeue(1, p.clone(), 9);
    assert_eq!(q.take_next(|_| 0).unwrap().1, p);
}
