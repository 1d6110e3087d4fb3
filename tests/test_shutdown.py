"""SIGTERM to `tutor serve`: stop accepting, let streams finish for a while, lose nothing."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from fakellm import FakeLLM, Reply, Stall
from helpers import bearer, free_port

STARTUP_SECONDS = 30


class Served:
    def __init__(self, tmp_path: Path, fake: FakeLLM, grace_seconds: float) -> None:
        self.data_dir = tmp_path / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TUTOR_", "OPENAI_"))}
        env.update(
            PYTHONUNBUFFERED="1",
            TUTOR_DATA_DIR=str(self.data_dir),
            TUTOR_LLM_BASE_URL=fake.base_url,
            TUTOR_LLM_MODEL="fake-model",
            TUTOR_LLM_MAX_RETRIES="0",
            TUTOR_SHUTDOWN_GRACE_SECONDS=str(grace_seconds),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self.key = self._read_key()

    def _read_key(self) -> str:
        assert self.process.stdout is not None
        key = None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            self.output.append(line)
            if found := re.search(r"#key=(tutor_\w+)", line):
                key = found.group(1)
            if "Uvicorn running" in line and key:
                threading.Thread(target=self._drain, daemon=True).start()
                return key
        self.process.kill()
        raise AssertionError("tutor serve did not start:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def last_error_code(self) -> str | None:
        with sqlite3.connect(self.data_dir / "tutor.db") as db:
            row = db.execute("SELECT error_code FROM messages ORDER BY position DESC").fetchone()
            return row[0]

    def messages(self) -> list[tuple[str, str, str]]:
        """(kind, status, content) of every message, read from the database file."""
        with sqlite3.connect(self.data_dir / "tutor.db") as db:
            rows = db.execute("SELECT kind, status, content FROM messages ORDER BY position")
            return [(kind, status, content) for kind, status, content in rows]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    started: list[Served] = []

    def start(fake: FakeLLM, *, grace_seconds: float) -> Served:
        served = Served(tmp_path, fake, grace_seconds)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.process.kill()


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

        served.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{served.url}/healthz", timeout=2)

        thread.join(timeout=15)
        assert events[-1][0] == "done"
        assert events[-1][1]["message"]["content"] == "one two three four five six seven eight"
        assert served.process.wait(timeout=15) in (0, -signal.SIGTERM)
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
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=15) in (0, -signal.SIGTERM)
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

        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=15) in (0, -signal.SIGTERM)
        thread.join(timeout=5)
    assert outcome, "the request neither answered nor failed"
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

        def attempt() -> None:
            body = {"concept": "PPO clipping", "explanation": "PPO keeps each update small."}
            url = f"{served.url}/v1/sessions/{session_id}/critiques"
            with contextlib.suppress(httpx.TransportError):
                httpx.post(url, json=body, headers=bearer(served.key), timeout=30)

        thread = _in_background(attempt)
        _wait_until_asked(fake)

        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=15) in (0, -signal.SIGTERM)
        thread.join(timeout=5)
    attempt_message, critique = served.messages()
    assert attempt_message == ("attempt", "complete", "PPO keeps each update small.")
    assert critique[:2] == ("critique", "failed")
    assert served.last_error_code() == "server_stopped"
