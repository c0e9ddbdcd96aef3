CREATE EXTENSION pg_tviews;
-- Used by overhead.sh: tv_post (the read model of bench.sh) over post, and
-- post2, the same table without a TVIEW.
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL);
CREATE TABLE post (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users, title text NOT NULL, score int NOT NULL DEFAULT 0);
INSERT INTO users SELECT g, 'user ' || g, 'u' || g || '@x' FROM generate_series(1, 10000) g;
INSERT INTO post SELECT g, 1 + g % 10000, 'post ' || g, g % 100 FROM generate_series(1, 100000) g;
CREATE TABLE post2 AS SELECT * FROM post; ALTER TABLE post2 ADD PRIMARY KEY (id);
VACUUM ANALYZE;
SELECT tviews.create('tv_post', $$SELECT p.id AS pk_post, p.user_id, jsonb_build_object('id', p.id, 'title', p.title, 'score', p.score, 'author', jsonb_build_object('id', u.id, 'name', u.name, 'email', u.email)) AS data FROM post p JOIN users u ON u.id = p.user_id$$);
CREATE PROCEDURE bump(tbl text, n int, INOUT ms float8 DEFAULT 0) LANGUAGE plpgsql AS $p$
DECLARE t0 timestamptz;
BEGIN
  t0 := clock_timestamp();
  FOR i IN 1..n LOOP
    EXECUTE format('UPDATE %I SET score = score + 1 WHERE id = $1', tbl) USING 1 + (i * 7919) % 100000;
    COMMIT;
  END LOOP;
  ms := extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
END $p$;
