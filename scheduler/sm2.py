"""SuperMemo-2 (Wozniak, 1990), exactly as Tutor's design notes specify it.

Pure: no I/O and no clock. The caller passes `today`, the learner's local date.

A regular review with grade q (0–5):
- q ≥ 3: EF ← max(1.3, EF + 0.1 − (5−q)·(0.08 + (5−q)·0.02)); the interval becomes 1,
  then 6, then ceil(I · EF) with the new EF; n ← n + 1. With q ≥ 4 the card is next due
  in I days; with q = 3 it also joins today's drill and stays due today.
- q < 3: n ← 0, I ← 0, EF unchanged; the card stays due today, to be learnt again.

While a card is in the drill (step 7 of the algorithm: repeat items graded below 4 until
they reach 4), q ≥ 4 ends the drill and makes it due in I days; lower grades change
nothing. Drill grades never touch n, EF or I.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta

INITIAL_EASINESS = 2.5
MIN_EASINESS = 1.3
# EF moves in steps of 0.02; rounding removes float noise such as 2.4599999999999995,
# which would otherwise push ceil(I · EF) one day too far when I · EF is a whole number.
_EASINESS_DECIMALS = 6


@dataclass(frozen=True)
class Sm2State:
    repetitions: int
    easiness: float
    interval: int
    due: date
    drill: bool

    @classmethod
    def new(cls, today: date) -> Sm2State:
        """A card never reviewed: due today."""
        return cls(repetitions=0, easiness=INITIAL_EASINESS, interval=0, due=today, drill=False)


def next_easiness(easiness: float, grade: int) -> float:
    miss = 5 - grade
    updated = easiness + 0.1 - miss * (0.08 + miss * 0.02)
    return round(max(MIN_EASINESS, updated), _EASINESS_DECIMALS)


def next_interval(repetitions: int, interval: int, easiness: float) -> int:
    if repetitions == 0:
        return 1
    if repetitions == 1:
        return 6
    return math.ceil(round(interval * easiness, _EASINESS_DECIMALS))


def review(state: Sm2State, grade: int, today: date) -> Sm2State:
    """The state after grading a review `grade` (0–5) on `today`."""
    if isinstance(grade, bool) or not isinstance(grade, int) or not 0 <= grade <= 5:
        raise ValueError(f"an SM-2 grade is a whole number from 0 to 5, not {grade!r}")
    if state.drill:
        if grade >= 4:
            return replace(state, drill=False, due=today + timedelta(days=state.interval))
        return state
    if grade < 3:
        return replace(state, repetitions=0, interval=0, due=today, drill=False)
    easiness = next_easiness(state.easiness, grade)
    interval = next_interval(state.repetitions, state.interval, easiness)
    passed = replace(state, repetitions=state.repetitions + 1, easiness=easiness, interval=interval)
    if grade == 3:
        return replace(passed, due=today, drill=True)
    return replace(passed, due=today + timedelta(days=interval), drill=False)
