"""What the API says about reviews, the queue and stats, and what it accepts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from service.cards.schemas import CardOut
from service.reviews.models import Review
from service.timestamps import FIRST_YEAR, LAST_YEAR, Moment


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card_id: uuid.UUID
    grade: Annotated[int, Field(ge=0, le=5, description="0 blackout … 5 perfect.")]
    reviewed_at: Moment | None = Field(
        default=None,
        description=(
            "ISO 8601 with an offset, for reviews made offline; default now. "
            f"In the years {FIRST_YEAR} to {LAST_YEAR} (UTC), and not in the future."
        ),
    )
    duration_ms: Annotated[int, Field(ge=0, le=86_400_000)] | None = None


class ReviewOut(BaseModel):
    id: uuid.UUID
    card_id: uuid.UUID
    grade: int
    reviewed_at: datetime
    review_date: date
    duration_ms: int | None
    drill: bool
    before: dict[str, Any]
    after: dict[str, Any]

    @classmethod
    def of(cls, review: Review) -> ReviewOut:
        return cls(
            id=review.id,
            card_id=review.card_id,
            grade=review.grade,
            reviewed_at=review.reviewed_at,
            review_date=review.review_date,
            duration_ms=review.duration_ms,
            drill=review.drill,
            before=review.before,
            after=review.after,
        )


class ReviewResult(BaseModel):
    card: CardOut
    review: ReviewOut


class UndoResult(BaseModel):
    card: CardOut
    undone: ReviewOut


class QueueCounts(BaseModel):
    due: int
    new: int
    drill: int


class QueueOut(BaseModel):
    date: date
    counts: QueueCounts
    cards: list[CardOut]


class ReviewList(BaseModel):
    items: list[ReviewOut]
