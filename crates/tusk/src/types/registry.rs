//! The type registry: what tusk knows about types that are not built in
//! (enums, composites, domains, arrays of them, ranges and multiranges,
//! extension types such as `hstore` and `citext`), looked up by OID from
//! `pg_type` in one query and cached.
//!
//! A [`TypeRegistry`] belongs to a [`Config`](crate::Config) and is shared by
//! every connection made from it (and its clones): a pool's connections
//! share one. Inside, it keeps one cache per server address and database,
//! since OIDs mean nothing elsewhere. The cache is cleared by
//! [`TypeRegistry::clear`] (also `Connection::clear_type_cache`), after
//! DDL (`CREATE TYPE`, `ALTER ...`, `DROP ...`: the command tags that clear
//! the statement cache), and when the server says a cached plan is stale
//! (`26000`, `0A000 cached plan must not change result type`). A type
//! dropped and created again has a new OID, so a stale entry is never used
//! for it; clearing only bounds what is kept.

use parking_lot::{Mutex, RwLock};
use postgres_types::{Field, Kind, Type};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Types that are not built in, as looked up from the server's catalog,
/// shared by the connections of a [`Config`](crate::Config) (and so of a
/// pool). Cheap to share (`Arc`); thread-safe.
///
/// ```
/// let config = tusk::Config::parse("host=/tmp dbname=app")?;
/// let registry = config.type_registry();
/// // Connections made from `config` (or a clone) look types up once,
/// // here, and share them; forget everything with:
/// registry.clear();
/// # Ok::<(), tusk::config::ConfigError>(())
/// ```
#[derive(Default)]
pub struct TypeRegistry {
    dbs: Mutex<HashMap<String, Arc<TypeCache>>>,
}

impl std::fmt::Debug for TypeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dbs = self.dbs.lock();
        f.debug_struct("TypeRegistry")
            .field("databases", &dbs.len())
            .field(
                "types",
                &dbs.values().map(|c| c.types.read().len()).sum::<usize>(),
            )
            .finish()
    }
}

impl TypeRegistry {
    /// An empty registry.
    pub fn new() -> Arc<TypeRegistry> {
        Arc::new(TypeRegistry::default())
    }

    /// Forgets every type looked up, for every database: the next query
    /// that meets a type that is not built in looks it up again.
    pub fn clear(&self) {
        for c in self.dbs.lock().values() {
            c.clear();
        }
    }

    /// The number of types cached, over all databases.
    pub fn len(&self) -> usize {
        self.dbs.lock().values().map(|c| c.types.read().len()).sum()
    }

    /// True when no type is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cache for one server address and database.
    pub(crate) fn for_database(&self, key: String) -> Arc<TypeCache> {
        self.dbs.lock().entry(key).or_default().clone()
    }
}

/// The types of one database, by OID.
#[derive(Default)]
pub(crate) struct TypeCache {
    types: RwLock<HashMap<u32, Type>>,
    /// Bumped by every clear: a lookup that started before a clear does
    /// not store what it found.
    generation: AtomicU64,
    /// Lookups made (for tests and metrics).
    lookups: AtomicU64,
}

impl TypeCache {
    /// A fresh cache of its own (a connection made without a registry).
    #[cfg(test)]
    pub(crate) fn new() -> Arc<TypeCache> {
        Arc::new(TypeCache::default())
    }

