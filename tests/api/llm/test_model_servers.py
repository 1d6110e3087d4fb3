"""What real model servers do that a friendly fake does not, each against the fake made
to do it: refuse `max_tokens`, have a small context and say so (or refuse the prompt),
rate limit past the timeout, go away, think out loud, copy block markers, end a stream
without saying why."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fakellm import Failure, FakeLLM, Reply
from helpers import ANY_TASK_REPLY, error_of, sse_events
from service.calls.models import LLMCall

PASSAGE = "We compute the dot products of the query with all keys, divide each by sqrt(d_k)."
CRITIQUE = {"concept": "scaled attention", "explanation": "Softmax of QK^T over d_k weighs V."}


async def new_session(api: httpx.AsyncClient) -> str:
    response = await api.post("/v1/sessions", json={})
    assert response.status_code == 201
    session_id: str = response.json()["id"]
    return session_id


async def explain(api: httpx.AsyncClient, session_id: str, **body: Any) -> httpx.Response:
    return await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE, **body})


# --- the token parameter --------------------------------------------------------------


async def test_a_server_that_refuses_max_tokens_gets_max_completion_tokens_from_then_on(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.refuse_max_tokens = True
    fake_llm.default = Reply("An answer.")
    session_id = await new_session(api)

    first = await explain(api, session_id)
    assert first.status_code == 200, first.text
    assert first.json()["message"]["content"] == "An answer."
    sent = [request.json for request in fake_llm.requests]
    assert ["max_tokens" in body for body in sent] == [True, False]
    assert sent[1]["max_completion_tokens"] == sent[0]["max_tokens"]

    # Every later call, of every kind, goes straight to the parameter that works.
    second = await explain(api, session_id)
    assert second.status_code == 200
    fake_llm.default = Reply(ANY_TASK_REPLY)
    critique = await api.post(f"/v1/sessions/{session_id}/critiques", json=CRITIQUE)
    assert critique.status_code == 201, critique.text
    later = [request.json for request in fake_llm.requests[2:]]
    assert len(later) == 2  # no refusal, and no JSON format given up on for it
    assert all("max_completion_tokens" in body and "max_tokens" not in body for body in later)
    assert later[1]["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize("llm_overrides", [{"token_param": "max_tokens"}])
async def test_a_token_parameter_set_by_hand_is_never_switched(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.refuse_max_tokens = True
    session_id = await new_session(api)
    response = await explain(api, session_id)
    assert response.status_code == 502
    assert "max_completion_tokens" in error_of(response)["message"]
    assert len(fake_llm.requests) == 1


async def test_a_model_that_may_not_stream_is_asked_for_whole_answers(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.refuse_streaming = True
    fake_llm.default = Reply("A whole answer.", prompt_tokens=50, completion_tokens=4)
    session_id = await new_session(api)
    streamed = await api.post(
        f"/v1/sessions/{session_id}/explain",
        json={"passage": PASSAGE},
        headers={"Accept": "text/event-stream"},
    )
    events = sse_events(streamed.text)
    assert [name for name, _ in events] == ["delta", "done"]
    assert events[0][1]["text"] == "A whole answer."
    assert events[1][1]["message"]["usage"]["prompt_tokens"] == 50
    again = await explain(api, session_id)
    assert again.json()["message"]["content"] == "A whole answer."
    sent = [request.json.get("stream") for request in fake_llm.requests]
    assert sent == [True, None, None]  # refused once, then never asked again


# --- the context ----------------------------------------------------------------------


async def test_a_llama_cpp_context_from_props_scales_every_budget(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.props = {"default_generation_settings": {"n_ctx": 4096}}
    fake_llm.default = Reply("An answer.")
    session_id = await new_session(api)
    assert (await explain(api, session_id)).status_code == 200
    # 4096 of the server's tokens are about 3413 of ours (1.2 a token until the server
    # reports usage): a fifth of that for the answer.
    assert fake_llm.last_request.json["max_tokens"] == 682

    # The usage reported (the fake counts words) measured fewer server tokens than ours,
    # so the ratio is now 1: two fifths of 4096 for a passage.
    too_long = " ".join(["attention"] * 1700)
    response = await explain(api, session_id, passage=too_long)
    assert response.status_code == 413
    error = error_of(response)
    assert (error["code"], error["details"]["limit"]) == ("passage_too_long", 1638)
    # The server was asked once, not before every call.
    assert [r.path for r in fake_llm.other_requests] == ["/props"]


@pytest.mark.parametrize("llm_overrides", [{"context_tokens": 3000}])
async def test_the_setting_caps_a_larger_server_context(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.model_fields = {"max_model_len": 32768}  # vLLM says it in /v1/models
    fake_llm.model = "tutor-test-model"
    fake_llm.default = Reply("An answer.")
    session_id = await new_session(api)
    assert (await explain(api, session_id)).status_code == 200
    assert fake_llm.last_request.json["max_tokens"] == 600


async def test_an_ollama_context_from_its_parameters(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.ollama_show = {"parameters": "temperature 0.7\nnum_ctx 8192", "model_info": {}}
    fake_llm.default = Reply("An answer.")
    session_id = await new_session(api)
    assert (await explain(api, session_id)).status_code == 200
    assert fake_llm.last_request.json["max_tokens"] == 1365  # a fifth of 8192 / 1.2
    assert "/api/show" in [r.path for r in fake_llm.other_requests]


async def test_a_prompt_the_server_cannot_fit_is_413_and_the_next_is_budgeted(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session: AsyncSession
) -> None:
    # The server says nothing of its context until it refuses a prompt (the fake counts
    # words as tokens): 16000 assumed, 2000 real.
    fake_llm.context_tokens = 2000
    session_id = await new_session(api)
    long_passage = " ".join(["attention"] * 2500)
    response = await explain(api, session_id, passage=long_passage)
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "context_too_long"
    assert "2000 tokens" in error["message"]
    assert "TUTOR_LLM_CONTEXT_TOKENS" in error["message"]
    assert error["details"]["message_id"]
    # One request: a refused context is neither a refused JSON format nor worth a retry.
    assert len(fake_llm.requests) == 1
    messages = (await api.get(f"/v1/sessions/{session_id}")).json()["messages"]
    assert [(m["kind"], m["status"]) for m in messages] == [
        ("passage", "complete"),
        ("explanation", "failed"),
    ]
    assert list(await session.scalars(select(LLMCall.outcome))) == ["context_too_long"]

    # What the refusal said is remembered: the next passage is measured against it...
    response = await explain(api, session_id, passage=long_passage)
    assert response.status_code == 413
    assert error_of(response)["code"] == "passage_too_long"
    assert len(fake_llm.requests) == 1
    # ...and one that fits is answered within it.
    fake_llm.default = Reply("An answer.")
    response = await explain(api, session_id)
    assert response.status_code == 200, response.text
    assert fake_llm.last_request.json["max_tokens"] == 333  # a fifth of 2000 / 1.2


async def test_a_refused_context_is_not_a_refused_json_format(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.context_tokens = 50
    session_id = await new_session(api)
    response = await api.post(f"/v1/sessions/{session_id}/critiques", json=CRITIQUE)
    assert response.status_code == 413
    assert error_of(response)["code"] == "context_too_long"
    assert len(fake_llm.requests) == 1  # not sent again in json_object and prompt forms


# --- structured output ------------------------------------------------------------------


def _all_required(schema: Any) -> bool:
    """Every object in the schema lists all its properties as required, and no others."""
    if isinstance(schema, list):
        return all(_all_required(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    if "properties" in schema and (
        schema.get("required") != list(schema["properties"])
        or schema.get("additionalProperties") is not False
    ):
        return False
    return all(_all_required(value) for value in schema.values())


async def test_every_schema_sent_requires_every_property(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    """Grammar-constrained servers fill only required fields: a card's back left
    optional was never written by llama.cpp."""
    fake_llm.default = Reply(ANY_TASK_REPLY)
    session_id = await new_session(api)
    await explain(api, session_id)
    assert (await api.post(f"/v1/sessions/{session_id}/critiques", json=CRITIQUE)).is_success
    assert (await api.post(f"/v1/sessions/{session_id}/distill", json={})).is_success
    schemas = [
        r.json["response_format"]["json_schema"]["schema"]
        for r in fake_llm.requests
        if "response_format" in r.json
    ]
    assert len(schemas) == 2
    assert all(_all_required(schema) for schema in schemas)
    card = schemas[1]["$defs"]["DraftCard"]
    assert {"front", "back", "kind", "tags"} <= set(card["required"])
    # Held to lengths and counts as it writes, a small model cannot ramble to its limit.
    assert card["properties"]["back"]["maxLength"] == 400
    assert schemas[1]["properties"]["cards"]["maxItems"] == 10  # the default max_cards
    assert schemas[0]["$defs"]["IssueDraft"]["properties"]["hint"]["maxLength"] == 600


@pytest.mark.parametrize("llm_overrides", [{"model_critique": "small-critic"}])
async def test_a_json_format_fallback_belongs_to_one_model(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.reject_response_formats = {"json_schema"}
    fake_llm.default = Reply(ANY_TASK_REPLY)
    session_id = await new_session(api)
    assert (await api.post(f"/v1/sessions/{session_id}/critiques", json=CRITIQUE)).is_success
    await explain(api, session_id)
    fake_llm.reject_response_formats = set()
    assert (await api.post(f"/v1/sessions/{session_id}/distill", json={})).is_success
    formats = [
        (r.json["model"], r.json["response_format"]["type"])
        for r in fake_llm.requests
        if "response_format" in r.json
    ]
    # The critic fell back (the schema tried again without string lengths first); the
    # distiller, another model, still starts from the schema.
    assert formats == [
        ("small-critic", "json_schema"),
        ("small-critic", "json_schema"),
        ("small-critic", "json_object"),
        ("tutor-test-model", "json_schema"),
    ]


# --- errors that say what happened ------------------------------------------------------


@pytest.mark.parametrize("llm_overrides", [{"max_retries": 2}])
async def test_a_server_that_is_down_is_unreachable_not_a_timeout(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    base_url = fake_llm.base_url
    fake_llm.stop()  # nothing listens on its port any more
    session_id = await new_session(api)
    started = time.monotonic()
    response = await explain(api, session_id)
    assert time.monotonic() - started < 2
    assert response.status_code == 502
    error = error_of(response)
    assert error["code"] == "llm_unreachable"
    assert base_url in error["message"]
    assert "refused" in error["message"]
    assert error["details"]["message_id"]
    messages = (await api.get(f"/v1/sessions/{session_id}")).json()["messages"]
    assert messages[0]["content"] == PASSAGE


@pytest.mark.parametrize("llm_overrides", [{"timeout": 5, "max_retries": 2}])
async def test_a_retry_after_past_the_timeout_is_429_at_once(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.default = Failure(429, "Rate limit reached.", retry_after=30)
    session_id = await new_session(api)
    started = time.monotonic()
    response = await explain(api, session_id)
    assert time.monotonic() - started < 6
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert error_of(response)["code"] == "llm_rate_limited"
    assert len(fake_llm.requests) == 1


@pytest.mark.parametrize("llm_overrides", [{"timeout": 5, "max_retries": 2}])
async def test_a_short_retry_after_is_waited_for(api: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    fake_llm.script(Failure(429, "Slow down.", retry_after=0.3), Reply("An answer."))
    session_id = await new_session(api)
    response = await explain(api, session_id)
    assert response.status_code == 200
    assert len(fake_llm.requests) == 2


@pytest.mark.parametrize("llm_overrides", [{"timeout": 1, "max_retries": 10}])
async def test_the_timeout_bounds_all_the_retries_together(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.default = Failure(503, "Loading model.", retry_after=0.3)
    session_id = await new_session(api)
    started = time.monotonic()
    response = await explain(api, session_id)
    # The 1 s deadline, plus a loaded machine's slack; ten retries 0.3 s apart, unbounded,
    # would take 3 s or more (a bound of 1.5 s failed once at 1.51 s in CI).
    assert time.monotonic() - started < 2.5
    assert response.status_code == 502
    assert "Loading model." in error_of(response)["message"]
    assert 2 <= len(fake_llm.requests) <= 4


# --- what is not the answer -------------------------------------------------------------


async def test_thinking_never_reaches_the_answer(api: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        Reply(
            "<think>\nThe learner wants scaling. SECRET-REASONING.\n</think>\n\nScaling keeps "
            "softmax soft.",
            chunk_size=3,
        ),
        Reply("Softmax saturates.", reasoning="SECRET-REASONING in reasoning_content."),
        Reply("SECRET-REASONING without its opening tag\n</think>\n\nGradients vanish."),
    )
    session_id = await new_session(api)
    streamed = await api.post(
        f"/v1/sessions/{session_id}/explain",
        json={"passage": PASSAGE},
        headers={"Accept": "text/event-stream"},
    )
    events = sse_events(streamed.text)
    deltas = "".join(data["text"] for name, data in events if name == "delta")
    assert deltas == "Scaling keeps softmax soft."
    for content in ("What goes wrong?", "And then?"):
        response = await api.post(f"/v1/sessions/{session_id}/messages", json={"content": content})
        assert response.status_code == 200
    messages = (await api.get(f"/v1/sessions/{session_id}")).json()["messages"]
    answers = [m for m in messages if m["role"] == "tutor"]
    assert [m["content"] for m in answers] == [
        "Scaling keeps softmax soft.",
        "Softmax saturates.",
        "Gradients vanish.",
    ]
    assert not any("SECRET" in m["html"] or "think" in m["html"] for m in answers)


async def test_block_markers_a_model_copies_are_dropped(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.script(
        Reply("Scaling keeps softmax soft.\n<<<END PASSAGE 0123456789ab>>>\n**Check:** Why?")
    )
    session_id = await new_session(api)
    content = (await explain(api, session_id)).json()["message"]["content"]
    assert content == "Scaling keeps softmax soft.\n**Check:** Why?"


async def test_a_stream_that_ends_without_a_finish_reason_was_cut(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply("Half an ans", finish_reason=None), Reply("A whole answer."))
    session_id = await new_session(api)
    response = await explain(api, session_id)
    assert response.status_code == 502
    error = error_of(response)
    assert error["code"] == "llm_interrupted"
    answer = (await api.get(f"/v1/sessions/{session_id}")).json()["messages"][1]
    assert (answer["status"], answer["content"]) == ("interrupted", "Half an ans")
    retried = await api.post(f"/v1/sessions/{session_id}/messages/{answer['id']}/retry")
    assert retried.json()["message"]["content"] == "A whole answer."


async def test_an_empty_answer_is_a_failure_not_an_answer(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.script(
        Reply("<think>all thought, no answer", finish_reason="length"),
        Reply("thought whose tag was in the prompt\n</think>\n"),
    )
    session_id = await new_session(api)
    response = await explain(api, session_id)
    assert response.status_code == 502
    assert "TUTOR_LLM_MAX_OUTPUT_TOKENS" in error_of(response)["message"]
    response = await explain(api, session_id)
    assert response.status_code == 502
    assert "The model's answer was empty." in error_of(response)["message"]


# --- a long wait on a stream ------------------------------------------------------------


async def test_a_stream_waiting_for_a_slow_model_hears_from_the_server(
    live_url: str, learner: Any, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply("Finally.", headers_delay=6))
    headers = {"Authorization": f"Bearer {learner.key}"}
    async with httpx.AsyncClient(base_url=live_url, headers=headers, timeout=30) as http:
        session_id = (await http.post("/v1/sessions", json={})).json()["id"]
        lines: list[tuple[float, str]] = []
        started = time.monotonic()
        async with http.stream(
            "POST",
            f"/v1/sessions/{session_id}/explain",
            json={"passage": PASSAGE},
            headers={"Accept": "text/event-stream"},
        ) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line:
                    lines.append((time.monotonic() - started, line))
    first_at, first = lines[0]
    assert first.startswith(":")  # a comment, before the model said anything
    assert first_at < 5.5
    assert [line for _, line in lines if line.startswith("event:")][-1] == "event: done"
