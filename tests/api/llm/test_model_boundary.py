"""The model boundary: every call is told to the listeners exactly once, however it ends,
and a listener that fails never costs the learner their answer.

Each test runs against the real OpenAI-compatible model, over tests/fakellm (the
transport is what produces each ending: a cut connection, a 500, a client's close), and
against the in-process fake of tests/fakemodel.py, which other tests stand in for the
model: the two must behave alike.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from pydantic import BaseModel

import prompts
from fakellm import CutStream, Failure, FakeLLM, Reply
from fakemodel import BreakOff, Fails, FakeModel, Heard, Text
from service.config import LLMSettings
from service.llm.errors import LLMError, LLMInterrupted
from service.llm.model import AnswerStream, Call, Model
from service.llm.openai_compatible import OpenAICompatibleModel
from service.llm.record import CallListener, CallRecord
from service.llm.tokens import ChatMessage

MODEL = "tutor-test-model"
ANSWER = "Attention is a weighted average of the values."
CALL = Call(
    learner_id=uuid.uuid4(),
    purpose="explain",
    prompt=prompts.load("tutor"),
    messages=[ChatMessage.of("system", "You tutor."), ChatMessage.of("user", "What is it?")],
    also_used=(prompts.load("turn"),),
)
# Each ending as the HTTP fake scripts it for the real model, and as the in-process fake.
OK = (Reply(ANSWER), Text(ANSWER))
TRUNCATED = (Reply(ANSWER, finish_reason="length"), Text(ANSWER, truncated=True))
SERVER_ERROR = "The model endpoint answered 500: fakellm: scripted failure"
FAILS_BEFORE_FIRST_TOKEN = (Failure(500), Fails(LLMError(SERVER_ERROR)))
BREAKS_OFF = (CutStream(ANSWER, after_chunks=2), BreakOff(ANSWER, after_pieces=2))
SLOW = (Reply(ANSWER, delay_between_chunks=0.2), Text(ANSWER, pause=0.2))

Scripts = Sequence[tuple[Any, Any]]
Build = Callable[[Scripts, Sequence[CallListener]], Model]


@pytest.fixture(params=["openai_compatible", "fake"])
async def build(request: pytest.FixtureRequest) -> AsyncIterator[Build]:
    """Builds the model under test with its script and its listeners."""
    built: list[OpenAICompatibleModel] = []

    def real(scripts: Scripts, listeners: Sequence[CallListener]) -> Model:
        fake_llm: FakeLLM = request.getfixturevalue("fake_llm")
        fake_llm.script(*(over_http for over_http, _ in scripts))
        settings = LLMSettings(base_url=fake_llm.base_url, model=MODEL, max_retries=0)
        model = OpenAICompatibleModel(settings, listeners=listeners)
        built.append(model)
        return model

    def fake(scripts: Scripts, listeners: Sequence[CallListener]) -> Model:
        return FakeModel(
            *(in_process for _, in_process in scripts), listeners=listeners, model=MODEL
        )

    yield real if request.param == "openai_compatible" else fake
    for model in built:
        await model.close()


async def _read(stream: AnswerStream) -> str:
    return "".join([piece async for piece in stream])


def _about_the_call(record: CallRecord) -> None:
    assert (record.learner_id, record.purpose, record.model) == (CALL.learner_id, "explain", MODEL)
    tutor = prompts.load("tutor")
    assert (record.prompt_name, record.prompt_version) == ("tutor", tutor.version)
    assert record.prompt_versions == prompts.versions((tutor, prompts.load("turn")))
    assert record.duration_ms >= 0


async def test_an_answer_in_full_is_told_once_as_ok(build: Build) -> None:
    heard = Heard()
    model = build([OK], [heard])
    stream = await model.stream(CALL)
    assert await _read(stream) == ANSWER
    await stream.close()  # what a handler does as it leaves: the call has already ended
    [record] = heard
    _about_the_call(record)
    assert (record.outcome, record.error) == ("ok", None)
    assert record.first_token_ms is not None
    assert record.usage is not None
    assert record.usage.completion_tokens > 0


async def test_an_answer_cut_at_its_token_limit_is_told_once_as_truncated(build: Build) -> None:
    heard = Heard()
    model = build([TRUNCATED], [heard])
    completion = await model.complete(CALL)
    assert (completion.text, completion.truncated) == (ANSWER, True)
    assert heard.outcomes == ["truncated"]


async def test_a_failure_before_the_first_token_is_told_once_without_usage(build: Build) -> None:
    heard = Heard()
    model = build([FAILS_BEFORE_FIRST_TOKEN], [heard])
    with pytest.raises(LLMError) as caught:
        await model.stream(CALL)
    assert caught.value.message == SERVER_ERROR
    [record] = heard
    _about_the_call(record)
    assert (record.outcome, record.error) == ("error", SERVER_ERROR)
    assert (record.usage, record.first_token_ms) == (None, None)


async def test_a_stream_that_breaks_off_is_told_once_as_interrupted(build: Build) -> None:
    heard = Heard()
    model = build([BREAKS_OFF], [heard])
    stream = await model.stream(CALL)
    with pytest.raises(LLMInterrupted):
        await _read(stream)
    assert stream.text == ANSWER[:8]  # two pieces of four characters: kept
    await stream.close()
    [record] = heard
    assert record.outcome == "interrupted"
    assert record.error is not None
    assert record.error.startswith("The answer stream broke off")
    assert record.first_token_ms is not None
    assert record.usage is not None


async def test_a_stream_the_client_closes_is_told_once_as_interrupted(build: Build) -> None:
    heard = Heard()
    model = build([SLOW], [heard])
    stream = await model.stream(CALL)
    pieces = aiter(stream)
    first = await anext(pieces)
    await stream.close()
    await stream.close()  # twice, as a handler and its cleanup may
    assert stream.text == first
    [record] = heard
    assert (record.outcome, record.error) == (
        "interrupted",
        "closed before the answer was complete",
    )
    await pieces.aclose()
    assert len(heard) == 1


class Verdict(BaseModel):
    verdict: str


async def test_a_structured_answer_repaired_once_is_told_for_each_round(build: Build) -> None:
    heard = Heard()
    good = json.dumps({"verdict": "shaky"})
    model = build([(Reply("not JSON"), Text("not JSON")), (Reply(good), Text(good))], [heard])
    assert (await model.structured(CALL, Verdict)).value == Verdict(verdict="shaky")
    assert heard.outcomes == ["ok", "ok"]


async def test_a_listener_that_fails_costs_no_answer(
    build: Build, caplog: pytest.LogCaptureFixture
) -> None:
    """Logged by the name of its exception only (its text could quote a statement), and
    the listeners after it still hear of the call."""

    async def broken(record: CallRecord) -> None:
        raise RuntimeError("INSERT INTO llm_calls VALUES ('the learner's words')")

    heard = Heard()
    model = build([OK, FAILS_BEFORE_FIRST_TOKEN], [broken, heard])
    with caplog.at_level(logging.ERROR, logger="service.llm.record"):
        assert (await model.complete(CALL)).text == ANSWER
        with pytest.raises(LLMError) as caught:
            await model.complete(CALL)
    assert caught.value.message == SERVER_ERROR  # the model's failure, not the listener's
    assert heard.outcomes == ["ok", "error"]
    logged = [r.getMessage() for r in caplog.records if r.name == "service.llm.record"]
    assert logged == ["could not record an LLM call: RuntimeError"] * 2
    assert "learner's words" not in caplog.text


async def test_a_listener_hears_before_the_answer_is_returned(build: Build) -> None:
    """Told inline, as the call ends: the daily quota, counted from the call log, has
    seen a call by the time the learner's next request can arrive."""
    told = asyncio.Event()

    async def listener(record: CallRecord) -> None:
        told.set()

    model = build([OK], [listener])
    await model.complete(CALL)
    assert told.is_set()
