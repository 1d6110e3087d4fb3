"""Grading, pure: a card's schedule and a grade in, the card's next schedule out.

As py-fsrs's `review_card` is: no database, no clock. The caller reads the card and the
learner's scheduler, passes the learner's day, and writes what comes back
(service/reviews/service.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from scheduler import fsrs_schedule, sm2
from scheduler.fsrs_schedule import FsrsSettings
from scheduler.grades import PASSING_GRADE, Rating
from service.cards.models import FsrsState
from service.cards.schedule import CardSchedule


@dataclass(frozen=True)
class Grade:
    """One grade, on both scales (scheduler/grades.py), given at `reviewed_at` on the
    learner's day `today`."""

    grade: int
    rating: Rating
    reviewed_at: datetime
    today: date


def review_card(
    schedule: CardSchedule,
    given: Grade,
    *,
    fsrs: FsrsSettings | None,
    last_review_day: date | None,
) -> CardSchedule:
    """The schedule after `given`: by FSRS with `fsrs`, else by SM-2. `schedule` is a due
    card's (started); `last_review_day` is the learner day of its previous review."""
    if fsrs is not None:
        lapsed = schedule.fsrs_state is FsrsState.review and given.rating is Rating.again
        memory = schedule.memory(last_review_day=last_review_day)
        after = schedule.with_fsrs(
            fsrs_schedule.review(memory, given.rating, given.today, settings=fsrs)
        )
    else:
        state = schedule.sm2()
        lapsed = not state.drill and given.grade < PASSING_GRADE and state.repetitions > 0
        after = schedule.with_sm2(sm2.review(state, given.grade, given.today))
    return replace(
        after,
        lapses=after.lapses + lapsed,
        last_reviewed_at=given.reviewed_at,
        started_on=after.started_on or given.today,
    )
