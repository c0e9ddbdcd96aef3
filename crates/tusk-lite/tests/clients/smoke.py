"""psycopg 3 against tusk-lite: connect, CREATE, CRUD with parameters, a
prepared statement, a transaction, an error carrying its SQLSTATE. Run by
crates/tusk-lite/tests/drivers.rs with PGPORT set."""
import os

import psycopg

with psycopg.connect(host="127.0.0.1", port=int(os.environ["PGPORT"]), user="app", dbname="app") as c:
    c.autocommit = True
    c.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int)")
    c.execute("INSERT INTO items VALUES (%s, %s, %s), (%s, %s, %s)", (1, "a", 10, 2, "b", 20))
    c.execute("UPDATE items SET qty = qty + %s WHERE id = %s", (5, 1))
    c.execute("DELETE FROM items WHERE id = %s", (2,))
    # prepare=True: a named server-side prepared statement, used twice.
    assert c.execute("SELECT name, qty FROM items WHERE id = %s", (1,), prepare=True).fetchall() == [("a", 15)]
    assert c.execute("SELECT name, qty FROM items WHERE id = %s", (2,), prepare=True).fetchall() == []
    try:
        with c.transaction():
            c.execute("INSERT INTO items VALUES (%s, %s, %s)", (3, "c", 30))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with c.transaction():
        c.execute("INSERT INTO items VALUES (%s, %s, %s)", (4, "d", 40))
    assert [r[0] for r in c.execute("SELECT id FROM items ORDER BY id")] == [1, 4]
    try:
        c.execute("INSERT INTO items VALUES (%s, %s, %s)", (1, "dup", 0))
        raise AssertionError("a duplicate key must fail")
    except psycopg.errors.UniqueViolation as e:
        assert e.sqlstate == "23505", e.sqlstate
        assert e.diag.constraint_name == "items_pkey", e.diag.constraint_name
print("psycopg ok")
