"""The database: async engine and sessions, the declarative Base, UTC timestamps."""

from __future__ import annotations

import asyncio
import enum
import logging
import sqlite3
import uuid
import weakref
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

import sqlalchemy
from fastapi import Depends, Request
from sqlalchemy import DateTime, Enum, MetaData, Select, Table, event
from sqlalchemy.engine import Connection, Dialect, ExecutionContext, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator, Uuid
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet

from service import sqlite_driver
from service.config import Settings
from service.dbfaults import passing_fault

log = logging.getLogger(__name__)

# Stable constraint names, so Alembic can alter and drop them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware in Python, UTC in the database, whatever the backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Tutor stores only timezone-aware times")
        value = value.astimezone(UTC)
        # SQLite has no time zones; naive UTC text keeps comparisons and ordering right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def string_enum(enum_class: type[enum.StrEnum], name: str) -> Enum:
    """An enum column stored as its values, with a CHECK constraint.

    Plain strings rather than native ENUM types: nothing to ALTER TYPE on PostgreSQL
    when a value is added, and the same schema on SQLite.
    """
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, uuid.UUID: Uuid}  # noqa: RUF012


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class CreatedMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


_BUSY_TIMEOUT_SECONDS = 5


def _configure_sqlite(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while a review is written; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_TAKES_WRITER_TURN = "tutor_takes_writer_turn"


_Select = TypeVar("_Select", bound=Select[Any])
_Model = TypeVar("_Model", bound="Base")


def for_update(select: _Select) -> _Select:
    """`select` locks the rows it reads until the transaction ends, on both databases.

    SQLite has no row locks and SQLAlchemy leaves FOR UPDATE out there; the read takes
    the writer's turn instead (see _SQLiteWriters), so within a process no other write
    comes between it and the writes that follow.
    """
    return select.with_for_update().execution_options(**{_TAKES_WRITER_TURN: True})


class _SQLiteWriters:
    """The writers of one process take turns, first come first served.

    SQLite lets one transaction write at a time. A writer that finds the database locked
    sleeps and tries again (`service.sqlite_driver`), up to 100 ms a try, so under
    concurrent writes most of the time would go to sleeping (and past 5 s a write fails:
    "database is locked"). Here a connection queues for the process's turn before its
    first write and gives it back when it returns to the pool, after its commit or
    rollback: the same span SQLite itself holds its lock, without the polling. Writers
    in other processes (`tutor scheduler`) are still waited for by polling.
    """

    _HOLDS = "tutor.writer_turn"

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
        self._locks = weakref.WeakKeyDictionary()

    def attach(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._before_execute)
        event.listen(engine.sync_engine.pool, "checkin", self._give_back)
        event.listen(engine.sync_engine.pool, "invalidate", self._give_back_invalidated)

    def _before_execute(
        self,
        conn: Connection,
        _cursor: object,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        _executemany: bool,
    ) -> None:
        if self._HOLDS in conn.info:
            return
        reads = statement.lstrip()[:6].upper() in ("SELECT", "PRAGMA")
        if reads and not (context and context.execution_options.get(_TAKES_WRITER_TURN)):
            return
        if not in_greenlet():
            return  # not on the event loop: SQLite's own locking alone
        lock = self._locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        try:
            await_(_acquire(lock))
        except TimeoutError:
            locked = sqlite3.OperationalError("database is locked")
            raise OperationalError(statement, parameters, locked) from None
        conn.info[self._HOLDS] = lock

    def _give_back(self, _dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        lock: asyncio.Lock | None = record.info.pop(self._HOLDS, None)
        if lock is not None:
            lock.release()

    def _give_back_invalidated(
        self, dbapi_connection: object, record: ConnectionPoolEntry, _error: object
    ) -> None:
        self._give_back(dbapi_connection, record)


async def _acquire(lock: asyncio.Lock) -> None:
    async with asyncio.timeout(_BUSY_TIMEOUT_SECONDS):
        await lock.acquire()


# How long a request waits for a pooled connection before it is told the database is
# busy (503): SQLAlchemy's 30 s would hold a learner longer than any page waits.
POOL_TIMEOUT_SECONDS = 10.0


def create_engine(
    url: str, *, pool_size: int | None = None, pool_timeout: float = POOL_TIMEOUT_SECONDS
) -> AsyncEngine:
    """The engine for `url`. Statement parameters are kept out of errors and logs: they
    hold learners' text and key hashes."""
    parsed = make_url(url)
    common: dict[str, Any] = {"hide_parameters": True, "pool_timeout": pool_timeout}
    if parsed.get_backend_name() == "sqlite":
        sqlite_driver.check_sqlalchemy_version(sqlalchemy.__version__)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Enough kept connections for many concurrent requests (each streamed answer
        # opens a few sessions): a connection beyond the pool is opened for one checkout
        # and closed after it, and opening one costs a file open and four PRAGMAs.
        # Connections come from service.sqlite_driver, opened with the arguments the
        # dialect would give aiosqlite.
        args, options = parsed.get_dialect()().create_connect_args(parsed)
        connect = partial(
            sqlite_driver.connect, *args, busy_timeout=_BUSY_TIMEOUT_SECONDS, **options
        )
        size = pool_size or 20
        engine = create_async_engine(
            url, pool_size=size, max_overflow=size, async_creator=connect, **common
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        _SQLiteWriters().attach(engine)
        return engine
    # Likewise; a PostgreSQL connection is costlier to open (and to keep, per replica).
    size = pool_size or 10
    return create_async_engine(
        url, pool_pre_ping=True, pool_size=size, max_overflow=2 * size, **common
    )


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, for Core statements."""
    return model.metadata.tables[model.__tablename__]


def built(model: type[_Model], values: Mapping[str, Any]) -> _Model:
    """A `model` holding `values`, built the way SQLAlchemy's loader builds one: without
    the constructor's event for every attribute, which costs more than the rest of
    building it. Never added to a session: to change the row, load it in one."""
    instance: _Model = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(values)
    return instance


class Database:
    """The engine and session factory one process shares."""

    def __init__(
        self, url: str, *, pool_size: int | None = None, pool_timeout: float = POOL_TIMEOUT_SECONDS
    ) -> None:
        self.engine = create_engine(url, pool_size=pool_size, pool_timeout=pool_timeout)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(
            settings.database,
            pool_size=settings.database_pool_size,
            pool_timeout=settings.database_pool_timeout,
        )

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    async def dispose(self) -> None:
        await self.engine.dispose()


# Async, like every dependency on a request's path: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop per request.
async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.database
    session = database.sessionmaker()
    try:
        yield session
    finally:
        await _close_after_response(session, request)


async def _close_after_response(session: AsyncSession, request: Request) -> None:
    try:
        await session.close()
    except Exception as exc:
        # FastAPI closes the session after the response has been sent: a connection lost
        # by then costs the client nothing, and the pool has dropped it already. Raised,
        # it would be logged as an unhandled error and counted as a 500 no client saw.
        if passing_fault(exc) is None:
            raise
        log.warning(
            "the database connection was lost after %s %s was answered: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
        )


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def release_connection(db: AsyncSession) -> None:
    """End `db`'s transaction, giving its connection back to the pool, before a wait
    that has nothing to do with the database (a model call, tens of seconds): a pool
    held by one learner's slow answers would stop every other request. What `db` loaded
    stays usable (expire_on_commit=False); its next statement takes a connection again."""
    await db.commit()
