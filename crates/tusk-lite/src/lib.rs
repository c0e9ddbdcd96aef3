//! tusk-lite: an embedded database that answers as PostgreSQL 15 does.
//!
//! PostgreSQL's own parser (`pg_query`) feeds a binder, planner and
//! executor of our own; rows live in a versioned store under our own MVCC
//! (snapshots, row locks with waiting, deadlock detection, group commit);
//! clients speak the PostgreSQL protocol to it, over TCP ([`serve`]) or,
//! embedded, over an in-process socket pair ([`Database::connect`]), so the
//! ordinary `tusk` driver works unchanged. What it does not support fails
//! with SQLSTATE 0A000 naming the construct; nothing is silently ignored.
//!
//! ```
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use tusk::Executor;
//! let db = tusk_lite::Database::open_in_memory();
//! let conn = db.connect().await?;
//! conn.execute("CREATE TABLE t (id int PRIMARY KEY, name text)", &[]).await?;
//! conn.execute("INSERT INTO t VALUES ($1, $2)", &[&1i32, &"one"]).await?;
//! let name: String = conn.query_scalar("SELECT name FROM t WHERE id = $1", &[&1i32]).await?;
//! assert_eq!(name, "one");
//! # Ok(()) }
//! ```
//!
//! # What it supports
//!
//! | area | supported | fails with 0A000 (for now) |
//! |---|---|---|
//! | types | bool, int2/4/8, float4/8, numeric (arbitrary precision, PostgreSQL's scale rules), text, varchar(n), char(n) (stored padded; trailing blanks do not count in =, <, IN, CASE, NULLIF, IN (subquery), joins, GROUP BY, DISTINCT aggregates, UNION/INTERSECT/EXCEPT, keys, as PostgreSQL's bpchar: varchar compares as bpchar, text as text; LIKE and octet_length see the padding; COALESCE/CASE/UNION of strings take the first one's type), date, timestamp(p), timestamptz (UTC), time(p), interval (PostgreSQL's months/days/microseconds: every input form, output in each IntervalStyle (postgres, postgres_verbose, sql_standard, iso_8601), `INTERVAL '1' DAY` field qualifiers, 30-day-month ordering in keys, indexes and GROUP BY, date/timestamp/time ± interval, timestamp - timestamp, * and /); enums (CREATE TYPE ... AS ENUM, ALTER TYPE ... ADD VALUE [BEFORE/AFTER], DROP TYPE; declaration order, text and binary I/O); json (the input text, validated with PostgreSQL's messages) and jsonb (normalised: keys de-duplicated and sorted, numbers as numeric; jsonb's btree order and equality for ORDER BY, GROUP BY, DISTINCT and unique indexes; casts to and from text, json, and from jsonb to bool and the numeric types; binary I/O) ([`json`]); bytea (hex and escape input, hex output, memcmp order, `\|\|`, length/octet_length, md5, sha224-512, encode/decode hex/base64/escape, get_byte/set_byte, substring, position, btrim/ltrim/rtrim, LIKE, string_agg, convert_to/convert_from UTF8); uuid (every input form PostgreSQL 15 accepts, gen_random_uuid()); both as keys and indexed columns, text and binary I/O; arrays of these (the arrays row) | timetz (CURRENT_TIME), composite types, domains, ALTER TYPE ... RENAME VALUE |
//! | DDL | CREATE/DROP TABLE (CASCADE drops referencing foreign keys), PRIMARY KEY, UNIQUE, NOT NULL, DEFAULT, CHECK, FOREIGN KEY (NO ACTION, RESTRICT, CASCADE, SET NULL), serial, identity columns (GENERATED ALWAYS / BY DEFAULT AS IDENTITY [(sequence options)], INSERT ... OVERRIDING SYSTEM/USER VALUE, 428C9, pg_get_serial_sequence), CREATE/DROP SEQUENCE (a sequence reads as a one-row relation: `SELECT last_value, log_cnt, is_called FROM s`), CREATE [UNIQUE] INDEX (btree, multi-column; used, as the primary key is, for equality lookups and for ranges: `=` on leading columns, then `<`, `<=`, `>`, `>=` or BETWEEN on the next one, with constants or parameters of the column's type (or of a wider integer type: an int2/int4 column compared as bigint keeps its keys), in SELECT, FOR UPDATE, UPDATE and DELETE; a range reads only its keys from the store, for every type whose key order is its SQL order, i.e. not numeric, char(n), json/jsonb or arrays; per-column ASC/DESC and NULLS FIRST/LAST are kept in the catalog and shown as PostgreSQL shows them (pg_get_indexdef, pg_index.indoption, psql's `\\d`), the entries stay in key order (which lookups and ordered scans reason from), so answers are unchanged; explicit `USING btree`, IF NOT EXISTS (with PostgreSQL's NOTICE); ORDER BY the next columns of the primary key or of the index a lookup uses (after the pinned ones), all ascending or all descending, reads the key forwards or backwards instead of sorting, so a LIMIT stops early), DROP INDEX, ALTER TABLE ADD/DROP/RENAME COLUMN, ALTER COLUMN TYPE [USING] (not of a foreign key's column), ADD PRIMARY KEY, ADD CHECK/UNIQUE/FOREIGN KEY, DROP CONSTRAINT, TRUNCATE; a REPEATABLE READ snapshot older than an ALTER TABLE or TRUNCATE reads the table as PostgreSQL does (old rows under the new columns; empty after a rewrite or TRUNCATE) | ALTER COLUMN ADD GENERATED ... AS IDENTITY / SET GENERATED / DROP IDENTITY, ADD COLUMN ... AS IDENTITY, ALTER COLUMN TYPE of an identity column, DEFERRABLE, MATCH FULL, ON ... SET DEFAULT, partial and expression indexes, CREATE INDEX CONCURRENTLY, index operator classes and COLLATE, INCLUDE, NULLS NOT DISTINCT, access methods other than btree, index WITH (...) and TABLESPACE; PRIMARY KEY/UNIQUE ... WITH (...), USING INDEX TABLESPACE, INCLUDE; EXCLUDE constraints; CHECK ... NO INHERIT; ADD CONSTRAINT ... NOT VALID (PostgreSQL skips the existing rows; NOT VALID in CREATE TABLE is accepted, as there it means nothing); table storage parameters other than fillfactor (which is kept as written and shown in pg_class.reloptions and `\\d+`, with no effect on storage), TABLESPACE and USING other than pg_default and heap, UNLOGGED and temporary tables, INHERITS, PARTITION BY, LIKE, generated columns, column COLLATE and COMPRESSION, views, triggers, functions, schemas |
//! | queries | SELECT with WHERE, POSIX regular expressions (`~`, `~*`, `!~`, `!~*`; Rust's regex syntax: no backreferences or lookaround), joins (inner/left/right/full/cross, ON, USING, NATURAL; on equalities of their keys, in ON or WHERE, an index nested loop through a joined table's primary key or index (the right table for inner and left joins, the left one for inner and right joins with anything but a table on the right), else a hash join; other joins a nested loop; a FULL JOIN needs an equality between its sides among ON's AND-ed conditions, or an ON of constants, else 0A000 as in PostgreSQL), subqueries (FROM, IN, EXISTS, scalar, ANY/ALL), GROUP BY/HAVING, count/sum/avg (also of intervals)/min/max/bool_and/bool_or/string_agg/array_agg (with DISTINCT, ORDER BY and FILTER (WHERE ...) on every aggregate), DISTINCT, ORDER BY (NULLS FIRST/LAST), LIMIT/OFFSET, UNION/INTERSECT/EXCEPT, VALUES, WITH, WITH RECURSIVE, LATERAL subqueries, generate_series (integers; timestamps by an interval), date/time functions (extract and date_part of every field, date_trunc, to_char of timestamps, dates, intervals and integers/numerics (9 0 . , D G S MI PL SG FM TH), age, justify_days/hours/interval, make_interval/date/time/timestamp(tz), to_timestamp(float8), to_timestamp/to_date(text, format) with the common patterns, isfinite, date_bin, AT TIME ZONE / timezone() with UTC, statement_timestamp, LOCALTIME), CASE, COALESCE, NULLIF, GREATEST/LEAST, LIKE/ILIKE; json/jsonb operators (`-> ->> #> #>> @> <@ ? ?\| ?& \|\| - #-`) and functions (to_json[b], json[b]_build_object/array, json[b]_agg, json[b]_object_agg, json[b]_typeof, json[b]_array_length, json[b]_strip_nulls, jsonb_set, jsonb_insert, jsonb_pretty; json[b]_each[_text], json[b]_array_elements[_text], json[b]_object_keys in FROM, reading earlier FROM items as PostgreSQL's implicit LATERAL does); a relation's row as json: row_to_json(t), to_json[b](t), json[b]_agg(t); string functions (concat/concat_ws, split_part, strpos, lpad/rpad, initcap (C locale), reverse, translate, to_hex, starts_with, regexp_replace (flags g, i), chr/ascii, format (%s %I %L, n$, widths), quote_literal/quote_nullable, octet_length, bit_length, overlay, regexp_like, regexp_count, regexp_substr, regexp_instr, substring(text FROM pattern), num_nulls/num_nonnulls); math functions (exp, ln, log, log10, sqrt and power of float8 and of numeric with PostgreSQL's result scales, log(b, x), cbrt (glibc's), pi, degrees/radians, sin/cos/tan/cot/asin/acos/atan/atan2, sinh/cosh/tanh/asinh/acosh/atanh, sind/cosd/tand/cotd/asind/acosd/atand/atan2d; scale/min_scale/trim_scale, factorial; div, gcd/lcm of int4/int8/numeric, width_bucket of float8 and numeric); EXPLAIN [(VERBOSE, COSTS, FORMAT TEXT)] of a query, INSERT, UPDATE or DELETE: the plan in PostgreSQL's shape (`Seq Scan on t`, `Index Scan using t_pkey on t` with `Index Cond`, `Filter`, `Nested Loop`, `Hash Join` with `Hash Cond`, `Sort`, ...), never with costs; operators `^`, `\|/`, `\|\|/`, `@` and the integer bitwise `&`, `\|`, `#`, `~`, `<<`, `>>` | correlated subqueries in a query with GROUP BY, HAVING or aggregates, window functions, LATERAL functions, DISTINCT ON, jsonpath (jsonb_path_*), row_to_json of other records (ROW(...)), arrays of json/jsonb, substring(... SIMILAR ... ESCAPE ...), to_char of real/double precision and the number patterns EEEE V PR RN L; to_timestamp/to_date patterns other than YYYY YY MM DD DDD HH24 HH12 HH MI SS MS US AM/PM Mon Month Dy Day, and FX mode, make_timestamptz with a time zone, EXPLAIN ANALYZE, EXPLAIN in another FORMAT, AT TIME ZONE with a zone other than UTC, WITHIN GROUP, aggregate ORDER BY ... USING |
//! | DML | INSERT (VALUES, SELECT, DEFAULT, RETURNING, ON CONFLICT DO NOTHING / DO UPDATE), UPDATE/DELETE (expressions, RETURNING), UPDATE ... FROM and DELETE ... USING (each target row once, with the first row it joins; RETURNING sees the other tables; READ COMMITTED re-checks a changed row against that row), COPY FROM STDIN / TO STDOUT of a table or of a query (text, CSV, HEADER) | COPY BINARY, COPY (INSERT/UPDATE/DELETE ... RETURNING) TO |
//! | cursors | DECLARE [BINARY] [NO] SCROLL CURSOR [WITH HOLD] FOR query, FETCH/MOVE (NEXT, PRIOR, FIRST, LAST, ABSOLUTE, RELATIVE, FORWARD/BACKWARD [n/ALL]), CLOSE, CLOSE ALL, pg_cursors (SQL cursors and named protocol portals); the rows are computed at DECLARE | a ROLLBACK TO SAVEPOINT closing the cursors declared after it |
//! | transactions | BEGIN/COMMIT/ROLLBACK, READ COMMITTED (statement snapshots, wait + re-check), REPEATABLE READ (40001), READ ONLY, SAVEPOINT/RELEASE/ROLLBACK TO, SELECT FOR UPDATE/SHARE with NOWAIT/SKIP LOCKED, deadlock detection (40P01) | SERIALIZABLE, FOR NO KEY UPDATE/KEY SHARE |
//! | protocol | simple and extended query (named statements and portals, text and binary formats), ParameterStatus, exact ReadyForQuery status, CancelRequest, trust or SCRAM-SHA-256 authentication ([`Auth`], [`serve_with`]; `tusk lite serve --password-file`) | TLS (SSL requests are answered `N`), SCRAM-SHA-256-PLUS (channel binding needs TLS), MD5 and cleartext passwords |
//! | durability | [`Database::open`]: a COMMIT that returned survives `kill -9` | |
//! | catalogs | `pg_catalog`'s pg_class, pg_namespace, pg_attribute, pg_attrdef, pg_constraint (with conkey/confkey), pg_index (indkey and indoption as int2vector: `3 2`, subscripts from 0, OID 22, int2vectorsend's binary; casting them is 0A000, as PostgreSQL's int2[] of one keeps lower bound 0), pg_am, pg_type, pg_enum, pg_collation, pg_database, pg_prepared_statements (and, empty, pg_range, pg_policy, pg_trigger, pg_inherits, pg_description, pg_publication*, pg_statistic_ext), with pg_get_indexdef/constraintdef/expr, format_type, pg_table_is_visible, pg_get_userbyid, current_schemas, `::regclass` and `::regproc` of the types' input functions (pg_type lists the built-in array types and typinput, so pgjdbc resolves jsonb, interval, uuid and their arrays by OID): psql's `\dt \d \d+ \di \dn \ds`, `\d` of an index or a sequence and `\l <db>` print what PostgreSQL 15 prints, `\dt+ \di+` the same but for the size figures ([`sql::syscat`]); `information_schema`'s tables, columns, schemata, sequences, table_constraints, key_column_usage, referential_constraints, constraint_column_usage, constraint_table_usage, check_constraints, element_types, table_privileges, column_privileges, role_table_grants, role_column_grants (the one role owns every table and holds every privilege), character_sets, information_schema_catalog_name (and, empty since tusk-lite has none of what they list, views, routines, triggers, parameters, domains, domain_constraints, attributes, user_defined_types, transforms, foreign_*, user_mappings and the view_/routine_/column_domain_/domain_udt_ usage views) with PostgreSQL 15's columns and values for the user's objects (schema public), typed with the base types of PostgreSQL's domains (name, int4, varchar, timestamptz); NOT NULL columns as `2200_<table oid>_<n>_not_null` checks, named with tusk-lite's OIDs ([`sql::syscat::info_schema`]) | information_schema's other views (enabled_roles, applicable_roles, usage_privileges and the other role and grant views, collations, column_udt_usage, sql_features, ...); its rows for PostgreSQL's own objects (pg_catalog's tables, information_schema's views, built-in functions, schema pg_toast) are absent; column_default, check_clause and pg_get_constraintdef of a CHECK (both forms: every operator parenthesised, and the pretty one psql shows, with parentheses only where PostgreSQL's precedence rules keep them) as PostgreSQL prints them for constants, operators, LIKE, IN lists, BETWEEN, AND/OR/NOT and IS NULL over the built-in types, other expressions (function calls, casts) as written; pg_stat_*, bare `\l` (one database is served) |
//! | sessions | LISTEN/UNLISTEN/NOTIFY and pg_notify between one database's sessions (sent at commit, once per transaction, none on rollback), session advisory locks (`pg_advisory_lock` and friends, bigint keys), DISCARD ALL/PLANS/SEQUENCES/TEMP, `pg_terminate_backend`, `pg_backend_pid`, `current_setting` | advisory locks in deadlock detection (a wait ends by cancel or `lock_timeout`), `set_config` of anything but `transaction_read_only` |
//! | arrays | one-dimensional arrays of every built-in type that has an array type (`int[]`, `text[]`, `numeric[]`, `timestamptz[]`, ...): columns (stored durably; in primary keys, UNIQUE and indexes), text I/O as array_in/array_out (quoting, NULL), binary I/O, parameters declared as an array type or inferred from a column, comparison (element-wise, then length), ARRAY[...], ARRAY(subquery), `op ANY/ALL (array)`, unnest in FROM and in a select list, array_agg (with DISTINCT, ORDER BY), array_length, array_lower, array_upper, array_ndims, cardinality, array_append, array_prepend, array_cat, array_position, array_remove, array_to_string, `\|\|`, `@>`, `<@`, `&&`, subscripts and slices, `UPDATE ... SET a[i] = v` | multidimensional arrays, dimension decorations (`[0:1]={...}`), arrays of enums, of a type with a modifier (`varchar(3)[]`), assigning to a slice or an element that would move the lower bound off 1, binary COPY of arrays |
//!
//! # How it is built (module by module)
//!
//! - [`sql`]: `pg_query` parse trees are bound against the catalog
//!   ([`sql::bind`]) into typed expressions and plan trees ([`sql::plan`]),
//!   with PostgreSQL's type resolution ([`sql`]'s `typing`): unknown
//!   literals and parameters take their type from context.
//! - `exec`: runs plans over a transaction's view of the store; UPDATE,
//!   DELETE and FOR UPDATE lock each row, then act on its newest version
//!   (re-checking the WHERE under READ COMMITTED, as EvalPlanQual does).
//! - [`txn`]: snapshots are commit timestamps; a transaction buffers its
//!   writes and commits them as one atomic batch; concurrent committers
//!   share one journal sync (group commit). Past 16 MiB a durable
//!   database's transaction spills its writes to a scratch keyspace and
//!   commits them as a stream ([`storage::spill`]). [`txn::locks`] holds table,
//!   row and catalog locks with waits-for cycle detection.
//! - [`storage`]: one small trait with an in-memory store (tests) and a
//!   durable one on fjall. Rows are keyed by the memcomparable encoding of
//!   their primary key (a point query is one read) and versioned by commit
//!   timestamp; fjall's compactions drop the versions no running
//!   transaction can read ([`storage::horizon`]).
//! - Secondary indexes are rows too: stored under the index's OID, keyed
//!   by the indexed values then the row's storage key, written in the
//!   same commit as the row, so they are versioned, durable and recovered
//!   with it. A unique value being inserted or removed is locked until its
//!   transaction ends (a second inserter waits, then fails with 23505 or
//!   goes ahead); foreign-key checks lock the referenced row's key (as
//!   KEY SHARE does) and run at the end of the statement.
//! - [`catalog`]: tables, columns, constraints and sequences, copied and
//!   changed inside a transaction and published at COMMIT (DDL is
//!   transactional).
//! - `wire`: pgwire's message codec with a session state machine of our
//!   own, one thread per session, as PostgreSQL runs one backend per
//!   connection.

