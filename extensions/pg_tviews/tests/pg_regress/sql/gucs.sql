-- Settings.
CREATE SCHEMA gucs;
SET search_path = gucs, public;
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t SELECT g, 0 FROM generate_series(1, 100) g;
SELECT tviews.create('tv_t', 'SELECT id AS pk_t, v FROM t');

-- max_queue_size: past it, a transaction refreshes the TVIEW whole.
SET pg_tviews.max_queue_size = 10;
SELECT tviews.stats_reset();
UPDATE t SET v = 1 WHERE id <= 5;
UPDATE t SET v = 2 WHERE id <= 50;
SELECT refreshes, keys_refreshed, full_refreshes FROM tviews.stats;
RESET pg_tviews.max_queue_size;
SELECT ok FROM tviews.verify('tv_t');

-- max_key_locks: past it, coarse stripe locks instead.
SET pg_tviews.max_key_locks = 0;
UPDATE t SET v = 3 WHERE id = 1;
RESET pg_tviews.max_key_locks;
SELECT ok FROM tviews.verify('tv_t');

-- enabled: off means not maintained (superuser only).
SET pg_tviews.enabled = off;
UPDATE t SET v = 4;
SELECT ok FROM tviews.verify('tv_t');
RESET pg_tviews.enabled;
SELECT tviews.refresh('tv_t');
SELECT ok FROM tviews.verify('tv_t');
CREATE ROLE tviews_nobody;
SET ROLE tviews_nobody;
SET pg_tviews.enabled = off;
RESET ROLE;
DROP ROLE tviews_nobody;

-- max_propagation_depth: a trigger on a TVIEW that writes a table it reads
-- would loop; the commit fails instead. (Maintenance runs with the
-- search_path pg_catalog, pg_temp: a trigger on a TVIEW qualifies names.)
CREATE FUNCTION feedback() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN UPDATE gucs.t SET v = v + 1 WHERE id = NEW.pk_t; RETURN NULL; END $$;
CREATE TRIGGER feedback AFTER INSERT ON tv_t FOR EACH ROW EXECUTE FUNCTION feedback();
SET pg_tviews.max_propagation_depth = 3;
UPDATE t SET v = 0 WHERE id = 1;
SELECT v FROM t WHERE id = 1;
DROP TRIGGER feedback ON tv_t;
RESET pg_tviews.max_propagation_depth;
SELECT ok FROM tviews.verify('tv_t');
SET client_min_messages = warning;
DROP SCHEMA gucs CASCADE;
RESET client_min_messages;
