"""What the checks domain reads: check answers, the messages they answer, their context."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.checks.models import CheckAnswer
from service.sessions.models import Kind, Message


async def message_in_session(
    db: AsyncSession, *, message_id: uuid.UUID, session_id: uuid.UUID
) -> Message | None:
    message: Message | None = await db.scalar(
        select(Message).where(Message.id == message_id, Message.session_id == session_id)
    )
    return message


async def check_in_session(
    db: AsyncSession, *, check_id: uuid.UUID, session_id: uuid.UUID
) -> CheckAnswer | None:
    check: CheckAnswer | None = await db.scalar(
        select(CheckAnswer).where(CheckAnswer.id == check_id, CheckAnswer.session_id == session_id)
    )
    return check


async def passage_before(db: AsyncSession, *, session_id: uuid.UUID, position: int) -> str | None:
    """The text of the session's latest passage before `position`."""
    passage: str | None = await db.scalar(
        select(Message.content)
        .where(
            Message.session_id == session_id,
            Message.kind == Kind.passage,
            Message.position < position,
        )
        .order_by(Message.position.desc())
        .limit(1)
    )
    return passage


async def checks_of_session(db: AsyncSession, *, session_id: uuid.UUID) -> list[CheckAnswer]:
    """The session's check answers, oldest first."""
    rows = await db.scalars(
        select(CheckAnswer)
        .where(CheckAnswer.session_id == session_id)
        .order_by(CheckAnswer.created_at, CheckAnswer.id)
    )
    return list(rows)
