"""A card's schedule derived again from its review log, by either scheduler.

Every review keeps its grade on both scales (scheduler/grades.py), so the log is enough
to say where any card would be under SM-2 or under FSRS. Switching scheduler, changing
FSRS's desired retention or parameters, and undoing a review that the other scheduler
scheduled all come down to this. SM-2 replays to exactly the state its own grading
reached (it is deterministic, and every review was applied on its own day); FSRS replays
to exactly the state it would have reached, fuzzing being off (scheduler/fsrs_schedule.py).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler import fsrs_schedule, sm2
from scheduler.fsrs_schedule import DEFAULT_PARAMETERS, FsrsSettings
from scheduler.grades import Rating
from scheduler.history import CardHistory, PastReview
from scheduler.recall import SM2_MAX_INTERVAL
from service.cards.models import Card
from service.cards.schedule import CardSchedule
from service.learners.days import learner_day
from service.learners.models import Learner
from service.reviews.queries import review_log_rows, scheduled_cards_for_update


@dataclass(frozen=True)
class LoggedReview:
    reviewed_at: datetime
    review_date: date
    grade: int
    rating: Rating


def fsrs_settings(learner: Learner) -> FsrsSettings:
    parameters = tuple(learner.fsrs_parameters or DEFAULT_PARAMETERS)
    return FsrsSettings(parameters=parameters, desired_retention=learner.desired_retention)


def rederive(
    card: Card, log: Sequence[LoggedReview], *, learner: Learner, scheduler: str, today: date
) -> None:
    """Put on `card` the schedule `scheduler` derives from `log` (oldest first).

    A card never reviewed keeps its place (due on the day it became active); the FSRS
    memory is kept only while FSRS schedules, so no stale memory outlives a switch.
    """
    rederived(
        CardSchedule.of(card),
        log,
        fsrs=fsrs_settings(learner) if scheduler == "fsrs" else None,
        today=today,
    ).put_on(card)


def rederived(
    schedule: CardSchedule, log: Sequence[LoggedReview], *, fsrs: FsrsSettings | None, today: date
) -> CardSchedule:
    """`schedule` as FSRS with `fsrs`, else SM-2, derives it from `log` (oldest first)."""
    schedule = schedule.without_fsrs()
    if not log:
        return schedule
    if fsrs is not None:
        replayed = fsrs_schedule.replay(
            [(review.review_date, review.rating) for review in log], today=today, settings=fsrs
        )
        assert replayed is not None  # the log is not empty
        return schedule.with_fsrs(replayed)
    state = sm2.Sm2State.new(schedule.activated_on or log[0].review_date)
    for review in log:
        # SM-2 multiplies the interval at every pass, however early the review: replayed
        # on reviews FSRS spaced closer, it would pass the last date Python can hold.
        # Past a century nothing changes in practice (py-fsrs and Anki stop there too).
        capped = replace(state, interval=min(state.interval, SM2_MAX_INTERVAL))
        state = sm2.review(capped, review.grade, review.review_date)
    return schedule.with_sm2(state)


async def review_logs(
    db: AsyncSession, *, learner_id: uuid.UUID, card_ids: Sequence[uuid.UUID] | None = None
) -> dict[uuid.UUID, list[LoggedReview]]:
    """Each card's reviews in the order they were made (all the learner's cards, or these)."""
    logs: dict[uuid.UUID, list[LoggedReview]] = defaultdict(list)
    rows = await review_log_rows(db, learner_id=learner_id, card_ids=card_ids)
    for card_id, reviewed_at, review_date, grade, rating in rows:
        logs[card_id].append(LoggedReview(reviewed_at, review_date, grade, Rating(rating)))
    return logs


async def rederive_all(db: AsyncSession, *, learner: Learner, scheduler: str, now: datetime) -> int:
    """Every scheduled card of the learner, derived again (not committed): how many.

    The cards' rows are locked first, so a grade made meanwhile either lands before
    (and is in the log read next) or waits and then sees the new scheduler.
    """
    cards = await scheduled_cards_for_update(db, learner_id=learner.id)
    logs = await review_logs(db, learner_id=learner.id)
    today = learner_day(learner, now)
    for card in cards:
        rederive(card, logs.get(card.id, []), learner=learner, scheduler=scheduler, today=today)
    return len(cards)


def histories_of(logs: dict[uuid.UUID, list[LoggedReview]]) -> list[CardHistory]:
    """The review log as the schedulers' evaluation reads it. A learner who moved west
    can have a later review on an earlier local day; its day is taken as the one before."""
    histories = []
    for card_id, reviews in logs.items():
        past: list[PastReview] = []
        for review in reviews:
            day = max(review.review_date, past[-1].review_date) if past else review.review_date
            past.append(PastReview(review.reviewed_at, day, review.grade, review.rating))
        histories.append(CardHistory(key=card_id, reviews=tuple(past)))
    return histories


async def learner_histories(db: AsyncSession, *, learner_id: uuid.UUID) -> list[CardHistory]:
    """Every card's reviews, as the schedulers' evaluation and fitting read them."""
    return histories_of(await review_logs(db, learner_id=learner_id))
