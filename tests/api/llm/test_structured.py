"""Structured output against the fake server: tolerant parsing, repair, fallbacks."""

from __future__ import annotations

import json
from typing import Annotated

import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import prompts
from fakellm import Failure, FakeLLM, Reply
from service.calls.models import LLMCall
from service.learners.service import IssuedKey
from service.llm.errors import LLMBadOutput, LLMError
from service.llm.model import Call
from service.llm.openai_compatible import OpenAICompatibleModel
from service.llm.structured import OutputInvalid, extract_json
from service.llm.tokens import ChatMessage


class Verdict(BaseModel):
    verdict: str = Field(pattern="^(solid|shaky|wrong)$")
    score: int = Field(ge=0, le=5)


GOOD = {"verdict": "shaky", "score": 3}


def _call(learner: IssuedKey) -> Call:
    return Call(
        learner_id=learner.learner.id,
        purpose="critique",
        prompt=prompts.load("tutor"),
        messages=[ChatMessage.of("system", "Judge it."), ChatMessage.of("user", "my attempt")],
    )


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(GOOD),
        f"```json\n{json.dumps(GOOD)}\n```",
        f"Here is my verdict:\n```\n{json.dumps(GOOD)}\n```\nHope it helps!",
        f'Sure! {json.dumps(GOOD)} (the "}}" in this note is not JSON)',
        '{"note": "a brace } in a string", "verdict": "shaky", "score": 3}',
    ],
)
def test_extract_json_tolerates_fences_and_prose(text: str) -> None:
    assert {k: v for k, v in extract_json(text).items() if k in GOOD} == GOOD


def test_extract_json_without_json() -> None:
    with pytest.raises(OutputInvalid):
        extract_json("I think it is shaky, maybe a 3.")


async def test_clean_json_with_the_schema_as_response_format(
    app: FastAPI, fake_llm: FakeLLM, learner: IssuedKey
) -> None:
    fake_llm.script(Reply(json.dumps(GOOD)))
    llm: OpenAICompatibleModel = app.state.llm
    assert (await llm.structured(_call(learner), Verdict)).value == Verdict(**GOOD)
    request = fake_llm.last_request.json
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["strict"] is True
    sent = request["response_format"]["json_schema"]["schema"]
    assert sent["properties"]["score"]
    assert sent["required"] == list(sent["properties"])
    assert sent["additionalProperties"] is False
    assert request["messages"][0]["role"] == "system"
    assert "JSON Schema" in request["messages"][0]["content"]
    assert [m["role"] for m in request["messages"]] == ["system", "user"]


async def test_invalid_then_repaired(
    app: FastAPI, fake_llm: FakeLLM, learner: IssuedKey, session: AsyncSession
) -> None:
    fake_llm.script(Reply('{"verdict": "meh", "score": 9}'), Reply(json.dumps(GOOD)))
    assert (await app.state.llm.structured(_call(learner), Verdict)).value == Verdict(**GOOD)
    repair = fake_llm.last_request.json["messages"]
    assert repair[-2] == {"role": "assistant", "content": '{"verdict": "meh", "score": 9}'}
    assert "verdict" in repair[-1]["content"]
    assert "score" in repair[-1]["content"]
    assert len(list(await session.scalars(select(LLMCall)))) == 2


async def test_a_reply_cut_at_the_limit_is_asked_again_not_repaired(
    app: FastAPI, fake_llm: FakeLLM, learner: IssuedKey
) -> None:
    fake_llm.script(
        Reply('{"verdict": "shaky", "sco', finish_reason="length"), Reply(json.dumps(GOOD))
    )
    assert (await app.state.llm.structured(_call(learner), Verdict)).value == Verdict(**GOOD)
    first, second = (r.json["messages"] for r in fake_llm.requests)
    assert second == first  # the cut reply is not sent back


async def test_cut_twice_says_so(app: FastAPI, fake_llm: FakeLLM, learner: IssuedKey) -> None:
    fake_llm.default = Reply('{"verdict": "shaky", "sco', finish_reason="length")
    with pytest.raises(LLMBadOutput) as caught:
        await app.state.llm.structured(_call(learner), Verdict)
    assert "cut at its token limit (1500 tokens)" in caught.value.message
    assert "TUTOR_LLM_MAX_OUTPUT_TOKENS" in caught.value.message


async def test_invalid_twice_is_bad_output(
    app: FastAPI, fake_llm: FakeLLM, learner: IssuedKey
) -> None:
    fake_llm.script(Reply("no idea"), Reply('{"verdict": "wrong"}'))
    with pytest.raises(LLMBadOutput) as caught:
        await app.state.llm.structured(_call(learner), Verdict)
    assert caught.value.status_code == 502
    assert "score" in caught.value.message


async def test_fallback_when_json_schema_is_refused_is_remembered(
    app: FastAPI, fake_llm: FakeLLM, learner: IssuedKey
) -> None:
    fake_llm.reject_response_formats = {"json_schema", "json_object"}
    fake_llm.default = Reply(json.dumps(GOOD))
    llm: OpenAICompatibleModel = app.state.llm
    assert (await llm.structured(_call(learner), Verdict)).value == Verdict(**GOOD)
    formats = [r.json.get("response_format", {}).get("type") for r in fake_llm.requests]
    assert formats == ["json_schema", "json_object", None]  # no lengths to try without

    await llm.structured(_call(learner), Verdict)
    assert "response_format" not in fake_llm.last_request.json
    assert len(fake_llm.requests) == 4


class Remark(BaseModel):
    text: Annotated[str, StringConstraints(max_length=80)]


async def test_a_refused_schema_is_tried_without_string_lengths_once(
    app: FastAPI, fake_llm: FakeLLM, learner: IssuedKey
) -> None:
    """OpenAI-compatible servers in front of OpenAI's strict mode refuse `maxLength`."""
    fake_llm.script(Failure(400, "Invalid schema: 'maxLength' is not permitted."))
    fake_llm.default = Reply('{"text": "fine"}')
    llm: OpenAICompatibleModel = app.state.llm
    assert (await llm.structured(_call(learner), Remark)).value.text == "fine"
    await llm.structured(_call(learner), Remark)
    sent = [json.dumps(r.json["response_format"]) for r in fake_llm.requests]
    assert ['"maxLength": 80' in format for format in sent] == [True, False, False]


@pytest.mark.parametrize("llm_overrides", [{"structured": "json_schema"}])
async def test_a_fixed_mode_does_not_fall_back(
    app: FastAPI, fake_llm: FakeLLM, learner: IssuedKey
) -> None:
    fake_llm.reject_response_formats = {"json_schema"}
    with pytest.raises(LLMError):
        await app.state.llm.structured(_call(learner), Verdict)
    assert len(fake_llm.requests) == 1


async def test_complete(app: FastAPI, fake_llm: FakeLLM, learner: IssuedKey) -> None:
    fake_llm.script(Reply("A plain answer.", finish_reason="length"), Failure(500))
    completion = await app.state.llm.complete(_call(learner))
    assert (completion.text, completion.truncated) == ("A plain answer.", True)
    assert completion.usage.estimated is False
    # Streamed underneath, so a slow model is waited for while it writes.
    assert fake_llm.last_request.json["stream"] is True
    with pytest.raises(LLMError):
        await app.state.llm.complete(_call(learner))
