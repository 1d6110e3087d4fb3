"""The daily token quota, counted from the call log (`llm_calls`).

"Daily" is the learner's day, the one reviews and the study log use: local time in
their timezone, starting at `day_starts_at_hour`. Every recorded call of the learner
counts, background jobs included, because they all spend the same model; the
scheduler's auto-distillation waits for the next day once the quota is used. The check
comes before a call, so the call that crosses the quota still finishes; the next is
refused. A call in flight is not in the log yet and does not count until it ends.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.learners.days import day_bounds, learner_day
from service.learners.models import Learner
from service.limits.errors import QuotaExceeded
from service.limits.queries import tokens_used


async def check_quota(db: AsyncSession, *, learner: Learner, now: datetime, quota: int) -> None:
    """Raise QuotaExceeded when the learner's calls today have used `quota` tokens."""
    start, end = day_bounds(learner, learner_day(learner, now))
    used = await tokens_used(db, learner_id=learner.id, since=start)
    if used >= quota:
        raise QuotaExceeded(used=used, quota=quota, resets_at=end, now=now)


async def over_quota(db: AsyncSession, *, learner: Learner, now: datetime, quota: int) -> bool:
    try:
        await check_quota(db, learner=learner, now=now, quota=quota)
    except QuotaExceeded:
        return True
    return False
