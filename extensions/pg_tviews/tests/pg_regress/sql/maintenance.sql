-- Every kind of write keeps the TVIEWs equal to their queries at commit.
CREATE SCHEMA maint;
SET search_path = maint, public;
CREATE TABLE org (id int PRIMARY KEY, name text);
CREATE TABLE users (id int PRIMARY KEY, name text, org_id int REFERENCES org ON DELETE SET NULL);
CREATE TABLE post (id bigint PRIMARY KEY, user_id int REFERENCES users ON DELETE CASCADE ON UPDATE CASCADE,
                   title text, score int NOT NULL DEFAULT 0);
CREATE TABLE comment (id int PRIMARY KEY, post_id bigint REFERENCES post ON DELETE CASCADE ON UPDATE CASCADE,
                      body text);
INSERT INTO org VALUES (1, 'acme'), (2, 'initech');
INSERT INTO users VALUES (1, 'ann', 1), (2, 'bob', 1), (3, 'cy', 2);
INSERT INTO post VALUES (10, 1, 'a', 1), (11, 1, 'b', 2), (12, 2, 'c', 3);
INSERT INTO comment VALUES (100, 10, 'x'), (101, 10, 'y'), (102, 12, 'z');

-- A nested JSONB read model: correlated sublinks (direct and join mapped).
SELECT tviews.create('tv_post', $$
  SELECT p.id AS pk_post, p.user_id,
         jsonb_build_object(
           'title', p.title,
           'author', (SELECT jsonb_build_object('name', u.name, 'org', o.name)
                        FROM users u LEFT JOIN org o ON o.id = u.org_id WHERE u.id = p.user_id),
           'comments', (SELECT coalesce(jsonb_agg(c.body ORDER BY c.id), '[]')
                          FROM comment c WHERE c.post_id = p.id)) AS data
  FROM post p $$);
-- An aggregate over left joins.
SELECT tviews.create('tv_user', $$
  SELECT u.id AS pk_user, u.name, count(p.id) AS posts, coalesce(sum(p.score), 0) AS score,
         count(c.id) AS comments
  FROM users u LEFT JOIN post p ON p.user_id = u.id LEFT JOIN comment c ON c.post_id = p.id
  GROUP BY u.id, u.name $$);
-- Two hops from the key.
SELECT tviews.create('tv_org', $$
  SELECT o.id AS pk_org, o.name, count(DISTINCT u.id) AS users, count(p.id) AS posts
  FROM org o LEFT JOIN users u ON u.org_id = o.id LEFT JOIN post p ON p.user_id = u.id
  GROUP BY o.id, o.name $$);
SELECT tview, depends_on, mapping, columns, detail FROM tviews.dependencies ORDER BY tview::text, depends_on::text;

CREATE FUNCTION show() RETURNS TABLE (tview text, ok bool) LANGUAGE sql AS
  $$ SELECT tview, ok FROM tviews.verify() ORDER BY 1 $$;

-- INSERT, UPDATE, DELETE.
INSERT INTO comment VALUES (103, 11, 'w');
UPDATE post SET score = score + 10 WHERE id = 10;
DELETE FROM comment WHERE id = 101;
SELECT * FROM show();
SELECT pk_post, data FROM tv_post ORDER BY 1;
SELECT * FROM tv_user ORDER BY 1;

-- Re-pointing foreign keys: old and new owners both refresh.
UPDATE post SET user_id = 3 WHERE id = 11;
UPDATE comment SET post_id = 12 WHERE id = 100;
UPDATE users SET org_id = 2 WHERE id = 2;
SELECT * FROM show();
SELECT * FROM tv_user ORDER BY 1;
SELECT * FROM tv_org ORDER BY 1;

-- Changing keys, with ON UPDATE CASCADE.
UPDATE post SET id = 20 WHERE id = 10;
UPDATE users SET id = 30 WHERE id = 3;
SELECT * FROM show();
SELECT pk_post, user_id FROM tv_post ORDER BY 1;

-- DELETE with cascades (users -> post -> comment) and SET NULL.
DELETE FROM users WHERE id = 30;
DELETE FROM org WHERE id = 1;
SELECT * FROM show();
SELECT * FROM tv_org ORDER BY 1;
SELECT * FROM tv_user ORDER BY 1;

-- INSERT ... ON CONFLICT, both branches.
INSERT INTO post VALUES (12, 1, 'c2', 5), (13, 2, 'd', 1)
  ON CONFLICT (id) DO UPDATE SET title = excluded.title, score = excluded.score;
INSERT INTO comment VALUES (102, 13, 'moved') ON CONFLICT (id) DO UPDATE SET post_id = excluded.post_id;
SELECT * FROM show();
SELECT pk_post, data FROM tv_post ORDER BY 1;

-- MERGE, COPY.
MERGE INTO post t USING (VALUES (13, 'D'), (14, 'e')) s(id, title) ON t.id = s.id
  WHEN MATCHED THEN UPDATE SET title = s.title
  WHEN NOT MATCHED THEN INSERT VALUES (s.id, 1, s.title, 7);
COPY comment FROM stdin;
104	14	copied
105	14	again
\.
SELECT * FROM show();
SELECT * FROM tv_user ORDER BY 1;

-- A row that does not change is not rewritten.
SELECT tviews.stats_reset();
UPDATE post SET title = title;
SELECT tview, refreshes, keys_refreshed, rows_written, rows_deleted, noop_skipped
  FROM tviews.stats ORDER BY tview::text;

-- TRUNCATE refreshes everything.
TRUNCATE comment;
SELECT * FROM show();
TRUNCATE users CASCADE;
SELECT * FROM show();
SELECT count(*) FROM tv_post;
SELECT * FROM tv_org ORDER BY 1;
SELECT tview, full_refreshes > 0 AS had_full FROM tviews.stats ORDER BY tview::text;
SET client_min_messages = warning;
DROP SCHEMA maint CASCADE;
RESET client_min_messages;
