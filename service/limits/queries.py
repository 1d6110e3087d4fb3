"""Every statement the limits domain runs: the tokens a learner's calls have spent."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.calls.models import LLMCall

# Every call to the model checks it first, so the statement is built once.
_SPENT = func.coalesce(LLMCall.prompt_tokens, 0) + func.coalesce(LLMCall.completion_tokens, 0)
_TOKENS_USED = select(func.coalesce(func.sum(_SPENT), 0)).where(
    LLMCall.learner_id == bindparam("learner_id"), LLMCall.created_at >= bindparam("since")
)


async def tokens_used(db: AsyncSession, *, learner_id: uuid.UUID, since: datetime) -> int:
    connection = await db.connection()
    total = await connection.scalar(_TOKENS_USED, {"learner_id": learner_id, "since": since})
    return int(total or 0)
