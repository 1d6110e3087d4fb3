"""The learner's side of the daily uses: calls to Tutor's HTTP API and what a well-formed
answer looks like, whatever a small model happens to write in it."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from stopwatch import Stopwatch

LEVELS = ("eli5", "intuition", "rigorous")

PASSAGE = (
    "An attention function can be described as mapping a query and a set of key-value "
    "pairs to an output, where the query, keys, values, and output are all vectors. We "
    "compute the dot products of the query with all keys, divide each by $\\sqrt{d_k}$, "
    "and apply a softmax function to obtain the weights on the values."
)
CONCEPT = "scaled dot-product attention"
# Wrong on purpose: d_k instead of its square root, and the values never appear.
FLAWED_EXPLANATION = (
    "Each token compares its query with every key, divides the scores by d_k so they "
    "stay small, and the softmax of that is the token's new embedding."
)


async def new_session(api: httpx.AsyncClient, stopwatch: Stopwatch) -> str:
    with stopwatch.step("create session"):
        response = await api.post("/v1/sessions", json={"title": "Attention Is All You Need"})
    assert response.status_code == 201, response.text
    session_id: str = response.json()["id"]
    return session_id


async def explain(
    api: httpx.AsyncClient, stopwatch: Stopwatch, session_id: str, level: str
) -> dict[str, Any]:
    """The explanation as JSON, once it is complete."""
    with stopwatch.step(f"explain {level} (JSON)"):
        response = await api.post(
            f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE, "level": level}
        )
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()["message"]
    return message


Event = tuple[str, dict[str, Any]]


async def explain_streamed(
    api: httpx.AsyncClient, stopwatch: Stopwatch, session_id: str, level: str
) -> list[Event]:
    """The explanation's Server-Sent Events, read as they arrive."""
    started = time.perf_counter()
    with stopwatch.step(f"explain {level} (stream)"):
        async with api.stream(
            "POST",
            f"/v1/sessions/{session_id}/explain",
            json={"passage": PASSAGE, "level": level},
            headers={"Accept": "text/event-stream"},
        ) as response:
            if response.status_code != 200:
                await response.aread()
                raise AssertionError(f"{response.status_code}: {response.text}")
            assert response.headers["content-type"].startswith("text/event-stream")
            events: list[Event] = []
            async for event in read_events(response):
                if not events:
                    stopwatch.record(f"explain {level} (stream): first event", _since(started))
                events.append(event)
    return events


async def read_events(response: httpx.Response) -> AsyncIterator[Event]:
    """(event, data) pairs off an SSE body; comments (keep-alives) are passed over."""
    name = "message"
    data: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))
    if data:
        yield name, json.loads("\n".join(data))


def assert_complete_answer(message: dict[str, Any], *, level: str) -> None:
    """A finished tutor answer at the level asked, with text, HTML and the server's usage."""
    assert message["role"] == "tutor", message
    assert (message["status"], message["error"]) == ("complete", None), message
    assert message["level"] == level, message
    assert message["content"].strip(), message
    assert message["html"].strip(), message
    usage = message["usage"]
    assert usage is not None, message
    assert usage["prompt_tokens"] > 0, usage
    assert usage["completion_tokens"] > 0, usage
    # llama-server reports usage, streamed too when asked: nothing should be estimated.
    assert usage["estimated"] is False, usage


def _since(started: float) -> float:
    return time.perf_counter() - started
