"""SIGTERM to `tutor serve`: stop accepting, let streams finish for a while, lose nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from fakellm import FakeLLM, Reply, Stall
from helpers import bearer
from tutor_process import TutorServer


class Served(TutorServer):
    """A server with the fake model, its first learner's key at hand, and its messages
    read straight from its database."""

    def __init__(
        self, tmp_path: Path, database_url: str, fake: FakeLLM, grace_seconds: float
    ) -> None:
        super().__init__(
            tmp_path,
            database_url=database_url,
            llm_base_url=fake.base_url,
            llm_model="fake-model",
            llm_max_retries=0,
            shutdown_grace_seconds=grace_seconds,
        )
        self.database_url = database_url
        key = self.start()
        assert key is not None, "a fresh server prints its first learner's key"
        self.key = key

    def _rows(self) -> list[Any]:
        async def read() -> list[Any]:
            engine = create_async_engine(self.database_url, poolclass=NullPool)
            try:
                async with engine.connect() as connection:
                    columns = "id, kind, status, content, error_code"
                    result = await connection.execute(
                        text(f"SELECT {columns} FROM messages ORDER BY position")  # noqa: S608
                    )
                    return list(result)
            finally:
                await engine.dispose()

        return asyncio.run(read())

    def last_error_code(self) -> str | None:
        code: str | None = self._rows()[-1].error_code
        return code

    def last_message_id(self) -> str:
        return str(uuid.UUID(str(self._rows()[-1].id)))

    def messages(self) -> list[tuple[str, str, str]]:
        """(kind, status, content) of every message, read from the database."""
        return [(row.kind, row.status, row.content) for row in self._rows()]


@pytest.fixture
def serve(tmp_path: Path, database_url: str) -> Iterator:
    started: list[Served] = []

    def start(fake: FakeLLM, *, grace_seconds: float) -> Served:
        served = Served(tmp_path, database_url, fake, grace_seconds)
        started.append(served)
        return served

    yield start
    for served in started:
        served.kill()


def _stream_explain(served: Served, events: list[tuple[str, dict]]) -> threading.Thread:
    """Starts an explain stream in a thread; `events` fills as (event, data) pairs arrive."""
    with httpx.Client(base_url=served.url, headers=bearer(served.key)) as client:
        session_id = client.post("/v1/sessions", json={}).json()["id"]

    def run() -> None:
        body = {"passage": "PPO clips the probability ratio."}
        headers = {**bearer(served.key), "Accept": "text/event-stream"}
        url = f"{served.url}/v1/sessions/{session_id}/explain"
        try:
            with httpx.stream("POST", url, json=body, headers=headers, timeout=30) as response:
                event = ""
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        events.append((event, json.loads(line.split(":", 1)[1])))
        except httpx.RemoteProtocolError:
            events.append(("cut", {}))  # the server closed the stream mid-answer

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _in_background(work: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def _wait_until_asked(fake: FakeLLM) -> None:
    deadline = time.monotonic() + 10
    while not fake.requests:
        assert time.monotonic() < deadline, "the model was never asked"
        time.sleep(0.02)


def _wait_for_first_delta(events: list[tuple[str, dict]]) -> None:
    deadline = time.monotonic() + 10
    while not any(event == "delta" for event, _ in events):
        assert time.monotonic() < deadline, "no delta arrived"
        time.sleep(0.02)


def test_sigterm_lets_a_running_stream_finish_and_refuses_new_connections(serve) -> None:
    with FakeLLM() as fake:
        # About 2 s of answer, well inside the grace period.
        fake.script(
            Reply("one two three four five six seven eight", chunk_size=4, delay_between_chunks=0.2)
        )
        served = serve(fake, grace_seconds=10)
        events: list[tuple[str, dict]] = []
        thread = _stream_explain(served, events)
        _wait_for_first_delta(events)

        served.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{served.url}/healthz", timeout=2)

        thread.join(timeout=15)
        assert events[-1][0] == "done"
        assert events[-1][1]["message"]["content"] == "one two three four five six seven eight"
        assert served.wait(timeout=15) in (0, -signal.SIGTERM)
    assert served.messages()[-1] == (
        "explanation",
        "complete",
        "one two three four five six seven eight",
    )


def test_a_stream_longer_than_the_grace_period_is_saved_as_interrupted(serve) -> None:
    with FakeLLM() as fake:
        fake.script(Reply("word " * 60, chunk_size=5, delay_between_chunks=0.25))  # ~15 s
        served = serve(fake, grace_seconds=1)
        events: list[tuple[str, dict]] = []
        thread = _stream_explain(served, events)
        _wait_for_first_delta(events)

        stopped_at = time.monotonic()
        served.send_signal(signal.SIGTERM)
        assert served.wait(timeout=15) in (0, -signal.SIGTERM)
        assert time.monotonic() - stopped_at < 6  # the grace, not the whole answer
        thread.join(timeout=5)
    # The stream ends by saying why, and which answer to retry.
    event, data = events[-1]
    assert event == "error", events[-3:]
    assert data["error"]["code"] == "server_stopped"
    assert all(event == "delta" for event, _ in events[:-1])
    kind, status, content = served.messages()[-1]
    assert data["message_id"]
    assert (kind, status) == ("explanation", "interrupted")
    assert served.last_error_code() == "server_stopped"
    streamed = "".join(data["text"] for _, data in events[:-1])
    assert content.startswith("word")
    assert streamed.startswith(content) or content.startswith(streamed)
    assert served.messages()[0][:2] == ("passage", "complete")


def test_a_json_answer_still_running_at_the_end_is_saved_as_interrupted(serve) -> None:
    with FakeLLM() as fake:
        fake.script(Reply("word " * 60, chunk_size=5, delay_between_chunks=0.25))  # ~15 s
        served = serve(fake, grace_seconds=1)
        with httpx.Client(base_url=served.url, headers=bearer(served.key)) as client:
            session_id = client.post("/v1/sessions", json={}).json()["id"]
        outcome: list[object] = []

        def ask() -> None:
            url = f"{served.url}/v1/sessions/{session_id}/explain"
            try:
                body = {"passage": "PPO clips the probability ratio."}
                outcome.append(httpx.post(url, json=body, headers=bearer(served.key), timeout=30))
            except httpx.TransportError as exc:
                outcome.append(exc)

        thread = _in_background(ask)
        _wait_until_asked(fake)
        time.sleep(0.5)  # a few words in

        served.send_signal(signal.SIGTERM)
        assert served.wait(timeout=15) in (0, -signal.SIGTERM)
        thread.join(timeout=5)
    [response] = outcome
    assert isinstance(response, httpx.Response), response
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "server_stopped"
    assert error["details"]["message_id"] == served.last_message_id()
    kind, status, content = served.messages()[-1]
    assert (kind, status) == ("explanation", "interrupted")
    assert served.last_error_code() == "server_stopped"
    assert content.startswith("word")
    assert served.messages()[0] == ("passage", "complete", "PPO clips the probability ratio.")


def test_a_critique_cut_by_the_shutdown_keeps_the_attempt_and_can_be_retried(serve) -> None:
    with FakeLLM() as fake:
        fake.script(Stall(seconds=15))
        served = serve(fake, grace_seconds=1)
        with httpx.Client(base_url=served.url, headers=bearer(served.key)) as client:
            session_id = client.post("/v1/sessions", json={}).json()["id"]

        responses: list[httpx.Response] = []

        def attempt() -> None:
            body = {"concept": "PPO clipping", "explanation": "PPO keeps each update small."}
            url = f"{served.url}/v1/sessions/{session_id}/critiques"
            with contextlib.suppress(httpx.TransportError):
                responses.append(httpx.post(url, json=body, headers=bearer(served.key), timeout=30))

        thread = _in_background(attempt)
        _wait_until_asked(fake)

        served.send_signal(signal.SIGTERM)
        assert served.wait(timeout=15) in (0, -signal.SIGTERM)
        thread.join(timeout=5)
    [response] = responses
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "server_stopped"
    assert response.json()["error"]["details"]["message_id"] == served.last_message_id()
    attempt_message, critique = served.messages()
    assert attempt_message == ("attempt", "complete", "PPO keeps each update small.")
    assert critique[:2] == ("critique", "failed")
    assert served.last_error_code() == "server_stopped"
