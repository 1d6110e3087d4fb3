"""SQLite on the event loop: statements run in place, and a lock is waited for, not blocked on."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from service import sqlite_driver
from service.db import Database


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "tutor.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    return path


@pytest.fixture
def other_process(path: Path) -> Iterator[sqlite3.Connection]:
    """Another writer (as `tutor scheduler` would be) holding SQLite's write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes (body) VALUES ('theirs')")
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


async def test_a_statement_returns_its_rows_and_counts(path: Path) -> None:
    connection = await sqlite_driver.connect(str(path))
    try:
        cursor = await connection.execute("INSERT INTO notes (body) VALUES (?), (?)", ("a", "b"))
        assert (cursor.rowcount, cursor.lastrowid) == (2, 2)
        cursor = await connection.execute("SELECT id, body FROM notes ORDER BY id")
        assert [column[0] for column in cursor.description or ()] == ["id", "body"]
        assert await cursor.fetchone() == (1, "a")
        assert await cursor.fetchall() == [(2, "b")]
        assert await cursor.fetchmany(5) == []
        await connection.commit()
    finally:
        await connection.close()


async def test_a_locked_database_is_waited_for_while_the_loop_runs_on(
    path: Path, other_process: sqlite3.Connection
) -> None:
    connection = await sqlite_driver.connect(str(path), busy_timeout=5)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def release_soon() -> None:
        await asyncio.sleep(0.2)
        other_process.execute("COMMIT")

    ticker = asyncio.create_task(tick())
    releaser = asyncio.create_task(release_soon())
    try:
        started = time.monotonic()
        await connection.execute("INSERT INTO notes (body) VALUES ('ours')")
        await connection.commit()
        waited = time.monotonic() - started
    finally:
        ticker.cancel()
        await releaser
        await connection.close()
    assert waited >= 0.15  # it did wait for the other writer...
    assert ticks >= 10  # ...and other tasks ran meanwhile: the loop was never blocked
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT body FROM notes ORDER BY id").fetchall() == [
            ("theirs",),
            ("ours",),
        ]


async def test_a_lock_held_past_the_busy_timeout_fails_as_sqlite_would(
    path: Path, other_process: sqlite3.Connection
) -> None:
    connection = await sqlite_driver.connect(str(path), busy_timeout=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            await connection.execute("INSERT INTO notes (body) VALUES ('ours')")
        assert 0.2 <= time.monotonic() - started < 1
    finally:
        await connection.close()


async def test_a_stale_snapshot_fails_at_once_since_waiting_cannot_help(path: Path) -> None:
    connection = await sqlite_driver.connect(str(path), busy_timeout=5)
    try:
        await connection.execute("BEGIN")
        await connection.execute("SELECT * FROM notes")  # this transaction's snapshot
        with sqlite3.connect(path) as other:
            other.execute("INSERT INTO notes (body) VALUES ('theirs')")
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError) as raised:
            await connection.execute("INSERT INTO notes (body) VALUES ('ours')")
        assert raised.value.sqlite_errorcode == sqlite3.SQLITE_BUSY_SNAPSHOT
        assert time.monotonic() - started < 0.1
    finally:
        await connection.close()


async def test_other_errors_are_not_retried(path: Path) -> None:
    connection = await sqlite_driver.connect(str(path), busy_timeout=5)
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await connection.execute("SELECT * FROM missing")
        assert time.monotonic() - started < 0.1
    finally:
        await connection.close()


async def test_a_closed_connection_refuses_work(path: Path) -> None:
    connection = await sqlite_driver.connect(str(path))
    await connection.close()
    await connection.close()  # closing twice is harmless
    with pytest.raises(sqlite3.ProgrammingError):
        await connection.execute("SELECT 1")


async def test_concurrent_writers_in_one_process_all_succeed(tmp_path: Path) -> None:
    # The writers take turns (service.db), so none of them meets SQLite's lock.
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'tutor.db'}")
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, n INT)"))

        async def write(n: int) -> None:
            async with database.engine.connect() as connection:
                await connection.execute(text("INSERT INTO notes (n) VALUES (:n)"), {"n": n})
                await asyncio.sleep(0)  # let the others try while this one holds the turn
                await connection.execute(text("UPDATE notes SET n = n + 1 WHERE n = :n"), {"n": n})
                await connection.commit()

        await asyncio.gather(*(write(n * 10) for n in range(50)))
        async with database.engine.connect() as connection:
            written = (await connection.execute(text("SELECT n FROM notes ORDER BY n"))).all()
    finally:
        await database.dispose()
    assert [n for (n,) in written] == [n * 10 + 1 for n in range(50)]
