"""The pool under load and faults: concurrency, cancellation, timeouts, terminated backends."""

from __future__ import annotations

import asyncio

import pytest

import tusk
from conftest import Cluster


async def test_thousand_tasks_on_a_pool_of_ten(url: str) -> None:
    pool = await tusk.create_pool(url, max_size=10)
    results = await asyncio.gather(*(pool.query("SELECT $1::int8 * 2", i).scalar() for i in range(1000)))
    assert results == [i * 2 for i in range(1000)]
    await pool.close()


async def test_cancelled_task_cancels_the_backend_query(url: str) -> None:
    pool = await tusk.create_pool(url, max_size=2)
    # Watch from a connection of its own, so nothing queues behind the sleep.
    watch = await tusk.connect(url)
    task = asyncio.ensure_future(pool.execute("SELECT pg_sleep(30)"))
    # Wait until the server runs it.
    for _ in range(100):
        n = await watch.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'"
        )
        if n:
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The backend's query stops (the driver cancels it) and the pool still works.
    for _ in range(100):
        n = await watch.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'"
        )
        if n == 0:
            break
        await asyncio.sleep(0.05)
    assert n == 0
    assert await asyncio.gather(*(pool.fetchval("SELECT 1") for _ in range(20))) == [1] * 20
    await pool.close()
    await watch.close()


async def test_timeout(pool: tusk.Pool) -> None:
    with pytest.raises(tusk.PgTimeout):
        await pool.execute("SELECT pg_sleep(10)", timeout=0.2)
    assert await pool.fetchval("SELECT 1") == 1


async def test_terminated_backends_are_replaced(url: str) -> None:
    pool = await tusk.create_pool(url, max_size=4)
    await asyncio.gather(*(pool.fetchval("SELECT 1") for _ in range(8)))
    killer = await tusk.connect(url)
    await killer.fetch(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    # Every call returns or raises a typed error; the pool recovers.
    ok = 0
    for _ in range(20):
        try:
            assert await pool.fetchval("SELECT 1") == 1
            ok += 1
        except tusk.PgConnectionError:
            pass
    assert ok >= 15
    assert await pool.fetchval("SELECT 2") == 2
    await pool.close()
    await killer.close()


async def test_pool_exhausted(url: str) -> None:
    pool = await tusk.create_pool(url, max_size=1, acquire_timeout=0.2)
    async with pool.transaction():
        with pytest.raises(tusk.PgPoolExhausted):
            async with pool.transaction():
                pass
    await pool.close()


async def test_acquire_holds_one_connection(pool: tusk.Pool) -> None:
    async with pool.acquire() as c:
        pid = await c.fetchval("SELECT pg_backend_pid()")
        await c.execute("SET application_name = 'held'")
        assert all(p == pid for p in await asyncio.gather(*(c.fetchval("SELECT pg_backend_pid()") for _ in range(10))))
        async with c.transaction() as tx:
            assert await tx.fetchval("SELECT pg_backend_pid()") == pid
    with pytest.raises(tusk.PgInterfaceError, match="over"):
        await c.fetchval("SELECT 1")


def test_sync_acquire(url: str) -> None:
    p = tusk.create_pool_sync(url, max_size=2)
    with p.acquire() as c:
        pid = c.fetchval("SELECT pg_backend_pid()")
        assert c.fetchval("SELECT pg_backend_pid()") == pid
    p.close()


async def test_server_restart_under_load(cluster: Cluster, url: str) -> None:
    pool = await tusk.create_pool(url, max_size=4)
    stop = asyncio.Event()
    outcomes: list[str] = []

    async def load() -> None:
        while not stop.is_set():
            try:
                await pool.fetchval("SELECT 1", timeout=5)
                outcomes.append("ok")
            except (tusk.PgConnectionError, tusk.PgTimeout, tusk.PgCanceled) as e:
                outcomes.append(type(e).__name__)
                await asyncio.sleep(0.05)

    tasks = [asyncio.ensure_future(load()) for _ in range(8)]
    await asyncio.sleep(0.3)
    await asyncio.get_running_loop().run_in_executor(None, cluster.command, "restart")
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*tasks)
    # Every call returned or raised a typed error (anything else fails the
    # gather above), and the pool serves again after the restart.
    assert "ok" in outcomes
    assert await pool.fetchval("SELECT 2") == 2
    await pool.close()


async def test_acquire_as_a_role_with_settings(pool: tusk.Pool) -> None:
    await pool.execute("CREATE ROLE tenant_a NOLOGIN")
    async with pool.acquire_as("tenant_a", {"app.tenant": "42"}) as c:
        assert await c.fetchval("SELECT current_user::text") == "tenant_a"
        assert await c.fetchval("SELECT current_setting('app.tenant')") == "42"
    # Given back reset: the next holder is the pool's own user again.
    for _ in range(3):
        async with pool.acquire() as c:
            assert await c.fetchval("SELECT current_user::text") == "postgres"
            assert await c.fetchval("SELECT current_setting('app.tenant', true)") in (None, "")
