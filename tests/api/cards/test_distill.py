"""Distillation against the fake model: drafts, flags, duplicates, repair, acceptance."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fakellm import FakeLLM, Reply
from helpers import error_of
from service.llm.tokens import ChatMessage, count_chat
from service.sessions.models import Critique, Kind, Message, Role, Verdict

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


# --- overlapping clozes and the new flags -----------------------------------------------

QKV_SENTENCE = "In the Transformer, {q}, {k} and {v} are linear projections of the input."


def qkv_cloze(hidden: str) -> dict[str, Any]:
    words = {"q": "queries", "k": "keys", "v": "values"}
    words[hidden] = f"{{{{c1::{words[hidden]}}}}}"
    return {"front": QKV_SENTENCE.format(**words), "back": "", "kind": "cloze", "tags": []}


async def test_overlapping_clozes_of_one_sentence_are_separate_drafts(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str
) -> None:
    queries, keys, values = qkv_cloze("q"), qkv_cloze("k"), qkv_cloze("v")
    again = {**queries, "front": queries["front"].replace("c1::", "c2::")}
    fake_llm.script(Reply(cards_json(queries, keys, values, again)))
    body = (await distill(api, session_id)).json()
    assert [card["front"] for card in body["cards"]] == [
        queries["front"],
        keys["front"],
        values["front"],
    ]
    assert [card["quality_flags"] for card in body["cards"]] == [[], [], []]
    (skipped,) = body["skipped"]
    assert (skipped["reason"], skipped["duplicate_of"]) == ("duplicate", body["cards"][0]["id"])

    # Distilling again: the same three deletions are the same three cards.
    fake_llm.script(Reply(cards_json(values, keys)))
    second = (await distill(api, session_id)).json()
    assert second["cards"] == []
    assert [s["duplicate_of"] for s in second["skipped"]] == [
        body["cards"][2]["id"],
        body["cards"][1]["id"],
    ]


async def test_drafts_that_break_the_rules_are_flagged_not_dropped(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str
) -> None:
    essay = {**GOOD, "front": "Explain scaled dot-product attention.", "back": "It scales."}
    listing = {**GOOD, "back": "Queries, keys and values"}
    two_questions = {**GOOD, "front": "In attention, what is scaled and why?"}
    giveaway = {**CLOZE, "back": "The factor is $\\sqrt{d_k}$."}
    fake_llm.script(Reply(cards_json(essay, listing, two_questions, giveaway)))
    body = (await distill(api, session_id)).json()
    assert body["skipped"] == []
    assert [card["quality_flags"] for card in body["cards"]] == [
        ["vague_stem"],
        ["list_answer"],
        ["multi_part_question"],
        ["cloze_answer_elsewhere"],
    ]


# --- what the model is shown: related cards from other sessions -------------------------

SOURCE_TAG = "attention-is-all-you-need"
RELATED_HEADING = "Related cards the learner already has (from other sessions):"


def user_prompt(fake_llm: FakeLLM) -> str:
    content: str = fake_llm.last_request.json["messages"][1]["content"]
    return content


def related_listed(prompt: str) -> list[str]:
    """The fronts under the related heading, in order ([] without the heading)."""
    if RELATED_HEADING not in prompt:
        return []
    block = prompt.split(RELATED_HEADING, 1)[1].split("<<<END EXISTING CARDS", 1)[0]
    return [line[2:] for line in block.splitlines() if line.startswith("- ")]


async def add_card(api: httpx.AsyncClient, front: str, **fields: Any) -> dict[str, Any]:
    response = await api.post("/v1/cards", json={"front": front, "back": "An answer.", **fields})
    assert response.status_code == 201, response.text
    card: dict[str, Any] = response.json()
    return card


async def test_related_cards_from_other_sessions_are_shown(
    api: httpx.AsyncClient,
    fake_llm: FakeLLM,
    session_id: str,
    client: httpx.AsyncClient,
    make_learner: Any,
) -> None:
    # A draft distilled from another session, whose words the transcript covers.
    other = (await api.post("/v1/sessions", json={})).json()["id"]
    fake_llm.script(Reply("Softmax turns scores into weights."))
    await api.post(f"/v1/sessions/{other}/explain", json={"passage": "Softmax normalises."})
    covered = {**GOOD, "front": "Which dot products does the softmax scale?"}
    fake_llm.script(Reply(cards_json(covered)))
    await distill(api, other)
    # Cards written by hand: one tagged with the session's source, one unrelated, one
    # related but suspended, and another learner's card with the transcript's words.
    tagged = await add_card(api, "In GPT-2, where is LayerNorm placed?", tags=[SOURCE_TAG])
    await add_card(api, "In PPO, what range is the probability ratio clipped to?")
    suspended = await add_card(api, "What do the dot products of attention get scaled by?")
    await api.patch(f"/v1/cards/{suspended['id']}", json={"status": "suspended"})
    stranger = await make_learner("grace")
    theirs = {"front": "Why scale the dot products before the softmax?", "back": "x"}
    await client.post("/v1/cards", json=theirs, headers={"Authorization": f"Bearer {stranger.key}"})
    # This session's own card is listed as such, not as related.
    fake_llm.script(Reply(cards_json(GOOD)))
    await distill(api, session_id)

    fake_llm.script(Reply(cards_json()))
    await distill(api, session_id)
    prompt = user_prompt(fake_llm)
    # Fully covered by the transcript first; the card that only shares a tag after it.
    assert related_listed(prompt) == [covered["front"], tagged["front"]]
    made_here = prompt.split("Cards already made from this session:", 1)[1]
    assert made_here.split(RELATED_HEADING, 1)[0].count(f"- {GOOD['front']}") == 1
    assert prompt.count("<<<EXISTING CARDS ") == 2


async def test_no_related_cards_no_heading(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str
) -> None:
    await add_card(api, "In PPO, what range is the probability ratio clipped to?")
    fake_llm.script(Reply(cards_json(GOOD)))
    await distill(api, session_id)
    assert RELATED_HEADING not in user_prompt(fake_llm)
    assert "Cards already made from this session:" in user_prompt(fake_llm)


async def test_at_most_fifteen_related_cards_the_most_related_first(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str
) -> None:
    tagged = [
        (
            await add_card(
                api, f"In the Transformer, what is design choice {n + 100}?", tags=[SOURCE_TAG]
            )
        )
        for n in range(20)
    ]
    # Three of the four content words (dot, products, softmax; not "mean") are in the
    # transcript: related by its words alone, and ranked above cards related by tag.
    three_quarters = await add_card(api, "What do the dot products mean for the softmax?")
    half = await add_card(api, "Which dot products does LayerNorm rescale?")  # 2 of 4: no
    fake_llm.script(Reply(cards_json(GOOD)))
    await distill(api, session_id)
    listed = related_listed(user_prompt(fake_llm))
    assert len(listed) == 15
    assert listed[0] == three_quarters["front"]
    assert half["front"] not in listed
    # Cards alike in relatedness: the newest first.
    assert listed[1:] == [card["front"] for card in reversed(tagged)][:14]


LONG_FRONT = "In the Transformer paper, what does design choice {n} say about " + " ".join(
    f"aspect{k}" for k in range(300)
)


@pytest.mark.parametrize("llm_overrides", [{"context_tokens": 4000}])
async def test_related_cards_give_way_to_the_transcript(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str
) -> None:
    fronts = [
        (await add_card(api, LONG_FRONT.format(n=n + 100), tags=[SOURCE_TAG]))["front"]
        for n in range(15)
    ]
    fake_llm.script(Reply(cards_json(GOOD)))
    await distill(api, session_id)
    request = fake_llm.last_request.json
    prompt = user_prompt(fake_llm)
    # The whole transcript is there; of the related cards, the newest that fit.
    assert PASSAGE in prompt
    assert "Dividing keeps the logits small" in prompt
    listed = related_listed(prompt)
    assert 0 < len(listed) < 15
    assert listed == list(reversed(fronts))[: len(listed)]
    sent = [ChatMessage.of(m["role"], m["content"]) for m in request["messages"]]
    assert count_chat(sent) <= 4000 - 800  # the context less the answer's share

    # A longer session needs the room: the related cards give all of it up.
    question = "How does this relate to temperature? " + "Please be thorough. " * 340
    fake_llm.script(Reply("Temperature divides the logits too."), Reply(cards_json()))
    asked = await api.post(f"/v1/sessions/{session_id}/messages", json={"content": question})
    assert asked.status_code == 200, asked.text
    await distill(api, session_id)
    prompt = user_prompt(fake_llm)
    assert PASSAGE in prompt
    assert question.strip() in prompt
    assert RELATED_HEADING not in prompt


# --- what the model is shown: the fixes of critiques ------------------------------------


async def add_critique(
    db: AsyncSession, session_id: str, *, text: str, issues: list[dict[str, Any]]
) -> None:
    """A critique as the critiques package stores one: attempt and critique messages in
    the session, and the row with the structured issues."""
    session_uuid = uuid.UUID(session_id)
    last = await db.scalar(
        select(func.max(Message.position)).where(Message.session_id == session_uuid)
    )
    attempt = Message(
        id=uuid.uuid4(),
        session_id=session_uuid,
        position=(last or 0) + 1,
        role=Role.learner,
        kind=Kind.attempt,
        content="Scaling makes attention faster.",
        token_count=10,
    )
    critique = Message(
        id=uuid.uuid4(),
        session_id=session_uuid,
        position=(last or 0) + 2,
        role=Role.tutor,
        kind=Kind.critique,
        content=text,
        token_count=30,
    )
    db.add_all([attempt, critique])
    number = await db.scalar(select(func.count()).where(Critique.session_id == session_uuid))
    db.add(
        Critique(
            session_id=session_uuid,
            attempt_message_id=attempt.id,
            critique_message_id=critique.id,
            concept="scaled attention",
            concept_key="scaled attention",
            attempt=(number or 0) + 1,
            explanation=attempt.content,
            verdict=Verdict.wrong,
            score=1,
            issues=issues,
        )
    )
    await db.commit()


NEW_ISSUES = [
    {
        "type": "misconception",
        "quote": "makes attention faster",
        "problem": "Scaling does not change the speed.",
        "hint": "What happens to the softmax when logits are large?",
        "question": "What would the gradients look like without it?",
        "fix": "Scaling keeps the logits small so the softmax does not saturate.",
    },
    {
        "type": "omission",
        "quote": None,
        "problem": "Why √d_k and not d_k is missing.",
        "hint": "Think of the variance of a dot product.",
        "question": "What is the variance of q·k?",
        "fix": "  The dot product of two unit-variance vectors has variance d_k.  ",
    },
    {
        "type": "imprecision",
        "quote": "attention",
        "problem": "Which attention?",
        "hint": "Name it.",
        "question": "Which?",
        "fix": "   ",
    },
]
OLD_ISSUES = [
    {"severity": "wrong", "quote": None, "problem": "Speed is not the point.", "hint": "Why?"}
]


async def test_critiques_carry_the_fixes_of_the_learners_mistakes(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session_id: str, session: AsyncSession
) -> None:
    await add_critique(
        session, session_id, text="Old critique, from before fixes.", issues=OLD_ISSUES
    )
    await add_critique(session, session_id, text="The speed claim is off.", issues=NEW_ISSUES)
    fake_llm.script(Reply(cards_json(GOOD)))
    await distill(api, session_id)
    prompt = user_prompt(fake_llm)
    # The fixes are material inside the transcript's block, like the critique itself.
    transcript = prompt.split("<<<TRANSCRIPT ", 1)[1].split("<<<END TRANSCRIPT", 1)[0]
    assert transcript.endswith(
        "The critique of it:\nThe speed claim is off.\n"
        "Fix for the learner's mistake: Scaling keeps the logits small so the softmax does "
        "not saturate.\n"
        "Fix for the learner's mistake: The dot product of two unit-variance vectors has "
        "variance d_k.\n"
    )
    assert "The critique of it:\nOld critique, from before fixes.\n\n" in transcript
    assert prompt.count("Fix for the learner's mistake:") == 2
