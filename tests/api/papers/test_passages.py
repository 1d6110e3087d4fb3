"""A passage picked in a paper: explained with the paper's context in the prompt (the
title, the section, the symbols it uses as the paper defined them earlier), remembered
by the session and its messages, explained back, and pointed to by the cards made from
it. Against the fake arXiv's LaTeX paper and the reportlab PDF, and the fake model."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fakearxiv import ATTENTION, FakeArxiv
from fakellm import Failure, FakeLLM, Reply
from helpers import bearer, error_of
from paper_pdfs import TITLE, attention_pdf
from papers_api import blocks_of, new_source, settled, upload
from service.calls.models import LLMCall
from service.config import ArxivSettings, Settings

CARD = {
    "front": "Why are the attention logits divided by $\\sqrt{d_k}$?",
    "back": "To keep the softmax out of saturation, where its gradients vanish.",
    "kind": "basic",
    "tags": ["attention"],
}


@pytest.fixture(scope="module")
def fake_arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv().with_papers() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, fake_arxiv: FakeArxiv) -> Settings:
    arxiv = ArxivSettings(url=fake_arxiv.base_url, timeout=20)
    return settings.model_copy(update={"arxiv": arxiv})


async def arxiv_paper(api: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    """The fake arXiv's mini "Attention Is All You Need", read from its LaTeX source."""
    created = await api.post("/v1/sources", json={"arxiv": ATTENTION})
    assert created.status_code == 201, created.text
    source_id: str = created.json()["id"]
    document = await settled(api, source_id)
    assert document["status"] == "ready", document["error"]
    return source_id, document


