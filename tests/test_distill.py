"""Distillation against the fake model: drafts, flags, duplicates, repair, acceptance."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fakellm import FakeLLM, Reply
from helpers import error_of

PASSAGE = "We scale the dot products by 1/sqrt(d_k) to counteract small softmax gradients."
GOOD = {
    "front": "In the Transformer, why are attention logits divided by $\\sqrt{d_k}$?",
    "back": "To keep the softmax out of saturation, where its gradients vanish.",
    "kind": "basic",
    "tags": ["transformer", "attention"],
}
CLOZE = {
    "front": "Scaled dot-product attention is $\\mathrm{softmax}(QK^T/{{c1::\\sqrt{d_k}}})V$.",
    "back": "",
    "kind": "cloze",
    "tags": ["transformer"],
}
YES_NO = {
    "front": "Is the scaling factor in attention $\\sqrt{d_k}$?",
    "back": "Yes",
    "kind": "basic",
    "tags": [],
}
EMPTY_BACK = {
    "front": "In the Transformer, what is $d_k$?",
    "back": "",
    "kind": "basic",
    "tags": [],
}


def cards_json(*cards: dict[str, Any]) -> str:
    return json.dumps({"cards": list(cards)})


@pytest.fixture
async def session_id(api: httpx.AsyncClient, fake_llm: FakeLLM) -> str:
    source = (await api.post("/v1/sources", json={"title": "Attention Is All You Need"})).json()
    session: str = (await api.post("/v1/sessions", json={"source_id": source["id"]})).json()["id"]
    fake_llm.script(Reply("Dividing keeps the logits small so softmax stays soft."))
    explained = await api.post(f"/v1/sessions/{session}/explain", json={"passage": PASSAGE})
    assert explained.status_code == 200
    return session


async def distill(api: httpx.AsyncClient, session_id: str, **body: Any) -> httpx.Response:
    return await api.post(f"/v1/sessions/{session_id}/distill", json=body or None)


async def test_a_good_batch_becomes_drafts(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str
) -> None:
    fake_llm.script(Reply(cards_json(GOOD, CLOZE)))
    response = await distill(api, session_id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["skipped"] == []
    good, cloze = body["cards"]
    assert (good["status"], good["origin"], good["kind"]) == ("draft", "distilled", "basic")
    assert good["session_id"] == session_id
    assert good["source_id"] is not None
    assert good["tags"] == ["attention", "attention-is-all-you-need", "transformer"]
    assert good["quality_flags"] == []
    assert cloze["kind"] == "cloze"
    assert "<math" in cloze["back_html"]

    request = fake_llm.last_request.json
    system, user = request["messages"]
    assert "at most 10 cards" in system["content"]
    assert "Source: Attention Is All You Need" in user["content"]
    assert PASSAGE in user["content"]
    assert "Dividing keeps the logits small" in user["content"]
    assert request["response_format"]["type"] == "json_schema"

    drafts = (await api.get("/v1/cards", params={"status": "draft"})).json()["items"]
    assert {card["id"] for card in drafts} == {good["id"], cloze["id"]}


async def test_flagged_drafts_are_kept_empty_ones_skipped(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str
) -> None:
    fake_llm.script(Reply(cards_json(YES_NO, EMPTY_BACK)))
    body = (await distill(api, session_id)).json()
    (flagged,) = body["cards"]
    assert "yes_no_question" in flagged["quality_flags"]
    (skipped,) = body["skipped"]
    assert (skipped["front"], skipped["reason"]) == (EMPTY_BACK["front"], "low_quality")
    assert "empty_side" in skipped["quality_flags"]


async def test_duplicates_are_skipped_against_existing_cards_and_the_batch(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str
) -> None:
    existing = (
        await api.post("/v1/cards", json={"front": GOOD["front"].upper(), "back": "x"})
    ).json()
    near_copy = {**GOOD, "front": GOOD["front"].replace("divided", "devided")}
    twin = {**CLOZE, "front": CLOZE["front"] + "  "}
    fake_llm.script(Reply(cards_json(near_copy, CLOZE, twin)))
    body = (await distill(api, session_id)).json()
    (kept,) = body["cards"]
    assert kept["kind"] == "cloze"
    assert [(s["reason"], s["duplicate_of"]) for s in body["skipped"]] == [
        ("duplicate", existing["id"]),
        ("duplicate", kept["id"]),
    ]


async def test_distilling_again_proposes_only_what_is_new(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str
) -> None:
    fake_llm.script(Reply(cards_json(GOOD)), Reply(cards_json(GOOD, CLOZE)))
    first = (await distill(api, session_id)).json()
    second = (await distill(api, session_id)).json()
    assert GOOD["front"] in fake_llm.last_request.json["messages"][1]["content"]
    assert [card["kind"] for card in second["cards"]] == ["cloze"]
    assert second["skipped"][0]["duplicate_of"] == first["cards"][0]["id"]


async def test_malformed_output_is_repaired(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str
) -> None:
    fake_llm.script(Reply('{"cards": [{"front": 42}]'), Reply(f"```json\n{cards_json(GOOD)}\n```"))
    response = await distill(api, session_id)
    assert response.status_code == 201
    assert [card["front"] for card in response.json()["cards"]] == [GOOD["front"]]


async def test_max_cards_is_honoured(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str
) -> None:
    many = [{**GOOD, "front": f"In the Transformer, what is fact number {n}?"} for n in range(5)]
    fake_llm.script(Reply(cards_json(*many)))
    response = await distill(api, session_id, max_cards=2)
    assert len(response.json()["cards"]) == 2
    assert "at most 2 cards" in fake_llm.last_request.json["messages"][0]["content"]
    assert (await distill(api, session_id, max_cards=31)).status_code == 422


async def test_accept_edit_reject(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str
) -> None:
    fake_llm.script(Reply(cards_json(GOOD, CLOZE, YES_NO)))
    good, cloze, weak = (await distill(api, session_id)).json()["cards"]
    accepted = await api.post("/v1/cards/accept", json={"ids": [good["id"], cloze["id"]]})
    assert [c["status"] for c in accepted.json()["cards"]] == ["active", "active"]
    again = await api.post("/v1/cards/accept", json={"ids": [good["id"]]})
    assert again.json()["cards"] == []  # already active: nothing to do
    assert (await api.delete(f"/v1/cards/{weak['id']}")).status_code == 204
    statuses = {c["id"]: c["status"] for c in (await api.get("/v1/cards")).json()["items"]}
    assert statuses == {good["id"]: "active", cloze["id"]: "active"}


async def test_an_empty_session_has_nothing_to_distill(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    session = (await api.post("/v1/sessions", json={})).json()["id"]
    response = await distill(api, session)
    assert response.status_code == 409
    assert error_of(response)["code"] == "nothing_to_distill"
    assert fake_llm.requests == []
