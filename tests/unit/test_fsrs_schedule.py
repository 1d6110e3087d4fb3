"""scheduler/fsrs_schedule.py: py-fsrs on the learner's days, and the grade mapping.

py-fsrs itself is the oracle: the same ratings given to `fsrs.Scheduler` directly must
leave the same memory; what is Tutor's own is the day each due time falls on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import fsrs
import pytest

from scheduler import fsrs_schedule
from scheduler.fsrs_schedule import FsrsMemory, FsrsSettings
from scheduler.grades import Rating, grade_of_rating, rating_of_grade, recalled

SETTINGS = FsrsSettings()


def day(number: int) -> date:
    return date(2026, 3, number)


def on_the_day_clock(number: int) -> datetime:
    return datetime.combine(day(number), time(), tzinfo=UTC)


@pytest.mark.parametrize(
    ("grade", "rating"),
    [
        (0, Rating.again),
        (1, Rating.again),
        (2, Rating.again),
        (3, Rating.hard),
        (4, Rating.good),
        (5, Rating.easy),
    ],
)
def test_each_sm2_grade_has_one_rating(grade: int, rating: Rating) -> None:
    assert rating_of_grade(grade) is rating
    assert recalled(rating) == (grade >= 3)


@pytest.mark.parametrize(
    ("rating", "grade"), [(Rating.again, 1), (Rating.hard, 3), (Rating.good, 4), (Rating.easy, 5)]
)
def test_each_rating_has_one_grade_that_maps_back(rating: Rating, grade: int) -> None:
    assert grade_of_rating(rating) == grade
    assert rating_of_grade(grade) is rating


@pytest.mark.parametrize("grade", [-1, 6, True, 2.5])
def test_a_grade_off_the_scale_is_refused(grade: object) -> None:
    with pytest.raises(ValueError, match="0 to 5"):
        rating_of_grade(grade)  # type: ignore[arg-type]


def test_a_learning_step_keeps_the_card_in_todays_drill() -> None:
    first = fsrs_schedule.review(FsrsMemory.new(), Rating.good, day(10), settings=SETTINGS)
    # py-fsrs's second learning step is 10 minutes: back the same day.
    assert (first.memory.state, first.memory.step) == ("learning", 1)
    assert (first.due, first.drill, first.interval) == (day(10), True, 0)

    second = fsrs_schedule.review(first.memory, Rating.good, day(10), settings=SETTINGS)
    assert second.memory.state == "review"
    assert second.drill is False
    assert second.interval == (second.due - day(10)).days >= 1


RATINGS = [
    (10, Rating.good),
    (10, Rating.good),
    (13, Rating.hard),
    (20, Rating.again),
    (20, Rating.good),
    (24, Rating.easy),
]


def test_the_memory_is_py_fsrs_own_on_a_clock_of_days() -> None:
    memory = FsrsMemory.new()
    for number, rating in RATINGS:
        schedule = fsrs_schedule.review(memory, rating, day(number), settings=SETTINGS)
        memory = schedule.memory

    oracle = fsrs.Scheduler(enable_fuzzing=False)
    card = fsrs.Card(card_id=1, due=on_the_day_clock(10))
    for number, rating in RATINGS:
        card, _ = oracle.review_card(card, fsrs.Rating(int(rating)), on_the_day_clock(number))
    assert memory.state == card.state.name.lower()
    assert memory.stability == pytest.approx(card.stability)
    assert memory.difficulty == pytest.approx(card.difficulty)
    assert memory.last_review == day(24)
    assert schedule.due == card.due.date()


def test_days_apart_are_learner_days_whatever_the_hours() -> None:
    # 21:00 one evening and 08:00 the next learner day are a day apart, as in Anki:
    # both reviews are given as their learner days, so no hours reach py-fsrs.
    learnt = fsrs_schedule.replay(
        [(day(10), Rating.good), (day(10), Rating.good)], today=day(10), settings=SETTINGS
    )
    assert learnt is not None
    next_day = fsrs_schedule.review(learnt.memory, Rating.good, day(11), settings=SETTINGS)
    same_day = fsrs_schedule.review(learnt.memory, Rating.good, day(10), settings=SETTINGS)
    assert next_day.memory.stability != same_day.memory.stability


def test_replay_is_the_reviews_one_by_one_and_an_old_step_is_overdue() -> None:
    log = [(day(10), Rating.good)]
    on_the_day = fsrs_schedule.replay(log, today=day(10), settings=SETTINGS)
    assert on_the_day is not None
    assert (on_the_day.due, on_the_day.drill) == (day(10), True)
    days_later = fsrs_schedule.replay(log, today=day(14), settings=SETTINGS)
    assert days_later is not None
    assert (days_later.due, days_later.drill) == (day(10), False)
    assert days_later.memory == on_the_day.memory
    assert fsrs_schedule.replay([], today=day(14), settings=SETTINGS) is None

    one_by_one = FsrsMemory.new()
    for number, rating in RATINGS:
        one_by_one = fsrs_schedule.review(one_by_one, rating, day(number), settings=SETTINGS).memory
    replayed = fsrs_schedule.replay(
        [(day(number), rating) for number, rating in RATINGS], today=day(24), settings=SETTINGS
    )
    assert replayed is not None
    assert replayed.memory == one_by_one


def test_higher_retention_means_shorter_intervals() -> None:
    def interval(retention: float) -> int:
        settings = FsrsSettings(desired_retention=retention)
        schedule = fsrs_schedule.replay(
            [(day(10), Rating.easy), (day(20), Rating.good)], today=day(20), settings=settings
        )
        assert schedule is not None
        return schedule.interval

    assert interval(0.97) < interval(0.9) < interval(0.75)


def test_retrievability_falls_with_time_and_is_unknown_before_a_review() -> None:
    assert fsrs_schedule.retrievability(FsrsMemory.new(), day(10), settings=SETTINGS) is None
    memory = fsrs_schedule.review(FsrsMemory.new(), Rating.easy, day(10), settings=SETTINGS).memory
    soon = fsrs_schedule.retrievability(memory, day(12), settings=SETTINGS)
    later = fsrs_schedule.retrievability(memory, day(30), settings=SETTINGS)
    assert soon is not None
    assert later is not None
    assert 1 > soon > later > 0


def test_parameters_out_of_bounds_are_refused() -> None:
    assert fsrs_schedule.check_parameters(list(fsrs_schedule.DEFAULT_PARAMETERS)) == (
        fsrs_schedule.DEFAULT_PARAMETERS
    )
    with pytest.raises(ValueError, match="out of bounds"):
        fsrs_schedule.check_parameters([1000.0] * 21)
