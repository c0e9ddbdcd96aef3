"""tusk: PostgreSQL for Python on a Rust core.

Every I/O, pool and decode step runs in Rust (the tusk driver and
tusk-pool) on a tokio runtime the module owns; Python sees finished
objects.

    import tusk

    pool = await tusk.create_pool("postgresql://app@localhost/app", max_size=10)
    user = await pool.query("SELECT * FROM users WHERE id = $1", 42).one()
    async with pool.transaction(isolation="serializable") as tx:
        await tx.execute("UPDATE counters SET n = n + 1 WHERE id = $1", 1)
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Awaitable, Callable, TypeVar, Union

from ._range import Range
from ._tusk import (
    CheckViolation,
    Connection,
    CopyOut,
    ForeignKeyViolation,
    NotNullViolation,
    PgCanceled,
    PgConnectionError,
    PgDataError,
    PgDeadlockError,
    PgError,
    PgIntegrityError,
    PgInterfaceError,
    PgPermissionError,
    PgPoolExhausted,
    PgRowCountError,
    PgSerializationError,
    PgSyntaxError,
    PgTimeout,
    PgTransactionRollback,
    Pool,
    PoolConnection,
    Query,
    Record,
    RowStream,
    SyncConnection,
    SyncCopyOut,
    SyncPool,
    SyncPoolConnection,
    SyncQuery,
    SyncRowStream,
    SyncTransaction,
    Transaction,
    UniqueViolation,
    connect,
    connect_sync,
    create_pool,
    create_pool_sync,
)

__all__ = [
    "CheckViolation",
    "Connection",
    "CopyOut",
    "ForeignKeyViolation",
    "NotNullViolation",
    "PgCanceled",
    "PgConnectionError",
    "PgDataError",
    "PgDeadlockError",
    "PgError",
    "PgIntegrityError",
    "PgInterfaceError",
    "PgPermissionError",
    "PgPoolExhausted",
    "PgRowCountError",
    "PgSerializationError",
    "PgSyntaxError",
    "PgTimeout",
    "PgTransactionRollback",
    "Pool",
    "PoolConnection",
    "Query",
    "Range",
    "Record",
    "RowStream",
    "SyncConnection",
    "SyncCopyOut",
    "SyncPool",
    "SyncPoolConnection",
    "SyncQuery",
    "SyncRowStream",
    "SyncTransaction",
    "Transaction",
    "UniqueViolation",
    "connect",
    "connect_sync",
    "create_pool",
    "create_pool_sync",
    "run_in_transaction",
    "run_in_transaction_sync",
]

T = TypeVar("T")


def _backoff(attempt: int) -> float:
    # Full jitter on an exponential base: 10 ms, 20 ms, 40 ms ... capped at 1 s.
    return random.uniform(0, min(1.0, 0.01 * (2**attempt)))


async def run_in_transaction(
    db: Union[Pool, Connection, PoolConnection],
    fn: Callable[[Transaction], Awaitable[T]],
    *,
    retries: int = 3,
    isolation: str | None = "serializable",
    read_only: bool = False,
    deferrable: bool = False,
) -> T:
    """Runs ``fn(tx)`` in a transaction and commits; on a serialization
    failure or deadlock (40001, 40P01) re-runs the whole function, up to
    ``retries`` more times, after a jittered backoff."""
    attempt = 0
    while True:
        try:
            async with db.transaction(
                isolation=isolation, read_only=read_only, deferrable=deferrable
            ) as tx:
                return await fn(tx)
        except PgTransactionRollback:
            if attempt >= retries:
                raise
            await asyncio.sleep(_backoff(attempt))
            attempt += 1


def run_in_transaction_sync(
    db: Union[SyncPool, SyncConnection, SyncPoolConnection],
    fn: Callable[[SyncTransaction], T],
    *,
    retries: int = 3,
    isolation: str | None = "serializable",
    read_only: bool = False,
    deferrable: bool = False,
) -> T:
    """The blocking form of :func:`run_in_transaction`."""
    attempt = 0
    while True:
        try:
            with db.transaction(
                isolation=isolation, read_only=read_only, deferrable=deferrable
            ) as tx:
                return fn(tx)
        except PgTransactionRollback:
            if attempt >= retries:
                raise
            time.sleep(_backoff(attempt))
            attempt += 1
