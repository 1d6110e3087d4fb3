"""A card's schedule as a value: what a review reads and changes, apart from the row.

Grading, undoing and re-deriving work on a `CardSchedule` and return a new one; only
the service puts it on a card (`put_on`) or writes its columns (`columns`). Its
snapshot is the JSON the review log keeps as `before` and `after`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from scheduler.fsrs_schedule import FsrsMemory, FsrsSchedule
from scheduler.sm2 import Sm2State
from service.cards.models import Card, FsrsState


@dataclass(frozen=True)
class CardSchedule:
    repetitions: int
    easiness: float
    interval: int
    due: date | None
    drill: bool
    lapses: int
    last_reviewed_at: datetime | None
    started_on: date | None
    activated_on: date | None
    fsrs_state: FsrsState | None
    fsrs_step: int | None
    stability: float | None
    difficulty: float | None

    @classmethod
    def of(cls, card: Card) -> CardSchedule:
        return cls(**{name: getattr(card, name) for name in _FIELDS})

    def put_on(self, card: Card) -> None:
        for name, value in self.__dict__.items():
            setattr(card, name, value)

    def columns(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every date, once per grade, for nothing.
        return dict(self.__dict__)

    def started(self, today: date) -> CardSchedule:
        """A card that turns active for the first time enters SM-2 as new, due today."""
        if self.due is not None:
            return self
        return replace(self.with_sm2(Sm2State.new(today)), activated_on=today)

    def sm2(self) -> Sm2State:
        assert self.due is not None, "an active card always has a due date"
        return Sm2State(self.repetitions, self.easiness, self.interval, self.due, self.drill)

    def with_sm2(self, state: Sm2State) -> CardSchedule:
        return replace(
            self,
            repetitions=state.repetitions,
            easiness=state.easiness,
            interval=state.interval,
            due=state.due,
            drill=state.drill,
        )

    def memory(self, *, last_review_day: date | None) -> FsrsMemory:
        """The card's FSRS memory: new until FSRS has scheduled a review of it.
        `last_review_day` is the learner day of the card's latest review."""
        if self.fsrs_state is None:
            return FsrsMemory.new()
        return FsrsMemory(
            state=self.fsrs_state.value,
            step=self.fsrs_step,
            stability=self.stability,
            difficulty=self.difficulty,
            last_review=last_review_day,
        )

    def with_fsrs(self, schedule: FsrsSchedule) -> CardSchedule:
        """FSRS's memory on the card, and its due day in the queue's terms."""
        memory = schedule.memory
        return replace(
            self,
            fsrs_state=FsrsState(memory.state),
            fsrs_step=memory.step,
            stability=memory.stability,
            difficulty=memory.difficulty,
            due=schedule.due,
            drill=schedule.drill,
            interval=schedule.interval,
        )

    def without_fsrs(self) -> CardSchedule:
        return replace(self, fsrs_state=None, fsrs_step=None, stability=None, difficulty=None)

    def snapshot(self) -> dict[str, Any]:
        """Everything a review changes, as JSON."""
        return {
            "repetitions": self.repetitions,
            "easiness": self.easiness,
            "interval": self.interval,
            "due": self.due.isoformat() if self.due else None,
            "drill": self.drill,
            "lapses": self.lapses,
            "last_reviewed_at": _iso(self.last_reviewed_at),
            "started_on": _iso(self.started_on),
            "fsrs_state": self.fsrs_state.value if self.fsrs_state else None,
            "fsrs_step": self.fsrs_step,
            "stability": self.stability,
            "difficulty": self.difficulty,
        }

    def restored(self, saved: dict[str, Any]) -> CardSchedule:
        """The schedule a snapshot holds (the day the card became active is kept)."""
        last = saved["last_reviewed_at"]
        # Reviews logged before FSRS came have no FSRS keys: their cards had no FSRS memory.
        state = saved.get("fsrs_state")
        return replace(
            self,
            repetitions=saved["repetitions"],
            easiness=saved["easiness"],
            interval=saved["interval"],
            due=date.fromisoformat(saved["due"]) if saved["due"] else None,
            drill=saved["drill"],
            lapses=saved["lapses"],
            last_reviewed_at=datetime.fromisoformat(last) if last else None,
            started_on=date.fromisoformat(saved["started_on"]) if saved["started_on"] else None,
            fsrs_state=FsrsState(state) if state else None,
            fsrs_step=saved.get("fsrs_step"),
            stability=saved.get("stability"),
            difficulty=saved.get("difficulty"),
        )


_FIELDS = tuple(CardSchedule.__dataclass_fields__)


def _iso(moment: date | None) -> str | None:
    return moment.isoformat() if moment else None


def start_schedule(card: Card, today: date) -> None:
    """Put a card that turns active for the first time into SM-2, new and due today."""
    if card.due is None:
        CardSchedule.of(card).started(today).put_on(card)
