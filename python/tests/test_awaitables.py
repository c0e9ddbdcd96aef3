"""How tusk's awaitables meet asyncio: driven on the loop's own thread, one
wake-up per batch, a result that is ready at once needs no loop iteration,
any number of loops (one after another, or in several threads at once)."""

from __future__ import annotations

import asyncio
import threading

import pytest

import tusk


async def test_a_ready_result_is_already_done(conn: tusk.Connection) -> None:
    # A wrong parameter count fails before anything is sent: the future
    # comes back finished, so awaiting it takes no loop iteration.
    fut = conn.execute("SELECT $1::int")
    assert isinstance(fut, asyncio.Future) and fut.done()
    with pytest.raises(tusk.PgInterfaceError):
        await fut
    # A query is sent on its first poll, inside the call; whether its
    # answer is back by the time the call returns is a race, so only its
    # type and its result are checked.
    pending = conn.fetchval("SELECT 41 + 1")
    assert isinstance(pending, asyncio.Future)
    assert await pending == 42


async def test_cancel_before_the_answer_keeps_the_connection_in_step(conn: tusk.Connection) -> None:
    for _ in range(20):
        fut = conn.fetchval("SELECT pg_sleep(0.01)")
        fut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await fut
    assert await conn.fetchval("SELECT 7") == 7


async def test_many_awaitables_in_flight_on_one_connection(conn: tusk.Connection) -> None:
    got = await asyncio.gather(*(conn.fetchval("SELECT $1::int * 2", i) for i in range(500)))
    assert got == [i * 2 for i in range(500)]


def test_one_loop_after_another_and_loops_in_threads(url: str) -> None:
    async def work(n: int) -> list[int]:
        pool = await tusk.create_pool(url, max_size=2)
        try:
            got = await asyncio.gather(*(pool.fetchval("SELECT $1::int", i) for i in range(n)))
            return [int(v) for v in got]
        finally:
            await pool.close()

    # asyncio.run makes a new loop each time: each gets its own driver.
    for _ in range(3):
        assert asyncio.run(work(10)) == list(range(10))
    results: dict[int, list[int]] = {}

    def in_thread(k: int) -> None:
        results[k] = asyncio.run(work(50))

    threads = [threading.Thread(target=in_thread, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == {k: list(range(50)) for k in range(3)}
