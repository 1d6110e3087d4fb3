"""What the study log reads and writes: a learner's day as the database holds it, and the
log's own entries."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.models import Card
from service.checks.models import CheckAnswer
from service.reviews.models import Review
from service.sessions.models import Critique, Message, TutorSession
from service.sources.models import Source, SourceStatus
from service.studylog.models import StudyLogEntry

Row = TypeVar("Row", Critique, CheckAnswer)


async def messages_between(
    db: AsyncSession, *, learner_id: uuid.UUID, start: datetime, end: datetime
) -> list[tuple[Message, str | None]]:
    """The learner's messages made between start and end, each with its session's title."""
    rows = await db.execute(
        select(Message, TutorSession.title)
        .join(TutorSession, TutorSession.id == Message.session_id)
        .where(
            TutorSession.learner_id == learner_id,
            Message.created_at >= start,
            Message.created_at < end,
        )
    )
    return [(message, title) for message, title in rows]


async def _in_sessions(
    db: AsyncSession,
    model: type[Row],
    learner_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    finished: ColumnElement[bool],
) -> list[Row]:
    """The learner's finished critiques (or check answers) made between start and end."""
    rows = await db.scalars(
        select(model)
        .join(TutorSession, TutorSession.id == model.session_id)
        .where(
            TutorSession.learner_id == learner_id,
            model.created_at >= start,
            model.created_at < end,
            finished,
        )
    )
    return list(rows)


async def critiques_between(
    db: AsyncSession, *, learner_id: uuid.UUID, start: datetime, end: datetime
) -> list[Critique]:
    """The learner's finished critiques made between start and end."""
    return await _in_sessions(
        db, Critique, learner_id, start, end, finished=Critique.verdict.is_not(None)
    )


async def checks_between(
    db: AsyncSession, *, learner_id: uuid.UUID, start: datetime, end: datetime
) -> list[CheckAnswer]:
    """The learner's graded check answers made between start and end."""
    return await _in_sessions(
        db, CheckAnswer, learner_id, start, end, finished=CheckAnswer.result.is_not(None)
    )


async def reviews_on(db: AsyncSession, *, learner_id: uuid.UUID, day: date) -> list[Review]:
    rows = await db.scalars(
        select(Review).where(Review.learner_id == learner_id, Review.review_date == day)
    )
    return list(rows)


async def cards_created_between(
    db: AsyncSession, *, learner_id: uuid.UUID, start: datetime, end: datetime
) -> int | None:
    count: int | None = await db.scalar(
        select(func.count(Card.id)).where(
            Card.learner_id == learner_id, Card.created_at >= start, Card.created_at < end
        )
    )
    return count


async def cards_accepted_on(db: AsyncSession, *, learner_id: uuid.UUID, day: date) -> int | None:
    count: int | None = await db.scalar(
        select(func.count(Card.id)).where(Card.learner_id == learner_id, Card.activated_on == day)
    )
    return count


async def cards_started_on(db: AsyncSession, *, learner_id: uuid.UUID, day: date) -> int | None:
    count: int | None = await db.scalar(
        select(func.count(Card.id)).where(Card.learner_id == learner_id, Card.started_on == day)
    )
    return count


async def sources_updated_between(
    db: AsyncSession, *, learner_id: uuid.UUID, start: datetime, end: datetime
) -> list[tuple[str, SourceStatus]]:
    """The title and status of each of the learner's sources changed between start and end."""
    rows = await db.execute(
        select(Source.title, Source.status).where(
            Source.learner_id == learner_id, Source.updated_at >= start, Source.updated_at < end
        )
    )
    return [(title, status) for title, status in rows]


async def card_fronts(
    db: AsyncSession, *, card_ids: Collection[uuid.UUID], limit: int
) -> list[str]:
    """The fronts of these cards, in alphabetical order, at most `limit` of them."""
    fronts = await db.scalars(
        select(Card.front).where(Card.id.in_(card_ids)).order_by(Card.front).limit(limit)
    )
    return list(fronts)


async def entry_count(db: AsyncSession, *, learner_id: uuid.UUID) -> int | None:
    count: int | None = await db.scalar(
        select(func.count(StudyLogEntry.id)).where(StudyLogEntry.learner_id == learner_id)
    )
    return count


async def entries_without_narrative(
    db: AsyncSession, *, learner_id: uuid.UUID, since: date
) -> list[StudyLogEntry]:
    entries = await db.scalars(
        select(StudyLogEntry).where(
            StudyLogEntry.learner_id == learner_id,
            StudyLogEntry.narrative.is_(None),
            StudyLogEntry.day >= since,
        )
    )
    return list(entries)


async def days_written(db: AsyncSession, *, learner_id: uuid.UUID, since: date) -> set[date]:
    """The days since `since` that have an entry."""
    days = await db.scalars(
        select(StudyLogEntry.day).where(
            StudyLogEntry.learner_id == learner_id, StudyLogEntry.day >= since
        )
    )
    return set(days)


async def entries_newest_first(db: AsyncSession, *, learner_id: uuid.UUID) -> list[StudyLogEntry]:
    entries = await db.scalars(
        select(StudyLogEntry)
        .where(StudyLogEntry.learner_id == learner_id)
        .order_by(StudyLogEntry.day.desc())
    )
    return list(entries)


async def entry_on(db: AsyncSession, *, learner_id: uuid.UUID, day: date) -> StudyLogEntry | None:
    entry: StudyLogEntry | None = await db.scalar(
        select(StudyLogEntry).where(
            StudyLogEntry.learner_id == learner_id, StudyLogEntry.day == day
        )
    )
    return entry
