"""SQLite on the event loop's own thread, waiting for locks without blocking it.

aiosqlite runs every connection on a thread of its own and hops to it for each DB-API
call: creating a cursor, executing, fetching, closing the cursor, and a rollback when
the connection goes back to the pool. A hop costs more CPU than the indexed statements
Tutor runs (about 0.2 ms against tens of microseconds), and while the loop is busy the
thread also waits for the GIL before it can hand back its result, so a grade holding
SQLite's write lock held it for several such waits. Here statements run directly: a
request's statements cost what SQLite and SQLAlchemy cost, nothing more.

What must never happen on the loop is waiting: a connection here has no busy timeout,
and a statement that finds the database locked (by another process: the writers of one
process take turns, see `service.db`) is tried again after an `asyncio.sleep`, with the
back-off SQLite's own busy handler uses, for up to `busy_timeout` seconds. SQLite's
work itself does hold the loop: next to the Python work around a heavy read (the
statistics, an export) it is small, and deployments with many learners at once belong
on PostgreSQL.

`connect` returns a connection shaped like aiosqlite's, the shape SQLAlchemy's aiosqlite
dialect drives (`create_async_engine(..., async_creator=...)`), so the database URL
stays `sqlite+aiosqlite://`. Errors are sqlite3's own, which the dialect knows. Changing
a connection's isolation level (the dialect's AUTOCOMMIT) is not supported: Tutor never
asks for it.

That shape is not a public SQLAlchemy API: it is what the private classes of the dialect
(`sqlalchemy.dialects.sqlite.aiosqlite`, on `sqlalchemy.connectors.asyncio`) happen to
call. They wrap what `async_creator` returns in `AsyncAdapt_aiosqlite_connection`, which
reads the connection's `_connection` (aiosqlite's own attribute) before a commit or
rollback, awaits `close()`, calls `stop()` to end a connection it gave up on, and makes a
cursor with `cursor()` and awaits its `__aenter__`, `execute`, `fetchall` and `close`.
Errors are recognised by the exception classes the dialect takes from the `aiosqlite`
module (sqlite3's own) and a closed connection by sqlite3's message for it. A minor
SQLAlchemy release may change any of this, so the engine refuses SQLAlchemy versions
this file has not been checked against (`check_sqlalchemy_version`);
tests/api/core/test_sqlalchemy_pin.py checks the names above still exist.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self, TypeVar

_T = TypeVar("_T")
_Row = tuple[Any, ...]
_Description = tuple[tuple[Any, ...], ...] | None

# SQLite's busy handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, then 100 ms.
_BACK_OFF_SECONDS = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.025, 0.025, 0.05, 0.05)
_BACK_OFF_LIMIT_SECONDS = 0.1

# The SQLAlchemy minor versions this driver has been checked against (the test suite
# passes on SQLite); pyproject.toml pins SQLAlchemy to them, and
# tests/api/core/test_sqlalchemy_pin.py checks that the two agree.
CHECKED_SQLALCHEMY_VERSIONS = ("2.1",)


def check_sqlalchemy_version(version: str) -> None:
    """Refuse SQLAlchemy `version` unless its minor version is one the driver was checked
    against: the private parts of the dialect it relies on may change in any of them."""
    minor = ".".join(version.split(".")[:2])
    if minor in CHECKED_SQLALCHEMY_VERSIONS:
        return
    checked = ", ".join(CHECKED_SQLALCHEMY_VERSIONS)
    raise RuntimeError(
        f"SQLAlchemy {version} is installed, but service/sqlite_driver.py has been checked "
        f"only against SQLAlchemy {checked}: it relies on private parts of SQLAlchemy's "
        "aiosqlite dialect, which may change in a minor release. Install the version "
        "pyproject.toml pins (`pip install -e .`), or check this one: add "
        f"{minor!r} to CHECKED_SQLALCHEMY_VERSIONS in service/sqlite_driver.py, widen the "
        "pin in pyproject.toml, and run the test suite (test_sqlalchemy_pin.py and "
        "test_sqlite_driver.py first); keep the change only if it passes."
    )


async def connect(database: str, *, busy_timeout: float = 5.0, **options: Any) -> Connection:
    """Open `database` with sqlite3.connect's `options`; locks are waited for asynchronously."""
    options.pop("timeout", None)  # sqlite3's own wait would block the loop
    sqlite = sqlite3.connect(database, timeout=0, **options)
    return Connection(sqlite, busy_timeout=busy_timeout)


