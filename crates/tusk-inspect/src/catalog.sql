-- tusk-inspect: the whole model in one statement, one round trip.
-- Everything comes from pg_catalog (never information_schema, which is slow
-- on large schemas and hides what the role cannot access), rendered by the
-- server's own pg_get_*def functions. Objects of extensions are left out.
WITH sch AS (
    SELECT n.oid, n.nspname
    FROM pg_catalog.pg_namespace n
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_toast%'
      AND n.nspname NOT LIKE 'pg\_temp\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_namespace'::regclass
                        AND d.objid = n.oid AND d.deptype = 'e')
),
rel AS (
    SELECT c.*, s.nspname
    FROM pg_catalog.pg_class c JOIN sch s ON s.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_class'::regclass
                        AND d.objid = c.oid AND d.deptype = 'e')
),
typ AS (
    SELECT t.*, s.nspname
    FROM pg_catalog.pg_type t JOIN sch s ON s.oid = t.typnamespace
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_type'::regclass
                        AND d.objid = t.oid AND d.deptype = 'e')
)
SELECT json_build_object(
  'server_version', current_setting('server_version'),
  'database', current_database(),
  'schemas', (SELECT coalesce(json_agg(x ORDER BY x.name), '[]') FROM (
      SELECT s.nspname AS name, pg_catalog.pg_get_userbyid(n.nspowner) AS owner,
             pg_catalog.obj_description(s.oid, 'pg_namespace') AS comment
      FROM sch s JOIN pg_catalog.pg_namespace n ON n.oid = s.oid) x),
  'relations', (SELECT coalesce(json_agg(x ORDER BY x.schema, x.name), '[]') FROM (
      SELECT r.oid::int8 AS oid, r.nspname AS schema, r.relname AS name, r.relkind::text AS kind,
             pg_catalog.pg_get_userbyid(r.relowner) AS owner,
             pg_catalog.obj_description(r.oid, 'pg_class') AS comment,
             r.relpersistence = 'u' AS unlogged,
             r.relrowsecurity AS row_security, r.relforcerowsecurity AS force_row_security,
             CASE WHEN r.relispartition THEN (
                 SELECT pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(p.relname)
                 FROM pg_catalog.pg_inherits i
                 JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
                 JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
                 WHERE i.inhrelid = r.oid) END AS partition_of,
             CASE WHEN r.relispartition THEN pg_catalog.pg_get_expr(r.relpartbound, r.oid) END AS partition_bound,
             CASE WHEN r.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(r.oid) END AS partition_key,
             CASE WHEN r.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(r.oid, true) END AS definition
      FROM rel r) x),
  'columns', (SELECT coalesce(json_agg(x ORDER BY x.rel, x.position), '[]') FROM (
      SELECT a.attrelid::int8 AS rel, a.attname AS name, a.attnum AS position,
             pg_catalog.format_type(a.atttypid, a.atttypmod) AS data_type,
             a.attnotnull AS not_null,
             CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END AS "default",
             CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END AS identity,
             CASE WHEN a.attgenerated = 's' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END AS generated,
             CASE WHEN a.attcollation <> t.typcollation THEN (
                 SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
                 FROM pg_catalog.pg_collation co
                 JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
                 WHERE co.oid = a.attcollation) END AS collation,
             pg_catalog.col_description(a.attrelid, a.attnum) AS comment
      FROM pg_catalog.pg_attribute a
      JOIN rel r ON r.oid = a.attrelid
      JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attnum > 0 AND NOT a.attisdropped) x),
  'indexes', (SELECT coalesce(json_agg(x ORDER BY x.rel, x.name), '[]') FROM (
      SELECT i.indrelid::int8 AS rel, ic.relname AS name,
             pg_catalog.pg_get_indexdef(i.indexrelid) AS definition,
             i.indisunique AS "unique", i.indisprimary AS "primary", i.indisvalid AS valid,
             am.amname AS method,
             pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS predicate,
             (SELECT coalesce(json_agg(pg_catalog.pg_get_indexdef(i.indexrelid, k, true) ORDER BY k), '[]')
              FROM generate_series(1, i.indnkeyatts) k) AS keys,
             (SELECT coalesce(json_agg(pg_catalog.pg_get_indexdef(i.indexrelid, k, true) ORDER BY k), '[]')
              FROM generate_series(i.indnkeyatts + 1, i.indnatts) k) AS include
      FROM pg_catalog.pg_index i
      JOIN rel r ON r.oid = i.indrelid
      JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_catalog.pg_am am ON am.oid = ic.relam) x),
  'constraints', (SELECT coalesce(json_agg(x ORDER BY x.rel, x.name), '[]') FROM (
      SELECT co.conrelid::int8 AS rel, co.conname AS name, co.contype::text AS kind,
             pg_catalog.pg_get_constraintdef(co.oid, true) AS definition,
             co.condeferrable AS deferrable, co.condeferred AS initially_deferred,
             co.convalidated AS validated,
             (SELECT coalesce(json_agg(a.attname ORDER BY k.ord), '[]')
              FROM unnest(co.conkey) WITH ORDINALITY k(num, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.num) AS columns,
             CASE WHEN co.contype = 'f' THEN (
                 SELECT pg_catalog.quote_ident(fn.nspname) || '.' || pg_catalog.quote_ident(fc.relname)
                 FROM pg_catalog.pg_class fc JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
                 WHERE fc.oid = co.confrelid) END AS ref_table,
             (SELECT coalesce(json_agg(a.attname ORDER BY k.ord), '[]')
              FROM unnest(co.confkey) WITH ORDINALITY k(num, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.num) AS ref_columns,
             CASE WHEN co.contype = 'f' THEN co.confupdtype::text END AS on_update,
             CASE WHEN co.contype = 'f' THEN co.confdeltype::text END AS on_delete
      FROM pg_catalog.pg_constraint co JOIN rel r ON r.oid = co.conrelid) x),
  'triggers', (SELECT coalesce(json_agg(x ORDER BY x.rel, x.name), '[]') FROM (
      SELECT tg.tgrelid::int8 AS rel, tg.tgname AS name,
             pg_catalog.pg_get_triggerdef(tg.oid, true) AS definition,
             tg.tgenabled <> 'D' AS enabled
      FROM pg_catalog.pg_trigger tg JOIN rel r ON r.oid = tg.tgrelid
      WHERE NOT tg.tgisinternal) x),
  'policies', (SELECT coalesce(json_agg(x ORDER BY x.rel, x.name), '[]') FROM (
      SELECT p.polrelid::int8 AS rel, p.polname AS name,
             CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                           WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
             p.polpermissive AS permissive,
             (SELECT coalesce(json_agg(CASE WHEN ro = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(ro)::text END ORDER BY 1), '[]')
              FROM unnest(p.polroles) ro) AS roles,
             pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS using_expr,
             pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr
      FROM pg_catalog.pg_policy p JOIN rel r ON r.oid = p.polrelid) x),
  'sequences', (SELECT coalesce(json_agg(x ORDER BY x.schema, x.name), '[]') FROM (
      SELECT r.nspname AS schema, r.relname AS name,
             pg_catalog.format_type(sq.seqtypid, NULL) AS data_type,
             sq.seqstart AS start, sq.seqincrement AS increment, sq.seqmin AS min_value,
             sq.seqmax AS max_value, sq.seqcache AS cache, sq.seqcycle AS cycle,
             (SELECT pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(tc.relname) || '.' || pg_catalog.quote_ident(ta.attname)
              FROM pg_catalog.pg_depend d
              JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
              JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
              JOIN pg_catalog.pg_attribute ta ON ta.attrelid = d.refobjid AND ta.attnum = d.refobjsubid
              WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = sq.seqrelid
                AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
              LIMIT 1) AS owned_by
      FROM pg_catalog.pg_sequence sq JOIN rel r ON r.oid = sq.seqrelid) x),
  'enums', (SELECT coalesce(json_agg(x ORDER BY x.schema, x.name), '[]') FROM (
      SELECT t.nspname AS schema, t.typname AS name,
             (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder)
              FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) AS labels,
             pg_catalog.obj_description(t.oid, 'pg_type') AS comment
      FROM typ t WHERE t.typtype = 'e') x),
  'domains', (SELECT coalesce(json_agg(x ORDER BY x.schema, x.name), '[]') FROM (
      SELECT t.nspname AS schema, t.typname AS name,
             pg_catalog.format_type(t.typbasetype, t.typtypmod) AS base_type,
             t.typnotnull AS not_null, t.typdefault AS "default",
             (SELECT coalesce(json_agg(json_build_object('name', c.conname,
                     'definition', pg_catalog.pg_get_constraintdef(c.oid, true)) ORDER BY c.conname), '[]')
              FROM pg_catalog.pg_constraint c WHERE c.contypid = t.oid) AS checks,
             pg_catalog.obj_description(t.oid, 'pg_type') AS comment
      FROM typ t WHERE t.typtype = 'd') x),
  'functions', (SELECT coalesce(json_agg(x ORDER BY x.schema, x.name, x.arguments), '[]') FROM (
      SELECT s.nspname AS schema, p.proname AS name,
             pg_catalog.pg_get_function_identity_arguments(p.oid) AS arguments,
             p.prokind = 'p' AS procedure,
             pg_catalog.pg_get_functiondef(p.oid) AS definition,
             pg_catalog.obj_description(p.oid, 'pg_proc') AS comment
      FROM pg_catalog.pg_proc p JOIN sch s ON s.oid = p.pronamespace
      WHERE p.prokind IN ('f', 'p')
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')) x),
  'extensions', (SELECT coalesce(json_agg(x ORDER BY x.name), '[]') FROM (
      SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace) x)
)::text
