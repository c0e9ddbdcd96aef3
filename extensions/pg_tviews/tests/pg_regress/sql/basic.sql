-- Creating, inspecting, refreshing and dropping TVIEWs.
CREATE SCHEMA basic;
SET search_path = basic, public;
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE post (id bigint PRIMARY KEY, user_id int REFERENCES users, title text);
INSERT INTO users VALUES (1, 'ann'), (2, 'bob');
INSERT INTO post VALUES (10, 1, 'hello'), (11, 2, 'world'), (12, 1, 'again');

-- The key defaults to pk_<name without tv_>; rows loaded are returned.
SELECT tviews.create('tv_post',
  'SELECT p.id AS pk_post, p.title, u.name AS author FROM post p JOIN users u ON u.id = p.user_id');
SELECT * FROM tv_post ORDER BY pk_post;
\d tv_post
SELECT name, key, level, base_tables, backing_view::text LIKE 'tviews.q\_%' AS backed FROM tviews.registry;
SELECT tview, depends_on, is_tview, mapping, columns FROM tviews.dependencies ORDER BY depends_on::text;

-- Maintained on commit.
UPDATE users SET name = 'ANN' WHERE id = 1;
INSERT INTO post VALUES (13, 2, 'new');
DELETE FROM post WHERE id = 11;
SELECT * FROM tv_post ORDER BY pk_post;

-- An explicit key, any type, composite.
CREATE TABLE label (post_id bigint, lang text, txt text, PRIMARY KEY (post_id, lang));
INSERT INTO label VALUES (10, 'en', 'Hello'), (10, 'fr', 'Bonjour'), (12, 'en', 'Again');
SELECT tviews.create('basic.tv_label',
  'SELECT l.post_id, l.lang, l.txt, p.title FROM label l JOIN post p ON p.id = l.post_id',
  '{"key": ["post_id", "lang"]}');
UPDATE post SET title = 'HELLO' WHERE id = 10;
UPDATE label SET lang = 'de' WHERE post_id = 10 AND lang = 'fr';
SELECT * FROM tv_label ORDER BY 1, 2;

-- Errors, each leaving nothing behind.
SELECT tviews.create('tv_dup', 'SELECT user_id AS pk_dup, title FROM post');
SELECT tviews.create('tv_null', 'SELECT NULL::int AS pk_null, title FROM post');
SELECT tviews.create('tv_nokey', 'SELECT id, title FROM post');
SELECT tviews.create('tv_bad', 'SELECT id FROM post', '{"key": "id", "color": "blue"}');
SELECT tviews.create('tv_bad', 'SELECT id FROM post', '{"key": []}');
SELECT tviews.create('tv_bad', 'DELETE FROM post');
SELECT tviews.create('tv_bad', 'SELECT 1 AS pk_bad; SELECT 2');
CREATE MATERIALIZED VIEW mv_post AS SELECT id FROM post;
SELECT tviews.create('tv_mv', 'SELECT id AS pk_mv FROM mv_post');
SELECT tviews.create('tv_post', 'SELECT id AS pk_post FROM post');
SELECT count(*) AS tviews FROM tviews.registry;
SELECT to_regclass('tv_dup') IS NULL AS no_table;

-- verify, refresh, refresh_keys.
SELECT * FROM tviews.verify() ORDER BY 1;
SET pg_tviews.enabled = off;
UPDATE post SET title = upper(title);
RESET pg_tviews.enabled;
SELECT * FROM tviews.verify('tv_post');
SELECT tviews.refresh_keys('tv_post', '[10]');
SELECT * FROM tviews.verify('tv_post');
SELECT tviews.refresh('tv_post');
SELECT * FROM tviews.verify() ORDER BY 1;
SELECT tviews.refresh_keys('tv_label', '[[12, "en"], {"post_id": 10, "lang": "en"}]');
SELECT tviews.refresh_keys('tv_label', '[12]');
SELECT tviews.refresh_keys('tv_label', '[[12, null]]');
SELECT tviews.refresh('nope');
SELECT tviews.refresh();

-- Dropping: a function, or a plain DROP TABLE; both clean up.
SELECT tviews.drop('tv_label');
SELECT tgrelid::regclass::text AS tbl, count(*) FROM pg_trigger
 WHERE tgname LIKE 'tviews\_%' AND tgrelid <> 'tviews._pending'::regclass GROUP BY 1 ORDER BY 1;
DROP TABLE tv_post;
SELECT count(*) AS tviews FROM tviews.registry;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgname LIKE 'tviews\_%' AND tgrelid <> 'tviews._pending'::regclass;
SELECT count(*) AS views FROM pg_views WHERE schemaname = 'tviews' AND viewname LIKE 'q\_%';
SELECT tviews.drop('tv_post');
SELECT tviews.drop('tv_post', if_exists => true);
-- The base tables work as before.
UPDATE post SET title = 'x';
-- The owner of a TVIEW may drop it without rights on the tviews catalog;
-- the cleanup functions are not callable directly.
SELECT tviews.create('tv_own', 'SELECT id AS pk_own, title FROM post');
CREATE ROLE tviews_owner;
GRANT USAGE ON SCHEMA basic TO tviews_owner;
ALTER TABLE tv_own OWNER TO tviews_owner;
SET ROLE tviews_owner;
SELECT tviews._forget(0);
DROP TABLE tv_own;
RESET ROLE;
SELECT count(*) AS tviews FROM tviews.registry;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgname LIKE 'tviews\_%' AND tgrelid <> 'tviews._pending'::regclass;
REVOKE USAGE ON SCHEMA basic FROM tviews_owner;
DROP ROLE tviews_owner;
SET client_min_messages = warning;
DROP SCHEMA basic CASCADE;
RESET client_min_messages;
