"""FSRS, by the maintained `fsrs` package (py-fsrs), on the learner's days.

Tutor counts time in learner days, as Anki does for FSRS: two reviews are as many days
apart as the learner days between them, whatever the hours (a review at 21:00 and the
next at 08:00 on the following learner day are one day apart; py-fsrs, given the two
instants, would floor 11 hours to 0 days and take the second for a same-day repeat).
So py-fsrs runs on a clock of days: each review happens at midnight UTC of its learner
day, and a due instant is read back as the date it falls on. scheduler/recall.py judges
FSRS on the same clock, so what the stats measure is what the learner is scheduled by.

A card FSRS wants back on the day of the review (a learning or relearning step, minutes
away) joins Tutor's drill, as SM-2's repeats do; one it wants back later is due on that
later day (service/reviews/queue.py).

Pure: no I/O and no clock. Fuzzing is off, so a review log replays to the same state
every time (switching schedulers and the scheduler stats depend on that); py-fsrs's
fuzz only spreads due dates by a few percent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import fsrs

from scheduler.grades import Rating

DEFAULT_DESIRED_RETENTION = 0.9
MIN_DESIRED_RETENTION = 0.7
MAX_DESIRED_RETENTION = 0.99
DEFAULT_PARAMETERS: tuple[float, ...] = tuple(fsrs.scheduler.DEFAULT_PARAMETERS)


@dataclass(frozen=True)
class FsrsMemory:
    """What FSRS knows of a card: its phase ("learning", "review" or "relearning"), its
    step in the learning or relearning steps, its memory (null before a review), and
    the learner day of its latest review."""

    state: str
    step: int | None
    stability: float | None
    difficulty: float | None
    last_review: date | None

    @classmethod
    def new(cls) -> FsrsMemory:
        return cls(state="learning", step=0, stability=None, difficulty=None, last_review=None)


@dataclass(frozen=True)
class FsrsSchedule:
    """A card's memory after a review, and when it is next due in the learner's days."""

    memory: FsrsMemory
    due: date
    # Due again the day it was reviewed: a learning or relearning step.
    drill: bool
    # Days from the review's day to `due` (0 in the drill).
    interval: int


@dataclass(frozen=True)
class FsrsSettings:
    parameters: tuple[float, ...] = DEFAULT_PARAMETERS
    desired_retention: float = DEFAULT_DESIRED_RETENTION

    def scheduler(self) -> fsrs.Scheduler:
        return fsrs.Scheduler(
            parameters=self.parameters,
            desired_retention=self.desired_retention,
            enable_fuzzing=False,
        )


_STATES = {
    "learning": fsrs.State.Learning,
    "review": fsrs.State.Review,
    "relearning": fsrs.State.Relearning,
}
_STATE_NAMES = {value: name for name, value in _STATES.items()}


def review(
    memory: FsrsMemory,
    rating: Rating,
    day: date,
    *,
    settings: FsrsSettings,
    scheduler: fsrs.Scheduler | None = None,
) -> FsrsSchedule:
    """The card after rating it `rating` on the learner day `day`."""
    scheduler = scheduler or settings.scheduler()
    card, _ = scheduler.review_card(_card_of(memory), fsrs.Rating(int(rating)), _instant(day))
    return _schedule_of(card, today=day)


def replay(
    ratings: Iterable[tuple[date, Rating]], *, today: date, settings: FsrsSettings
) -> FsrsSchedule | None:
    """A card's FSRS schedule derived from its review log (learner day and rating of
    each review, oldest first), seen on `today`: None when the log is empty. A step that
    fell due on an earlier day is overdue, not in today's drill."""
    scheduler = settings.scheduler()
    memory = FsrsMemory.new()
    schedule: FsrsSchedule | None = None
    for day, rating in ratings:
        schedule = review(memory, rating, day, settings=settings, scheduler=scheduler)
        memory = schedule.memory
    if schedule is None or memory.last_review is None:
        return None
    return _as_seen_on(schedule, reviewed_on=memory.last_review, today=today)


def retrievability(memory: FsrsMemory, day: date, *, settings: FsrsSettings) -> float | None:
    """FSRS's probability that the card is recalled on `day`; None before a first review."""
    if memory.stability is None or memory.last_review is None:
        return None
    card = _card_of(memory)
    return float(settings.scheduler().get_card_retrievability(card, _instant(day)))


def check_parameters(parameters: Sequence[float]) -> tuple[float, ...]:
    """The parameters, if py-fsrs accepts them (21 numbers within its bounds)."""
    fsrs.Scheduler(parameters=tuple(parameters))  # raises ValueError, saying which
    return tuple(float(value) for value in parameters)


def _card_of(memory: FsrsMemory) -> fsrs.Card:
    return fsrs.Card(
        card_id=0,  # py-fsrs only copies it into its review log, which is not kept
        state=_STATES[memory.state],
        step=memory.step,
        stability=memory.stability,
        difficulty=memory.difficulty,
        due=_instant(memory.last_review or date(1970, 1, 1)),
        last_review=_instant(memory.last_review) if memory.last_review else None,
    )


def _instant(day: date) -> datetime:
    """A learner day on py-fsrs's clock: midnight UTC of that date."""
    return datetime.combine(day, time(), tzinfo=UTC)


def _day(instant: datetime) -> date:
    """An instant on py-fsrs's clock back as a learner day."""
    return instant.astimezone(UTC).date()


def _schedule_of(card: fsrs.Card, *, today: date) -> FsrsSchedule:
    memory = FsrsMemory(
        state=_STATE_NAMES[card.state],
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        last_review=_day(card.last_review) if card.last_review else None,
    )
    due = _day(card.due)
    if due <= today:
        return FsrsSchedule(memory=memory, due=today, drill=True, interval=0)
    return FsrsSchedule(memory=memory, due=due, drill=False, interval=(due - today).days)


def _as_seen_on(schedule: FsrsSchedule, *, reviewed_on: date, today: date) -> FsrsSchedule:
    if schedule.drill and reviewed_on < today:
        # The step was due on the day of the review, which has passed: due, not drill.
        return FsrsSchedule(memory=schedule.memory, due=reviewed_on, drill=False, interval=0)
    return schedule
