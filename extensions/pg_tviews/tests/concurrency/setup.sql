-- Schema for the pgbench concurrency run (ci.sh suite "concurrent").
CREATE EXTENSION IF NOT EXISTS pg_tviews;
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE post (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users, score int NOT NULL DEFAULT 0);
CREATE TABLE comment (id bigserial PRIMARY KEY, post_id int NOT NULL REFERENCES post ON DELETE CASCADE, body text);
CREATE INDEX ON post (user_id);
CREATE INDEX ON comment (post_id);
INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 20) g;
INSERT INTO post SELECT g, 1 + g % 20, 0 FROM generate_series(1, 50) g;
INSERT INTO comment (post_id, body) SELECT 1 + g % 50, 'c' FROM generate_series(1, 200) g;
SELECT tviews.create('tv_post', $$
  SELECT p.id AS pk_post, p.user_id, p.score,
         (SELECT u.name FROM users u WHERE u.id = p.user_id) AS author,
         (SELECT count(*) FROM comment c WHERE c.post_id = p.id) AS comments
  FROM post p $$);
SELECT tviews.create('tv_user', $$
  SELECT u.id AS pk_user, u.name, count(DISTINCT p.id) AS posts, count(c.id) AS comments
  FROM users u LEFT JOIN post p ON p.user_id = u.id LEFT JOIN comment c ON c.post_id = p.id
  GROUP BY u.id, u.name $$);
SELECT tviews.create('tv_user_feed', $$
  SELECT u.id AS pk_user, coalesce(sum(t.comments), 0) AS comments, count(t.pk_post) AS posts
  FROM users u LEFT JOIN tv_post t ON t.user_id = u.id GROUP BY u.id $$, '{"key": ["pk_user"]}');
-- A join with no foreign key: replies reach tv_owner only through topic,
-- and topic rows reach tv_reply only through reply. Topics come and go
-- while replies to them are added, so one writer's row is often invisible
-- to the other's mapping; only the join-value locks serialize them.
CREATE TABLE topic (id int PRIMARY KEY, owner int NOT NULL);
CREATE TABLE reply (id bigserial PRIMARY KEY, topic_id int NOT NULL);
CREATE INDEX ON topic (owner);
CREATE INDEX ON reply (topic_id);
INSERT INTO topic SELECT g, 1 + g % 5 FROM generate_series(1, 10) g;
SELECT tviews.create('tv_owner', $$
  SELECT t.owner AS pk_owner, count(DISTINCT t.id) AS topics, count(r.id) AS replies
  FROM topic t LEFT JOIN reply r ON r.topic_id = t.id GROUP BY t.owner $$);
SELECT tviews.create('tv_reply', $$
  SELECT r.id AS pk_reply, t.owner FROM reply r JOIN topic t ON t.id = r.topic_id $$);
-- The writers (pgbench) run as a role with nothing but DML on the base
-- tables: maintenance runs as the TVIEWs' owner, who ran this script.
GRANT SELECT, INSERT, UPDATE, DELETE ON users, post, comment, topic, reply TO tviews_conc_writer;
GRANT USAGE ON SEQUENCE comment_id_seq, reply_id_seq TO tviews_conc_writer;
