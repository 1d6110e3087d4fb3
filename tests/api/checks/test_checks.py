"""The Check loop: the learner answers an explanation's check question, the tutor grades
it, the answer is never lost, and a missed check becomes a card draft."""

from __future__ import annotations

import json
from typing import Any

import httpx

from fakellm import Failure, FakeLLM, Reply
from helpers import error_of

PASSAGE = "We scale the dot products by $1/\\sqrt{d_k}$ before the softmax."
QUESTION = "What would the softmax do if the dot products were not scaled?"
EXPLANATION = f"Large dot products push the softmax to one-hot.\n\n**Check:** {QUESTION}"


def grade(result: str = "wrong", **fields: Any) -> Reply:
    body = {
        "result": result,
        "feedback": "You have the direction; look again at what large inputs do.",
        "expected": "It would saturate into a near one-hot vector with vanishing gradients.",
    }
    return Reply(json.dumps(body | fields))


async def explained(
    api: httpx.AsyncClient, fake_llm: FakeLLM, text: str = EXPLANATION
) -> tuple[str, str]:
    """A session about the paper, and the id of an explanation that ends with `text`."""
    source = (await api.post("/v1/sources", json={"title": "Attention Is All You Need"})).json()
    session_id = (await api.post("/v1/sessions", json={"source_id": source["id"]})).json()["id"]
    fake_llm.script(Reply(text))
    response = await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE})
    assert response.status_code == 200, response.text
    return session_id, response.json()["message"]["id"]


async def answer(
    api: httpx.AsyncClient, session_id: str, message_id: str, text: str = "It gets sharper."
) -> httpx.Response:
    return await api.post(
        f"/v1/sessions/{session_id}/messages/{message_id}/check", json={"answer": text}
    )


async def test_a_missed_check_is_graded_and_becomes_a_card_draft(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    session_id, message_id = await explained(api, fake_llm)
    fake_llm.script(grade("partly"))
    response = await answer(api, session_id, message_id)
    assert response.status_code == 201, response.text
    check = response.json()
    assert (check["question"], check["answer"]) == (QUESTION, "It gets sharper.")
    assert (check["status"], check["result"]) == ("graded", "partly")
    assert check["feedback"].startswith("You have the direction")
    assert check["card_id"] is not None

    card = (await api.get(f"/v1/cards/{check['card_id']}")).json()
    assert card["status"] == "draft"
    assert card["front"] == f"Attention Is All You Need: {QUESTION}"
    assert card["back"] == check["expected"]
    assert "missed-check" in card["tags"]

    system, user = fake_llm.last_request.json["messages"]
    assert "Grade the answer" in system["content"]
    for material in (PASSAGE, EXPLANATION, QUESTION, "It gets sharper."):
        assert material in user["content"]
    assert fake_llm.last_request.json["response_format"]["type"] == "json_schema"
    listed = (await api.get(f"/v1/sessions/{session_id}/checks")).json()["items"]
    assert [c["id"] for c in listed] == [check["id"]]


async def test_a_right_answer_makes_no_card_and_the_same_miss_no_second_one(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    session_id, message_id = await explained(api, fake_llm)
    fake_llm.script(grade("right"))
    right = (await answer(api, session_id, message_id)).json()
    assert (right["result"], right["card_id"]) == ("right", None)
    fake_llm.script(grade("wrong"), grade("wrong"))
    first = (await answer(api, session_id, message_id, "No idea.")).json()
    again = (await answer(api, session_id, message_id, "Still no idea.")).json()
    assert again["card_id"] == first["card_id"]  # the draft that asks it already
    cards = (await api.get("/v1/cards", params={"status": "draft"})).json()["items"]
    assert len(cards) == 1


async def test_the_answer_is_kept_when_grading_fails_and_can_be_retried(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    session_id, message_id = await explained(api, fake_llm)
    fake_llm.script(Failure(500))
    failed = await answer(api, session_id, message_id, "My careful answer.")
    assert failed.status_code == 502
    error = error_of(failed)
    check_id = error["details"]["check_id"]
    listed = (await api.get(f"/v1/sessions/{session_id}/checks")).json()["items"]
    assert [(c["id"], c["status"], c["answer"]) for c in listed] == [
        (check_id, "failed", "My careful answer.")
    ]

    fake_llm.script(grade("right"))
    retried = await api.post(f"/v1/sessions/{session_id}/checks/{check_id}/retry")
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["result"]) == ("graded", "right")
    again = await api.post(f"/v1/sessions/{session_id}/checks/{check_id}/retry")
    assert (again.status_code, error_of(again)["code"]) == (409, "already_graded")


async def test_bad_check_requests(api: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    session_id, message_id = await explained(api, fake_llm, "No question at the end.")
    response = await answer(api, session_id, message_id)
    assert (response.status_code, error_of(response)["code"]) == (422, "no_check_question")

    session_id, message_id = await explained(api, fake_llm)
    messages = (await api.get(f"/v1/sessions/{session_id}")).json()["messages"]
    passage_id = next(m["id"] for m in messages if m["kind"] == "passage")
    response = await answer(api, session_id, passage_id)
    assert (response.status_code, error_of(response)["code"]) == (404, "message_not_found")
    other = (await api.post("/v1/sessions", json={})).json()["id"]
    response = await answer(api, other, message_id)
    assert (response.status_code, error_of(response)["code"]) == (404, "message_not_found")
    response = await answer(api, session_id, message_id, "   ")
    assert response.status_code == 422
    missing = await api.post(
        f"/v1/sessions/{session_id}/checks/00000000-0000-0000-0000-000000000000/retry"
    )
    assert (missing.status_code, error_of(missing)["code"]) == (404, "check_not_found")
    assert fake_llm.pending == 0
