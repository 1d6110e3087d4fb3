"""What the sessions domain reads and writes: sessions, and the answers being written."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import selectinload

from service.db import table_of
from service.pagination import newest_first
from service.sessions.models import Message, MessageStatus, PaperPassage, TutorSession

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


async def session_paper_passages(
    db: AsyncSession, *, session_id: uuid.UUID
) -> dict[uuid.UUID, PaperPassage]:
    """The passages of papers the session's messages came from, by message id, in the
    order of the messages."""
    rows = await db.scalars(
        select(PaperPassage)
        .join(Message, Message.id == PaperPassage.message_id)
        .where(Message.session_id == session_id)
        .order_by(Message.position)
    )
    return {row.message_id: row for row in rows}


async def paper_passage_of(db: AsyncSession, *, message_id: uuid.UUID) -> PaperPassage | None:
    return await db.get(PaperPassage, message_id)


async def latest_paper_passages(
    db: AsyncSession, *, session_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, PaperPassage]:
    """Each session's latest passage of a paper (of those that have one), by session id."""
    if not session_ids:
        return {}
    latest = (
        select(Message.session_id, func.max(Message.position).label("position"))
        .join(PaperPassage, PaperPassage.message_id == Message.id)
        .where(Message.session_id.in_(session_ids))
        .group_by(Message.session_id)
        .subquery()
    )
    rows = await db.execute(
        select(Message.session_id, PaperPassage)
        .join(PaperPassage, PaperPassage.message_id == Message.id)
        .join(
            latest,
            (latest.c.session_id == Message.session_id) & (latest.c.position == Message.position),
        )
    )
    return {row[0]: row[1] for row in rows}


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
