"""FastAPI end to end through httpx's ASGI transport, against a real cluster."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import httpx
import pytest

import tusk

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


async def test_example_app(url: str) -> None:
    setup = await tusk.connect(url)
    await setup.execute("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)")
    os.environ["DATABASE_URL"] = url
    spec = importlib.util.spec_from_file_location("fastapi_app", EXAMPLES / "fastapi_app.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fastapi_app"] = mod
    spec.loader.exec_module(mod)
    app = mod.app
    async with app.router.lifespan_context(app):
        pool: tusk.Pool = app.state.tusk_pool
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            r = await client.post("/items/apple")
            assert r.status_code == 200 and r.json() == {"id": 1, "name": "apple"}
            r = await client.get("/items/1")
            assert r.json() == {"id": 1, "name": "apple"}
            assert (await client.get("/items/99")).status_code == 404
            assert (await client.get("/boom")).status_code == 500
        # Every request's connection went back to the pool, the failed one too.
        st = pool.stats()
        assert st["in_use"] == 0, st
    assert pool.stats()["size"] == 0
    await setup.close()


def test_current_pg_outside_a_request() -> None:
    from tusk.fastapi import current_pg

    with pytest.raises(RuntimeError):
        current_pg()
