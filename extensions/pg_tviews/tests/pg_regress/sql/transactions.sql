-- Once per transaction, at COMMIT or PREPARE TRANSACTION, never stale.
CREATE SCHEMA tx;
SET search_path = tx, public;
CREATE TABLE item (id int PRIMARY KEY, grp int NOT NULL, qty int NOT NULL);
INSERT INTO item SELECT g, g % 10, 1 FROM generate_series(1, 2000) g;
SELECT tviews.create('tv_item', 'SELECT id AS pk_item, grp, qty FROM item');
SELECT tviews.create('tv_grp', 'SELECT grp AS pk_grp, sum(qty) AS qty, count(*) AS n FROM item GROUP BY grp');
CREATE FUNCTION ok() RETURNS bool LANGUAGE sql AS $$ SELECT bool_and(ok) FROM tviews.verify() $$;

-- Inside the transaction the TVIEW still shows the old rows; at COMMIT it
-- is refreshed.
BEGIN;
UPDATE item SET qty = 5 WHERE id = 1;
SELECT qty FROM tv_item WHERE pk_item = 1;
COMMIT;
SELECT qty FROM tv_item WHERE pk_item = 1;

-- SET CONSTRAINTS ... IMMEDIATE applies pending work now (read your writes).
BEGIN;
UPDATE item SET qty = 6 WHERE id = 1;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT qty FROM tv_item WHERE pk_item = 1;
SELECT ok();
-- Still immediate: each statement's changes are applied at its end.
UPDATE item SET qty = 7 WHERE id = 1;
SELECT qty FROM tv_item WHERE pk_item = 1;
SET CONSTRAINTS ALL DEFERRED;
UPDATE item SET qty = 8 WHERE id = 1;
SELECT qty FROM tv_item WHERE pk_item = 1;
COMMIT;
SELECT qty FROM tv_item WHERE pk_item = 1;

-- 100 updates of one row in a transaction: one refresh of one key.
SELECT tviews.stats_reset();
BEGIN;
DO $$ BEGIN FOR i IN 1..100 LOOP UPDATE item SET qty = qty + 1 WHERE id = 2; END LOOP; END $$;
COMMIT;
SELECT tview, refreshes, keys_refreshed, rows_written, rows_deleted FROM tviews.stats ORDER BY tview::text;
SELECT qty FROM tv_item WHERE pk_item = 2;

-- A 1,000-row UPDATE is refreshed with the same single statement as a
-- 1-row one (keys locks are function calls, not statements).
SELECT tviews.stats_reset();
UPDATE item SET qty = qty + 1 WHERE id = 3;
SELECT tview, refreshes, keys_refreshed, statements AS statements_1 FROM tviews.stats ORDER BY tview::text;
SELECT tviews.stats_reset();
UPDATE item SET qty = qty + 1 WHERE id <= 1000;
SELECT tview, refreshes, keys_refreshed, statements AS statements_1000 FROM tviews.stats ORDER BY tview::text;
SELECT ok();

-- ROLLBACK leaves nothing behind, and so does ROLLBACK TO SAVEPOINT.
BEGIN;
UPDATE item SET qty = 0;
ROLLBACK;
SELECT ok(), sum(qty) = (SELECT sum(qty) FROM item) AS same FROM tv_item;
BEGIN;
SAVEPOINT a;
UPDATE item SET qty = 100 WHERE id = 4;
ROLLBACK TO SAVEPOINT a;
UPDATE item SET qty = 200 WHERE id = 5;
SAVEPOINT b;
UPDATE item SET qty = 300 WHERE id = 6;
RELEASE SAVEPOINT b;
SAVEPOINT c;
INSERT INTO item VALUES (1, 1, 1);
ROLLBACK TO SAVEPOINT c;
COMMIT;
SELECT pk_item, qty FROM tv_item WHERE pk_item IN (4, 5, 6) ORDER BY 1;
SELECT ok();
-- The first change inside a savepoint that rolls back, the next one after it.
BEGIN;
SAVEPOINT a;
UPDATE item SET qty = 400 WHERE id = 7;
ROLLBACK TO SAVEPOINT a;
UPDATE item SET qty = 500 WHERE id = 8;
COMMIT;
SELECT pk_item, qty FROM tv_item WHERE pk_item IN (7, 8) ORDER BY 1;
SELECT ok();

