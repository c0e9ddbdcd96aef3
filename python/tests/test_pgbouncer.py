"""Through PgBouncer in transaction mode: pooled queries, transactions, errors."""

from __future__ import annotations

import asyncio

import pytest

import tusk


async def test_pool_through_pgbouncer(bouncer_url: str) -> None:
    pool = await tusk.create_pool(bouncer_url, max_size=8)
    await pool.execute("CREATE TABLE t (id int PRIMARY KEY)")
    got = await asyncio.gather(*(pool.query("SELECT $1::int8 + 1", i).scalar() for i in range(200)))
    assert got == [i + 1 for i in range(200)]
    async with pool.transaction() as tx:
        await tx.execute("INSERT INTO t VALUES ($1)", 1)
        async with tx.transaction() as sp:
            await sp.execute("INSERT INTO t VALUES ($1)", 2)
    with pytest.raises(tusk.UniqueViolation):
        await pool.execute("INSERT INTO t VALUES ($1)", 1)
    assert await pool.fetchval("SELECT count(*) FROM t") == 2
    # The same SQL again and again: no "prepared statement does not exist".
    for _ in range(20):
        assert await pool.fetchval("SELECT count(*) FROM t WHERE id > $1", 0) == 2
    await pool.close()
