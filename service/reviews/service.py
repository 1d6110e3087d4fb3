"""Grading a review, safely retried with an Idempotency-Key, and undoing the latest one."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.fsrs_schedule import DEFAULT_PARAMETERS, FsrsSettings
from service.cards.models import Card, CardStatus
from service.cards.schedule import CardSchedule
from service.cards.schemas import CardOut
from service.cards.service import CardNotFound, get_card
from service.db import built, utcnow
from service.errors import Conflict, InvalidRequest, NotFound, TutorError
from service.learners.days import learner_day
from service.learners.models import Learner
from service.reviews.grading import Grade, review_card
from service.reviews.models import Review
from service.reviews.queries import (
    card_for_grading,
    insert_review,
    keep_answer,
    kept_answer,
    latest_grade_for_update,
    learner_scheduler,
    reviews_of_card,
    scheduler_for_grading,
    write_schedule,
)
from service.reviews.rederive import rederive, review_logs
from service.reviews.schemas import ReviewOut, ReviewRequest, ReviewResult, UndoResult

IDEMPOTENCY_WINDOW = timedelta(hours=24)
# Clocks drift; an offline client a little ahead is fine, a review from the future is not.
FUTURE_TOLERANCE = timedelta(minutes=5)


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
    card = await card_for_grading(connection, card_id=body.card_id, learner_id=learner.id)
    if card is None:
        raise CardNotFound()
    if card.status is not CardStatus.active:
        raise NotReviewable(f"Only active cards are reviewed; this one is {card.status.value}.")
    today = learner_day(learner, reviewed_at)
    schedule = CardSchedule.of(card).started(today)
    assert schedule.due is not None  # started
    if not schedule.drill and schedule.due > today:
        raise NotDue(f"This card is due on {schedule.due.isoformat()}, not today ({today}).")

    grade, rating = body.grades()
    scheduler, retention, parameters = await scheduler_for_grading(
        connection, learner_id=learner.id
    )
    fsrs = None
    last_review_day = None
    if scheduler == "fsrs":
        fsrs = FsrsSettings(tuple(parameters or DEFAULT_PARAMETERS), retention)
        if (last := card.last_reviewed_at) is not None:
            last_review_day = learner_day(learner, last)
    after = review_card(
        schedule,
        Grade(grade, rating, reviewed_at, today),
        fsrs=fsrs,
        last_review_day=last_review_day,
    )
    after.put_on(card)
    card.updated_at = utcnow()
    await write_schedule(
        connection, card_id=card.id, updated_at=card.updated_at, schedule=after.columns()
    )
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
        "drill": schedule.drill,
        "before": schedule.snapshot(),
        "after": after.snapshot(),
        "created_at": card.updated_at,
    }
    await insert_review(connection, review=review)
    return card, built(Review, review)


async def _replay(
    db: AsyncSession, *, learner_id: uuid.UUID, key: str, request_hash: str, now: datetime
) -> bytes | None:
    """The answer kept under this key within the window, if there is one."""
    stored = await kept_answer(db, learner_id=learner_id, key=key, since=now - IDEMPOTENCY_WINDOW)
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
    kept = await keep_answer(
        await db.connection(),
        learner_id=learner.id,
        key=idempotency_key,
        request_hash=request_hash,
        response=answer,
        review_id=review.id,
        created_at=now,
        before=now - IDEMPOTENCY_WINDOW,
    )
    if not kept:
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
    review = await latest_grade_for_update(db, learner_id=learner.id)
    if review is None:
        raise NothingToUndo()
    card = await get_card(db, learner=learner, card_id=review.card_id)
    CardSchedule.of(card).restored(review.before).put_on(card)
    undone = ReviewOut.of(review)
    await db.delete(review)
    scheduler = await learner_scheduler(db, learner_id=learner.id)
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
    return await reviews_of_card(db, card_id=card_id)
