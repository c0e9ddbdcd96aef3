//! Random statements and transactions over the schemas in `schema.rs`.
//! Ids come from small ranges, so writes collide: duplicate keys, missing
//! foreign keys and check violations happen, inside savepoints or not.

use crate::rng::Rng;

/// One generated transaction.
pub struct Txn {
    /// Its shape, for the summary.
    pub kind: &'static str,
    /// The SQL, run through psql.
    pub sql: String,
}

/// The generator.
pub struct Gen {
    rng: Rng,
    gid: u64,
}

/// A statement with its terminator (COPY data ends with its own marker).
fn terminated(st: &str) -> String {
    if st.starts_with("COPY") {
        format!("{st}\n")
    } else {
        format!("{st};\n")
    }
}

fn uuid(n: i64) -> String {
    format!("'00000000-0000-0000-0000-{n:012}'")
}

impl Gen {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Gen {
            rng: Rng::new(seed),
            gid: 0,
        }
    }

    /// Initial rows, loaded before the TVIEWs are created.
    pub fn initial_data() -> String {
        let mut s = String::new();
        s.push_str("INSERT INTO blog.org SELECT g, 'org' || g FROM generate_series(1, 4) g;\n");
        s.push_str("INSERT INTO blog.users SELECT g, 'user' || g, CASE WHEN g % 5 = 0 THEN NULL ELSE 1 + g % 4 END FROM generate_series(1, 15) g;\n");
        s.push_str("INSERT INTO blog.post SELECT g, 1 + g % 15, 'title' || g, g % 7 FROM generate_series(1, 40) g;\n");
        s.push_str("INSERT INTO blog.comment SELECT g, 1 + g % 40, CASE WHEN g % 6 = 0 THEN NULL ELSE 1 + g % 15 END, 'body' || g FROM generate_series(1, 80) g;\n");
        s.push_str("INSERT INTO blog.reaction SELECT g, 1 + g % 90, CASE WHEN g % 2 = 0 THEN 'like' ELSE 'wow' END FROM generate_series(1, 60) g;\n");
        s.push_str("INSERT INTO blog.tag SELECT g, 'tag' || g FROM generate_series(1, 6) g;\n");
        s.push_str("INSERT INTO blog.post_tag SELECT p, t FROM generate_series(1, 40) p, generate_series(1, 6) t WHERE (p + t) % 4 = 0;\n");
        s.push_str("INSERT INTO shop.product SELECT 'P' || g, g * 1.25, g % 5 <> 0 FROM generate_series(1, 8) g;\n");
        s.push_str("INSERT INTO shop.customer SELECT ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid, 'cust' || g FROM generate_series(1, 10) g;\n");
        s.push_str("INSERT INTO shop.orders SELECT g, ('00000000-0000-0000-0000-' || lpad((1 + g % 10)::text, 12, '0'))::uuid, date '2024-01-01' + g FROM generate_series(1, 25) g;\n");
        s.push_str("INSERT INTO shop.line SELECT o, n, 'P' || (1 + (o * n) % 8), 1 + (o + n) % 4 FROM generate_series(1, 25) o, generate_series(1, 3) n WHERE (o + n) % 3 <> 0;\n");
        s
    }

    fn n(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.range(lo, hi)
    }

    /// One random statement.
    pub fn statement(&mut self) -> String {
        let r = self.n(0, 99);
        match r {
            0..=3 => self.org(),
            4..=12 => self.users(),
            13..=28 => self.post(),
            29..=43 => self.comment(),
            44..=49 => self.reaction(),
            50..=57 => self.tags(),
            58..=63 => self.bulk(),
            64 => self.truncate(),
            65 => "SELECT 1/0".into(),
            66..=72 => self.product(),
            73..=77 => self.customer(),
            78..=86 => self.orders(),
            _ => self.line(),
        }
    }

    fn org(&mut self) -> String {
        let id = self.n(1, 6);
        match self.n(0, 3) {
            0 => format!("INSERT INTO blog.org VALUES ({id}, 'org{id}')"),
            1 => format!("UPDATE blog.org SET name = name || '+' WHERE id = {id}"),
            2 => format!("UPDATE blog.org SET id = {} WHERE id = {id}", self.n(1, 8)),
            _ => format!("DELETE FROM blog.org WHERE id = {id}"),
        }
    }

    fn users(&mut self) -> String {
        let id = self.n(1, 22);
        let org = if self.rng.chance(15) {
            "NULL".into()
        } else {
            self.n(1, 6).to_string()
        };
        match self.n(0, 5) {
            0 | 1 => format!("INSERT INTO blog.users VALUES ({id}, 'user{id}', {org})"),
            2 => format!("UPDATE blog.users SET name = name || '+' WHERE id = {id}"),
            3 => format!("UPDATE blog.users SET org_id = {org} WHERE id = {id}"),
            4 => format!(
                "UPDATE blog.users SET id = {} WHERE id = {id}",
                self.n(1, 25)
            ),
            _ => format!("DELETE FROM blog.users WHERE id = {id}"),
        }
    }

    fn post(&mut self) -> String {
        let id = self.n(1, 55);
        let user = self.n(1, 22);
        let score = self.n(-3, 9);
        match self.n(0, 7) {
            0 | 1 => format!("INSERT INTO blog.post VALUES ({id}, {user}, 'title{id}', {score})"),
            2 => format!("UPDATE blog.post SET title = title || '+', score = score + {score} WHERE id = {id}"),
            3 => format!("UPDATE blog.post SET user_id = {user} WHERE id = {id}"),
            4 => format!("UPDATE blog.post SET id = {} WHERE id = {id}", self.n(1, 60)),
            5 => format!("DELETE FROM blog.post WHERE id = {id}"),
            6 => format!(
                "INSERT INTO blog.post VALUES ({id}, {user}, 'upsert{id}', {score}) ON CONFLICT (id) DO UPDATE \
                 SET score = blog.post.score + excluded.score, user_id = excluded.user_id"
            ),
            _ => format!("INSERT INTO blog.post VALUES ({id}, {user}, 'skip', 0) ON CONFLICT DO NOTHING"),
        }
    }

    fn comment(&mut self) -> String {
        let id = self.n(1, 110);
        let post = self.n(1, 55);
        let user = if self.rng.chance(20) {
            "NULL".into()
        } else {
            self.n(1, 22).to_string()
        };
        match self.n(0, 5) {
            0 | 1 => format!("INSERT INTO blog.comment VALUES ({id}, {post}, {user}, 'body{id}')"),
            2 => format!("UPDATE blog.comment SET body = body || '+' WHERE id = {id}"),
            3 => format!("UPDATE blog.comment SET post_id = {post} WHERE id = {id}"),
            4 => format!("UPDATE blog.comment SET user_id = {user} WHERE id = {id}"),
            _ => format!("DELETE FROM blog.comment WHERE id = {id}"),
        }
    }

    fn reaction(&mut self) -> String {
        let id = self.n(1, 90);
        let c = self.n(1, 120);
        match self.n(0, 3) {
            0 => format!("INSERT INTO blog.reaction VALUES ({id}, {c}, 'like')"),
            1 => format!("UPDATE blog.reaction SET comment_id = {c} WHERE id = {id}"),
            2 => format!(
                "COPY blog.reaction FROM stdin;\n{id}\t{c}\twow\n{}\t{c}\tlike\n\\.",
                id + 100
            ),
            _ => format!("DELETE FROM blog.reaction WHERE id = {id}"),
        }
    }

    fn tags(&mut self) -> String {
        let post = self.n(1, 55);
        let tag = self.n(1, 8);
        match self.n(0, 5) {
            0 => format!("INSERT INTO blog.tag VALUES ({tag}, 'tag{tag}')"),
            1 => format!("UPDATE blog.tag SET name = name || '+' WHERE id = {tag}"),
            2 => format!("DELETE FROM blog.tag WHERE id = {tag}"),
            3 => format!("INSERT INTO blog.post_tag VALUES ({post}, {tag})"),
            4 => format!(
                "UPDATE blog.post_tag SET tag_id = {} WHERE post_id = {post} AND tag_id = {tag}",
                self.n(1, 8)
            ),
            _ => format!("DELETE FROM blog.post_tag WHERE post_id = {post}"),
        }
    }

    fn bulk(&mut self) -> String {
        let k = self.n(3, 9);
        let r = self.n(0, k - 1);
        match self.n(0, 4) {
            0 => format!("UPDATE blog.post SET score = score + 1 WHERE id % {k} = {r}"),
            1 => format!("DELETE FROM blog.comment WHERE id % {k} = {r}"),
            2 => format!(
                "UPDATE blog.comment SET post_id = 1 + (post_id + {r}) % 40 WHERE id % {k} = {r}"
            ),
            3 => format!("UPDATE shop.line SET qty = qty + 1 WHERE order_id % {k} = {r}"),
            _ => format!("UPDATE blog.users SET org_id = 1 + (id + {r}) % 4 WHERE id % {k} = {r}"),
        }
    }

    fn truncate(&mut self) -> String {
        (*self.rng.pick(&[
            "TRUNCATE blog.reaction",
            "TRUNCATE blog.post_tag",
            "TRUNCATE blog.comment",
            "TRUNCATE shop.line",
            "TRUNCATE blog.users CASCADE",
        ]))
        .to_owned()
    }

    fn product(&mut self) -> String {
        let sku = self.n(1, 12);
        match self.n(0, 5) {
            0 => format!("INSERT INTO shop.product VALUES ('P{sku}', {}.5)", self.n(1, 30)),
            1 => format!("UPDATE shop.product SET price = price + 1 WHERE sku = 'P{sku}'"),
            2 => format!("UPDATE shop.product SET active = NOT active WHERE sku = 'P{sku}'"),
            3 => format!("UPDATE shop.product SET sku = 'P{}' WHERE sku = 'P{sku}'", self.n(1, 14)),
            4 => format!(
                "MERGE INTO shop.product t USING (VALUES ('P{sku}', {}.25)) s(sku, price) ON t.sku = s.sku \
                 WHEN MATCHED THEN UPDATE SET price = s.price WHEN NOT MATCHED THEN INSERT VALUES (s.sku, s.price)",
                self.n(1, 20)
            ),
            _ => format!("DELETE FROM shop.product WHERE sku = 'P{sku}'"),
        }
    }

    fn customer(&mut self) -> String {
        let id = self.n(1, 14);
        match self.n(0, 2) {
            0 => format!(
                "INSERT INTO shop.customer VALUES ({}, 'cust{id}')",
                uuid(id)
            ),
            1 => format!(
                "UPDATE shop.customer SET name = name || '+' WHERE id = {}",
                uuid(id)
            ),
            _ => format!("DELETE FROM shop.customer WHERE id = {}", uuid(id)),
        }
    }

    fn orders(&mut self) -> String {
        let id = self.n(1, 35);
        let c = uuid(self.n(1, 14));
        match self.n(0, 3) {
            0 => format!("INSERT INTO shop.orders VALUES ({id}, {c}, date '2024-03-01')"),
            1 => format!("UPDATE shop.orders SET customer_id = {c} WHERE id = {id}"),
            2 => format!(
                "UPDATE shop.orders SET id = {} WHERE id = {id}",
                self.n(1, 40)
            ),
            _ => format!("DELETE FROM shop.orders WHERE id = {id}"),
        }
    }

    fn line(&mut self) -> String {
        let o = self.n(1, 35);
        let no = self.n(1, 4);
        let sku = self.n(1, 12);
        match self.n(0, 4) {
            0 | 1 => format!(
                "INSERT INTO shop.line VALUES ({o}, {no}, 'P{sku}', {})",
                self.n(1, 5)
            ),
            2 => format!(
                "UPDATE shop.line SET qty = {} WHERE order_id = {o} AND no = {no}",
                self.n(0, 6)
            ),
            3 => format!("UPDATE shop.line SET sku = 'P{sku}' WHERE order_id = {o}"),
            _ => format!("DELETE FROM shop.line WHERE order_id = {o} AND no = {no}"),
        }
    }

    /// Statements, some inside savepoints that are released or rolled back.
    fn body(&mut self, out: &mut String) {
        let n = self.n(1, 6);
        for i in 0..n {
            let st = self.statement();
            if self.rng.chance(75) {
                let rollback = self.rng.chance(25);
                out.push_str(&format!("SAVEPOINT s{i};\n{}", terminated(&st)));
                if rollback {
                    out.push_str(&format!("ROLLBACK TO SAVEPOINT s{i};\n"));
                } else {
                    // Keep the work unless the statement failed (psql's :ERROR).
                    out.push_str(&format!(
                        "\\if :ERROR\nROLLBACK TO SAVEPOINT s{i};\n\\else\nRELEASE SAVEPOINT s{i};\n\\endif\n"
                    ));
                }
            } else {
                out.push_str(&terminated(&st));
            }
        }
    }

    /// One random transaction.
    pub fn transaction(&mut self) -> Txn {
        let mut sql = String::new();
        let iso = *self.rng.pick(&[
            "",
            "",
            "",
            " ISOLATION LEVEL REPEATABLE READ",
            " ISOLATION LEVEL SERIALIZABLE",
        ]);
        let shape = self.n(0, 99);
        let kind = match shape {
            0..=7 => {
                // A flush inside a savepoint that is then rolled back or released.
                sql.push_str(&format!("BEGIN{iso};\n"));
                self.body(&mut sql);
                sql.push_str("SAVEPOINT sf;\nSET CONSTRAINTS ALL IMMEDIATE;\n");
                self.body(&mut sql);
                if self.rng.chance(60) {
                    sql.push_str("ROLLBACK TO SAVEPOINT sf;\n");
                } else {
                    sql.push_str("\\if :ERROR\nROLLBACK TO SAVEPOINT sf;\n\\else\nRELEASE SAVEPOINT sf;\n\\endif\n");
                }
                self.body(&mut sql);
                sql.push_str("COMMIT;\n");
                "savepoint-flush"
            }
            8..=59 => {
                sql.push_str(&format!("BEGIN{iso};\n"));
                self.body(&mut sql);
                sql.push_str("COMMIT;\n");
                "commit"
            }
            60..=69 => {
                sql.push_str(&format!("BEGIN{iso};\n"));
                self.body(&mut sql);
                sql.push_str("ROLLBACK;\n");
                "rollback"
            }
            70..=79 => {
                self.gid += 1;
                let gid = format!("tviews_diff_{}", self.gid);
                sql.push_str(&format!("BEGIN{iso};\n"));
                self.body(&mut sql);
                sql.push_str(&format!("PREPARE TRANSACTION '{gid}';\n"));
                if self.rng.chance(75) {
                    sql.push_str(&format!("COMMIT PREPARED '{gid}';\n"));
                } else {
                    sql.push_str(&format!("ROLLBACK PREPARED '{gid}';\n"));
                }
                "2pc"
            }
            80..=89 => {
                // Flush mid-transaction, check, then go on.
                sql.push_str(&format!("BEGIN{iso};\n"));
                self.body(&mut sql);
                sql.push_str("SET CONSTRAINTS ALL IMMEDIATE;\n");
                sql.push_str(crate::CHECK);
                sql.push_str("SET CONSTRAINTS ALL DEFERRED;\n");
                self.body(&mut sql);
                sql.push_str("COMMIT;\n");
                "mid-flush"
            }
            _ => {
                let st = self.statement();
                sql.push_str(&terminated(&st));
                "autocommit"
            }
        };
        Txn { kind, sql }
    }
}
