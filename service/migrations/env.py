"""Alembic's entry point: runs on the connection Tutor hands it, or on its own engine."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from service.db import UTCDateTime
from service.models import Base

config = context.config


def render_item(kind: str, item: Any, _context: AutogenContext) -> str | Literal[False]:
    # Migrations must not import application types, which change over time.
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine() -> None:
    # Imported here: `tutor migrate` always passes a connection and never needs settings.
    from service.config import load_settings
    from service.db import create_engine

    engine = create_engine(load_settings().database)
    async with engine.connect() as connection:
        await connection.run_sync(run_on)
        await connection.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    asyncio.run(run_with_own_engine())
