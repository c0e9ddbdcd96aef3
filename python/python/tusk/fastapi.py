"""FastAPI integration (optional: needs ``fastapi``).

    from fastapi import Depends, FastAPI
    import tusk
    from tusk.fastapi import get_pg, lifespan

    app = FastAPI(lifespan=lifespan("postgresql://app@localhost/app", max_size=10))

    @app.get("/users/{id}")
    async def user(id: int, pg: tusk.PoolConnection = Depends(get_pg)) -> dict[str, object]:
        return dict(await pg.query("SELECT * FROM users WHERE id = $1", id).one())

The lifespan opens the pool at startup (every ``create_pool`` setting
applies) and closes it with a grace period at shutdown. ``get_pg`` holds
one pooled connection for the request; it goes back to the pool when the
request ends, on an error too. ``current_pg()`` gives the same handle to
code that has no access to the request (a contextvar).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, AsyncIterator, Callable, Optional

from fastapi import FastAPI, Request

from . import Pool, PoolConnection, create_pool

_current: ContextVar[Optional[PoolConnection]] = ContextVar("tusk_pg", default=None)


def lifespan(
    url: Optional[str] = None, *, grace: float = 5.0, **settings: Any
) -> Callable[[FastAPI], Any]:
    """A FastAPI lifespan that owns a tusk pool (``app.state.tusk_pool``)."""

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(url, **settings)
        app.state.tusk_pool = pool
        try:
            yield
        finally:
            await pool.close(grace=grace)

    return _lifespan


def get_pool(request: Request) -> Pool:
    """The application's pool."""
    pool = getattr(request.app.state, "tusk_pool", None)
    if pool is None:
        raise RuntimeError("no tusk pool: create the app with lifespan=tusk.fastapi.lifespan(...)")
    assert isinstance(pool, Pool)
    return pool


async def get_pg(request: Request) -> AsyncIterator[PoolConnection]:
    """A FastAPI dependency: one pooled connection for the request."""
    async with get_pool(request).acquire() as conn:
        token = _current.set(conn)
        try:
            yield conn
        finally:
            _current.reset(token)


def current_pg() -> PoolConnection:
    """The request's connection, for code called from a request that uses ``get_pg``."""
    conn = _current.get()
    if conn is None:
        raise RuntimeError("no request-scoped tusk connection: depend on tusk.fastapi.get_pg")
    return conn
