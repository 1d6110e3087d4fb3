"""What the knowledge domain reads and writes: the learner's history that the knowledge is
derived from, read as plain data, and the learner's corrections to it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.models import Card, CardStatus, CardTag
from service.knowledge.models import KnowledgeMark, Mark, Subject
from service.knowledge.profile import CardsTagged, CritiqueSeen
from service.sessions.models import Critique, TutorSession

# The newest critiques only: a long history's old attempts say little about today, and
# every explain, follow-up and critique reads this.
MAX_CRITIQUES = 300
# Tags the service itself puts on cards: they name where a card came from, not a concept.
SERVICE_TAGS = frozenset({"missed-check"})


async def critiques_of(db: AsyncSession, learner_id: uuid.UUID) -> list[CritiqueSeen]:
    """The learner's latest finished critiques, oldest first."""
    rows = await db.execute(
        select(
            Critique.id,
            Critique.concept,
            Critique.verdict,
            Critique.score,
            Critique.issues,
            Critique.created_at,
        )
        .join(TutorSession, TutorSession.id == Critique.session_id)
        .where(TutorSession.learner_id == learner_id, Critique.verdict.is_not(None))
        .order_by(Critique.created_at.desc(), Critique.id)
        .limit(MAX_CRITIQUES)
    )
    seen = [
        CritiqueSeen(id, concept, str(verdict), score, issues or [], at)
        for id, concept, verdict, score, issues, at in rows
    ]
    return seen[::-1]


async def cards_by_tag(db: AsyncSession, learner_id: uuid.UUID) -> list[CardsTagged]:
    """Per tag, the learner's accepted (active or suspended) cards and their reviews."""
    rows = await db.execute(
        select(
            CardTag.tag,
            func.count(),
            func.count(Card.last_reviewed_at),
            func.coalesce(func.sum(Card.lapses), 0),
            func.avg(Card.easiness),
            func.max(Card.last_reviewed_at),
        )
        .join(Card, Card.id == CardTag.card_id)
        .where(Card.learner_id == learner_id, Card.status != CardStatus.draft)
        .group_by(CardTag.tag)
    )
    return [
        CardsTagged(tag, cards, reviewed, int(lapses), float(ease), last)
        for tag, cards, reviewed, lapses, ease, last in rows
        if tag not in SERVICE_TAGS
    ]


async def marks_of(db: AsyncSession, learner_id: uuid.UUID) -> list[KnowledgeMark]:
    result = await db.scalars(select(KnowledgeMark).where(KnowledgeMark.learner_id == learner_id))
    return list(result)


# Both dialects say "insert, or update the row with this key" the same way.
_UPSERTS: dict[str, Callable[[Any], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


async def clear_mark(
    db: AsyncSession, *, learner_id: uuid.UUID, subject: Subject, key: str
) -> None:
    where = (
        (KnowledgeMark.learner_id == learner_id)
        & (KnowledgeMark.subject == subject)
        & (KnowledgeMark.key == key)
    )
    await db.execute(delete(KnowledgeMark).where(where))


async def set_mark(
    db: AsyncSession,
    *,
    learner_id: uuid.UUID,
    subject: Subject,
    key: str,
    mark: Mark,
    name: str | None,
    updated_at: datetime,
) -> None:
    """One statement, an upsert: two marks of the same key at once end with one of
    them, never an error."""
    values: dict[str, Any] = {"mark": mark, "updated_at": updated_at}
    insert = _UPSERTS[db.get_bind().dialect.name](KnowledgeMark).values(
        learner_id=learner_id, subject=subject, key=key, name=name, **values
    )
    await db.execute(
        insert.on_conflict_do_update(index_elements=["learner_id", "subject", "key"], set_=values)
    )
