"""Today's review queue: due reviews, then new cards within the daily limit, then drill.

The queue is fetched for every review screen, so it costs two statements whatever its
size: one counts the groups and the new cards already started today, one reads the cards
of all three groups with their tags. Each group has a partial index
holding exactly its cards in queue order (QUEUE_INDEXES in models.py), so neither reads a
card it does not return. Both are built once, with bound parameters: building a
statement with subqueries costs more than running it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload
from sqlalchemy.sql.selectable import ExecutableReturnsRows

from service.cards.models import Card, CardStatus, joined_tags, set_joined_tags
from service.learners.models import Learner
from service.reviews.days import learner_day


@dataclass(frozen=True)
class Queue:
    day: date
    due: int
    new: int
    drill: int
    cards: list[Card]


_LEARNER = bindparam("learner_id", type_=Card.learner_id.type)
_TODAY = bindparam("today", type_=Card.due.type)

# 'active' is rendered into the SQL, not sent as a parameter: PostgreSQL's generic plan
# for a prepared statement could not tell that the partial indexes apply.
_ACTIVE_STATUS = bindparam(None, CardStatus.active, type_=Card.status.type, literal_execute=True)
_ACTIVE = (Card.learner_id == _LEARNER, Card.status == _ACTIVE_STATUS)
# The three groups, each in queue order: most overdue first, among equals the hardest
# (lowest easiness); new cards in the order they were made; the drill, longest waiting
# first. The conditions match the partial indexes (QUEUE_INDEXES) exactly.
_GROUPS: list[tuple[str, tuple[ColumnElement[bool], ...], tuple[Any, ...]]] = [
    (
        "due",
        (*_ACTIVE, Card.drill.is_(False), Card.last_reviewed_at.is_not(None), Card.due <= _TODAY),
        (Card.due, Card.easiness, Card.id),
    ),
    ("new", (*_ACTIVE, Card.last_reviewed_at.is_(None)), (Card.created_at, Card.id)),
    ("drill", (*_ACTIVE, Card.drill.is_(True)), (Card.last_reviewed_at, Card.id)),
]

_COUNTS = select(
    select(func.count())
    .where(Card.learner_id == _LEARNER, Card.started_on == _TODAY)
    .scalar_subquery()
    .label("started"),
    *(
        select(func.count()).where(*where).scalar_subquery().label(name)
        for name, where, _ in _GROUPS
    ),
)


def _cards_statement() -> ExecutableReturnsRows:
    parts = []
    for position, (name, where, order) in enumerate(_GROUPS):
        ranked = (
            select(
                Card,
                joined_tags(Card.id),
                literal(position).label("queue_group"),
                func.row_number().over(order_by=order).label("queue_position"),
            )
            .where(*where)
            .order_by(*order)
            .limit(bindparam(f"{name}_room"))
            .subquery()
        )
        parts.append(select(ranked))
    combined = union_all(*parts).subquery()
    ordered = select(combined).order_by(combined.c.queue_group, combined.c.queue_position)
    cards = select(Card, combined.c.joined_tags).options(raiseload(Card.tag_rows))
    return cards.from_statement(ordered)


_CARDS = _cards_statement()


async def build_queue(db: AsyncSession, *, learner: Learner, now: datetime, limit: int) -> Queue:
    today = learner_day(learner, now)
    params: dict[str, Any] = {"learner_id": learner.id, "today": today}
    counts = (await db.execute(_COUNTS, params)).one()
    available = {
        "due": counts.due,
        "new": min(max(0, learner.new_cards_per_day - counts.started), counts.new),
        "drill": counts.drill,
    }
    taken = 0
    for name, count in available.items():
        params[f"{name}_room"] = room = min(limit - taken, count)
        taken += room
    cards = []
    for card, tags in (await db.execute(_CARDS, params)) if taken else ():
        set_joined_tags(card, tags)
        cards.append(card)
    return Queue(
        day=today, due=available["due"], new=available["new"], drill=available["drill"], cards=cards
    )
