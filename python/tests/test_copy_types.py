"""copy_records_to_table over every type it encodes, with INSERT of the
same values as the oracle: both rows are read back as the server's text
(and as Python values) and must be equal."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import tusk

UTC = dt.timezone.utc
PLUS2 = dt.timezone(dt.timedelta(hours=2, minutes=30))

# (column type, Python value)
CASES: list[tuple[str, Any]] = [
    ("int2", -32768),
    ("int4", 2147483647),
    ("int8", -9223372036854775808),
    ("oid", 4000000000),
    ("float4", 0.1),
    ("float4", 3),
    ("float8", -1.0000000000000002),
    ("float8", float("inf")),
    ("float8", 7),
    ("numeric", Decimal("-12345678901234567890.000000000001")),
    ("numeric", Decimal("NaN")),
    ("numeric", 123456789012345678901234567890),
    ("numeric", 1.5),
    ("numeric(10,2)", Decimal("3.14159")),
    ("bool", True),
    ("bool", False),
    ("text", "héllo 🐘 \t\n\\ 'quoted' \"d\""),
    ("text", ""),
    ("varchar(5)", "abc"),
    ("char(3)", "ab"),
    ("name", "a_name"),
    ("bytea", b"\x00\x01\xff\\"),
    ("bytea", bytearray(b"ba")),
    ("json", {"k": [1.5, None, "x"]}),
    ("json", '{"raw":  "text kept as is"}'),
    ("jsonb", {"a": {"b": [1, 2]}, "é": True}),
    ("jsonb", "[3]"),
    ("date", dt.date(2024, 2, 29)),
    ("date", dt.date(1, 1, 1)),
    ("date", dt.date(9999, 12, 31)),
    ("time", dt.time(23, 59, 59, 999999)),
    ("time", dt.time(0, 0)),
    ("timestamp", dt.datetime(1999, 12, 31, 23, 59, 59, 999999)),
    ("timestamp", dt.datetime(1, 1, 1, 0, 0, 0, 1)),
    ("timestamp", dt.datetime(1969, 7, 20, 20, 17, 40)),
    ("timestamptz", dt.datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=UTC)),
    ("timestamptz", dt.datetime(2024, 5, 6, 9, 38, 9, tzinfo=PLUS2)),
    ("timestamptz", dt.datetime(1900, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5)))),
    ("interval", dt.timedelta(days=3, seconds=3661, microseconds=5)),
    ("interval", dt.timedelta(days=-1, microseconds=1)),
    ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ("mood", "happy"),
    ("posint", 5),
    ("int4[]", [1, None, 3]),
    ("int8[]", [[1, 2], [3, 4]]),
    ("text[]", ["a", "b,c", None, '"q"', ""]),
    ("text[]", []),
    ("float8[]", [1.5, float("-inf")]),
    ("bool[]", [True, None]),
    ("numeric[]", [Decimal("1.10"), None]),
    ("date[]", [dt.date(2020, 1, 1)]),
    ("timestamptz[]", [dt.datetime(2020, 1, 1, tzinfo=UTC)]),
    ("uuid[]", [uuid.UUID(int=1)]),
    ("jsonb[]", [{"a": 1}, None]),
    ("bytea[]", [b"x", b""]),
    ("interval[]", [dt.timedelta(hours=1)]),
]


async def _schema(conn: tusk.Connection) -> str:
    await conn.execute("CREATE TYPE mood AS ENUM ('sad', 'happy')")
    await conn.execute("CREATE DOMAIN posint AS int4 CHECK (VALUE > 0)")
    cols = ", ".join(f"c{i} {t}" for i, (t, _) in enumerate(CASES))
    return cols


async def test_copy_records_round_trips_every_type(conn: tusk.Connection) -> None:
    cols = await _schema(conn)
    await conn.execute("SET TimeZone = 'UTC'")
    await conn.execute(f"CREATE TABLE t (src text, {cols})")
    values = tuple(v for _, v in CASES)
    marks = ", ".join(f"${i + 2}" for i in range(len(CASES)))
    await conn.execute(f"INSERT INTO t VALUES ($1, {marks})", "insert", *values)
    assert await conn.copy_records_to_table("t", [("copy", *values)]) == 1
    # NULL in every column, both ways.
    await conn.execute(f"INSERT INTO t VALUES ($1, {marks})", "insert-null", *([None] * len(CASES)))
    assert await conn.copy_records_to_table("t", [("copy-null", *([None] * len(CASES)))]) == 1
    texts = ", ".join(f"format('%s', c{i})" for i in range(len(CASES)))
    for a, b in (("insert", "copy"), ("insert-null", "copy-null")):
        want = await conn.query(f"SELECT {texts} FROM t WHERE src = $1", a).one()
        got = await conn.query(f"SELECT {texts} FROM t WHERE src = $1", b).one()
        for i, (t, v) in enumerate(CASES):
            assert got[i] == want[i], (t, v, got[i], want[i])
        want_v = await conn.query("SELECT * FROM t WHERE src = $1", a).one()
        got_v = await conn.query("SELECT * FROM t WHERE src = $1", b).one()
        assert repr(tuple(got_v)[1:]) == repr(tuple(want_v)[1:])


def test_copy_records_round_trips_sync(url: str) -> None:
    conn = tusk.connect_sync(url)
    conn.execute("CREATE TABLE t (src text, a int8, b text, c float8, d timestamptz, e bool)")
    row = (7, "x", 2.5, dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC), True)
    conn.execute("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6)", "insert", *row)
    assert conn.copy_records_to_table("t", [["copy", *row]]) == 1
    rows = conn.fetch("SELECT * FROM t ORDER BY src DESC")
    assert tuple(rows[0])[1:] == tuple(rows[1])[1:] == row


async def test_copy_records_refuses_what_it_cannot_encode(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t (a point, b int4)")
    try:
        await conn.copy_records_to_table("t", [(None, 1)])
    except tusk.PgInterfaceError as e:
        assert "column \"a\" of type point" in str(e)
    else:
        raise AssertionError("point accepted")
    assert await conn.copy_records_to_table("t", [(2,)], columns=["b"]) == 1
    await conn.execute("CREATE TABLE u (ts timestamp, d date, f float8, b bool, j int4)")
    bad: list[tuple[str, Any]] = [
        ("ts", dt.datetime(2020, 1, 1, tzinfo=UTC)),
        ("d", dt.datetime(2020, 1, 1)),
        ("f", "1.5"),
        ("b", 1),
        ("j", 1.0),
        ("j", True and "x"),
    ]
    for col, v in bad:
        try:
            await conn.copy_records_to_table("u", [(v,)], columns=[col])
        except tusk.PgInterfaceError as e:
            assert f'column "{col}"' in str(e)
        else:
            raise AssertionError(f"{col} took {v!r}")
    assert await conn.fetchval("SELECT count(*) FROM u") == 0


class Index:
    """An integer-like object (as numpy's integers are): has __index__."""

    def __init__(self, v: int) -> None:
        self.v = v

    def __index__(self) -> int:
        return self.v


class Floaty:
    """A float-like object (as numpy's float32 is): has __float__."""

    def __float__(self) -> float:
        return 2.5


async def test_copy_records_takes_int_and_float_likes(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TABLE t (i int4, b int8, f float8, r float4)")
    n = await conn.copy_records_to_table("t", [(Index(7), Index(-2**40), Floaty(), Decimal("0.5"))])
    assert n == 1
    assert tuple(await conn.query("SELECT * FROM t").one()) == (7, -2**40, 2.5, 0.5)
    try:
        await conn.copy_records_to_table("t", [(1.5, 1, 1.0, 1.0)])
    except tusk.PgInterfaceError as e:
        assert 'column "i"' in str(e)
    else:
        raise AssertionError("a float went into an int4 column")
