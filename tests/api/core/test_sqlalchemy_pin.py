"""SQLAlchemy stays at the versions service/sqlite_driver.py was checked against.

The driver is driven by private classes of SQLAlchemy's aiosqlite dialect, so an upgrade
is meant to fail here, in one place, saying what moved, rather than somewhere in the suite.
"""

from __future__ import annotations

import importlib
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import sqlalchemy
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from sqlalchemy.dialects.sqlite import aiosqlite as dialect

from service import sqlite_driver
from service.db import Database

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())

# What service/sqlite_driver.py (and service/db.py, which plugs it in) rely on, by module.
PRIVATE_NAMES = {
    "sqlalchemy.dialects.sqlite.aiosqlite": [
        # import_dbapi() gives the module whose connect() takes `async_creator_fn`, the
        # engine's async_creator, and whose exception classes are aiosqlite's (sqlite3's)
        "SQLiteDialect_aiosqlite.import_dbapi",
        "AsyncAdapt_aiosqlite_dbapi.connect",
        # wraps the driver's Connection: reads its `_connection` before commit and rollback,
        # awaits close(), calls stop() to end it
        "AsyncAdapt_aiosqlite_connection.commit",
        "AsyncAdapt_aiosqlite_connection.rollback",
        "AsyncAdapt_aiosqlite_connection._terminate_graceful_close",
        "AsyncAdapt_aiosqlite_connection._terminate_force_close",
        # wraps the driver's Cursor: awaits __aenter__, execute, fetchall and close
        "AsyncAdapt_aiosqlite_cursor._aenter_cursor",
        "AsyncAdapt_aiosqlite_cursor._execute_async",
        "AsyncAdapt_aiosqlite_cursor._awaitable_cursor_close",
    ],
    # service/db.py: the writers' turn is waited for inside SQLAlchemy's greenlet
    "sqlalchemy.util": ["await_"],
    "sqlalchemy.util.concurrency": ["in_greenlet"],
}


def _pin() -> SpecifierSet:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(line) for line in project["dependencies"]]
    (sqlalchemy_requirement,) = [r for r in requirements if r.name.lower() == "sqlalchemy"]
    return sqlalchemy_requirement.specifier


def test_the_installed_sqlalchemy_is_one_the_driver_was_checked_against() -> None:
    sqlite_driver.check_sqlalchemy_version(sqlalchemy.__version__)
    assert version("sqlalchemy") in _pin(), "reinstall: pip install -e '.[dev]'"


def test_the_pin_admits_exactly_the_checked_minor_versions() -> None:
    pin = _pin()
    admitted = {
        f"{major}.{minor}"
        for major in range(1, 4)
        for minor in range(20)
        if any(f"{major}.{minor}.{patch}" in pin for patch in range(100))
    }
    assert admitted == set(sqlite_driver.CHECKED_SQLALCHEMY_VERSIONS), (
        f"pyproject.toml pins SQLAlchemy to {pin}, which admits {sorted(admitted)}; "
        f"the driver was checked against {sqlite_driver.CHECKED_SQLALCHEMY_VERSIONS}"
    )


@pytest.mark.parametrize("unknown", ["2.2.0", "2.0.44", "3.0.0b1"])
def test_an_unchecked_sqlalchemy_is_refused_with_what_to_do(unknown: str) -> None:
    with pytest.raises(RuntimeError) as refused:
        sqlite_driver.check_sqlalchemy_version(unknown)
    message = str(refused.value)
    assert f"SQLAlchemy {unknown} is installed" in message
    assert ", ".join(sqlite_driver.CHECKED_SQLALCHEMY_VERSIONS) in message
    assert "CHECKED_SQLALCHEMY_VERSIONS" in message
    assert "test_sqlite_driver.py" in message


@pytest.mark.parametrize("checked", ["2.1.0", "2.1.9", "2.1.10", "2.1.0rc1"])
def test_every_release_of_a_checked_minor_version_is_accepted(checked: str) -> None:
    sqlite_driver.check_sqlalchemy_version(checked)


@pytest.mark.parametrize(
    ("module", "name"), [(m, name) for m, names in PRIVATE_NAMES.items() for name in names]
)
def test_the_private_sqlalchemy_names_the_driver_relies_on_exist(module: str, name: str) -> None:
    found: object = importlib.import_module(module)
    for part in name.split("."):
        assert hasattr(found, part), (
            f"SQLAlchemy {sqlalchemy.__version__} has no {module}.{name}, which "
            "service/sqlite_driver.py relies on: see its docstring, and adapt it before "
            "adding this version to CHECKED_SQLALCHEMY_VERSIONS"
        )
        found = getattr(found, part)


async def test_the_dialect_drives_the_drivers_connections(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'tutor.db'}")
    try:
        async with database.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert type(raw.dbapi_connection) is dialect.AsyncAdapt_aiosqlite_connection
            assert isinstance(raw.driver_connection, sqlite_driver.Connection)
    finally:
        await database.dispose()
