"""A query's answer wakes the event loop straight from the connection's
socket (the loop's own epoll, no runtime thread in between): the cases
where that path meets everything else that can wake a query, a socket
that is closed and its descriptor reused, writes that must wait, and
connections shared between tasks or handed over by the pool."""

from __future__ import annotations

import asyncio
import socket

import pytest

import tusk


async def test_a_closed_connections_descriptor_reused_by_the_next(url: str) -> None:
    # The loop's epoll watched the first connection's socket; the next
    # connection most likely gets the same descriptor number. Its reads
    # must be watched anew (a stale registration would hang it).
    for i in range(30):
        c = await tusk.connect(url)
        assert await asyncio.wait_for(c.fetchval("SELECT $1::int", i), 10) == i
        await c.close()
        # Something else takes the number for a while (a plain socket).
        s = socket.socket()
        s.close()
    c = await tusk.connect(url)
    assert await asyncio.wait_for(c.fetchval("SELECT pg_sleep(0.05)::text || 'x'"), 10) == "x"
    await c.close()


async def test_a_socket_of_the_loops_own_with_the_same_number(url: str) -> None:
    # A socket the application watches with loop.add_reader takes the
    # number a closed tusk connection had: tusk never registered that
    # number with the loop's selector, so the application's reader works.
    c = await tusk.connect(url)
    await c.fetchval("SELECT 1")
    await c.close()
    a, b = socket.socketpair()
    loop = asyncio.get_running_loop()
    got: asyncio.Future[bytes] = loop.create_future()

    def readable() -> None:
        if not got.done():
            got.set_result(a.recv(10))

    loop.add_reader(a.fileno(), readable)
    b.send(b"hi")
    assert await asyncio.wait_for(got, 10) == b"hi"
    loop.remove_reader(a.fileno())
    a.close()
    b.close()


async def test_a_big_query_whose_write_waits(conn: tusk.Connection) -> None:
    # More than the socket's send buffer: the write waits for the server
    # (a runtime wake-up), then the answer comes through the loop's epoll.
    big = "x" * (8 * 1024 * 1024)
    assert await asyncio.wait_for(conn.fetchval("SELECT length($1::text)", big), 60) == len(big)
    assert await conn.fetchval("SELECT 5") == 5


async def test_tasks_sharing_a_connection_wake_each_other(conn: tusk.Connection) -> None:
    # One task drives the connection and reads the others' answers; they
    # are woken through their wakers, not the socket.
    async def one(i: int) -> int:
        await asyncio.sleep(0)
        return int(await conn.fetchval("SELECT $1::int FROM pg_sleep(0.001)", i))

    got = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(200))), 60)
    assert got == list(range(200))


async def test_a_statement_timeout_and_a_server_side_sleep(url: str) -> None:
    c = await tusk.connect(url)
    await c.execute("SET statement_timeout = '50ms'")
    with pytest.raises(tusk.PgError):
        await asyncio.wait_for(c.execute("SELECT pg_sleep(5)"), 10)
    assert await c.fetchval("SELECT 3") == 3
    await c.close()


async def test_the_pool_under_many_tasks(pool: tusk.Pool) -> None:
    got = await asyncio.wait_for(
        asyncio.gather(*(pool.fetchval("SELECT $1::int", i) for i in range(1000))), 120
    )
    assert got == list(range(1000))


async def test_a_backend_terminated_while_a_query_waits(url: str) -> None:
    # The socket's end of stream wakes the loop; the query fails with a
    # typed error rather than hanging.
    c = await tusk.connect(url)
    other = await tusk.connect(url)
    pid = c.process_id
    waiting = c.execute("SELECT pg_sleep(30)")
    await asyncio.sleep(0.2)
    await other.execute("SELECT pg_terminate_backend($1::int)", pid)
    with pytest.raises(tusk.PgError):
        await asyncio.wait_for(waiting, 20)
    await other.close()


def test_each_loop_of_its_own_in_threads(url: str) -> None:
    # Several loops at once, each with its own epoll; descriptors are
    # per process, so each loop watches only the sockets its tasks read.
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        async def main() -> None:
            c = await tusk.connect(url)
            for i in range(200):
                assert await asyncio.wait_for(c.fetchval("SELECT $1::int", i), 10) == i
            await c.close()

        try:
            asyncio.run(main())
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=run) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert errors == []
