"""A Tutor card's progress as Anki keeps it: the card's scheduling columns and its review log.

Pure: Tutor's schedule in, the values of Anki's `cards` and `revlog` columns out (the
layout of an .apkg's collection, schema 11). What Anki does with them on import, checked
with the real library (rslib's apkg importer):

- Anki applies them only when the learner ticks "Import any learning progress" (off by
  default). Otherwise every imported card becomes new, unsuspended, its log dropped.
- Only cards Anki does not have yet get them: a card it already has keeps its own
  scheduling, deck and log, whatever a later package says.
- A review card's `due` counts days from the collection's creation; the importer moves it
  by the difference between the package's day count and its own, so a card due on a
  date arrives due on that same date. The package's collection is therefore dated
  `COLLECTION_CREATED` (midnight UTC, with that offset recorded), long before any review.

How Tutor's SM-2 state maps onto Anki's card types:

- never reviewed: new, in Tutor's order;
- due again on the day of its last review (a failed grade, or the drill after a 3):
  learning, or relearning once the card has been recalled on an interval before (it has
  lapsed, or been passed twice); Anki's interday learning queue, due that day, one step
  left, so one more Good graduates it;
- otherwise: a review card, due on Tutor's date, with Tutor's interval, its easiness as
  Anki's ease factor (EF 2.5 is 2500), its lapses, and as many reps as it had reviews.

A card with an FSRS memory state (stability and difficulty) carries it in Anki's card
`data` JSON (`s`, `d`, and `dr` for the learner's desired retention), which Anki uses
once FSRS is on; every reviewed card also gets `lrt`, its last review's time, as Anki
records it. Each review becomes one log row, its id the millisecond it was given, with
the rating as the button, the days until the next review as the interval (and the
previous row's as the last one), the easiness after it as the ease, the time capped at
60 s as Anki caps it, and the kind (learn, review, relearn) of the card before it.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

__all__ = [
    "COLLECTION_CONFIG",
    "COLLECTION_CREATED",
    "CardColumns",
    "CardProgress",
    "MemoryState",
    "ReviewRecord",
    "RevlogRow",
    "SchedulePoint",
    "card_columns",
    "revlog_rows",
]

COLLECTION_CREATED = datetime(2000, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The package collection's settings (its `col.conf`) that fix how it counts days: the v2
# scheduler's count from the creation date at that UTC offset (minutes west), the day
# turning at 04:00 (Anki's default, and Tutor's). Without them Anki reads the package as
# a v1 collection and upgrades it with the importing computer's offset, which moves due
# dates by a day west of UTC.
COLLECTION_CONFIG = {"schedVer": 2, "creationOffset": 0, "rollover": 4}
# Anki's default for "Maximum answer seconds": longer answers are logged as this long.
MAX_ANSWER_MS = 60_000


class _Type(enum.IntEnum):
    """Anki's card types (cards.type)."""

    new = 0
    learn = 1
    review = 2
    relearn = 3


class _Queue(enum.IntEnum):
    """The Anki queues Tutor's cards go to (cards.queue)."""

    suspended = -1
    new = 0
    review = 2
    day_learn = 3  # learning due on a day (a day number), rather than at a time


# The review log's kinds (revlog.type), by the card's type before the review.
_REVLOG_KIND = {_Type.new: 0, _Type.learn: 0, _Type.review: 1, _Type.relearn: 2}


@dataclass(frozen=True)
class SchedulePoint:
    """A card's SM-2 schedule at one moment: now, or before or after one review."""

    repetitions: int
    easiness: float
    interval: int
    due: date | None
    drill: bool
    lapses: int
    reviewed: bool  # had the card been reviewed by then

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any]) -> SchedulePoint:
        """From a review's `before` or `after` (service.cards.schedule.snapshot)."""
        due = snapshot.get("due")
        return cls(
            repetitions=int(snapshot["repetitions"]),
            easiness=float(snapshot["easiness"]),
            interval=int(snapshot["interval"]),
            due=date.fromisoformat(due) if due else None,
            drill=bool(snapshot["drill"]),
            lapses=int(snapshot.get("lapses") or 0),
            reviewed=snapshot.get("last_reviewed_at") is not None,
        )


@dataclass(frozen=True)
class MemoryState:
    """FSRS's memory state of a card, and the retention the learner schedules for."""

    stability: float
    difficulty: float
    desired_retention: float


