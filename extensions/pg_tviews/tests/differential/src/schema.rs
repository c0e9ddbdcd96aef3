//! The schemas and TVIEW shapes under test.

/// Base tables in two schemas, with foreign keys that cascade, a table with
/// no foreign key, and text, uuid and composite keys.
pub const TABLES: &str = r#"
CREATE EXTENSION IF NOT EXISTS pg_tviews;
CREATE SCHEMA blog;
CREATE TABLE blog.org (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE blog.users (id int PRIMARY KEY, name text NOT NULL,
  org_id int REFERENCES blog.org ON DELETE SET NULL ON UPDATE CASCADE);
CREATE TABLE blog.post (id int PRIMARY KEY,
  user_id int NOT NULL REFERENCES blog.users ON DELETE CASCADE ON UPDATE CASCADE,
  title text, score int NOT NULL DEFAULT 0);
CREATE TABLE blog.comment (id int PRIMARY KEY,
  post_id int NOT NULL REFERENCES blog.post ON DELETE CASCADE ON UPDATE CASCADE,
  user_id int REFERENCES blog.users ON DELETE SET NULL ON UPDATE CASCADE, body text);
CREATE TABLE blog.reaction (id int PRIMARY KEY, comment_id int, kind text NOT NULL);
CREATE TABLE blog.tag (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE blog.post_tag (post_id int REFERENCES blog.post ON DELETE CASCADE ON UPDATE CASCADE,
  tag_id int REFERENCES blog.tag ON DELETE CASCADE, PRIMARY KEY (post_id, tag_id));
CREATE INDEX ON blog.post (user_id);
CREATE INDEX ON blog.comment (post_id);
CREATE SCHEMA shop;
CREATE TABLE shop.product (sku text PRIMARY KEY, price numeric(10, 2) NOT NULL, active bool NOT NULL DEFAULT true);
CREATE TABLE shop.customer (id uuid PRIMARY KEY, name text);
CREATE TABLE shop.orders (id bigint PRIMARY KEY,
  customer_id uuid REFERENCES shop.customer ON DELETE CASCADE, placed date);
CREATE TABLE shop.line (order_id bigint REFERENCES shop.orders ON DELETE CASCADE ON UPDATE CASCADE,
  no int, sku text REFERENCES shop.product ON UPDATE CASCADE, qty int NOT NULL CHECK (qty > 0),
  PRIMARY KEY (order_id, no));
"#;

/// `(name, query, options)` of each TVIEW, in creation order.
pub const TVIEWS: &[(&str, &str, &str)] = &[
    // An inner join plus a left join.
    (
        "blog.tv_post",
        "SELECT p.id AS pk_post, p.title, p.score, u.name AS author, o.name AS org
         FROM blog.post p JOIN blog.users u ON u.id = p.user_id LEFT JOIN blog.org o ON o.id = u.org_id",
        "{}",
    ),
    // An aggregate over left joins.
    (
        "blog.tv_user",
        "SELECT u.id AS pk_user, u.name, count(DISTINCT p.id) AS posts, coalesce(sum(p.score), 0) AS score,
                count(c.id) AS comments
         FROM blog.users u LEFT JOIN blog.post p ON p.user_id = u.id LEFT JOIN blog.comment c ON c.post_id = p.id
         GROUP BY u.id, u.name",
        "{}",
    ),
    // A nested JSONB read model (correlated sublinks, a table without foreign keys).
    (
        "blog.tv_post_doc",
        "SELECT p.id AS pk_post, p.user_id,
           jsonb_build_object(
             'title', p.title, 'score', p.score,
             'author', (SELECT jsonb_build_object('name', u.name, 'org', o.name)
                          FROM blog.users u LEFT JOIN blog.org o ON o.id = u.org_id WHERE u.id = p.user_id),
             'comments', (SELECT coalesce(jsonb_agg(jsonb_build_object('body', c.body, 'by', cu.name,
                             'reactions', (SELECT count(*) FROM blog.reaction r WHERE r.comment_id = c.id))
                             ORDER BY c.id), '[]')
                          FROM blog.comment c LEFT JOIN blog.users cu ON cu.id = c.user_id WHERE c.post_id = p.id),
             'tags', (SELECT coalesce(jsonb_agg(t.name ORDER BY t.name), '[]')
                      FROM blog.post_tag pt JOIN blog.tag t ON t.id = pt.tag_id WHERE pt.post_id = p.id)
           ) AS doc
         FROM blog.post p",
        r#"{"key": ["pk_post"]}"#,
    ),
    // Two hops from the key.
    (
        "blog.tv_org",
        "SELECT o.id AS pk_org, o.name, count(DISTINCT u.id) AS users, count(DISTINCT p.id) AS posts,
                count(c.id) AS comments
         FROM blog.org o LEFT JOIN blog.users u ON u.org_id = o.id LEFT JOIN blog.post p ON p.user_id = u.id
           LEFT JOIN blog.comment c ON c.post_id = p.id
         GROUP BY o.id, o.name",
        "{}",
    ),
    // Level 1: reads a TVIEW.
    (
        "blog.tv_user_feed",
        "SELECT u.id AS pk_user,
                coalesce(jsonb_agg(d.doc ORDER BY d.pk_post) FILTER (WHERE d.pk_post IS NOT NULL), '[]') AS feed
         FROM blog.users u LEFT JOIN blog.tv_post_doc d ON d.user_id = u.id GROUP BY u.id",
        r#"{"key": ["pk_user"]}"#,
    ),
    // Level 2: reads a level-1 TVIEW.
    (
        "blog.tv_org_feed",
        "SELECT o.id AS pk_org, jsonb_agg(f.feed ORDER BY f.pk_user) AS feeds
         FROM blog.org o JOIN blog.users u ON u.org_id = o.id JOIN blog.tv_user_feed f ON f.pk_user = u.id
         GROUP BY o.id",
        r#"{"key": ["pk_org"]}"#,
    ),
    // A composite key.
    (
        "blog.tv_post_tag",
        "SELECT pt.post_id, pt.tag_id, t.name AS tag, p.title
         FROM blog.post_tag pt JOIN blog.tag t ON t.id = pt.tag_id JOIN blog.post p ON p.id = pt.post_id",
        r#"{"key": ["post_id", "tag_id"]}"#,
    ),
    // An uncorrelated subquery: full refresh for that table.
    (
        "blog.tv_tag",
        "SELECT t.id AS pk_tag, t.name,
                (SELECT count(*) FROM blog.post_tag pt WHERE pt.tag_id = t.id) >=
                coalesce((SELECT avg(n) FROM (SELECT count(*) AS n FROM blog.post_tag GROUP BY tag_id) s), 0)
                  AS popular
         FROM blog.tag t",
        "{}",
    ),
    // Text and uuid keys, numeric sums.
    (
        "shop.tv_order",
        "SELECT o.id AS pk_order, o.customer_id, count(l.no) AS lines,
                coalesce(sum(l.qty * p.price) FILTER (WHERE p.active), 0) AS total
         FROM shop.orders o LEFT JOIN shop.line l ON l.order_id = o.id LEFT JOIN shop.product p ON p.sku = l.sku
         GROUP BY o.id",
        "{}",
    ),
    (
        "shop.tv_customer",
        "SELECT c.id AS pk_customer, c.name, count(o.pk_order) AS orders, coalesce(sum(o.total), 0) AS total
         FROM shop.customer c LEFT JOIN shop.tv_order o ON o.customer_id = c.id GROUP BY c.id, c.name",
        "{}",
    ),
    (
        "shop.tv_sku",
        "SELECT p.sku AS pk_sku, p.price, coalesce(sum(l.qty), 0) AS sold, count(DISTINCT l.order_id) AS orders
         FROM shop.product p LEFT JOIN shop.line l ON l.sku = p.sku GROUP BY p.sku, p.price",
        "{}",
    ),
    // Joins keyed by both sides, neither side holding the whole key: each
    // side maps its rows through the other, which the same transaction
    // may have changed too (deletes, re-pointed user_ids, cascades).
    (
        "blog.tv_post_x_comment",
        "SELECT p.id AS post_id, c.id AS comment_id, p.title, c.body
         FROM blog.post p JOIN blog.comment c ON c.user_id = p.user_id",
        r#"{"key": ["post_id", "comment_id"]}"#,
    ),
    // Three tables, the same pairs through a CTE.
    (
        "blog.tv_post_x_comment3",
        "WITH pc AS (SELECT p.id AS post_id, c.id AS comment_id, u.name, c.body
                     FROM blog.post p JOIN blog.users u ON u.id = p.user_id JOIN blog.comment c ON c.user_id = u.id)
         SELECT post_id, comment_id, name, body FROM pc",
        r#"{"key": ["post_id", "comment_id"]}"#,
    ),
    // A self-join.
    (
        "blog.tv_colleague",
        "SELECT a.id AS a_id, b.id AS b_id, b.name FROM blog.users a JOIN blog.users b ON b.org_id = a.org_id",
        r#"{"key": ["a_id", "b_id"]}"#,
    ),
    // An aggregate over a join whose sides are both grouped away.
    (
        "blog.tv_org_reach",
        "SELECT o.id AS pk_org, count(*) AS pairs, count(DISTINCT c.id) AS comments
         FROM blog.org o JOIN blog.users u ON u.org_id = o.id JOIN blog.post p ON p.user_id = u.id
         JOIN blog.comment c ON c.user_id = p.user_id GROUP BY o.id",
        r#"{"key": "pk_org"}"#,
    ),
    // NOT IN over a nullable column (comment.user_id is SET NULL on delete).
    (
        "blog.tv_silent",
        "SELECT p.id AS pk_post, p.title FROM blog.post p
         WHERE p.user_id NOT IN (SELECT c.user_id FROM blog.comment c)",
        r#"{"key": "pk_post"}"#,
    ),
    // IN over a LIMIT, and a correlated LATERAL LIMIT, and EXISTS.
    (
        "blog.tv_first_commented",
        "SELECT p.id AS pk_post, l.body, EXISTS (SELECT 1 FROM blog.reaction r JOIN blog.comment rc ON rc.id = r.comment_id
                                                 WHERE rc.post_id = p.id) AS reacted
         FROM blog.post p LEFT JOIN LATERAL (SELECT c.body FROM blog.comment c WHERE c.post_id = p.id
                                             ORDER BY c.id DESC LIMIT 1) l ON true
         WHERE p.id IN (SELECT c.post_id FROM blog.comment c ORDER BY c.id LIMIT 5)",
        r#"{"key": "pk_post"}"#,
    ),
    // DISTINCT over a join, NOT EXISTS, HAVING, a window (full refresh)
    // and UNION ALL (full refresh).
    (
        "blog.tv_poster",
        "SELECT DISTINCT u.id AS pk_user, u.name FROM blog.users u JOIN blog.post p ON p.user_id = u.id",
        r#"{"key": "pk_user"}"#,
    ),
    (
        "blog.tv_lonely",
        "SELECT p.id AS pk_post, NOT EXISTS (SELECT 1 FROM blog.comment c WHERE c.post_id = p.id) AS lonely
         FROM blog.post p",
        r#"{"key": "pk_post"}"#,
    ),
    (
        "blog.tv_prolific",
        "SELECT u.id AS pk_user, count(*) FILTER (WHERE p.score > 0) AS good, count(*) AS posts
         FROM blog.users u JOIN blog.post p ON p.user_id = u.id GROUP BY u.id HAVING count(*) > 1",
        r#"{"key": "pk_user"}"#,
    ),
    (
        "blog.tv_rank",
        "SELECT p.id AS pk_post, rank() OVER (PARTITION BY p.user_id ORDER BY p.score, p.id) AS r FROM blog.post p",
        r#"{"key": "pk_post"}"#,
    ),
    (
        "blog.tv_names",
        "SELECT u.id AS pk_name, u.name FROM blog.users u UNION ALL SELECT -o.id, o.name FROM blog.org o",
        r#"{"key": "pk_name"}"#,
    ),
];

/// SQL that creates every TVIEW.
pub fn create_tviews() -> String {
    TVIEWS
        .iter()
        .map(|(name, query, opts)| {
            format!("SELECT tviews.create('{name}', $q${query}$q$, '{opts}');\n",)
        })
        .collect()
}