    pub(crate) fn clear(&self) {
        let mut t = self.types.write();
        self.generation.fetch_add(1, Ordering::SeqCst);
        t.clear();
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub(crate) fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    pub(crate) fn count_lookup(&self) {
        self.lookups.fetch_add(1, Ordering::Relaxed);
    }

    /// The cached type for `oid`.
    pub(crate) fn get(&self, oid: u32) -> Option<Type> {
        self.types.read().get(&oid).cloned()
    }

    /// `ty` resolved: itself when known, the cached type for a placeholder.
    pub(crate) fn resolve(&self, ty: &Type) -> Option<Type> {
        if !is_placeholder(ty) {
            return None;
        }
        self.get(ty.oid())
    }

    /// Stores the types of a lookup that started at `generation`; nothing
    /// when the cache was cleared meanwhile.
    pub(crate) fn store(&self, generation: u64, found: Vec<Type>) {
        let mut t = self.types.write();
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        for ty in found {
            t.insert(ty.oid(), ty);
        }
    }
}

/// Whether `ty` is the placeholder for an OID nobody looked up yet (see
/// `row::type_of`): a simple type with no schema.
pub(crate) fn is_placeholder(ty: &Type) -> bool {
    matches!(ty.kind(), Kind::Simple) && ty.schema().is_empty()
}

/// `ty` with every domain replaced by its base type, at any depth (arrays,
/// ranges, composite fields); `None` when it holds no domain. For decoding
/// and encoding a value as its base type (the bytes are the same).
pub(crate) fn strip_domains(ty: &Type) -> Option<Type> {
    match ty.kind() {
        Kind::Domain(base) => Some(strip_domains(base).unwrap_or_else(|| base.clone())),
        Kind::Array(e) => strip_domains(e).map(|e| {
            Type::new(
                ty.name().to_string(),
                ty.oid(),
                Kind::Array(e),
                ty.schema().to_string(),
            )
        }),
        Kind::Range(e) => strip_domains(e).map(|e| {
            Type::new(
                ty.name().to_string(),
                ty.oid(),
                Kind::Range(e),
                ty.schema().to_string(),
            )
        }),
        _ => None,
    }
}

/// The lookup: the types asked for, their array types, and, recursively,
/// every type they are made of (array elements, composite attributes,
/// domain base types, range subtypes, a multirange's range), in one query. Every name is qualified
/// and every operator spelled `OPERATOR(pg_catalog.x)`, so no `search_path`
/// can redirect it.
pub(crate) const LOOKUP_SQL: &str = "\
WITH RECURSIVE tusk_types(oid) AS (
    SELECT pg_catalog.unnest($1::pg_catalog.oid[])
  UNION
    SELECT a.typarray FROM pg_catalog.pg_type a
    WHERE a.oid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[])
      AND a.typarray OPERATOR(pg_catalog.<>) 0::pg_catalog.oid
  UNION
    SELECT d.dep
    FROM tusk_types s
    JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) s.oid
    CROSS JOIN LATERAL (
        SELECT t.typelem WHERE t.typelem OPERATOR(pg_catalog.<>) 0::pg_catalog.oid
      UNION ALL
        SELECT t.typbasetype WHERE t.typbasetype OPERATOR(pg_catalog.<>) 0::pg_catalog.oid
      UNION ALL
        SELECT a.atttypid FROM pg_catalog.pg_attribute a
        WHERE t.typrelid OPERATOR(pg_catalog.<>) 0::pg_catalog.oid
          AND a.attrelid OPERATOR(pg_catalog.=) t.typrelid
          AND a.attnum OPERATOR(pg_catalog.>) 0::pg_catalog.int2 AND NOT a.attisdropped
      UNION ALL
        SELECT r.rngsubtype FROM pg_catalog.pg_range r
        WHERE r.rngtypid OPERATOR(pg_catalog.=) t.oid
      UNION ALL
        SELECT r.rngtypid FROM pg_catalog.pg_range r
        WHERE r.rngmultitypid OPERATOR(pg_catalog.=) t.oid
    ) d(dep)
)
SELECT t.oid,
       t.typname::pg_catalog.text,
       n.nspname::pg_catalog.text,
       t.typtype::pg_catalog.text,
       (t.typelem OPERATOR(pg_catalog.<>) 0::pg_catalog.oid
        AND t.typlen OPERATOR(pg_catalog.=) (-1)::pg_catalog.int2) AS is_array,
       t.typelem,
       t.typbasetype,
       COALESCE((SELECT r.rngsubtype FROM pg_catalog.pg_range r
                  WHERE r.rngtypid OPERATOR(pg_catalog.=) t.oid), 0::pg_catalog.oid),
       COALESCE((SELECT r.rngtypid FROM pg_catalog.pg_range r
                  WHERE r.rngmultitypid OPERATOR(pg_catalog.=) t.oid), 0::pg_catalog.oid),
       ARRAY(SELECT e.enumlabel::pg_catalog.text FROM pg_catalog.pg_enum e
             WHERE e.enumtypid OPERATOR(pg_catalog.=) t.oid ORDER BY e.enumsortorder),
       ARRAY(SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_attribute a
             WHERE t.typrelid OPERATOR(pg_catalog.<>) 0::pg_catalog.oid
               AND a.attrelid OPERATOR(pg_catalog.=) t.typrelid
               AND a.attnum OPERATOR(pg_catalog.>) 0::pg_catalog.int2 AND NOT a.attisdropped
             ORDER BY a.attnum),
       ARRAY(SELECT a.atttypid FROM pg_catalog.pg_attribute a
             WHERE t.typrelid OPERATOR(pg_catalog.<>) 0::pg_catalog.oid
               AND a.attrelid OPERATOR(pg_catalog.=) t.typrelid
               AND a.attnum OPERATOR(pg_catalog.>) 0::pg_catalog.int2 AND NOT a.attisdropped
             ORDER BY a.attnum)
FROM tusk_types s
JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) s.oid
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace";

/// One row of [`LOOKUP_SQL`].
#[derive(Debug, Clone)]
pub(crate) struct TypeRow {
    pub oid: u32,
    pub name: String,
    pub schema: String,
    /// `typtype`: b(ase), c(omposite), d(omain), e(num), p(seudo), r(ange), m(ultirange).
    pub typtype: String,
    pub is_array: bool,
    pub elem: u32,
    pub base: u32,
    pub range_subtype: u32,
    pub multirange_of: u32,
    pub labels: Vec<String>,
    pub attnames: Vec<String>,
    pub atttypes: Vec<u32>,
}

