"""SM-2, table-driven with fixed dates: the design notes' worked example and every rule."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import date, timedelta

import pytest

from scheduler.sm2 import Sm2State, review

START = date(2026, 1, 5)


def test_a_new_card_is_due_today() -> None:
    assert Sm2State.new(START) == Sm2State(
        repetitions=0, easiness=2.5, interval=0, due=START, drill=False
    )


def test_the_worked_example() -> None:
    """Grades 4,3,3,4,5,3,0,1,3,3,4,5,3, one review per due day, all on time."""
    grades = [4, 3, 3, 4, 5, 3, 0, 1, 3, 3, 4, 5, 3]
    state = Sm2State.new(START)
    today = START
    gaps = []
    for grade in grades:
        state = review(state, grade, today)
        gaps.append((state.due - today).days)
        today = state.due
    assert gaps == [1, 0, 0, 6, 15, 0, 0, 0, 0, 0, 35, 85, 0]


@pytest.mark.parametrize(
    ("grade", "easiness"),
    [(5, 2.6), (4, 2.5), (3, 2.36)],
)
def test_each_passing_grade_changes_easiness(grade: int, easiness: float) -> None:
    assert review(Sm2State.new(START), grade, START).easiness == easiness


@pytest.mark.parametrize("grade", [0, 1, 2])
def test_a_failing_grade_resets_without_touching_easiness(grade: int) -> None:
    learnt = Sm2State(repetitions=4, easiness=2.18, interval=35, due=START, drill=False)
    after = review(learnt, grade, START)
    assert after == Sm2State(repetitions=0, easiness=2.18, interval=0, due=START, drill=False)
    relearnt = review(after, 4, START)
    assert (relearnt.interval, relearnt.due) == (1, START + timedelta(days=1))


def test_easiness_never_falls_below_1_3() -> None:
    state = Sm2State(repetitions=3, easiness=1.3, interval=10, due=START, drill=False)
    after = review(state, 3, START)
    assert after.easiness == 1.3
    assert after.interval == 13
    state = Sm2State(repetitions=3, easiness=1.4, interval=10, due=START, drill=False)
    assert review(state, 3, START).easiness == 1.3


@pytest.mark.parametrize(
    ("repetitions", "interval", "easiness", "expected"),
    [
        (0, 0, 2.5, 1),
        (1, 1, 2.5, 6),
        (2, 6, 2.5, 15),
        (3, 15, 2.6, 39),
        (2, 25, 2.5, 63),
    ],
)
def test_intervals(repetitions: int, interval: int, easiness: float, expected: int) -> None:
    state = Sm2State(repetitions, easiness, interval, START, False)
    assert review(state, 4, START).interval == expected


def test_exact_products_are_not_rounded_up() -> None:
    # EF 2.36 after a 3 from 2.5, and 25 · 2.36 = 59 exactly; in floats it is
    # 59.00000000000001, which a plain ceil would make 60.
    state = Sm2State(repetitions=2, easiness=2.5, interval=25, due=START, drill=False)
    assert review(state, 3, START).interval == 59


def test_a_three_sends_the_card_to_todays_drill() -> None:
    state = review(Sm2State(1, 2.5, 1, START, False), 3, START)
    assert (state.repetitions, state.interval, state.due, state.drill) == (2, 6, START, True)


@pytest.mark.parametrize("grade", [0, 1, 2, 3])
def test_a_drill_grade_below_four_changes_nothing(grade: int) -> None:
    drilling = Sm2State(repetitions=2, easiness=2.36, interval=6, due=START, drill=True)
    assert review(drilling, grade, START) == drilling


@pytest.mark.parametrize("grade", [4, 5])
def test_four_or_better_ends_the_drill(grade: int) -> None:
    drilling = Sm2State(repetitions=2, easiness=2.36, interval=6, due=START, drill=True)
    after = review(drilling, grade, START + timedelta(days=1))
    assert after == Sm2State(2, 2.36, 6, START + timedelta(days=7), False)


@pytest.mark.parametrize("grade", [-1, 6, 10, 3.5, True, "4"])
def test_a_grade_outside_0_to_5_is_refused(grade: object) -> None:
    with pytest.raises(ValueError, match="0 to 5"):
        review(Sm2State.new(START), grade, START)  # type: ignore[arg-type]


def test_states_are_immutable() -> None:
    state = Sm2State.new(START)
    with pytest.raises(FrozenInstanceError):
        state.interval = 3  # type: ignore[misc]