-- A flush inside a savepoint that rolls back: its refresh is undone, so the
-- change made before the savepoint is applied again at commit, and the
-- change made inside it is gone.
BEGIN;
UPDATE item SET qty = 600 WHERE id = 14;
SAVEPOINT a;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT qty FROM tv_item WHERE pk_item = 14;
UPDATE item SET qty = 700 WHERE id = 15;
SELECT qty FROM tv_item WHERE pk_item = 15;
ROLLBACK TO SAVEPOINT a;
SELECT pk_item, qty FROM tv_item WHERE pk_item IN (14, 15) ORDER BY 1;
COMMIT;
SELECT pk_item, qty FROM tv_item WHERE pk_item IN (14, 15) ORDER BY 1;
SELECT ok();
-- The same with a savepoint released in between.
BEGIN;
UPDATE item SET qty = 800 WHERE id = 16;
SAVEPOINT a;
SAVEPOINT b;
SET CONSTRAINTS ALL IMMEDIATE;
RELEASE SAVEPOINT b;
ROLLBACK TO SAVEPOINT a;
COMMIT;
SELECT pk_item, qty FROM tv_item WHERE pk_item = 16;
SELECT ok();

-- Two-phase commit: refreshed at PREPARE, visible after COMMIT PREPARED.
BEGIN;
UPDATE item SET qty = 42 WHERE id = 9;
PREPARE TRANSACTION 'tviews_2pc_1';
SELECT qty FROM tv_item WHERE pk_item = 9;
COMMIT PREPARED 'tviews_2pc_1';
SELECT qty FROM tv_item WHERE pk_item = 9;
BEGIN;
UPDATE item SET qty = 43 WHERE id = 9;
PREPARE TRANSACTION 'tviews_2pc_2';
ROLLBACK PREPARED 'tviews_2pc_2';
SELECT qty FROM tv_item WHERE pk_item = 9;
SELECT ok();

-- A refresh error aborts the writer's transaction: no stale TVIEW.
CREATE TABLE tiny (k int PRIMARY KEY, v int);
INSERT INTO tiny VALUES (1, 1), (2, 2);
SELECT tviews.create('tv_tiny', 'SELECT v AS pk_tiny, k FROM tiny');
UPDATE tiny SET v = 1 WHERE k = 2;
SELECT * FROM tiny ORDER BY k;
SELECT * FROM tv_tiny ORDER BY 1;
SELECT tview, errors, last_error FROM tviews.stats WHERE tview = 'tv_tiny'::regclass;
SELECT ok();

-- Deferred trigger order: the flush sees changes made by other deferred
-- triggers that fire before it.
CREATE TABLE audit (id int);
CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN UPDATE item SET qty = qty + 1000 WHERE id = 10; RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER a_bump AFTER INSERT ON audit DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION bump();
BEGIN;
INSERT INTO audit VALUES (1);
UPDATE item SET qty = 1 WHERE id = 11;
COMMIT;
SELECT pk_item, qty FROM tv_item WHERE pk_item IN (10, 11) ORDER BY 1;
SELECT ok();

-- REPEATABLE READ and SERIALIZABLE writers on their own.
BEGIN ISOLATION LEVEL REPEATABLE READ;
UPDATE item SET grp = 3 WHERE id = 12;
COMMIT;
BEGIN ISOLATION LEVEL SERIALIZABLE;
DELETE FROM item WHERE id = 13;
COMMIT;
SELECT ok();
SET client_min_messages = warning;
DROP SCHEMA tx CASCADE;
RESET client_min_messages;
