"""A card's schedule as an Sm2State or an FsrsMemory, and its snapshot for the review
log and undo."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from scheduler.fsrs_schedule import FsrsMemory, FsrsSchedule
from scheduler.sm2 import Sm2State
from service.cards.models import Card, FsrsState


def start_schedule(card: Card, today: date) -> None:
    """A card that turns active for the first time enters SM-2 as new, due today."""
    if card.due is None:
        apply_state(card, Sm2State.new(today))
        card.activated_on = today


def state_of(card: Card) -> Sm2State:
    assert card.due is not None, "an active card always has a due date"
    return Sm2State(card.repetitions, card.easiness, card.interval, card.due, card.drill)


def apply_state(card: Card, state: Sm2State) -> None:
    card.repetitions = state.repetitions
    card.easiness = state.easiness
    card.interval = state.interval
    card.due = state.due
    card.drill = state.drill


def memory_of(card: Card, *, last_review_day: date | None) -> FsrsMemory:
    """The card's FSRS memory: new until FSRS has scheduled a review of it.
    `last_review_day` is the learner day of the card's latest review."""
    if card.fsrs_state is None:
        return FsrsMemory.new()
    return FsrsMemory(
        state=card.fsrs_state.value,
        step=card.fsrs_step,
        stability=card.stability,
        difficulty=card.difficulty,
        last_review=last_review_day,
    )


def apply_fsrs(card: Card, schedule: FsrsSchedule) -> None:
    """FSRS's memory on the card, and its due day in the queue's terms."""
    memory = schedule.memory
    card.fsrs_state = FsrsState(memory.state)
    card.fsrs_step = memory.step
    card.stability = memory.stability
    card.difficulty = memory.difficulty
    card.due = schedule.due
    card.drill = schedule.drill
    card.interval = schedule.interval


def snapshot(card: Card) -> dict[str, Any]:
    """Everything a review changes, as JSON."""
    return {
        "repetitions": card.repetitions,
        "easiness": card.easiness,
        "interval": card.interval,
        "due": card.due.isoformat() if card.due else None,
        "drill": card.drill,
        "lapses": card.lapses,
        "last_reviewed_at": card.last_reviewed_at.isoformat() if card.last_reviewed_at else None,
        "started_on": card.started_on.isoformat() if card.started_on else None,
        "fsrs_state": card.fsrs_state.value if card.fsrs_state else None,
        "fsrs_step": card.fsrs_step,
        "stability": card.stability,
        "difficulty": card.difficulty,
    }


def restore(card: Card, saved: dict[str, Any]) -> None:
    card.repetitions = saved["repetitions"]
    card.easiness = saved["easiness"]
    card.interval = saved["interval"]
    card.due = date.fromisoformat(saved["due"]) if saved["due"] else None
    card.drill = saved["drill"]
    card.lapses = saved["lapses"]
    last = saved["last_reviewed_at"]
    card.last_reviewed_at = datetime.fromisoformat(last) if last else None
    card.started_on = date.fromisoformat(saved["started_on"]) if saved["started_on"] else None
    # Reviews logged before FSRS came have no FSRS keys: their cards had no FSRS memory.
    state = saved.get("fsrs_state")
    card.fsrs_state = FsrsState(state) if state else None
    card.fsrs_step = saved.get("fsrs_step")
    card.stability = saved.get("stability")
    card.difficulty = saved.get("difficulty")
