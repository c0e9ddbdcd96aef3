-- Probes of a hostile role and an unlucky owner, with non-superuser roles:
-- after each commit the TVIEW equals its query, nothing runs with rights
-- it should not have, and what would leave a TVIEW stale is refused.
CREATE ROLE ho_owner;
CREATE ROLE ho_writer;
CREATE ROLE ho_hostile;
CREATE ROLE ho_owner2;
CREATE SCHEMA ho AUTHORIZATION ho_owner;
CREATE SCHEMA ho_evil AUTHORIZATION ho_hostile;
GRANT USAGE ON SCHEMA ho TO ho_writer;
GRANT USAGE ON SCHEMA ho_evil TO PUBLIC;

-- The hostile role plants, in a schema the owner puts before pg_catalog,
-- an = operator and functions for the key's type (text).
SET ROLE ho_hostile;
CREATE TABLE ho_evil.hits (who text, what text);
GRANT INSERT ON ho_evil.hits TO PUBLIC;
CREATE FUNCTION ho_evil.teq(text, text) RETURNS bool LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO ho_evil.hits VALUES (current_user, '='); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR ho_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = ho_evil.teq);
CREATE FUNCTION ho_evil.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO ho_evil.hits VALUES (current_user, 'unnest'); RETURN QUERY SELECT * FROM pg_catalog.unnest($1); END $$;
CREATE FUNCTION ho_evil.array_agg(text) RETURNS text[] LANGUAGE sql AS $$ SELECT ARRAY[$1] $$;
RESET ROLE;

SET ROLE ho_owner;
CREATE TABLE ho.team (code text PRIMARY KEY, label text NOT NULL);
CREATE TABLE ho.member (id int PRIMARY KEY, team text NOT NULL, name text NOT NULL);
INSERT INTO ho.team VALUES ('a', 'Alpha'), ('b', 'Beta');
INSERT INTO ho.member VALUES (1, 'a', 'ann'), (2, 'b', 'bob');
-- The owner's query names its operators itself (pg_catalog's =).
SELECT tviews.create('ho.tv_team',
  $$SELECT t.code AS pk_team, t.label, count(m.id) AS members
    FROM ho.team t LEFT JOIN ho.member m ON m.team OPERATOR(pg_catalog.=) t.code GROUP BY t.code, t.label$$);
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ho.team, ho.member TO ho_writer;
RESET ROLE;

-- The owner, with the hostile schema first on its path, writes both sides.
SET ROLE ho_owner;
SET search_path = ho_evil, pg_catalog, public;
BEGIN;
UPDATE ho.team SET label = 'ALPHA' WHERE code OPERATOR(pg_catalog.=) 'a';
INSERT INTO ho.member VALUES (3, 'a', 'cy');
DELETE FROM ho.member WHERE id OPERATOR(pg_catalog.=) 2;
COMMIT;
SELECT tviews.refresh_keys('ho.tv_team', '["b"]');
RESET search_path;
RESET ROLE;
SELECT * FROM ho.tv_team ORDER BY 1;
SELECT tview, ok FROM tviews.verify('ho.tv_team');
SELECT count(*) AS hostile_ran FROM ho_evil.hits;

-- A writer shadows the base tables and the extension's catalog with
-- temporary tables of the same names (pg_temp comes first for relations):
-- maintenance, which runs in the writer's backend, does not read them.
SET ROLE ho_writer;
CREATE TEMP TABLE team (code text, label text);
CREATE TEMP TABLE member (id int, team text, name text);
CREATE TEMP TABLE _tview (relid oid);
CREATE TEMP TABLE _source (tview oid);
CREATE TEMP TABLE _pending (pid int);
UPDATE ho.member SET team = 'b' WHERE id = 1;
INSERT INTO ho.team VALUES ('c', 'Gamma');
RESET ROLE;
SELECT * FROM ho.tv_team ORDER BY 1;
SELECT tview, ok FROM tviews.verify('ho.tv_team');

