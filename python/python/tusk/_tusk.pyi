"""Type stubs of the native module (checked against it by stubtest).

The asyncio methods return asyncio Futures (awaitable; `asyncio.gather`
and `asyncio.ensure_future` take them), not coroutines: wrap a call in
`asyncio.ensure_future` rather than `asyncio.create_task`."""

from asyncio import Future
from types import TracebackType
from typing import (
    Any,
    AsyncIterable,
    Awaitable,
    Iterable,
    Literal,
    Optional,
    Protocol,
    Sequence,
    Type,
    TypeVar,
    Union,
    final,
    overload,
)

_M = TypeVar("_M")

_Chunk = Union[bytes, bytearray, memoryview, str]
_Format = Literal["text", "csv", "binary"]

class _Reader(Protocol):
    def read(self, n: int, /) -> Any: ...

class _Writer(Protocol):
    def write(self, data: bytes, /) -> Any: ...

_Source = Union[_Chunk, Iterable[_Chunk], AsyncIterable[_Chunk], _Reader]
_SyncSource = Union[_Chunk, Iterable[_Chunk], _Reader]


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
]

@final
class Record:
    def __getitem__(self, key: int | str, /) -> Any: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __iter__(self) -> Any: ...
    def keys(self) -> list[str]: ...
    def values(self) -> tuple[Any, ...]: ...
    def items(self) -> list[tuple[str, Any]]: ...
    def get(self, key: int | str, default: Any = None) -> Any: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Query:
    def all(self) -> Future[list[Record]]: ...
    def one(self) -> Future[Record]: ...
    def first(self) -> Future[Optional[Record]]: ...
    def scalar(self) -> Future[Any]: ...
    def into(self, shape: Any) -> Future[list[Any]]: ...
    def model(self, model: type[_M]) -> Future[list[_M]]: ...
    def stream(self, batch: int = 1000) -> RowStream: ...

@final
class RowStream:
    def __aiter__(self) -> RowStream: ...
    def __anext__(self) -> Awaitable[Record]: ...
    def aclose(self) -> Future[None]: ...

@final
class SyncQuery:
    def all(self) -> list[Record]: ...
    def one(self) -> Record: ...
    def first(self) -> Optional[Record]: ...
    def scalar(self) -> Any: ...
    def into(self, shape: Any) -> list[Any]: ...
    def model(self, model: type[_M]) -> list[_M]: ...
    def stream(self, batch: int = 1000) -> SyncRowStream: ...

@final
class SyncRowStream:
    def __iter__(self) -> SyncRowStream: ...
    def __next__(self) -> Record: ...
    def close(self) -> None: ...

@final
class CopyOut:
    def __aiter__(self) -> CopyOut: ...
    def __anext__(self) -> Awaitable[bytes]: ...
    @property
    def rows(self) -> Optional[int]: ...
    def aclose(self) -> Future[None]: ...

@final
class SyncCopyOut:
    def __iter__(self) -> SyncCopyOut: ...
    def __next__(self) -> bytes: ...
    @property
    def rows(self) -> Optional[int]: ...
    def close(self) -> None: ...

class _AsyncHandle:
    def query(self, sql: str, *args: Any, timeout: Optional[float] = None) -> Query: ...
    def execute(self, sql: str, *args: Any, timeout: Optional[float] = None) -> Future[int]: ...
    def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> Future[int]: ...
    def fetch(self, sql: str, *args: Any, timeout: Optional[float] = None) -> Future[list[Record]]: ...
    def fetchrow(self, sql: str, *args: Any, timeout: Optional[float] = None) -> Future[Optional[Record]]: ...
    def fetchval(self, sql: str, *args: Any, timeout: Optional[float] = None) -> Future[Any]: ...
    def transaction(
        self, isolation: Optional[str] = None, read_only: bool = False, deferrable: bool = False
    ) -> Transaction: ...
    def copy_in(
        self,
        table_or_sql: str,
        source: _Source,
        *,
        format: Optional[_Format] = None,
        columns: Optional[Sequence[str]] = None,
        schema_name: Optional[str] = None,
        delimiter: Optional[str] = None,
        null: Optional[str] = None,
        header: Optional[bool] = None,
        quote: Optional[str] = None,
        escape: Optional[str] = None,
        encoding: Optional[str] = None,
        freeze: Optional[bool] = None,
        force_not_null: Optional[Sequence[str]] = None,
        force_null: Optional[Sequence[str]] = None,
        where: Optional[str] = None,
    ) -> Future[int]: ...
    def copy_records_to_table(
        self,
        table: str,
        records: Union[Iterable[Sequence[Any]], AsyncIterable[Sequence[Any]]],
        columns: Optional[Sequence[str]] = None,
        schema_name: Optional[str] = None,
    ) -> Future[int]: ...
    @overload
    def copy_out(
        self,
        sql_or_table: str,
        output: None = None,
        *,
        format: Optional[_Format] = None,
        columns: Optional[Sequence[str]] = None,
        schema_name: Optional[str] = None,
        delimiter: Optional[str] = None,
        null: Optional[str] = None,
        header: Optional[bool] = None,
        quote: Optional[str] = None,
        escape: Optional[str] = None,
        encoding: Optional[str] = None,
        force_quote: Optional[Sequence[str]] = None,
    ) -> CopyOut: ...
    @overload
    def copy_out(
        self,
        sql_or_table: str,
        output: _Writer,
        *,
        format: Optional[_Format] = None,
        columns: Optional[Sequence[str]] = None,
        schema_name: Optional[str] = None,
        delimiter: Optional[str] = None,
        null: Optional[str] = None,
        header: Optional[bool] = None,
        quote: Optional[str] = None,
        escape: Optional[str] = None,
        encoding: Optional[str] = None,
        force_quote: Optional[Sequence[str]] = None,
    ) -> Future[int]: ...

