//! `pg_tviews`: TVIEWs are ordinary tables that PostgreSQL keeps equal to
//! their defining query. Base-table writes are captured by statement-level
//! triggers, mapped set-wise to the affected keys, and applied once per
//! transaction, at COMMIT / PREPARE TRANSACTION, in dependency order, inside
//! the writer's transaction.
//!
//! The planning logic (query-tree analysis, key mapping, SQL) lives in the
//! `tviews-core` crate; this crate is the PostgreSQL glue. See README.md.
//!
//! ```sql
//! CREATE EXTENSION pg_tviews;
//! SELECT tviews.create('tv_post',
//!   'SELECT p.id AS pk_post, jsonb_build_object(''title'', p.title) AS data FROM post p');
//! ```
#![warn(missing_docs)]
// Every `unsafe` is a PostgreSQL call through pgrx: each one is allowed
// where it stands, with a `// SAFETY:` line saying why it holds.
#![deny(unsafe_code)]

use pgrx::prelude::*;

mod api;
mod capture;
mod catalog;
mod create;
mod error;
mod flush;
mod guard;
mod guc;
mod latest;
mod locks;
mod lockset;
mod plans;
mod state;
mod stats;
mod tree;

::pgrx::pg_module_magic!(name, version);

/// Registers settings, transaction callbacks (once per backend) and, when
/// preloaded, the shared statistics.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // Errors are PostgreSQL errors with PostgreSQL's message and detail:
    // never a Rust backtrace in their DETAIL, whatever RUST_BACKTRACE the
    // server was started with (pgrx captures one for every error that
    // crosses a Rust frame when the environment asks for it). The library
    // setting is read once, at the first capture, so it is set first here;
    // a backend is single-threaded.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    guc::register();
    state::register_callbacks();
    catalog::register_callbacks();
    stats::init();
}

extension_sql!(
    r#"
-- TVIEWs are named by regclass (pg_dump writes names, pg_restore reads
-- them back as the new oids) and by a stable id (capture trigger names and
-- arguments carry it, so they survive a restore too). The catalog is
-- dumped with the database (pg_extension_config_dump below).
CREATE SEQUENCE tviews._tview_id;
CREATE TABLE tviews._tview (
    id bigint NOT NULL UNIQUE DEFAULT nextval('tviews._tview_id'),
    relid regclass PRIMARY KEY,
    viewid regclass NOT NULL,
    key_cols text[] NOT NULL,
    query text NOT NULL,
    options jsonb NOT NULL DEFAULT '{}',
    level int NOT NULL DEFAULT 0,
    -- join-value lock groups (JSON, tviews_core::sql::locks::LockGroup);
    -- their relation oids are those of _source.planned_base
    lock_groups text NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tviews._tview IS 'pg_tviews catalog: one row per TVIEW (use tviews.registry)';
CREATE TABLE tviews._source (
    tview regclass NOT NULL,
    idx int NOT NULL,
    base regclass NOT NULL,
    -- the oid base had when the TVIEW was planned (lock_groups and probes
    -- name it); after a restore base is the same table under a new oid
    planned_base oid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('direct', 'join', 'full')),
    captured text[] NOT NULL,
    flush_sql text,
    -- join sources: how each path step is probed (JSON, tviews_core::sql::locks::Probe)
    probes text,
    detail text NOT NULL,
    PRIMARY KEY (tview, idx)
);
CREATE INDEX ON tviews._source (base);
COMMENT ON TABLE tviews._source IS 'pg_tviews catalog: base tables read by each TVIEW (use tviews.dependencies)';
SELECT pg_catalog.pg_extension_config_dump('tviews._tview', '');
SELECT pg_catalog.pg_extension_config_dump('tviews._source', '');
SELECT pg_catalog.pg_extension_config_dump('tviews._tview_id', '');
-- One row per writing transaction: its deferred constraint trigger runs the
-- flush at COMMIT / PREPARE TRANSACTION; the flush deletes it.
CREATE UNLOGGED TABLE tviews._pending (pid int NOT NULL);
"#,
    name = "catalog",
    bootstrap
);

