"""Rows in other shapes: tuples, dicts, dataclasses, pydantic models."""

from __future__ import annotations

import dataclasses
from typing import Any

import pydantic
import pytest

import tusk

SQL = "SELECT g AS id, 'n' || g AS name FROM generate_series(1, 3) g"


@dataclasses.dataclass
class Item:
    id: int
    name: str


class ItemModel(pydantic.BaseModel):
    id: int
    name: str


async def test_into(conn: tusk.Connection) -> None:
    assert await conn.query(SQL).into(list[tuple[int, str]]) == [(1, "n1"), (2, "n2"), (3, "n3")]
    assert await conn.query(SQL).into(tuple) == [(1, "n1"), (2, "n2"), (3, "n3")]
    assert (await conn.query(SQL).into(list[dict[str, Any]]))[0] == {"id": 1, "name": "n1"}
    assert await conn.query(SQL).into(Item) == [Item(1, "n1"), Item(2, "n2"), Item(3, "n3")]
    assert await conn.query("SELECT 1 WHERE false").into(dict) == []
    with pytest.raises(tusk.PgInterfaceError):
        conn.query(SQL).into(5)


async def test_model(conn: tusk.Connection) -> None:
    got = await conn.query(SQL).model(ItemModel)
    assert got == [ItemModel(id=1, name="n1"), ItemModel(id=2, name="n2"), ItemModel(id=3, name="n3")]
    with pytest.raises(pydantic.ValidationError):
        await conn.query("SELECT 'x' AS id, 'n' AS name").model(ItemModel)
    with pytest.raises(tusk.PgInterfaceError):
        conn.query(SQL).model(Item)


def test_sync_shapes(url: str) -> None:
    c = tusk.connect_sync(url)
    assert c.query(SQL).into(list[tuple[int, str]])[0] == (1, "n1")
    assert c.query(SQL).model(ItemModel)[2].name == "n3"