pub use wire::{Auth, ScramUsers};

mod advisory;
pub mod catalog;
pub mod copy;
pub mod datetime;
mod ddl;
mod dtfuncs;
mod enum_ddl;
pub mod error;
mod exec;
mod from_char;
pub mod interval;
pub mod json;
mod keys_ddl;
pub mod notify;
pub mod numeric;
mod numeric_log;
mod prepare;
mod session;
pub mod sql;
pub mod storage;
pub mod timeofday;
mod to_char;
pub mod txn;
pub mod types;
mod wire;

pub use wire::ClientStream;

use std::net::TcpListener;
use std::sync::Arc;

pub use error::SqlError;

/// The version tusk-lite reports: the PostgreSQL release whose behaviour
/// (and catalogs, for psql's queries) it follows.
pub const SERVER_VERSION: &str = "15.13";
pub const SERVER_VERSION_NUM: &str = "150013";
pub const VERSION_STRING: &str =
    "PostgreSQL 15.13 (tusk-lite 0.1.0) on x86_64-pc-linux-gnu, compiled by rustc, 64-bit";

/// A database: its store, catalog, transactions and locks. Cheap to clone;
/// every clone is the same database.
#[derive(Clone)]
pub struct Database {
    engine: Arc<txn::Engine>,
}

