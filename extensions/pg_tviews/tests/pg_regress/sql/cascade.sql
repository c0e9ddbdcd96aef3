-- TVIEWs over TVIEWs refresh in dependency order, in the same commit.
CREATE SCHEMA casc;
SET search_path = casc, public;
CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE product (sku text PRIMARY KEY, price numeric(10, 2) NOT NULL);
CREATE TABLE orders (id uuid PRIMARY KEY, customer_id int REFERENCES customer ON DELETE CASCADE);
CREATE TABLE line (order_id uuid REFERENCES orders ON DELETE CASCADE, no int, sku text REFERENCES product,
                   qty int NOT NULL, PRIMARY KEY (order_id, no));
INSERT INTO customer VALUES (1, 'ann'), (2, 'bob');
INSERT INTO product VALUES ('A', 10), ('B', 25.5);
INSERT INTO orders VALUES ('00000000-0000-0000-0000-000000000001', 1), ('00000000-0000-0000-0000-000000000002', 2);
INSERT INTO line VALUES ('00000000-0000-0000-0000-000000000001', 1, 'A', 2),
                        ('00000000-0000-0000-0000-000000000001', 2, 'B', 1),
                        ('00000000-0000-0000-0000-000000000002', 1, 'A', 1);
-- Level 0: a uuid key; product prices reach orders through line.
SELECT tviews.create('tv_order', $$
  SELECT o.id AS pk_order, o.customer_id, coalesce(sum(l.qty * p.price), 0) AS total, count(l.no) AS lines
  FROM orders o LEFT JOIN line l ON l.order_id = o.id LEFT JOIN product p ON p.sku = l.sku
  GROUP BY o.id $$);
-- Level 1 reads tv_order.
SELECT tviews.create('tv_customer', $$
  SELECT c.id AS pk_customer, c.name, count(o.pk_order) AS orders, coalesce(sum(o.total), 0) AS total
  FROM customer c LEFT JOIN tv_order o ON o.customer_id = c.id GROUP BY c.id, c.name $$);
-- Level 2 reads tv_customer; a text key.
SELECT tviews.create('tv_vip', $$
  SELECT name AS pk_vip, total FROM tv_customer WHERE total > 30 $$);
SELECT name, level, base_tables FROM tviews.registry ORDER BY level;
SELECT tview, depends_on, is_tview, mapping, columns FROM tviews.dependencies
  ORDER BY tview::text, depends_on::text;
SELECT * FROM tv_vip;

-- A price change reaches all three levels in one commit.
UPDATE product SET price = 30 WHERE sku = 'A';
SELECT pk_order, total FROM tv_order ORDER BY 1;
SELECT * FROM tv_customer ORDER BY 1;
SELECT * FROM tv_vip ORDER BY 1;
SELECT tview, ok FROM tviews.verify();

-- Re-pointing an order, deleting a customer (cascading to orders and lines).
UPDATE orders SET customer_id = 1 WHERE id = '00000000-0000-0000-0000-000000000002';
SELECT * FROM tv_customer ORDER BY 1;
DELETE FROM customer WHERE id = 1;
SELECT count(*) AS orders FROM tv_order;
SELECT * FROM tv_customer ORDER BY 1;
SELECT * FROM tv_vip ORDER BY 1;
SELECT tview, ok FROM tviews.verify();

-- Tables without a key path are refreshed whole: LIMIT at the top, an
-- uncorrelated subquery.
CREATE TABLE setting (k text PRIMARY KEY, v numeric);
INSERT INTO setting VALUES ('vat', 0.2);
SELECT tviews.create('tv_price', $$
  SELECT p.sku AS pk_price, p.price * (1 + (SELECT v FROM setting WHERE k = 'vat')) AS gross
  FROM product p $$);
SELECT tviews.create('tv_cheapest', $$
  SELECT sku AS pk_cheapest, price FROM product ORDER BY price, sku LIMIT 1 $$);
SELECT tview, depends_on, mapping, detail FROM tviews.dependencies
  WHERE tview IN ('tv_price'::regclass, 'tv_cheapest'::regclass) ORDER BY tview::text, depends_on::text;
SELECT tviews.stats_reset();
UPDATE setting SET v = 0.1;
INSERT INTO product VALUES ('C', 1);
SELECT * FROM tv_price ORDER BY 1;
SELECT * FROM tv_cheapest;
SELECT tview, full_refreshes FROM tviews.stats
  WHERE tview IN ('tv_price'::regclass, 'tv_cheapest'::regclass) ORDER BY tview::text;
SELECT tview, ok FROM tviews.verify() ORDER BY 1;

-- A TVIEW that others read is dropped with them, or not at all.
SELECT tviews.drop('tv_order');
\set VERBOSITY terse
DROP TABLE tv_order;
\set VERBOSITY default
SELECT tviews.drop('tv_customer', cascade => true);
SELECT name FROM tviews.registry ORDER BY name::text;
-- DROP TABLE ... CASCADE of a base table drops the TVIEWs that read it.
SET client_min_messages = warning;
DROP TABLE product CASCADE;
RESET client_min_messages;
SELECT name FROM tviews.registry ORDER BY name::text;
SET client_min_messages = warning;
DROP SCHEMA casc CASCADE;
RESET client_min_messages;
