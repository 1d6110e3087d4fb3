"""Every statement the cards domain runs: cards, and what distillation reads of sessions."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.models import Card, CardKind, CardStatus, CardTag
from service.jobs.models import JobRun
from service.pagination import newest_first
from service.sessions.models import Critique, Message, TutorSession

# Cards -----------------------------------------------------------------------------


async def learner_card(
    db: AsyncSession, *, learner_id: uuid.UUID, card_id: uuid.UUID
) -> Card | None:
    return await db.scalar(select(Card).where(Card.id == card_id, Card.learner_id == learner_id))


async def learner_cards(
    db: AsyncSession, *, learner_id: uuid.UUID, card_ids: Sequence[uuid.UUID]
) -> list[Card]:
    """Those of `card_ids` that are the learner's cards."""
    return list(
        await db.scalars(select(Card).where(Card.learner_id == learner_id, Card.id.in_(card_ids)))
    )


async def card_questions(
    db: AsyncSession, *, learner_id: uuid.UUID
) -> Sequence[Row[uuid.UUID, str, CardKind]]:
    """(id, front, kind) of every card the learner has, whatever its status."""
    rows = await db.execute(
        select(Card.id, Card.front, Card.kind).where(Card.learner_id == learner_id)
    )
    return rows.all()


async def cards_page(
    db: AsyncSession,
    *,
    learner_id: uuid.UUID,
    status: CardStatus | None,
    session_id: uuid.UUID | None,
    source_id: uuid.UUID | None,
    tag: str | None,
    q: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Card], str | None]:
    """A page of the learner's cards, newest first, those given filters applied: `q` is
    looked for in either side, whatever its case."""
    statement = select(Card).where(Card.learner_id == learner_id)
    if status is not None:
        statement = statement.where(Card.status == status)
    if session_id is not None:
        statement = statement.where(Card.session_id == session_id)
    if source_id is not None:
        statement = statement.where(Card.source_id == source_id)
    if tag is not None:
        tagged = select(CardTag.card_id).where(CardTag.tag == tag)
        statement = statement.where(Card.id.in_(tagged))
    if q:
        statement = statement.where(
            or_(
                Card.front.icontains(q, autoescape=True),
                Card.back.icontains(q, autoescape=True),
            )
        )
    return await newest_first(
        db, statement, created_at=Card.created_at, row_id=Card.id, cursor=cursor, limit=limit
    )


async def drafts_oldest_first(
    db: AsyncSession, *, learner_id: uuid.UUID, session_id: uuid.UUID | None
) -> list[Card]:
    """The learner's drafts (of `session_id`), in the order they were made."""
    statement = select(Card).where(Card.learner_id == learner_id, Card.status == CardStatus.draft)
    if session_id is not None:
        statement = statement.where(Card.session_id == session_id)
    return list(await db.scalars(statement.order_by(Card.created_at, Card.id)))


# Distillation ----------------------------------------------------------------------


async def session_card_fronts(db: AsyncSession, *, session_id: uuid.UUID) -> list[str]:
    """The fronts of the cards already made from the session."""
    return list(await db.scalars(select(Card.front).where(Card.session_id == session_id)))


async def session_card_tags(db: AsyncSession, *, session_id: uuid.UUID) -> set[str]:
    """The tags of the cards already made from the session."""
    made_here = select(Card.id).where(Card.session_id == session_id)
    return set(await db.scalars(select(CardTag.tag).where(CardTag.card_id.in_(made_here))))


async def related_candidates(
    db: AsyncSession,
    *,
    learner_id: uuid.UUID,
    session_id: uuid.UUID,
    tags: Collection[str],
) -> Sequence[Row[str, datetime, bool]]:
    """(front, created_at, shares one of `tags`) of the learner's drafts and active cards
    from other sessions or from none: the candidates of related.py."""
    rows = await db.execute(
        select(Card.front, Card.created_at, _shares_a_tag(tags)).where(
            Card.learner_id == learner_id,
            Card.status.in_([CardStatus.draft, CardStatus.active]),
            or_(Card.session_id.is_(None), Card.session_id != session_id),
        )
    )
    return rows.all()


def _shares_a_tag(tags: Collection[str]) -> ColumnElement[bool]:
    if not tags:
        return false()
    return exists().where(CardTag.card_id == Card.id, CardTag.tag.in_(list(tags)))


async def critique_issues(
    db: AsyncSession, *, session_id: uuid.UUID
) -> Sequence[Row[uuid.UUID, list[dict[str, Any]]]]:
    """(id of the critique's message, its issues) of each critique of the session."""
    rows = await db.execute(
        select(Critique.critique_message_id, Critique.issues).where(
            Critique.session_id == session_id
        )
    )
    return rows.all()


async def idle_sessions_with_new_content(
    db: AsyncSession, *, learner_id: uuid.UUID, idle_since: datetime
) -> list[tuple[TutorSession, int]]:
    """The learner's sessions untouched since `idle_since` with messages distillation
    has not seen, each with the position of its last message."""
    last_position = (
        select(Message.session_id, func.max(Message.position).label("last"))
        .group_by(Message.session_id)
        .subquery()
    )
    rows = await db.execute(
        select(TutorSession, last_position.c.last)
        .join(last_position, last_position.c.session_id == TutorSession.id)
        .where(
            TutorSession.learner_id == learner_id,
            TutorSession.updated_at < idle_since,
            (TutorSession.distilled_position.is_(None))
            | (TutorSession.distilled_position < last_position.c.last),
        )
    )
    return [(session, last) for session, last in rows]


async def delete_job_run(db: AsyncSession, *, run_id: uuid.UUID) -> None:
    await db.execute(delete(JobRun).where(JobRun.id == run_id))
