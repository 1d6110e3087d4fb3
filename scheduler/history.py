"""A learner's review history, as the schedulers' evaluation and fitting read it.

Pure data: no database, no clock. A `CardHistory` is one card's reviews in the order
they happened; each `PastReview` carries the grade on both scales (scheduler/grades.py),
so SM-2 and FSRS can each replay any review, whichever scheduler scheduled it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime

from scheduler.grades import Rating, grade_of_rating, rating_of_grade


@dataclass(frozen=True)
class PastReview:
    """One review: when it happened, the learner's day it counts for, and its grade.

    `reviewed_at` is an aware datetime (UTC by convention); `review_date` is the learner's
    local day of the review (their day starts at their own hour, so a review at 01:00
    may count for the day before). `grade` (SM-2, 0–5) and `rating` (FSRS, 1–4) say the
    same answer on the two scales: one was given, the other filled in by the mapping.
    """

    reviewed_at: datetime
    review_date: date
    grade: int
    rating: Rating

    def __post_init__(self) -> None:
        if self.reviewed_at.utcoffset() is None:
            raise ValueError(f"reviewed_at must be timezone-aware, not {self.reviewed_at!r}")
        # A pair that disagrees would make SM-2 and FSRS judge different answers.
        if rating_of_grade(self.grade) != self.rating:
            raise ValueError(
                f"grade {self.grade} and rating {self.rating!r} are not the same answer"
            )

    @classmethod
    def from_grade(cls, reviewed_at: datetime, review_date: date, grade: int) -> PastReview:
        """A review graded on SM-2's scale; the rating follows by the mapping."""
        return cls(reviewed_at, review_date, grade, rating_of_grade(grade))

    @classmethod
    def from_rating(cls, reviewed_at: datetime, review_date: date, rating: Rating) -> PastReview:
        """A review rated on FSRS's scale; the grade follows by the mapping."""
        return cls(reviewed_at, review_date, grade_of_rating(rating), Rating(rating))


@dataclass(frozen=True)
class CardHistory:
    """One card's reviews, oldest first. `key` is whatever identifies the card (its id)."""

    key: Hashable
    reviews: tuple[PastReview, ...]

    def __post_init__(self) -> None:
        # Replays depend on order; an out-of-order history is a caller's bug, not data.
        for before, after in zip(self.reviews, self.reviews[1:], strict=False):
            if after.reviewed_at < before.reviewed_at or after.review_date < before.review_date:
                raise ValueError(
                    f"the reviews of card {self.key!r} are not in order: "
                    f"{after.reviewed_at.isoformat()} comes after {before.reviewed_at.isoformat()}"
                )
