"""Every statement the sources domain runs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.pagination import newest_first
from service.sources.models import Source, SourceStatus


async def source_of(
    session: AsyncSession, *, learner_id: uuid.UUID, source_id: uuid.UUID
) -> Source | None:
    """The source if it is this learner's."""
    return await session.scalar(
        select(Source).where(Source.id == source_id, Source.learner_id == learner_id)
    )


async def sources_page(
    session: AsyncSession,
    *,
    learner_id: uuid.UUID,
    status: SourceStatus | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Source], str | None]:
    """One page of the learner's sources, newest first, and the next page's cursor."""
    statement = select(Source).where(Source.learner_id == learner_id)
    if status is not None:
        statement = statement.where(Source.status == status)
    return await newest_first(
        session,
        statement,
        created_at=Source.created_at,
        row_id=Source.id,
        cursor=cursor,
        limit=limit,
    )


async def source_title(session: AsyncSession, *, source_id: uuid.UUID) -> str | None:
    """The title of a source, whoever's it is: the caller holds a row that points to it."""
    title: str | None = await session.scalar(select(Source.title).where(Source.id == source_id))
    return title
