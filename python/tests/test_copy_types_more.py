"""copy_records_to_table for the types beyond the scalar ones: timetz,
inet, cidr, macaddr, "char", ranges, multiranges and composites (and
arrays of them). The oracle is the server itself: the same value written
as a SQL literal and read back as text must print exactly as what COPY
stored; what the server would refuse (or what has no faithful binary
form) is a PgInterfaceError or the server's own error, and the connection
stays usable."""

from __future__ import annotations

import datetime as dt
import ipaddress
from decimal import Decimal
from typing import Any

import pytest

import tusk
from tusk import Range

UTC = dt.timezone.utc
EAST = dt.timezone(dt.timedelta(hours=5, minutes=30))
WEST = dt.timezone(dt.timedelta(hours=-3))

# (column type, Python value, the same value as a SQL literal)
CASES: list[tuple[str, Any, str]] = [
    ("timetz", dt.time(12, 34, 56, 789, tzinfo=UTC), "12:34:56.000789+00"),
    ("timetz", dt.time(1, 2, 3, tzinfo=EAST), "01:02:03+05:30"),
    ("timetz", dt.time(23, 59, 59, 999999, tzinfo=WEST), "23:59:59.999999-03"),
    ("timetz", dt.time(0, 0, tzinfo=dt.timezone(dt.timedelta(hours=1, seconds=7))), "00:00:00+01:00:07"),
    ("inet", ipaddress.ip_address("192.168.0.1"), "192.168.0.1"),
    ("inet", ipaddress.ip_interface("10.1.2.3/8"), "10.1.2.3/8"),
    ("inet", ipaddress.ip_network("10.0.0.0/8"), "10.0.0.0/8"),
    ("inet", ipaddress.ip_address("::1"), "::1"),
    ("inet", ipaddress.ip_interface("2001:db8::5/64"), "2001:db8::5/64"),
    ("inet", "172.16.0.9/12", "172.16.0.9/12"),
    ("inet", "::ffff:1.2.3.4", "::ffff:1.2.3.4"),
    ("cidr", ipaddress.ip_network("192.168.0.0/16"), "192.168.0.0/16"),
    ("cidr", ipaddress.ip_address("10.0.0.7"), "10.0.0.7/32"),
    ("cidr", ipaddress.ip_network("2001:db8::/32"), "2001:db8::/32"),
    ("cidr", "0.0.0.0/0", "0.0.0.0/0"),
    ("macaddr", "08:00:2b:01:02:03", "08:00:2b:01:02:03"),
    ("macaddr", "0800.2B01.0203", "0800.2b01.0203"),
    ("\"char\"", "x", "x"),
    ("\"char\"", b"\x01", "\\001"),
    ("int4range", Range(1, 5), "[1,5)"),
    ("int4range", Range(1, 5, "[]"), "[1,5]"),
    ("int4range", Range(1, 5, "()"), "(1,5)"),
    ("int4range", Range(None, 5), "(,5)"),
    ("int4range", Range(3, None), "[3,)"),
    ("int4range", Range(), "(,)"),
    ("int4range", Range(empty=True), "empty"),
    ("int4range", Range(4, 4), "[4,4)"),
    ("int8range", Range(-(2**62), 2**62, "[]"), f"[{-(2**62)},{2**62}]"),
    ("numrange", Range(Decimal("1.5"), Decimal("2.25"), "(]"), "(1.5,2.25]"),
    ("numrange", Range(1, 2.5), "[1,2.5)"),
    ("daterange", Range(dt.date(2024, 1, 1), dt.date(2024, 12, 31), "[]"), "[2024-01-01,2024-12-31]"),
    ("tsrange", Range(dt.datetime(2024, 1, 1, 8), None), "[2024-01-01 08:00,)"),
    ("tstzrange", Range(dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 1, 2, tzinfo=EAST)),
     "[2024-01-01 00:00+00,2024-01-02 00:00+05:30)"),
    ("int4multirange", [Range(1, 3), Range(5, 8, "[]")], "{[1,3),[5,8]}"),
    ("int4multirange", [Range(1, 3), Range(2, 6)], "{[1,3),[2,6)}"),
    ("int4multirange", [], "{}"),
    ("pair", (1, "one"), "(1,one)"),
    ("pair", (None, "a \"quoted\", (paren)"), "(,\"a \"\"quoted\"\", (paren)\")"),
    ("pair", (None, None), "(,)"),
    ("nested", ((2, "two"), [Range(1, 2)], dt.time(1, 0, tzinfo=UTC)), "(\"(2,two)\",\"{\"\"[1,2)\"\"}\",01:00:00+00)"),
    ("pair[]", [(1, "a"), None, (3, None)], "{\"(1,a)\",NULL,\"(3,)\"}"),
    ("inet[]", [ipaddress.ip_address("1.2.3.4"), None, "::2"], "{1.2.3.4,NULL,::2}"),
    ("int4range[]", [Range(1, 2), Range(empty=True)], "{\"[1,2)\",empty}"),
    ("timetz[]", [dt.time(3, 4, tzinfo=WEST)], "{03:04:00-03}"),
    ("pairdom", (7, "seven"), "(7,seven)"),
]


async def _schema(conn: tusk.Connection) -> None:
    await conn.execute("SET TimeZone = 'UTC'")
    await conn.execute("CREATE TYPE pair AS (n int4, s text)")
    await conn.execute("CREATE TYPE nested AS (p pair, r int4range[], t timetz)")
    await conn.execute("CREATE DOMAIN pairdom AS pair CHECK ((VALUE).n > 0)")