-- TRUNCATE by a writer, then new rows, in one transaction; and a savepoint
-- rolled back between writes.
SET ROLE ho_writer;
BEGIN;
TRUNCATE ho.member;
INSERT INTO ho.member VALUES (4, 'c', 'dee');
SAVEPOINT s;
DELETE FROM ho.team WHERE code = 'b';
INSERT INTO ho.member VALUES (5, 'a', 'eve');
ROLLBACK TO SAVEPOINT s;
INSERT INTO ho.member VALUES (6, 'b', 'fay');
COMMIT;
RESET ROLE;
SELECT * FROM ho.tv_team ORDER BY 1;
SELECT tview, ok FROM tviews.verify('ho.tv_team');

-- A SECURITY DEFINER trigger on a base table writes another TVIEW's base
-- table: both TVIEWs are maintained at commit.
SET ROLE ho_owner;
CREATE TABLE ho.audit (id int PRIMARY KEY, n int NOT NULL);
INSERT INTO ho.audit VALUES (1, 0);
SELECT tviews.create('ho.tv_audit', 'SELECT id AS pk_audit, n FROM ho.audit');
CREATE FUNCTION ho.count_member() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog AS
  $$ BEGIN UPDATE ho.audit SET n = n + 1 WHERE id = 1; RETURN NULL; END $$;
CREATE TRIGGER count_member AFTER INSERT ON ho.member FOR EACH ROW EXECUTE FUNCTION ho.count_member();
RESET ROLE;
SET ROLE ho_writer;
INSERT INTO ho.member VALUES (7, 'a', 'gus'), (8, 'c', 'hal');
RESET ROLE;
SELECT * FROM ho.tv_audit;
SELECT tview, ok FROM tviews.verify() WHERE tview::text LIKE 'ho.%' ORDER BY 1;

-- A TVIEW on a TVIEW, of another owner who holds only SELECT and TRIGGER
-- on it: a writer's change cascades, each refresh as its TVIEW's owner.
GRANT USAGE, CREATE ON SCHEMA ho TO ho_owner2;
SET ROLE ho_owner;
GRANT SELECT, TRIGGER ON ho.tv_team TO ho_owner2;
RESET ROLE;
SET ROLE ho_owner2;
SELECT tviews.create('ho.tv_top', 'SELECT pk_team AS pk_top, members * 10 AS weight, current_user::text AS maintained_by FROM ho.tv_team');
RESET ROLE;
SET ROLE ho_writer;
INSERT INTO ho.member VALUES (11, 'c', 'jo');
RESET ROLE;
SELECT * FROM ho.tv_top ORDER BY 1;
SELECT tview, ok FROM tviews.verify() WHERE tview::text LIKE 'ho.%' ORDER BY 1;
SELECT tviews.drop('ho.tv_top');

-- A logical replication subscriber applies changes under
-- session_replication_role = replica: the extension's triggers fire then
-- too (ALWAYS), and the TVIEWs are maintained.
SET session_replication_role = replica;
BEGIN;
UPDATE ho.team SET label = 'Replicated' WHERE code = 'c';
INSERT INTO ho.member VALUES (10, 'b', 'rep');
COMMIT;
INSERT INTO ho.tv_team VALUES ('z', 'forged', 0);
RESET session_replication_role;
SELECT * FROM ho.tv_team ORDER BY 1;
SELECT tview, ok FROM tviews.verify() WHERE tview::text LIKE 'ho.%' ORDER BY 1;

-- A refresh that fails at the writer's COMMIT does not show the writer
-- data it cannot read (here a PIN quoted by a failed cast); the owner
-- sees the message, in its own COMMIT and in tviews.stats.
SET ROLE ho_owner;
CREATE TABLE ho.acct (id int PRIMARY KEY, pin text NOT NULL);
CREATE TABLE ho.login (id int PRIMARY KEY, acct_id int NOT NULL);
INSERT INTO ho.acct VALUES (1, '1234'), (2, 'hunter2');
INSERT INTO ho.login VALUES (1, 1);
SELECT tviews.create('ho.tv_login', 'SELECT l.id AS pk_login, a.pin::int AS pin FROM ho.login l JOIN ho.acct a ON a.id = l.acct_id');
GRANT SELECT (id), UPDATE (acct_id) ON ho.login TO ho_writer;
RESET ROLE;
SET ROLE ho_writer;
UPDATE ho.login SET acct_id = 2 WHERE id = 1;
SELECT tview, errors, last_error FROM tviews.stats WHERE tview = 'ho.tv_login'::regclass;
RESET ROLE;
SET ROLE ho_owner;
UPDATE ho.login SET acct_id = 2 WHERE id = 1;
SELECT tview, errors, last_error FROM tviews.stats WHERE tview = 'ho.tv_login'::regclass;
SELECT tviews.drop('ho.tv_login');
RESET ROLE;

