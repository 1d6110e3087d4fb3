"""The background jobs: thin wrappers that open a session and call the service layer.

Each job looks at every learner and does what is due for them; the service functions
claim each (job, learner, period) in the database before working, so running a job
again, or in two schedulers at once, never does anything twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.cards import autodistill
from service.clock import Clock
from service.config import Settings
from service.db import Database
from service.learners.models import Learner
from service.learners.queries import learner_ids
from service.limits.quota import over_quota
from service.llm.model import Model
from service.reminders import service as reminders
from service.studylog import service as studylog

log = logging.getLogger("tutor.scheduler")


@dataclass(frozen=True)
class JobContext:
    settings: Settings
    database: Database
    llm: Model
    clock: Clock
    # Set on SIGTERM: a run ends after the learner in hand, so a stop waits for one
    # learner's work (one model call at most), never for every learner still to come.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)


PerLearner = Callable[[AsyncSession, JobContext, Learner], Awaitable[None]]


async def for_each_learner(context: JobContext, work: PerLearner, name: str) -> int:
    """One learner's failure is logged and the others still get their turn; returns how
    many learners it failed for (the metrics count them)."""
    failed = 0
    async with context.database.sessionmaker() as db:
        ids = await learner_ids(db)
    for done, learner_id in enumerate(ids):
        if context.stopping.is_set():
            # Nothing was claimed for the rest: the next run, after the restart, does it.
            log.info("job %s stops: %d learners left for its next run", name, len(ids) - done)
            break
        async with context.database.sessionmaker() as db:
            learner = await db.get(Learner, learner_id)
            if learner is None:
                continue
            try:
                await work(db, context, learner)
            except Exception:
                failed += 1
                log.exception("job %s failed for learner %s", name, learner.name)
    return failed


async def _study_log(db: AsyncSession, context: JobContext, learner: Learner) -> None:
    await studylog.run_for_learner(db, llm=context.llm, learner=learner, now=context.clock.now())


async def study_log_job(context: JobContext) -> int:
    return await for_each_learner(context, _study_log, "study_log")


async def _auto_distill(db: AsyncSession, context: JobContext, learner: Learner) -> None:
    now = context.clock.now()
    quota = context.settings.daily_token_quota
    if quota and await over_quota(db, learner=learner, now=now, quota=quota):
        # Drafts nobody asked for must not spend what is left of the learner's day;
        # nothing is claimed, so the sessions are distilled after the quota resets.
        log.info("auto-distillation for %s waits: today's token quota is used", learner.name)
        return
    await autodistill.run_for_learner(
        db,
        llm=context.llm,
        learner=learner,
        now=now,
        idle=timedelta(hours=context.settings.autodistill_idle_hours),
    )


async def auto_distill_job(context: JobContext) -> int:
    return await for_each_learner(context, _auto_distill, "auto_distill")


async def _reminder(db: AsyncSession, context: JobContext, learner: Learner) -> None:
    await reminders.run_for_learner(
        db,
        learner=learner,
        now=context.clock.now(),
        link=context.settings.reminder_link,
        allow_private=context.settings.allow_private_webhooks,
    )


async def reminder_job(context: JobContext) -> int:
    return await for_each_learner(context, _reminder, "reminder")


@dataclass(frozen=True)
class JobSpec:
    id: str
    # Returns how many learners the run failed for.
    run: Callable[[JobContext], Awaitable[int]]
    every: timedelta


# Fixed ids: registering again at start replaces a job instead of adding a twin.
JOBS = (
    # Days end at each learner's own hour; a quarter-hour check catches every timezone.
    JobSpec("study_log", study_log_job, timedelta(minutes=15)),
    JobSpec("auto_distill", auto_distill_job, timedelta(minutes=10)),
    JobSpec("reminder", reminder_job, timedelta(minutes=5)),
)
