//! Name resolution scopes: the columns a FROM clause brings into view.

use crate::types::ColType;

#[derive(Clone, Debug)]
pub struct ScopeCol {
    /// The range-table name (alias or table name) that qualifies it.
    pub qualifier: Option<String>,
    pub name: String,
    pub ty: ColType,
    pub table_oid: u32,
    pub attnum: i16,
    /// Reachable only qualified (a column merged by JOIN USING).
    pub hidden: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub cols: Vec<ScopeCol>,
}

pub enum Lookup {
    Found(usize),
    NotFound,
    Ambiguous,
}

impl Scope {
    pub fn lookup(&self, qualifier: Option<&str>, name: &str) -> Lookup {
        let mut found = None;
        for (i, c) in self.cols.iter().enumerate() {
            if c.name != name {
                continue;
            }
            match qualifier {
                Some(q) => {
                    if c.qualifier.as_deref() != Some(q) {
                        continue;
                    }
                }
                None => {
                    if c.hidden {
                        continue;
                    }
                }
            }
            if found.is_some() {
                return Lookup::Ambiguous;
            }
            found = Some(i);
        }
        match found {
            Some(i) => Lookup::Found(i),
            None => Lookup::NotFound,
        }
    }

    pub fn has_qualifier(&self, q: &str) -> bool {
        self.cols.iter().any(|c| c.qualifier.as_deref() == Some(q))
    }
}