impl Database {
    /// A database that lives in memory and disappears with the process.
    pub fn open_in_memory() -> Database {
        let store = storage::memory::MemoryStore::new();
        Database {
            engine: Arc::new(txn::Engine::new(
                Box::new(store),
                catalog::Catalog::new(),
                0,
                1,
            )),
        }
    }

    /// A new, empty database over `store` (which must be empty too), as
    /// [`Database::open_in_memory`] is over a [`storage::memory::MemoryStore`]:
    /// for tests that watch what the engine reads from its store.
    #[doc(hidden)]
    pub fn open_with_store(store: Box<dyn storage::Store>) -> Database {
        Database {
            engine: Arc::new(txn::Engine::new(store, catalog::Catalog::new(), 0, 1)),
        }
    }

    /// Opens the database stored in `dir`, creating it when it does not
    /// exist. A COMMIT that returned is on disk; after a crash, opening
    /// recovers to the last commit.
    pub fn open(dir: impl AsRef<std::path::Path>) -> Result<Database, SqlError> {
        let r = storage::durable::DurableStore::open(dir.as_ref())?;
        Ok(Database {
            engine: Arc::new(txn::Engine::new(
                Box::new(r.store),
                r.catalog,
                r.clock,
                r.next_rowid,
            )),
        })
    }

