"""A small FastAPI app on tusk: run with ``DATABASE_URL=... uvicorn fastapi_app:app``."""

from __future__ import annotations

import os
from typing import Any

from fastapi import Depends, FastAPI, HTTPException

import tusk
from tusk.fastapi import get_pg, lifespan

app = FastAPI(lifespan=lifespan(os.environ.get("DATABASE_URL"), max_size=10))


@app.post("/items/{name}")
async def create_item(name: str, pg: tusk.PoolConnection = Depends(get_pg)) -> dict[str, Any]:
    row = await pg.query("INSERT INTO items (name) VALUES ($1) RETURNING id, name", name).one()
    return dict(row)


@app.get("/items/{item_id}")
async def get_item(item_id: int, pg: tusk.PoolConnection = Depends(get_pg)) -> dict[str, Any]:
    row = await pg.query("SELECT id, name FROM items WHERE id = $1", item_id).first()
    if row is None:
        raise HTTPException(status_code=404, detail="no such item")
    return dict(row)


@app.get("/boom")
async def boom(pg: tusk.PoolConnection = Depends(get_pg)) -> dict[str, Any]:
    await pg.execute("SELECT 1 / 0")
    return {}
