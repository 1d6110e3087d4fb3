"""Every grade given, with the schedule before and after it; and idempotency keys."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
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
    # The grade on both scales (scheduler/grades.py): the one given, and the other
    # by the explicit mapping, so either scheduler can replay the review.
    grade: Mapped[int]
    rating: Mapped[int]
    # The scheduler that scheduled this review: "sm2" or "fsrs".
    scheduler: Mapped[str] = mapped_column(String(8))
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


# The review queue's three groups (`_GROUPS` in service/reviews/queries.py), each holding
# exactly its cards in queue order. They live with the queue that needs them, on the cards
# table.
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


class FsrsOptimization(IdMixin, CreatedMixin, Base):
    """One fit of FSRS's parameters to a learner's review log (service/reviews/optimizing.py).

    The row is the job: written before the work starts, touched while it runs (a row
    left `running` by a process that died stops being touched, and counts as failed),
    and holding the result when it ends.
    """

    __tablename__ = "fsrs_optimizations"
    __table_args__ = (Index("ix_fsrs_optimizations_learner_created", "learner_id", "created_at"),)

    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    # running, done, failed
    status: Mapped[str] = mapped_column(String(16))
    # What it is doing now, in words a learner reads ("fitting 812 reviews").
    stage: Mapped[str] = mapped_column(String(200))
    reviews: Mapped[int]
    estimated_seconds: Mapped[float]
    touched_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    parameters: Mapped[list[float] | None] = mapped_column(JSON)
    log_loss_before: Mapped[float | None]
    log_loss_after: Mapped[float | None]
    # Whether the fitted parameters replaced the ones in use (only when they predict better).
    applied: Mapped[bool] = mapped_column(default=False)
    message: Mapped[str | None] = mapped_column(Text)
