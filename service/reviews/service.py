"""Grading a review, safely retried with an Idempotency-Key, and undoing the latest one."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import JSON, Dialect, Table, TypeDecorator, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler import fsrs_schedule, sm2
from scheduler.fsrs_schedule import DEFAULT_PARAMETERS, FsrsSettings
from scheduler.grades import PASSING_GRADE, SCHEDULERS, Rating
from service.cards.models import Card, CardStatus, FsrsState, joined_tags, set_joined_tags
from service.cards.schemas import CardOut
from service.cards.service import CardNotFound, get_card
from service.db import built, for_update, table_of, utcnow
from service.errors import Conflict, InvalidRequest, NotFound, TutorError
from service.learners.models import Learner
from service.reviews.days import learner_day
from service.reviews.models import IdempotencyKey, Review
from service.reviews.rederive import rederive, review_logs
from service.reviews.schedule import (
    apply_fsrs,
    apply_state,
    memory_of,
    restore,
    snapshot,
    start_schedule,
    state_of,
)
from service.reviews.schemas import ReviewOut, ReviewRequest, ReviewResult, UndoResult

IDEMPOTENCY_WINDOW = timedelta(hours=24)
# Clocks drift; an offline client a little ahead is fine, a review from the future is not.
FUTURE_TOLERANCE = timedelta(minutes=5)


# Grading runs Core statements on the tables, built once: the ORM's handling of a
# statement (and of a flush) costs more than running it, several times over, and every
# grade runs these. The card and review objects are built from the rows, never added.
_CARDS = table_of(Card)
_CARD_FOR_UPDATE = for_update(
    select(_CARDS, joined_tags(_CARDS.c.id)).where(
        _CARDS.c.id == bindparam("card_id"), _CARDS.c.learner_id == bindparam("learner_id")
    )
)
# What a review changes on its card (see schedule.py), and when.
_SCHEDULE = (
    "repetitions",
    "easiness",
    "interval",
    "due",
    "drill",
    "lapses",
    "last_reviewed_at",
    "started_on",
    "activated_on",
    "updated_at",
    "fsrs_state",
    "fsrs_step",
    "stability",
    "difficulty",
)
_UPDATE_SCHEDULE = (
    update(_CARDS)
    .where(_CARDS.c.id == bindparam("card_id"))
    .values({column: bindparam(column) for column in _SCHEDULE})
)
_REVIEWS = table_of(Review)
_INSERT_REVIEW = insert(_REVIEWS)
_KEYS = table_of(IdempotencyKey)
# The learner's scheduler, read after the card's row is locked: a switch of scheduler
# (service/reviews/scheduling.py) that committed meanwhile is seen, never half applied.
_LEARNER_SCHEDULER = select(
    Learner.scheduler, Learner.desired_retention, Learner.fsrs_parameters
).where(Learner.id == bindparam("learner_id"))


class _SerializedJSON(TypeDecorator[str]):
    """JSON already serialized, written as it is: the answer kept under a key is the
    body the response sends, serialized once for both."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


def _keep_answer(insert: Callable[[Table], Any]) -> Any:
    """Store the answer under its key, or take over a key older than the window: one
    row either way. A key in use within the window is left as it is and no row comes
    back (PostgreSQL first waits for a transaction that holds the same key)."""
    columns: dict[str, Any] = {
        "learner_id": bindparam("learner_id"),
        "key": bindparam("key"),
        "request_hash": bindparam("request_hash"),
        "response": bindparam("response", type_=_SerializedJSON()),
        "review_id": bindparam("review_id"),
        "created_at": bindparam("created_at"),
    }
    keep = insert(_KEYS).values(id=bindparam("id"), **columns)
    return keep.on_conflict_do_update(
        index_elements=[_KEYS.c.learner_id, _KEYS.c.key],
        set_={"id": keep.excluded.id, **columns},
        where=_KEYS.c.created_at < bindparam("before"),
    ).returning(_KEYS.c.id)


_KEEP_ANSWER = {
    "postgresql": _keep_answer(postgresql.insert),
    "sqlite": _keep_answer(sqlite.insert),
}


