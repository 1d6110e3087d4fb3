"""Grading as a pure function of a card's schedule and a grade, with fixed dates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from scheduler.fsrs_schedule import DEFAULT_PARAMETERS, FsrsSettings
from scheduler.grades import rating_of_grade
from service.cards.models import FsrsState
from service.cards.schedule import CardSchedule
from service.reviews.grading import Grade, review_card

START = date(2026, 1, 5)
FSRS = FsrsSettings(tuple(DEFAULT_PARAMETERS), 0.9)
UNSCHEDULED = CardSchedule(
    repetitions=0,
    easiness=2.5,
    interval=0,
    due=None,
    drill=False,
    lapses=0,
    last_reviewed_at=None,
    started_on=None,
    activated_on=None,
    fsrs_state=None,
    fsrs_step=None,
    stability=None,
    difficulty=None,
)


def _on(day: date, grade: int) -> Grade:
    return Grade(grade, rating_of_grade(grade), datetime.combine(day, time(9), UTC), day)


def test_a_card_starts_due_on_the_day_it_turns_active() -> None:
    started = UNSCHEDULED.started(START)
    assert (started.due, started.activated_on, started.repetitions) == (START, START, 0)
    assert started.started(START + timedelta(days=3)) == started  # only the first time


def test_the_worked_example_through_review_card() -> None:
    """The design notes' SM-2 example, one grade per due day, as grading applies it."""
    schedule = UNSCHEDULED.started(START)
    gaps = []
    for grade in [4, 3, 3, 4, 5, 3, 0, 1, 3, 3, 4, 5, 3]:
        today = schedule.due
        assert today is not None
        schedule = review_card(schedule, _on(today, grade), fsrs=None, last_review_day=None)
        assert schedule.due is not None
        gaps.append((schedule.due - today).days)
    assert gaps == [1, 0, 0, 6, 15, 0, 0, 0, 0, 0, 35, 85, 0]
    assert schedule.started_on == START


@pytest.mark.parametrize(
    ("repetitions", "drill", "grade", "lapses"),
    [
        (3, False, 1, 1),  # forgotten while on its interval: a lapse
        (0, False, 1, 0),  # not learnt yet: nothing to lapse from
        (3, True, 1, 0),  # a drill grade changes nothing
        (3, False, 3, 0),  # passed
    ],
)
def test_sm2_counts_a_lapse_only_when_a_learnt_card_is_forgotten(
    repetitions: int, drill: bool, grade: int, lapses: int
) -> None:
    schedule = replace(UNSCHEDULED.started(START), repetitions=repetitions, interval=6, drill=drill)
    after = review_card(schedule, _on(START, grade), fsrs=None, last_review_day=None)
    assert after.lapses == lapses


def test_a_review_records_when_and_where_it_started() -> None:
    given = _on(START, 4)
    after = review_card(UNSCHEDULED.started(START), given, fsrs=None, last_review_day=None)
    assert (after.last_reviewed_at, after.started_on) == (given.reviewed_at, START)
    later = review_card(after, _on(START + timedelta(days=1), 4), fsrs=None, last_review_day=None)
    assert later.started_on == START


def test_fsrs_schedules_when_settings_are_given() -> None:
    first = review_card(UNSCHEDULED.started(START), _on(START, 5), fsrs=FSRS, last_review_day=None)
    assert first.fsrs_state is FsrsState.review
    assert first.stability is not None
    assert first.difficulty is not None
    assert first.due is not None
    assert first.due > START
    assert first.repetitions == 0  # SM-2's counters are left alone
    again = review_card(first, _on(first.due, 1), fsrs=FSRS, last_review_day=START)
    assert again.lapses == 1  # forgotten on its interval
    assert again.fsrs_state is FsrsState.relearning
    assert again.due == first.due  # relearning steps are minutes away: today's drill
    assert again.drill


def test_the_snapshot_restores_the_schedule() -> None:
    after = review_card(UNSCHEDULED.started(START), _on(START, 5), fsrs=FSRS, last_review_day=None)
    assert UNSCHEDULED.started(START).restored(after.snapshot()) == after
    assert after.restored(UNSCHEDULED.started(START).snapshot()) == UNSCHEDULED.started(START)
