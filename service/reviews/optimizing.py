"""Fitting FSRS to a learner's own history, as a background job the learner can watch.

POST /v1/me/fsrs/optimize checks there are enough reviews, writes the job's row and
answers at once; the fit runs in a process of its own (fit_worker.py) while a task of
the API's touches the row, so a reader can tell a job at work from one whose process
died (untouched for STALE_AFTER: failed). The fitted parameters are used only if they
predict this learner's history better than the ones in use; when the learner is on
FSRS, every card is then derived again with them (rederive.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import sys
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.fitting import INSTALL_HINT, OPTIMIZER_MINI_BATCH, optimizer_review_count
from scheduler.history import CardHistory
from scheduler.recall import evaluate_fsrs
from service.errors import Conflict, InvalidRequest, NotFound, TutorError
from service.learners.models import Learner
from service.learners.service import lock_learner
from service.reviews import fit_worker
from service.reviews.models import FsrsOptimization
from service.reviews.queries import latest_optimization
from service.reviews.rederive import learner_histories, rederive_all

log = logging.getLogger("tutor.fsrs")

TOUCH_EVERY = timedelta(seconds=5)
STALE_AFTER = timedelta(seconds=60)
# Seconds per review the optimizer learns from, measured on two cores (docs/scheduling.md);
# shown to the learner as an estimate, never used to stop a fit.
SECONDS_PER_REVIEW = 0.008
_WORKER = [sys.executable, "-m", "service.reviews.fit_worker"]


class OptimizerNotInstalled(TutorError):
    status_code = 503
    code = "optimizer_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "Fitting FSRS needs PyTorch, which this Tutor was installed without; "
            f"the operator can add it with {INSTALL_HINT}."
        )


class NotEnoughReviewsToFit(InvalidRequest):
    code = "not_enough_reviews"


class OptimizationRunning(Conflict):
    code = "optimization_running"


class NoOptimization(NotFound):
    code = "no_optimization"

    def __init__(self) -> None:
        super().__init__("FSRS has not been fitted to your reviews yet.")


def is_stale(job: FsrsOptimization, now: datetime) -> bool:
    return job.status == "running" and now - job.touched_at > STALE_AFTER


async def latest(db: AsyncSession, *, learner: Learner, now: datetime) -> FsrsOptimization:
    job = await latest_optimization(db, learner_id=learner.id)
    if job is None:
        raise NoOptimization()
    if is_stale(job, now):
        job.status, job.finished_at = "failed", job.touched_at
        job.message = "The fit stopped without finishing (its process ended); start it again."
        await db.commit()
    return job


async def start(
    db: AsyncSession, *, learner: Learner, now: datetime
) -> tuple[FsrsOptimization, list[CardHistory]]:
    """The job's row, committed, and the histories to fit; refuses when it cannot start."""
    if importlib.util.find_spec("torch") is None:
        raise OptimizerNotInstalled()
    learner = await lock_learner(db, learner.id)
    with contextlib.suppress(NoOptimization):
        running = await latest(db, learner=learner, now=now)
        if running.status == "running":
            raise OptimizationRunning("FSRS is being fitted to your reviews already.")
    histories = await learner_histories(db, learner_id=learner.id)
    have = optimizer_review_count(histories)
    if have < OPTIMIZER_MINI_BATCH:
        raise NotEnoughReviewsToFit(
            f"Fitting FSRS needs {OPTIMIZER_MINI_BATCH} reviews made on a later day than the "
            f"card's previous review; you have {have}. Until then FSRS's defaults serve you.",
            details={"have": have, "need": OPTIMIZER_MINI_BATCH},
        )
    job = FsrsOptimization(
        learner_id=learner.id,
        status="running",
        stage=f"Fitting FSRS to {have} of your reviews",
        reviews=have,
        estimated_seconds=round(have * SECONDS_PER_REVIEW + 5, 1),
        touched_at=now,
        created_at=now,
    )
    db.add(job)
    await db.commit()
    return job, histories