async def pdf_paper(api: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    source_id = await new_source(api)
    assert (await upload(api, source_id, attention_pdf())).status_code == 202
    document = await settled(api, source_id)
    assert document["status"] == "ready", document["error"]
    return source_id, document


def blocks_in(document: dict[str, Any], number: str) -> list[dict[str, Any]]:
    (section,) = [s for s in document["sections"] if s["number"] == number]
    blocks: list[dict[str, Any]] = section["blocks"]
    return blocks


async def new_session(api: httpx.AsyncClient, **body: Any) -> str:
    created = await api.post("/v1/sessions", json=body)
    assert created.status_code == 201, created.text
    session_id: str = created.json()["id"]
    return session_id


async def explain(
    api: httpx.AsyncClient,
    session_id: str,
    passage: str,
    source_id: str,
    first: int,
    last: int,
    **body: Any,
) -> httpx.Response:
    where = {"source_id": source_id, "first_block": first, "last_block": last}
    return await api.post(
        f"/v1/sessions/{session_id}/explain",
        json={"passage": passage, "from_paper": where, **body},
    )


def fenced(text: str, name: str) -> str:
    """The inside of the block `name` in `text` (there must be exactly one)."""
    (inside,) = re.findall(rf"<<<{name} (\w+)>>>\n(.*?)\n<<<END {name} \1>>>", text, re.S)
    return str(inside[1])


def chat_of(fake: FakeLLM, index: int = -1) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = fake.requests[index].json["messages"]
    return messages


async def test_a_passage_is_explained_with_the_symbols_the_paper_defined_before_it(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session: AsyncSession
) -> None:
    fake_llm.default = Reply("Eq. (1) divides by $\\sqrt{d_k}$, the keys' dimension.")
    source_id, document = await arxiv_paper(api)
    scaled = blocks_in(document, "3.2.1")
    first, last = scaled[0]["position"], scaled[-1]["position"]
    selected = "\n\n".join(block["text"] for block in scaled)
    session_id = await new_session(api)

    response = await explain(api, session_id, selected, source_id, first, last, level="rigorous")

    assert response.status_code == 200, response.text
    system, user = chat_of(fake_llm)
    assert system["role"] == "system"
    assert "PAPER CONTEXT" not in system["content"]  # the cacheable prefix stays the same
    turn = user["content"]
    # The context comes right after the passage, fenced with the session's nonce.
    assert turn.index("<<<END PASSAGE") < turn.index("<<<PAPER CONTEXT") < turn.index("Depth:")
    context = fenced(turn, "PAPER CONTEXT")
    assert context.splitlines() == [
        "Paper: Attention Is All You Need",
        "Section: §3.2.1 Scaled Dot-Product Attention",
        "Equations in the passage: (1)",
        "Symbols the passage uses, as the paper defined them earlier:",
        "- d_k: the dimension of the keys (§3.2)",
    ]
    # How to use it: the paper's notation and its equation numbers.
    assert "use the paper's own notation" in turn.lower()
    assert '"Eq. (1)"' in turn
    assert 'The passage is from "Attention Is All You Need".' in turn

    # The session took the paper's source, and remembers the passage.
    where = {
        "source_id": source_id,
        "first_block": first,
        "last_block": last,
        "paper_title": "Attention Is All You Need",
        "section_number": "3.2.1",
        "section_heading": "Scaled Dot-Product Attention",
        "page": None,  # a LaTeX source has no pages
    }
    read = (await api.get(f"/v1/sessions/{session_id}")).json()
    assert (read["source_id"], read["passage"]) == (source_id, where)
    assert [m["from_paper"] for m in read["messages"]] == [where, None]
    listed = (await api.get("/v1/sessions")).json()["items"]
    assert [s["passage"] for s in listed if s["id"] == session_id] == [where]

    # A follow-up's prompt starts with the first one, byte for byte (prefix caching).
    asked = {"content": "Why the square root?"}
    assert (await api.post(f"/v1/sessions/{session_id}/messages", json=asked)).is_success
    follow_up = chat_of(fake_llm)
    assert follow_up[:2] == [system, user]
    assert [m["role"] for m in follow_up] == ["system", "user", "assistant", "user"]
    assert "PAPER CONTEXT" not in follow_up[-1]["content"]

    # The next passage of the paper: its own context, the history unchanged before it,
    # and the session now about it.
    (multi_head, *_) = blocks_in(document, "3.2.2")
    at = multi_head["position"]
    response = await explain(api, session_id, multi_head["text"], source_id, at, at)
    assert response.status_code == 200, response.text
    third = chat_of(fake_llm)
    assert third[:3] == follow_up[:3]
    assert fenced(third[-1]["content"], "PAPER CONTEXT").splitlines()[1] == (
        "Section: §3.2.2 Multi-Head Attention"
    )
    read = (await api.get(f"/v1/sessions/{session_id}")).json()
    assert (read["passage"]["section_number"], read["passage"]["first_block"]) == ("3.2.2", at)

    # The call that carried the context says it used the paper prompt.
    versions = list(
        await session.scalars(select(LLMCall.prompt_versions).order_by(LLMCall.created_at))
    )
    assert all("paper@1" in (v or "") for v in versions[-2:]), versions


async def test_a_symbol_defined_in_or_after_the_passage_is_not_in_its_context(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.default = Reply("ok")
    source_id, document = await arxiv_paper(api)
    symbols = {s["symbol"]: s["definition"] for s in document["symbols"]}
    assert symbols["i"] == "the dimension"  # defined in §3.3, after its equations

    # §3.3's equations use i, which the sentence after them defines.
    equations = [b for b in blocks_in(document, "3.3") if b["kind"] == "equation"]
    (equation,) = equations
    at = equation["position"]
    session_id = await new_session(api)
    response = await explain(api, session_id, equation["latex"], source_id, at, at)
    assert response.status_code == 200, response.text
    context = fenced(chat_of(fake_llm)[-1]["content"], "PAPER CONTEXT")
    assert "Section: §3.3 Positional Encoding" in context
    assert "Equations in the passage: (2)–(3)" in context
    assert "Symbols" not in context
    assert "the dimension" not in context

    # §3.2 defines d_k itself: a passage gets only what was defined before it.
    (defining,) = blocks_in(document, "3.2")
    at = defining["position"]
    session_id = await new_session(api)
    response = await explain(api, session_id, defining["text"], source_id, at, at)
    assert response.status_code == 200, response.text
    context = fenced(chat_of(fake_llm)[-1]["content"], "PAPER CONTEXT")
    assert "d_k" not in context
    assert context.splitlines() == [
        "Paper: Attention Is All You Need",
        "Section: §3.2 Attention",
    ]


async def test_a_failed_answer_is_retried_with_the_same_context(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    source_id, document = await arxiv_paper(api)
    (equation,) = [b for b in blocks_in(document, "3.2.1") if b["kind"] == "equation"]
    at = equation["position"]
    session_id = await new_session(api)
    fake_llm.script(Failure(500, "upstream exploded"), Reply("Eq. (1), explained."))

    failed = await explain(api, session_id, equation["latex"], source_id, at, at)

    assert failed.status_code == 502, failed.text
    message_id = error_of(failed)["details"]["message_id"]
    retried = await api.post(f"/v1/sessions/{session_id}/messages/{message_id}/retry")
    assert retried.status_code == 200, retried.text
    first, again = chat_of(fake_llm, 0), chat_of(fake_llm, 1)
    assert again == first
    assert "- d_k: the dimension of the keys (§3.2)" in fenced(again[1]["content"], "PAPER CONTEXT")


async def test_a_pdfs_passage_cards_and_review_point_back_to_its_page(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    source_id, document = await pdf_paper(api)
    _, equation = blocks_in(document, "3.2.1")
    at = equation["position"]
    session_id = await new_session(api, source_id=source_id)
    fake_llm.script(Reply("Eq. (1) scales by the square root of d_k."))

    response = await explain(api, session_id, equation["text"], source_id, at, at)

    assert response.status_code == 200, response.text
    context = fenced(chat_of(fake_llm)[-1]["content"], "PAPER CONTEXT")
    # The definition is in the paragraph before the equation, in the same section.
    assert context.splitlines() == [
        f"Paper: {TITLE}",
        "Section: §3.2.1 Scaled Dot-Product Attention",
        "Page: 1",
        "Equations in the passage: (1)",
        "Symbols the passage uses, as the paper defined them earlier:",
        "- d_k: the dimension of the keys (§3.2.1)",
    ]
    home = {
        "source_id": source_id,
        "paper_title": TITLE,
        "section_number": "3.2.1",
        "section_heading": "Scaled Dot-Product Attention",
        "page": 1,
        "first_block": at,
        "last_block": at,
    }

    # Cards distilled from the session point back to the passage...
    fake_llm.script(Reply(json.dumps({"cards": [CARD]})))
    distilled = await api.post(f"/v1/sessions/{session_id}/distill")
    assert distilled.status_code == 201, distilled.text
    (card,) = distilled.json()["cards"]
    assert card["from_paper"] == home
    accepted = await api.post("/v1/cards/accept", json={"ids": [card["id"]]})
    assert accepted.status_code == 200, accepted.text
    # ...when read one by one, listed, and in the review queue.
    assert (await api.get(f"/v1/cards/{card['id']}")).json()["from_paper"] == home
    listed = (await api.get("/v1/cards")).json()["items"]
    assert [c["from_paper"] for c in listed] == [home]
    queue = (await api.get("/v1/reviews/queue")).json()
    assert [c["from_paper"] for c in queue["cards"]] == [home]

    # A card written by hand comes from no passage.
    written = await api.post("/v1/cards", json={"front": "What is d_v?", "back": "A dimension."})
    assert written.status_code == 201, written.text
    assert written.json()["from_paper"] is None


async def test_explaining_it_back_is_judged_against_the_passages_blocks_and_context(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    source_id, document = await arxiv_paper(api)
    scaled = blocks_in(document, "3.2.1")
    first, last = scaled[0]["position"], scaled[1]["position"]
    session_id = await new_session(api)
    verdict = {
        "verdict": "solid",
        "score": 4,
        "strengths": ["The scaling is right."],
        "issues": [],
        "questions": ["What would happen without it?"],
        "next_step": None,
        "improved_since_last": None,
    }
    fake_llm.script(Reply(json.dumps(verdict)))
    where = {"source_id": source_id, "first_block": first, "last_block": last}

    response = await api.post(
        f"/v1/sessions/{session_id}/critiques",
        json={
            "concept": "scaled dot-product attention",
            "explanation": "Each query is compared with every key, and the scores are "
            "divided by the square root of d_k before the softmax weights the values.",
            "from_paper": where,
        },
    )

    assert response.status_code == 201, response.text
    turn = chat_of(fake_llm)[-1]["content"]
    # Without `passage`, the blocks are the reference, and their context comes along.
    reference = fenced(turn, "PASSAGE")
    assert reference.startswith("We compute the dot products of the query with all keys")
    assert "softmax(QK^T/√(d_k))V (1)" in reference
    context = fenced(turn, "PAPER CONTEXT")
    assert "- d_k: the dimension of the keys (§3.2)" in context
    read = (await api.get(f"/v1/sessions/{session_id}")).json()
    attempt, answer = read["messages"]
    assert attempt["kind"] == "attempt"
    assert attempt["from_paper"]["section_number"] == "3.2.1"
    assert (attempt["from_paper"]["first_block"], attempt["from_paper"]["last_block"]) == (
        first,
        last,
    )
    assert answer["from_paper"] is None
    assert read["source_id"] == source_id
    assert read["passage"] == attempt["from_paper"]


async def test_a_passage_the_paper_cannot_give_is_refused_and_nothing_is_kept(
    api: httpx.AsyncClient, app: Any, fake_llm: FakeLLM, make_learner: Any
) -> None:
    fake_llm.default = Reply("ok")
    source_id, document = await arxiv_paper(api)
    count = len(blocks_of(document))
    session_id = await new_session(api)

    async def refused(where: dict[str, Any], session: str = session_id) -> dict[str, Any]:
        response = await api.post(
            f"/v1/sessions/{session}/explain", json={"passage": "d_k", "from_paper": where}
        )
        assert response.status_code >= 400, response.text
        return {"status": response.status_code, "details": None, **error_of(response)}

    def at(first: int, last: int, source: str = source_id) -> dict[str, Any]:
        return {"source_id": source, "first_block": first, "last_block": last}

    assert (await refused(at(0, count)))["code"] == "passage_not_in_paper"
    beyond = await refused(at(count, count))
    assert (beyond["status"], beyond["details"]["block_count"]) == (422, count)
    backwards = await refused(at(3, 2))
    assert backwards["status"] == 422
    unknown = await refused(at(0, 0, str(uuid.uuid4())))
    assert (unknown["status"], unknown["code"]) == (404, "source_not_found")
    # Another learner's paper is as absent as a missing one.
    eve = await make_learner("eve")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://tutor.test", headers=bearer(eve.key)
    ) as eves_api:
        eves_source = await new_source(eves_api)
    theirs = await refused(at(0, 0, eves_source))
    assert (theirs["status"], theirs["code"]) == (404, "source_not_found")
    # A source with no paper read yet.
    bare = await new_source(api, "Attention, to be uploaded")
    not_ready = await refused(at(0, 0, bare))
    assert (not_ready["status"], not_ready["code"]) == (409, "document_not_ready")
    # A session about another source does not take a passage of this one.
    elsewhere = await new_session(api, source_id=bare)
    other = await refused(at(0, 0), elsewhere)
    assert (other["status"], other["code"]) == (409, "session_reads_another_source")

    for session in (session_id, elsewhere):
        read = (await api.get(f"/v1/sessions/{session}")).json()
        assert read["messages"] == []
        assert read["passage"] is None
    assert (await api.get(f"/v1/sessions/{session_id}")).json()["source_id"] is None
    assert fake_llm.requests == []


@pytest.mark.parametrize("llm_overrides", [{"max_passage_tokens": 300}])
async def test_the_papers_context_counts_towards_the_passage_limit(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.default = Reply("ok")
    source_id, document = await arxiv_paper(api)
    (equation,) = [b for b in blocks_in(document, "3.2.1") if b["kind"] == "equation"]
    at = equation["position"]
    # A passage that fits alone, but not with its context and how to use it.
    passage = " ".join(["The scaled dot product of queries and keys."] * 22)
    alone = await api.post(
        f"/v1/sessions/{await new_session(api)}/explain", json={"passage": passage}
    )
    assert alone.status_code == 200, alone.text

    session_id = await new_session(api)
    response = await explain(api, session_id, passage, source_id, at, at)

    assert response.status_code == 413, response.text
    error = error_of(response)
    assert error["code"] == "passage_too_long"
    assert error["details"]["limit"] == 300
    assert error["details"]["tokens"] > 300
    read = (await api.get(f"/v1/sessions/{session_id}")).json()
    assert (read["messages"], read["source_id"], read["passage"]) == ([], None, None)
