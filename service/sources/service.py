"""The reading queue, callable without HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import utcnow
from service.errors import NotFound
from service.learners.models import Learner
from service.sources import queries
from service.sources.models import Source, SourceStatus
from service.sources.schemas import SourceCreate


class SourceNotFound(NotFound):
    code = "source_not_found"

    def __init__(self) -> None:
        super().__init__("No such source.")


async def create_source(session: AsyncSession, *, learner: Learner, data: SourceCreate) -> Source:
    now = utcnow()
    source = Source(learner_id=learner.id, created_at=now, updated_at=now, **data.fields())
    session.add(source)
    await session.commit()
    return source


async def get_source(session: AsyncSession, *, learner: Learner, source_id: uuid.UUID) -> Source:
    """A source of this learner's; another learner's is as absent as a missing one."""
    source = await queries.source_of(session, learner_id=learner.id, source_id=source_id)
    if source is None:
        raise SourceNotFound()
    return source


async def list_sources(
    session: AsyncSession,
    *,
    learner: Learner,
    status: SourceStatus | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Source], str | None]:
    return await queries.sources_page(
        session, learner_id=learner.id, status=status, cursor=cursor, limit=limit
    )


async def update_source(
    session: AsyncSession, *, learner: Learner, source_id: uuid.UUID, changes: dict[str, Any]
) -> Source:
    source = await get_source(session, learner=learner, source_id=source_id)
    for field, value in changes.items():
        setattr(source, field, value)
    await session.commit()
    return source


async def delete_source(session: AsyncSession, *, learner: Learner, source_id: uuid.UUID) -> None:
    source = await get_source(session, learner=learner, source_id=source_id)
    await session.delete(source)
    await session.commit()
