"""Tutor's cards with their progress and review history, read for an Anki package."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.models import Card
from service.exchange.anki import AnkiCard, SourceRef
from service.exchange.anki_schedule import CardProgress, MemoryState, ReviewRecord, SchedulePoint
from service.exchange.queries import exported_reviews
from service.learners.models import Learner

__all__ = ["anki_card", "reviews_by_card"]


async def reviews_by_card(
    db: AsyncSession, *, learner: Learner, include_all: bool
) -> dict[uuid.UUID, list[ReviewRecord]]:
    """Every review of the learner's exported cards, by card, oldest first: one query."""
    rows = await exported_reviews(db, learner_id=learner.id, include_all=include_all)
    reviews: defaultdict[uuid.UUID, list[ReviewRecord]] = defaultdict(list)
    for card_id, reviewed_at, review_date, rating, duration_ms, before, after in rows:
        reviews[card_id].append(
            ReviewRecord(
                reviewed_at=reviewed_at,
                review_date=review_date,
                rating=rating,
                duration_ms=duration_ms,
                before=SchedulePoint.from_snapshot(before),
                after=SchedulePoint.from_snapshot(after),
            )
        )
    return reviews


def anki_card(
    card: Card, source_title: str | None, reviews: Sequence[ReviewRecord], *, learner: Learner
) -> AnkiCard:
    """The card as `build_apkg` takes it."""
    source = None
    if card.source_id is not None and source_title is not None:
        source = SourceRef(card.source_id, source_title)
    return AnkiCard(
        id=card.id,
        front=card.front,
        back=card.back,
        kind=card.kind.value,
        tags=tuple(card.tags),
        source=source,
        modified_at=card.updated_at,
        status=card.status.value,
        progress=_progress(card, reviews, learner=learner),
        anki_guid=card.anki_guid,
        anki_ord=card.anki_ord,
    )


def _progress(card: Card, reviews: Sequence[ReviewRecord], *, learner: Learner) -> CardProgress:
    memory = None
    # Null until FSRS has scheduled the card (or rederived it from the review log).
    if card.stability is not None and card.difficulty is not None:
        memory = MemoryState(card.stability, card.difficulty, learner.desired_retention)
    schedule = SchedulePoint(
        repetitions=card.repetitions,
        easiness=card.easiness,
        interval=card.interval,
        due=card.due,
        drill=card.drill,
        lapses=card.lapses,
        reviewed=card.last_reviewed_at is not None,
    )
    return CardProgress(schedule, card.last_reviewed_at, memory, tuple(reviews))
