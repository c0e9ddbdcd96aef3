"""Ranges (every built-in kind, with empty and infinite bounds),
composites as tuples and enums as str, each checked against the server's
own text output, both ways."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

import tusk
from tusk import Range

UTC = dt.timezone.utc

# (range type, value sent, the server's text for it, the value read back)
RANGES: list[tuple[str, Range[Any], str, Range[Any]]] = [
    ("int4range", Range(1, 5), "[1,5)", Range(1, 5)),
    # Discrete ranges come back canonical, as the server prints them.
    ("int4range", Range(1, 5, "[]"), "[1,6)", Range(1, 6)),
    ("int4range", Range(1, 5, "()"), "[2,5)", Range(2, 5)),
    ("int4range", Range(None, 5), "(,5)", Range(None, 5)),
    ("int4range", Range(3, None), "[3,)", Range(3, None)),
    ("int4range", Range(), "(,)", Range()),
    ("int4range", Range(empty=True), "empty", Range(empty=True)),
    ("int4range", Range(4, 4), "empty", Range(empty=True)),
    ("int8range", Range(-9223372036854775807, 9223372036854775806, "[]"), "[-9223372036854775807,9223372036854775807)",
     Range(-9223372036854775807, 9223372036854775807)),
    ("numrange", Range(Decimal("1.5"), Decimal("2.25"), "(]"), "(1.5,2.25]", Range(Decimal("1.5"), Decimal("2.25"), "(]")),
    ("numrange", Range(None, Decimal("0"), "[]"), "(,0]", Range(None, Decimal("0"), "(]")),
    ("daterange", Range(dt.date(2024, 1, 1), dt.date(2024, 2, 29), "[]"), "[2024-01-01,2024-03-01)",
     Range(dt.date(2024, 1, 1), dt.date(2024, 3, 1))),
    ("daterange", Range(dt.date(2024, 1, 1), None), "[2024-01-01,)", Range(dt.date(2024, 1, 1), None)),
    ("tsrange", Range(dt.datetime(2024, 1, 1, 12), dt.datetime(2024, 1, 2), "(]"),
     '("2024-01-01 12:00:00","2024-01-02 00:00:00"]', Range(dt.datetime(2024, 1, 1, 12), dt.datetime(2024, 1, 2), "(]")),
    ("tstzrange", Range(dt.datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=UTC), None),
     '["2024-05-06 07:08:09.00001+00",)', Range(dt.datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=UTC), None)),
    ("tstzrange", Range(empty=True), "empty", Range(empty=True)),
]


@pytest.mark.parametrize(("sqltype", "sent", "text", "back"), RANGES, ids=[f"{r[0]}-{i}" for i, r in enumerate(RANGES)])
async def test_range_round_trip(pool: tusk.Pool, sqltype: str, sent: Range[Any], text: str, back: Range[Any]) -> None:
    async with pool.transaction() as tx:
        await tx.execute("SET LOCAL TimeZone = 'UTC'")
        row = await tx.query(f"SELECT $1::{sqltype} AS v, format('%s', $1::{sqltype}) AS t", sent).one()
        assert row["t"] == text
        assert row["v"] == back
        # The server's literal, decoded, is the same value.
        assert await tx.fetchval(f"SELECT '{text}'::{sqltype}") == back


async def test_range_in_a_column_and_an_array(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TEMP TABLE booking (during tstzrange, days int4range[])")
    during = Range(dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 1, 2, tzinfo=UTC))
    # No cast needed: the column gives the range's type.
    await conn.execute("INSERT INTO booking (during) VALUES ($1)", during)
    assert await conn.fetchval("SELECT during FROM booking") == during
    assert await conn.fetchval("SELECT during @> $1::timestamptz FROM booking", dt.datetime(2024, 1, 1, 6, tzinfo=UTC))
    got = await conn.fetchval("SELECT ARRAY['[1,3)'::int4range, 'empty', NULL]")
    assert got == [Range(1, 3), Range(empty=True), None]


async def test_ranges_and_addresses_in_array_parameters(conn: tusk.Connection) -> None:
    import ipaddress

    await conn.execute("CREATE TEMP TABLE slots (days int4range[], spans tstzrange[], nets inet[])")
    days = [Range(1, 3), None, Range(empty=True), Range(None, 5)]
    spans = [[Range(dt.datetime(2024, 1, 1, tzinfo=UTC), None)], [Range(empty=True)]]
    nets = [ipaddress.ip_address("10.1.2.3"), ipaddress.ip_interface("10.0.0.1/8"), None]
    # No casts: the columns name the array types, as they do for one range.
    await conn.execute("INSERT INTO slots VALUES ($1, $2, $3)", days, spans, nets)
    row = await conn.query("SELECT days, spans, nets::text[] AS nets FROM slots").one()
    assert row["days"] == days
    assert row["spans"] == spans
    assert row["nets"] == ["10.1.2.3/32", "10.0.0.1/8", None]
    # The same as the server's own literal (the oracle).
    assert await conn.fetchval("SELECT days = '{\"[1,3)\",NULL,empty,\"(,5)\"}' FROM slots")
    assert await conn.fetchval("SELECT $1::int4range[] @> ARRAY['[1,3)'::int4range]", days)
    assert await conn.fetchval("SELECT 2 <@ ANY($1::int4range[])", days)


def test_range_value_semantics() -> None:
    r = Range(1, 5, "[]")
    assert (r.lower, r.upper, r.lower_inc, r.upper_inc, r.lower_inf, r.upper_inf) == (1, 5, True, True, False, False)
    assert Range(None, 3, "[]").bounds == "(]"
    assert not Range(empty=True) and Range(empty=True).isempty
    assert repr(Range(1, 2)) == "Range(1, 2, '[)')"
    assert len({Range(1, 2), Range(1, 2)}) == 1
    with pytest.raises(ValueError):
        Range(1, 2, "[[")


async def test_composite_as_tuple(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TYPE pair AS (n int4, label text, at date, tags text[])")
    await conn.execute("CREATE TYPE outer_t AS (p pair, x float8)")
    lit = "ROW(7, 'sev''en', '2024-02-29', ARRAY['a', NULL])::pair"
    value = await conn.fetchval(f"SELECT {lit}")
    assert value == (7, "sev'en", dt.date(2024, 2, 29), ["a", None])
    assert await conn.fetchval(f"SELECT format('%s', {lit})") == "(7,sev'en,2024-02-29,\"{a,NULL}\")"
    # An array of composites.
    assert await conn.fetchval(f"SELECT ARRAY[{lit}, NULL]") == [value, None]
    # NULL fields, nested composites, and the composite of a table's row.
    assert await conn.fetchval("SELECT ROW(NULL, NULL, NULL, NULL)::pair") == (None, None, None, None)
    nested = await conn.fetchval("SELECT ROW(ROW(1, 'a', NULL, NULL)::pair, 2.5)::outer_t")
    assert nested == ((1, "a", None, None), 2.5)
    await conn.execute("CREATE TEMP TABLE item (id int8, name text)")
    await conn.execute("INSERT INTO item VALUES (1, 'one')")
    assert await conn.fetchval("SELECT i FROM item i") == (1, "one")
    assert await conn.fetchval("SELECT format('%s', i) FROM item i") == "(1,one)"


async def test_enums_as_str_against_the_server_text(conn: tusk.Connection) -> None:
    await conn.execute("CREATE TYPE weekday AS ENUM ('mon', 'tue', 'wed thu', 'ünï')")
    for label in ("mon", "wed thu", "ünï"):
        row = await conn.query("SELECT $1::weekday AS v, format('%s', $1::weekday) AS t", label).one()
        assert row["v"] == row["t"] == label
    assert await conn.fetchval("SELECT enum_range(NULL::weekday)") == ["mon", "tue", "wed thu", "ünï"]
    assert await conn.fetchval("SELECT ARRAY[['mon', NULL], ['tue', 'mon']]::weekday[]") == [["mon", None], ["tue", "mon"]]
    assert await conn.fetchval("SELECT '{}'::weekday[]") == []
    await conn.execute("CREATE TEMP TABLE shift (d weekday)")
    await conn.execute("INSERT INTO shift VALUES ($1)", "tue")
    assert await conn.fetchval("SELECT d FROM shift") == "tue"
    with pytest.raises(tusk.PgDataError):
        await conn.execute("INSERT INTO shift VALUES ($1)", "sun")


async def test_interval_with_months_and_negative_parts(conn: tusk.Connection) -> None:
    # A month is 30 days (as the server compares intervals).
    got = await conn.fetchval("SELECT '1 mon -1 sec'::interval")
    assert got == dt.timedelta(days=30, seconds=-1)
    assert await conn.fetchval("SELECT '-1 day -00:00:00.5'::interval") == dt.timedelta(days=-1, microseconds=-500000)
