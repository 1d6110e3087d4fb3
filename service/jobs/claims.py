"""Claiming a job run exactly once per (job, learner, period)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.jobs.models import JobRun


async def claim(
    db: AsyncSession, *, job: str, learner_id: uuid.UUID, period: str, now: datetime
) -> JobRun | None:
    """The new run, committed; None when another process has claimed it already."""
    run = JobRun(job=job, learner_id=learner_id, period=period, created_at=now)
    try:
        # A savepoint: losing the race must not expire everything else the session holds.
        async with db.begin_nested():
            db.add(run)
    except IntegrityError:
        # End the transaction the failed insert opened: on SQLite it still holds the write
        # lock, and every other connection (the LLM call log, say) would wait on it.
        await db.commit()
        return None
    await db.commit()
    return run


async def finish(
    db: AsyncSession, run: JobRun, *, outcome: str, now: datetime, detail: str | None = None
) -> None:
    run.outcome = outcome
    run.detail = detail
    run.finished_at = now
    await db.commit()
