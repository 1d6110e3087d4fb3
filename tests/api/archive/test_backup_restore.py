"""`tutor backup` and `tutor restore`: the whole SQLite database out, and back into an
empty data directory, the same row for row; consistent while another connection
writes; and a restore that refuses what it must not overwrite or cannot read. On
PostgreSQL the commands print `pg_dump` and `pg_restore` lines, which do the same job."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import shutil
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from helpers import admin_execute
from service.cli import app as cli
from service.db import Database
from service.learners.service import create_learner
from service.migrations import alembic_config
from service.sources.models import Source, SourceKind


def tutor(data_dir: Path, *args: str, database_url: str | None = None) -> Result:
    """`tutor ARGS...` with its data in `data_dir` (and its SQLite database there)."""
    env = {"TUTOR_DATA_DIR": str(data_dir), "TUTOR_DATABASE_URL": database_url}
    return CliRunner().invoke(cli, list(args), env=env)


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'tutor.db'}"


async def _filled(url: str, fill, *learners: str) -> None:
    database = Database(url)
    try:
        for name in learners:
            async with database.sessionmaker() as db:
                issued = await create_learner(db, name=name)
                await fill(db, issued.learner.id, words=f"{name}'s notes")
    finally:
        await database.dispose()


async def _every_row(url: str, every_row):
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            return await every_row(connection)
    finally:
        await database.dispose()


@pytest.fixture
def data_dir(tmp_path: Path, sqlite_template: Path, fill) -> Path:
    """A data directory whose database holds two learners with a row in every table."""
    directory = tmp_path / "data"
    directory.mkdir()
    shutil.copyfile(sqlite_template, directory / "tutor.db")
    asyncio.run(_filled(sqlite_url(directory), fill, "ada", "grace"))
    return directory


def rows(data_dir: Path, every_row) -> dict:
    return asyncio.run(_every_row(sqlite_url(data_dir), every_row))


def test_backup_then_restore_into_an_empty_data_directory_gives_the_same_data(
    data_dir: Path, tmp_path: Path, every_row
) -> None:
    backup = tmp_path / "backups" / "tutor-backup.db"

    saved = tutor(data_dir, "backup", str(backup))

    assert saved.exit_code == 0, saved.output
    assert saved.stdout.startswith(f"Backed up {data_dir / 'tutor.db'} to {backup} (")
    assert saved.stdout.endswith(" bytes, schema revision 0018).\n")
    assert sorted(path.name for path in backup.parent.iterdir()) == ["tutor-backup.db"]
    empty = tmp_path / "elsewhere" / "data"

    restored = tutor(empty, "restore", str(backup))

    assert restored.exit_code == 0, restored.output
    assert restored.stdout == (
        f"Restored {backup} into {empty / 'tutor.db'} (schema revision 0018).\n"
    )
    before = rows(data_dir, every_row)
    assert sum(len(table) for table in before.values()) > 30
    assert rows(empty, every_row) == before
    assert sorted(path.name for path in empty.iterdir()) == ["tutor.db"]


def test_a_backup_taken_while_another_connection_writes_is_consistent(
    data_dir: Path, tmp_path: Path
) -> None:
    """A writer commits two sources per transaction while the backup runs: the copy holds
    whole transactions only, as many as were committed when it started or more."""
    learner_id = _learner_id(data_dir / "tutor.db", "ada")
    committed = [0]
    stop = threading.Event()
    writer = threading.Thread(
        target=asyncio.run, args=(_write_pairs(data_dir, learner_id, committed, stop),)
    )
    writer.start()
    try:
        while committed[0] < 20:
            stop.wait(0.01)
        before = committed[0]
        backup = tmp_path / "during.db"
        saved = tutor(data_dir, "backup", str(backup))
        after = committed[0]
        while committed[0] < after + 5:  # the writer was not held up by the backup
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()

    assert saved.exit_code == 0, saved.output
    with sqlite3.connect(backup) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        titles = [
            title
            for (title,) in copy.execute("SELECT title FROM sources WHERE title LIKE 'pair %'")
        ]
    pairs = {int(title.split()[1]) for title in titles}
    assert sorted(titles) == sorted(f"pair {n} {half}" for n in pairs for half in "ab")
    assert pairs == set(range(len(pairs)))
    # The writer counts a transaction just after its commit: one may be in the copy and
    # not yet counted when the backup ends.
    assert before <= len(pairs) <= after + 1


async def _write_pairs(
    data_dir: Path, learner_id: uuid.UUID, committed: list[int], stop: threading.Event
) -> None:
    database = Database(sqlite_url(data_dir))
    try:
        while not stop.is_set():
            n = committed[0]
            async with database.sessionmaker() as db:
                db.add_all(
                    Source(learner_id=learner_id, title=f"pair {n} {half}", kind=SourceKind.post)
                    for half in "ab"
                )
                await db.commit()
            committed[0] = n + 1
    finally:
        await database.dispose()


def test_restore_refuses_a_database_that_holds_data_unless_forced(
    data_dir: Path, tmp_path: Path, sqlite_template: Path, fill, every_row
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    shutil.copyfile(sqlite_template, other / "tutor.db")
    asyncio.run(_filled(sqlite_url(other), fill, "zed"))
    backup = tmp_path / "zed.db"
    assert tutor(other, "backup", str(backup)).exit_code == 0
    before = rows(data_dir, every_row)

    refused = tutor(data_dir, "restore", str(backup))

    assert refused.exit_code == 1
    assert refused.stderr == (
        f"error: {data_dir / 'tutor.db'} holds data, which the restore would replace: add "
        "--force to replace it (it is kept beside the restored database), or restore into "
        "an empty TUTOR_DATA_DIR\n"
    )
    assert rows(data_dir, every_row) == before
    assert sorted(path.name for path in data_dir.iterdir()) == ["tutor.db"]

    forced = tutor(data_dir, "restore", str(backup), "--force")

    assert forced.exit_code == 0, forced.output
    (aside,) = data_dir.glob("tutor.db.before-restore-*")
    assert forced.stdout.endswith(f"The database it replaced is kept at {aside}.\n")
    assert rows(data_dir, every_row) == rows(other, every_row)
    kept = tmp_path / "kept"
    kept.mkdir()
    shutil.copyfile(aside, kept / "tutor.db")
    assert rows(kept, every_row) == before


def test_restore_refuses_while_another_process_has_the_database_open(
    data_dir: Path, tmp_path: Path, every_row
) -> None:
    backup = tmp_path / "backup.db"
    assert tutor(data_dir, "backup", str(backup)).exit_code == 0
    before = rows(data_dir, every_row)

    with _open_elsewhere(data_dir / "tutor.db"):
        refused = tutor(data_dir, "restore", str(backup), "--force")

    assert refused.exit_code == 1
    assert refused.stderr == (
        f"error: {data_dir / 'tutor.db'} is open in another process: stop `tutor serve` and "
        "`tutor scheduler` first\n"
    )
    assert rows(data_dir, every_row) == before
    assert sorted(path.name for path in data_dir.iterdir()) == ["tutor.db"]


@pytest.fixture
def not_tutor_files(tmp_path: Path) -> dict[str, Path]:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"SQLite format 2\0" + bytes(range(256)) * 8)
    other_app = tmp_path / "other-app.db"
    with sqlite3.connect(other_app) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.execute("INSERT INTO notes VALUES ('hello')")
    connection.close()
    return {"junk": junk, "other_app": other_app}


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("junk", "{path} is not a SQLite database Tutor can read (file is not a database)"),
        (
            "other_app",
            "{path} is not a Tutor database (it has no schema revision): nothing was changed",
        ),
        ("missing", "no such file: {path}"),
    ],
)
def test_a_file_that_is_not_a_tutor_backup_is_refused(
    data_dir: Path,
    not_tutor_files: dict[str, Path],
    tmp_path: Path,
    kind: str,
    message: str,
    every_row,
) -> None:
    path = not_tutor_files.get(kind, tmp_path / "missing.db")
    before = rows(data_dir, every_row)
    empty = tmp_path / "empty"

    for target in (data_dir, empty):
        refused = tutor(target, "restore", str(path), "--force")
        assert (refused.exit_code, refused.stderr) == (1, f"error: {message.format(path=path)}\n")
    assert rows(data_dir, every_row) == before
    assert list(empty.iterdir()) == []


def test_a_backup_from_a_newer_tutor_is_refused(data_dir: Path, tmp_path: Path) -> None:
    backup = tmp_path / "newer.db"
    assert tutor(data_dir, "backup", str(backup)).exit_code == 0
    with sqlite3.connect(backup) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.close()

    refused = tutor(tmp_path / "empty", "restore", str(backup))

    assert refused.exit_code == 1
    assert refused.stderr == (
        f"error: {backup} is at schema revision '9999', which this Tutor does not know (its "
        "newest is 0018): it was written by a newer Tutor; restore it with that version\n"
    )


def test_an_older_backup_is_migrated_once_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "old" / "tutor.db"
    old.parent.mkdir()
    monkeypatch.setenv("TUTOR_DATABASE_URL", f"sqlite:///{old}")
    command.upgrade(alembic_config(), "0014")
    with sqlite3.connect(old) as connection:
        connection.execute(
            "INSERT INTO learners (id, name, timezone, day_starts_at_hour, new_cards_per_day,"
            " created_at) VALUES (?, 'old-timer', 'UTC', 4, 20, '2025-01-01 00:00:00.000000')",
            (uuid.uuid4().hex,),
        )
    connection.close()
    monkeypatch.delenv("TUTOR_DATABASE_URL")
    restored_dir = tmp_path / "new"

    restored = tutor(restored_dir, "restore", str(old))

    assert restored.exit_code == 0, restored.output
    assert restored.stdout == (
        f"Restored {old} into {restored_dir / 'tutor.db'} (schema revision 0014, migrated "
        "from 0014 to 0018).\n"
    )
    listed = tutor(restored_dir, "learner", "list")
    assert listed.stdout.startswith("old-timer  timezone=UTC  active_keys=0  created=2025-01-01")


def test_backup_will_not_overwrite_a_file_or_copy_a_database_that_is_not_there(
    data_dir: Path, tmp_path: Path
) -> None:
    taken = tmp_path / "taken.db"
    taken.write_text("something else")

    refused = tutor(data_dir, "backup", str(taken))
    nothing = tutor(tmp_path / "fresh", "backup", str(tmp_path / "fresh.db"))

    assert (refused.exit_code, refused.stderr) == (
        1,
        f"error: {taken} exists: name another file, or add --force to replace it\n",
    )
    assert taken.read_text() == "something else"
    assert (nothing.exit_code, nothing.stderr) == (
        1,
        f"error: there is no database at {tmp_path / 'fresh' / 'tutor.db'} yet: nothing to "
        "back up\n",
    )
    assert tutor(data_dir, "backup", str(taken), "--force").exit_code == 0
    assert taken.read_bytes().startswith(b"SQLite format 3\0")


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_on_postgres_the_printed_commands_back_up_and_restore(
    database_url: str, tmp_path: Path, fill, every_row
) -> None:
    """The commands name the database without its password, and work as printed."""
    for program in ("pg_dump", "pg_restore"):
        assert shutil.which(program), f"{program} is needed here (Debian's postgresql-client)"
    asyncio.run(_filled(database_url, fill, "ada", "grace"))
    dump = tmp_path / "tutor backup.dump"
    with_password = (
        make_url(database_url).set(password="hunter2").render_as_string(hide_password=False)
    )

    shown = tutor(tmp_path / "data", "backup", str(dump), database_url=with_password)

    assert shown.exit_code == 1
    assert "hunter2" not in shown.stderr
    pg_dump, pg_restore = _commands(shown.stderr, "pg_dump", "pg_restore")
    assert _commands(
        tutor(tmp_path / "data", "restore", str(dump), database_url=database_url).stderr,
        "pg_dump",
        "pg_restore",
    ) == [pg_dump, pg_restore]

    server = make_url(database_url)
    copy_name = f"{server.database}_restored"
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    asyncio.run(
        admin_execute(admin, f"DROP DATABASE IF EXISTS {copy_name}", f"CREATE DATABASE {copy_name}")
    )
    copy_url = server.set(database=copy_name).render_as_string(hide_password=False)
    try:
        subprocess.run(pg_dump, check=True, capture_output=True)
        restore_shown = tutor(tmp_path / "data", "restore", str(dump), database_url=copy_url)
        _, pg_restore_copy = _commands(restore_shown.stderr, "pg_dump", "pg_restore")
        subprocess.run(pg_restore_copy, check=True, capture_output=True)
        assert asyncio.run(_every_row(copy_url, every_row)) == asyncio.run(
            _every_row(database_url, every_row)
        )
    finally:
        asyncio.run(admin_execute(admin, f"DROP DATABASE IF EXISTS {copy_name} WITH (FORCE)"))


def _commands(guidance: str, *programs: str) -> list[list[str]]:
    """The command lines of `guidance` that run `programs`, split as a shell would."""
    lines = [shlex.split(line) for line in guidance.splitlines() if line.startswith("    ")]
    return [next(words for words in lines if words[0] == program) for program in programs]


def _learner_id(path: Path, name: str) -> uuid.UUID:
    with sqlite3.connect(path) as connection:
        (found,) = connection.execute("SELECT id FROM learners WHERE name = ?", (name,)).fetchone()
    connection.close()
    return uuid.UUID(found)


# A process holding the database as `tutor serve` does: in WAL mode, after a read.
_HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
connection.execute("PRAGMA journal_mode=WAL")
connection.execute("SELECT count(*) FROM learners").fetchall()
print("open", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def _open_elsewhere(path: Path) -> Iterator[None]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "open\n"
        yield
    finally:
        holder.communicate(timeout=10)