extension_sql!(
    r#"
CREATE CONSTRAINT TRIGGER tviews_flush AFTER INSERT ON tviews._pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tviews._flush();
-- Fires under session_replication_role = replica too, as the capture
-- triggers do.
ALTER TABLE tviews._pending ENABLE ALWAYS TRIGGER tviews_flush;

CREATE VIEW tviews.registry AS
SELECT t.relid::regclass AS name, t.key_cols AS key, t.query, t.options, t.level,
       ARRAY(SELECT DISTINCT s.base::regclass::text FROM tviews._source s WHERE s.tview = t.relid ORDER BY 1) AS base_tables,
       t.viewid::regclass AS backing_view, t.created_at
FROM tviews._tview t;

CREATE VIEW tviews.dependencies AS
SELECT s.tview::regclass AS tview, s.base::regclass AS depends_on,
       EXISTS (SELECT 1 FROM tviews._tview b WHERE b.relid = s.base) AS is_tview,
       s.kind AS mapping, s.captured AS columns, s.detail
FROM tviews._source s;

CREATE VIEW tviews.stats AS
SELECT t.relid::regclass AS tview,
       coalesce(s.refreshes, 0) AS refreshes, coalesce(s.keys_refreshed, 0) AS keys_refreshed,
       coalesce(s.rows_written, 0) AS rows_written, coalesce(s.rows_deleted, 0) AS rows_deleted,
       coalesce(s.noop_skipped, 0) AS noop_skipped, coalesce(s.full_refreshes, 0) AS full_refreshes,
       coalesce(s.statements, 0) AS statements, coalesce(s.total_ms, 0) AS total_ms,
       coalesce(s.max_ms, 0) AS max_ms, coalesce(s.errors, 0) AS errors,
       -- An error message can quote data (a key value, a row): only roles
       -- with the rights of the TVIEW's owner see it.
       CASE WHEN pg_catalog.pg_has_role(c.relowner, 'USAGE') THEN s.last_error END AS last_error
FROM tviews._tview t JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.relid
LEFT JOIN tviews._stats() s ON s.relid OPERATOR(pg_catalog.=) t.relid;

CREATE FUNCTION tviews._forget(tv oid) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v oid;
    tid bigint;
    s record;
    trg text;
BEGIN
    SELECT viewid, id INTO v, tid FROM tviews._tview WHERE relid = tv;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    FOR s IN DELETE FROM tviews._source WHERE tview = tv RETURNING base, idx LOOP
        FOR trg IN SELECT tgname FROM pg_trigger
                   WHERE tgrelid = s.base AND tgname LIKE format('tviews\_%s\_%s\_%%', tid, s.idx) LOOP
            EXECUTE format('DROP TRIGGER %I ON %s', trg, s.base::regclass);
        END LOOP;
    END LOOP;
    DELETE FROM tviews._tview WHERE relid = tv;
    PERFORM tviews._forget_stats(tv);
    IF EXISTS (SELECT 1 FROM pg_class WHERE oid = v) THEN
        EXECUTE format('DROP VIEW %s', v::regclass);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_class WHERE oid = tv) THEN
        EXECUTE format('DROP TABLE %s', tv::regclass);
    END IF;
END
$$;

