-- Rights and search_path, with non-superuser roles: an owner who creates a
-- TVIEW, a writer with only UPDATE(title) on one table, a reader with
-- SELECT on the TVIEW, and a hostile role with CREATE on schema public.
CREATE ROLE sec_owner;
CREATE ROLE sec_writer;
CREATE ROLE sec_reader;
CREATE ROLE sec_hostile;
CREATE SCHEMA sec AUTHORIZATION sec_owner;
GRANT CREATE ON SCHEMA public TO sec_hostile;

SET ROLE sec_owner;
CREATE TABLE sec.users (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL);
CREATE TABLE sec.post (id int PRIMARY KEY, user_id int NOT NULL REFERENCES sec.users, title text NOT NULL);
INSERT INTO sec.users VALUES (1, 'ann', 'ann@example.com'), (2, 'bob', 'bob@example.com');
INSERT INTO sec.post VALUES (10, 1, 'hello'), (11, 2, 'world');
-- A non-superuser creates a TVIEW; maintenance runs as this owner, in a
-- restricted security context, with a fixed search_path and JIT off.
SELECT tviews.create('sec.tv_post',
  $$SELECT p.id AS pk_post, p.title, u.name AS author, current_user::text AS maintained_by,
           current_setting('search_path') AS path, current_setting('jit') AS jit
    FROM sec.post p JOIN sec.users u ON u.id = p.user_id$$);
GRANT USAGE ON SCHEMA sec TO sec_writer, sec_reader;
GRANT SELECT (id), UPDATE (title) ON sec.post TO sec_writer;
GRANT SELECT ON sec.tv_post TO sec_reader;
RESET ROLE;
SELECT pg_catalog.has_table_privilege('sec_writer', v.backing_view, 'SELECT') AS writer_reads_view
FROM tviews.registry v WHERE v.name = 'sec.tv_post'::regclass;

-- The writer's commit works with nothing but its own rights, and the
-- refresh runs as the owner.
SET ROLE sec_writer;
UPDATE sec.post SET title = 'HELLO' WHERE id = 10;
RESET ROLE;
SELECT * FROM sec.tv_post ORDER BY pk_post;
SELECT tview, ok FROM tviews.verify('sec.tv_post');
SET ROLE sec_writer;
BEGIN;
UPDATE sec.post SET title = 'again' WHERE id = 11;
SAVEPOINT s;
UPDATE sec.post SET title = 'rolled back' WHERE id = 10;
ROLLBACK TO SAVEPOINT s;
COMMIT;

