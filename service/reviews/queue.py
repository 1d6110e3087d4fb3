"""Today's review queue: due reviews, then new cards within the daily limit, then drill.

The queue is fetched for every review screen, so it costs two statements whatever its
size (queries.py: `queue_counts`, `queue_cards`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.models import Card
from service.learners.days import learner_day
from service.learners.models import Learner
from service.reviews.queries import queue_cards, queue_counts


@dataclass(frozen=True)
class Queue:
    day: date
    due: int
    new: int
    drill: int
    cards: list[Card]


async def build_queue(db: AsyncSession, *, learner: Learner, now: datetime, limit: int) -> Queue:
    today = learner_day(learner, now)
    counts = await queue_counts(db, learner_id=learner.id, today=today)
    available = {
        "due": counts.due,
        "new": min(max(0, learner.new_cards_per_day - counts.started), counts.new),
        "drill": counts.drill,
    }
    rooms = {}
    taken = 0
    for name, count in available.items():
        rooms[name] = room = min(limit - taken, count)
        taken += room
    cards = await queue_cards(db, learner_id=learner.id, today=today, rooms=rooms) if taken else []
    return Queue(
        day=today, due=available["due"], new=available["new"], drill=available["drill"], cards=cards
    )
