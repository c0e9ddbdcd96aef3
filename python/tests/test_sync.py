"""The blocking API: the same calls without asyncio."""

from __future__ import annotations

import pytest

import tusk


def test_sync_connection(url: str) -> None:
    c = tusk.connect_sync(url)
    assert c.query("SELECT $1::int8 + 1", 1).scalar() == 2
    c.execute("CREATE TABLE t (id int PRIMARY KEY)")
    assert c.executemany("INSERT INTO t VALUES ($1)", [(1,), (2,)]) == 2
    with pytest.raises(ZeroDivisionError):
        with c.transaction() as tx:
            tx.execute("INSERT INTO t VALUES (3)")
            1 / 0
    with c.transaction() as tx:
        tx.execute("INSERT INTO t VALUES (4)")
    assert [r["id"] for r in c.fetch("SELECT id FROM t ORDER BY id")] == [1, 2, 4]
    row = c.fetchrow("SELECT 1 AS a")
    assert row is not None and row["a"] == 1
    assert c.fetchval("SELECT 1 WHERE false") is None
    assert [r[0] for r in c.query("SELECT generate_series(1, 5)").stream(batch=2)] == [1, 2, 3, 4, 5]
    with pytest.raises(tusk.PgRowCountError):
        c.query("SELECT 1 WHERE false").one()
    c.close()


def test_sync_pool(url: str) -> None:
    p = tusk.create_pool_sync(url, max_size=2)
    assert p.query("SELECT 1").one()[0] == 1

    def fn(tx: tusk.SyncTransaction) -> int:
        v = tx.fetchval("SELECT 5")
        assert isinstance(v, int)
        return v

    assert tusk.run_in_transaction_sync(p, fn) == 5
    assert p.close() >= 0
