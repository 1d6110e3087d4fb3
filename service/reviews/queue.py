"""Today's review queue: due reviews, then new cards within the daily limit, then drill."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.models import Card, CardStatus
from service.learners.models import Learner
from service.reviews.days import learner_day


@dataclass(frozen=True)
class Queue:
    day: date
    due: int
    new: int
    drill: int
    cards: list[Card]


def _active(learner: Learner) -> Select[Card]:
    return select(Card).where(Card.learner_id == learner.id, Card.status == CardStatus.active)


def _due(learner: Learner, today: date) -> Select[Card]:
    return _active(learner).where(
        Card.drill.is_(False), Card.last_reviewed_at.is_not(None), Card.due <= today
    )


def _new(learner: Learner) -> Select[Card]:
    return _active(learner).where(Card.last_reviewed_at.is_(None))


def _drill(learner: Learner) -> Select[Card]:
    return _active(learner).where(Card.drill.is_(True))


async def _count(db: AsyncSession, statement: Select[Card]) -> int:
    return await db.scalar(select(func.count()).select_from(statement.subquery())) or 0


async def new_cards_left(db: AsyncSession, *, learner: Learner, today: date) -> int:
    started = await db.scalar(
        select(func.count(Card.id)).where(Card.learner_id == learner.id, Card.started_on == today)
    )
    return max(0, learner.new_cards_per_day - (started or 0))


async def build_queue(db: AsyncSession, *, learner: Learner, now: datetime, limit: int) -> Queue:
    today = learner_day(learner, now)
    allowance = await new_cards_left(db, learner=learner, today=today)
    due_count = await _count(db, _due(learner, today))
    new_count = min(allowance, await _count(db, _new(learner)))
    drill_count = await _count(db, _drill(learner))

    cards: list[Card] = []
    groups = [
        # Most overdue first; among equals the hardest (lowest easiness) first.
        (_due(learner, today).order_by(Card.due, Card.easiness, Card.id), due_count),
        (_new(learner).order_by(Card.created_at, Card.id), new_count),
        (_drill(learner).order_by(Card.last_reviewed_at, Card.id), drill_count),
    ]
    for statement, available in groups:
        room = min(limit - len(cards), available)
        if room > 0:
            cards += list(await db.scalars(statement.limit(room)))
    return Queue(day=today, due=due_count, new=new_count, drill=drill_count, cards=cards)
