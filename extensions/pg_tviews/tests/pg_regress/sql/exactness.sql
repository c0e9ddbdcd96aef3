-- Exact under any transaction, and every shape either maintained exactly
-- or refused at create with an error naming the construct. Run by a
-- non-superuser.
CREATE ROLE ex_owner;
CREATE SCHEMA ex AUTHORIZATION ex_owner;
SET ROLE ex_owner;
SET search_path = ex;
CREATE TABLE a (a_id int PRIMARY KEY, i int, v text);
CREATE TABLE b (b_id int PRIMARY KEY, i int, w text);
CREATE TABLE c (c_id int PRIMARY KEY, i int, x text);
INSERT INTO a VALUES (1, 1, 'a1'), (2, 1, 'a2'), (3, 2, 'a3');
INSERT INTO b VALUES (1, 1, 'b1'), (2, 2, 'b2'), (3, 2, 'b3');
INSERT INTO c VALUES (1, 1, 'c1'), (2, 2, 'c2');

-- Both sides of a join changed in one transaction: each side maps its
-- rows to keys through the other side as it was before the transaction.
SELECT tviews.create('tv_ab', 'SELECT a_id, b_id, v, w FROM a JOIN b USING (i)',
  '{"key": ["a_id", "b_id"]}');
SELECT tviews.create('tv_abc', 'SELECT a.a_id, b.b_id, c.c_id, a.v, b.w, c.x FROM a JOIN b ON b.i = a.i JOIN c ON c.i = b.i',
  '{"key": ["a_id", "b_id", "c_id"]}');
SELECT tviews.create('tv_sum', 'SELECT a.i AS pk_sum, count(*) AS n, string_agg(b.w, '','' ORDER BY b.w) AS ws FROM a JOIN b ON b.i = a.i GROUP BY a.i');
SELECT tviews.create('tv_cte', 'WITH j AS (SELECT a.a_id, b.b_id, b.w FROM a JOIN b ON b.i = a.i) SELECT a_id, b_id, w FROM j',
  '{"key": ["a_id", "b_id"]}');
SELECT tviews.create('tv_sub', 'SELECT s.a_id, s.b_id, s.w FROM (SELECT a.a_id, b.b_id, b.w FROM a JOIN b ON b.i = a.i) s',
  '{"key": ["a_id", "b_id"]}');
SELECT tviews.create('tv_self', 'SELECT x.a_id AS left_id, y.a_id AS right_id, y.v FROM a x JOIN a y ON y.i = x.i',
  '{"key": ["left_id", "right_id"]}');
SELECT tview, depends_on, mapping, columns FROM tviews.dependencies
WHERE tview::oid IN (SELECT oid FROM pg_class WHERE relnamespace = 'ex'::regnamespace) ORDER BY 1, 2;

BEGIN;
DELETE FROM a WHERE a_id = 1;
DELETE FROM b WHERE b_id = 1;
COMMIT;
SELECT * FROM tviews.verify() WHERE tview LIKE 'ex.%' ORDER BY 1;
BEGIN;
UPDATE a SET i = 3 WHERE a_id = 3;
UPDATE b SET i = 3 WHERE b_id = 2;
UPDATE c SET i = 3 WHERE c_id = 2;
COMMIT;
SELECT * FROM tviews.verify() WHERE tview LIKE 'ex.%' ORDER BY 1;
BEGIN;
UPDATE a SET i = 2 WHERE a_id = 2;
DELETE FROM b WHERE b_id = 3;
INSERT INTO b VALUES (4, 1, 'b4');
COMMIT;
SELECT * FROM tviews.verify() WHERE tview LIKE 'ex.%' ORDER BY 1;
-- A self-join, one row changed.
UPDATE a SET i = 9 WHERE a_id = 2;
SELECT * FROM tviews.verify('tv_self');
SELECT * FROM tv_self ORDER BY 1, 2;
SELECT * FROM tv_ab ORDER BY 1, 2;

