"""The `tutor scheduler` process: one AsyncIOScheduler, stopped cleanly by SIGTERM.

It runs apart from the API so that scaling the API never runs a job twice.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import make_url

from service.config import Settings

log = logging.getLogger("tutor.scheduler")


def run(settings: Settings) -> None:
    asyncio.run(_run(settings))


async def _run(settings: Settings) -> None:
    # Handlers first: a SIGTERM that arrives during start-up must still stop us cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start()
    jobs = scheduler.get_jobs()
    if jobs:
        log.info("scheduler started with jobs: %s", ", ".join(job.id for job in jobs))
    else:
        log.info("scheduler started; no jobs are registered yet")
    log.info("database: %s", make_url(settings.database).render_as_string(hide_password=True))

    await stop.wait()
    log.info("stopping: letting running jobs finish")
    scheduler.shutdown(wait=True)
    log.info("scheduler stopped")
