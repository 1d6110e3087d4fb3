"""The two grading scales and the one explicit mapping between them.

SM-2 grades a recall 0–5 (0 blackout … 5 perfect); FSRS, like Anki, rates it Again,
Hard, Good or Easy (1–4, the numbers py-fsrs and Anki's review log use). Every review
keeps both, so either scheduler can replay any review, whichever one scheduled it:

    SM-2 grade   0  1  2 | 3     4     5
    FSRS rating  Again   | Hard  Good  Easy

Going back, Again is grade 1: every grade below 3 does the same to an SM-2 card (the
card is learnt again, its easiness kept), so the choice among them changes nothing.
"""

from __future__ import annotations

import enum
from typing import Literal

Scheduler = Literal["sm2", "fsrs"]
SCHEDULERS: tuple[Scheduler, ...] = ("sm2", "fsrs")


class Rating(enum.IntEnum):
    """FSRS's (and Anki's) four answers, numbered as they number them."""

    again = 1
    hard = 2
    good = 3
    easy = 4


# The lowest SM-2 grade that counts as recalled; below it the card is learnt again.
PASSING_GRADE = 3
_GRADE_OF_RATING = {Rating.again: 1, Rating.hard: 3, Rating.good: 4, Rating.easy: 5}


def rating_of_grade(grade: int) -> Rating:
    """The FSRS rating an SM-2 grade (0–5) stands for."""
    if isinstance(grade, bool) or not isinstance(grade, int) or not 0 <= grade <= 5:
        raise ValueError(f"an SM-2 grade is a whole number from 0 to 5, not {grade!r}")
    if grade < PASSING_GRADE:
        return Rating.again
    return Rating(grade - 1)


def grade_of_rating(rating: Rating) -> int:
    """The SM-2 grade an FSRS rating stands for."""
    return _GRADE_OF_RATING[Rating(rating)]


def recalled(rating: Rating) -> bool:
    """Whether the answer was remembered: anything but Again (any SM-2 grade of 3 or more)."""
    return Rating(rating) is not Rating.again
