"""Tutoring sessions: create, read, list, change, delete."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import utcnow
from service.errors import NotFound
from service.learners.models import Learner
from service.sessions.models import TutorSession
from service.sessions.queries import learners_session, sessions_page
from service.sessions.schemas import SessionCreate
from service.sources.service import get_source


class SessionNotFound(NotFound):
    code = "session_not_found"

    def __init__(self) -> None:
        super().__init__("No such session.")


async def create_session(
    db: AsyncSession, *, learner: Learner, data: SessionCreate
) -> TutorSession:
    if data.source_id is not None:
        await get_source(db, learner=learner, source_id=data.source_id)
    now = utcnow()
    session = TutorSession(
        learner_id=learner.id,
        title=data.title,
        source_id=data.source_id,
        created_at=now,
        updated_at=now,
        messages=[],
    )
    db.add(session)
    await db.commit()
    return session


async def get_session(
    db: AsyncSession, *, learner: Learner, session_id: uuid.UUID, with_messages: bool = False
) -> TutorSession:
    """A session of this learner's; another learner's is as absent as a missing one."""
    session = await learners_session(
        db, learner_id=learner.id, session_id=session_id, with_messages=with_messages
    )
    if session is None:
        raise SessionNotFound()
    return session


async def list_sessions(
    db: AsyncSession, *, learner: Learner, cursor: str | None, limit: int
) -> tuple[Sequence[TutorSession], str | None]:
    return await sessions_page(db, learner_id=learner.id, cursor=cursor, limit=limit)


async def update_session(
    db: AsyncSession, *, learner: Learner, session_id: uuid.UUID, changes: dict[str, Any]
) -> TutorSession:
    session = await get_session(db, learner=learner, session_id=session_id)
    if changes.get("source_id") is not None:
        await get_source(db, learner=learner, source_id=changes["source_id"])
    for field, value in changes.items():
        setattr(session, field, value)
    await db.commit()
    return session


async def delete_session(db: AsyncSession, *, learner: Learner, session_id: uuid.UUID) -> None:
    session = await get_session(db, learner=learner, session_id=session_id)
    await db.delete(session)
    await db.commit()
