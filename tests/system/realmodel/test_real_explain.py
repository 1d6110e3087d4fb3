"""Explain, the first daily use: a passage at each depth, as JSON and streamed, then a
follow-up in the same session."""

from __future__ import annotations

import httpx
import pytest
from stopwatch import Stopwatch
from tutoring import LEVELS, assert_complete_answer, explain, explain_streamed, new_session


@pytest.mark.parametrize("level", LEVELS)
async def test_explain_as_json(
    live_api: httpx.AsyncClient, stopwatch: Stopwatch, level: str
) -> None:
    session_id = await new_session(live_api, stopwatch)
    message = await explain(live_api, stopwatch, session_id, level)
    assert_complete_answer(message, level=level)
    assert message["kind"] == "explanation"


@pytest.mark.parametrize("level", LEVELS)
async def test_explain_streamed(
    live_api: httpx.AsyncClient, stopwatch: Stopwatch, level: str
) -> None:
    session_id = await new_session(live_api, stopwatch)
    events = await explain_streamed(live_api, stopwatch, session_id, level)
    names = [name for name, _ in events]
    assert names, "the stream sent no events"
    assert names[-1] == "done", events[-1]
    assert set(names[:-1]) == {"delta"}, names
    message = events[-1][1]["message"]
    assert_complete_answer(message, level=level)
    assert "".join(data["text"] for name, data in events if name == "delta") == message["content"]
    stored = (await live_api.get(f"/v1/sessions/{session_id}")).json()["messages"][-1]
    assert (stored["id"], stored["content"]) == (message["id"], message["content"])


async def test_follow_up_in_the_same_session(
    live_api: httpx.AsyncClient, stopwatch: Stopwatch
) -> None:
    session_id = await new_session(live_api, stopwatch)
    first = await explain(live_api, stopwatch, session_id, "eli5")
    assert_complete_answer(first, level="eli5")

    with stopwatch.step("follow-up, one level deeper (JSON)"):
        response = await live_api.post(
            f"/v1/sessions/{session_id}/messages",
            json={"content": "Why divide by the square root of d_k?", "level": "intuition"},
        )
    assert response.status_code == 200, response.text
    answer = response.json()["message"]
    assert_complete_answer(answer, level="intuition")
    assert answer["kind"] == "answer"

    messages = (await live_api.get(f"/v1/sessions/{session_id}")).json()["messages"]
    turns = [(m["role"], m["kind"], m["status"]) for m in messages]
    assert turns == [
        ("learner", "passage", "complete"),
        ("tutor", "explanation", "complete"),
        ("learner", "question", "complete"),
        ("tutor", "answer", "complete"),
    ]