-- NOT IN over a nullable column: a NULL changes every row, so the table
-- in it refreshes the whole TVIEW.
CREATE TABLE blocked (i int);
SELECT tviews.create('tv_notin', 'SELECT a_id AS pk_notin, v FROM a WHERE i NOT IN (SELECT i FROM blocked)');
INSERT INTO blocked VALUES (1);
SELECT * FROM tviews.verify('tv_notin');
INSERT INTO blocked VALUES (NULL);
SELECT * FROM tviews.verify('tv_notin');
SELECT count(*) FROM tv_notin;
DELETE FROM blocked WHERE i IS NULL;
SELECT * FROM tviews.verify('tv_notin');
-- LIMIT inside IN and inside LATERAL: which rows they pick is not a matter
-- of equality with the outer row.
SELECT tviews.create('tv_inlimit', 'SELECT a_id AS pk_inlimit FROM a WHERE a.i IN (SELECT b.i FROM b ORDER BY b.b_id LIMIT 1)');
SELECT tviews.create('tv_lateral', 'SELECT a.a_id AS pk_lateral, l.w FROM a JOIN LATERAL (SELECT b.i, b.w FROM b ORDER BY b.b_id LIMIT 1) l ON l.i = a.i');
SELECT * FROM tv_lateral ORDER BY 1;
-- A new first row pushes the old one out: the rows joined to the old one
-- change although nothing equal to them did.
INSERT INTO b VALUES (0, 9, 'b0');
SELECT * FROM tviews.verify() WHERE tview IN ('ex.tv_inlimit', 'ex.tv_lateral') ORDER BY 1;
SELECT * FROM tv_lateral ORDER BY 1;

-- Refused, naming the construct.
SELECT tviews.create('tv_lock', 'SELECT a_id AS pk_lock FROM a FOR UPDATE');
SELECT tviews.create('tv_lock', 'SELECT a_id AS pk_lock FROM a WHERE i IN (SELECT i FROM b FOR SHARE)');
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child () INHERITS (parent);
SELECT tviews.create('tv_parent', 'SELECT id AS pk_parent FROM parent');
SELECT tviews.create('tv_parent', 'SELECT a_id AS pk_parent FROM a JOIN parent ON parent.id = a.i');
CREATE TABLE part (id int PRIMARY KEY) PARTITION BY RANGE (id);
SELECT tviews.create('tv_part', 'SELECT id AS pk_part FROM part');
CREATE UNLOGGED TABLE unlogged (id int PRIMARY KEY);
SELECT tviews.create('tv_unlogged', 'SELECT id AS pk_unlogged FROM unlogged');
CREATE TABLE secret (id int PRIMARY KEY, owner text);
ALTER TABLE secret ENABLE ROW LEVEL SECURITY;
SELECT tviews.create('tv_rls', 'SELECT a_id AS pk_rls FROM a JOIN secret ON secret.id = a.i');
CREATE VIEW av AS SELECT a_id, v FROM a;
SELECT tviews.create('tv_view', 'SELECT a_id AS pk_view, v FROM av');
-- ... and so is a table read by a TVIEW that later gains a child, RLS or
-- UNLOGGED.
CREATE TABLE a_child () INHERITS (a);
CREATE TABLE loose (a_id int NOT NULL, i int, v text);
ALTER TABLE loose INHERIT a;
ALTER TABLE a ENABLE ROW LEVEL SECURITY;
ALTER TABLE b SET UNLOGGED;
SELECT count(*) AS children FROM pg_inherits WHERE inhparent = 'a'::regclass;
-- An output column PostgreSQL refuses: its error, not a panic.
SELECT tviews.create('tv_xmin', 'SELECT a_id AS pk_xmin, v AS xmin FROM a');
SELECT count(*) AS leftovers FROM tviews.registry WHERE name::text ~ '(lock|parent|part|unlogged|rls|view|xmin)$';

