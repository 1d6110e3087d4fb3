"""The scheduler process's pieces: fixed job ids, catch-up at start, finishing running jobs."""

from __future__ import annotations

import asyncio
from datetime import UTC

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from service.worker.jobs import JOBS, JobContext
from service.worker.main import RunningJobs, register


def test_jobs_have_fixed_unique_ids() -> None:
    ids = [spec.id for spec in JOBS]
    assert ids == ["study_log", "auto_distill", "reminder"]
    assert len(set(ids)) == len(ids)


async def test_registering_twice_replaces_and_runs_at_start() -> None:
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start(paused=True)
    context = JobContext(settings=None, database=None, llm=None, clock=None)  # type: ignore[arg-type]
    register(scheduler, context, RunningJobs())
    register(scheduler, context, RunningJobs())
    jobs = scheduler.get_jobs()
    scheduler.shutdown(wait=False)
    assert sorted(job.id for job in jobs) == sorted(spec.id for spec in JOBS)
    assert all(job.next_run_time is not None for job in jobs)  # due at once: catch-up


async def test_a_running_job_is_waited_for_not_cancelled() -> None:
    finished: list[str] = []

    async def slow(_context: JobContext) -> None:
        await asyncio.sleep(0.2)
        finished.append("done")

    running = RunningJobs()
    task = asyncio.create_task(running.wrap(slow)(None))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    assert not finished
    await running.wait()
    assert finished == ["done"]
    assert task.done()


@pytest.mark.parametrize("spec", JOBS, ids=[spec.id for spec in JOBS])
def test_every_job_runs_at_least_every_quarter_hour(spec) -> None:
    assert spec.every.total_seconds() <= 15 * 60
