"""What the API says about reviews, the queue and stats, and what it accepts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from scheduler.fsrs_schedule import check_parameters
from scheduler.grades import Rating, Scheduler, grade_of_rating, rating_of_grade
from service.cards.schemas import CardOut
from service.patch import PatchModel
from service.reviews.models import Review
from service.timestamps import FIRST_YEAR, LAST_YEAR, Moment

RatingName = Literal["again", "hard", "good", "easy"]


class ReviewRequest(BaseModel):
    """One grade, on either scale: SM-2's `grade` or FSRS's `rating`, exactly one of them.
    Whichever the learner's scheduler is, the other scale is mapped to it (grades below 3
    are Again; 3, 4, 5 are Hard, Good, Easy; Again is grade 1)."""

    model_config = ConfigDict(extra="forbid")

    card_id: uuid.UUID
    grade: Annotated[int, Field(ge=0, le=5)] | None = Field(
        default=None, description="SM-2's scale: 0 blackout … 5 perfect."
    )
    rating: RatingName | None = Field(
        default=None, description="FSRS's (and Anki's) scale: again, hard, good, easy."
    )
    reviewed_at: Moment | None = Field(
        default=None,
        description=(
            "ISO 8601 with an offset, for reviews made offline; default now. "
            f"In the years {FIRST_YEAR} to {LAST_YEAR} (UTC), and not in the future."
        ),
    )
    duration_ms: Annotated[int, Field(ge=0, le=86_400_000)] | None = None

    @model_validator(mode="after")
    def _one_scale(self) -> ReviewRequest:
        if (self.grade is None) == (self.rating is None):
            raise ValueError("send exactly one of `grade` (0–5) and `rating` (again … easy)")
        return self

    def grades(self) -> tuple[int, Rating]:
        """The grade on both scales."""
        if self.rating is not None:
            rating = Rating[self.rating]
            return grade_of_rating(rating), rating
        assert self.grade is not None  # one of the two, by the validator
        return self.grade, rating_of_grade(self.grade)


class ReviewOut(BaseModel):
    id: uuid.UUID
    card_id: uuid.UUID
    grade: int
    rating: RatingName
    scheduler: Literal["sm2", "fsrs", "anki"] = Field(
        description="What scheduled the review: SM-2 or FSRS here, or Anki (imported)."
    )
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
            rating=Rating(review.rating).name,
            scheduler=review.scheduler,
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


DesiredRetention = Annotated[float, Field(ge=0.7, le=0.99)]


class SchedulerSettings(BaseModel):
    """Which scheduler plans the learner's reviews, and FSRS's settings."""

    scheduler: Scheduler
    desired_retention: float = Field(
        description="FSRS schedules each card for this probability of recall when it comes "
        "due (0.70–0.99). Higher means more reviews."
    )
    fsrs_parameters_fitted: bool = Field(
        description="FSRS uses parameters fitted to this learner's history "
        "(POST /v1/me/fsrs/optimize) rather than the package's defaults."
    )
    fsrs_parameters: list[float] = Field(description="The 21 FSRS parameters in use.")


class SchedulerChange(SchedulerSettings):
    rescheduled_cards: int = Field(
        description="Cards whose schedule was derived again from their review log."
    )


def _fsrs_parameters(parameters: list[float]) -> list[float]:
    return list(check_parameters(parameters))


class SchedulerUpdate(PatchModel):
    """PATCH /v1/me/scheduler."""

    nullable: ClassVar[frozenset[str]] = frozenset({"fsrs_parameters"})

    scheduler: Scheduler | None = Field(
        default=None,
        description="`sm2` or `fsrs`. Switching keeps every card's history and derives "
        "each card's new schedule from it.",
    )
    desired_retention: DesiredRetention | None = None
    fsrs_parameters: Annotated[list[float], AfterValidator(_fsrs_parameters)] | None = Field(
        default=None,
        description="FSRS's 21 parameters (as Anki's FSRS settings show them, or a fit's); "
        "null goes back to the defaults.",
    )


class SchedulerScore(BaseModel):
    """How well one scheduler predicted the learner's recall, review by review."""

    scheduler: Literal["sm2", "fsrs_default", "fsrs_fitted"]
    label: str
    reviews: int = Field(description="Reviews scored: each a day or more after the previous one.")
    log_loss: float | None = Field(
        description="Mean cross-entropy of the predicted recall against what happened; "
        "lower is better. Null with nothing scored."
    )
    rmse_bins: float | None = Field(
        description="Calibration error: predicted against actual recall in groups of "
        "similar reviews (the srs-benchmark's RMSE (bins)); lower is better."
    )
    mean_predicted: float | None
    mean_recalled: float | None


class SchedulerStatsOut(BaseModel):
    in_use: Scheduler
    cards: int = Field(description="Cards with at least one review.")
    reviews: int = Field(description="Every review in the log.")
    scores: list[SchedulerScore]
    best: str | None = Field(description="The score with the lowest log loss, if any.")
    fit_needs: int = Field(description="Scored reviews FSRS needs before it can be fitted.")
    fit_has: int = Field(description="Scored reviews the optimizer would learn from now.")


class FsrsOptimizationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: Literal["running", "done", "failed"]
    stage: str
    reviews: int = Field(description="Reviews the fit learns from.")
    estimated_seconds: float
    created_at: datetime
    finished_at: datetime | None
    applied: bool = Field(description="FSRS now uses the fitted parameters.")
    log_loss_before: float | None = Field(description="With FSRS's default parameters.")
    log_loss_after: float | None = Field(description="With the fitted parameters (in-sample).")
    parameters: list[float] | None
    message: str | None
