"""Per-learner limits on the endpoints that call the model, over HTTP.

Each test runs with the in-process store and with Redis (a key prefix of its own), and
moves a fixed clock instead of sleeping where the limit is about time.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from fakellm import CutStream, Failure, FakeLLM, Reply
from fakemodel import FakeModel, Text
from helpers import FixedClock, bearer, error_of, free_port
from service.app import create_app
from service.calls.models import LLMCall
from service.config import Settings
from service.learners.days import day_bounds, learner_day
from service.learners.service import IssuedKey
from service.limits.errors import TooManyStreams

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PASSAGE = "We scale the dot products by 1/sqrt(d_k)."
SSE = {"Accept": "text/event-stream"}
LONG_ANSWER = "Rotary embeddings rotate each pair of query and key dimensions. " * 40


@pytest.fixture(params=["memory", "redis"])
def redis_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "memory":
        return None
    if request.param == "down":
        return f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    url: str = request.getfixturevalue("redis_server_url")
    return url


@pytest.fixture
def limit_settings() -> dict[str, object]:
    """Limit settings a test changes, by parametrizing this fixture."""
    return {}


@pytest.fixture
def settings(
    settings: Settings, redis_url: str | None, limit_settings: dict[str, object]
) -> Settings:
    prefix = f"tutor-test:{uuid.uuid4().hex}:"
    update = {"redis_url": redis_url, "redis_key_prefix": prefix, **limit_settings}
    return settings.model_copy(update=update)


@pytest.fixture
def clock(app: FastAPI) -> FixedClock:
    fixed = FixedClock(NOON)
    app.state.clock = fixed
    return fixed


async def new_session(api: httpx.AsyncClient) -> str:
    response = await api.post("/v1/sessions", json={})
    assert response.status_code == 201, response.text
    session_id: str = response.json()["id"]
    return session_id


async def explain(
    api: httpx.AsyncClient, session_id: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await api.post(
        f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE}, headers=headers
    )


async def message_count(api: httpx.AsyncClient, session_id: str) -> int:
    return len((await api.get(f"/v1/sessions/{session_id}")).json()["messages"])


@pytest.fixture
def model(app: FastAPI) -> FakeModel:
    """The in-process model, for tests of the limits in front of it (not of the model)."""
    fake = FakeModel()
    fake.default = Text("ok")
    app.state.llm = fake
    return fake


# --- the rate ------------------------------------------------------------------------


@pytest.mark.parametrize("limit_settings", [{"rate_limit_per_minute": 3}])
async def test_over_the_rate_is_429_with_retry_after_until_time_passes(
    api: httpx.AsyncClient, model: FakeModel, clock: FixedClock
) -> None:
    session_id = await new_session(api)
    for _ in range(3):
        assert (await explain(api, session_id)).status_code == 200
        clock.advance(seconds=10)
    stored = await message_count(api, session_id)

    refused = await explain(api, session_id)
    assert refused.status_code == 429
    error = error_of(refused)
    assert error["code"] == "rate_limited"
    # The first call was 30 s ago: a place frees in 30 s, less the clock's own ticks.
    assert refused.headers["retry-after"] == "30"
    assert error["details"] == {"retry_after": 30, "limit": 3}
    assert "30 seconds" in error["message"]
    assert "Nothing of this request was stored" in error["message"]
    assert await message_count(api, session_id) == stored
    assert len(model.calls) == 3

    clock.advance(seconds=29)
    refused = await explain(api, session_id)
    assert refused.headers["retry-after"] == "1"
    assert "1 second." in error_of(refused)["message"]

    clock.advance(seconds=1)
    assert (await explain(api, session_id)).status_code == 200
    assert await message_count(api, session_id) == stored + 2


@pytest.mark.parametrize("redis_url", [None])
@pytest.mark.parametrize("limit_settings", [{"rate_limit_per_minute": 1}])
@pytest.mark.parametrize(
    "call",
    ["explain", "follow_up", "retry", "critique", "distill", "regenerate"],
)
async def test_every_endpoint_that_calls_the_model_is_limited(
    api: httpx.AsyncClient, fake_llm: FakeLLM, clock: FixedClock, call: str
) -> None:
    fake_llm.script(Failure(500, "down"))
    session_id = await new_session(api)
    failed = await explain(api, session_id)
    assert failed.status_code == 502
    answer_id = error_of(failed)["details"]["message_id"]

    requests: dict[str, tuple[str, dict[str, Any] | None]] = {
        "explain": (f"/v1/sessions/{session_id}/explain", {"passage": PASSAGE}),
        "follow_up": (f"/v1/sessions/{session_id}/messages", {"content": "Why?"}),
        "retry": (f"/v1/sessions/{session_id}/messages/{answer_id}/retry", None),
        "critique": (
            f"/v1/sessions/{session_id}/critiques",
            {"concept": "attention", "explanation": "Softmax of QK over root d_k weights V."},
        ),
        "distill": (f"/v1/sessions/{session_id}/distill", None),
        "regenerate": ("/v1/study-log/2026-03-09/regenerate", None),
    }
    path, body = requests[call]
    refused = await api.post(path, json=body)
    assert refused.status_code == 429, refused.text
    assert error_of(refused)["code"] == "rate_limited"
    assert len(fake_llm.requests) == 1
    assert await message_count(api, session_id) == 2


@pytest.mark.parametrize("redis_url", [None])
@pytest.mark.parametrize("limit_settings", [{"rate_limit_per_minute": 1}])
async def test_other_endpoints_and_other_learners_are_not_limited(
    api: httpx.AsyncClient, model: FakeModel, clock: FixedClock, app: FastAPI, make_learner: Any
) -> None:
    session_id = await new_session(api)
    assert (await explain(api, session_id)).status_code == 200
    assert (await explain(api, session_id)).status_code == 429
    for _ in range(5):
        assert (await api.get(f"/v1/sessions/{session_id}")).status_code == 200

    grace: IssuedKey = await make_learner("grace")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://tutor.test", headers=bearer(grace.key)
    ) as other:
        assert (await explain(other, await new_session(other))).status_code == 200


# --- the daily token quota -------------------------------------------------------------


@pytest.mark.parametrize("redis_url", [None])
@pytest.mark.parametrize("limit_settings", [{"daily_token_quota": 1000}])
async def test_the_quota_counts_recorded_usage(
    api: httpx.AsyncClient, fake_llm: FakeLLM, learner: IssuedKey
) -> None:
    fake_llm.default = Reply("ok", prompt_tokens=400, completion_tokens=200)
    session_id = await new_session(api)
    assert (await explain(api, session_id)).status_code == 200  # 0 used before
    assert (await explain(api, session_id)).status_code == 200  # 600 used before
    stored = await message_count(api, session_id)

    now = datetime.now(UTC)
    refused = await explain(api, session_id)  # 1200 used: over
    assert refused.status_code == 429
    error = error_of(refused)
    assert error["code"] == "quota_exceeded"
    resets_at = day_bounds(learner.learner, learner_day(learner.learner, now))[1]
    assert error["details"] == {
        "resets_at": resets_at.isoformat(),
        "used": 1200,
        "quota": 1000,
    }
    assert resets_at.isoformat() in error["message"]
    wait = (resets_at - now).total_seconds()
    assert abs(int(refused.headers["retry-after"]) - math.ceil(wait)) <= 2
    assert await message_count(api, session_id) == stored
    assert len(fake_llm.requests) == 2


@pytest.mark.parametrize("redis_url", [None])
@pytest.mark.parametrize("limit_settings", [{"daily_token_quota": 1000}])
async def test_the_quota_resets_at_the_start_of_the_learners_day(
    api: httpx.AsyncClient,
    fake_llm: FakeLLM,
    clock: FixedClock,
    learner: IssuedKey,
    session: AsyncSession,
) -> None:
    fake_llm.default = Reply("ok")
    me = await api.patch("/v1/me", json={"timezone": "Pacific/Honolulu", "day_starts_at_hour": 4})
    assert me.status_code == 200

    def spent(at: datetime, tokens: int) -> LLMCall:
        return LLMCall(
            learner_id=learner.learner.id,
            purpose="explain",
            prompt_name="explain",
            prompt_version=1,
            model="tutor-test-model",
            prompt_tokens=tokens // 2,
            completion_tokens=tokens - tokens // 2,
            duration_ms=10,
            outcome="ok",
            created_at=at,
        )

    # 03:00 on 11 March in Honolulu (UTC-10) is still the learner's 10 March.
    clock.moment = datetime(2026, 3, 11, 13, 0, tzinfo=UTC)
    session.add_all(
        [
            spent(datetime(2026, 3, 10, 13, 59, tzinfo=UTC), 5000),  # 03:59 on the 10th: 9th
            spent(datetime(2026, 3, 10, 14, 0, tzinfo=UTC), 600),  # 04:00 on the 10th
            spent(datetime(2026, 3, 11, 12, 0, tzinfo=UTC), 400),  # 02:00 on the 11th
        ]
    )
    await session.commit()

    session_id = await new_session(api)
    refused = await explain(api, session_id)
    assert refused.status_code == 429
    error = error_of(refused)
    assert error["code"] == "quota_exceeded"
    assert error["details"]["resets_at"] == "2026-03-11T04:00:00-10:00"
    assert error["details"]["used"] == 1000
    assert refused.headers["retry-after"] == "3600"

    clock.advance(minutes=59, seconds=59)
    assert (await explain(api, session_id)).status_code == 429
    clock.advance(seconds=1)
    assert (await explain(api, session_id)).status_code == 200


@pytest.mark.parametrize("redis_url", [None])
@pytest.mark.parametrize("limit_settings", [{"daily_token_quota": 0, "rate_limit_per_minute": 0}])
async def test_zero_means_unlimited(api: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    fake_llm.default = Reply("ok", prompt_tokens=10**6, completion_tokens=10**6)
    session_id = await new_session(api)
    for _ in range(5):
        assert (await explain(api, session_id)).status_code == 200


# --- Redis: shared between replicas, and down ------------------------------------------


@pytest.mark.parametrize("redis_url", ["redis"], indirect=True)
@pytest.mark.parametrize("limit_settings", [{"rate_limit_per_minute": 2}])
async def test_two_replicas_on_one_redis_share_the_rate(
    settings: Settings, api: httpx.AsyncClient, fake_llm: FakeLLM, learner: IssuedKey
) -> None:
    fake_llm.default = Reply("ok")
    session_id = await new_session(api)
    assert (await explain(api, session_id)).status_code == 200

    replica = create_app(settings)
    async with replica.router.lifespan_context(replica):
        transport = httpx.ASGITransport(app=replica)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://tutor.test", headers=bearer(learner.key)
        ) as other:
            assert (await explain(other, session_id)).status_code == 200
            refused = await explain(other, session_id)
            assert refused.status_code == 429
            assert error_of(refused)["code"] == "rate_limited"
    assert (await explain(api, session_id)).status_code == 429


@pytest.mark.parametrize("redis_url", ["down"], indirect=True)
async def test_redis_down_is_503_and_nothing_is_stored(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.default = Reply("ok")
    session_id = await new_session(api)
    for headers in (None, SSE):
        refused = await explain(api, session_id, headers=headers)
        assert refused.status_code == 503
        error = error_of(refused)
        assert error["code"] == "limits_unavailable"
        assert "Nothing of this request was stored" in error["message"]
    assert await message_count(api, session_id) == 0
    assert fake_llm.requests == []
    assert (await api.get("/v1/me")).status_code == 200


# --- concurrent streams ---------------------------------------------------------------


@pytest.mark.parametrize(
    "ending",
    [Reply("short answer"), Failure(500, "down"), CutStream("half an answ", after_chunks=1)],
    ids=["done", "failed_before_stream", "cut_mid_stream"],
)
@pytest.mark.parametrize("limit_settings", [{"max_concurrent_streams": 1}])
async def test_the_slot_is_released_however_the_stream_ends(
    api: httpx.AsyncClient, fake_llm: FakeLLM, ending: Any
) -> None:
    fake_llm.default = ending
    session_id = await new_session(api)
    for _ in range(3):
        response = await explain(api, session_id, headers=SSE)
        assert response.status_code in (200, 502), response.text
        assert fake_llm.pending == 0
    assert len(fake_llm.requests) == 3


@dataclass
class OpenStream:
    response: httpx.Response
    # Kept referenced: an abandoned line iterator is finalised, and that hangs up.
    lines: AsyncIterator[str]


async def open_stream(
    stack: contextlib.AsyncExitStack, http: httpx.AsyncClient, session_id: str
) -> OpenStream:
    """A streamed answer under way: its first delta has arrived."""
    response = await stack.enter_async_context(
        http.stream(
            "POST", f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE}, headers=SSE
        )
    )
    assert response.status_code == 200
    lines = response.aiter_lines()
    async for line in lines:
        if line == "event: delta":
            break
    return OpenStream(response, lines)


@pytest.mark.parametrize("limit_settings", [{"rate_limit_per_minute": 0}])
async def test_at_most_three_streams_and_a_closed_one_frees_its_slot(
    live_url: str, learner: IssuedKey, fake_llm: FakeLLM
) -> None:
    fake_llm.default = Reply(LONG_ANSWER, chunk_size=8, delay_between_chunks=0.05)
    async with (
        httpx.AsyncClient(base_url=live_url, headers=bearer(learner.key)) as http,
        contextlib.AsyncExitStack() as streams,
    ):
        sessions = [await new_session(http) for _ in range(5)]
        first, *others = [await open_stream(streams, http, s) for s in sessions[:3]]

        refused = await explain(http, sessions[3], headers=SSE)
        assert refused.status_code == 429
        error = error_of(refused)
        assert error["code"] == "too_many_streams"
        assert error["details"] == {"limit": 3}
        assert await message_count(http, sessions[3]) == 0
        assert len(fake_llm.requests) == 3

        # A JSON answer is not a stream and is not held back.
        fake_llm.script(Reply("a short JSON answer"))
        assert (await explain(http, sessions[4])).status_code == 200

        await first.response.aclose()  # the learner closes a tab mid-answer
        assert await asyncio.to_thread(fake_llm.wait_for_disconnect, 5.0)
        # The slot goes once the response has wound down, a moment after the model stops.
        for _ in range(100):
            status = await stream_status(http, sessions[3])
            if status != 429:
                break
            await asyncio.sleep(0.05)
        assert status == 200
        assert all(not other.response.is_closed for other in others)


async def stream_status(http: httpx.AsyncClient, session_id: str) -> int:
    """Start a streamed answer, note the status, and hang up."""
    async with http.stream(
        "POST", f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE}, headers=SSE
    ) as response:
        return response.status_code


def test_the_stream_limit_reads_well_for_one_and_for_many() -> None:
    assert TooManyStreams(limit=1).message.startswith("At most one answer can stream at once.")
    assert TooManyStreams(limit=3).message.startswith("At most 3 answers can stream at once.")
