"""What the API says about reviews, the queue and stats, and what it accepts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict, JsonValue

from scheduler.fsrs_schedule import DEFAULT_PARAMETERS, check_parameters
from scheduler.grades import Rating, Scheduler, grade_of_rating, rating_of_grade
from service.cards.schemas import CARD_EXAMPLE, CardOut
from service.patch import PatchModel
from service.reviews.models import Review
from service.timestamps import FIRST_YEAR, LAST_YEAR, Moment

RatingName = Literal["again", "hard", "good", "easy"]

_CARD_ID = "8d4e2f1a-6b3c-4d5e-9f70-1a2b3c4d5e6f"
_SNAPSHOT: JsonDict = {
    "repetitions": 1,
    "easiness": 2.5,
    "interval": 1,
    "due": "2025-03-15",
    "drill": False,
    "lapses": 0,
    "last_reviewed_at": "2025-03-14T09:40:05Z",
    "started_on": "2025-03-14",
    "fsrs_state": "review",
    "fsrs_step": None,
    "stability": 2.31,
    "difficulty": 5.02,
}
_REVIEW: JsonDict = {
    "id": "e3b0c442-98fc-4c14-9afb-f4c8996fb924",
    "card_id": _CARD_ID,
    "grade": 4,
    "rating": "good",
    "scheduler": "fsrs",
    "reviewed_at": "2025-03-15T08:12:40Z",
    "review_date": "2025-03-15",
    "duration_ms": 5400,
    "drill": False,
    "before": _SNAPSHOT,
    "after": {
        **_SNAPSHOT,
        "repetitions": 2,
        "easiness": 2.6,
        "interval": 6,
        "due": "2025-03-21",
        "last_reviewed_at": "2025-03-15T08:12:40Z",
        "stability": 6.41,
        "difficulty": 4.87,
    },
}
_FSRS_PARAMETERS: list[JsonValue] = list(DEFAULT_PARAMETERS)


class ReviewRequest(BaseModel):
    """One grade, on either scale: SM-2's `grade` or FSRS's `rating`, exactly one of them.
    Whichever the learner's scheduler is, the other scale is mapped to it (grades below 3
    are Again; 3, 4, 5 are Hard, Good, Easy; Again is grade 1)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"card_id": _CARD_ID, "rating": "good", "duration_ms": 5400},
                {"card_id": _CARD_ID, "grade": 3},
                {
                    "card_id": _CARD_ID,
                    "rating": "again",
                    "reviewed_at": "2025-03-15T07:58:12+01:00",
                },
            ]
        },
    )

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
    model_config = ConfigDict(json_schema_extra={"examples": [_REVIEW]})

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
    before: dict[str, Any] = Field(description="The card's schedule before the review.")
    after: dict[str, Any] = Field(description="The card's schedule after it.")

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
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"card": CARD_EXAMPLE, "review": _REVIEW}]}
    )

    card: CardOut
    review: ReviewOut


class UndoResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"card": CARD_EXAMPLE, "undone": _REVIEW}]}
    )

    card: CardOut
    undone: ReviewOut


class QueueCounts(BaseModel):
    due: int = Field(description="Reviews due today, overdue ones included.")
    new: int = Field(description="New cards today, within the learner's daily limit.")
    drill: int = Field(description="Cards graded below 4 today, to repeat (SM-2's drill).")


class QueueOut(BaseModel):
    """Today's queue; `date` is the learner's day, which starts at their hour (04:00)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "date": "2025-03-21",
                    "counts": {"due": 1, "new": 0, "drill": 0},
                    "cards": [CARD_EXAMPLE],
                }
            ]
        }
    )

    date: date
    counts: QueueCounts
    cards: list[CardOut]


class ReviewList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_REVIEW]}]})

    items: list[ReviewOut]


DesiredRetention = Annotated[float, Field(ge=0.7, le=0.99)]
_SETTINGS: JsonDict = {
    "scheduler": "fsrs",
    "desired_retention": 0.9,
    "fsrs_parameters_fitted": False,
    "fsrs_parameters": _FSRS_PARAMETERS,
}


class SchedulerSettings(BaseModel):
    """Which scheduler plans the learner's reviews, and FSRS's settings."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SETTINGS]})

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
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_SETTINGS, "rescheduled_cards": 148}]}
    )

    rescheduled_cards: int = Field(
        description="Cards whose schedule was derived again from their review log."
    )


def _fsrs_parameters(parameters: list[float]) -> list[float]:
    return list(check_parameters(parameters))


class SchedulerUpdate(PatchModel):
    """PATCH /v1/me/scheduler."""

    nullable: ClassVar[frozenset[str]] = frozenset({"fsrs_parameters"})
    examples: ClassVar[list[dict[str, object]]] = [
        {"scheduler": "fsrs", "desired_retention": 0.9},
        {"fsrs_parameters": None},
    ]

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "in_use": "sm2",
                    "cards": 212,
                    "reviews": 1840,
                    "scores": [
                        {
                            "scheduler": "sm2",
                            "label": "SM-2",
                            "reviews": 1420,
                            "log_loss": 0.412,
                            "rmse_bins": 0.081,
                            "mean_predicted": 0.93,
                            "mean_recalled": 0.86,
                        },
                        {
                            "scheduler": "fsrs_default",
                            "label": "FSRS (default parameters)",
                            "reviews": 1420,
                            "log_loss": 0.357,
                            "rmse_bins": 0.043,
                            "mean_predicted": 0.88,
                            "mean_recalled": 0.86,
                        },
                    ],
                    "best": "fsrs_default",
                    "fit_needs": 512,
                    "fit_has": 1420,
                }
            ]
        }
    )

    in_use: Scheduler
    cards: int = Field(description="Cards with at least one review.")
    reviews: int = Field(description="Every review in the log.")
    scores: list[SchedulerScore]
    best: str | None = Field(description="The score with the lowest log loss, if any.")
    fit_needs: int = Field(description="Scored reviews FSRS needs before it can be fitted.")
    fit_has: int = Field(description="Scored reviews the optimizer would learn from now.")


class FsrsOptimizationOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "a7c3e9f1-5b2d-4c8e-9a6f-3d1b7e5c9a2f",
                    "status": "done",
                    "stage": "Fitting FSRS to 1420 of your reviews",
                    "reviews": 1420,
                    "estimated_seconds": 42.0,
                    "created_at": "2025-03-15T20:00:00Z",
                    "finished_at": "2025-03-15T20:00:37Z",
                    "applied": True,
                    "log_loss_before": 0.357,
                    "log_loss_after": 0.331,
                    "parameters": _FSRS_PARAMETERS,
                    "message": None,
                }
            ]
        },
    )

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
