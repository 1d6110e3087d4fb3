"""Redis, where the limits are kept, killed (SIGKILL) mid-run and started again; and
hung (SIGSTOP), which a refused connection does not show.

While it is down the routes that call the model refuse at once with 503
`limits_unavailable` (failing closed: no unlimited model spend) and store nothing, an
answer already streaming ends normally, everything else (the learner, cards, reviews)
works, and `/readyz` says the service is not ready. Once Redis is back on its address
the model routes work again, with no restart of the app.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Awaitable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from fakellm import FakeLLM, Reply
from helpers import ANY_TASK_REPLY, error_of, free_port, sse_events
from service.config import Settings

PASSAGE = "We scale the dot products by 1/sqrt(d_k) so softmax stays soft."
SSE = {"Accept": "text/event-stream"}
# Streamed for about a second: Redis dies while it streams.
LONG_ANSWER = "Rotary embeddings rotate each pair of query and key dimensions. " * 3
# A refusal is immediate (the connection is refused); a second is generous, and any
# request still unanswered after the hard bound is a hang.
REFUSED_WITHIN_SECONDS = 1.0
# A Redis that accepts and never answers costs its socket timeout (2 s, in
# service/limits/redis_store.py), and not more.
HUNG_REFUSED_WITHIN_SECONDS = 3.5
ANSWER_WITHIN_SECONDS = 10.0
REDIS_STARTS_WITHIN_SECONDS = 10.0


class RedisServer:
    """A `redis-server` of the test's own on 127.0.0.1, keeping nothing on disk."""

    def __init__(self, directory: Path) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            # As tests/conftest.py treats a missing server: skipped, but failed under CI.
            missing = "redis-server is not on the PATH (apt-get install redis-server)"
            if os.environ.get("CI"):
                pytest.fail(missing, pytrace=False)
            pytest.skip(missing)
        self.executable = executable
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                *("--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + REDIS_STARTS_WITHIN_SECONDS
        while not self._answers():
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited with {self.process.returncode} on start")
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not answer within {REDIS_STARTS_WITHIN_SECONDS} s")
            time.sleep(0.02)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def pause(self) -> None:
        """SIGSTOP: connections still open, nothing answered, as a hung host does it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients, as a crash or the OOM killer does it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=5)
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def settings(settings: Settings, redis_server: RedisServer) -> Settings:
    update = {
        "redis_url": redis_server.url,
        "redis_key_prefix": f"tutor-test:{uuid.uuid4().hex}:",
        # Limits on, far above this test's calls: each model call asks Redis first.
        "rate_limit_per_minute": 1000,
        "max_concurrent_streams": 5,
    }
    return settings.model_copy(update=update)


async def _within(seconds: float, request: Awaitable[httpx.Response]) -> httpx.Response:
    async with asyncio.timeout(seconds):
        return await request


async def _new_session(api: httpx.AsyncClient) -> str:
    response = await api.post("/v1/sessions", json={})
    assert response.status_code == 201, response.text
    session_id: str = response.json()["id"]
    return session_id


async def _message_count(api: httpx.AsyncClient, session_id: str) -> int:
    return len((await api.get(f"/v1/sessions/{session_id}")).json()["messages"])


def _streamed_answer(response: httpx.Response) -> str:
    """The text of a streamed answer that ended with `done`, as stored."""
    assert response.status_code == 200, response.text
    events = sse_events(response.text)
    assert events, response.text
    last, data = events[-1]
    assert last == "done", events[-3:]
    assert data["message"]["status"] == "complete"
    text: str = data["message"]["content"]
    return text


async def test_redis_killed_mid_run_refuses_model_calls_until_it_is_back(
    app: FastAPI, api: httpx.AsyncClient, fake_llm: FakeLLM, redis_server: RedisServer
) -> None:
    fake_llm.default = Reply(ANY_TASK_REPLY)
    session_id = await _new_session(api)
    explain = f"/v1/sessions/{session_id}/explain"
    first = await api.post(explain, json={"passage": PASSAGE})
    assert first.status_code == 200, first.text
    ready = await api.get("/readyz")
    assert (ready.status_code, ready.json()["limits"]) == (200, "redis")
    card = await api.post("/v1/cards", json={"front": "Why scale by 1/sqrt(d_k)?", "back": "-"})
    assert card.status_code == 201, card.text

    # Killed while an answer streams: that answer was admitted, and ends normally.
    fake_llm.script(Reply(LONG_ANSWER, delay_between_chunks=0.02))
    asked = len(fake_llm.requests)
    streaming = asyncio.ensure_future(
        _within(ANSWER_WITHIN_SECONDS, api.post(explain, json={"passage": PASSAGE}, headers=SSE))
    )
    assert await asyncio.to_thread(fake_llm.wait_for_requests, 5, count=asked + 1)
    redis_server.kill()
    assert not streaming.done(), "the answer ended before Redis was killed"
    assert _streamed_answer(await streaming) == LONG_ANSWER

    # Down: every route that calls the model refuses at once, and stores nothing.
    stored = await _message_count(api, session_id)
    asked = len(fake_llm.requests)
    model_calls = {
        "explain": (explain, {"passage": PASSAGE}, None),
        "explain, streamed": (explain, {"passage": PASSAGE}, SSE),
        "follow-up": (f"/v1/sessions/{session_id}/messages", {"content": "Why?"}, None),
        "critique": (
            f"/v1/sessions/{session_id}/critiques",
            {"concept": "scaling", "explanation": "It keeps the logits small."},
            None,
        ),
        "distill": (f"/v1/sessions/{session_id}/distill", {}, None),
        "study log": ("/v1/study-log/2026-03-09/regenerate", None, None),
    }
    for what, (path, body, headers) in model_calls.items():
        started = time.monotonic()
        refused = await _within(ANSWER_WITHIN_SECONDS, api.post(path, json=body, headers=headers))
        waited = time.monotonic() - started
        assert refused.status_code == 503, f"{what}: {refused.status_code} {refused.text}"
        error = error_of(refused)
        assert error["code"] == "limits_unavailable", what
        assert "Nothing of this request was stored" in error["message"]
        assert waited < REFUSED_WITHIN_SECONDS, f"{what} waited {waited:.1f} s for its refusal"
    assert await _message_count(api, session_id) == stored
    assert len(fake_llm.requests) == asked

    # Down: what does not call the model works as ever.
    assert (await _within(ANSWER_WITHIN_SECONDS, api.get("/v1/me"))).status_code == 200
    graded = await api.post("/v1/reviews", json={"card_id": card.json()["id"], "grade": 2})
    assert graded.status_code == 201, graded.text
    assert (await api.get("/v1/reviews/queue")).status_code == 200
    assert (await api.get(f"/v1/sessions/{session_id}")).status_code == 200

    # Down: not ready, and why; the database is fine.
    not_ready = await _within(ANSWER_WITHIN_SECONDS, api.get("/readyz"))
    assert not_ready.status_code == 503, not_ready.text
    error = error_of(not_ready)
    assert error["code"] == "not_ready"
    assert error["details"]["limits"] == "unavailable"
    assert error["details"]["database"] == app.state.database.backend
    assert str(redis_server.port) not in not_ready.text

    # Back on the same address, empty (nothing was saved): the very next requests work,
    # the app untouched.
    redis_server.start()
    again = await _within(ANSWER_WITHIN_SECONDS, api.post(explain, json={"passage": PASSAGE}))
    assert again.status_code == 200, again.text
    assert again.json()["message"]["status"] == "complete"
    fake_llm.script(Reply(LONG_ANSWER))
    streamed = await _within(
        ANSWER_WITHIN_SECONDS, api.post(explain, json={"passage": PASSAGE}, headers=SSE)
    )
    assert _streamed_answer(streamed) == LONG_ANSWER
    path, body, _ = model_calls["critique"]
    critique = await _within(ANSWER_WITHIN_SECONDS, api.post(path, json=body))
    assert critique.status_code == 201, critique.text
    ready = await api.get("/readyz")
    assert (ready.status_code, ready.json()["limits"]) == (200, "redis")


async def test_a_hung_redis_costs_a_model_call_seconds_not_a_hang(
    api: httpx.AsyncClient, fake_llm: FakeLLM, redis_server: RedisServer
) -> None:
    fake_llm.default = Reply(ANY_TASK_REPLY)
    session_id = await _new_session(api)
    explain = f"/v1/sessions/{session_id}/explain"
    assert (await api.post(explain, json={"passage": PASSAGE})).status_code == 200

    redis_server.pause()
    try:
        started = time.monotonic()
        refusing = asyncio.ensure_future(
            _within(ANSWER_WITHIN_SECONDS, api.post(explain, json={"passage": PASSAGE}))
        )
        # The app is not stuck behind it: what does not call the model answers at once.
        me = await _within(REFUSED_WITHIN_SECONDS, api.get("/v1/me"))
        assert me.status_code == 200
        refused = await refusing
        waited = time.monotonic() - started
    finally:
        redis_server.resume()
    assert refused.status_code == 503, refused.text
    assert error_of(refused)["code"] == "limits_unavailable"
    assert waited < HUNG_REFUSED_WITHIN_SECONDS, f"the refusal took {waited:.1f} s"

    again = await _within(ANSWER_WITHIN_SECONDS, api.post(explain, json={"passage": PASSAGE}))
    assert again.status_code == 200, again.text