impl TypeRow {
    pub(crate) fn from_row(row: &crate::Row) -> Result<TypeRow, crate::Error> {
        Ok(TypeRow {
            oid: row.try_get(0usize)?,
            name: row.try_get(1usize)?,
            schema: row.try_get(2usize)?,
            typtype: row.try_get(3usize)?,
            is_array: row.try_get(4usize)?,
            elem: row.try_get(5usize)?,
            base: row.try_get(6usize)?,
            range_subtype: row.try_get(7usize)?,
            multirange_of: row.try_get(8usize)?,
            labels: row.try_get(9usize)?,
            attnames: row.try_get(10usize)?,
            atttypes: row.try_get(11usize)?,
        })
    }
}

/// Builds the `Type`s of a lookup's rows (built-in types as
/// `postgres-types` knows them, so `i32`, `String`, ... accept them).
pub(crate) fn build(rows: &[TypeRow]) -> Vec<Type> {
    let by_oid: HashMap<u32, &TypeRow> = rows.iter().map(|r| (r.oid, r)).collect();
    let mut built: HashMap<u32, Type> = HashMap::new();
    for r in rows {
        build_one(r.oid, &by_oid, &mut built, 0);
    }
    rows.iter()
        .filter(|r| Type::from_oid(r.oid).is_none())
        .filter_map(|r| built.get(&r.oid).cloned())
        .collect()
}

/// Types nest at most this deep (PostgreSQL forbids a composite that
/// contains itself; this bounds a catalog that says otherwise).
const MAX_DEPTH: usize = 64;

fn build_one(
    oid: u32,
    rows: &HashMap<u32, &TypeRow>,
    built: &mut HashMap<u32, Type>,
    depth: usize,
) -> Type {
    if let Some(t) = Type::from_oid(oid) {
        return t;
    }
    if let Some(t) = built.get(&oid) {
        return t.clone();
    }
    let Some(r) = rows.get(&oid) else {
        return crate::row::type_of(oid);
    };
    if depth > MAX_DEPTH {
        return crate::row::type_of(oid);
    }
    let mut sub = |o: u32| build_one(o, rows, built, depth + 1);
    let kind = match r.typtype.as_str() {
        "e" => Kind::Enum(r.labels.clone()),
        "c" => Kind::Composite(
            r.attnames
                .iter()
                .zip(&r.atttypes)
                .map(|(n, t)| Field::new(n.clone(), sub(*t)))
                .collect(),
        ),
        "d" => Kind::Domain(sub(r.base)),
        "r" => Kind::Range(sub(r.range_subtype)),
        // Of its range's subtype, as postgres-types' built-in multiranges.
        "m" => {
            let subtype = rows.get(&r.multirange_of).map_or(0, |x| x.range_subtype);
            Kind::Multirange(sub(subtype))
        }
        "p" => Kind::Pseudo,
        _ if r.is_array => Kind::Array(sub(r.elem)),
        _ => Kind::Simple,
    };
    let t = Type::new(r.name.clone(), r.oid, kind, r.schema.clone());
    built.insert(oid, t.clone());
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(oid: u32, name: &str, typtype: &str) -> TypeRow {
        TypeRow {
            oid,
            name: name.into(),
            schema: "app".into(),
            typtype: typtype.into(),
            is_array: false,
            elem: 0,
            base: 0,
            range_subtype: 0,
            multirange_of: 0,
            labels: vec![],
            attnames: vec![],
            atttypes: vec![],
        }
    }

    #[test]
    fn builds_nested_types() {
        let mut mood = row(20000, "mood", "e");
        mood.labels = vec!["sad".into(), "ok".into()];
        let mut moods = row(20001, "_mood", "b");
        moods.is_array = true;
        moods.elem = 20000;
        let mut pair = row(20002, "pair", "c");
        pair.attnames = vec!["m".into(), "n".into()];
        pair.atttypes = vec![20001, 23];
        let mut dom = row(20003, "posint", "d");
        dom.base = 23;
        let types = build(&[pair, moods, mood, dom]);
        let pair = types.iter().find(|t| t.name() == "pair").unwrap();
        let Kind::Composite(fields) = pair.kind() else {
            panic!("{pair:?}")
        };
        assert_eq!(fields[1].type_(), &Type::INT4);
        let Kind::Array(m) = fields[0].type_().kind() else {
            panic!()
        };
        assert_eq!(m.kind(), &Kind::Enum(vec!["sad".into(), "ok".into()]));
        let dom = types.iter().find(|t| t.name() == "posint").unwrap();
        assert_eq!(strip_domains(dom), Some(Type::INT4));
        assert_eq!(types.len(), 4);
    }

    #[test]
    fn missing_and_cyclic_rows_end_as_placeholders() {
        let mut a = row(30000, "a", "c");
        a.attnames = vec!["x".into(), "y".into()];
        a.atttypes = vec![30000, 39999];
        let types = build(&[a]);
        assert_eq!(types.len(), 1);
        let cache = TypeCache::new();
        let g = cache.generation();
        cache.clear();
        cache.store(g, types.clone());
        assert!(
            cache.get(30000).is_none(),
            "a lookup older than a clear is dropped"
        );
        cache.store(cache.generation(), types);
        assert!(cache.get(30000).is_some());
        assert!(is_placeholder(&crate::row::type_of(30001)));
        assert!(!is_placeholder(&Type::INT4));
    }
}