def _is_locked(error: sqlite3.OperationalError) -> bool:
    code: int | None = getattr(error, "sqlite_errorcode", None)  # the extended code
    if code is None or code == sqlite3.SQLITE_BUSY_SNAPSHOT:
        # A snapshot that is out of date is busy too, but waiting cannot help: the
        # transaction must start again, so it fails now, as SQLite's busy handler would.
        return False
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class Connection:
    """The async connection SQLAlchemy's aiosqlite dialect drives."""

    def __init__(self, sqlite: sqlite3.Connection, *, busy_timeout: float) -> None:
        # The dialect reads `_connection` to tell an open connection from a closed one.
        self._connection: sqlite3.Connection | None = sqlite
        self._busy_timeout = busy_timeout

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    def cursor(self) -> Cursor:
        return Cursor(self)

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        cursor = self.cursor()
        await cursor.execute(sql, parameters)
        return cursor

    async def when_unlocked(self, call: Callable[[sqlite3.Connection], _T]) -> _T:
        """`call(connection)`, again after a pause each time it finds the database locked."""
        sqlite = self._open()
        deadline = time.monotonic() + self._busy_timeout
        pauses = itertools.chain(_BACK_OFF_SECONDS, itertools.repeat(_BACK_OFF_LIMIT_SECONDS))
        for pause in pauses:
            try:
                return call(sqlite)
            except sqlite3.OperationalError as error:
                if not _is_locked(error) or time.monotonic() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
        raise AssertionError("unreachable: the pauses never end")

    async def commit(self) -> None:
        await self.when_unlocked(sqlite3.Connection.commit)

    async def rollback(self) -> None:
        await self.when_unlocked(sqlite3.Connection.rollback)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open().create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close now (SQLAlchemy's way of ending a connection it gave up on)."""
        sqlite, self._connection = self._connection, None
        if sqlite is not None:
            sqlite.close()

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._connection


class Cursor:
    """A statement's results, all fetched when it runs (SQLAlchemy fetches them all too)."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.description: _Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[_Row] = []
        self._next = 0

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = None) -> Self:
        arguments = () if parameters is None else parameters
        return await self._run(lambda cursor: cursor.execute(sql, arguments))

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Self:
        rows = list(parameters)  # an iterator would be used up by a locked first try
        return await self._run(lambda cursor: cursor.executemany(sql, rows))

    async def _run(self, run: Callable[[sqlite3.Cursor], object]) -> Self:
        def call(sqlite: sqlite3.Connection) -> None:
            cursor = sqlite.cursor()
            try:
                run(cursor)
                self.description = cursor.description
                self._rows = cursor.fetchall() if cursor.description else []
                self.rowcount, self.lastrowid = cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        await self._connection.when_unlocked(call)
        self._next = 0
        return self

    async def fetchone(self) -> _Row | None:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[_Row]:
        end = self._next + (size or self.arraysize)
        rows = self._rows[self._next : end]
        self._next += len(rows)
        return rows

    async def fetchall(self) -> Sequence[_Row]:
        rows = self._rows[self._next :]
        self._next = len(self._rows)
        return rows

    async def close(self) -> None:
        self._rows, self._next = [], 0

    async def setinputsizes(self, *_: object) -> None:
        return None

    def setoutputsize(self, *_: object) -> None:
        return None