class NotDue(Conflict):
    code = "not_due"


class NotReviewable(Conflict):
    code = "not_reviewable"


class IdempotencyKeyReused(InvalidRequest):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was used in the last 24 hours for a different request."
        )


class RequestInProgress(Conflict):
    code = "request_in_progress"


class NothingToUndo(NotFound):
    code = "nothing_to_undo"

    def __init__(self) -> None:
        super().__init__("There is no review to undo.")


class ReviewInFuture(InvalidRequest):
    code = "reviewed_at_in_future"


def _request_hash(body: ReviewRequest) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def grade_card(
    db: AsyncSession, *, learner: Learner, body: ReviewRequest, now: datetime
) -> tuple[Card, Review]:
    """Apply one grade with the learner's scheduler (not committed); the card row is locked.

    The card and the review returned are not in the session: they are what was written.
    """
    reviewed_at = body.reviewed_at or now
    if reviewed_at > now + FUTURE_TOLERANCE:
        raise ReviewInFuture(
            "reviewed_at is more than 5 minutes in the future.",
            details=[{"field": "reviewed_at", "message": "in the future"}],
        )
    connection = await db.connection()
    ids = {"card_id": body.card_id, "learner_id": learner.id}
    row = (await connection.execute(_CARD_FOR_UPDATE, ids)).first()
    if row is None:
        raise CardNotFound()
    *columns, tags = row
    card = built(Card, dict(zip(_CARDS.columns.keys(), columns, strict=True)))
    set_joined_tags(card, tags)
    if card.status is not CardStatus.active:
        raise NotReviewable(f"Only active cards are reviewed; this one is {card.status.value}.")
    today = learner_day(learner, reviewed_at)
    start_schedule(card, today)
    state = state_of(card)
    if not state.drill and state.due > today:
        raise NotDue(f"This card is due on {state.due.isoformat()}, not today ({today}).")

    grade, rating = body.grades()
    scheduler, retention, parameters = (
        await connection.execute(_LEARNER_SCHEDULER, {"learner_id": learner.id})
    ).one()
    before = snapshot(card)
    if scheduler == "fsrs":
        settings = FsrsSettings(tuple(parameters or DEFAULT_PARAMETERS), retention)
        lapsed = _review_with_fsrs(card, rating, today, learner=learner, settings=settings)
    else:
        lapsed = not state.drill and grade < PASSING_GRADE and state.repetitions > 0
        apply_state(card, sm2.review(state, grade, today))
    if lapsed:
        card.lapses += 1
    card.last_reviewed_at = reviewed_at
    card.started_on = card.started_on or today
    card.updated_at = utcnow()
    await connection.execute(_UPDATE_SCHEDULE, _schedule_of(card))
    review = {
        "id": uuid.uuid4(),
        "card_id": card.id,
        "learner_id": learner.id,
        "grade": grade,
        "rating": int(rating),
        "scheduler": scheduler,
        "reviewed_at": reviewed_at,
        "review_date": today,
        "duration_ms": body.duration_ms,
        "drill": state.drill,
        "before": before,
        "after": snapshot(card),
        "created_at": card.updated_at,
    }
    await connection.execute(_INSERT_REVIEW, review)
    return card, built(Review, review)


def _review_with_fsrs(
    card: Card, rating: Rating, today: date, *, learner: Learner, settings: FsrsSettings
) -> bool:
    """Schedule the card with FSRS; whether it lapsed (forgotten while on its interval)."""
    lapsed = card.fsrs_state is FsrsState.review and rating is Rating.again
    last = card.last_reviewed_at
    memory = memory_of(card, last_review_day=learner_day(learner, last) if last else None)
    apply_fsrs(card, fsrs_schedule.review(memory, rating, today, settings=settings))
    return lapsed


def _schedule_of(card: Card) -> dict[str, Any]:
    return {"card_id": card.id} | {column: getattr(card, column) for column in _SCHEDULE}