async def test_copy_records_round_trips_more_types(conn: tusk.Connection) -> None:
    await _schema(conn)
    cols = ", ".join(f"c{i} {t}" for i, (t, _, _) in enumerate(CASES))
    await conn.execute(f"CREATE TABLE t (src text, {cols})")
    literals = ", ".join(
        "'" + lit.replace("'", "''") + f"'::{t}" for t, _, lit in CASES
    )
    await conn.execute(f"INSERT INTO t VALUES ('literal', {literals})")
    values = tuple(v for _, v, _ in CASES)
    assert await conn.copy_records_to_table("t", [("copy", *values)]) == 1
    assert await conn.copy_records_to_table("t", [("copy-null", *([None] * len(CASES)))]) == 1
    texts = ", ".join(f"c{i}::text" for i in range(len(CASES)))
    want = await conn.query(f"SELECT {texts} FROM t WHERE src = 'literal'").one()
    got = await conn.query(f"SELECT {texts} FROM t WHERE src = 'copy'").one()
    nulls = await conn.query(f"SELECT {texts} FROM t WHERE src = 'copy-null'").one()
    for i, (t, v, lit) in enumerate(CASES):
        assert got[i] == want[i], (t, v, lit, got[i], want[i])
        assert nulls[i] is None, t
    # And as Python values: what the module reads back for both rows.
    want_v = await conn.query("SELECT * FROM t WHERE src = 'literal'").one()
    got_v = await conn.query("SELECT * FROM t WHERE src = 'copy'").one()
    assert repr(tuple(got_v)[1:]) == repr(tuple(want_v)[1:])


# (column type, a value it must refuse, what the message says)
REFUSED: list[tuple[str, Any, str]] = [
    ("timetz", dt.time(1, 2), "naive time"),
    ("timetz", dt.datetime(2020, 1, 1, tzinfo=UTC), "timetz"),
    ("timetz", dt.time(1, 2, tzinfo=dt.timezone(dt.timedelta(microseconds=5))), "microseconds"),
    ("inet", "not an address", "not a valid inet"),
    ("inet", 17, "inet"),
    ("inet", "fe80::1%eth0", "zone"),
    ("cidr", "10.0.0.1/8", "not a valid cidr"),
    ("cidr", ipaddress.ip_interface("10.0.0.1/8"), "not a valid cidr"),
    ("macaddr", "08:00:2b:01:02", "not a MAC address"),
    ("macaddr", b"\x08\x00\x2b\x01\x02\x03", "macaddr"),
    ("\"char\"", "ab", "one ASCII character"),
    ("\"char\"", "é", "one ASCII character"),
    ("int4range", (1, 5), "range"),
    ("int4range", Range(1.5, 2), "int4"),
    ("int4multirange", Range(1, 2), "list of ranges"),
    ("int4multirange", [None], "None"),
    ("pair", [1, "a"], "tuple"),
    ("pair", (1,), "2 fields"),
    ("pair", ("x", "a"), "int4"),
]


async def test_copy_records_refuses_bad_values_of_more_types(conn: tusk.Connection) -> None:
    await _schema(conn)
    wrong: list[tuple[str, Any, str]] = []
    for t, v, msg in REFUSED:
        await conn.execute("DROP TABLE IF EXISTS r")
        await conn.execute(f"CREATE TABLE r (c {t})")
        try:
            await conn.copy_records_to_table("r", [(v,)])
        except tusk.PgInterfaceError as e:
            if msg not in str(e) or 'column "c"' not in str(e):
                wrong.append((t, v, str(e)))
        else:
            wrong.append((t, v, "accepted"))
        if await conn.fetchval("SELECT count(*) FROM r") != 0:
            wrong.append((t, v, "stored"))
    assert wrong == []


async def test_copy_records_server_checks_what_it_checks_for_insert(conn: tusk.Connection) -> None:
    """A range whose bounds are out of order and a composite breaking its
    domain's CHECK are the server's to refuse, as for INSERT: its error,
    nothing stored, the connection usable."""
    await _schema(conn)
    await conn.execute("CREATE TABLE r (a int4range, b pairdom)")
    with pytest.raises(tusk.PgError) as e:
        await conn.copy_records_to_table("r", [(Range(5, 1), None)])
    assert "lower bound" in str(e.value)
    with pytest.raises(tusk.PgIntegrityError):
        await conn.copy_records_to_table("r", [(None, (-1, "neg"))])
    assert await conn.copy_records_to_table("r", [(Range(1, 5), (1, "ok"))]) == 1
    assert await conn.fetchval("SELECT a::text || ' ' || b::text FROM r") == "[1,5) (1,ok)"


async def test_copy_records_names_a_type_without_an_encoder(conn: tusk.Connection) -> None:
    """Still no binary encoder (point, tsvector, a composite holding one):
    refused before anything is sent, the column and type named."""
    await conn.execute("CREATE TYPE withpoint AS (p point)")
    for t in ("point", "tsvector", "withpoint", "point[]"):
        await conn.execute("DROP TABLE IF EXISTS r")
        await conn.execute(f"CREATE TABLE r (ok int4, c {t})")
        with pytest.raises(tusk.PgInterfaceError) as e:
            await conn.copy_records_to_table("r", [(1, None)])
        assert 'column "c"' in str(e.value) and "csv" in str(e.value), str(e.value)
        assert await conn.copy_records_to_table("r", [(1,)], columns=["ok"]) == 1
