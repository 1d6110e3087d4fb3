"""What the critiques domain reads: attempts, their critiques, and the session around them."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.sessions.models import Critique, Kind, Message, TutorSession, Verdict


async def latest_attempt(
    db: AsyncSession, *, session_id: uuid.UUID, concept_key: str
) -> int | None:
    """The number of the session's latest attempt on the concept, if any."""
    latest: int | None = await db.scalar(
        select(func.max(Critique.attempt)).where(
            Critique.session_id == session_id, Critique.concept_key == concept_key
        )
    )
    return latest


async def passages_newest_first(db: AsyncSession, *, session_id: uuid.UUID) -> list[Message]:
    passages = await db.scalars(
        select(Message)
        .where(Message.session_id == session_id, Message.kind == Kind.passage)
        .order_by(Message.position.desc())
    )
    return list(passages)


async def previous_critique(
    db: AsyncSession, *, session_id: uuid.UUID, concept_key: str, before_attempt: int
) -> Critique | None:
    """The latest attempt on the concept before `before_attempt` that got a critique."""
    result: Critique | None = await db.scalar(
        select(Critique)
        .where(
            Critique.session_id == session_id,
            Critique.concept_key == concept_key,
            Critique.attempt < before_attempt,
            Critique.verdict.is_not(None),
        )
        .order_by(Critique.attempt.desc())
        .limit(1)
    )
    return result


async def prompt_nonce(db: AsyncSession, *, session_id: uuid.UUID) -> str | None:
    nonce: str | None = await db.scalar(
        select(TutorSession.prompt_nonce).where(TutorSession.id == session_id)
    )
    return nonce


async def critique_of_message(db: AsyncSession, *, message_id: uuid.UUID) -> Critique | None:
    critique: Critique | None = await db.scalar(
        select(Critique).where(Critique.critique_message_id == message_id)
    )
    return critique


async def finished_critiques(
    db: AsyncSession, *, session_id: uuid.UUID, concept_key: str | None
) -> list[tuple[Critique, Message]]:
    """The session's finished critiques with their messages, oldest first; only those on
    one concept if `concept_key` is given."""
    statement = (
        select(Critique, Message)
        .join(Message, Message.id == Critique.critique_message_id)
        .where(Critique.session_id == session_id, Critique.verdict.is_not(None))
        .order_by(Critique.created_at, Critique.attempt)
    )
    if concept_key is not None:
        statement = statement.where(Critique.concept_key == concept_key)
    rows = await db.execute(statement)
    return [(critique, message) for critique, message in rows]


async def critique_in_session(
    db: AsyncSession, *, critique_id: uuid.UUID, session_id: uuid.UUID
) -> Critique | None:
    critique: Critique | None = await db.scalar(
        select(Critique).where(Critique.id == critique_id, Critique.session_id == session_id)
    )
    return critique


async def verdicts_up_to(
    db: AsyncSession, *, session_id: uuid.UUID, concept_key: str, attempt: int
) -> list[Verdict | None]:
    """The verdicts of the session's attempts on the concept, in order, up to `attempt`."""
    rows = await db.scalars(
        select(Critique.verdict)
        .where(
            Critique.session_id == session_id,
            Critique.concept_key == concept_key,
            Critique.attempt <= attempt,
        )
        .order_by(Critique.attempt)
    )
    return list(rows)
