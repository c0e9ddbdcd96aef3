"""Streams: rows as they arrive, a batch at a time."""

from __future__ import annotations

import asyncio

import tusk


async def test_stream_all_rows(pool: tusk.Pool) -> None:
    total = 0
    count = 0
    async for r in pool.query("SELECT g FROM generate_series(1, $1) g", 10_000).stream(batch=500):
        total += r["g"]
        count += 1
    assert count == 10_000
    assert total == 10_000 * 10_001 // 2
    # The stream's connection went back to the pool.
    assert await pool.fetchval("SELECT 1") == 1


async def test_stream_stops_early(conn: tusk.Connection) -> None:
    s = conn.query("SELECT g FROM generate_series(1, 1000000) g").stream(batch=100)
    seen = []
    async for r in s:
        seen.append(r[0])
        if len(seen) == 250:
            break
    await s.aclose()
    assert seen == list(range(1, 251))
    assert await conn.fetchval("SELECT 7") == 7


async def test_stream_error_and_empty(conn: tusk.Connection) -> None:
    rows = [r async for r in conn.query("SELECT 1 WHERE false").stream()]
    assert rows == []
    try:
        async for _ in conn.query("SELECT 1/0").stream():
            pass
        raise AssertionError("no error")
    except tusk.PgDataError:
        pass


async def test_buffered_rows_are_awaitables_asyncio_accepts(conn: tusk.Connection) -> None:
    # After the first batch, __anext__ hands out buffered rows as ready
    # awaitables (no Future, no loop iteration); asyncio's helpers take them.
    it = conn.query("SELECT g FROM generate_series(1, 5) g").stream(batch=5).__aiter__()
    assert (await it.__anext__())[0] == 1
    assert (await asyncio.wait_for(it.__anext__(), 5))[0] == 2
    assert (await asyncio.ensure_future(it.__anext__()))[0] == 3
    assert [r[0] async for r in it] == [4, 5]
