"""The daily token quota, counted from the call log (`llm_calls`).

"Daily" is the learner's day, the one reviews and the study log use: local time in
their timezone, starting at `day_starts_at_hour`. Every recorded call of the learner
counts, background jobs included, because they all spend the same model; the
scheduler's auto-distillation waits for the next day once the quota is used. The check
comes before a call, so the call that crosses the quota still finishes; the next is
refused. A call in flight is not in the log yet and does not count until it ends.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.learners.models import Learner
from service.limits.errors import QuotaExceeded
from service.llm.models import LLMCall
from service.reviews.days import day_bounds, learner_day

# Every call to the model checks it first, so the statement is built once.
_SPENT = func.coalesce(LLMCall.prompt_tokens, 0) + func.coalesce(LLMCall.completion_tokens, 0)
_TOKENS_USED = select(func.coalesce(func.sum(_SPENT), 0)).where(
    LLMCall.learner_id == bindparam("learner_id"), LLMCall.created_at >= bindparam("since")
)


async def tokens_used(db: AsyncSession, *, learner_id: uuid.UUID, since: datetime) -> int:
    connection = await db.connection()
    total = await connection.scalar(_TOKENS_USED, {"learner_id": learner_id, "since": since})
    return int(total or 0)


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