-- DROP TABLE of a TVIEW, or of a table it reads (CASCADE drops the backing
-- view), cleans up the TVIEW.
CREATE FUNCTION tviews._on_drop() RETURNS event_trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
BEGIN
    -- The extension's triggers go only with their TVIEW (tviews.drop, DROP
    -- TABLE): dropped alone, the TVIEW would go stale or be writable.
    FOR r IN
        SELECT o.object_identity
        FROM pg_event_trigger_dropped_objects() o
        WHERE o.classid = 'pg_trigger'::regclass AND o.address_names[3] LIKE 'tviews\_%'
          AND (EXISTS (SELECT 1 FROM tviews._source s
                       WHERE s.base = pg_catalog.to_regclass(pg_catalog.format('%I.%I', o.address_names[1], o.address_names[2]))
                         AND o.address_names[3] LIKE pg_catalog.format('tviews\_%s\_%s\_%%',
                             (SELECT t.id FROM tviews._tview t WHERE t.relid = s.tview), s.idx))
               OR (o.address_names[3] = 'tviews_guard'
                   AND EXISTS (SELECT 1 FROM tviews._tview t
                               WHERE t.relid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', o.address_names[1], o.address_names[2])))))
        LIMIT 1
    LOOP
        RAISE EXCEPTION 'cannot drop trigger %: pg_tviews maintains a TVIEW with it (use tviews.drop)', r.object_identity
            USING ERRCODE = 'dependent_objects_still_exist';
    END LOOP;
    FOR r IN SELECT t.relid FROM tviews._tview t
             WHERE t.relid IN (SELECT objid FROM pg_event_trigger_dropped_objects() WHERE classid = 'pg_class'::regclass AND objsubid = 0)
                OR t.viewid IN (SELECT objid FROM pg_event_trigger_dropped_objects() WHERE classid = 'pg_class'::regclass AND objsubid = 0)
    LOOP
        PERFORM tviews._forget(r.relid);
    END LOOP;
END
$$;
CREATE EVENT TRIGGER tviews_on_drop ON sql_drop EXECUTE FUNCTION tviews._on_drop();
-- A base table that gains a child table (writes to it would not be
-- captured), row-level security or UNLOGGED after a TVIEW was created on it
-- is refused, as tviews.create refuses it.
CREATE FUNCTION tviews._on_ddl() RETURNS event_trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.objid::regclass AS rel, i.inhparent::regclass AS parent, s.tview
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_inherits i ON i.inhrelid = c.objid
        JOIN tviews._source s ON s.base = i.inhparent
        WHERE c.classid = 'pg_class'::regclass
        LIMIT 1
    LOOP
        RAISE EXCEPTION 'table % cannot inherit from %: TVIEW % reads it, and writes to a child table would not be captured',
            r.rel, r.parent, r.tview USING ERRCODE = 'feature_not_supported';
    END LOOP;
    -- ... and so is a base table that becomes a child or a partition of
    -- another (ALTER TABLE ... INHERIT, ATTACH PARTITION): a statement on
    -- the parent changes its rows without firing its statement triggers.
    FOR r IN
        SELECT i.inhrelid::regclass AS rel, i.inhparent::regclass AS parent, s.tview
        FROM pg_inherits i
        JOIN tviews._source s ON s.base = i.inhrelid
        WHERE EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() c
                      WHERE c.classid = 'pg_class'::regclass AND c.objid IN (i.inhrelid, i.inhparent))
        LIMIT 1
    LOOP
        RAISE EXCEPTION 'table % cannot become a child or partition of %: TVIEW % reads it, and writes addressed to % would not be captured',
            r.rel, r.parent, r.tview, r.parent USING ERRCODE = 'feature_not_supported';
    END LOOP;
    -- A column the TVIEW's query reads keeps its name: the capture triggers
    -- and the join mapping name it.
    FOR r IN
        SELECT c.objid::regclass AS rel, s.tview
        FROM pg_event_trigger_ddl_commands() c
        JOIN tviews._source s ON s.base = c.objid
        JOIN tviews._tview t ON t.relid = s.tview
        WHERE c.classid = 'pg_class'::regclass AND c.objsubid > 0 AND c.command_tag = 'ALTER TABLE'
          AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid
                      WHERE d.classid = 'pg_rewrite'::regclass AND w.ev_class = t.viewid
                        AND d.refclassid = 'pg_class'::regclass AND d.refobjid = c.objid
                        AND d.refobjsubid = c.objsubid)
        LIMIT 1
    LOOP
        RAISE EXCEPTION 'cannot rename a column of table % that TVIEW % reads (its capture triggers name it); drop and create the TVIEW again',
            r.rel, r.tview USING ERRCODE = 'feature_not_supported';
    END LOOP;
    -- A TVIEW table keeps its query's columns (a column added, dropped,
    -- renamed or retyped would fail every refresh); a dropped column used to
    -- drop the whole TVIEW.
    FOR r IN
        SELECT t.relid::regclass AS tv
        FROM pg_event_trigger_ddl_commands() c
        JOIN tviews._tview t ON t.relid = c.objid
        WHERE c.classid = 'pg_class'::regclass
          AND ARRAY(SELECT a.attname::text || ' ' || a.atttypid::text FROM pg_attribute a
                    WHERE a.attrelid = t.relid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)
              IS DISTINCT FROM
              ARRAY(SELECT a.attname::text || ' ' || a.atttypid::text FROM pg_attribute a
                    WHERE a.attrelid = t.viewid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)
        LIMIT 1
    LOOP
        RAISE EXCEPTION 'cannot change the columns of TVIEW %: they are its query''s; drop and create the TVIEW again', r.tv
            USING ERRCODE = 'feature_not_supported';
    END LOOP;
    -- The extension's triggers stay enabled (disabled, the TVIEW would go
    -- stale or be writable).
    FOR r IN
        SELECT g.tgname, g.tgrelid::regclass AS rel
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_trigger g ON g.tgrelid = c.objid
        WHERE c.classid = 'pg_class'::regclass AND g.tgname LIKE 'tviews\_%' AND g.tgenabled NOT IN ('O', 'A')
          AND (EXISTS (SELECT 1 FROM tviews._source s WHERE s.base = g.tgrelid)
               OR EXISTS (SELECT 1 FROM tviews._tview t WHERE t.relid = g.tgrelid))
        LIMIT 1
    LOOP
        RAISE EXCEPTION 'cannot disable trigger % on %: pg_tviews maintains TVIEWs with it', r.tgname, r.rel
            USING ERRCODE = 'feature_not_supported';
    END LOOP;
    FOR r IN
        SELECT c.objid::regclass AS rel, s.tview, k.relrowsecurity AS rls
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_class k ON k.oid = c.objid
        JOIN tviews._source s ON s.base = c.objid
        WHERE c.classid = 'pg_class'::regclass AND (k.relrowsecurity OR k.relpersistence = 'u')
        LIMIT 1
    LOOP
        RAISE EXCEPTION 'table % cannot %: TVIEW % reads it', r.rel,
            CASE WHEN r.rls THEN 'have row-level security (maintenance would see other rows than its readers)'
                 ELSE 'be unlogged (a crash would empty it without the TVIEW knowing)' END,
            r.tview USING ERRCODE = 'feature_not_supported';
    END LOOP;
    -- A TVIEW given to another owner takes its backing view along:
    -- maintenance runs as the TVIEW's owner and reads the view with its
    -- owner's rights.
    FOR r IN
        SELECT t.viewid, c.relowner
        FROM pg_event_trigger_ddl_commands() d
        JOIN tviews._tview t ON t.relid = d.objid
        JOIN pg_class c ON c.oid = t.relid
        JOIN pg_class v ON v.oid = t.viewid
        WHERE d.classid = 'pg_class'::regclass AND v.relowner <> c.relowner
    LOOP
        EXECUTE format('ALTER VIEW %s OWNER TO %I', r.viewid::regclass, r.relowner::regrole);
    END LOOP;