class _SyncHandle:
    def query(self, sql: str, *args: Any, timeout: Optional[float] = None) -> SyncQuery: ...
    def execute(self, sql: str, *args: Any, timeout: Optional[float] = None) -> int: ...
    def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> int: ...
    def fetch(self, sql: str, *args: Any, timeout: Optional[float] = None) -> list[Record]: ...
    def fetchrow(self, sql: str, *args: Any, timeout: Optional[float] = None) -> Optional[Record]: ...
    def fetchval(self, sql: str, *args: Any, timeout: Optional[float] = None) -> Any: ...
    def transaction(
        self, isolation: Optional[str] = None, read_only: bool = False, deferrable: bool = False
    ) -> SyncTransaction: ...
    def copy_in(
        self,
        table_or_sql: str,
        source: _SyncSource,
        *,
        format: Optional[_Format] = None,
        columns: Optional[Sequence[str]] = None,
        schema_name: Optional[str] = None,
        delimiter: Optional[str] = None,
        null: Optional[str] = None,
        header: Optional[bool] = None,
        quote: Optional[str] = None,
        escape: Optional[str] = None,
        encoding: Optional[str] = None,
        freeze: Optional[bool] = None,
        force_not_null: Optional[Sequence[str]] = None,
        force_null: Optional[Sequence[str]] = None,
        where: Optional[str] = None,
    ) -> int: ...
    def copy_records_to_table(
        self,
        table: str,
        records: Iterable[Sequence[Any]],
        columns: Optional[Sequence[str]] = None,
        schema_name: Optional[str] = None,
    ) -> int: ...
    @overload
    def copy_out(
        self,
        sql_or_table: str,
        output: None = None,
        *,
        format: Optional[_Format] = None,
        columns: Optional[Sequence[str]] = None,
        schema_name: Optional[str] = None,
        delimiter: Optional[str] = None,
        null: Optional[str] = None,
        header: Optional[bool] = None,
        quote: Optional[str] = None,
        escape: Optional[str] = None,
        encoding: Optional[str] = None,
        force_quote: Optional[Sequence[str]] = None,
    ) -> SyncCopyOut: ...
    @overload
    def copy_out(
        self,
        sql_or_table: str,
        output: _Writer,
        *,
        format: Optional[_Format] = None,
        columns: Optional[Sequence[str]] = None,
        schema_name: Optional[str] = None,
        delimiter: Optional[str] = None,
        null: Optional[str] = None,
        header: Optional[bool] = None,
        quote: Optional[str] = None,
        escape: Optional[str] = None,
        encoding: Optional[str] = None,
        force_quote: Optional[Sequence[str]] = None,
    ) -> int: ...

@final
class Connection(_AsyncHandle):
    def close(self) -> Future[None]: ...
    @property
    def process_id(self) -> int: ...
    def is_closed(self) -> bool: ...

@final
class Pool(_AsyncHandle):
    def close(self, grace: float = 5.0) -> Future[int]: ...
    def stats(self) -> dict[str, Any]: ...
    def metrics_prometheus(self) -> str: ...
    def acquire(self) -> PoolConnection: ...
    def acquire_as(self, role: str, settings: Optional[dict[str, str]] = None) -> PoolConnection: ...

@final
class PoolConnection(_AsyncHandle):
    def __aenter__(self) -> Future[PoolConnection]: ...
    def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> Future[bool]: ...

@final
class Transaction(_AsyncHandle):
    def __aenter__(self) -> Future[Transaction]: ...
    def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> Future[bool]: ...

@final
class SyncConnection(_SyncHandle):
    def close(self) -> None: ...
    @property
    def process_id(self) -> int: ...
    def is_closed(self) -> bool: ...

@final
class SyncPool(_SyncHandle):
    def close(self, grace: float = 5.0) -> int: ...
    def stats(self) -> dict[str, Any]: ...
    def metrics_prometheus(self) -> str: ...
    def acquire(self) -> SyncPoolConnection: ...

@final
class SyncPoolConnection(_SyncHandle):
    def __enter__(self) -> SyncPoolConnection: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

@final
class SyncTransaction(_SyncHandle):
    def __enter__(self) -> SyncTransaction: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

def connect(url: str) -> Future[Connection]: ...
def connect_sync(url: str) -> SyncConnection: ...
def create_pool(url: Optional[str] = None, **settings: Any) -> Future[Pool]: ...
def create_pool_sync(url: Optional[str] = None, **settings: Any) -> SyncPool: ...

class PgError(Exception):
    sqlstate: Optional[str]
    sqlstate_name: Optional[str]
    severity: Optional[str]
    message: Optional[str]
    detail: Optional[str]
    hint: Optional[str]
    position: Optional[int]
    where: Optional[str]
    schema_name: Optional[str]
    table_name: Optional[str]
    column_name: Optional[str]
    datatype_name: Optional[str]
    constraint_name: Optional[str]
    copy_line: Optional[int]

class PgConnectionError(PgError): ...
class PgPoolExhausted(PgConnectionError): ...
class PgTimeout(PgError): ...
class PgCanceled(PgError): ...
class PgIntegrityError(PgError): ...
class UniqueViolation(PgIntegrityError): ...
class ForeignKeyViolation(PgIntegrityError): ...
class NotNullViolation(PgIntegrityError): ...
class CheckViolation(PgIntegrityError): ...
class PgDataError(PgError): ...
class PgTransactionRollback(PgError): ...
class PgSerializationError(PgTransactionRollback): ...
class PgDeadlockError(PgTransactionRollback): ...
class PgSyntaxError(PgError): ...
class PgPermissionError(PgError): ...
class PgInterfaceError(PgError): ...
class PgRowCountError(PgError): ...
