"""Errors: the class hierarchy and the server's fields."""

from __future__ import annotations

import pytest

import tusk


def test_hierarchy() -> None:
    assert issubclass(tusk.UniqueViolation, tusk.PgIntegrityError)
    assert issubclass(tusk.PgIntegrityError, tusk.PgError)
    assert issubclass(tusk.PgPoolExhausted, tusk.PgConnectionError)
    assert issubclass(tusk.PgSerializationError, tusk.PgTransactionRollback)
    assert issubclass(tusk.PgDeadlockError, tusk.PgTransactionRollback)
    assert issubclass(tusk.PgError, Exception)
    assert tusk.PgError.__module__ == "tusk"


async def test_syntax_error_fields(conn: tusk.Connection) -> None:
    with pytest.raises(tusk.PgSyntaxError) as ei:
        await conn.execute("SELEC 1")
    e = ei.value
    assert e.sqlstate == "42601"
    assert e.sqlstate_name == "syntax_error"
    assert e.severity == "ERROR"
    assert e.message == 'syntax error at or near "SELEC"'
    assert e.position == 1
    assert e.detail is None
    assert "SELEC" in str(e)


@pytest.mark.parametrize(
    ("sql", "cls", "constraint"),
    [
        ("INSERT INTO child VALUES (1, 1)", tusk.UniqueViolation, "child_pkey"),
        ("INSERT INTO child VALUES (2, 99)", tusk.ForeignKeyViolation, "child_parent_fkey"),
        ("INSERT INTO child VALUES (NULL, 1)", tusk.NotNullViolation, None),
        ("INSERT INTO child VALUES (-1, 1)", tusk.CheckViolation, "child_id_check"),
    ],
)
async def test_integrity_errors(conn: tusk.Connection, sql: str, cls: type[tusk.PgError], constraint: str | None) -> None:
    await conn.execute("CREATE TABLE parent (id int PRIMARY KEY)")
    await conn.execute("CREATE TABLE child (id int PRIMARY KEY CHECK (id > 0), parent int REFERENCES parent)")
    await conn.execute("INSERT INTO parent VALUES (1)")
    await conn.execute("INSERT INTO child VALUES (1, 1)")
    with pytest.raises(cls) as ei:
        await conn.execute(sql)
    assert ei.value.table_name == "child"
    assert ei.value.schema_name == "public"
    assert ei.value.constraint_name == constraint
    if cls is tusk.NotNullViolation:
        assert ei.value.column_name == "id"
    if cls is tusk.UniqueViolation:
        assert ei.value.detail == "Key (id)=(1) already exists."


async def test_data_and_permission_and_rollback_errors(conn: tusk.Connection) -> None:
    with pytest.raises(tusk.PgDataError) as ei:
        await conn.fetchval("SELECT 1 / 0")
    assert ei.value.sqlstate == "22012"
    await conn.execute("CREATE ROLE nobody_" + "x NOLOGIN")
    await conn.execute("CREATE TABLE secret (x int)")
    async with conn.transaction() as tx:
        await tx.execute("SET LOCAL ROLE nobody_x")
        with pytest.raises(tusk.PgPermissionError):
            await tx.execute("SELECT * FROM secret")
        # The failed transaction is rolled back on exit by the exception below.
    for code, cls in [("40001", tusk.PgSerializationError), ("40P01", tusk.PgDeadlockError)]:
        with pytest.raises(cls) as e2:
            await conn.execute(f"DO $$BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = '{code}'; END$$")
        assert e2.value.sqlstate == code
        assert e2.value.hint is None
    with pytest.raises(tusk.PgError) as e3:
        await conn.execute("DO $$BEGIN RAISE EXCEPTION 'mine' USING ERRCODE = 'P0001', HINT = 'do this'; END$$")
    assert e3.value.hint == "do this"
    assert e3.value.message == "mine"


async def test_connect_error_is_typed() -> None:
    with pytest.raises(tusk.PgConnectionError):
        await tusk.connect("postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2")
