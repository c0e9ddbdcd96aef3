-- Run in the restored database, by the same non-superuser: the TVIEWs are
-- registered, equal their queries, and keep being maintained, through
-- every kind of source.
SELECT name, key, level FROM tviews.registry ORDER BY name::text;
SELECT tview, depends_on, mapping FROM tviews.dependencies ORDER BY 1, 2;
SELECT tview, ok FROM tviews.verify() ORDER BY 1;
UPDATE app.users SET name = 'user1-restored' WHERE id = 1;
INSERT INTO app.post VALUES (21, 2, 'after restore');
UPDATE app.post SET title = 'retitled' WHERE id = 3;
DELETE FROM app.tag WHERE post_id = 4;
INSERT INTO app.tag VALUES (21, 'fr', 'nouveau');
BEGIN;
UPDATE app.post SET user_id = 3 WHERE id = 2;
DELETE FROM app.users WHERE id = 5 AND NOT EXISTS (SELECT 1 FROM app.post WHERE user_id = 5);
COMMIT;
SELECT tview, ok FROM tviews.verify() ORDER BY 1;
SELECT * FROM app.tv_post WHERE pk_post IN (1, 2, 3, 21) ORDER BY 1;
SELECT * FROM app.tv_tag WHERE post_id IN (4, 21) ORDER BY 1, 2;
SELECT * FROM app.tv_author ORDER BY 1;
-- Only maintenance writes a restored TVIEW, too.
INSERT INTO app.tv_post VALUES (99, 'forged', 'x');
