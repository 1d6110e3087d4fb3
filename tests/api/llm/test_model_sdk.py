"""What Tutor relies on in the openai SDK beyond its typed API, pinned.

service/llm/sending.py sends each chat completion with the SDK's generic
`post(..., cast_to=httpx2.Response, stream=True)` and reads the raw response's bytes
itself (service/llm/chunks.py); service/llm/probe.py asks servers their context with
`get`/`post(..., cast_to=httpx2.Response)`. If an SDK upgrade changes what these return,
these tests say so by name, before every streaming test fails in some other way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
import pytest
from openai import AsyncOpenAI

from fakellm import Failure, FakeLLM, Reply

BODY = {
    "model": "tutor-test-model",
    "messages": [{"role": "user", "content": "Say something."}],
    "stream": True,
    "stream_options": {"include_usage": True},
}
OPTIONS: Any = {"max_retries": 0, "timeout": openai.Timeout(10, connect=2)}


@pytest.fixture
async def client(fake_llm: FakeLLM) -> AsyncIterator[AsyncOpenAI]:
    # As service/llm/openai_compatible.py builds it: the aiohttp transport, no retries.
    sdk = AsyncOpenAI(
        base_url=fake_llm.base_url,
        api_key="test",
        max_retries=0,
        http_client=openai.DefaultAioHttpClient(),
    )
    yield sdk
    await sdk.close()


async def test_post_with_stream_gives_the_raw_response_unread(
    client: AsyncOpenAI, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply("Raw bytes for Tutor to read.", first_token_delay=0.2))
    response = await client.post(
        "/chat/completions", cast_to=httpx2.Response, body=BODY, stream=True, options=OPTIONS
    )
    assert type(response) is httpx2.Response, (
        f"the SDK's post(cast_to=httpx2.Response, stream=True) now returns "
        f"{type(response).__name__}: service/llm/sending.py needs the raw response"
    )
    assert not response.is_stream_consumed, "the SDK read the body: the answer would not stream"
    assert response.headers["content-type"].startswith("text/event-stream")
    body = b"".join([chunk async for chunk in response.aiter_bytes()])
    await response.aclose()
    assert body.startswith(b"data: {")
    assert body.rstrip().endswith(b"data: [DONE]")
    assert b"Raw " in body


async def test_post_raises_the_sdk_status_error_with_the_servers_body(
    client: AsyncOpenAI, fake_llm: FakeLLM
) -> None:
    """service/llm/sending.py classifies refusals from `.body` and waits `Retry-After`
    from `.response.headers`."""
    fake_llm.script(Failure(429, "slow down", retry_after=3))
    with pytest.raises(openai.APIStatusError) as caught:
        await client.post(
            "/chat/completions", cast_to=httpx2.Response, body=BODY, stream=True, options=OPTIONS
        )
    assert caught.value.status_code == 429
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["message"] == "slow down"
    assert caught.value.response.headers["retry-after"] == "3"


async def test_get_gives_the_raw_response(client: AsyncOpenAI, fake_llm: FakeLLM) -> None:
    """service/llm/probe.py reads servers' own endpoints (llama.cpp's /props) this way."""
    fake_llm.props = {"default_generation_settings": {"n_ctx": 4096}}
    root = fake_llm.base_url.removesuffix("/v1")
    options: Any = {"timeout": 3, "max_retries": 0}
    response = await client.get(f"{root}/props", cast_to=httpx2.Response, options=options)
    assert type(response) is httpx2.Response
    assert response.json()["default_generation_settings"]["n_ctx"] == 4096
