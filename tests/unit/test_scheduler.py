"""The scheduler process's pieces: fixed job ids, catch-up at start, finishing running jobs."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from service.metrics.jobs import SchedulerMetrics
from service.worker.jobs import JOBS, JobContext, JobSpec
from service.worker.main import RunningJobs, register


def test_jobs_have_fixed_unique_ids() -> None:
    ids = [spec.id for spec in JOBS]
    assert ids == ["study_log", "auto_distill", "reminder"]
    assert len(set(ids)) == len(ids)


async def test_registering_twice_replaces_and_runs_at_start() -> None:
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start(paused=True)
    context = JobContext(settings=None, database=None, llm=None, clock=None)  # type: ignore[arg-type]
    register(scheduler, context, RunningJobs(SchedulerMetrics()))
    register(scheduler, context, RunningJobs(SchedulerMetrics()))
    jobs = scheduler.get_jobs()
    scheduler.shutdown(wait=False)
    assert sorted(job.id for job in jobs) == sorted(spec.id for spec in JOBS)
    assert all(job.next_run_time is not None for job in jobs)  # due at once: catch-up


async def test_a_running_job_is_waited_for_not_cancelled() -> None:
    finished: list[str] = []

    async def slow(_context: JobContext) -> int:
        await asyncio.sleep(0.2)
        finished.append("done")
        return 0

    running = RunningJobs(SchedulerMetrics())
    spec = JobSpec("slow", slow, timedelta(minutes=1))
    task = asyncio.create_task(running.wrap(spec)(None))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    assert not finished
    await running.wait()
    assert finished == ["done"]
    assert task.done()


async def test_each_run_is_counted_with_its_failures() -> None:
    async def two_learners_failed(_context: JobContext) -> int:
        return 2

    async def broken(_context: JobContext) -> int:
        raise RuntimeError("the database is gone")

    metrics = SchedulerMetrics(job_ids=("fine", "broken", "idle"))
    running = RunningJobs(metrics)
    every = timedelta(minutes=1)
    await running.wrap(JobSpec("fine", two_learners_failed, every))(None)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        await running.wrap(JobSpec("broken", broken, every))(None)  # type: ignore[arg-type]

    def value(name: str, job: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"job": job})

    assert value("tutor_job_runs_total", "fine") == 1
    assert value("tutor_job_failures_total", "fine") == 0
    assert value("tutor_job_learner_failures_total", "fine") == 2
    assert value("tutor_job_duration_seconds_count", "fine") == 1
    assert value("tutor_job_last_success_timestamp_seconds", "fine")
    assert value("tutor_job_runs_total", "broken") == 1
    assert value("tutor_job_failures_total", "broken") == 1
    assert value("tutor_job_last_success_timestamp_seconds", "broken") is None
    # A job that has not run yet is there, at zero.
    assert value("tutor_job_runs_total", "idle") == 0
    assert value("tutor_job_failures_total", "idle") == 0


@pytest.mark.parametrize("spec", JOBS, ids=[spec.id for spec in JOBS])
def test_every_job_runs_at_least_every_quarter_hour(spec) -> None:
    assert spec.every.total_seconds() <= 15 * 60