@dataclass(frozen=True)
class ReviewRecord:
    """One grade given in Tutor; `rating` is Again, Hard, Good or Easy as 1–4."""

    reviewed_at: datetime
    review_date: date
    rating: int
    duration_ms: int | None
    before: SchedulePoint
    after: SchedulePoint


@dataclass(frozen=True)
class CardProgress:
    """Everything Tutor knows about a card's learning, oldest review first."""

    schedule: SchedulePoint
    last_reviewed_at: datetime | None
    memory: MemoryState | None
    reviews: tuple[ReviewRecord, ...]


@dataclass(frozen=True)
class CardColumns:
    """The values of Anki's `cards` columns that hold a card's progress."""

    type: int
    queue: int
    due: int
    ivl: int
    factor: int
    reps: int
    lapses: int
    left: int
    data: str


@dataclass(frozen=True)
class RevlogRow:
    """One row of Anki's `revlog`, for the card `cid`."""

    id: int
    cid: int
    ease: int
    ivl: int
    last_ivl: int
    factor: int
    time: int
    type: int


def card_columns(progress: CardProgress | None, *, suspended: bool, position: int) -> CardColumns:
    """Anki's columns for a card; `position` orders the new cards."""
    columns = _new(position) if progress is None else _scheduled(progress, position)
    return replace(columns, queue=_Queue.suspended) if suspended else columns


def revlog_rows(cards: Iterable[tuple[int, CardProgress]]) -> Iterator[RevlogRow]:
    """The review log of the cards (Anki card id, progress), one row per review."""
    taken: set[int] = set()
    for cid, progress in cards:
        last_ivl = 0
        for review in progress.reviews:
            # Anki's log id is the answer's time in ms, and it keeps one row per id.
            row_id = _millis(review.reviewed_at)
            while row_id in taken:
                row_id += 1
            taken.add(row_id)
            ivl = _days_to_next(review)
            yield RevlogRow(
                id=row_id,
                cid=cid,
                ease=review.rating,
                ivl=ivl,
                last_ivl=last_ivl,
                factor=_factor(review.after.easiness),
                time=min(max(review.duration_ms or 0, 0), MAX_ANSWER_MS),
                type=_REVLOG_KIND[_type_of(review.before)],
            )
            last_ivl = ivl


def _new(position: int) -> CardColumns:
    return CardColumns(_Type.new, _Queue.new, position, 0, 0, 0, 0, 0, "")


def _scheduled(progress: CardProgress, position: int) -> CardColumns:
    schedule = progress.schedule
    kind = _type_of(schedule)
    if kind is _Type.new or schedule.due is None:
        return _new(position)
    return CardColumns(
        type=kind,
        queue=_Queue.review if kind is _Type.review else _Queue.day_learn,
        due=_day_number(schedule.due),
        ivl=_interval(schedule, kind),
        factor=_factor(schedule.easiness),
        reps=len(progress.reviews),
        lapses=schedule.lapses,
        left=0 if kind is _Type.review else 1,  # learning: one step left
        data=_card_data(progress),
    )


def _type_of(schedule: SchedulePoint) -> _Type:
    if not schedule.reviewed:
        return _Type.new
    if schedule.drill or schedule.interval == 0:
        recalled_before = schedule.lapses > 0 or schedule.repetitions >= 2
        return _Type.relearn if recalled_before else _Type.learn
    return _Type.review


def _interval(schedule: SchedulePoint, kind: _Type) -> int:
    # A relearning card goes back to an interval when it passes: at least a day.
    return max(schedule.interval, 1) if kind is _Type.relearn else schedule.interval


def _millis(moment: datetime) -> int:
    # Whole milliseconds, without the rounding of a float timestamp.
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _day_number(day: date) -> int:
    return (day - COLLECTION_CREATED.date()).days


def _factor(easiness: float) -> int:
    return round(easiness * 1000)


def _days_to_next(review: ReviewRecord) -> int:
    if review.after.due is None:
        return 0
    return max((review.after.due - review.review_date).days, 0)


def _card_data(progress: CardProgress) -> str:
    data: dict[str, float | int] = {}
    if progress.memory is not None:
        data |= {
            "s": progress.memory.stability,
            "d": progress.memory.difficulty,
            "dr": progress.memory.desired_retention,
        }
    if progress.last_reviewed_at is not None:
        # Anki's "last review time", which FSRS counts elapsed days from.
        data["lrt"] = _millis(progress.last_reviewed_at) // 1000
    return json.dumps(data, separators=(",", ":")) if data else ""
