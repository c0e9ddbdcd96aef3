"""Adversarial review of COPY: copy_records_to_table at type edges against
INSERT of the same values (the oracle), hostile names, sources and outputs
that fail, cancellation, threads, and a pool of one whose connection must
come back from every COPY clean."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import threading
from decimal import Decimal
from typing import AsyncIterator, Iterator

import pytest

import tusk

UTC = dt.timezone.utc


class Boom(Exception):
    pass


async def same_as_insert(conn: tusk.Connection, coltype: str, values: list[object]) -> None:
    """Each value through INSERT and through copy_records_to_table: both
    store the same text, or both refuse."""
    await conn.execute(f"CREATE TABLE ins (v {coltype})")
    await conn.execute(f"CREATE TABLE cp (v {coltype})")
    for v in values:
        await conn.execute("TRUNCATE ins, cp")
        ins_err: Exception | None = None
        try:
            await conn.execute("INSERT INTO ins VALUES ($1)", v)
        except Exception as e:  # noqa: BLE001 - the oracle's outcome
            ins_err = e
        cp_err: Exception | None = None
        try:
            await conn.copy_records_to_table("cp", [(v,)])
        except Exception as e:  # noqa: BLE001
            cp_err = e
        assert (ins_err is None) == (cp_err is None), (coltype, v, ins_err, cp_err)
        if ins_err is None:
            a = await conn.fetchval("SELECT v::text FROM ins")
            b = await conn.fetchval("SELECT v::text FROM cp")
            assert a == b, (coltype, v, a, b)
        assert await conn.fetchval("SELECT 1") == 1


async def test_integers_at_their_edges(conn: tusk.Connection) -> None:
    await same_as_insert(conn, "int2", [0, 32767, -32768, 32768, -32769])
    await conn.execute("DROP TABLE ins, cp")
    await same_as_insert(conn, "int4", [2**31 - 1, -(2**31), 2**31, -(2**31) - 1])
    await conn.execute("DROP TABLE ins, cp")
    await same_as_insert(conn, "int8", [2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 10**30])


async def test_float8_specials(conn: tusk.Connection) -> None:
    await same_as_insert(
        conn, "float8", [float("nan"), float("inf"), float("-inf"), -0.0, 5e-324, 1.7976931348623157e308]
    )


async def test_float4_overflow_is_refused_like_insert(conn: tusk.Connection) -> None:
    # INSERT of 1e300 into a float4 column fails (value out of range); a
    # COPY of the same value must not store Infinity instead.
    await same_as_insert(conn, "float4", [1.5, float("inf"), float("nan"), 1e300, -1e300])


async def test_float4_underflow_is_refused_like_insert(conn: tusk.Connection) -> None:
    await same_as_insert(conn, "float4", [1e-50, 1e-40, -0.0])
    with pytest.raises(tusk.PgInterfaceError, match="overflow"):
        await conn.copy_records_to_table("cp", [(1e300,)])
    with pytest.raises(tusk.PgInterfaceError, match="underflow"):
        await conn.copy_records_to_table("cp", [(1e-50,)])


async def test_numeric_edges(conn: tusk.Connection) -> None:
    await same_as_insert(
        conn,
        "numeric",
        [
            Decimal("NaN"),
            Decimal("-0"),
            Decimal("0E-7"),
            Decimal("1.000"),
            Decimal("1E+100"),
            Decimal("1E-100"),
            Decimal("-123456789012345678901234567890.123456789"),
            10**40,
            -(10**40),
            0.1,
            0.1 + 0.2,
            1e20,
            1e-20,
            float("nan"),
        ],
    )
    # Exponents were refused by INSERT and COPY alike; both take them now.
    await conn.execute("TRUNCATE cp")
    n = await conn.copy_records_to_table("cp", [(Decimal("1E+3"),), (Decimal("0E-7"),), (1e20,), (Decimal("2.5E-3"),)])
    assert n == 4
    got = [r[0] for r in await conn.fetch("SELECT v::text FROM cp")]
    assert got == ["1000", "0.0000000", "100000000000000000000", "0.0025"]


async def test_numeric_infinity(conn: tusk.Connection) -> None:
    await same_as_insert(conn, "numeric", [Decimal("Infinity"), Decimal("-Infinity"), float("inf")])


async def test_numeric_beyond_the_servers_scale(conn: tusk.Connection) -> None:
    await same_as_insert(conn, "numeric", [Decimal("1E-20000"), Decimal("1E+200000")])


async def test_datetimes_at_their_edges(conn: tusk.Connection) -> None:
    await same_as_insert(conn, "timestamp", [dt.datetime.min, dt.datetime.max, dt.datetime(2000, 1, 1)])
    await conn.execute("DROP TABLE ins, cp")
    odd = [
        dt.timezone(dt.timedelta(hours=5, minutes=45)),
        dt.timezone(dt.timedelta(hours=-9, minutes=-30)),
        dt.timezone(dt.timedelta(hours=14)),
        dt.timezone(dt.timedelta(hours=-14)),
        dt.timezone(dt.timedelta(seconds=-1)),
        dt.timezone(dt.timedelta(hours=1, seconds=17, microseconds=5)),
    ]
    aware = [dt.datetime(2024, 3, 10, 2, 30, tzinfo=tz) for tz in odd]
    aware += [dt.datetime.min.replace(tzinfo=tz) for tz in odd]
    aware += [dt.datetime.max.replace(tzinfo=tz) for tz in odd]
    await same_as_insert(conn, "timestamptz", [*aware, dt.datetime.min.replace(tzinfo=UTC)])
    await conn.execute("DROP TABLE ins, cp")
    await same_as_insert(conn, "date", [dt.date.min, dt.date.max, dt.date(2000, 1, 1)])
    await conn.execute("DROP TABLE ins, cp")
    await same_as_insert(conn, "time", [dt.time.min, dt.time.max])
    await conn.execute("DROP TABLE ins, cp")
    await same_as_insert(
        conn,
        "interval",
        [dt.timedelta(0), dt.timedelta(days=-1, microseconds=1), dt.timedelta.max, dt.timedelta.min],
    )


async def test_strings_empty_and_nul(conn: tusk.Connection) -> None:
    await same_as_insert(conn, "text", ["", "é\u2603\U0001f600", " ", "a\\b\tc\nd"])
    await conn.execute("DROP TABLE ins, cp")
    await same_as_insert(conn, "bytea", [b"", b"\x00\xff", bytearray(b"\x00")])
    await conn.execute("CREATE TABLE nul (v text, j jsonb)")
    with pytest.raises(tusk.PgInterfaceError, match=r"record 2, column \"v\".*NUL"):
        await conn.copy_records_to_table("nul", [("ok", None), ("a\x00b", None)])
    with pytest.raises(tusk.PgInterfaceError, match="NUL"):
        await conn.copy_records_to_table("nul", [(None, "\x00")])
    assert await conn.fetchval("SELECT count(*) FROM nul") == 0
    assert await conn.copy_records_to_table("nul", [("", {"k": ""})]) == 1


async def test_generated_columns_are_left_to_the_server(conn: tusk.Connection) -> None:
    # COPY without a column list skips generated columns: the records
    # give the others, as asyncpg takes them.
    await conn.execute("CREATE TABLE g (a int, b int GENERATED ALWAYS AS (a * 2) STORED, c text)")
    assert await conn.copy_records_to_table("g", [(1, "x"), (2, "y")]) == 2
    rows = await conn.fetch("SELECT a, b, c FROM g ORDER BY a")
    assert [tuple(r) for r in rows] == [(1, 2, "x"), (2, 4, "y")]


async def test_dropped_columns(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE d (a int, gone text, c text)")
    await conn.execute("ALTER TABLE d DROP COLUMN gone")
    assert await conn.copy_records_to_table("d", [(1, "x")]) == 1
    assert await conn.fetchval("SELECT c FROM d") == "x"


async def test_wrong_lengths_and_not_null(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t (a int NOT NULL, b text)")
    for bad in ([(1, "a", 3)], [(1,)], [()], [(1, "a"), (2, "b", "c")]):
        with pytest.raises(tusk.PgInterfaceError, match="values for a COPY of 2 columns"):
            await conn.copy_records_to_table("t", bad)
    with pytest.raises(TypeError):
        await conn.copy_records_to_table("t", [5])  # type: ignore[list-item]
    with pytest.raises(tusk.PgInterfaceError):
        await conn.copy_records_to_table("t", ["ab"])
    with pytest.raises(tusk.NotNullViolation) as e:
        await conn.copy_records_to_table("t", [(1, "a"), (2, "b"), (None, "c")])
    assert e.value.copy_line == 3
    assert await conn.fetchval("SELECT count(*) FROM t") == 0


async def test_hostile_names(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t (id int)")
    await conn.execute('CREATE SCHEMA "s""; DROP TABLE t; --"')
    await conn.execute('CREATE TABLE "s""; DROP TABLE t; --"."x"")" (id int)')
    evil = 'id") FROM STDIN; DROP TABLE t; --'
    with pytest.raises(tusk.PgError):
        await conn.copy_in("t", b"1\n", columns=[evil])
    with pytest.raises(tusk.PgError):
        await conn.copy_records_to_table("t", [(1,)], columns=[evil])
    with pytest.raises(tusk.PgError):
        await conn.copy_out("t", io.BytesIO(), columns=[evil])
    with pytest.raises(tusk.PgError):
        await conn.copy_records_to_table('t"; DROP TABLE t; --', [(1,)])
    with pytest.raises(tusk.PgError):
        await conn.copy_records_to_table("t", [(1,)], schema_name='public"; DROP TABLE t; --')
    assert await conn.copy_records_to_table('x")', [(1,)], schema_name='s"; DROP TABLE t; --') == 1
    assert await conn.copy_in('x")', b"2\n", schema_name='s"; DROP TABLE t; --') == 1
    out = io.BytesIO()
    assert await conn.copy_out('x")', out, schema_name='s"; DROP TABLE t; --') == 2
    assert await conn.fetchval("SELECT to_regclass('t') IS NOT NULL") is True
    # A delimiter with a quote and a backslash is a literal, not SQL.
    with pytest.raises(tusk.PgError):
        await conn.copy_in("t", b"1\n", format="csv", delimiter="'; DROP TABLE t; --\\")
    assert await conn.fetchval("SELECT to_regclass('t') IS NOT NULL") is True


async def test_a_raising_generator_leaves_a_pool_of_one_clean(url: str) -> None:
    pool = await tusk.create_pool(url, max_size=1)
    try:
        await pool.execute("CREATE TABLE t (id int, name text)")

        def gen() -> Iterator[tuple[int, str]]:
            for i in range(100_000):
                yield (i, "x" * 10)
            raise Boom()

        with pytest.raises(Boom):
            await pool.copy_records_to_table("t", gen())

        def src() -> Iterator[bytes]:
            for i in range(100_000):
                yield f"{i}\tx\n".encode()
            raise Boom()

        with pytest.raises(Boom):
            await pool.copy_in("t", src())
        with pytest.raises(tusk.PgDataError):
            await pool.copy_in("t", b"1\ta\nnope\tb\n")
        with pytest.raises(tusk.PgInterfaceError):
            await pool.copy_records_to_table("t", [(1, "a"), ("b", 2)])
        assert await asyncio.wait_for(pool.fetchval("SELECT count(*) FROM t"), 10) == 0
        assert await pool.copy_records_to_table("t", [(1, "a")]) == 1
        assert await asyncio.wait_for(pool.fetchval("SELECT count(*) FROM t"), 10) == 1
    finally:
        await pool.close(grace=1.0)


async def test_copy_out_cancelled_midway_pool_of_one(url: str) -> None:
    pool = await tusk.create_pool(url, max_size=1)
    try:
        await pool.execute("CREATE TABLE t AS SELECT g AS id, repeat('x', 100) AS pad FROM generate_series(1, 200000) g")

        async def slow_reader() -> None:
            async for _ in pool.copy_out("t"):
                await asyncio.sleep(0.05)

        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(slow_reader(), 0.3)
        assert await asyncio.wait_for(pool.fetchval("SELECT count(*) FROM t"), 10) == 200_000

        async def slow_writer() -> None:
            class W:
                async def write(self, b: bytes) -> None:
                    await asyncio.sleep(0.05)

            await pool.copy_out("t", W())

        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(slow_writer(), 0.3)
        assert await asyncio.wait_for(pool.fetchval("SELECT 7"), 10) == 7
        out = io.BytesIO()
        assert await asyncio.wait_for(pool.copy_out("t", out), 30) == 200_000
    finally:
        await pool.close(grace=1.0)


async def test_copy_out_cancelled_midway_on_a_connection(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t AS SELECT g AS id, repeat('x', 100) AS pad FROM generate_series(1, 200000) g")

    async def slow_reader() -> None:
        async for _ in conn.copy_out("t"):
            await asyncio.sleep(0.05)

    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(slow_reader(), 0.3)
    assert await asyncio.wait_for(conn.fetchval("SELECT count(*) FROM t"), 10) == 200_000

    async def slow_source() -> AsyncIterator[bytes]:
        for i in range(1000):
            yield f"{i}\tx\n".encode()
            await asyncio.sleep(0.01)

    await conn.execute("CREATE TABLE u (id int, pad text)")
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(conn.copy_in("u", slow_source()), 0.2)
    assert await asyncio.wait_for(conn.fetchval("SELECT count(*) FROM u"), 10) == 0


async def test_copy_in_rolled_back_with_its_transaction(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t (id int)")
    with pytest.raises(Boom):
        async with conn.transaction():
            assert await conn.copy_in("t", b"1\n2\n") == 2
            assert await conn.copy_records_to_table("t", [(3,)]) == 1
            assert await conn.fetchval("SELECT count(*) FROM t") == 3
            raise Boom()
    assert await conn.fetchval("SELECT count(*) FROM t") == 0
    # A failed COPY inside a transaction aborts it; the block rolls back.
    with pytest.raises(tusk.PgDataError):
        async with conn.transaction() as tx:
            await tx.copy_in("t", b"1\n")
            await tx.copy_in("t", b"x\n")
    assert await conn.fetchval("SELECT count(*) FROM t") == 0


async def test_copy_out_into_a_file_whose_write_raises(url: str) -> None:
    pool = await tusk.create_pool(url, max_size=1)
    try:
        await pool.execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 300000) g")

        class Bad:
            def __init__(self) -> None:
                self.calls = 0

            def write(self, b: bytes) -> int:
                self.calls += 1
                if self.calls == 2:
                    raise OSError("disk full")
                return len(b)

        with pytest.raises(OSError, match="disk full"):
            await pool.copy_out("t", Bad())

        class ABad:
            async def write(self, b: bytes) -> None:
                raise Boom()

        with pytest.raises(Boom):
            await pool.copy_out("t", ABad())
        assert await asyncio.wait_for(pool.fetchval("SELECT count(*) FROM t"), 10) == 300_000
        async with pool.acquire() as c:
            with pytest.raises(OSError):
                await c.copy_out("t", Bad())
            assert await asyncio.wait_for(c.fetchval("SELECT 3"), 10) == 3
    finally:
        await pool.close(grace=1.0)


def test_sync_copy_out_into_a_raising_file_and_abandoned_iterators(url: str) -> None:
    pool = tusk.create_pool_sync(url, max_size=1)
    try:
        pool.execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 300000) g")

        class Bad:
            def write(self, b: bytes) -> int:
                raise OSError("disk full")

        with pytest.raises(OSError):
            pool.copy_out("t", Bad())
        assert pool.fetchval("SELECT count(*) FROM t") == 300_000
        it = pool.copy_out("t")
        next(it)
        it.close()
        assert pool.fetchval("SELECT 1") == 1
        it2 = pool.copy_out("t")
        next(it2)
        del it2
        assert pool.fetchval("SELECT 2") == 2
    finally:
        pool.close()


def test_sync_copies_from_threads_on_one_pool(url: str) -> None:
    pool = tusk.create_pool_sync(url, max_size=3)
    try:
        pool.execute("CREATE TABLE t (id int, name text)")
        errors: list[BaseException] = []

        def work(k: int) -> None:
            try:
                for j in range(5):
                    assert pool.copy_records_to_table("t", [(k, f"r{j}")] * 200) == 200
                    assert pool.copy_in("t", f"{k}\tin{j}\n".encode() * 100) == 100
                    out = io.BytesIO()
                    assert pool.copy_out(f"SELECT * FROM t WHERE id = {k}", out, format="csv") >= 300
                    if j == 2:
                        with pytest.raises(tusk.PgDataError):
                            pool.copy_in("t", b"bad\trow\n")
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        assert pool.fetchval("SELECT count(*) FROM t") == 8 * 5 * 300
    finally:
        pool.close()


async def test_odd_python_values(conn: tusk.Connection) -> None:
    await same_as_insert(conn, "int4", [True, 3])
    await conn.execute("DROP TABLE ins, cp")
    await same_as_insert(conn, "float8", [10**400, Decimal("1.5"), 7])
    await conn.execute("DROP TABLE ins, cp")
    await same_as_insert(conn, "text", ["\ud800"])
    await conn.execute("DROP TABLE ins, cp")
    await same_as_insert(conn, "jsonb", [{"a": float("nan")}, '{"a": 1}', {"k": [1, "x"]}])
    # (A list is an array parameter to INSERT; to copy_records_to_table,
    # whose column type is known, JSON.)
    await conn.execute("TRUNCATE cp")
    assert await conn.copy_records_to_table("cp", [([1, "x"],)]) == 1
    assert await conn.fetchval("SELECT v::text FROM cp") == '[1, "x"]'
    await conn.execute("CREATE TABLE i (v int4)")
    with pytest.raises(tusk.PgInterfaceError, match="got a value of type bool"):
        await conn.copy_records_to_table("i", [(True,)])


async def test_concurrent_copies_on_one_connection(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t (id int, who text)")

    async def src(who: str) -> AsyncIterator[bytes]:
        for i in range(200):
            yield f"{i}\t{who}\n".encode()
            await asyncio.sleep(0)

    got = await asyncio.wait_for(
        asyncio.gather(
            conn.copy_in("t", src("a")),
            conn.copy_in("t", src("b")),
            conn.copy_records_to_table("t", [(i, "c") for i in range(200)]),
            conn.fetchval("SELECT 1"),
            conn.copy_out("SELECT 1", io.BytesIO()),
        ),
        60,
    )
    assert list(got[:4]) == [200, 200, 200, 1]
    rows = await conn.fetch("SELECT who, count(*) FROM t GROUP BY who ORDER BY who")
    assert [tuple(r) for r in rows] == [("a", 200), ("b", 200), ("c", 200)]


def test_sync_copies_from_threads_on_one_connection(url: str) -> None:
    conn = tusk.connect_sync(url)
    try:
        conn.execute("CREATE TABLE t (id int, who text)")
        errors: list[BaseException] = []

        def work(k: int) -> None:
            try:
                for _ in range(5):
                    assert conn.copy_records_to_table("t", [(k, "r")] * 100) == 100
                    assert conn.copy_in("t", f"{k}\ti\n".encode() * 100) == 100
                    assert conn.fetchval("SELECT 1") == 1
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        assert conn.fetchval("SELECT count(*) FROM t") == 4 * 5 * 200
    finally:
        conn.close()


async def test_a_failed_copy_does_not_keep_the_table_locked(conn: tusk.Connection, url: str) -> None:
    # A COPY that fails on our side (a value that cannot be encoded, a
    # source that raises) must be over on the server when the call
    # raises: not left open (with its lock and transaction) until the
    # connection is next used.
    await conn.execute("CREATE TABLE t (v int4)")
    other = await tusk.connect(url)
    try:
        await other.execute("SET lock_timeout = '3s'")
        with pytest.raises(tusk.PgInterfaceError):
            await conn.copy_records_to_table("t", [(1,), ("x",)])
        await other.execute("TRUNCATE t")

        def bad() -> Iterator[bytes]:
            yield b"1\n"
            raise Boom()

        with pytest.raises(Boom):
            await conn.copy_in("t", bad())
        await other.execute("TRUNCATE t")

        class Bad:
            def write(self, b: bytes) -> int:
                raise Boom()

        await conn.execute("INSERT INTO t SELECT generate_series(1, 200000)")
        with pytest.raises(Boom):
            await conn.copy_out("t", Bad())
        await other.execute("TRUNCATE t")
        assert await conn.fetchval("SELECT count(*) FROM t") == 0
    finally:
        await other.close()


def test_a_failed_sync_copy_does_not_keep_the_table_locked(url: str) -> None:
    conn = tusk.connect_sync(url)
    other = tusk.connect_sync(url)
    try:
        conn.execute("CREATE TABLE t (v int4)")
        other.execute("SET lock_timeout = '3s'")
        with pytest.raises(tusk.PgInterfaceError):
            conn.copy_records_to_table("t", [(1,), ("x",)])
        other.execute("TRUNCATE t")
    finally:
        other.close()
        conn.close()


async def test_a_cancelled_copy_does_not_keep_the_table_locked(conn: tusk.Connection, url: str) -> None:
    await conn.execute("CREATE TABLE t (v int4)")

    async def slow() -> AsyncIterator[bytes]:
        for i in range(1000):
            yield f"{i}\n".encode()
            await asyncio.sleep(0.01)

    other = await tusk.connect(url)
    try:
        await other.execute("SET lock_timeout = '3s'")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(conn.copy_in("t", slow()), 0.2)
        await asyncio.sleep(0.2)
        await other.execute("TRUNCATE t")
    finally:
        await other.close()


async def test_an_abandoned_copy_out_does_not_keep_the_table_locked(conn: tusk.Connection, url: str) -> None:
    await conn.execute("CREATE TABLE t AS SELECT g AS v FROM generate_series(1, 300000) g")
    other = await tusk.connect(url)
    try:
        await other.execute("SET lock_timeout = '3s'")
        it = conn.copy_out("t")
        async for _ in it:
            break
        await it.aclose()
        await asyncio.sleep(0.2)
        await other.execute("TRUNCATE t")
        assert await conn.fetchval("SELECT count(*) FROM t") == 0
    finally:
        await other.close()


async def test_a_cancelled_copy_on_a_pool_of_one(url: str) -> None:
    pool = await tusk.create_pool(url, max_size=1)
    other = await tusk.connect(url)
    try:
        await pool.execute("CREATE TABLE t (v int4)")
        await other.execute("SET lock_timeout = '3s'")

        def many() -> Iterator[tuple[int]]:
            for i in range(5_000_000):
                yield (i,)

        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(pool.copy_records_to_table("t", many()), 0.2)
        await asyncio.sleep(0.2)
        await other.execute("TRUNCATE t")
        assert await asyncio.wait_for(pool.fetchval("SELECT count(*) FROM t"), 10) == 0
        assert await pool.copy_records_to_table("t", [(1,)]) == 1
    finally:
        await other.close()
        await pool.close(grace=1.0)
