"""/v1/reviews, /v1/stats and a card's review history."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import Response

from service.cards.schemas import CardOut
from service.clock import ClockDep
from service.db import SessionDep
from service.errors import ErrorResponse
from service.learners.auth import CurrentLearner
from service.reviews import optimizing, scheduling, service
from service.reviews.queue import build_queue
from service.reviews.scheduler_stats import scheduler_stats
from service.reviews.schemas import (
    FsrsOptimizationOut,
    QueueCounts,
    QueueOut,
    ReviewList,
    ReviewOut,
    ReviewRequest,
    ReviewResult,
    SchedulerChange,
    SchedulerSettings,
    SchedulerStatsOut,
    SchedulerUpdate,
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
    """Grade a card: `grade` 0–5 or `rating` again/hard/good/easy; the learner's scheduler
    (SM-2 or FSRS) schedules it. 409 `not_due` for a card not due today."""
    answer = await service.submit_review(
        db, learner=learner, body=body, now=clock.now(), idempotency_key=idempotency_key
    )
    return Response(answer, status_code=status.HTTP_201_CREATED, media_type="application/json")


@router.post("/v1/reviews/undo")
async def undo(learner: CurrentLearner, db: SessionDep, clock: ClockDep) -> UndoResult:
    """Undo the latest review: the card's schedule is as it was before it."""
    return await service.undo_latest(db, learner=learner, now=clock.now())


@router.get("/v1/stats")
async def stats(learner: CurrentLearner, db: SessionDep, clock: ClockDep) -> StatsOut:
    return await learner_stats(db, learner=learner, now=clock.now())


@router.get("/v1/cards/{card_id}/reviews")
async def card_reviews(card_id: uuid.UUID, learner: CurrentLearner, db: SessionDep) -> ReviewList:
    reviews = await service.card_reviews(db, learner=learner, card_id=card_id)
    return ReviewList(items=[ReviewOut.of(review) for review in reviews])


@router.get("/v1/me/scheduler")
async def get_scheduler(learner: CurrentLearner) -> SchedulerSettings:
    """The scheduler planning the learner's reviews (SM-2 or FSRS) and FSRS's settings."""
    return scheduling.settings_of(learner)


@router.patch("/v1/me/scheduler")
async def update_scheduler(
    body: SchedulerUpdate, learner: CurrentLearner, db: SessionDep, clock: ClockDep
) -> SchedulerChange:
    """Switch scheduler or change the desired retention. Nothing is lost: every card's
    schedule is derived again from its review log, which stays as it was."""
    return await scheduling.change_settings(
        db, learner=learner, changes=body.changes(), now=clock.now()
    )


@router.get("/v1/stats/scheduler")
async def scheduler_scores(learner: CurrentLearner, db: SessionDep) -> SchedulerStatsOut:
    """Your own history as the judge: how well SM-2 and FSRS (default parameters, and
    fitted ones once fitted) predicted what you recalled, review by review."""
    return await scheduler_stats(db, learner=learner)


_OPTIMIZE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "A fit is running (`optimization_running`)."},
    503: {
        "model": ErrorResponse,
        "description": "Tutor was installed without the optimizer extra (`optimizer_unavailable`).",
    },
    422: {
        "model": ErrorResponse,
        "description": "Too few reviews to fit (`not_enough_reviews`; details say how many "
        "there are and how many it needs).",
    },
}


@router.post(
    "/v1/me/fsrs/optimize",
    status_code=status.HTTP_202_ACCEPTED,
    responses=_OPTIMIZE_ERRORS,
)
async def optimize_fsrs(
    learner: CurrentLearner, db: SessionDep, clock: ClockDep, request: Request
) -> FsrsOptimizationOut:
    """Fit FSRS's parameters to your reviews, in the background: follow it at GET. The
    fitted parameters are used only if they predict your history better."""
    job, histories = await optimizing.start(db, learner=learner, now=clock.now())
    work = optimizing.run(
        request.app.state.database.sessionmaker,
        job_id=job.id,
        histories=histories,
        clock=request.app.state.clock.now,
    )
    request.app.state.background.spawn(work, name=f"fsrs-fit-{job.id}")
    return FsrsOptimizationOut.model_validate(job)


@router.get(
    "/v1/me/fsrs/optimize",
    responses={404: {"model": ErrorResponse, "description": "Never fitted (`no_optimization`)."}},
)
async def latest_fsrs_fit(
    learner: CurrentLearner, db: SessionDep, clock: ClockDep
) -> FsrsOptimizationOut:
    """The latest fit of FSRS to your reviews: running, done or failed, and what came of it."""
    job = await optimizing.latest(db, learner=learner, now=clock.now())
    return FsrsOptimizationOut.model_validate(job)