async def run(
    sessions: async_sessionmaker[AsyncSession],
    *,
    job_id: uuid.UUID,
    histories: list[CardHistory],
    clock: Callable[[], datetime],
) -> None:
    """Fit in the worker process, then record the outcome; the row is touched meanwhile."""
    touching = asyncio.create_task(_keep_touching(sessions, job_id, clock))
    try:
        outcome = await _fit_in_worker(histories)
    except asyncio.CancelledError:
        await _finish(sessions, job_id, clock(), message="Stopped: Tutor was shutting down.")
        raise
    except Exception as error:  # the worker's own failure, reported on the job
        log.exception("fitting FSRS failed for job %s", job_id)
        await _finish(sessions, job_id, clock(), message=f"The fit failed: {error}")
        return
    finally:
        touching.cancel()
    if not outcome.get("ok"):
        await _finish(sessions, job_id, clock(), message=str(outcome.get("error")))
        return
    await _record_fit(sessions, job_id, outcome, histories, clock())


async def _fit_in_worker(histories: list[CardHistory]) -> dict[str, object]:
    process = await asyncio.create_subprocess_exec(
        *_WORKER,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await process.communicate(fit_worker.encode(histories))
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise RuntimeError(f"the fitting process exited with {process.returncode}: {tail[0]}")
    result: dict[str, object] = json.loads(stdout)
    return result


async def _keep_touching(
    sessions: async_sessionmaker[AsyncSession], job_id: uuid.UUID, clock: Callable[[], datetime]
) -> None:
    while True:
        await asyncio.sleep(TOUCH_EVERY.total_seconds())
        async with sessions() as db:
            job = await db.get_one(FsrsOptimization, job_id)
            job.touched_at = clock()
            await db.commit()


async def _finish(
    sessions: async_sessionmaker[AsyncSession], job_id: uuid.UUID, now: datetime, *, message: str
) -> None:
    async with sessions() as db:
        job = await db.get_one(FsrsOptimization, job_id)
        job.status, job.stage, job.message = "failed", "Failed", message
        job.finished_at = job.touched_at = now
        await db.commit()


async def _record_fit(
    sessions: async_sessionmaker[AsyncSession],
    job_id: uuid.UUID,
    outcome: dict[str, object],
    histories: list[CardHistory],
    now: datetime,
) -> None:
    parameters = [float(value) for value in outcome["parameters"]]  # type: ignore[attr-defined]
    after = float(outcome["log_loss_after"])  # type: ignore[arg-type]
    async with sessions() as db:
        job = await db.get_one(FsrsOptimization, job_id)
        learner = await db.get_one(Learner, job.learner_id)
        in_use = learner.fsrs_parameters
        await db.rollback()  # no transaction held while the replay below runs
    # Replaying every review is CPU work: off the event loop.
    in_use_loss = (await asyncio.to_thread(evaluate_fsrs, histories, in_use)).log_loss
    applied = in_use_loss is None or after < in_use_loss
    async with sessions() as db:
        job = await db.get_one(FsrsOptimization, job_id)
        learner = await lock_learner(db, job.learner_id)
        if applied:
            learner.fsrs_parameters = parameters
            if learner.scheduler == "fsrs":
                await rederive_all(db, learner=learner, scheduler="fsrs", now=now)
        job.applied = applied
        job.parameters = parameters
        job.log_loss_before = float(outcome["log_loss_before"])  # type: ignore[arg-type]
        job.log_loss_after = after
        job.status = "done"
        job.stage = "Done" if applied else "Done: kept the parameters in use"
        job.message = _verdict(in_use_loss, after, applied=applied)
        job.finished_at = job.touched_at = now
        await db.commit()


def _verdict(in_use: float | None, after: float, *, applied: bool) -> str:
    if applied:
        return f"FSRS now uses parameters fitted to your reviews (log loss {after:.4f})."
    return (
        f"The fitted parameters (log loss {after:.4f}) predict your reviews no better than "
        f"the ones in use ({in_use:.4f}), so those stay."
    )