-- What would leave a TVIEW stale (or writable) is refused: renaming a
-- column it reads, dropping or disabling the extension's triggers, a base
-- table becoming a partition or child, a partition as a source.
\set VERBOSITY terse
SET ROLE ho_owner;
ALTER TABLE ho.member RENAME COLUMN team TO squad;
ALTER TABLE ho.team RENAME COLUMN code TO id;
ALTER TABLE ho.member ADD COLUMN note text;
ALTER TABLE ho.member RENAME COLUMN note TO remark;
SELECT tgname AS capture_trigger FROM pg_trigger
WHERE tgrelid = 'ho.member'::regclass AND tgname LIKE 'tviews%upd' LIMIT 1 \gset
-- (the capture trigger's name holds the TVIEW's id: shown as N)
CREATE FUNCTION ho.try(cmd text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN EXECUTE cmd; RETURN 'done'; EXCEPTION WHEN OTHERS THEN
     RETURN pg_catalog.regexp_replace(SQLERRM, 'tviews_[0-9]+_', 'tviews_N_'); END $$;
SELECT ho.try(pg_catalog.format('DROP TRIGGER %I ON ho.member', :'capture_trigger'));
SELECT ho.try(pg_catalog.format('ALTER TABLE ho.member DISABLE TRIGGER %I', :'capture_trigger'));
DROP TRIGGER tviews_guard ON ho.tv_team;
ALTER TABLE ho.tv_team DISABLE TRIGGER tviews_guard;
ALTER TABLE ho.tv_team ADD COLUMN extra int;
ALTER TABLE ho.tv_team DROP COLUMN members;
ALTER TABLE ho.tv_team RENAME COLUMN label TO title;
ALTER TABLE ho.tv_team ALTER COLUMN members TYPE numeric;
SELECT name FROM tviews.registry WHERE name = 'ho.tv_team'::regclass;
CREATE TABLE ho.parent (code text PRIMARY KEY, label text NOT NULL) PARTITION BY LIST (code);
ALTER TABLE ho.parent ATTACH PARTITION ho.team FOR VALUES IN ('a', 'b', 'c', 'd');
CREATE TABLE ho.base (code text, label text);
ALTER TABLE ho.team INHERIT ho.base;
CREATE TABLE ho.part_a PARTITION OF ho.parent FOR VALUES IN ('x');
SELECT tviews.create('ho.tv_part', 'SELECT code AS pk_part FROM ho.part_a');
UPDATE ho.member SET name = 'ANN' WHERE id = 1;
RESET ROLE;
SELECT tview, ok FROM tviews.verify() WHERE tview::text LIKE 'ho.%' ORDER BY 1;

-- A base table is dropped only with CASCADE, which drops the TVIEW too.
SET ROLE ho_owner;
DROP TRIGGER count_member ON ho.member;
DROP TABLE ho.audit;
SET client_min_messages = warning;
DROP TABLE ho.audit CASCADE;
RESET client_min_messages;
SELECT name FROM tviews.registry WHERE name::text LIKE 'ho.%' ORDER BY 1;
SELECT to_regclass('ho.tv_audit') AS tv_audit;
INSERT INTO ho.member VALUES (9, 'b', 'ivy');
RESET ROLE;
SELECT tview, ok FROM tviews.verify() WHERE tview::text LIKE 'ho.%' ORDER BY 1;
\set VERBOSITY default

-- Clean up.
SET ROLE ho_writer;
DISCARD TEMP;
RESET ROLE;
SET client_min_messages = warning;
DROP SCHEMA ho CASCADE;
DROP SCHEMA ho_evil CASCADE;
RESET client_min_messages;
DROP ROLE ho_owner, ho_writer, ho_hostile, ho_owner2;