    /// Serves one client connection on `stream` on a thread of its own,
    /// trusting the user it names ([`Auth::Trust`]).
    pub fn serve_stream<S: wire::ClientStream>(&self, stream: S) -> std::thread::JoinHandle<()> {
        self.serve_stream_with(stream, Auth::Trust)
    }

    /// Serves one client connection on `stream` on a thread of its own,
    /// authenticating it with `auth` first.
    pub fn serve_stream_with<S: wire::ClientStream>(
        &self,
        stream: S,
        auth: Auth,
    ) -> std::thread::JoinHandle<()> {
        let engine = self.engine.clone();
        std::thread::Builder::new()
            .name("tusk-lite-session".into())
            .stack_size(SESSION_STACK)
            .spawn(move || {
                let _ = wire::run_session(engine, stream, &auth);
            })
            .expect("spawning a session thread")
    }

    /// Accepts PostgreSQL clients on `listener` until it fails; each
    /// connection gets its own session thread. Trusts every client
    /// ([`Auth::Trust`]); see [`serve_with`](Database::serve_with).
    pub fn serve(&self, listener: TcpListener) -> std::io::Result<()> {
        self.serve_with(listener, Auth::Trust)
    }

    /// [`serve`](Database::serve), authenticating every client with
    /// `auth` (e.g. [`Auth::scram`]) before its session starts.
    pub fn serve_with(&self, listener: TcpListener, auth: Auth) -> std::io::Result<()> {
        loop {
            let (sock, _) = listener.accept()?;
            let _ = sock.set_nodelay(true);
            self.serve_stream_with(sock, auth.clone());
        }
    }

