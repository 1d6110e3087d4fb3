"""Alembic migrations, shipped inside the package so an installed Tutor can migrate."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from service.db import create_engine

MIGRATIONS_DIR = Path(__file__).parent
# Any fixed number: replicas starting together take turns instead of racing.
_POSTGRES_LOCK_ID = 0x7475746F72  # "tutor"


def _only_migration_steps(record: logging.LogRecord) -> bool:
    # Alembic announces its dialect on every run; only the migrations it applies matter.
    return record.getMessage().startswith("Running ")


logging.getLogger("alembic.runtime.migration").addFilter(_only_migration_steps)


def alembic_config() -> Config:
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _upgrade_on(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_async(database_url: str) -> None:
    """Bring the database to the newest schema; safe to run from several processes."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"), {"id": _POSTGRES_LOCK_ID}
                )
            await connection.run_sync(_upgrade_on)
    finally:
        await engine.dispose()


def upgrade(database_url: str) -> None:
    asyncio.run(upgrade_async(database_url))