-- A join table renamed and replaced by another of the same name: the
-- TVIEW keeps reading the table it was defined on (by oid).
CREATE TABLE rn_users (id int PRIMARY KEY, name text);
CREATE TABLE rn_post (id int PRIMARY KEY, user_id int, title text);
INSERT INTO rn_users VALUES (1, 'ann'), (2, 'bob');
INSERT INTO rn_post VALUES (1, 1, 'x'), (2, 2, 'y');
SELECT tviews.create('tv_rn', 'SELECT p.id AS pk_rn, u.name FROM rn_post p JOIN rn_users u ON u.id = p.user_id');
ALTER TABLE rn_post RENAME TO rn_post_old;
CREATE TABLE rn_post (id int PRIMARY KEY, user_id int, title text);
-- rn_users rows reach the keys through rn_post_old.
UPDATE rn_users SET name = 'renamed' WHERE id = 1;
SELECT * FROM tv_rn ORDER BY 1;
SELECT * FROM tviews.verify('tv_rn');

-- Errors carry a SQLSTATE that says what kind of failure they are.
\set VERBOSITY sqlstate
SELECT tviews.create('tv_lock', 'SELECT a_id AS pk_lock FROM a FOR UPDATE');
SELECT tviews.create('tv_view', 'SELECT a_id AS pk_view, v FROM av');
SELECT tviews.create('tv_nokey', 'SELECT a_id FROM a');
SELECT tviews.create('tv_opt', 'SELECT a_id AS pk_opt FROM a', '{"colour": 1}');
SELECT tviews.create('tv_dup', 'SELECT 1 AS pk_dup FROM b');
SELECT tviews.refresh('no_such_tview');
SELECT tviews.create('a.b.c', 'SELECT 1 AS pk');
\set VERBOSITY default

-- Column names that are keywords.
CREATE TABLE kw ("left" int PRIMARY KEY, "join" int, "is" text, "like" text);
INSERT INTO kw VALUES (1, 1, 'x', 'y'), (2, 1, 'z', 'w');
SELECT tviews.create('tv_kw', 'SELECT k."left", k."is", k."like", a.v FROM kw k JOIN a ON a.a_id = k."join"', '{"key": "left"}');
UPDATE kw SET "is" = 'X' WHERE "left" = 1;
UPDATE a SET v = 'A3' WHERE a_id = 3;
INSERT INTO kw VALUES (3, 3, 'new', 'row');
SELECT * FROM tv_kw ORDER BY 1;
SELECT * FROM tviews.verify('tv_kw');

-- Never silently unmaintained: a TVIEW whose metadata can no longer be
-- read fails the writer's commit.
ALTER TABLE tv_kw RENAME COLUMN "left" TO l;
UPDATE kw SET "is" = 'lost' WHERE "left" = 1;
SELECT "is" FROM kw WHERE "left" = 1;
ALTER TABLE tv_kw RENAME COLUMN l TO "left";
-- A key that becomes duplicate fails the commit, naming the TVIEW's key.
CREATE TABLE dup (id int PRIMARY KEY, k int NOT NULL);
INSERT INTO dup VALUES (1, 1), (2, 2);
SELECT tviews.create('tv_dupkey', 'SELECT k AS pk_dupkey, id FROM dup');
UPDATE dup SET k = 1 WHERE id = 2;
SELECT * FROM tv_dupkey ORDER BY 1;

-- A manual refresh (as the owner, restricted) cascades to the TVIEWs that
-- read the one refreshed, at commit.
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t VALUES (1, 1), (2, 2);
SELECT tviews.create('tv_lo', 'SELECT id AS pk_lo, v FROM t');
SELECT tviews.create('tv_hi', 'SELECT pk_lo AS pk_hi, v * 10 AS w FROM tv_lo');
RESET ROLE;
SET pg_tviews.enabled = off;
UPDATE ex.t SET v = 5 WHERE id = 1;
RESET pg_tviews.enabled;
SET ROLE ex_owner;
SELECT tviews.refresh('tv_lo');
SELECT * FROM tv_hi ORDER BY 1;
RESET ROLE;
SET pg_tviews.enabled = off;
UPDATE ex.t SET v = 7 WHERE id = 2;
RESET pg_tviews.enabled;
SET ROLE ex_owner;
SELECT tviews.refresh_keys('tv_lo', '[2]');
SELECT * FROM tviews.verify() WHERE tview IN ('ex.tv_lo', 'ex.tv_hi') ORDER BY 1;

RESET search_path;
RESET ROLE;
SET client_min_messages = warning;
DROP SCHEMA ex CASCADE;
RESET client_min_messages;
DROP ROLE ex_owner;