    /// Connects the tusk driver over an in-process socket pair: no TCP
    /// port, no file. Needs a tokio runtime.
    pub async fn connect(&self) -> Result<tusk::Connection, tusk::Error> {
        let config = tusk::Config::parse("user=tusk dbname=tusk")?;
        tusk::connect_in_process(&config, |server| {
            self.serve_stream(server);
        })
        .await
    }
}

/// A session thread's stack. Nested values (json and jsonb up to their
/// 2,000 levels) are read, compared and written recursively, about 5 KiB
/// a level in a debug build: Rust's default 2 MiB overflowed from about
/// 400 levels, and a stack overflow aborts the whole process, every
/// session with it. Only the pages a session touches are committed.
const SESSION_STACK: usize = 64 * 1024 * 1024;

/// The databases `lite:` URLs opened in this process, by target: one
/// `Database` per directory (and one for `lite:memory`), shared by every
/// connection to it.
fn url_databases() -> &'static parking_lot::Mutex<std::collections::HashMap<String, Database>> {
    static DBS: std::sync::OnceLock<
        parking_lot::Mutex<std::collections::HashMap<String, Database>>,
    > = std::sync::OnceLock::new();
    DBS.get_or_init(Default::default)
}

/// The database a `lite:` URL's target names: `memory` (one in-memory
/// database per process, shared by its connections) or a directory,
/// `///abs/path` or `relative/path` (opened, or created, once per process).
pub fn open_url_target(target: &str) -> Result<Database, SqlError> {
    let target = target.split('?').next().unwrap_or_default();
    let mut dbs = url_databases().lock();
    let key = if target == "memory" {
        "memory".to_string()
    } else {
        let path = target.strip_prefix("//").unwrap_or(target);
        if path.is_empty() {
            return Err(SqlError::new(
                error::code::INVALID_PARAMETER_VALUE,
                "a lite: URL names a directory (lite:///path/to/dir) or memory (lite:memory)",
            ));
        }
        std::path::absolute(path)
            .map_err(|e| SqlError::new(error::code::IO_ERROR, e.to_string()))?
            .to_string_lossy()
            .into_owned()
    };
    if let Some(db) = dbs.get(&key) {
        return Ok(db.clone());
    }
    let db = if key == "memory" {
        Database::open_in_memory()
    } else {
        Database::open(&key)?
    };
    dbs.insert(key, db.clone());
    Ok(db)
}

