"""SQLite database files, whole: a consistent copy of a live database, what a file holds,
and a new file put in place of a database nobody has open.

The copy is SQLite's online backup API in one step: it reads one snapshot (in WAL mode
the writers of a running Tutor go on meanwhile) and never a page twice. Copies are left
in rollback-journal mode, one self-contained file; Tutor switches a database to WAL
again when it opens it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# A writer of the live database holds its lock for milliseconds; a copy waits that long.
_BUSY_SECONDS = 5.0
# How long a restore waits to learn whether another process has the database open.
_IN_USE_SECONDS = 0.5
# What SQLite keeps beside a database in WAL mode.
_WAL_FILES = ("-wal", "-shm")


class FileError(Exception):
    """A file that cannot be copied, read or replaced, said in one line."""


class DatabaseInUse(FileError):
    """Another process has the database open: replacing it now would lose its writes."""


@dataclass(frozen=True)
class Contents:
    """What a SQLite file holds, as far as a restore needs to know."""

    revision: str | None  # the Alembic revision; None: not a Tutor database
    has_rows: bool  # a row in any table but Alembic's


@contextlib.contextmanager
def _opened(
    path: Path, *, read_only: bool, timeout: float = _BUSY_SECONDS
) -> Iterator[sqlite3.Connection]:
    # A URI, so that a path that does not exist is an error rather than a new database.
    mode = "ro" if read_only else "rw"
    try:
        connection = sqlite3.connect(
            f"{path.absolute().as_uri()}?mode={mode}",
            uri=True,
            timeout=timeout,
            isolation_level=None,
        )
    except sqlite3.Error as exc:
        raise FileError(f"cannot open {path}: {exc}") from None
    try:
        yield connection
    except sqlite3.OperationalError as exc:  # locked for too long, a full disk, ...
        raise FileError(f"cannot use {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:  # not a database at all, or a damaged one
        raise FileError(f"{path} is not a SQLite database Tutor can read ({exc})") from None
    finally:
        connection.close()


def copy_database(source: Path, target: Path, *, source_read_only: bool) -> None:
    """A consistent copy of `source` at `target` (which must not exist), checked."""
    with _opened(source, read_only=source_read_only) as reading:
        written = sqlite3.connect(target, isolation_level=None)
        try:
            reading.backup(written)  # every page in one step: one snapshot
            written.execute("PRAGMA journal_mode=DELETE")
        finally:
            written.close()
    settle(target)


def settle(path: Path) -> None:
    """Leave `path` one self-contained file (no WAL beside it), checked for damage."""
    with _opened(path, read_only=False) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")
        problems = [row[0] for row in connection.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise FileError(f"{path} is damaged: {'; '.join(problems[:3])}")
    _sync(path)


def contents(path: Path) -> Contents:
    """The revision and whether any table holds a row. Raises FileError for a file that
    is not a SQLite database."""
    if not path.is_file():
        raise FileError(f"no such file: {path}")
    with _opened(path, read_only=True) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        revision = None
        if "alembic_version" in tables:
            found = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = found[0] if found else None
        has_rows = any(
            connection.execute(f'SELECT EXISTS (SELECT 1 FROM "{name}")').fetchone()[0]  # noqa: S608 - names read from sqlite_master
            for name in tables
            if name != "alembic_version"
        )
    return Contents(revision=revision, has_rows=has_rows)


def replace_database(target: Path, new: Path, *, keep_aside: Path | None) -> None:
    """Put `new` in place of `target` in one rename, after making sure no other process
    has `target` open (a running Tutor would go on writing the file it had open, and its
    WAL beside the new one). With `keep_aside`, the old database stays there."""
    if not target.exists():
        os.replace(new, target)
        return
    with _opened(target, read_only=False, timeout=_IN_USE_SECONDS) as connection:
        try:
            # Leaving WAL mode needs the only connection to the database: it fails while
            # any other process (tutor serve, tutor scheduler) has it open. It also
            # moves everything in the WAL into the file kept aside.
            mode = connection.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            # Held until the swap is done: no process starts reading the old file meanwhile.
            connection.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError:
            mode = "busy"
        if mode != "delete":
            raise DatabaseInUse(
                f"{target} is open in another process: stop `tutor serve` and "
                "`tutor scheduler` first"
            )
        if keep_aside is not None:
            _keep(target, keep_aside)
        os.replace(new, target)
        for suffix in _WAL_FILES:
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        connection.execute("ROLLBACK")
    _sync(target.parent)


def remove(path: Path) -> None:
    """`path` and what SQLite may have left beside it."""
    for suffix in ("", *_WAL_FILES, "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _keep(target: Path, aside: Path) -> None:
    try:
        os.link(target, aside)  # the same file under a second name: instant
    except OSError:
        shutil.copy2(target, aside)


def _sync(path: Path) -> None:
    # A backup is only a backup once it is on the disk (and its directory entry too).
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
