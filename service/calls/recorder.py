"""Writing each finished model call to `llm_calls`: the listener the API and the
background jobs give their model (service/llm/record.py)."""

from __future__ import annotations

from sqlalchemy import insert

from service.calls.models import LLMCall
from service.db import Database, table_of
from service.dbfaults import retried
from service.llm.record import CallRecord

# A Core insert: the ORM's flush cost more than the rest of logging a call.
_INSERT_CALL = insert(table_of(LLMCall))


class CallRecorder:
    """Logs every call in its own transaction, so a call is logged even when the
    request's own work is rolled back."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def __call__(self, record: CallRecord) -> None:
        usage = record.usage
        row = {
            "learner_id": record.learner_id,
            "purpose": record.purpose,
            "prompt_name": record.prompt_name,
            "prompt_version": record.prompt_version,
            "prompt_versions": record.prompt_versions,
            "model": record.model,
            "prompt_tokens": usage.prompt_tokens if usage else None,
            "completion_tokens": usage.completion_tokens if usage else None,
            "usage_estimated": usage.estimated if usage else False,
            "time_to_first_token_ms": record.first_token_ms,
            "duration_ms": record.duration_ms,
            "outcome": record.outcome,
            "error": record.error,
        }
        engine = self._database.engine

        async def insert_row() -> None:
            async with engine.begin() as connection:
                await connection.execute(_INSERT_CALL, row)

        # The daily quota counts these rows: a passing fault must not lose one. What still
        # fails is logged by the model's notify(), and the learner keeps their answer.
        await retried(insert_row, what="logging a model call")