END
$$;
CREATE EVENT TRIGGER tviews_on_ddl ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE') EXECUTE FUNCTION tviews._on_ddl();
-- The extension's triggers fire ALWAYS (also under session_replication_role
-- = replica, as a logical replication subscriber applies changes). Setting
-- that needs the table's owner; tviews.create calls this for each trigger it
-- created, and it touches nothing but a pg_tviews trigger.
CREATE FUNCTION tviews._fire_always(rel regclass, trg name) RETURNS void LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger t
                   WHERE t.tgrelid = rel AND t.tgname = trg AND NOT t.tgisinternal
                     AND t.tgfoid::regproc::text IN ('tviews._capture', 'tviews._guard')) THEN
        RAISE EXCEPTION 'trigger % on % is not a pg_tviews trigger', trg, rel
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', rel, trg);
END
$$;
-- The cleanup runs as the extension owner, so the owner of a TVIEW can drop
-- it without rights on the catalog; only the event trigger can call it.
ALTER FUNCTION tviews._on_drop() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION tviews._forget(oid) FROM PUBLIC;
REVOKE ALL ON FUNCTION tviews._forget_stats(oid) FROM PUBLIC;
-- Zeroing counters is for the extension's owner and the roles it grants.
REVOKE ALL ON FUNCTION tviews.stats_reset() FROM PUBLIC;

GRANT USAGE ON SCHEMA tviews TO PUBLIC;
GRANT SELECT ON tviews._tview, tviews._source, tviews.registry, tviews.dependencies, tviews.stats TO PUBLIC;
GRANT SELECT, INSERT, DELETE ON tviews._pending TO PUBLIC;
"#,
    name = "objects",
    finalize
);
