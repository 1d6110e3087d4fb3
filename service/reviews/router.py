"""/v1/reviews, /v1/stats and a card's review history."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, status
from fastapi.responses import Response

from service.auth import CurrentLearner
from service.cards.schemas import CardOut
from service.clock import ClockDep
from service.db import SessionDep
from service.errors import ErrorResponse
from service.reviews import service
from service.reviews.queue import build_queue
from service.reviews.schemas import (
    QueueCounts,
    QueueOut,
    ReviewList,
    ReviewOut,
    ReviewRequest,
    ReviewResult,
    UndoResult,
)
from service.reviews.stats import StatsOut, learner_stats

router = APIRouter(tags=["reviews"])

_CANNOT_GRADE: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorResponse,
        "description": "The card is not due today (`not_due`) or not active "
        "(`not_reviewable`), or a request with the same Idempotency-Key was handled at "
        "the same moment (`request_in_progress`; send again).",
    }
}


@router.get("/v1/reviews/queue", response_model=QueueOut)
async def queue(
    learner: CurrentLearner,
    db: SessionDep,
    clock: ClockDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Today's cards: due reviews (most overdue first), new cards, then the drill."""
    built = await build_queue(db, learner=learner, now=clock.now(), limit=limit)
    out = QueueOut(
        date=built.day,
        counts=QueueCounts(due=built.due, new=built.new, drill=built.drill),
        cards=[CardOut.of(card) for card in built.cards],
    )
    # Serialized here, once: returned as a model, it would be validated again (up to
    # 500 cards) before being serialized.
    return Response(out.model_dump_json(), media_type="application/json")


@router.post(
    "/v1/reviews",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewResult,
    responses=_CANNOT_GRADE,
)
async def submit_review(
    body: ReviewRequest,
    learner: CurrentLearner,
    db: SessionDep,
    clock: ClockDep,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="Retry safely: the same key answers the same."),
    ] = None,
) -> Response:
    """Grade a card 0–5; SM-2 schedules it. 409 `not_due` for a card not due today."""
    answer = await service.submit_review(
        db, learner=learner, body=body, now=clock.now(), idempotency_key=idempotency_key
    )
    return Response(answer, status_code=status.HTTP_201_CREATED, media_type="application/json")


@router.post("/v1/reviews/undo")
async def undo(learner: CurrentLearner, db: SessionDep) -> UndoResult:
    """Undo the latest review: the card's schedule is as it was before it."""
    return await service.undo_latest(db, learner=learner)


@router.get("/v1/stats")
async def stats(learner: CurrentLearner, db: SessionDep, clock: ClockDep) -> StatsOut:
    return await learner_stats(db, learner=learner, now=clock.now())


@router.get("/v1/cards/{card_id}/reviews")
async def card_reviews(card_id: uuid.UUID, learner: CurrentLearner, db: SessionDep) -> ReviewList:
    reviews = await service.card_reviews(db, learner=learner, card_id=card_id)
    return ReviewList(items=[ReviewOut.of(review) for review in reviews])
