"""Review probes for loop-woken reads (the socket off tokio's reactor
while an asyncio loop waits for it): where that path meets cancellation,
other loops in other threads, the pool's own work and PgBouncer. Every
wait has a timeout: a lost wake-up fails the test instead of hanging it."""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any, Callable, Coroutine

import tusk


def run_in_thread(main: Callable[[], Coroutine[Any, Any, None]], timeout: float = 60) -> None:
    """Runs `main` on a loop of its own in a new thread; re-raises its error."""
    errors: list[BaseException] = []

    def body() -> None:
        try:
            asyncio.run(main())
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    t = threading.Thread(target=body)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "the thread's loop hung"
    assert errors == [], errors


async def test_pipelined_tasks_some_cancelled_while_waiting(conn: tusk.Connection) -> None:
    # Tasks pipelined on one connection; some are cancelled while the
    # socket is off tokio's reactor with their answers on the way. The
    # others still finish, and the connection serves the next query.
    rnd = random.Random(7)

    async def one(i: int) -> int | None:
        sleep = rnd.choice([0, 0, 0.002, 0.02])
        try:
            return int(
                await asyncio.wait_for(
                    conn.fetchval("SELECT $1::int FROM pg_sleep($2::float8)", i, sleep),
                    rnd.choice([0.001, 0.01, 5]),
                )
            )
        except asyncio.TimeoutError:
            return None

    for _ in range(5):
        got = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(100))), 60)
        for i, g in enumerate(got):
            assert g is None or g == i
    assert await asyncio.wait_for(conn.fetchval("SELECT 42"), 10) == 42


def test_a_pooled_connection_left_off_the_reactor_used_by_another_loop(url: str) -> None:
    # Loop 1 (in its thread, still running) leaves the pool's only
    # connection off tokio's reactor (a query cancelled while it waits);
    # loop 2 in another thread gets that connection next.
    pool_box: list[tusk.Pool] = []
    left = threading.Event()
    done = threading.Event()

    async def first() -> None:
        p = await tusk.create_pool(url, max_size=1)
        pool_box.append(p)
        for _ in range(3):
            try:
                await asyncio.wait_for(p.fetchval("SELECT pg_sleep(0.2)"), 0.05)
            except asyncio.TimeoutError:
                pass
        assert await asyncio.wait_for(p.fetchval("SELECT 1"), 10) == 1
        t = asyncio.ensure_future(p.fetchval("SELECT pg_sleep(0.1)"))
        await asyncio.sleep(0.01)
        t.cancel()
        left.set()
        # Keep this loop alive (its epoll still watching) while loop 2 works.
        while not done.is_set():
            await asyncio.sleep(0.01)
        await p.close(grace=1.0)

    async def second() -> None:
        assert left.wait(30)
        p = pool_box[0]
        try:
            for i in range(50):
                assert await asyncio.wait_for(p.fetchval("SELECT $1::int", i), 10) == i
            async with p.acquire() as c:
                assert await asyncio.wait_for(c.fetchval("SELECT pg_sleep(0.05)::text || 'y'"), 10) == "y"
        finally:
            done.set()

    errors: list[BaseException] = []

    def wrap(f: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
        def body() -> None:
            try:
                asyncio.run(f())
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
                done.set()
                left.set()

        return body

    ts = [threading.Thread(target=wrap(first)), threading.Thread(target=wrap(second))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(90)
    assert not any(t.is_alive() for t in ts), "a loop hung"
    assert errors == [], errors


def test_one_connection_shared_by_loops_in_two_threads(url: str) -> None:
    # Two loops drive one connection by turns: one's read brings the
    # other's answer, the role passes between loops (each with its epoll).
    box: list[tusk.Connection] = []

    async def make() -> None:
        box.append(await tusk.connect(url))

    run_in_thread(make)
    c = box[0]

    async def work() -> None:
        async def one(i: int) -> None:
            assert await asyncio.wait_for(c.fetchval("SELECT $1::int FROM pg_sleep(0.001)", i), 10) == i

        for k in range(10):
            await asyncio.gather(*(one(k * 20 + i) for i in range(20)))

    errors: list[BaseException] = []

    def body() -> None:
        try:
            asyncio.run(work())
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=body) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(90)
    assert not any(t.is_alive() for t in ts), "a loop hung"
    assert errors == [], errors

    async def close() -> None:
        await asyncio.wait_for(c.close(), 10)

    run_in_thread(close)


async def test_query_timeouts_on_a_pipelined_pool(url: str) -> None:
    # The driver's own query timeout (a tokio timer and a cancel request on
    # a second connection) while reads are the loop's.
    p = await tusk.create_pool(url, max_size=2)
    try:

        async def slow() -> str:
            try:
                await p.fetchval("SELECT pg_sleep(2)", timeout=0.05)
                return "ran"
            except (tusk.PgError, asyncio.TimeoutError) as e:
                return type(e).__name__

        async def fast(i: int) -> int:
            return int(await p.fetchval("SELECT $1::int", i))

        got = await asyncio.wait_for(asyncio.gather(*(slow() for _ in range(4)), *(fast(i) for i in range(50))), 60)
        assert got[4:] == list(range(50))
        assert all(g != "ran" for g in got[:4])
        assert await asyncio.wait_for(p.fetchval("SELECT 7"), 10) == 7
    finally:
        await asyncio.wait_for(p.close(grace=1.0), 30)


async def test_a_held_stream_and_other_queries_on_the_pool(url: str) -> None:
    p = await tusk.create_pool(url, max_size=2)
    try:
        s = p.query("SELECT g FROM generate_series(1, 100000) g").stream(batch=10)
        it = s.__aiter__()
        first = await asyncio.wait_for(it.__anext__(), 10)
        assert first[0] == 1
        got = await asyncio.wait_for(asyncio.gather(*(p.fetchval("SELECT $1::int", i) for i in range(30))), 30)
        assert got == list(range(30))
        n = 1
        async for _ in it:
            n += 1
            if n == 5000:
                break
        await asyncio.wait_for(s.aclose(), 10)
        assert await asyncio.wait_for(p.fetchval("SELECT 8"), 10) == 8
    finally:
        await asyncio.wait_for(p.close(grace=1.0), 30)


async def test_pgbouncer_transaction_mode_pool_with_cancellations(bouncer_url: str) -> None:
    p = await tusk.create_pool(bouncer_url, max_size=3)
    try:
        rnd = random.Random(3)

        async def one(i: int) -> int | None:
            try:
                return int(
                    await asyncio.wait_for(
                        p.fetchval("SELECT $1::int FROM pg_sleep($2::float8)", i, rnd.choice([0, 0.01])),
                        rnd.choice([0.002, 5, 5]),
                    )
                )
            except asyncio.TimeoutError:
                return None

        for _ in range(3):
            got = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(60))), 60)
            assert all(g is None or g == i for i, g in enumerate(got))
        assert await asyncio.wait_for(p.fetchval("SELECT 9"), 10) == 9
    finally:
        await asyncio.wait_for(p.close(grace=1.0), 30)


