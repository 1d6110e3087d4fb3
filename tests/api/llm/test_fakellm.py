"""The fake LLM server, proven against the real openai client over real sockets.

Other tests trust tests/fakellm.py to behave like an OpenAI-compatible server and to fail
the way a real one does; these tests pin down both, and the exceptions the client raises.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema

from fakellm import CutStream, Failure, FakeLLM, Garbage, Reply, Stall

MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are a patient tutor."},
    {"role": "user", "content": "Explain scaled dot-product attention"},
]
PROMPT_WORDS = 5 + 4


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
async def llm(fake: FakeLLM) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="test", max_retries=0) as client:
        yield client


async def _stream(llm: openai.AsyncOpenAI, **options: Any) -> list[ChatCompletionChunk]:
    stream = await llm.chat.completions.create(
        model="gpt-test", messages=MESSAGES, stream=True, **options
    )
    return [chunk async for chunk in stream]


def _content(chunks: list[ChatCompletionChunk]) -> list[str]:
    return [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]


async def _collect_text(stream: AsyncIterable[ChatCompletionChunk], into: list[str]) -> None:
    """Appends each delta as it arrives, so the text before a failure is kept."""
    async for chunk in stream:
        into.append(chunk.choices[0].delta.content or "")


# --- successful replies ------------------------------------------------------------------


async def test_reply_as_json_has_the_chat_completion_shape(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    fake.script(Reply("Attention weighs the values."))

    completion = await llm.chat.completions.create(model="gpt-test", messages=MESSAGES)

    assert completion.object == "chat.completion"
    assert completion.model == "gpt-test"
    assert completion.id.startswith("chatcmpl-")
    [choice] = completion.choices
    assert choice.message.role == "assistant"
    assert choice.message.content == "Attention weighs the values."
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == PROMPT_WORDS
    assert completion.usage.completion_tokens == 4
    assert completion.usage.total_tokens == PROMPT_WORDS + 4


async def test_reply_takes_token_counts_and_finish_reason_from_the_script(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    fake.script(
        Reply("Softmax over", finish_reason="length", prompt_tokens=120, completion_tokens=7)
    )

    completion = await llm.chat.completions.create(model="gpt-test", messages=MESSAGES)

    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (120, 7)
    assert completion.usage.total_tokens == 127


async def test_reply_without_usage_omits_it(fake: FakeLLM, llm: openai.AsyncOpenAI) -> None:
    fake.script(Reply("No counts from this server.", usage=False))

    completion = await llm.chat.completions.create(model="gpt-test", messages=MESSAGES)

    assert completion.usage is None


async def test_scripted_replies_are_used_in_order_then_the_default(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    fake.script(Reply("one"), Reply("two"))
    fake.default = Reply("again")

    texts = [
        (await llm.chat.completions.create(model="m", messages=MESSAGES)).choices[0].message.content
        for _ in range(4)
    ]

    assert texts == ["one", "two", "again", "again"]
    assert fake.pending == 0


async def test_stream_deltas_join_to_the_text_in_chunk_size_pieces(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    fake.script(Reply("The quick brown fox", chunk_size=5))

    chunks = await _stream(llm)

    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert {chunk.model for chunk in chunks} == {"gpt-test"}
    assert len({chunk.id for chunk in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert _content(chunks) == ["The q", "uick ", "brown", " fox"]
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop"
    assert last.delta.content is None
    assert all(chunk.choices[0].finish_reason is None for chunk in chunks[:-1])
    assert fake.wait_for_completed_stream(timeout=1)
    assert fake.disconnects == 0


@pytest.mark.parametrize(
    ("include_usage", "reply_usage", "usage_sent"),
    [(True, True, True), (False, True, False), (True, False, False)],
    ids=["asked", "not-asked", "server-without-usage"],
)
async def test_stream_usage_comes_last_and_only_when_asked(
    fake: FakeLLM,
    llm: openai.AsyncOpenAI,
    include_usage: bool,
    reply_usage: bool,
    usage_sent: bool,
) -> None:
    fake.script(Reply("Keys and queries", usage=reply_usage))
    options: dict[str, Any] = {}
    if include_usage:
        options["stream_options"] = {"include_usage": True}

    chunks = await _stream(llm, **options)

    assert "".join(_content(chunks)) == "Keys and queries"
    assert all(chunk.usage is None for chunk in chunks[:-1])
    if usage_sent:
        assert chunks[-1].choices == []
        assert chunks[-1].usage is not None
        assert chunks[-1].usage.prompt_tokens == PROMPT_WORDS
        assert chunks[-1].usage.completion_tokens == 3
        assert chunks[-1].usage.total_tokens == PROMPT_WORDS + 3
    else:
        assert chunks[-1].usage is None
        assert all(chunk.choices for chunk in chunks)


async def test_first_token_delay_holds_back_the_first_chunk(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    fake.script(Reply("slow start", first_token_delay=0.3))
    started = time.monotonic()

    stream = await llm.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    async with stream:
        first = await stream.__anext__()
        first_at = time.monotonic() - started
        rest = [chunk async for chunk in stream]

    assert first_at >= 0.3
    assert first.choices[0].delta.role == "assistant"
    assert "".join(_content(rest)) == "slow start"


async def test_stream_headers_arrive_before_a_slow_first_token(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    fake.script(Reply("far too late", first_token_delay=30))

    # create() returns once the headers are in, long before the first token would be.
    stream = await asyncio.wait_for(
        llm.chat.completions.create(model="m", messages=MESSAGES, stream=True), timeout=5
    )
    await stream.close()

    # Hanging up during the delay counts as a disconnect, as it does mid-stream.
    assert await asyncio.to_thread(fake.wait_for_disconnect, 1.0)


async def test_models_lists_one_model(fake: FakeLLM, llm: openai.AsyncOpenAI) -> None:
    models = [model.id async for model in llm.models.list()]

    assert models == [fake.model]


# --- recording -----------------------------------------------------------------------------


async def test_requests_are_recorded_with_their_json_bodies(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    fake.script(Reply("ok"), Reply("ok"))

    await llm.chat.completions.create(model="gpt-test", messages=MESSAGES)
    await _stream(llm, stream_options={"include_usage": True})

    first, second = fake.requests
    assert second is fake.last_request
    assert (first.method, first.path) == ("POST", "/v1/chat/completions")
    assert first.headers["authorization"] == "Bearer test"
    assert first.headers["content-type"] == "application/json"
    assert first.json == {"model": "gpt-test", "messages": MESSAGES}
    assert json.loads(first.body) == first.json
    assert second.json["stream"] is True
    assert second.json["stream_options"] == {"include_usage": True}
    assert second.json["messages"] == MESSAGES


def test_last_request_before_any_request_is_an_error(fake: FakeLLM) -> None:
    with pytest.raises(LookupError, match="no request"):
        _ = fake.last_request


# --- failures ---------------------------------------------------------------------------


async def test_rate_limit_with_retry_after(fake: FakeLLM, llm: openai.AsyncOpenAI) -> None:
    fake.script(
        Failure(429, "Slow down.", retry_after=2, error_type="requests", code="rate_limit_exceeded")
    )

    with pytest.raises(openai.RateLimitError) as caught:
        await llm.chat.completions.create(model="m", messages=MESSAGES)

    error = caught.value
    assert error.status_code == 429
    assert error.response.headers["retry-after"] == "2"
    assert error.code == "rate_limit_exceeded"
    assert error.type == "requests"
    assert "Slow down." in error.message
    assert len(fake.requests) == 1  # max_retries=0: no second attempt


async def test_retry_after_keeps_fractions(fake: FakeLLM, llm: openai.AsyncOpenAI) -> None:
    fake.script(Failure(429, retry_after=1.5))

    with pytest.raises(openai.RateLimitError) as caught:
        await llm.chat.completions.create(model="m", messages=MESSAGES)

    assert caught.value.response.headers["retry-after"] == "1.5"


async def test_server_error(fake: FakeLLM, llm: openai.AsyncOpenAI) -> None:
    fake.script(Failure(500, "The model fell over."))

    with pytest.raises(openai.InternalServerError, match="The model fell over"):
        await llm.chat.completions.create(model="m", messages=MESSAGES, stream=True)


async def test_empty_queue_without_default_fails_loudly(llm: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.InternalServerError, match="fakellm: no scripted response"):
        await llm.chat.completions.create(model="m", messages=MESSAGES)


async def test_unknown_route_is_a_json_404(fake: FakeLLM, llm: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="no route"):
        await llm.embeddings.create(model="m", input="attention")

    assert fake.requests == []  # not a model call
    assert fake.other_requests[-1].path == "/v1/embeddings"


async def test_rejected_response_format_is_a_bad_request_and_keeps_the_script(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    fake.reject_response_formats = {"json_schema"}
    fake.script(Reply('{"term": "softmax"}'))
    card_schema: ResponseFormatJSONSchema = {
        "type": "json_schema",
        "json_schema": {"name": "card", "schema": {"type": "object"}},
    }

    with pytest.raises(openai.BadRequestError, match="json_schema is not supported"):
        await llm.chat.completions.create(
            model="m",
            messages=MESSAGES,
            response_format=card_schema,
        )
    assert fake.pending == 1

    completion = await llm.chat.completions.create(
        model="m", messages=MESSAGES, response_format={"type": "json_object"}
    )
    assert completion.choices[0].message.content == '{"term": "softmax"}'


async def test_cut_stream_is_a_connection_error_after_the_partial_text(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    fake.script(CutStream("abcdefghijklmnop", after_chunks=2))
    received: list[str] = []

    stream = await llm.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIConnectionError) as caught:
        await _collect_text(stream, received)

    assert type(caught.value) is openai.APIConnectionError  # not a timeout, not a clean end
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)
    assert "".join(received) == "abcdefgh"
    assert fake.completed_streams == 0


async def test_cut_response_without_streaming_is_a_connection_error(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    fake.script(CutStream("a whole answer that never fully arrives", after_chunks=0))

    with pytest.raises(openai.APIConnectionError) as caught:
        await llm.chat.completions.create(model="m", messages=MESSAGES)

    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)


async def test_garbage_json_raises_a_json_decode_error(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    fake.script(Garbage())

    # The client does not wrap this one in an openai error: callers must catch ValueError.
    with pytest.raises(json.JSONDecodeError):
        await llm.chat.completions.create(model="m", messages=MESSAGES)


async def test_garbage_in_a_stream_raises_a_json_decode_error(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    fake.script(Garbage("{not json"))

    with pytest.raises(json.JSONDecodeError):
        await _stream(llm)


async def test_stall_beyond_the_client_timeout_is_a_timeout(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    fake.script(Stall(5))
    started = time.monotonic()

    with pytest.raises(openai.APITimeoutError):
        await llm.with_options(timeout=0.5).chat.completions.create(model="m", messages=MESSAGES)

    assert time.monotonic() - started < 2.5  # the timeout, not the 5 s stall
    # The client hung up on the stalled handler, and the fake noticed.
    assert await asyncio.to_thread(fake.wait_for_disconnect, 1.0)


# --- disconnects and lifecycle ------------------------------------------------------------


async def test_closing_a_stream_early_is_seen_as_a_disconnect_at_once(
    fake: FakeLLM, llm: openai.AsyncOpenAI
) -> None:
    # 400 chunks, 20 ms apart: eight seconds of streaming if nobody hangs up.
    fake.script(Reply("x" * 1600, chunk_size=4, delay_between_chunks=0.02))

    stream = await llm.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    received = 0
    async for _chunk in stream:
        received += 1
        if received == 3:
            break
    await stream.close()

    assert await asyncio.to_thread(fake.wait_for_disconnect, 1.0)
    assert fake.disconnects == 1
    assert fake.completed_streams == 0


async def test_stop_is_prompt_while_a_handler_stalls() -> None:
    fake = FakeLLM().start()
    fake.script(Stall(30))
    async with openai.AsyncOpenAI(
        base_url=fake.base_url, api_key="test", max_retries=0, timeout=10
    ) as client:
        call = asyncio.create_task(client.chat.completions.create(model="m", messages=MESSAGES))
        assert await asyncio.to_thread(fake.wait_for_requests, 1.0)

        started = time.monotonic()
        await asyncio.to_thread(fake.stop)
        assert time.monotonic() - started < 2  # not the 30 s stall

        with pytest.raises(openai.APIConnectionError):
            await call
    assert fake.disconnects == 0  # stopping is not a client going away


def test_base_url_points_at_loopback_and_stop_is_idempotent() -> None:
    fake = FakeLLM()
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.base_url

    with fake:
        assert fake.base_url.startswith("http://127.0.0.1:")
        assert fake.base_url.endswith("/v1")
    fake.stop()
