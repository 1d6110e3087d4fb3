"""/v1/reviews, /v1/stats and a card's review history."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import Response

from service.cards.schemas import CardOut
from service.cards.service import CardNotFound
from service.clock import ClockDep
from service.db import SessionDep
from service.learners.auth import CurrentLearner
from service.openapi_docs import (
    DATABASE_FAULTS,
    JSON_BODY,
    PARAMETERS,
    Refusal,
    error_responses,
)
from service.reviews import optimizing, scheduling, service
from service.reviews.optimizing import (
    NoOptimization,
    NotEnoughReviewsToFit,
    OptimizationRunning,
    OptimizerNotInstalled,
)
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
from service.reviews.service import (
    IdempotencyKeyReused,
    NotDue,
    NothingToUndo,
    NotReviewable,
    RequestInProgress,
    ReviewInFuture,
)
from service.reviews.stats import StatsOut, learner_stats

router = APIRouter(tags=["reviews"])

_NO_SUCH_CARD = Refusal.of(CardNotFound)
_CANNOT_GRADE = (
    _NO_SUCH_CARD,
    Refusal.of(NotDue, "The card is not due today (graded already, or its day is to come)."),
    Refusal.of(NotReviewable, "The card is not active (a draft, or suspended)."),
    Refusal.of(
        RequestInProgress,
        "A request with the same Idempotency-Key is being handled at this moment; send it again.",
    ),
    Refusal.of(IdempotencyKeyReused),
    Refusal.of(ReviewInFuture, "`reviewed_at` is in the future."),
)


@router.get(
    "/v1/reviews/queue",
    response_model=QueueOut,
    operation_id="listDueCards",
    summary="Today's review queue",
    responses=error_responses(PARAMETERS),
)
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
    operation_id="gradeCard",
    summary="Grade a card",
    responses=error_responses(JSON_BODY, _CANNOT_GRADE),
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


@router.post(
    "/v1/reviews/undo",
    operation_id="undoReview",
    summary="Undo your latest review",
    responses=error_responses(
        Refusal.of(NothingToUndo),
        Refusal.of(CardNotFound, "The reviewed card was deleted at the same moment."),
    ),
)
async def undo(learner: CurrentLearner, db: SessionDep, clock: ClockDep) -> UndoResult:
    """Undo the latest review: the card's schedule is as it was before it."""
    return await service.undo_latest(db, learner=learner, now=clock.now())


# The stats' models are the stats module's own; the example goes with the answer.
_STATS_EXAMPLE = {
    "date": "2025-03-15",
    "today": {"reviewed": 34, "correct": 30, "new_started": 5, "due_remaining": 3},
    "streak_days": 12,
    "retention_30d": 0.884,
    "forecast": [{"date": "2025-03-16", "due": 21}, {"date": "2025-03-17", "due": 9}],
    "heatmap": [{"date": "2025-03-14", "reviews": 41}, {"date": "2025-03-15", "reviews": 34}],
    "cards": {"draft": 7, "active": 212, "suspended": 3},
}


@router.get(
    "/v1/stats",
    operation_id="getStats",
    summary="Your study statistics",
    responses={200: {"content": {"application/json": {"example": _STATS_EXAMPLE}}}},
)
async def stats(learner: CurrentLearner, db: SessionDep, clock: ClockDep) -> StatsOut:
    """Today's reviews, the streak of days studied, recall over 30 days, the cards due
    in the days ahead, reviews a day for the heatmap, and cards by status."""
    return await learner_stats(db, learner=learner, now=clock.now())


@router.get(
    "/v1/cards/{card_id}/reviews",
    operation_id="listCardReviews",
    summary="A card's review history",
    responses=error_responses(PARAMETERS, _NO_SUCH_CARD),
)
async def card_reviews(card_id: uuid.UUID, learner: CurrentLearner, db: SessionDep) -> ReviewList:
    """Every review of the card, oldest first, with its schedule before and after."""
    reviews = await service.card_reviews(db, learner=learner, card_id=card_id)
    return ReviewList(items=[ReviewOut.of(review) for review in reviews])


@router.get("/v1/me/scheduler", operation_id="getScheduler", summary="Your scheduler")
async def get_scheduler(learner: CurrentLearner) -> SchedulerSettings:
    """The scheduler planning the learner's reviews (SM-2 or FSRS) and FSRS's settings."""
    return scheduling.settings_of(learner)


@router.patch(
    "/v1/me/scheduler",
    operation_id="updateScheduler",
    summary="Switch scheduler, or tune FSRS",
    responses=error_responses(JSON_BODY),
)
async def update_scheduler(
    body: SchedulerUpdate, learner: CurrentLearner, db: SessionDep, clock: ClockDep
) -> SchedulerChange:
    """Switch scheduler or change the desired retention. Nothing is lost: every card's
    schedule is derived again from its review log, which stays as it was."""
    return await scheduling.change_settings(
        db, learner=learner, changes=body.changes(), now=clock.now()
    )


@router.get(
    "/v1/stats/scheduler",
    operation_id="compareSchedulers",
    summary="How well SM-2 and FSRS predict your recall",
)
async def scheduler_scores(learner: CurrentLearner, db: SessionDep) -> SchedulerStatsOut:
    """Your own history as the judge: how well SM-2 and FSRS (default parameters, and
    fitted ones once fitted) predicted what you recalled, review by review."""
    return await scheduler_stats(db, learner=learner)


@router.post(
    "/v1/me/fsrs/optimize",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="fitFsrs",
    summary="Fit FSRS to your reviews",
    responses=error_responses(
        Refusal.of(OptimizationRunning, "A fit is running already."),
        Refusal.of(
            NotEnoughReviewsToFit,
            "Too few reviews to fit; `error.details` says how many there are (`have`) and "
            "how many it needs (`need`).",
        ),
        Refusal.of(OptimizerNotInstalled, "Tutor was installed without the optimizer extra."),
        DATABASE_FAULTS,
    ),
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
    operation_id="getFsrsFit",
    summary="The latest fit of FSRS",
    responses=error_responses(Refusal.of(NoOptimization)),
)
async def latest_fsrs_fit(
    learner: CurrentLearner, db: SessionDep, clock: ClockDep
) -> FsrsOptimizationOut:
    """The latest fit of FSRS to your reviews: running, done or failed, and what came of it."""
    job = await optimizing.latest(db, learner=learner, now=clock.now())
    return FsrsOptimizationOut.model_validate(job)