async def test_a_transaction_with_pipelined_tasks_and_a_cancel(conn: tusk.Connection) -> None:
    async with conn.transaction() as tx:
        t = asyncio.ensure_future(tx.fetchval("SELECT pg_sleep(0.2)"))
        await asyncio.sleep(0.01)
        t.cancel()
        got = await asyncio.wait_for(asyncio.gather(*(tx.fetchval("SELECT $1::int", i) for i in range(20)), return_exceptions=True), 20)
        assert len(got) == 20
    assert await asyncio.wait_for(conn.fetchval("SELECT 11"), 10) == 11


async def test_a_query_timeout_on_the_driving_task_with_others_pipelined(conn: tusk.Connection) -> None:
    # The task driving the connection (its socket off tokio's reactor) is
    # timed out by a tokio timer; the others' answers still wake them.
    slow = asyncio.ensure_future(conn.fetchval("SELECT pg_sleep(2)", timeout=0.1))
    await asyncio.sleep(0)
    rest = [conn.fetchval("SELECT $1::int", i) for i in range(20)]
    got = await asyncio.wait_for(asyncio.gather(slow, *rest, return_exceptions=True), 30)
    assert isinstance(got[0], tusk.PgError), got[0]
    assert all(isinstance(g, (int, tusk.PgError)) for g in got[1:]), got
    assert await asyncio.wait_for(conn.fetchval("SELECT 12"), 10) == 12


async def test_copy_from_a_slow_async_source_with_queries_pipelined(url: str) -> None:
    # A COPY whose source is an async generator (Python awaited inside the
    # poll), with other tasks' queries queued behind it on the connection.
    c = await tusk.connect(url)
    try:
        await c.execute("CREATE TABLE t (a int, b text)")

        async def rows() -> Any:
            for i in range(3000):
                if i % 500 == 0:
                    await asyncio.sleep(0.01)
                yield (i, "x" * 200)

        copy = asyncio.ensure_future(c.copy_records_to_table("t", rows()))
        await asyncio.sleep(0.001)
        others = [c.fetchval("SELECT $1::int", i) for i in range(10)]
        got = await asyncio.wait_for(asyncio.gather(copy, *others), 60)
        assert got[0] == 3000
        assert got[1:] == list(range(10))
        assert await asyncio.wait_for(c.fetchval("SELECT count(*) FROM t"), 10) == 3000
    finally:
        await c.close()


