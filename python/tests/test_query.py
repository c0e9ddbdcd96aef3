"""Queries: results, records, aliases, execute and executemany."""

from __future__ import annotations

import asyncio

import pytest

import tusk


async def test_all_returns_records(conn: tusk.Connection) -> None:
    rows = await conn.query("SELECT g AS n, 'x' || g AS s FROM generate_series(1, 3) g").all()
    assert [r["n"] for r in rows] == [1, 2, 3]
    assert rows[1][1] == "x2"
    assert rows[2][-1] == "x3"
    assert rows[0].keys() == ["n", "s"]
    assert dict(rows[0]) == {"n": 1, "s": "x1"}
    assert list(rows[0]) == [1, "x1"]
    assert rows[0].items() == [("n", 1), ("s", "x1")]
    assert rows[0] == (1, "x1")
    assert len(rows[0]) == 2
    assert "n" in rows[0]
    assert rows[0].get("missing", 5) == 5
    assert repr(rows[0]) == "<Record n=1 s='x1'>"
    with pytest.raises(KeyError):
        rows[0]["missing"]
    with pytest.raises(IndexError):
        rows[0][2]


async def test_one_first_scalar(conn: tusk.Connection) -> None:
    r = await conn.query("SELECT $1::int8 AS a", 7).one()
    assert r["a"] == 7
    assert await conn.query("SELECT 1 WHERE false").first() is None
    first = await conn.query("SELECT g FROM generate_series(1, 5) g").first()
    assert first is not None and first[0] == 1
    assert await conn.query("SELECT $1::text", "hi").scalar() == "hi"


@pytest.mark.parametrize("n", [0, 2])
async def test_one_names_the_count(conn: tusk.Connection, n: int) -> None:
    with pytest.raises(tusk.PgRowCountError, match=f"returned {n}"):
        await conn.query("SELECT g FROM generate_series(1, $1) g", n).one()
    with pytest.raises(tusk.PgRowCountError, match=f"returned {n}"):
        await conn.query("SELECT g FROM generate_series(1, $1) g", n).scalar()


async def test_asyncpg_aliases(conn: tusk.Connection) -> None:
    assert [r[0] for r in await conn.fetch("SELECT generate_series(1, 2)")] == [1, 2]
    row = await conn.fetchrow("SELECT 1 AS a, 2 AS b")
    assert row is not None and dict(row) == {"a": 1, "b": 2}
    assert await conn.fetchrow("SELECT 1 WHERE false") is None
    assert await conn.fetchval("SELECT 42") == 42
    assert await conn.fetchval("SELECT 1 WHERE false") is None


async def test_execute_and_executemany(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t (id int8 PRIMARY KEY, name text)")
    n = await conn.executemany(
        "INSERT INTO t VALUES ($1, $2)", [(i, f"n{i}") for i in range(100)]
    )
    assert n == 100
    assert await conn.execute("UPDATE t SET name = $1 WHERE id < $2", "low", 10) == 10
    assert await conn.fetchval("SELECT count(*) FROM t WHERE name = 'low'") == 10


async def test_executemany_is_all_or_nothing(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t (id int8 PRIMARY KEY)")
    with pytest.raises(tusk.UniqueViolation):
        await conn.executemany("INSERT INTO t VALUES ($1)", [(1,), (2,), (1,)])
    assert await conn.fetchval("SELECT count(*) FROM t") == 0


async def test_wrong_parameter_count_fails_before_sending(conn: tusk.Connection) -> None:
    before = await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    with pytest.raises(tusk.PgInterfaceError, match="uses 2 parameter"):
        await conn.query("SELECT $1::int, $2::int", 1).all()
    with pytest.raises(tusk.PgInterfaceError):
        await conn.execute("SELECT 1", 1)
    # The connection is still usable.
    assert await conn.fetchval("SELECT $1::int + 1", 1) == 2
    assert before is not None


async def test_unencodable_value_fails_before_sending(conn: tusk.Connection) -> None:
    with pytest.raises(tusk.PgInterfaceError, match="cannot send"):
        conn.query("SELECT $1", object())
    with pytest.raises(tusk.PgInterfaceError, match="one type"):
        conn.query("SELECT $1", [1, "a"])
    with pytest.raises(tusk.PgInterfaceError, match="NUL"):
        conn.query("SELECT $1", "a\x00b")
    assert await conn.fetchval("SELECT 1") == 1


async def test_pool_queries(pool: tusk.Pool) -> None:
    assert await pool.query("SELECT $1::int8 + 1", 41).scalar() == 42
    assert await pool.fetchval("SELECT current_database() IS NOT NULL")
    assert "_total" in pool.metrics_prometheus()
    st = pool.stats()
    assert st["max_size"] == 10
    assert st["size"] >= 1 and st["acquire_total"] >= 1
    assert st["size"] == st["idle"] + st["in_use"]


async def test_create_pool_rejects_unknown_setting(url: str) -> None:
    with pytest.raises(tusk.PgInterfaceError, match="unknown pool setting"):
        await tusk.create_pool(url, no_such_setting=1)


async def test_create_pool_settings(url: str) -> None:
    p = await tusk.create_pool(url, max_size=3, min_size=1, acquire_timeout=2, idle_timeout=None)
    assert await p.fetchval("SELECT 1") == 1
    await p.close()


async def test_big_results_leave_the_gc_as_it_was(conn: tusk.Connection) -> None:
    import gc

    assert gc.isenabled()
    rows = await conn.query("SELECT g FROM generate_series(1, 5000) g").all()
    assert len(rows) == 5000 and gc.isenabled()
    gc.disable()
    try:
        await conn.query("SELECT g FROM generate_series(1, 5000) g").into(tuple)
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_big_results_arrive_whole_and_in_order(pool: tusk.Pool) -> None:
    # .all() converts batch by batch while rows arrive: nothing lost,
    # nothing reordered, across many batches.
    rows = await pool.query("SELECT g, 'r' || g AS s FROM generate_series(1, 50000) g").all()
    assert [r[0] for r in rows] == list(range(1, 50001))
    assert rows[-1]["s"] == "r50000"
    assert pool.stats()["in_use"] == 0


async def test_an_error_after_some_rows_raises_and_frees_the_connection(pool: tusk.Pool, conn: tusk.Connection) -> None:
    # The server fails at row 20,000, after earlier rows were sent (and
    # converted): a typed error, and the connection is usable again.
    sql = "SELECT 1 / (g - 20000) FROM generate_series(1, 30000) g"
    for handle in (pool, conn):
        with pytest.raises(tusk.PgDataError) as e:
            await handle.query(sql).all()
        assert e.value.sqlstate == "22012"
        assert await handle.fetchval("SELECT 5") == 5
    assert pool.stats()["in_use"] == 0


async def test_a_cancelled_big_fetch_frees_the_connection(pool: tusk.Pool) -> None:
    fut = pool.query("SELECT g, pg_sleep(0.0001) FROM generate_series(1, 20000) g").all()
    await asyncio.sleep(0.05)
    fut.cancel()
    with pytest.raises(asyncio.CancelledError):
        await fut
    for _ in range(100):
        if pool.stats()["in_use"] == 0:
            break
        await asyncio.sleep(0.02)
    assert pool.stats()["in_use"] == 0
    assert await pool.fetchval("SELECT 6") == 6
