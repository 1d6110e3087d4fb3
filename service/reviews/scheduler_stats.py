"""Your own history as the judge: SM-2 and FSRS replayed on the learner's review log.

Each scheduler predicts, before every review that tests memory, how likely recall is;
the review's outcome scores the prediction (scheduler/recall.py says how, and which
reviews count). FSRS is scored with the package's default parameters and, once fitted
(optimizing.py), with the learner's own, which are scored on the history they were
fitted to: that shows the fit took hold, not how it will do on reviews to come.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.fitting import OPTIMIZER_MINI_BATCH, optimizer_review_count
from scheduler.history import CardHistory
from scheduler.recall import Metrics, evaluate_fsrs, evaluate_sm2
from service.learners.models import Learner
from service.reviews.rederive import learner_histories
from service.reviews.schemas import SchedulerScore, SchedulerStatsOut

_LABELS = {
    "sm2": "SM-2",
    "fsrs_default": "FSRS, default parameters",
    "fsrs_fitted": "FSRS, fitted to your reviews",
}


def _score(name: str, metrics: Metrics) -> SchedulerScore:
    return SchedulerScore(
        scheduler=name,
        label=_LABELS[name],
        reviews=metrics.reviews,
        log_loss=metrics.log_loss,
        rmse_bins=metrics.rmse_bins,
        mean_predicted=metrics.mean_predicted,
        mean_recalled=metrics.mean_recalled,
    )


def _scores(histories: list[CardHistory], fitted: list[float] | None) -> list[SchedulerScore]:
    scores = [
        _score("sm2", evaluate_sm2(histories)),
        _score("fsrs_default", evaluate_fsrs(histories)),
    ]
    if fitted is not None:
        scores.append(_score("fsrs_fitted", evaluate_fsrs(histories, fitted)))
    return scores


async def scheduler_stats(db: AsyncSession, *, learner: Learner) -> SchedulerStatsOut:
    histories = await learner_histories(db, learner_id=learner.id)
    await db.rollback()  # no transaction held while the replays run
    # Replaying every review through both schedulers is CPU work: off the event loop.
    scores = await asyncio.to_thread(_scores, histories, learner.fsrs_parameters)
    ranked = [score for score in scores if score.log_loss is not None]
    best = min(ranked, key=lambda score: score.log_loss or 0.0).scheduler if ranked else None
    return SchedulerStatsOut(
        in_use=learner.scheduler,
        cards=len(histories),
        reviews=sum(len(history.reviews) for history in histories),
        scores=scores,
        best=best,
        fit_needs=OPTIMIZER_MINI_BATCH,
        fit_has=optimizer_review_count(histories),
    )
