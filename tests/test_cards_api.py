"""Managing cards: write, find, edit, accept, suspend, delete."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from helpers import bearer, error_of

SCALING = {
    "front": "In the Transformer, what does the $1/\\sqrt{d_k}$ factor in attention prevent?",
    "back": "Softmax saturation: large dot products push it into regions with tiny gradients.",
    "tags": ["transformer", "attention scaling"],
}


async def add(api: httpx.AsyncClient, **card: Any) -> dict[str, Any]:
    response = await api.post("/v1/cards", json=card)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_manual_card_is_active_at_once(api: httpx.AsyncClient) -> None:
    card = await add(api, **SCALING)
    assert (card["status"], card["origin"], card["kind"]) == ("active", "manual", "basic")
    assert card["tags"] == ["attention_scaling", "transformer"]
    assert card["quality_flags"] == []
    assert "<math" in card["front_html"]
    assert card["back_html"].startswith("<p>Softmax saturation")
    assert (await api.get(f"/v1/cards/{card['id']}")).json() == card


async def test_a_cloze_card_hides_and_reveals(api: httpx.AsyncClient) -> None:
    card = await add(
        api,
        front="RoPE encodes position by {{c1::rotating}} pairs of query and key dimensions.",
        kind="cloze",
    )
    assert "rotating" not in card["front_html"]
    assert "[…]" in card["front_html"]
    assert "<strong>rotating</strong>" in card["back_html"]
    assert card["quality_flags"] == []


async def test_manual_cards_are_flagged_not_refused(api: httpx.AsyncClient) -> None:
    card = await add(api, front="Is attention quadratic in sequence length?", back="Yes.")
    assert "yes_no_question" in card["quality_flags"]


@pytest.mark.parametrize(
    "body",
    [{"front": ""}, {"front": "x", "kind": "image"}, {"front": "x", "tags": ["t"] * 21}, {}],
)
async def test_invalid_cards(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await api.post("/v1/cards", json=body)
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


async def test_edit_recomputes_the_flags(api: httpx.AsyncClient) -> None:
    card = await add(api, front="Does PPO clip the ratio?", back="Yes")
    assert card["quality_flags"]
    edited = await api.patch(
        f"/v1/cards/{card['id']}",
        json={
            "front": "In PPO, what range is the probability ratio clipped to?",
            "back": "$[1-\\epsilon, 1+\\epsilon]$",
            "tags": ["ppo"],
        },
    )
    assert edited.status_code == 200
    assert edited.json()["quality_flags"] == []
    assert edited.json()["tags"] == ["ppo"]
    assert edited.json()["updated_at"] > card["updated_at"]


async def test_status_moves(api: httpx.AsyncClient) -> None:
    card = await add(api, **SCALING)
    url = f"/v1/cards/{card['id']}"
    assert (await api.patch(url, json={"status": "suspended"})).json()["status"] == "suspended"
    assert (await api.patch(url, json={"status": "active"})).json()["status"] == "active"
    back_to_draft = await api.patch(url, json={"status": "draft"})
    assert back_to_draft.status_code == 409
    assert error_of(back_to_draft)["code"] == "invalid_transition"
    assert (await api.get(url)).json()["status"] == "active"


async def test_filters_and_search(api: httpx.AsyncClient) -> None:
    source = (await api.post("/v1/sources", json={"title": "PPO"})).json()
    ppo = await add(
        api,
        front="In PPO, what does the clipped objective bound?",
        back="How far the new policy's probability ratio can move from 1 (100%_sure).",
        tags=["ppo"],
        source_id=source["id"],
    )
    rope = await add(api, front="What does RoPE rotate?", back="Query/key pairs", tags=["rope"])
    await api.patch(f"/v1/cards/{rope['id']}", json={"status": "suspended"})

    async def ids(**params: Any) -> list[str]:
        response = await api.get("/v1/cards", params=params)
        assert response.status_code == 200, response.text
        return [card["id"] for card in response.json()["items"]]

    assert await ids() == [rope["id"], ppo["id"]]
    assert await ids(status="suspended") == [rope["id"]]
    assert await ids(tag="ppo") == [ppo["id"]]
    assert await ids(source_id=source["id"]) == [ppo["id"]]
    assert await ids(q="ROTATE") == [rope["id"]]
    assert await ids(q="query/KEY") == [rope["id"]]  # the back is searched too
    assert await ids(q="100%_") == [ppo["id"]]  # LIKE wildcards are literal
    assert await ids(q="e%s") == []  # would match nearly anything as a wildcard
    assert await ids(tag="nothing") == []


async def test_paging(api: httpx.AsyncClient) -> None:
    for n in range(5):
        await add(api, front=f"Question number {n} about attention?", back=f"answer {n}")
    first = (await api.get("/v1/cards", params={"limit": 2})).json()
    rest = (await api.get("/v1/cards", params={"limit": 10, "cursor": first["next_cursor"]})).json()
    assert len(first["items"]) + len(rest["items"]) == 5
    assert rest["next_cursor"] is None


async def test_delete(api: httpx.AsyncClient) -> None:
    card = await add(api, **SCALING)
    assert (await api.delete(f"/v1/cards/{card['id']}")).status_code == 204
    missing = await api.get(f"/v1/cards/{card['id']}")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "card_not_found"


async def test_accept_unknown_ids(api: httpx.AsyncClient) -> None:
    card = await add(api, **SCALING)
    unknown = str(uuid.uuid4())
    response = await api.post("/v1/cards/accept", json={"ids": [card["id"], unknown]})
    assert response.status_code == 404
    assert error_of(response)["details"]["ids"] == [unknown]


async def test_another_learners_cards_do_not_exist_for_you(
    api: httpx.AsyncClient, client: httpx.AsyncClient, make_learner
) -> None:
    card = await add(api, **SCALING)
    theirs = bearer((await make_learner("grace")).key)
    url = f"/v1/cards/{card['id']}"
    for method, body in [("GET", None), ("PATCH", {"back": "mine"}), ("DELETE", None)]:
        response = await client.request(method, url, json=body, headers=theirs)
        assert response.status_code == 404
    accept = await client.post("/v1/cards/accept", json={"ids": [card["id"]]}, headers=theirs)
    assert accept.status_code == 404
    assert (await client.get("/v1/cards", headers=theirs)).json()["items"] == []
    assert (await api.get(url)).json() == card