async def test_copy_out_of_one_connection_into_another(url: str) -> None:
    # One connection's COPY OUT chunks (each `__anext__` a tusk awaitable
    # polled inside the other connection's poll) feed the other's COPY IN.
    a = await tusk.connect(url)
    b = await tusk.connect(url)
    try:
        await a.execute("CREATE TABLE src AS SELECT g AS a, repeat('y', 100) AS b FROM generate_series(1, 20000) g")
        await a.execute("CREATE TABLE dst (a int, b text)")
        n = await asyncio.wait_for(b.copy_in("dst", a.copy_out("src")), 60)
        assert n == 20000
        assert await asyncio.wait_for(b.fetchval("SELECT sum(a)::bigint FROM dst"), 10) == 20000 * 20001 // 2
    finally:
        await a.close()
        await b.close()


async def test_a_copy_out_held_while_another_task_queries(url: str) -> None:
    c = await tusk.connect(url)
    try:
        out = c.copy_out("SELECT g, repeat('z', 500) FROM generate_series(1, 20000) g")
        it = out.__aiter__()
        first = await asyncio.wait_for(it.__anext__(), 10)
        assert first
        q = asyncio.ensure_future(c.fetchval("SELECT 13"))
        await asyncio.sleep(0.05)
        total = len(first)
        async for chunk in it:
            total += len(chunk)
        assert await asyncio.wait_for(q, 20) == 13
        assert total > 20000 * 500
    finally:
        await c.close()


FORK_SCRIPT = r"""
import asyncio, os, signal, sys
import tusk

url = sys.argv[1]


async def q() -> int:
    c = await tusk.connect(url)
    v = await asyncio.wait_for(c.fetchval("SELECT 41 + 1"), 5)
    await c.close()
    return v


print("parent", asyncio.run(q()), flush=True)
pid = os.fork()
if pid == 0:
    signal.alarm(20)
    try:
        print("child", asyncio.run(q()), flush=True)
        os._exit(0)
    except BaseException as e:
        print("child error", repr(e), flush=True)
        os._exit(1)
_, st = os.waitpid(pid, 0)
print("child status", st, flush=True)
print("parent again", asyncio.run(q()), flush=True)
"""


def test_a_forked_child_connects_and_the_parent_goes_on(url: str) -> None:
    # A child forked after the parent used tusk makes connections of its
    # own (the inherited runtime has no threads in the child, and its
    # reactor's epoll is the parent's): the child must not hang, and must
    # not register its sockets in the parent's reactor (which then woke on
    # the child's tokens and aborted).
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-c", FORK_SCRIPT, url], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr[-2000:])
    assert p.stdout.split("\n")[:4] == ["parent 42", "child 42", "child status 0", "parent again 42"], p.stdout


def test_a_pool_outlives_the_loop_that_left_its_connection_off_the_reactor(url: str) -> None:
    # asyncio.run #1 cancels a query mid-flight (the socket off tokio's
    # reactor, its loop's epoll watching) and closes its loop; asyncio.run
    # #2 on the same thread uses the same pool and connection.
    box: list[tusk.Pool] = []

    async def first() -> None:
        p = await tusk.create_pool(url, max_size=1)
        box.append(p)
        assert await p.fetchval("SELECT 1") == 1
        t = asyncio.ensure_future(p.fetchval("SELECT pg_sleep(0.3)"))
        await asyncio.sleep(0.02)
        t.cancel()

    async def second() -> None:
        p = box[0]
        for i in range(20):
            assert await asyncio.wait_for(p.fetchval("SELECT $1::int", i), 10) == i
        await asyncio.wait_for(p.close(grace=1.0), 20)

    def body() -> None:
        asyncio.run(first())
        asyncio.run(second())

    errors: list[BaseException] = []

    def wrapped() -> None:
        try:
            body()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=wrapped)
    t.start()
    t.join(60)
    assert not t.is_alive(), "a loop hung"
    assert errors == [], errors


async def test_a_big_copy_whose_writes_wait_with_queries_pipelined(conn: tusk.Connection) -> None:
    # Far more than the socket's send buffer goes out while the reads are
    # the loop's: the writes wait on tokio's reactor (the socket kept on
    # it), the answers still come through the loop's epoll.
    await conn.execute("CREATE TABLE big (a int, b text)")
    payload = "w" * 1000
    copy = asyncio.ensure_future(conn.copy_records_to_table("big", ((i, payload) for i in range(30000))))
    await asyncio.sleep(0)
    others = [conn.fetchval("SELECT $1::int", i) for i in range(10)]
    got = await asyncio.wait_for(asyncio.gather(copy, *others), 120)
    assert got[0] == 30000
    assert got[1:] == list(range(10))
    assert await asyncio.wait_for(conn.fetchval("SELECT count(*) FROM big"), 20) == 30000
