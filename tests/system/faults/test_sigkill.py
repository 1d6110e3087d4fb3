"""SIGKILL to `tutor serve` in the middle of answers: nothing is left half-done.

A killed server cannot save anything, so its answers stay `streaming` in the database
until someone ends them. A restarted server (or any other replica) finds them, once
nobody has marked them alive for a while, and ends them as failed, retryable; what the
learner sent was stored before the model was asked and is all still there.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakellm import FakeLLM, Reply, Stall
from helpers import ANY_TASK_REPLY, bearer
from service.sessions.recovery import ABANDONED_AFTER, BEAT_SECONDS
from tutor_process import TutorServer

# An abandoned answer is ended within this long of the kill: unmarked for
# ABANDONED_AFTER, then found at the next beat; the rest is the restart.
ENDED_WITHIN = ABANDONED_AFTER.total_seconds() + 2 * BEAT_SECONDS + 10
PASSAGE = "PPO clips the probability ratio."
ATTEMPT = "PPO keeps each policy update small by clipping the ratio."


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[tuple[TutorServer, FakeLLM]]:
    with FakeLLM() as fake:
        served = TutorServer(
            tmp_path,
            database_url=database_url,
            llm_base_url=fake.base_url,
            llm_model="fake-model",
            llm_max_retries=0,
            rate_limit_per_minute=0,
        )
        try:
            yield served, fake
        finally:
            served.kill()


def _in_background(url: str, key: str, body: dict[str, Any], *, stream: bool) -> None:
    headers = bearer(key) | ({"Accept": "text/event-stream"} if stream else {})

    def send() -> None:
        with contextlib.suppress(httpx.TransportError):
            if stream:
                with httpx.stream("POST", url, json=body, headers=headers, timeout=60) as reply:
                    for _ in reply.iter_lines():
                        pass
            else:
                httpx.post(url, json=body, headers=headers, timeout=60)

    threading.Thread(target=send, daemon=True).start()


def _tutor_message(client: httpx.Client, session_id: str) -> dict[str, Any]:
    messages = client.get(f"/v1/sessions/{session_id}").json()["messages"]
    tutor: dict[str, Any] = messages[-1]
    assert tutor["role"] == "tutor"
    return tutor


def _wait_until_ended(client: httpx.Client, session_ids: list[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + ENDED_WITHIN
    while True:
        answers = [_tutor_message(client, session_id) for session_id in session_ids]
        if all(answer["status"] != "streaming" for answer in answers):
            return answers
        assert time.monotonic() < deadline, f"still streaming after {ENDED_WITHIN} s: {answers}"
        time.sleep(0.5)


def test_answers_cut_by_sigkill_are_ended_after_a_restart_and_can_be_retried(
    server: tuple[TutorServer, FakeLLM],
) -> None:
    served, fake = server
    fake.script(Stall(seconds=60), Stall(seconds=60), Stall(seconds=60))
    key = served.start()
    assert key, "the first start creates the first learner"
    with httpx.Client(base_url=served.url, headers=bearer(key), timeout=10) as client:
        sessions = [client.post("/v1/sessions", json={}).json()["id"] for _ in range(3)]
    explain_streamed, explain_whole, critique = sessions
    base = f"{served.url}/v1/sessions"
    _in_background(f"{base}/{explain_streamed}/explain", key, {"passage": PASSAGE}, stream=True)
    _in_background(f"{base}/{explain_whole}/explain", key, {"passage": PASSAGE}, stream=False)
    attempt = {"concept": "PPO clipping", "explanation": ATTEMPT}
    _in_background(f"{base}/{critique}/critiques", key, attempt, stream=False)
    assert fake.wait_for_requests(15, count=3), "the model was not asked three times"

    served.kill()
    fake.reset()
    fake.script(Reply("Clipping keeps the new policy near the old."))
    fake.script(Reply("The ratio is clipped to [1-ε, 1+ε]."))
    fake.script(Reply(ANY_TASK_REPLY))
    served.start()

    with httpx.Client(base_url=served.url, headers=bearer(key), timeout=30) as client:
        answers = _wait_until_ended(client, sessions)
        for answer in answers:
            assert answer["status"] == "failed"
            assert answer["content"] == ""
            assert "nothing of it was kept" in answer["error"]
            assert "retry" in answer["error"]
        learners_words = [
            client.get(f"/v1/sessions/{session_id}").json()["messages"][0]["content"]
            for session_id in sessions
        ]
        assert learners_words == [PASSAGE, PASSAGE, ATTEMPT]

        retried = [
            client.post(f"/v1/sessions/{session_id}/messages/{answer['id']}/retry")
            for session_id, answer in zip(sessions, answers, strict=True)
        ]
    assert [response.status_code for response in retried] == [200, 200, 200]
    assert [response.json()["message"]["status"] for response in retried] == ["complete"] * 3
    assert json.loads(ANY_TASK_REPLY)["verdict"] == retried[2].json()["critique"]["verdict"]