async def _replay(
    db: AsyncSession, *, learner_id: uuid.UUID, key: str, request_hash: str, now: datetime
) -> bytes | None:
    """The answer kept under this key within the window, if there is one."""
    stored = await db.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.learner_id == learner_id,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at >= now - IDEMPOTENCY_WINDOW,
        )
    )
    if stored is None:
        return None
    if stored.request_hash != request_hash:
        raise IdempotencyKeyReused()
    return json.dumps(stored.response, ensure_ascii=False, separators=(",", ":")).encode()


async def submit_review(
    db: AsyncSession,
    *,
    learner: Learner,
    body: ReviewRequest,
    now: datetime,
    idempotency_key: str | None,
) -> bytes:
    """Grade once per Idempotency-Key: a retry gets the first answer, never a second grade.

    The answer comes back as its JSON body, and is kept under its key in the same
    transaction as the grade. A retry finds the card graded (not due any more, unless
    it is in the drill) or, for a card in the drill, the key taken when it comes to keep
    its answer; either way its own work is rolled back and the first answer replayed.
    Two requests with one key cannot both pass: the card's row is locked in PostgreSQL
    and the writer's turn is taken in SQLite before the card is read.
    """
    if idempotency_key is None:
        card, review = await grade_card(db, learner=learner, body=body, now=now)
        await db.commit()
        return _result(card, review).model_dump_json().encode()

    request_hash = _request_hash(body)
    replay = partial(
        _replay, db, learner_id=learner.id, key=idempotency_key, request_hash=request_hash, now=now
    )
    try:
        card, review = await grade_card(db, learner=learner, body=body, now=now)
    except TutorError:
        await db.rollback()
        if (replayed := await replay()) is not None:
            return replayed
        raise
    answer = _result(card, review).model_dump_json()
    keep = {
        "id": uuid.uuid4(),
        "learner_id": learner.id,
        "key": idempotency_key,
        "request_hash": request_hash,
        "response": answer,
        "review_id": review.id,
        "created_at": now,
        "before": now - IDEMPOTENCY_WINDOW,
    }
    connection = await db.connection()
    kept = await connection.execute(_KEEP_ANSWER[connection.dialect.name], keep)
    if kept.first() is None:
        await db.rollback()
        replayed = await replay()
        if replayed is None:  # the key's holder was undone meanwhile (its row went too)
            raise RequestInProgress(
                "A request with this Idempotency-Key was handled at the same moment; send again."
            )
        return replayed
    await db.commit()
    return answer.encode()


def _result(card: Card, review: Review) -> ReviewResult:
    return ReviewResult(card=CardOut.of(card), review=ReviewOut.of(review))


async def undo_latest(db: AsyncSession, *, learner: Learner, now: datetime) -> UndoResult:
    """Undo the learner's latest review: the card's schedule goes back to before it."""
    review = await db.scalar(
        select(Review)
        # Reviews imported from Anki are history, not a grade given here to take back.
        .where(Review.learner_id == learner.id, Review.scheduler.in_(SCHEDULERS))
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(1)
        .with_for_update()
    )
    if review is None:
        raise NothingToUndo()
    card = await get_card(db, learner=learner, card_id=review.card_id)
    restore(card, review.before)
    undone = ReviewOut.of(review)
    await db.delete(review)
    scheduler = await db.scalar(select(Learner.scheduler).where(Learner.id == learner.id))
    if review.scheduler != scheduler:
        # Scheduled before a switch: `before` is the other scheduler's state, so the
        # card is derived from the reviews that remain, as the switch derived it.
        await db.flush()
        logs = await review_logs(db, learner_id=learner.id, card_ids=[card.id])
        rederive(
            card,
            logs.get(card.id, []),
            learner=learner,
            scheduler=scheduler or "sm2",
            today=learner_day(learner, now),
        )
    await db.commit()
    return UndoResult(card=CardOut.of(card), undone=undone)


async def card_reviews(db: AsyncSession, *, learner: Learner, card_id: uuid.UUID) -> list[Review]:
    await get_card(db, learner=learner, card_id=card_id)
    rows = await db.scalars(
        select(Review)
        .where(Review.card_id == card_id)
        .order_by(Review.reviewed_at, Review.created_at)
    )
    return list(rows)
