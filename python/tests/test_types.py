"""Types both ways, table-driven: each value is sent as a parameter, read
back, and compared with the server's own text output; each server literal
is decoded and compared with the Python value."""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from decimal import Decimal
from typing import Any

import pytest

import tusk

UTC = dt.timezone.utc

# (SQL type, Python value, the server's text for it)
CASES: list[tuple[str, Any, str]] = [
    ("int2", 12, "12"),
    ("int4", -2147483648, "-2147483648"),
    ("int8", 9223372036854775807, "9223372036854775807"),
    ("float8", 1.5, "1.5"),
    ("float8", -0.1, "-0.1"),
    ("float4", 0.5, "0.5"),
    ("numeric", Decimal("12345678901234567890.000000000001"), "12345678901234567890.000000000001"),
    ("numeric", Decimal("-0.5"), "-0.5"),
    ("numeric", 123456789012345678901234567890, "123456789012345678901234567890"),
    ("bool", True, "t"),
    ("bool", False, "f"),
    ("text", "héllo 🐘", "héllo 🐘"),
    ("varchar", "v", "v"),
    ("bytea", b"\x00\x01\xff", "\\x0001ff"),
    ("date", dt.date(2024, 2, 29), "2024-02-29"),
    ("date", dt.date(1, 1, 1), "0001-01-01"),
    ("time", dt.time(13, 14, 15, 123456), "13:14:15.123456"),
    ("timestamp", dt.datetime(1999, 12, 31, 23, 59, 59, 999999), "1999-12-31 23:59:59.999999"),
    ("timestamp", dt.datetime(1900, 1, 1), "1900-01-01 00:00:00"),
    ("timestamptz", dt.datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=UTC), "2024-05-06 07:08:09.00001+00"),
    (
        "timestamptz",
        dt.datetime(2024, 5, 6, 9, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "2024-05-06 07:08:09+00",
    ),
    ("interval", dt.timedelta(days=3, seconds=3661, microseconds=5), "3 days 01:01:01.000005"),
    ("interval", dt.timedelta(days=-1), "-1 days"),
    ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678"), "12345678-1234-5678-1234-567812345678"),
    ("jsonb", {"a": [1, 2, None], "b": "x"}, '{"a": [1, 2, null], "b": "x"}'),
    ("json", {"k": 1.5}, '{"k": 1.5}'),
    ("int8[]", [1, None, 3], "{1,NULL,3}"),
    ("text[]", ["a", "b c", None], '{a,"b c",NULL}'),
    ("int8[]", [[1, 2], [3, 4]], "{{1,2},{3,4}}"),
    ("float8[]", [], "{}"),
    ("bool[]", [True, False], "{t,f}"),
    ("date[]", [dt.date(2020, 1, 1)], "{2020-01-01}"),
    ("uuid[]", [uuid.UUID(int=1)], "{00000000-0000-0000-0000-000000000001}"),
    ("numeric[]", [Decimal("1.10")], "{1.10}"),
    ("jsonb[]", [{"a": 1}], '{"{\\"a\\": 1}"}'),
    ("inet", ipaddress.ip_address("10.1.2.3"), "10.1.2.3"),
    ("inet", ipaddress.ip_interface("10.1.2.3/8"), "10.1.2.3/8"),
    ("cidr", ipaddress.ip_network("10.0.0.0/8"), "10.0.0.0/8"),
    ("inet", ipaddress.ip_address("::1"), "::1"),
]


@pytest.fixture(scope="module")
def tz_utc() -> str:
    return "UTC"


@pytest.mark.parametrize(("sqltype", "value", "text"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_round_trip(pool: tusk.Pool, sqltype: str, value: Any, text: str) -> None:
    async with pool.transaction() as tx:
        await tx.execute("SET LOCAL TimeZone = 'UTC'")
        # Sent as a parameter: read back as Python, and as the server's text
        # (format() prints with the type's output function).
        row = await tx.query(f"SELECT $1::{sqltype} AS v, format('%s', $1::{sqltype}) AS t", value).one()
        assert row["t"] == text
        assert row["v"] == value
        assert type(row["v"]) is type(value) or isinstance(value, int)
        # The server's literal decoded.
        lit = await tx.query(f"SELECT $1::text::{sqltype}", text).scalar()
        assert lit == value


async def test_null_of_every_type(conn: tusk.Connection) -> None:
    for sqltype, _, _ in CASES:
        assert await conn.query(f"SELECT $1::{sqltype}", None).scalar() is None
        assert await conn.query(f"SELECT NULL::{sqltype}").scalar() is None


async def test_parameters_need_no_casts(conn: tusk.Connection) -> None:
    await conn.execute(
        "CREATE TABLE t (i int4, b bigint, f float8, n numeric, s text, u uuid, d date,"
        " ts timestamptz, j jsonb, a int4[], flag bool, bin bytea, iv interval)"
    )
    u = uuid.uuid4()
    now = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    values = (
        5, 6, 1.25, Decimal("3.50"), "s", u, dt.date(2024, 1, 2), now, {"x": 1}, [1, 2], True, b"z",
        dt.timedelta(hours=1),
    )
    await conn.execute("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)", *values)
    row = await conn.query("SELECT * FROM t").one()
    assert tuple(row) == values
    # A str goes untyped, so it works for uuid, date and enum columns too.
    assert await conn.fetchval("SELECT count(*) FROM t WHERE u = $1 AND d = $2", str(u), "2024-01-02") == 1


async def test_enum_as_str(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TYPE mood AS ENUM ('sad', 'happy')")
    assert await conn.fetchval("SELECT 'happy'::mood") == "happy"
    assert await conn.fetchval("SELECT $1::mood::text", "sad") == "sad"


async def test_infinity_timestamps(conn: tusk.Connection) -> None:
    assert await conn.fetchval("SELECT 'infinity'::timestamp") == dt.datetime.max
    assert await conn.fetchval("SELECT '-infinity'::date") == dt.date.min


async def test_float_specials(conn: tusk.Connection) -> None:
    assert await conn.fetchval("SELECT 'Infinity'::float8") == float("inf")
    v = await conn.fetchval("SELECT 'NaN'::float8")
    assert v != v
