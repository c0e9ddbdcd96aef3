"""Transactions: commit, rollback on exception and cancellation, savepoints, retries."""

from __future__ import annotations

import asyncio

import pytest

import tusk


async def _setup(pool: tusk.Pool) -> None:
    await pool.execute("CREATE TABLE t (id int PRIMARY KEY)")


async def test_commit_and_rollback(pool: tusk.Pool) -> None:
    await _setup(pool)
    async with pool.transaction() as tx:
        await tx.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(ZeroDivisionError):
        async with pool.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES (2)")
            1 / 0
    assert [r[0] for r in await pool.fetch("SELECT id FROM t")] == [1]


async def test_options(pool: tusk.Pool) -> None:
    async with pool.transaction(isolation="serializable", read_only=True, deferrable=True) as tx:
        assert await tx.fetchval("SHOW transaction_isolation") == "serializable"
        assert await tx.fetchval("SHOW transaction_read_only") == "on"
        with pytest.raises(tusk.PgError) as ei:
            await tx.execute("CREATE TABLE x (id int)")
        assert ei.value.sqlstate == "25006"
    with pytest.raises(tusk.PgInterfaceError, match="isolation"):
        pool.transaction(isolation="bogus")


async def test_nested_are_savepoints(pool: tusk.Pool) -> None:
    await _setup(pool)
    async with pool.transaction() as tx:
        await tx.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(tusk.UniqueViolation):
            async with tx.transaction() as sp:
                await sp.execute("INSERT INTO t VALUES (2)")
                await sp.execute("INSERT INTO t VALUES (1)")
        async with tx.transaction() as sp:
            await sp.execute("INSERT INTO t VALUES (3)")
        # The outer transaction goes on after the failed savepoint.
        assert await tx.fetchval("SELECT count(*) FROM t") == 2
    assert [r[0] for r in await pool.fetch("SELECT id FROM t ORDER BY id")] == [1, 3]


async def test_a_kept_savepoint_handle_does_not_hold_the_connection(pool: tusk.Pool) -> None:
    # Regression: a savepoint's handle, still referenced after its block
    # (here `sp`, and `tx` too), held the outer transaction's pool
    # connection until it was garbage, so pool.close() waited its grace.
    await _setup(pool)
    async with pool.transaction() as tx:
        async with tx.transaction() as sp:
            await sp.execute("INSERT INTO t VALUES (1)")
    assert pool.stats()["in_use"] == 0
    with pytest.raises(tusk.PgInterfaceError):
        await sp.execute("SELECT 1")
    with pytest.raises(tusk.PgInterfaceError):
        async with sp:
            pass


async def test_rollback_on_cancellation(pool: tusk.Pool) -> None:
    await _setup(pool)
    started = asyncio.Event()

    async def work() -> None:
        async with pool.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES (1)")
            started.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(work())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await pool.fetchval("SELECT count(*) FROM t") == 0


async def test_handle_unusable_outside_its_block(pool: tusk.Pool) -> None:
    tx = pool.transaction()
    with pytest.raises(tusk.PgInterfaceError, match="not begun"):
        await tx.fetchval("SELECT 1")
    async with tx:
        pass
    with pytest.raises(tusk.PgInterfaceError, match="over"):
        await tx.fetchval("SELECT 1")


async def test_run_in_transaction_retries(pool: tusk.Pool) -> None:
    await _setup(pool)
    attempts = 0

    async def fn(tx: tusk.Transaction) -> int:
        nonlocal attempts
        attempts += 1
        await tx.execute("INSERT INTO t VALUES ($1)", attempts)
        if attempts < 3:
            await tx.execute("DO $$BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END$$")
        return attempts

    assert await tusk.run_in_transaction(pool, fn, retries=3) == 3
    assert [r[0] for r in await pool.fetch("SELECT id FROM t")] == [3]

    async def always(tx: tusk.Transaction) -> None:
        await tx.execute("DO $$BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END$$")

    with pytest.raises(tusk.PgDeadlockError):
        await tusk.run_in_transaction(pool, always, retries=1)
