"""What every `tutor` command shares: the settings, one-line errors, a migrated database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings, SettingsError, ensure_data_dir, load_settings
from service.db import Database
from service.errors import TutorError
from service.migrations import upgrade_async

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def settings_or_fail() -> Settings:
    """The settings, the data directory made, logging set up; a bad setting is one line."""
    try:
        settings = load_settings()
        ensure_data_dir(settings)
    except SettingsError as exc:
        fail(str(exc))
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return settings


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def with_database(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Migrate, then run `work` in one session; database trouble becomes one line."""

    async def run() -> T:
        await upgrade_async(settings.database)
        database = Database.from_settings(settings)
        try:
            async with database.sessionmaker() as session:
                return await work(session)
        finally:
            await database.dispose()

    return run_or_fail(settings, run)


def run_or_fail(settings: Settings, run: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`run` on an event loop; the service's errors and database trouble become one line."""
    try:
        return asyncio.run(run())
    except TutorError as exc:
        fail(exc.message)
    except ValueError as exc:
        fail(str(exc))
    except (DBAPIError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        fail(f"cannot use the database at {safe_url(settings.database)}: {reason}")


async def nothing(_session: AsyncSession) -> None:
    return None
