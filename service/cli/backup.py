"""`tutor backup PATH` and `tutor restore PATH`: the whole database, out and back in.

SQLite is copied by Tutor itself (`sqlite_files`), safely while Tutor runs. PostgreSQL
has tools made for it, `pg_dump` and `pg_restore`, which take a consistent snapshot of a
live database and whose version must match the server's: for it, these commands print
the exact commands for the configured database and stop, rather than run a `pg_dump` of
whatever version is on the PATH or reimplement it.
"""

from __future__ import annotations

import os
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

from service.cli import sqlite_files
from service.cli.common import fail, run_or_fail, settings_or_fail
from service.config import Settings
from service.migrations import alembic_config, upgrade_async


def backup(
    path: Annotated[Path, typer.Argument(help="The file to write (a SQLite database).")],
    force: Annotated[bool, typer.Option(help="Replace PATH if it exists.")] = False,
) -> None:
    """Copy the database to PATH: a consistent snapshot, safe while Tutor runs.

    SQLite only; for PostgreSQL it prints the `pg_dump` command to run instead."""
    settings = settings_or_fail()
    source = _sqlite_file(settings, asked="backup", path=path)
    if not source.is_file():
        fail(f"there is no database at {source} yet: nothing to back up")
    if path.is_dir():
        fail(f"{path} is a directory: name the file to write")
    if path.exists() and not force:
        fail(f"{path} exists: name another file, or add --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        sqlite_files.copy_database(source, partial, source_read_only=False)
        os.replace(partial, path)
        revision = sqlite_files.contents(path).revision
    except sqlite_files.FileError as exc:
        fail(str(exc))
    finally:
        sqlite_files.remove(partial)
    size = path.stat().st_size
    typer.echo(f"Backed up {source} to {path} ({size:,} bytes, schema revision {revision}).")


def restore(
    path: Annotated[Path, typer.Argument(help="A backup `tutor backup` wrote.")],
    force: Annotated[
        bool,
        typer.Option(help="Replace a database that holds data (it is kept beside the new one)."),
    ] = False,
) -> None:
    """Put a backup in place of the database, migrated to this Tutor's schema.

    Stop `tutor serve` and `tutor scheduler` first: a database another process has open
    is refused. A database holding data is replaced only with --force, and kept beside
    the restored one. SQLite only; for PostgreSQL it prints the `pg_restore` command."""
    settings = settings_or_fail()
    target = _sqlite_file(settings, asked="restore", path=path)
    try:
        revision = _tutor_revision(path)
        aside = _aside_if_needed(target, force=force)
    except sqlite_files.FileError as exc:
        fail(str(exc))
    target.parent.mkdir(parents=True, exist_ok=True)
    restoring = target.with_name(f".{target.name}.restoring-{os.getpid()}")
    sqlite_files.remove(restoring)
    try:
        sqlite_files.copy_database(path, restoring, source_read_only=True)
        # Migrated before it replaces anything: a failed migration leaves the database as it was.
        run_or_fail(settings, lambda: upgrade_async(f"sqlite+aiosqlite:///{restoring}"))
        sqlite_files.settle(restoring)
        sqlite_files.replace_database(target, restoring, keep_aside=aside)
    except sqlite_files.FileError as exc:
        fail(str(exc))
    finally:
        sqlite_files.remove(restoring)
    head = _script().get_current_head()
    migrated = f", migrated from {revision} to {head}" if revision != head else ""
    typer.echo(f"Restored {path} into {target} (schema revision {revision}{migrated}).")
    if aside is not None:
        typer.echo(f"The database it replaced is kept at {aside}.")


def _tutor_revision(path: Path) -> str:
    """The backup's schema revision, if it is a Tutor database this Tutor can migrate."""
    revision = sqlite_files.contents(path).revision
    if revision is None:
        raise sqlite_files.FileError(
            f"{path} is not a Tutor database (it has no schema revision): nothing was changed"
        )
    script = _script()
    known = {migration.revision for migration in script.walk_revisions()}
    if revision not in known:
        raise sqlite_files.FileError(
            f"{path} is at schema revision {revision!r}, which this Tutor does not know "
            f"(its newest is {script.get_current_head()}): it was written by a newer Tutor; "
            "restore it with that version"
        )
    return revision


def _aside_if_needed(target: Path, *, force: bool) -> Path | None:
    """Where the current database is kept when the restore replaces data, else None."""
    if not target.exists() or not sqlite_files.contents(target).has_rows:
        return None
    if not force:
        raise sqlite_files.FileError(
            f"{target} holds data, which the restore would replace: add --force to replace "
            "it (it is kept beside the restored database), or restore into an empty "
            "TUTOR_DATA_DIR"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return target.with_name(f"{target.name}.before-restore-{stamp}")


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def _sqlite_file(settings: Settings, *, asked: str, path: Path) -> Path:
    """The configured SQLite database's file; for PostgreSQL, the commands to use, and exit."""
    url = make_url(settings.database)
    if url.get_backend_name() != "sqlite":
        _postgres_guidance(settings, asked=asked, path=path)
    return Path(url.database or "")


def _postgres_guidance(settings: Settings, *, asked: str, path: Path) -> NoReturn:
    # libpq's own URL, without the driver and without the password, which belongs in
    # PGPASSWORD or ~/.pgpass rather than in a shell's history.
    configured = make_url(settings.database)
    url = URL.create(
        "postgresql",
        username=configured.username,
        host=configured.host,
        port=configured.port,
        database=configured.database,
        query=configured.query,
    )
    target = shlex.quote(url.render_as_string(hide_password=False))
    file = shlex.quote(str(path))
    dump = f"pg_dump --format=custom --file={file} {target}"
    restore = (
        f"pg_restore --clean --if-exists --no-owner --single-transaction --dbname={target} {file}"
    )
    lines = [
        f"error: `tutor {asked}` works on SQLite databases; this Tutor's database is "
        f"PostgreSQL ({url.render_as_string()}). Use PostgreSQL's own tools "
        "(of the server's version), with the password in PGPASSWORD or ~/.pgpass.",
        "To back it up (a consistent snapshot, safe while Tutor runs):",
        f"    {dump}",
        "To restore it, with `tutor serve` and `tutor scheduler` stopped:",
        f"    {restore}",
        "    tutor migrate",
    ]
    typer.echo("\n".join(lines), err=True)
    raise typer.Exit(code=1)
