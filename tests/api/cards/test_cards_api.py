"""Managing cards: write, find, edit, accept, suspend, delete."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from fakellm import FakeLLM, Reply
from helpers import bearer, error_of
from service.cards.models import Card

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


# --- accepting every draft at once ------------------------------------------------------

PRECISE = {"front": "In the Transformer, how many heads does the base model use?", "back": "8"}
FLAGGED = {"front": "Explain multi-head attention.", "back": "Heads attend to subspaces."}


async def drafts_of_a_session(
    api: httpx.AsyncClient, fake_llm: FakeLLM, *cards: dict[str, str]
) -> tuple[str, list[dict[str, Any]]]:
    """A session distilled into `cards`, kept as drafts in that order."""
    session_id: str = (await api.post("/v1/sessions", json={})).json()["id"]
    fake_llm.script(Reply("Eight heads."))
    await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": "We use h = 8 heads."})
    fake_llm.script(Reply(json.dumps({"cards": [{**card, "tags": []} for card in cards]})))
    distilled = await api.post(f"/v1/sessions/{session_id}/distill", json={})
    assert distilled.status_code == 201, distilled.text
    drafts: list[dict[str, Any]] = distilled.json()["cards"]
    assert len(drafts) == len(cards)
    return session_id, drafts


async def statuses(api: httpx.AsyncClient) -> dict[str, str]:
    return {card["id"]: card["status"] for card in (await api.get("/v1/cards")).json()["items"]}


async def test_accept_all_leaves_flagged_drafts_unless_asked(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    session_id, (precise, flagged) = await drafts_of_a_session(api, fake_llm, PRECISE, FLAGGED)
    _other, (elsewhere,) = await drafts_of_a_session(
        api, fake_llm, {"front": "In GQA, what do query heads share?", "back": "Keys, values"}
    )
    assert flagged["quality_flags"] == ["vague_stem"]

    first = await api.post("/v1/cards/accept", json={"all": True, "session_id": session_id})
    assert first.status_code == 200, first.text
    assert [card["id"] for card in first.json()["cards"]] == [precise["id"]]
    assert first.json()["skipped_flagged"] == 1
    assert await statuses(api) == {
        precise["id"]: "active",
        flagged["id"]: "draft",
        elsewhere["id"]: "draft",  # another session's draft
    }

    body = {"all": True, "session_id": session_id, "include_flagged": True}
    second = await api.post("/v1/cards/accept", json=body)
    assert [card["id"] for card in second.json()["cards"]] == [flagged["id"]]
    assert second.json()["skipped_flagged"] == 0
    assert (await statuses(api))[flagged["id"]] == "active"


async def test_accept_all_without_a_session_takes_every_draft_of_the_learner(
    api: httpx.AsyncClient, client: httpx.AsyncClient, fake_llm: FakeLLM, make_learner: Any
) -> None:
    _first, (precise, flagged) = await drafts_of_a_session(api, fake_llm, PRECISE, FLAGGED)
    _second, (other,) = await drafts_of_a_session(
        api, fake_llm, {"front": "In GQA, what do query heads share?", "back": "Keys and values"}
    )
    grace = bearer((await make_learner("grace")).key)
    theirs = await client.post("/v1/cards/accept", json={"all": True}, headers=grace)
    assert theirs.json() == {"cards": [], "skipped_flagged": 0}

    accepted = await api.post("/v1/cards/accept", json={"all": True})
    assert {card["id"] for card in accepted.json()["cards"]} == {precise["id"], other["id"]}
    assert accepted.json()["skipped_flagged"] == 1
    assert (await statuses(api))[flagged["id"]] == "draft"
    again = await api.post("/v1/cards/accept", json={"all": True})
    assert again.json() == {"cards": [], "skipped_flagged": 1}


async def test_drafts_chosen_by_id_are_accepted_flagged_or_not(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    _session, (flagged,) = await drafts_of_a_session(api, fake_llm, FLAGGED)
    accepted = await api.post("/v1/cards/accept", json={"ids": [flagged["id"]]})
    assert [card["status"] for card in accepted.json()["cards"]] == ["active"]
    assert accepted.json()["skipped_flagged"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"all": False},
        {"ids": ["{id}"], "all": True},
        {"ids": ["{id}"], "include_flagged": True},
        {"ids": ["{id}"], "session_id": "{id}"},
        {"session_id": "{id}"},
        {"include_flagged": True},
        {"ids": []},
    ],
)
async def test_accept_takes_ids_or_all(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    card = await add(api, **SCALING)
    filled = json.loads(json.dumps(body).replace("{id}", card["id"]))
    response = await api.post("/v1/cards/accept", json=filled)
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


# --- cloze cards need a deletion to be reviewed ------------------------------------------

ROPE = "RoPE encodes position by {{c1::rotating}} pairs of query and key dimensions."
NO_DELETION = [
    "RoPE encodes position by rotating pairs of query and key dimensions.",
    "RoPE encodes position by {{c0::rotating}} pairs.",  # numbers start at c1
    "RoPE encodes position by {{c1::rotating pairs.",  # never closed
    "RoPE encodes position by {{c1::}} pairs.",  # hides nothing
]


def refused_for_the_missing_deletion(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "cloze_without_deletion"
    assert "{{c1::answer}}" in error["message"]
    return error


@pytest.mark.parametrize("front", NO_DELETION)
async def test_a_manual_cloze_card_without_a_deletion_is_refused(
    api: httpx.AsyncClient, front: str
) -> None:
    response = await api.post("/v1/cards", json={"front": front, "kind": "cloze"})

    refused_for_the_missing_deletion(response)
    assert (await api.get("/v1/cards")).json()["items"] == []
    # The same text is a fine basic card (it has a back).
    await add(api, front=front, back="By rotating.", kind="basic")


@pytest.mark.parametrize("front", NO_DELETION[:2])
async def test_an_edit_cannot_leave_an_active_cloze_card_without_a_deletion(
    api: httpx.AsyncClient, front: str
) -> None:
    card = await add(api, front=ROPE, kind="cloze")
    basic = await add(api, front="What does RoPE rotate?", back="Query/key pairs")
    url = f"/v1/cards/{card['id']}"

    refused_for_the_missing_deletion(await api.patch(url, json={"front": front}))
    refused_for_the_missing_deletion(
        await api.patch(f"/v1/cards/{basic['id']}", json={"kind": "cloze"})
    )
    assert (await api.get(url)).json() == card  # nothing changed, not even updated_at

    # Made basic in the same edit, the text is a question again.
    edited = await api.patch(url, json={"front": front, "kind": "basic", "back": "Rotating."})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["kind"], edited.json()["status"]) == ("basic", "active")
    # The flags follow the kind: a basic card with a deletion's markup is flagged.
    cloze_again = await api.patch(url, json={"front": ROPE, "kind": "cloze", "back": ""})
    assert cloze_again.json()["quality_flags"] == []
    assert (await api.patch(url, json={"kind": "basic"})).json()["quality_flags"] == [
        "empty_side",
        "cloze_deletions",
    ]


async def test_a_suspended_cloze_card_may_lose_its_deletion_but_not_come_back(
    api: httpx.AsyncClient,
) -> None:
    card = await add(api, front=ROPE, kind="cloze", tags=["rope"])
    url = f"/v1/cards/{card['id']}"
    await api.patch(url, json={"status": "suspended"})

    edited = await api.patch(url, json={"front": NO_DELETION[0]})
    assert edited.status_code == 200, edited.text
    assert edited.json()["quality_flags"] == ["empty_side", "cloze_deletions"]
    refused_for_the_missing_deletion(await api.patch(url, json={"status": "active"}))
    assert (await api.patch(url, json={"tags": ["rope", "fix"]})).status_code == 200

    back = await api.patch(url, json={"front": ROPE, "status": "active"})
    assert back.status_code == 200, back.text
    assert (back.json()["status"], back.json()["quality_flags"]) == ("active", [])


async def test_a_card_saved_before_the_rule_can_be_retagged_and_suspended(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    card = await add(api, front=ROPE, kind="cloze")
    # Written before cloze cards needed a deletion: active, and nothing to hide.
    await session.execute(
        update(Card).where(Card.id == uuid.UUID(card["id"])).values(front=NO_DELETION[0])
    )
    await session.commit()
    url = f"/v1/cards/{card['id']}"

    assert (await api.patch(url, json={"tags": ["rope"]})).status_code == 200
    refused_for_the_missing_deletion(await api.patch(url, json={"front": NO_DELETION[1]}))
    suspended = await api.patch(url, json={"status": "suspended"})
    assert suspended.json()["status"] == "suspended"


ROPE_DRAFT = {"front": ROPE, "back": "", "kind": "cloze"}


async def test_a_draft_without_a_deletion_stays_a_draft_until_it_has_one(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    session_id, (draft, precise) = await drafts_of_a_session(api, fake_llm, ROPE_DRAFT, PRECISE)
    url = f"/v1/cards/{draft['id']}"

    # A draft may lose its deletion: it keeps existing, with its flag.
    edited = await api.patch(url, json={"front": NO_DELETION[0]})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["status"], edited.json()["quality_flags"]) == (
        "draft",
        ["empty_side", "cloze_deletions"],
    )

    # Accepting it, alone or among others, is refused; the others stay drafts too.
    refused_for_the_missing_deletion(await api.patch(url, json={"status": "active"}))
    both = await api.post("/v1/cards/accept", json={"ids": [precise["id"], draft["id"]]})
    assert refused_for_the_missing_deletion(both)["details"] == {"ids": [draft["id"]]}
    assert set((await statuses(api)).values()) == {"draft"}
    # "Accept all", even with the flagged ones, leaves it for the learner to fix.
    body = {"all": True, "session_id": session_id, "include_flagged": True}
    everything = await api.post("/v1/cards/accept", json=body)
    assert [card["id"] for card in everything.json()["cards"]] == [precise["id"]]
    assert everything.json()["skipped_flagged"] == 1
    assert (await statuses(api))[draft["id"]] == "draft"

    fixed = await api.patch(url, json={"front": ROPE, "status": "active"})
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["status"], fixed.json()["quality_flags"]) == ("active", [])
    assert fixed.json()["schedule"]["due"] is not None


async def test_the_api_documents_the_refusal(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    for path, method in [
        ("/v1/cards", "post"),
        ("/v1/cards/{card_id}", "patch"),
        ("/v1/cards/accept", "post"),
    ]:
        documented = paths[path][method]["responses"]["422"]
        assert "`cloze_without_deletion`" in documented["description"], (path, method)
        assert "{{c1::answer}}" in documented["description"]
