-- Run by a non-superuser that owns the database: tables, TVIEWs of each
-- mapping kind (direct, join, composite key, a TVIEW over a TVIEW), and
-- some writes, before pg_dump.
CREATE SCHEMA app;
CREATE TABLE app.users (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE app.post (id int PRIMARY KEY, user_id int REFERENCES app.users, title text);
CREATE TABLE app.tag (post_id int REFERENCES app.post, lang text, label text, PRIMARY KEY (post_id, lang));
INSERT INTO app.users SELECT g, 'user' || g FROM generate_series(1, 5) g;
INSERT INTO app.post SELECT g, 1 + g % 5, 'post' || g FROM generate_series(1, 20) g;
INSERT INTO app.tag SELECT g, 'en', 'label' || g FROM generate_series(1, 10) g;
SELECT tviews.create('app.tv_post',
  'SELECT p.id AS pk_post, p.title, u.name AS author FROM app.post p JOIN app.users u ON u.id = p.user_id');
SELECT tviews.create('app.tv_tag',
  'SELECT t.post_id, t.lang, t.label, p.title FROM app.tag t JOIN app.post p ON p.id = t.post_id',
  '{"key": ["post_id", "lang"]}');
SELECT tviews.create('app.tv_author',
  'SELECT u.id AS pk_author, count(tp.pk_post) AS posts FROM app.users u LEFT JOIN app.tv_post tp ON tp.author = u.name GROUP BY u.id');
UPDATE app.users SET name = 'USER1' WHERE id = 1;
DELETE FROM app.post WHERE id = 20;
SELECT tview, ok FROM tviews.verify() ORDER BY 1;