-- The writer cannot read other columns through the extension's objects,
-- nor forge or refresh TVIEW rows.
SELECT count(*) FROM sec.tv_post;
SELECT tviews.refresh('sec.tv_post');
SELECT tviews.refresh_keys('sec.tv_post', '[10]');
SELECT * FROM tviews.verify('sec.tv_post');
INSERT INTO sec.tv_post VALUES (99, 'forged', 'x', 'x', 'x', 'x');
SELECT tviews.stats_reset();
RESET ROLE;
-- A refresh that fails records its error; only the owner's roles see it.
SET ROLE sec_owner;
CREATE FUNCTION sec.boom(t text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN IF t = 'boom' THEN RAISE EXCEPTION 'secret value %', t; END IF; RETURN t; END $$;
CREATE TABLE sec.note (id int PRIMARY KEY, body text);
INSERT INTO sec.note VALUES (1, 'fine');
SELECT tviews.create('sec.tv_note', 'SELECT id AS pk_note, sec.boom(body) AS body FROM sec.note');
GRANT SELECT, UPDATE ON sec.note TO sec_writer;
RESET ROLE;
SET ROLE sec_writer;
UPDATE sec.note SET body = 'boom' WHERE id = 1;
SELECT tview, errors, last_error IS NULL AS error_hidden FROM tviews.stats WHERE tview = 'sec.tv_note'::regclass;
SELECT relid::regclass, last_error IS NULL AS error_hidden FROM tviews._stats() WHERE relid = 'sec.tv_note'::regclass;
RESET ROLE;
SET ROLE sec_owner;
SELECT tview, errors, last_error FROM tviews.stats WHERE tview = 'sec.tv_note'::regclass;
RESET ROLE;
SELECT pk_post, title FROM sec.tv_post ORDER BY pk_post;

-- Maintenance is a security-restricted operation: code the query calls
-- cannot create temporary objects (nor SET ROLE), as in REFRESH
-- MATERIALIZED VIEW.
SET ROLE sec_owner;
CREATE FUNCTION sec.scratch(i int) RETURNS int LANGUAGE plpgsql AS
  $$ BEGIN CREATE TEMP TABLE IF NOT EXISTS sec_scratch (x int); RETURN i; END $$;
CREATE TABLE sec.tmp (id int PRIMARY KEY);
SELECT tviews.create('sec.tv_tmp', 'SELECT sec.scratch(id) AS pk_tmp FROM sec.tmp');
INSERT INTO sec.tmp VALUES (1);
SELECT tviews.drop('sec.tv_tmp');
RESET ROLE;

-- The reader reads; nobody, the owner included, writes a TVIEW directly.
SET ROLE sec_reader;
SELECT pk_post, title, author FROM sec.tv_post ORDER BY pk_post;
DELETE FROM sec.tv_post;
RESET ROLE;
SET ROLE sec_owner;
INSERT INTO sec.tv_post VALUES (99, 'forged', 'x', 'x', 'x', 'x');
UPDATE sec.tv_post SET title = 'forged';
DELETE FROM sec.tv_post WHERE pk_post = 10;
TRUNCATE sec.tv_post;
-- The owner refreshes (as REFRESH MATERIALIZED VIEW's owner does).
SELECT tviews.refresh('sec.tv_post');
SELECT tviews.refresh_keys('sec.tv_post', '[10, 11]');
RESET ROLE;
-- The registry, which holds SQL run at commit, is the extension owner's.
SET ROLE sec_owner;
UPDATE tviews._source SET flush_sql = 'SELECT 1' WHERE tview = 'sec.tv_post'::regclass;
INSERT INTO tviews._tview (relid, viewid, key_cols, query) VALUES (1, 1, '{}', '');
RESET ROLE;

-- A hostile role plants functions and an operator that the extension's
-- statements would pick under a search_path that puts public first, and
-- that try to escalate when they run as a superuser.
SET ROLE sec_hostile;
CREATE TABLE public.sec_hits (who text, what text);
GRANT INSERT ON public.sec_hits TO PUBLIC;
CREATE FUNCTION public.sec_escalate(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.sec_hits VALUES (current_user, what);
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    EXECUTE 'ALTER ROLE sec_hostile SUPERUSER';
  END IF;
END $$;
CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.sec_escalate('unnest'); RETURN QUERY SELECT * FROM pg_catalog.unnest($1); END $$;
CREATE FUNCTION public.format(text, text, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.sec_escalate('format'); RETURN pg_catalog.format($1, $2, $3); END $$;
CREATE FUNCTION public.count(anyelement) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM public.sec_escalate('count'); RETURN 1; END $$;
CREATE FUNCTION public.sec_eq(int, int) RETURNS bool LANGUAGE plpgsql AS $$
BEGIN PERFORM public.sec_escalate('='); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR public.= (LEFTARG = int, RIGHTARG = int, FUNCTION = public.sec_eq);
RESET ROLE;
-- A superuser whose search_path puts public before pg_catalog writes the
-- base tables (a direct and a join source; its own statements avoid the
-- planted operator): nothing of the hostile role runs.
SET search_path = public, pg_catalog;
UPDATE sec.post SET title = 'by superuser' WHERE id OPERATOR(pg_catalog.=) 10;
UPDATE sec.users SET name = 'ANN' WHERE id OPERATOR(pg_catalog.=) 1;
BEGIN;
UPDATE sec.post SET title = 'in a transaction' WHERE id OPERATOR(pg_catalog.=) 11;
UPDATE sec.users SET name = 'BOB' WHERE id OPERATOR(pg_catalog.=) 2;
INSERT INTO sec.post VALUES (12, 1, 'new');
COMMIT;
SELECT tviews.refresh_keys('sec.tv_post', '[10]');
SELECT * FROM tviews.verify('sec.tv_post');
RESET search_path;
SELECT pk_post, title, author FROM sec.tv_post ORDER BY pk_post;
SELECT who, what FROM public.sec_hits;
SELECT rolsuper AS hostile_is_superuser FROM pg_roles WHERE rolname = 'sec_hostile';

-- A TVIEW given to another role takes its backing view along, and is
-- maintained as its new owner.
CREATE ROLE sec_heir;
GRANT USAGE ON SCHEMA sec TO sec_heir;
GRANT SELECT ON sec.post, sec.users TO sec_heir;
ALTER TABLE sec.tv_post OWNER TO sec_heir;
SELECT pg_catalog.pg_get_userbyid(c.relowner) AS view_owner
FROM tviews.registry r JOIN pg_class c ON c.oid = r.backing_view WHERE r.name = 'sec.tv_post'::regclass;
UPDATE sec.post SET title = 'for the heir' WHERE id OPERATOR(pg_catalog.=) 10;
SELECT pk_post, title, maintained_by FROM sec.tv_post ORDER BY pk_post;
SET ROLE sec_heir;
SELECT tviews.refresh('sec.tv_post') > 0 AS rewritten;
SELECT tview, ok FROM tviews.verify('sec.tv_post');
RESET ROLE;

-- Clean up.
SELECT tviews.drop('sec.tv_post');
SET client_min_messages = warning;
DROP SCHEMA sec CASCADE;
RESET client_min_messages;
DROP OPERATOR public.= (int, int);
DROP FUNCTION public.sec_eq(int, int), public.count(anyelement), public.format(text, text, text),
  public.unnest(text[]), public.sec_escalate(text);
DROP TABLE public.sec_hits;
REVOKE CREATE ON SCHEMA public FROM sec_hostile;
DROP ROLE sec_owner, sec_writer, sec_reader, sec_hostile, sec_heir;
