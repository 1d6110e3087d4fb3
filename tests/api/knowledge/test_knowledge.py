"""What Tutor knows about the learner: derived from their history, corrected by them,
and told to the tutor when it bears on what they ask."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fakellm import FakeLLM, Reply
from helpers import error_of
from service.calls.models import LLMCall
from service.cards.models import Card, CardKind, CardOrigin, CardStatus
from service.knowledge.models import KnowledgeMark, Mark, Subject
from service.knowledge.notes import facts_for, mentions, told
from service.knowledge.profile import (
    CardsTagged,
    Concept,
    ConceptStatus,
    CritiqueSeen,
    MisconceptionState,
    derive,
    misconceptions_in,
    status_of,
)
from service.learners.service import IssuedKey

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
DIVISOR = "You divide by d_k; the divisor should grow more slowly with the dimension."
DIVISOR_AGAIN = "Again you divide by d_k: the divisor should grow more slowly with dimension."
MASKING = "The mask is added after the softmax, so future tokens still get weight."


def seen(
    concept: str, *problems: str, verdict: str = "shaky", score: int = 3, day: int = 0
) -> CritiqueSeen:
    issues = [
        {"type": "misconception", "quote": "divide by d_k", "problem": p, "hint": "h"}
        for p in problems
    ]
    return CritiqueSeen(uuid.uuid4(), concept, verdict, score, issues, T0 + timedelta(days=day))


def mark(subject: Subject, key: str, value: Mark, *, day: int = 0) -> KnowledgeMark:
    return KnowledgeMark(
        learner_id=uuid.uuid4(),
        subject=subject,
        key=key,
        mark=value,
        updated_at=T0 + timedelta(days=day),
    )


def test_a_mistake_that_comes_back_is_one_mistake_counted_twice() -> None:
    first, second = seen("Attention", DIVISOR), seen("attention", DIVISOR_AGAIN, day=3)
    [mistake] = misconceptions_in([first, second])
    assert (mistake.times, mistake.state) == (2, MisconceptionState.open)
    assert mistake.id == f"{first.id}.0"  # named by its first occurrence: marks stay put
    assert (mistake.first_seen, mistake.last_seen) == (first.at, second.at)


def test_different_mistakes_and_concepts_stay_apart() -> None:
    found = misconceptions_in(
        [seen("attention", DIVISOR, MASKING), seen("layer norm", DIVISOR, day=1)]
    )
    assert [(m.concept, m.times) for m in found] == [
        ("attention", 1),
        ("attention", 1),
        ("layer norm", 1),
    ]


def test_one_critique_counts_a_mistake_once() -> None:
    [mistake] = misconceptions_in([seen("attention", DIVISOR, DIVISOR_AGAIN)])
    assert mistake.times == 1


def test_omissions_are_not_misconceptions_but_old_wrong_severities_are() -> None:
    critique = CritiqueSeen(
        uuid.uuid4(),
        "attention",
        "shaky",
        3,
        [{"type": "omission", "problem": "No values."}, {"severity": "wrong", "problem": "P."}],
        T0,
    )
    assert [m.text for m in misconceptions_in([critique])] == ["P."]


def test_a_solid_explanation_later_resolves_it_and_a_relapse_reopens_it() -> None:
    mistake_then_solid = [seen("attention", DIVISOR), seen("attention", verdict="solid", day=1)]
    [resolved] = misconceptions_in(mistake_then_solid)
    assert resolved.state is MisconceptionState.resolved
    [reopened] = misconceptions_in([*mistake_then_solid, seen("attention", DIVISOR, day=2)])
    assert (reopened.state, reopened.times) == (MisconceptionState.open, 2)


def test_a_dismissed_mistake_stays_dismissed_until_it_comes_back() -> None:
    first = seen("attention", DIVISOR)
    dismissed = mark(Subject.misconception, f"{first.id}.0", Mark.dismissed, day=1)
    [mistake] = derive([first], [], [dismissed]).misconceptions
    assert mistake.state is MisconceptionState.dismissed
    [back] = derive([first, seen("attention", DIVISOR, day=2)], [], [dismissed]).misconceptions
    assert back.state is MisconceptionState.open


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        ({"last_score": 2}, ConceptStatus.shaky),
        ({"last_score": 4, "open_misconceptions": 1}, ConceptStatus.shaky),
        ({"cards": 3, "reviewed": 3, "lapses": 3, "ease": 2.4}, ConceptStatus.shaky),
        ({"cards": 1, "reviewed": 1, "ease": 1.9}, ConceptStatus.shaky),
        ({"last_score": 3}, ConceptStatus.learning),
        ({"last_score": 4}, ConceptStatus.solid),
        ({"cards": 2, "reviewed": 2, "ease": 2.5}, ConceptStatus.solid),
        ({"cards": 2, "reviewed": 0, "ease": 2.5}, ConceptStatus.learning),
        ({"cards": 2, "reviewed": 2, "lapses": 1, "ease": 2.3}, ConceptStatus.learning),
        ({}, ConceptStatus.learning),
    ],
)
def test_status_follows_the_evidence(evidence: dict[str, Any], expected: ConceptStatus) -> None:
    assert status_of(Concept(key="k", name="k", **evidence)) is expected


def test_cards_and_critiques_on_one_concept_meet_under_one_key() -> None:
    knowledge = derive(
        [seen("Layer Norm", score=4)],
        [CardsTagged("layer-norm", 2, 2, 4, 2.1, T0 + timedelta(days=5))],
        [],
    )
    [concept] = knowledge.concepts
    assert (concept.key, concept.name, concept.attempts, concept.cards) == (
        "layer norm",
        "Layer Norm",
        1,
        2,
    )
    assert (concept.lapses, concept.status) == (4, ConceptStatus.shaky)
    assert concept.last_seen == T0 + timedelta(days=5)


def test_shaky_concepts_come_first() -> None:
    knowledge = derive(
        [seen("rope", score=5), seen("attention", DIVISOR, day=1), seen("ppo", score=3, day=2)],
        [],
        [],
    )
    assert [(c.key, c.status) for c in knowledge.concepts] == [
        ("attention", ConceptStatus.shaky),
        ("ppo", ConceptStatus.learning),
        ("rope", ConceptStatus.solid),
    ]


@pytest.mark.parametrize(
    ("material", "key", "expected"),
    [
        ("Multi-Head Attention lets the model...", "multi head attention", True),
        ("We apply layer normalizations", "layer normalization", True),
        ("The heads of a transformer", "head", True),
        ("attentional mechanisms", "attention", False),
        ("rope", "rope scaling", False),
    ],
)
def test_a_concept_is_mentioned_by_whole_words(material: str, key: str, expected: bool) -> None:
    assert mentions(material, key) is expected


PASSAGE = "Scaled dot-product attention divides the dot products by sqrt(d_k)."


def test_nothing_known_tells_the_tutor_nothing() -> None:
    assert told(derive([], [], []), PASSAGE) is None
    unrelated = derive([seen("ppo", score=4)], [], [])
    assert told(unrelated, PASSAGE) is None


def test_the_tutor_hears_what_bears_on_the_material() -> None:
    knowledge = derive(
        [
            seen("scaled dot-product attention", DIVISOR),
            seen("softmax", score=5, day=1),
            seen("ppo", MASKING, day=2),
            seen("ppo", MASKING, day=3),
        ],
        [CardsTagged("rope", 1, 1, 0, 2.5, T0)],
        [mark(Subject.concept, "dot products", Mark.known)],
    )
    material = PASSAGE + " Then a softmax."
    assert facts_for(knowledge, material) == [
        "- Knows well: dot products; softmax.",
        "- Shaky on: scaled dot-product attention (last explanation scored 3/5; "
        "1 mistake(s) still open).",
        # Recurring, so told whatever the material; first as the most frequent.
        f"- Keeps getting this wrong (ppo, 2 times): {MASKING}",
        f"- Got this wrong before (scaled dot-product attention): {DIVISOR}",
    ]
    notes = told(knowledge, material)
    assert notes is not None
    assert notes.prompt.name == "learner"
    assert "Use it, do not recite it" in notes.text


def test_marks_correct_what_the_tutor_hears() -> None:
    critiques = [seen("attention", DIVISOR), seen("softmax", score=1, day=1)]
    marks = [
        mark(Subject.concept, "attention", Mark.ignore),
        mark(Subject.concept, "softmax", Mark.learning),
    ]
    # Ignored: neither the concept nor its mistakes; "treat as new" overrides the evidence.
    assert facts_for(derive(critiques, [], marks), "attention and softmax") == [
        "- Still learning: softmax."
    ]


def test_a_learners_text_is_told_on_one_line() -> None:
    knowledge = derive([seen("attention\n\n# New instructions", DIVISOR)], [], [])
    facts = facts_for(knowledge, "attention # new instructions")
    assert all("\n" not in line for line in facts)
    assert facts[0].startswith("- Shaky on: attention # New instructions (last explanation")


# Through the API.

CONCEPT = "scaled dot-product attention"
ATTEMPT = "Attention: softmax of Q times K over d_k gives weights, and we divide by d_k."


def critique_reply(*, verdict: str = "shaky", score: int = 3, mistake: str = DIVISOR) -> Reply:
    issues = [
        {
            "type": "misconception",
            "quote": "we divide by d_k",
            "problem": mistake,
            "hint": "What is the variance of a dot product?",
            "question": "Which divisor makes it 1?",
            "fix": "Divide by the square root of d_k.",
        }
    ]
    body = {
        "verdict": verdict,
        "score": score,
        "strengths": ["The weights are right."],
        "issues": issues if verdict != "solid" else [],
        "questions": ["Why scale at all?"],
    }
    return Reply(json.dumps(body))


async def critiqued(api: httpx.AsyncClient, fake_llm: FakeLLM, reply: Reply) -> str:
    session_id: str = (await api.post("/v1/sessions", json={})).json()["id"]
    fake_llm.script(reply)
    response = await api.post(
        f"/v1/sessions/{session_id}/critiques", json={"concept": CONCEPT, "explanation": ATTEMPT}
    )
    assert response.status_code == 201, response.text
    return session_id


def last_user_message(fake_llm: FakeLLM) -> str:
    content: str = fake_llm.last_request.json["messages"][-1]["content"]
    return content


async def test_the_api_shows_what_critiques_and_cards_taught_it(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session: AsyncSession, learner: IssuedKey
) -> None:
    await critiqued(api, fake_llm, critique_reply())
    await critiqued(api, fake_llm, critique_reply(mistake=DIVISOR_AGAIN))
    session.add(
        Card(
            learner_id=learner.learner.id,
            front="What does RoPE rotate?",
            back="Queries and keys",
            kind=CardKind.basic,
            status=CardStatus.active,
            origin=CardOrigin.manual,
            tags=["rope", "missed-check"],
            lapses=3,
            easiness=1.8,
            last_reviewed_at=T0,
        )
    )
    await session.commit()

    body = (await api.get("/v1/me/knowledge", params={"about": PASSAGE})).json()
    by_key = {c["key"]: c for c in body["concepts"]}
    assert set(by_key) == {"scaled dot product attention", "rope"}  # no service tags
    attention = by_key["scaled dot product attention"]
    assert attention | {"last_seen": None} == {
        "key": "scaled dot product attention",
        "name": CONCEPT,
        "status": "shaky",
        "mark": None,
        "attempts": 2,
        "last_score": 3,
        "cards": 0,
        "lapses": 0,
        "ease": None,
        "last_seen": None,
        "open_misconceptions": 1,
    }
    assert (by_key["rope"]["lapses"], by_key["rope"]["ease"]) == (3, 1.8)
    [mistake] = body["misconceptions"]
    assert (mistake["text"], mistake["times"], mistake["state"]) == (DIVISOR, 2, "open")
    assert mistake["quote"] == "we divide by d_k"
    assert body["told"].count("\n- ") == 2
    assert f"Keeps getting this wrong ({CONCEPT}, 2 times)" in body["told"]
    assert (await api.get("/v1/me/knowledge")).json()["told"] is None


async def test_another_learner_sees_nothing_of_it(
    api: httpx.AsyncClient, fake_llm: FakeLLM, app: Any, make_learner: Any
) -> None:
    await critiqued(api, fake_llm, critique_reply())
    other = await make_learner("grace")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://tutor.test",
        headers={"Authorization": f"Bearer {other.key}"},
    ) as grace:
        body = (await grace.get("/v1/me/knowledge", params={"about": PASSAGE})).json()
    assert body == {"concepts": [], "misconceptions": [], "told": None}


async def test_marking_a_concept_and_clearing_it(api: httpx.AsyncClient) -> None:
    response = await api.patch("/v1/me/knowledge/concepts/Dot Products", json={"mark": "known"})
    assert response.status_code == 200, response.text
    assert response.json() | {"last_seen": None} == {
        "key": "dot products",
        "name": "Dot Products",
        "status": "learning",
        "mark": "known",
        "attempts": 0,
        "last_score": None,
        "cards": 0,
        "lapses": 0,
        "ease": None,
        "last_seen": None,
        "open_misconceptions": 0,
    }
    # Marking again (another tab, say) updates the one mark.
    again = await api.patch("/v1/me/knowledge/concepts/dot-products", json={"mark": "ignore"})
    assert again.json()["mark"] == "ignore"
    told_text = (await api.get("/v1/me/knowledge", params={"about": "dot products"})).json()
    assert told_text["told"] is None
    assert [c["mark"] for c in told_text["concepts"]] == ["ignore"]

    cleared = await api.patch("/v1/me/knowledge/concepts/dot products", json={"mark": None})
    assert cleared.json()["mark"] is None
    assert (await api.get("/v1/me/knowledge")).json()["concepts"] == []


async def test_a_concept_name_with_a_slash(api: httpx.AsyncClient) -> None:
    response = await api.patch("/v1/me/knowledge/concepts/Q/K/V", json={"mark": "known"})
    assert response.status_code == 200, response.text
    assert response.json()["key"] == "q/k/v"


async def test_dismissing_a_mistake(api: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    await critiqued(api, fake_llm, critique_reply())
    [mistake] = (await api.get("/v1/me/knowledge")).json()["misconceptions"]
    path = f"/v1/me/knowledge/misconceptions/{mistake['id']}"
    response = await api.patch(path, json={"dismissed": True})
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "dismissed"
    body = (await api.get("/v1/me/knowledge", params={"about": PASSAGE})).json()
    assert body["concepts"][0]["open_misconceptions"] == 0
    assert "Got this wrong" not in (body["told"] or "")
    undone = await api.patch(path, json={"dismissed": False})
    assert undone.json()["state"] == "open"


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        (
            "/v1/me/knowledge/misconceptions/00000000-0000-4000-8000-000000000000.0",
            {"dismissed": True},
            404,
            "misconception_not_found",
        ),
        ("/v1/me/knowledge/misconceptions/not-an-id", {"dismissed": True}, 422, None),
        ("/v1/me/knowledge/concepts/attention", {"mark": "expert"}, 422, None),
        ("/v1/me/knowledge/concepts/attention", {"mark": "known", "x": 1}, 422, None),
        ("/v1/me/knowledge/concepts/" + "a" * 201, {"mark": "known"}, 422, None),
        ("/v1/me/knowledge/concepts/-- _", {"mark": "known"}, 422, "invalid_concept"),
    ],
)
async def test_bad_corrections_get_clear_errors(
    api: httpx.AsyncClient, path: str, body: dict[str, Any], status: int, code: str | None
) -> None:
    response = await api.patch(path, json=body)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["message"]
    if code:
        assert error["code"] == code


async def test_the_knowledge_needs_a_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/me/knowledge")).status_code == 401


# Into the prompts.


async def test_an_explanation_builds_on_what_the_learner_knows(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session: AsyncSession
) -> None:
    await critiqued(api, fake_llm, critique_reply())
    session_id: str = (await api.post("/v1/sessions", json={})).json()["id"]
    fake_llm.script(Reply("An explanation."), Reply("An answer."))
    explained = await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE})
    assert explained.status_code == 200, explained.text
    first = last_user_message(fake_llm)
    assert first.endswith(told_of(await api.get("/v1/me/knowledge", params={"about": PASSAGE})))
    assert f"Got this wrong before ({CONCEPT}): {DIVISOR}" in first

    asked = await api.post(f"/v1/sessions/{session_id}/messages", json={"content": "Why?"})
    assert asked.status_code == 200, asked.text
    chat = fake_llm.last_request.json["messages"]
    # Told in the latest turn only: the earlier turns stay as they were sent (a server's
    # cached prompt prefix still matches).
    assert "What Tutor knows about this learner" in chat[-1]["content"]
    assert all("What Tutor knows" not in m["content"] for m in chat[:-1])

    versions = [c.prompt_versions for c in await session.scalars(select(LLMCall))]
    assert sum("learner@1" in v for v in versions) == 2


def told_of(response: httpx.Response) -> str:
    text: str = response.json()["told"]
    return text


async def test_a_critique_hears_of_the_mistake_that_keeps_coming_back(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    first_session = await critiqued(api, fake_llm, critique_reply())
    assert "What Tutor knows" not in last_user_message(fake_llm)  # nothing known yet
    await critiqued(api, fake_llm, critique_reply())
    prompt = last_user_message(fake_llm)
    assert prompt.index("EXPLANATION") < prompt.index("What Tutor knows")
    assert f"Got this wrong before ({CONCEPT}): {DIVISOR}" in prompt
    assert first_session


async def test_a_new_learner_gets_the_prompts_as_before(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session: AsyncSession
) -> None:
    session_id: str = (await api.post("/v1/sessions", json={})).json()["id"]
    fake_llm.script(Reply("An explanation."))
    await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE})
    assert "What Tutor knows" not in last_user_message(fake_llm)
    [call] = await session.scalars(select(LLMCall))
    assert "learner@" not in call.prompt_versions
