"""Poke holes, the second daily use: the learner's flawed explanation comes back with a
verdict, a score, issues quoting their own words, and probing questions."""

from __future__ import annotations

import httpx
from stopwatch import Stopwatch
from tutoring import CONCEPT, FLAWED_EXPLANATION, PASSAGE, new_session

VERDICTS = {"solid", "shaky", "wrong"}
ISSUE_TYPES = {"misconception", "omission", "imprecision"}


async def test_critique_of_a_flawed_explanation(
    live_api: httpx.AsyncClient, stopwatch: Stopwatch
) -> None:
    session_id = await new_session(live_api, stopwatch)
    with stopwatch.step("critique (structured)"):
        response = await live_api.post(
            f"/v1/sessions/{session_id}/critiques",
            json={"concept": CONCEPT, "explanation": FLAWED_EXPLANATION, "passage": PASSAGE},
        )
    assert response.status_code == 201, response.text
    critique = response.json()

    assert (critique["concept"], critique["attempt"]) == (CONCEPT, 1)
    assert critique["explanation"] == FLAWED_EXPLANATION
    # Whether the attempt is low effort is the model's judgement, not a structure.
    assert isinstance(critique["low_effort"], bool), critique
    assert critique["verdict"] in VERDICTS, critique
    assert isinstance(critique["score"], int), critique
    assert 0 <= critique["score"] <= 5, critique
    assert all(isinstance(s, str) and s.strip() for s in critique["strengths"]), critique
    for issue in critique["issues"]:
        assert issue["type"] in ISSUE_TYPES, issue
        # Tutor drops quotes the model did not copy from the learner's words.
        assert issue["quote"] is None or issue["quote"] in FLAWED_EXPLANATION, issue
        assert issue["problem"].strip(), issue
        assert issue["hint"].strip(), issue
        assert issue["question"].strip(), issue
        assert issue["fix"] is None, issue  # until the learner asks
    assert 1 <= len(critique["questions"]) <= 3, critique
    assert all(q.strip() for q in critique["questions"]), critique

    messages = (await live_api.get(f"/v1/sessions/{session_id}")).json()["messages"]
    assert [(m["kind"], m["status"]) for m in messages] == [
        ("attempt", "complete"),
        ("critique", "complete"),
    ]
    assert messages[-1]["id"] == critique["message_id"]
