//! Chooses, for each base-table occurrence, how its changed rows map to TVIEW
//! keys: straight from the row (direct), through a join path of equalities
//! (join), or not at all (full refresh).

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::walk::Walker;
use super::{ColumnRef, JoinPath, JoinStep, Mapping};

/// Per occurrence: equivalence class -> smallest attno of that occurrence in it.
type Classes = Vec<BTreeMap<usize, i16>>;

/// Maps each occurrence; `keys` holds the class of each key column, or the
/// reason the key cannot be traced to table columns.
pub fn plan(w: &mut Walker<'_>, keys: &std::result::Result<Vec<usize>, String>) -> Vec<Mapping> {
    let index: HashMap<(usize, i64), usize> = w
        .occurrences
        .iter()
        .enumerate()
        .map(|(i, o)| ((o.level, o.rtindex), i))
        .collect();
    let mut classes: Classes = vec![BTreeMap::new(); w.occurrences.len()];
    let slots: Vec<_> = w.slots.iter().map(|(k, v)| (*k, *v)).collect();
    for ((level, rt, attno), slot) in slots {
        let (Some(&o), Ok(attno)) = (index.get(&(level, rt)), i16::try_from(attno)) else {
            continue;
        };
        let class = w.uf.find(slot);
        let e = classes[o].entry(class).or_insert(attno);
        *e = (*e).min(attno);
    }
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (o, cs) in classes.iter().enumerate() {
        for &c in cs.keys() {
            members.entry(c).or_default().push(o);
        }
    }
    (0..w.occurrences.len())
        .map(|o| {
            let level = w.occurrences[o].level;
            if w.levels[level].opaque {
                let why = w.opaque_reasons.get(&level).cloned().unwrap_or_default();
                return Mapping::Full {
                    reason: format!("the query uses {why} around this table"),
                };
            }
            match keys {
                Err(why) => Mapping::Full {
                    reason: why.clone(),
                },
                Ok(keys) => map_one(o, keys, &classes, &members),
            }
        })
        .collect()
}

fn map_one(
    root: usize,
    keys: &[usize],
    classes: &Classes,
    members: &BTreeMap<usize, Vec<usize>>,
) -> Mapping {
    let own = &classes[root];
    if keys.iter().all(|k| own.contains_key(k)) {
        return Mapping::Direct {
            key_attnos: keys.iter().map(|k| own[k]).collect(),
        };
    }
    // Breadth-first over occurrences sharing a class: shortest paths, so
    // every hop moves strictly closer to the key (see the README's argument).
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut order = vec![root];
    let mut queue = VecDeque::from([root]);
    let covered = |order: &[usize]| {
        keys.iter()
            .all(|k| order.iter().any(|o| classes[*o].contains_key(k)))
    };
    while let Some(u) = queue.pop_front() {
        if covered(&order) {
            break;
        }
        for c in classes[u].keys() {
            for &v in &members[c] {
                if v != root && !parent.contains_key(&v) {
                    parent.insert(v, u);
                    order.push(v);
                    queue.push_back(v);
                }
            }
        }
    }
    if !covered(&order) {
        return Mapping::Full {
            reason: "no chain of equality conditions links this table to the key".into(),
        };
    }
    // Keep only the occurrences on the paths to the first holder of each key class.
    let mut needed = vec![root];
    let holders: Vec<usize> = keys
        .iter()
        .map(|k| {
            order
                .iter()
                .copied()
                .find(|o| classes[*o].contains_key(k))
                .unwrap_or(root)
        })
        .collect();
    for &h in &holders {
        let mut x = h;
        while !needed.contains(&x) {
            needed.push(x);
            x = parent[&x];
        }
    }
    let steps_occ: Vec<usize> = order
        .iter()
        .copied()
        .filter(|o| *o != root && needed.contains(o))
        .collect();
    let mut root_attnos: Vec<i16> = Vec::new();
    let mut steps: Vec<JoinStep> = Vec::new();
    for &v in &steps_occ {
        let p = parent[&v];
        let mut on = Vec::new();
        for (c, &attno) in &classes[v] {
            if let Some(&pattno) = classes[p].get(c) {
                let r = if p == root {
                    root_ref(pattno, &mut root_attnos)
                } else {
                    let si = steps_occ.iter().position(|s| *s == p).unwrap_or(0);
                    ColumnRef::Step(si, pattno)
                };
                on.push((attno, r));
            }
        }
        steps.push(JoinStep { occurrence: v, on });
    }
    let key = keys
        .iter()
        .zip(&holders)
        .map(|(k, &h)| {
            let attno = classes[h][k];
            if h == root {
                root_ref(attno, &mut root_attnos)
            } else {
                ColumnRef::Step(steps_occ.iter().position(|s| *s == h).unwrap_or(0), attno)
            }
        })
        .collect();
    Mapping::Join(JoinPath {
        root_attnos,
        steps,
        key,
    })
}

/// A reference to a root column, adding it to the captured columns if new.
fn root_ref(attno: i16, root_attnos: &mut Vec<i16>) -> ColumnRef {
    let i = root_attnos
        .iter()
        .position(|a| *a == attno)
        .unwrap_or_else(|| {
            root_attnos.push(attno);
            root_attnos.len() - 1
        });
    ColumnRef::Root(i)
}
