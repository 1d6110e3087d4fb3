"""What the sessions domain reads and writes: sessions, and the answers being written."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import selectinload

from service.db import table_of
from service.pagination import newest_first
from service.sessions.models import Message, MessageStatus, TutorSession

_MESSAGES = table_of(Message)


async def learners_session(
    db: AsyncSession, *, learner_id: uuid.UUID, session_id: uuid.UUID, with_messages: bool
) -> TutorSession | None:
    """The session if it is this learner's (its messages loaded too, if asked)."""
    statement = select(TutorSession).where(
        TutorSession.id == session_id, TutorSession.learner_id == learner_id
    )
    if with_messages:
        statement = statement.options(selectinload(TutorSession.messages))
    return await db.scalar(statement)


async def sessions_page(
    db: AsyncSession, *, learner_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[Sequence[TutorSession], str | None]:
    """One page of the learner's sessions, newest first, and the next page's cursor."""
    return await newest_first(
        db,
        select(TutorSession).where(TutorSession.learner_id == learner_id),
        created_at=TutorSession.created_at,
        row_id=TutorSession.id,
        cursor=cursor,
        limit=limit,
    )


async def mark_answers_alive(
    connection: AsyncConnection, *, message_ids: Collection[object], now: datetime
) -> None:
    """Those of the answers that are still being written, marked alive at `now`."""
    statement = (
        update(_MESSAGES)
        .where(_MESSAGES.c.id.in_(message_ids), _MESSAGES.c.status == MessageStatus.streaming)
        .values(updated_at=now)
    )
    await connection.execute(statement)


async def end_answers_unmarked_since(
    connection: AsyncConnection, *, since: datetime, now: datetime, code: str, message: str
) -> int:
    """Every answer still being written but not marked alive since `since`, failed with
    `code` and `message`; how many."""
    statement = (
        update(_MESSAGES)
        .where(_MESSAGES.c.status == MessageStatus.streaming, _MESSAGES.c.updated_at < since)
        .values(status=MessageStatus.failed, error_code=code, error_message=message, updated_at=now)
    )
    result = await connection.execute(statement)
    return result.rowcount
