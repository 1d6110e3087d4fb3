"""The `tutor scheduler` process: one AsyncIOScheduler, stopped cleanly by SIGTERM.

It runs apart from the API so that scaling the API never runs a job twice. There is no
shared job store: the schedule is fixed in code and registered at every start, and what
must happen once per period is guarded by claims in the database, not by the scheduler.
It serves its own /metrics (job runs, the model calls of its jobs) on a port of its own.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
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
from service.metrics.calls import CallMetrics
from service.metrics.exporter import MetricsServer
from service.metrics.jobs import SchedulerMetrics
from service.worker.jobs import JOBS, JobContext, JobSpec

log = logging.getLogger("tutor.scheduler")


class RunningJobs:
    """Tracks job runs so a shutdown can let them finish instead of cancelling them, and
    counts each run in the metrics."""

    def __init__(self, metrics: SchedulerMetrics) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._metrics = metrics

    def wrap(self, spec: JobSpec) -> Callable[[JobContext], Awaitable[None]]:
        async def tracked(context: JobContext) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            started = time.perf_counter()
            learners_failed: int | None = None
            try:
                learners_failed = await spec.run(context)
            finally:
                self._tasks.discard(task)
                self._metrics.job_run(
                    spec.id,
                    seconds=time.perf_counter() - started,
                    failed=learners_failed is None,
                    learners_failed=learners_failed or 0,
                )

        return tracked

    async def wait(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def register(scheduler: AsyncIOScheduler, context: JobContext, running: RunningJobs) -> None:
    now = datetime.now(UTC)
    for spec in JOBS:
        scheduler.add_job(
            running.wrap(spec),
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

    metrics = SchedulerMetrics(job_ids=tuple(spec.id for spec in JOBS))
    server = _serve_metrics(metrics, settings)
    database = Database.from_settings(settings)
    # Each finished call is counted (at no cost), then logged (a write), as in the API.
    llm = OpenAICompatibleModel(
        settings.llm, listeners=[CallMetrics(metrics), CallRecorder(database)]
    )
    running = RunningJobs(metrics)
    scheduler = AsyncIOScheduler(timezone=UTC)
    context = JobContext(
        settings=settings, database=database, llm=llm, clock=SystemClock(), stopping=stop
    )
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
    if server is not None:
        # Last: a scrape while the jobs wound down still found the endpoint.
        await asyncio.to_thread(server.close)
    log.info("scheduler stopped")


def _serve_metrics(metrics: SchedulerMetrics, settings: Settings) -> MetricsServer | None:
    host, port = settings.scheduler_metrics_host, settings.scheduler_metrics_port
    if port is None:
        log.info("metrics: not served (TUTOR_SCHEDULER_METRICS_PORT is 0)")
        return None
    try:
        server = MetricsServer.start(metrics, host=host, port=port)
    except OSError as exc:
        # A scheduler whose metrics silently went missing would look idle to its
        # monitoring; like `tutor serve` on a taken port, it does not start.
        raise SystemExit(
            f"error: TUTOR_SCHEDULER_METRICS_PORT: cannot serve metrics on {host}:{port} "
            f"({exc.strerror or exc}); set another port, or 0 for none"
        ) from None
    log.info("metrics at http://%s:%d/metrics", _url_host(host), server.port)
    return server


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
