"""The listeners the app gives its model: the call log (`llm_calls`) and the metrics,
fed by the in-process model of tests/fakemodel.py (what each ending looks like on the
wire is tests/api/llm/test_model_boundary.py's concern)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import prompts
from fakemodel import BreakOff, Fails, FakeModel, Text
from service.calls.models import LLMCall
from service.calls.recorder import CallRecorder
from service.db import Database
from service.learners.service import IssuedKey
from service.llm.errors import LLMInterrupted, LLMTimeout
from service.llm.model import Call, Usage
from service.llm.tokens import ChatMessage
from service.metrics.calls import CallMetrics
from service.metrics.registry import Metrics

TIMED_OUT = "The model did not start answering within 60 seconds (TUTOR_LLM_TIMEOUT)."


def _call(learner_id: uuid.UUID) -> Call:
    return Call(
        learner_id=learner_id,
        purpose="explain",
        prompt=prompts.load("tutor"),
        messages=[ChatMessage.of("system", "You tutor."), ChatMessage.of("user", "Why?")],
        also_used=(prompts.load("turn"), prompts.load("level-eli5")),
    )


async def _four_endings(model: FakeModel, call: Call) -> None:
    await model.complete(call)
    await model.complete(call)
    with pytest.raises(LLMTimeout):
        await model.complete(call)
    with pytest.raises(LLMInterrupted):
        await model.complete(call)


async def test_the_call_log_has_one_row_per_call_however_it_ends(
    app: FastAPI, learner: IssuedKey, session: AsyncSession
) -> None:
    model = FakeModel(
        Text("A whole answer.", usage=Usage(120, 30, estimated=True)),
        Text("Cut at its limit", truncated=True),
        Fails(LLMTimeout(TIMED_OUT)),
        BreakOff("Broken off here", after_pieces=1),
        listeners=[CallRecorder(app.state.database)],
    )
    await _four_endings(model, _call(learner.learner.id))

    rows = {row.outcome: row for row in await session.scalars(select(LLMCall))}
    assert sorted(rows) == ["interrupted", "ok", "timeout", "truncated"]
    versions = prompts.versions([prompts.load(n) for n in ("tutor", "turn", "level-eli5")])
    for row in rows.values():
        assert (row.learner_id, row.purpose) == (learner.learner.id, "explain")
        assert row.model == "fake-model"
        assert (row.prompt_name, row.prompt_version) == ("tutor", prompts.load("tutor").version)
        assert row.prompt_versions == versions
        assert row.duration_ms >= 0
    ok = rows["ok"]
    assert (ok.prompt_tokens, ok.completion_tokens, ok.usage_estimated) == (120, 30, True)
    assert ok.time_to_first_token_ms is not None
    assert ok.error is None
    timeout = rows["timeout"]
    assert (timeout.prompt_tokens, timeout.completion_tokens) == (None, None)
    assert (timeout.usage_estimated, timeout.time_to_first_token_ms) == (False, None)
    assert timeout.error == TIMED_OUT
    assert (rows["interrupted"].error or "").startswith("The answer stream broke off")
    assert rows["interrupted"].completion_tokens == 1  # "Brok": the text it had


async def test_a_call_log_that_cannot_be_written_costs_no_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database without the table: the insert fails at once (not a passing fault)."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'no-tables.db'}")
    model = FakeModel(Text("Still answered."), listeners=[CallRecorder(database)])
    try:
        with caplog.at_level(logging.ERROR, logger="service.llm.record"):
            completion = await model.complete(_call(uuid.uuid4()))
    finally:
        await database.dispose()
    assert completion.text == "Still answered."
    assert [r.getMessage() for r in caplog.records if r.name == "service.llm.record"] == [
        "could not record an LLM call: OperationalError"
    ]


async def test_the_metrics_count_each_call_by_its_ending() -> None:
    metrics = Metrics()
    model = FakeModel(
        Text("A whole answer.", usage=Usage(120, 30, estimated=False)),
        Text("Cut at its limit", truncated=True, usage=Usage(100, 4, estimated=False)),
        Fails(LLMTimeout(TIMED_OUT)),
        BreakOff("Broken off here", after_pieces=1),
        listeners=[CallMetrics(metrics)],
    )
    await _four_endings(model, _call(uuid.uuid4()))

    def value(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(
            name, {"purpose": "explain", "model": "fake-model", **labels}
        )

    for outcome in ("ok", "truncated", "timeout", "interrupted"):
        assert value("tutor_model_calls_total", outcome=outcome) == 1
    # 120 + 100, and the interrupted call's prompt (3 words); nothing for the timeout.
    assert value("tutor_model_tokens_total", kind="prompt") == 223
    assert value("tutor_model_tokens_total", kind="completion") == 35
    # A first token for the three that began; a duration for all four.
    assert value("tutor_model_time_to_first_token_seconds_count") == 3
    assert value("tutor_model_call_duration_seconds_count") == 4
