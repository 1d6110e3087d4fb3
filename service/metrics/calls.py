"""Counting each finished model call: the listener the API and `tutor scheduler` give
their model (service/llm/record.py), adapting a call's record to
`ProcessMetrics.model_call`."""

from __future__ import annotations

from service.llm.record import CallRecord
from service.metrics.registry import ProcessMetrics


class CallMetrics:
    def __init__(self, metrics: ProcessMetrics) -> None:
        self._metrics = metrics

    async def __call__(self, record: CallRecord) -> None:
        usage = record.usage
        self._metrics.model_call(
            purpose=record.purpose,
            model=record.model,
            outcome=record.outcome,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            first_token_ms=record.first_token_ms,
            duration_ms=record.duration_ms,
        )
