"""Every grade given, with the schedule before and after it; and idempotency keys."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from service.cards.models import Card
from service.db import Base, CreatedMixin, IdMixin


class Review(IdMixin, CreatedMixin, Base):
    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_learner_date", "learner_id", "review_date"),
        Index("ix_reviews_card_reviewed", "card_id", "reviewed_at"),
        Index("ix_reviews_learner_created", "learner_id", "created_at"),
    )

    card_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"))
    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    grade: Mapped[int]
    reviewed_at: Mapped[datetime]
    # The learner's local day of the review (their day starts at day_starts_at_hour).
    review_date: Mapped[date]
    duration_ms: Mapped[int | None]
    drill: Mapped[bool]
    # The card's schedule before and after: undo restores `before`.
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)


class IdempotencyKey(CreatedMixin, Base):
    """A graded request by key: a retry with the same key gets the first answer back."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("learner_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    review_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE")
    )
    response: Mapped[dict[str, Any]] = mapped_column(JSON)


def _queue_index(name: str, *columns: InstrumentedAttribute[Any], where: str) -> Index:
    """A partial index on cards whose condition reads as SQLAlchemy renders the queue's
    own (a boolean is 0 or 1 on SQLite), so both planners see that it applies."""
    return Index(
        name,
        *columns,
        postgresql_where=text(where.format(false="false", true="true")),
        sqlite_where=text(where.format(false="0", true="1")),
    )


# The review queue's three groups (service/reviews/queue.py), each holding exactly its
# cards in queue order. They live with the queue that needs them, on the cards table.
QUEUE_INDEXES = (
    _queue_index(
        "ix_cards_queue_due",
        Card.learner_id,
        Card.due,
        Card.easiness,
        Card.id,
        where="status = 'active' AND drill IS {false} AND last_reviewed_at IS NOT NULL",
    ),
    _queue_index(
        "ix_cards_queue_new",
        Card.learner_id,
        Card.created_at,
        Card.id,
        where="status = 'active' AND last_reviewed_at IS NULL",
    ),
    _queue_index(
        "ix_cards_queue_drill",
        Card.learner_id,
        Card.last_reviewed_at,
        Card.id,
        where="status = 'active' AND drill IS {true}",
    ),
)