/// Makes `tusk::connect` (and everything built on it, such as `tusk
/// --url`) accept `lite:memory` and `lite:///path/to/dir`: the connection
/// is served in this process over a socket pair. Call it once, early;
/// calling it again does nothing.
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// tusk_lite::register();
/// let conn = tusk::connect("lite:memory").await?;
/// # Ok(()) }
/// ```
pub fn register() {
    tusk::register_embedded(|target, stream| {
        let db = open_url_target(target).map_err(|e| e.to_string())?;
        db.serve_stream(stream);
        Ok(())
    });
}

/// Serves `db` on a TCP listener (e.g. `127.0.0.1:0`), on a background
/// thread, trusting every client. Returns the bound address.
pub fn serve(db: &Database, addr: &str) -> std::io::Result<std::net::SocketAddr> {
    serve_with(db, addr, Auth::Trust)
}

/// [`serve`], authenticating every client with `auth`:
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use tusk::Executor;
/// let db = tusk_lite::Database::open_in_memory();
/// let addr = tusk_lite::serve_with(&db, "127.0.0.1:0", tusk_lite::Auth::scram([("app", "s3cret")]))?;
/// let url = format!("postgresql://app:s3cret@{addr}/app");
/// let conn = tusk::connect(&url).await?;
/// let one: i32 = conn.query_scalar("SELECT 1", &[]).await?;
/// assert_eq!(one, 1);
/// assert!(tusk::connect(&format!("postgresql://app:wrong@{addr}/app")).await.is_err());
/// # Ok(()) }
/// ```
pub fn serve_with(db: &Database, addr: &str, auth: Auth) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let db = db.clone();
    std::thread::Builder::new()
        .name("tusk-lite-listener".into())
        .spawn(move || {
            let _ = db.serve_with(listener, auth);
        })?;
    Ok(local)
}
