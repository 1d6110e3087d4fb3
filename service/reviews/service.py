"""Grading a review, safely retried with an Idempotency-Key, and undoing the latest one."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler import sm2
from service.cards.models import Card, CardStatus
from service.cards.schemas import CardOut
from service.cards.service import get_card
from service.errors import Conflict, InvalidRequest, NotFound
from service.learners.models import Learner
from service.reviews.days import learner_day
from service.reviews.models import IdempotencyKey, Review
from service.reviews.schedule import apply_state, restore, snapshot, start_schedule, state_of
from service.reviews.schemas import ReviewOut, ReviewRequest, ReviewResult, UndoResult

IDEMPOTENCY_WINDOW = timedelta(hours=24)
# Clocks drift; an offline client a little ahead is fine, a review from the future is not.
FUTURE_TOLERANCE = timedelta(minutes=5)


# Built once, with bound parameters: every grade runs them, and building a statement
# costs more than running it.
_CARD_FOR_UPDATE = (
    select(Card)
    .where(Card.id == bindparam("card_id"), Card.learner_id == bindparam("learner_id"))
    .with_for_update()
)
# No session objects can stand for a key this old, so none need synchronizing.
_DELETE_STALE_KEY = (
    delete(IdempotencyKey)
    .where(
        IdempotencyKey.learner_id == bindparam("learner_id"),
        IdempotencyKey.key == bindparam("key"),
        IdempotencyKey.created_at < bindparam("before"),
    )
    .execution_options(synchronize_session=False)
)


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
    """Apply one grade with SM-2 (not committed). The card row is locked meanwhile."""
    reviewed_at = body.reviewed_at or now
    if reviewed_at > now + FUTURE_TOLERANCE:
        raise ReviewInFuture(
            "reviewed_at is more than 5 minutes in the future.",
            details=[{"field": "reviewed_at", "message": "in the future"}],
        )
    card = await db.scalar(_CARD_FOR_UPDATE, {"card_id": body.card_id, "learner_id": learner.id})
    if card is None:
        await get_card(db, learner=learner, card_id=body.card_id)  # raises card_not_found
        raise AssertionError("unreachable")
    if card.status is not CardStatus.active:
        raise NotReviewable(f"Only active cards are reviewed; this one is {card.status.value}.")
    today = learner_day(learner, reviewed_at)
    start_schedule(card, today)
    state = state_of(card)
    if not state.drill and state.due > today:
        raise NotDue(f"This card is due on {state.due.isoformat()}, not today ({today}).")

    before = snapshot(card)
    apply_state(card, sm2.review(state, body.grade, today))
    if not state.drill and body.grade < 3 and state.repetitions > 0:
        card.lapses += 1
    card.last_reviewed_at = reviewed_at
    card.started_on = card.started_on or today
    review = Review(
        id=uuid.uuid4(),
        card_id=card.id,
        learner_id=learner.id,
        grade=body.grade,
        reviewed_at=reviewed_at,
        review_date=today,
        duration_ms=body.duration_ms,
        drill=state.drill,
        before=before,
        after=snapshot(card),
    )
    db.add(review)
    return card, review


async def _replay(
    db: AsyncSession, *, learner_id: uuid.UUID, key: str, request_hash: str
) -> dict[str, Any]:
    stored = await db.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.learner_id == learner_id, IdempotencyKey.key == key
        )
    )
    if stored is None or not stored.response:
        raise RequestInProgress("A request with this Idempotency-Key is still being handled.")
    if stored.request_hash != request_hash:
        raise IdempotencyKeyReused()
    return stored.response


async def submit_review(
    db: AsyncSession,
    *,
    learner: Learner,
    body: ReviewRequest,
    now: datetime,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """Grade once per Idempotency-Key: a retry gets the first answer, never a second grade.

    The key row is inserted first, so a second request with the same key waits on the
    unique index until the first commits, then fails its insert and replays the answer.
    """
    if idempotency_key is None:
        card, review = await grade_card(db, learner=learner, body=body, now=now)
        await db.commit()
        return _result(card, review)

    request_hash = _request_hash(body)
    learner_id = learner.id  # a rollback below expires the learner object
    stale = {"learner_id": learner.id, "key": idempotency_key, "before": now - IDEMPOTENCY_WINDOW}
    await db.execute(_DELETE_STALE_KEY, stale)
    claim = IdempotencyKey(
        learner_id=learner.id,
        key=idempotency_key,
        request_hash=request_hash,
        response={},
        created_at=now,
    )
    db.add(claim)
    try:
        await db.flush()
    except IntegrityError:
        await db.rollback()
        return await _replay(
            db, learner_id=learner_id, key=idempotency_key, request_hash=request_hash
        )
    card, review = await grade_card(db, learner=learner, body=body, now=now)
    await db.flush()
    response = _result(card, review)
    claim.review_id = review.id
    claim.response = response
    await db.commit()
    return response


def _result(card: Card, review: Review) -> dict[str, Any]:
    return ReviewResult(card=CardOut.of(card), review=ReviewOut.of(review)).model_dump(mode="json")


async def undo_latest(db: AsyncSession, *, learner: Learner) -> UndoResult:
    """Undo the learner's latest review: the card's schedule goes back to before it."""
    review = await db.scalar(
        select(Review)
        .where(Review.learner_id == learner.id)
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
