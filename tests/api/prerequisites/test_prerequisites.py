"""Prerequisites when stumped: failed critiques say `stumped`, a lost follow-up's `done`
says it too, and the path names the concepts, what the learner's history shows they
know, and a step back for the others."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fakellm import Failure, FakeLLM, Reply
from helpers import error_of, sse_events, verdict_only_critique_json
from service.calls.models import LLMCall

PASSAGE = (
    "We compute the dot products of the query with all keys, divide each by sqrt(d_k), "
    "and apply a softmax function to obtain the weights on the values."
)
CONCEPT = "scaled dot-product attention"
ATTEMPT = "Attention multiplies the queries by the keys and that is the output of the layer."


def concept(name: str, paper: dict[str, Any] | None = None, *also: str) -> dict[str, Any]:
    return {
        "name": name,
        "also_called": list(also),
        "why": f"The passage uses {name}.",
        "paper": paper,
    }


def path_json(*concepts: dict[str, Any]) -> str:
    return json.dumps(
        {"summary": "Scaled attention rests on a few older ideas.", "concepts": list(concepts)}
    )


async def session_with_passage(api: httpx.AsyncClient, fake_llm: FakeLLM) -> str:
    session_id: str = (await api.post("/v1/sessions", json={})).json()["id"]
    fake_llm.script(Reply("Each query is compared with every key."))
    explained = await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE})
    assert explained.status_code == 200, explained.text
    return session_id


async def critique(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str, verdict: str, score: int
) -> dict[str, Any]:
    fake_llm.script(Reply(verdict_only_critique_json(verdict, score)))
    response = await api.post(
        f"/v1/sessions/{session_id}/critiques", json={"concept": CONCEPT, "explanation": ATTEMPT}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_two_failed_critiques_in_a_row_say_stumped(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    session_id = await session_with_passage(api, fake_llm)
    verdicts = [("shaky", 3), ("wrong", 1), ("solid", 4), ("shaky", 2), ("shaky", 3)]
    stumped = [(await critique(api, fake_llm, session_id, *v))["stumped"] for v in verdicts]
    # A solid explanation in between starts the count again.
    assert stumped == [False, True, False, False, True]

    listed = (await api.get(f"/v1/sessions/{session_id}/critiques")).json()["items"]
    assert [item["stumped"] for item in listed] == stumped


async def test_another_concept_keeps_its_own_count(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    session_id = await session_with_passage(api, fake_llm)
    assert not (await critique(api, fake_llm, session_id, "wrong", 1))["stumped"]
    fake_llm.script(Reply(verdict_only_critique_json("shaky", 2)))
    other = await api.post(
        f"/v1/sessions/{session_id}/critiques",
        json={"concept": "softmax", "explanation": "The softmax turns scores into weights."},
    )
    assert other.json()["stumped"] is False


async def add_known_card(api: httpx.AsyncClient) -> None:
    card = await api.post(
        "/v1/cards",
        json={
            "front": "What does the softmax do to the scores?",
            "back": "Weights summing to 1.",
            "tags": ["softmax"],
        },
    )
    assert card.status_code == 201, card.text
    graded = await api.post("/v1/reviews", json={"card_id": card.json()["id"], "rating": "good"})
    assert graded.status_code in (200, 201), graded.text


async def test_the_path_decides_what_is_known_and_the_steps(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    await add_known_card(api)
    queued = (await api.post("/v1/sources", json={"title": "Layer Normalization"})).json()
    marked = await api.patch(
        "/v1/me/knowledge/concepts/matrix multiplication", json={"mark": "known"}
    )
    assert marked.status_code == 200, marked.text
    session_id = await session_with_passage(api, fake_llm)
    fake_llm.script(
        Reply(
            path_json(
                concept("matrix multiplication"),
                concept("Softmax"),
                concept(
                    "layer normalization",
                    {"title": "Layer normalization", "arxiv_id": "1607.06450"},
                    "LayerNorm",
                ),
                concept(
                    "Adam optimizer",
                    {
                        "title": "Adam: A Method for Stochastic Optimization",
                        "arxiv_id": "arXiv:1412.6980",
                    },
                ),
                concept("dot product"),
            ),
            prompt_tokens=700,
            completion_tokens=150,
        )
    )
    response = await api.post(f"/v1/sessions/{session_id}/prerequisites", json={"trigger": "lost"})
    assert response.status_code == 201, response.text
    path = response.json()
    assert (path["trigger"], path["concept"], path["session_id"]) == ("lost", None, session_id)
    assert path["usage"] == {"prompt_tokens": 700, "completion_tokens": 150, "estimated": False}
    by_name = {c["name"]: c for c in path["concepts"]}
    assert list(by_name) == [
        "matrix multiplication",
        "Softmax",
        "layer normalization",
        "Adam optimizer",
        "dot product",
    ]
    none = {"source_id": None, "title": None, "arxiv_id": None}
    assert by_name["matrix multiplication"] | {"why": None} == {
        "name": "matrix multiplication",
        "why": None,
        "known": True,
        "evidence": "You marked it as known.",
        "step": {"kind": "known", **none},
    }
    assert by_name["Softmax"]["known"] is True
    assert by_name["Softmax"]["evidence"] == "1 card you review; last graded Good."
    assert by_name["layer normalization"]["known"] is False
    assert by_name["layer normalization"]["step"] == {
        "kind": "queued_source",
        "source_id": queued["id"],
        "title": "Layer Normalization",
        "arxiv_id": None,
    }
    assert by_name["Adam optimizer"]["step"] == {
        "kind": "add_source",
        "source_id": None,
        "title": "Adam: A Method for Stochastic Optimization",
        "arxiv_id": "1412.6980",
    }
    assert by_name["dot product"]["step"] == {"kind": "explain", **none}
    assert by_name["dot product"]["evidence"] is None
    assert path["summary"].startswith("Scaled attention rests on a few older ideas.")
    assert "you know 2 of these 5; start with “layer normalization”" in path["summary"]

    request = fake_llm.last_request.json
    assert request["response_format"]["type"] == "json_schema"
    system, user = request["messages"]
    assert "most fundamental first" in system["content"]
    assert "<<<PASSAGE " in user["content"]
    assert PASSAGE in user["content"]

    listed = (await api.get(f"/v1/sessions/{session_id}/prerequisites")).json()["items"]
    assert listed == [path]


async def test_failed_critiques_ground_the_path(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session: AsyncSession
) -> None:
    session_id = await session_with_passage(api, fake_llm)
    await critique(api, fake_llm, session_id, "shaky", 2)
    assert (await critique(api, fake_llm, session_id, "wrong", 1))["stumped"]
    fake_llm.script(Reply(path_json(concept("softmax"), concept("dot product"))))
    response = await api.post(
        f"/v1/sessions/{session_id}/prerequisites", json={"trigger": "critiques"}
    )
    assert response.status_code == 201, response.text
    assert (response.json()["trigger"], response.json()["concept"]) == ("critiques", CONCEPT)
    user = fake_llm.last_request.json["messages"][1]["content"]
    assert "<<<CONCEPT " in user
    assert CONCEPT in user
    assert user.count("<<<EXPLANATION ATTEMPT ") == 2
    assert "attempt 2 (judged wrong, score 1/5)" in user
    assert PASSAGE in user
    # Logged and counted as its own purpose (TUTOR_LLM_MODEL_PREREQUISITES), not a critique.
    logged = await session.scalar(select(LLMCall).where(LLMCall.prompt_name == "prerequisites"))
    assert logged is not None
    assert logged.purpose == "prerequisites"


async def test_nothing_to_ground_and_other_learners_sessions(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    session_id = (await api.post("/v1/sessions", json={})).json()["id"]
    for body in ({"trigger": "lost"}, {"trigger": "critiques", "concept": "softmax"}):
        refused = await api.post(f"/v1/sessions/{session_id}/prerequisites", json=body)
        assert refused.status_code == 409
        assert error_of(refused)["code"] == "nothing_to_ground"
    missing = await api.post(
        "/v1/sessions/00000000-0000-4000-8000-000000000000/prerequisites", json={"trigger": "lost"}
    )
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "session_not_found"
    assert fake_llm.requests == []  # refused before the model


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        ((Failure(500),), 502, "llm_error"),
        (
            (Reply("Softmax, then layer norm."), Reply('{"summary": "no concepts"}')),
            502,
            "llm_bad_output",
        ),
    ],
)
async def test_a_model_failure_writes_nothing(
    api: httpx.AsyncClient, fake_llm: FakeLLM, failure: tuple[Any, ...], status: int, code: str
) -> None:
    session_id = await session_with_passage(api, fake_llm)
    fake_llm.script(*failure)
    response = await api.post(f"/v1/sessions/{session_id}/prerequisites", json={"trigger": "lost"})
    assert response.status_code == status, response.text
    assert error_of(response)["code"] == code
    listed = await api.get(f"/v1/sessions/{session_id}/prerequisites")
    assert listed.json()["items"] == []


async def follow_up_events(api: httpx.AsyncClient, session_id: str, text: str) -> dict[str, Any]:
    response = await api.post(
        f"/v1/sessions/{session_id}/messages",
        json={"content": text},
        headers={"Accept": "text/event-stream"},
    )
    assert response.status_code == 200, response.text
    name, done = sse_events(response.text)[-1]
    assert name == "done"
    return done


async def test_a_lost_follow_up_says_stumped_when_done(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    session_id = await session_with_passage(api, fake_llm)
    fake_llm.script(Reply("Let us go slower."), Reply("Yes: the sum of the weights is one."))
    lost = await follow_up_events(api, session_id, "Sorry, I'm lost. No idea what d_k is.")
    assert lost["stumped"] is True
    assert lost["message"]["content"] == "Let us go slower."
    asked = await follow_up_events(api, session_id, "So the weights sum to one?")
    assert "stumped" not in asked
