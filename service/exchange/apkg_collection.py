"""An Anki package's collection opened as SQLite, safely: a private file, read-only.

The collection comes out of an upload (`service.exchange.apkg_archive` unpacks it), so the
SQLite file is as untrusted as the zip around it. It goes to a private temporary file,
deleted afterwards, opened read-only and immutable with `trusted_schema` off; only real
tables and their stored columns are read (`check_tables`), so nothing the file defines
(triggers, views, generated columns) runs. SQLite types its columns only loosely, so
each cell is read through `cell_integer`, `cell_text` or `cell_blob`, which refuse a
value of the wrong type with a `PackageError` rather than pass it on.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from math import isfinite
from pathlib import Path

from service.exchange.apkg_archive import PackageError, damaged, unpack_collection

__all__ = [
    "CollectionFile",
    "cell_blob",
    "cell_integer",
    "cell_text",
    "check_tables",
    "open_collection",
]

_SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class CollectionFile:
    """The package's collection, open read-only; valid inside `open_collection` only."""

    connection: sqlite3.Connection
    name: str  # which member it came from, e.g. "collection.anki21b"
    media_files: int


@contextmanager
def open_collection(data: bytes, *, max_bytes: int) -> Iterator[CollectionFile]:
    """The collection inside package bytes, as a read-only SQLite connection."""
    with tempfile.TemporaryDirectory(prefix="tutor-apkg-") as tmp:
        # Our own fixed file name: the member's name never reaches the filesystem.
        path = Path(tmp) / "collection.sqlite"
        member = unpack_collection(data, path, max_bytes=max_bytes)
        with closing(_connect(path)) as connection:
            yield CollectionFile(connection, member.name, member.media_files)


def _connect(path: Path) -> sqlite3.Connection:
    with path.open("rb") as file:
        if file.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
            raise damaged("its collection is not an SQLite database")
    # immutable: SQLite takes no locks and looks for no journal or WAL file beside it,
    # which also lets it read the WAL-mode files Anki 2.1.50+ exports.
    connection = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        # Anki's text is UTF-8; a stray invalid byte must not make a whole row unreadable.
        connection.text_factory = lambda raw: raw.decode("utf-8", "replace")
        connection.execute("PRAGMA trusted_schema = OFF")
        connection.execute("PRAGMA query_only = ON")
        connection.execute("PRAGMA cell_size_check = ON")
    except (sqlite3.Error, UnicodeDecodeError) as error:
        connection.close()
        raise damaged("its collection cannot be opened") from error
    return connection


def check_tables(connection: sqlite3.Connection, required: Mapping[str, tuple[str, ...]]) -> None:
    """Refuse a collection unless each table exists, as a real table, with its columns.

    What is read must be what the file stores: a view or virtual table under an
    expected name would run its own SQL when read, and a generated column could compute
    a gigabyte per row (`hex(zeroblob(…))`) from a small file. A missing column would
    fail mid-read with SQLite's wording instead of ours.
    """
    kinds: dict[str, str] = {}
    for kind, name, sql in connection.execute("SELECT type, name, sql FROM sqlite_master"):
        if isinstance(name, str):  # SQLite's names are case-insensitive
            virtual = isinstance(sql, str) and sql.lstrip()[:14].upper() == "CREATE VIRTUAL"
            kinds[name.lower()] = "virtual" if virtual else str(kind)
    for table, columns in required.items():
        if kinds.get(table) != "table":
            raise PackageError(_NOT_ANKI.format(detail=f"it has no table '{table}'"))
        # `hidden` is 0 for a stored column, 2 or 3 for a generated one.
        query = "SELECT name, hidden FROM pragma_table_xinfo(?)"
        stored = {
            str(name).lower() for name, hidden in connection.execute(query, (table,)) if not hidden
        }
        missing = [column for column in columns if column.lower() not in stored]
        if missing:
            detail = f"its table '{table}' has no stored column '{missing[0]}'"
            raise PackageError(_NOT_ANKI.format(detail=detail))


_NOT_ANKI = (
    "The package's collection is not in the format Anki writes ({detail}). "
    "Export it from Anki again."
)


# --- cells ----------------------------------------------------------------------------


def cell_integer(value: object) -> int:
    """A number from a collection cell, which SQLite does not guarantee is one."""
    # Columns are typed only loosely in SQLite; old AnkiDroid versions wrote floats.
    if isinstance(value, int):
        return value
    if isinstance(value, float) and isfinite(value):
        return round(value)
    raise damaged("a number in its collection is not a number")


def cell_text(value: object) -> str:
    """Text from a collection cell; a blob is decoded as Anki's UTF-8."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise damaged("a text in its collection is not text")


def cell_blob(value: object) -> bytes:
    """Bytes from a collection cell (protobuf settings); text is taken as its UTF-8."""
    if isinstance(value, bytes):
        return value
    return cell_text(value).encode()
