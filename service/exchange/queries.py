"""Every statement the exchange domain runs: the learner's cards, sources and reviews,
read for an export or matched against an import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.models import Card, CardKind, CardStatus
from service.reviews.models import Review
from service.sources.models import Source

# Loading the matched cards this many at a time keeps each IN list well under the
# databases' limits on bound parameters.
_CARDS_PER_QUERY = 500

ExportedReview = Row[uuid.UUID, datetime, date, int, int | None, dict[str, Any], dict[str, Any]]
"""card_id, reviewed_at, review_date, rating, duration_ms, before, after."""


async def cards_with_source_titles(
    db: AsyncSession, *, learner_id: uuid.UUID, include_all: bool
) -> list[tuple[Card, str | None]]:
    """The learner's cards in the order they were made (only the active ones unless
    `include_all`), each with its source's title."""
    statement = (
        select(Card, Source.title)
        .outerjoin(Source, Source.id == Card.source_id)
        .where(Card.learner_id == learner_id)
        .order_by(Card.created_at, Card.id)
    )
    if not include_all:
        statement = statement.where(Card.status == CardStatus.active)
    return [(card, title) for card, title in await db.execute(statement)]


async def exported_reviews(
    db: AsyncSession, *, learner_id: uuid.UUID, include_all: bool
) -> Sequence[ExportedReview]:
    """Every review of the learner's exported cards, by card, oldest first: one query."""
    statement = (
        select(
            Review.card_id,
            Review.reviewed_at,
            Review.review_date,
            Review.rating,
            Review.duration_ms,
            Review.before,
            Review.after,
        )
        .join(Card, Card.id == Review.card_id)
        .where(Review.learner_id == learner_id)
        .order_by(Review.card_id, Review.reviewed_at, Review.created_at)
    )
    if not include_all:
        statement = statement.where(Card.status == CardStatus.active)
    return (await db.execute(statement)).all()


async def note_keys(
    db: AsyncSession, *, learner_id: uuid.UUID
) -> Sequence[Row[uuid.UUID, CardKind, str | None, int | None]]:
    """Each of the learner's cards as its Anki note knows it: id, kind, GUID, card number."""
    statement = select(Card.id, Card.kind, Card.anki_guid, Card.anki_ord).where(
        Card.learner_id == learner_id
    )
    return (await db.execute(statement)).all()


async def cards_with_ids(db: AsyncSession, *, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Card]:
    cards: dict[uuid.UUID, Card] = {}
    for start in range(0, len(ids), _CARDS_PER_QUERY):
        chunk = ids[start : start + _CARDS_PER_QUERY]
        for card in await db.scalars(select(Card).where(Card.id.in_(chunk))):
            cards[card.id] = card
    return cards


async def learner_cards(db: AsyncSession, *, learner_id: uuid.UUID) -> Sequence[Card]:
    return (await db.scalars(select(Card).where(Card.learner_id == learner_id))).all()


async def source_ids_by_title(db: AsyncSession, *, learner_id: uuid.UUID) -> dict[str, uuid.UUID]:
    rows = await db.execute(select(Source.title, Source.id).where(Source.learner_id == learner_id))
    return {row.title: row.id for row in rows}


async def review_times(
    db: AsyncSession, *, card_ids: Sequence[uuid.UUID]
) -> list[Row[uuid.UUID, datetime]]:
    """When each of these cards was reviewed: (card id, reviewed_at) pairs."""
    times: list[Row[uuid.UUID, datetime]] = []
    for start in range(0, len(card_ids), _CARDS_PER_QUERY):  # IN lists of a bounded size
        chunk = card_ids[start : start + _CARDS_PER_QUERY]
        rows = await db.execute(
            select(Review.card_id, Review.reviewed_at).where(Review.card_id.in_(chunk))
        )
        times.extend(rows)
    return times
