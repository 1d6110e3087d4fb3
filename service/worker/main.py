"""The `tutor scheduler` process: one AsyncIOScheduler, stopped cleanly by SIGTERM.

It runs apart from the API so that scaling the API never runs a job twice. There is no
shared job store: the schedule is fixed in code and registered at every start, and what
must happen once per period is guarded by claims in the database, not by the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import make_url

from service.calls.recorder import CallRecorder
from service.clock import SystemClock
from service.config import Settings
from service.db import Database
from service.llm.openai_compatible import OpenAICompatibleModel
from service.worker.jobs import JOBS, JobContext

log = logging.getLogger("tutor.scheduler")


class RunningJobs:
    """Tracks job runs so a shutdown can let them finish instead of cancelling them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def wrap(self, job: Callable[[JobContext], Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def tracked(context: JobContext) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await job(context)
            finally:
                self._tasks.discard(task)

        return tracked

    async def wait(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def register(scheduler: AsyncIOScheduler, context: JobContext, running: RunningJobs) -> None:
    now = datetime.now(UTC)
    for spec in JOBS:
        scheduler.add_job(
            running.wrap(spec.run),
            IntervalTrigger(seconds=spec.every.total_seconds()),
            id=spec.id,
            name=spec.id,
            args=[context],
            replace_existing=True,
            # Run once at start: catches up on what was missed while we were down.
            next_run_time=now,
            coalesce=True,
            max_instances=1,
        )


def run(settings: Settings) -> None:
    asyncio.run(_run(settings))


async def _run(settings: Settings) -> None:
    # Handlers first: a SIGTERM that arrives during start-up must still stop us cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    database = Database.from_settings(settings)
    llm = OpenAICompatibleModel(settings.llm, listeners=[CallRecorder(database)])
    running = RunningJobs()
    scheduler = AsyncIOScheduler(timezone=UTC)
    context = JobContext(settings=settings, database=database, llm=llm, clock=SystemClock())
    register(scheduler, context, running)
    scheduler.start()
    jobs = sorted(job.id for job in scheduler.get_jobs())
    log.info("scheduler started with jobs: %s", ", ".join(jobs))
    log.info("database: %s", make_url(settings.database).render_as_string(hide_password=True))

    await stop.wait()
    log.info("stopping: letting running jobs finish")
    scheduler.pause()
    await running.wait()
    scheduler.shutdown(wait=False)
    await llm.close()
    await database.dispose()
    log.info("scheduler stopped")
