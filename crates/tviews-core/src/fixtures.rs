//! The captured query trees (`tests/fixtures/*.tree`, made by
//! `tests/fixtures/capture.sh` from a PostgreSQL 15 server) and a fake
//! catalog, for the unit tests of every module: one loader for all.

use std::collections::BTreeSet;

use crate::analyze::{analyze, Analysis};
use crate::node::{self, Node, Value};
use crate::sql::Catalog;
use crate::Result;

/// The fixture `name` (`json` for `tests/fixtures/json.tree`): its first
/// line lists the equality operators' oids, the rest is the rewritten
/// query's node text.
pub fn tree(name: &str) -> (BTreeSet<u32>, Node) {
    let path = format!("{}/tests/fixtures/{name}.tree", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (ops, tree) = text
        .split_once('\n')
        .expect("a fixture has an operator line");
    let eq = ops
        .split_whitespace()
        .map(|o| o.parse().expect("an operator oid"))
        .collect();
    let query = match node::parse(tree).expect("a fixture parses") {
        Value::List(items) => items[0].as_node().expect("a query node").clone(),
        Value::Node(n) => n,
        other => panic!("{path}: no query in {other:?}"),
    };
    (eq, query)
}

/// The analysis of fixture `name` with the TVIEW key `key`.
pub fn analysis(name: &str, key: &[&str]) -> Result<Analysis> {
    let (eq, query) = tree(name);
    let key: Vec<String> = key.iter().map(|k| (*k).to_owned()).collect();
    analyze(&query, &key, &eq)
}

/// A catalog that names relation `n` `public.rn`; attribute 1 is `bigint`,
/// the others `integer`.
pub struct Names;

impl Catalog for Names {
    fn relation(&self, relid: u32) -> Result<String> {
        Ok(format!("public.r{relid}"))
    }
    fn column_type(&self, _relid: u32, attno: i16) -> Result<String> {
        Ok(if attno == 1 { "bigint" } else { "integer" }.into())
    }
}
