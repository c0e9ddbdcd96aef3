"""COPY: copy_in from every kind of source, copy_records_to_table, copy_out
as chunks and into files; bad rows, failing sources, cancellation, quoting,
the sync API, transactions, pools and PgBouncer."""

from __future__ import annotations

import asyncio
import io
from typing import AsyncIterator, Iterator

import pytest

import tusk


async def test_copy_in_from_bytes_str_and_iterables(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t (id int, name text)")
    assert await conn.copy_in("t", b"1\talice\n2\tbob\n") == 2
    assert await conn.copy_in("t", "3\tcarol\n") == 1
    assert await conn.copy_in("t", [b"4\td", "ave\n5\t", b"eve\n"]) == 2
    assert await conn.copy_in("t", (f"{i}\tx\n" for i in range(6, 10))) == 4
    assert await conn.copy_in("t", bytearray(b"10\ty\n")) == 1
    assert await conn.copy_in("t", memoryview(b"11\tz\n")) == 1
    assert await conn.copy_in("t", b"") == 0

    async def gen() -> AsyncIterator[bytes]:
        for i in range(12, 15):
            await asyncio.sleep(0)
            yield f"{i}\tasync\n".encode()

    assert await conn.copy_in("t", gen()) == 3
    assert await conn.fetchval("SELECT count(*) FROM t") == 14
    assert await conn.fetchval("SELECT name FROM t WHERE id = 4") == "dave"


async def test_copy_in_csv_options_and_statement(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t (id int, name text, note text)")
    data = "id;name\n1;'a;b'\n2;x\n"
    n = await conn.copy_in(
        "t", data, format="csv", columns=["id", "name"], delimiter=";", header=True, quote="'"
    )
    assert n == 2
    rows = await conn.fetch("SELECT id, name, note FROM t ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "a;b", None), (2, "x", None)]
    assert await conn.copy_in("COPY t (id) FROM STDIN (FORMAT csv)", b"3\n") == 1
    with pytest.raises(tusk.PgInterfaceError):
        await conn.copy_in("COPY t (id) FROM STDIN", b"3\n", format="csv")
    assert await conn.copy_in("t", "9,z,w\n8,q,r\n", format="csv", where="id > 8") == 1


async def test_copy_in_from_file_objects(conn: tusk.Connection, tmp_path: object) -> None:
    await conn.execute("CREATE TABLE t (id int, name text)")
    big = "".join(f"{i}\tname {i}\n" for i in range(100_000)).encode()
    assert await conn.copy_in("t", io.BytesIO(big)) == 100_000
    assert await conn.copy_in("t", io.StringIO("7\tseven\n")) == 1

    class AsyncFile:
        def __init__(self, data: bytes) -> None:
            self.f = io.BytesIO(data)

        async def read(self, n: int = -1) -> bytes:
            await asyncio.sleep(0)
            return self.f.read(n)

    assert await conn.copy_in("t", AsyncFile(big[:1000].rsplit(b"\n", 1)[0] + b"\n")) > 0
    assert await conn.fetchval("SELECT count(*) FROM t WHERE name = 'name 99999'") == 1


async def test_a_bad_row_names_its_line_and_the_connection_stays_usable(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t (id int PRIMARY KEY, name text)")
    with pytest.raises(tusk.PgDataError) as e:
        await conn.copy_in("t", b"1\ta\n2\tb\nthree\tc\n4\td\n")
    assert e.value.copy_line == 3
    assert "line 3" in str(e.value)
    assert e.value.sqlstate == "22P02"
    with pytest.raises(tusk.UniqueViolation):
        await conn.copy_in("t", b"1\ta\n1\tb\n")
    assert await conn.fetchval("SELECT count(*) FROM t") == 0
    assert await conn.fetchval("SELECT 1") == 1


class Boom(Exception):
    pass


async def test_a_source_that_raises_aborts_the_copy(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t (id int)")

    def bad() -> Iterator[bytes]:
        for i in range(50_000):
            yield f"{i}\n".encode()
        raise Boom("source failed")

    with pytest.raises(Boom):
        await conn.copy_in("t", bad())

    async def abad() -> AsyncIterator[bytes]:
        yield b"1\n"
        raise Boom("async source failed")

    with pytest.raises(Boom):
        await conn.copy_in("t", abad())
    with pytest.raises(TypeError):
        await conn.copy_in("t", [b"1\n", 42])  # type: ignore[list-item]
    assert await conn.fetchval("SELECT count(*) FROM t") == 0
    assert await conn.copy_in("t", b"5\n") == 1


async def test_quoted_names_and_schemas(conn: tusk.Connection) -> None:
    await conn.execute('CREATE SCHEMA "my schema"')
    await conn.execute('CREATE TABLE "my schema"."weird ""name" ("the id" int, "Name" text)')
    n = await conn.copy_in("weird \"name", b"1\ta\n", schema_name="my schema", columns=["the id", "Name"])
    assert n == 1
    n = await conn.copy_records_to_table('weird "name', [(2, "b")], schema_name="my schema")
    assert n == 1
    out = io.BytesIO()
    assert await conn.copy_out('weird "name', out, schema_name="my schema", format="csv") == 2
    assert sorted(out.getvalue().decode().splitlines()) == ["1,a", "2,b"]
    with pytest.raises(tusk.PgSyntaxError):
        await conn.copy_in("weird name; DROP TABLE x", b"")


async def test_copy_out_chunks_and_files(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t AS SELECT g AS id, 'n' || g AS name FROM generate_series(1, 50000) g")
    chunks = []
    it = conn.copy_out("SELECT id, name FROM t ORDER BY id", format="csv")
    async for c in it:
        assert isinstance(c, bytes)
        chunks.append(c)
    assert it.rows == 50_000
    lines = b"".join(chunks).decode().splitlines()
    assert lines[0] == "1,n1" and lines[-1] == "50000,n50000" and len(lines) == 50_000
    assert len(chunks) < 50_000

    f = io.StringIO()

    class W:
        def __init__(self) -> None:
            self.parts: list[bytes] = []

        def write(self, b: bytes) -> int:
            self.parts.append(b)
            return len(b)

    w = W()
    assert await conn.copy_out("t", w, columns=["id"]) == 50_000
    assert b"".join(w.parts).count(b"\n") == 50_000

    class AW:
        def __init__(self) -> None:
            self.n = 0

        async def write(self, b: bytes) -> None:
            await asyncio.sleep(0)
            self.n += len(b)

    aw = AW()
    assert await conn.copy_out("COPY t TO STDOUT (FORMAT binary)", aw) == 50_000
    assert aw.n > 0
    del f
    # Stopped early: the rest is discarded, the connection goes on.
    it2 = conn.copy_out("t")
    async for _ in it2:
        break
    await it2.aclose()
    assert await conn.fetchval("SELECT count(*) FROM t") == 50_000
    with pytest.raises(tusk.PgSyntaxError):
        async for _ in conn.copy_out("no_such_table"):
            pass
    assert await conn.fetchval("SELECT 2") == 2


async def test_copy_in_transaction_and_pool(pool: tusk.Pool) -> None:
    await pool.execute("CREATE TABLE t (id int)")
    async with pool.transaction() as tx:
        assert await tx.copy_in("t", b"1\n2\n") == 2
        assert await tx.copy_records_to_table("t", [(3,)]) == 1
        assert await tx.fetchval("SELECT count(*) FROM t") == 3
    with pytest.raises(Boom):
        async with pool.transaction() as tx:
            await tx.copy_in("t", b"10\n")
            raise Boom()
    assert await pool.fetchval("SELECT count(*) FROM t") == 3
    got = await asyncio.gather(*(pool.copy_records_to_table("t", [(i,)] * 100) for i in range(20)))
    assert got == [100] * 20
    async with pool.acquire() as c:
        out = io.BytesIO()
        assert await c.copy_out("t", out) == 2003
    chunks = [c async for c in pool.copy_out("SELECT 1")]
    assert chunks == [b"1\n"]


async def test_cancelled_mid_copy_leaves_the_pool_healthy(pool: tusk.Pool) -> None:
    await pool.execute("CREATE TABLE t (id int)")

    async def slow() -> AsyncIterator[bytes]:
        for i in range(1000):
            yield f"{i}\n".encode()
            await asyncio.sleep(0.01)

    fut = asyncio.ensure_future(pool.copy_in("t", slow()))
    await asyncio.sleep(0.1)
    fut.cancel()
    with pytest.raises(asyncio.CancelledError):
        await fut

    def many() -> Iterator[tuple[int]]:
        for i in range(2_000_000):
            yield (i,)

    fut2 = asyncio.ensure_future(pool.copy_records_to_table("t", many()))
    await asyncio.sleep(0.05)
    fut2.cancel()
    with pytest.raises(asyncio.CancelledError):
        await fut2
    for _ in range(3):
        got = await asyncio.gather(*(pool.fetchval("SELECT count(*) FROM t") for _ in range(20)))
        assert got == [0] * 20
    # The cancelled COPY's connection goes back once the server answered
    # its CopyFail, after the rows already sent (up to a socket buffer's
    # worth, more the faster the client): wait for it, up to 10 s.
    for _ in range(500):
        if pool.stats()["in_use"] == 0:
            break
        await asyncio.sleep(0.02)
    assert pool.stats()["in_use"] == 0
    assert await pool.copy_in("t", b"1\n") == 1


async def test_copy_records_errors(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t (id int4 NOT NULL, name text, at timestamptz)")
    with pytest.raises(tusk.PgInterfaceError, match=r"record 2, column \"id\""):
        await conn.copy_records_to_table("t", [(1, "a", None), ("x", "b", None)])
    with pytest.raises(tusk.PgInterfaceError, match="out of range"):
        await conn.copy_records_to_table("t", [(2**31, "a", None)])
    with pytest.raises(tusk.PgInterfaceError, match="record 1 has 2 values"):
        await conn.copy_records_to_table("t", [(1, "a")])
    with pytest.raises(tusk.PgInterfaceError, match="naive"):
        import datetime

        await conn.copy_records_to_table("t", [(1, "a", datetime.datetime(2020, 1, 1))])
    with pytest.raises(tusk.NotNullViolation) as e:
        await conn.copy_records_to_table("t", [(1, "a", None), (None, "b", None)])
    assert e.value.copy_line == 2
    with pytest.raises(tusk.PgSyntaxError):
        await conn.copy_records_to_table("no_such", [(1,)])
    with pytest.raises(tusk.PgSyntaxError):
        await conn.copy_records_to_table("t", [(1,)], columns=["nope"])

    def bad() -> Iterator[tuple[int, str, None]]:
        yield (1, "a", None)
        raise Boom()

    with pytest.raises(Boom):
        await conn.copy_records_to_table("t", bad())
    assert await conn.fetchval("SELECT count(*) FROM t") == 0

    async def agen() -> AsyncIterator[list[object]]:
        for i in range(3):
            yield [i, f"n{i}", None]

    assert await conn.copy_records_to_table("t", agen()) == 3
    assert await conn.copy_records_to_table("t", [], columns=["id"]) == 0
    assert await conn.copy_records_to_table("t", records=iter([(9,)]), columns=["id"]) == 1


def test_sync_copy(url: str) -> None:
    conn = tusk.connect_sync(url)
    conn.execute("CREATE TABLE t (id int, name text)")
    assert conn.copy_in("t", b"1\ta\n") == 1
    assert conn.copy_in("t", io.BytesIO(b"2\tb\n3\tc\n")) == 2
    assert conn.copy_records_to_table("t", [(4, "d")]) == 1
    with pytest.raises(tusk.PgInterfaceError, match="asyncio"):

        async def agen() -> AsyncIterator[bytes]:
            yield b""

        conn.copy_in("t", agen())  # type: ignore[arg-type]

    def bad() -> Iterator[bytes]:
        yield b"5\te\n"
        raise Boom()

    with pytest.raises(Boom):
        conn.copy_in("t", bad())
    with pytest.raises(tusk.PgDataError) as e:
        conn.copy_in("t", b"6\tf\nx\ty\n")
    assert e.value.copy_line == 2
    out = io.BytesIO()
    assert conn.copy_out("t", out, format="csv") == 4
    assert sorted(out.getvalue().decode().splitlines()) == ["1,a", "2,b", "3,c", "4,d"]
    it = conn.copy_out("SELECT id FROM t ORDER BY id")
    assert b"".join(it) == b"1\n2\n3\n4\n"
    assert it.rows == 4
    with conn.transaction() as tx:
        assert tx.copy_in("t", b"7\tg\n") == 1
    pool = tusk.create_pool_sync(url, max_size=2)
    assert pool.copy_records_to_table("t", [(8, "h")]) == 1
    assert b"".join(pool.copy_out("SELECT count(*) FROM t")) == b"6\n"
    with pool.acquire() as c:
        assert c.copy_in("t", [b"9\ti\n"]) == 1
    pool.close()


async def test_copy_through_pgbouncer(bouncer_url: str) -> None:
    pool = await tusk.create_pool(bouncer_url, max_size=4)
    await pool.execute("CREATE TABLE t (id int, name text)")
    got = await asyncio.gather(
        *(pool.copy_records_to_table("t", [(i, f"n{i}")] * 10) for i in range(10)),
        *(pool.copy_in("t", b"100\tx\n") for _ in range(5)),
    )
    assert got == [10] * 10 + [1] * 5
    with pytest.raises(tusk.PgDataError):
        await pool.copy_in("t", b"zz\tq\n")
    out = io.BytesIO()
    assert await pool.copy_out("t", out) == 105
    async with pool.transaction() as tx:
        assert await tx.copy_records_to_table("t", [(1, "a")]) == 1
    assert await pool.fetchval("SELECT count(*) FROM t") == 106
    await pool.close()
